"""Fusion methods, classical (:mod:`.classical`) and deep (:mod:`.deep`)."""
