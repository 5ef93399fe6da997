"""Fusion methods: one module per method; deep models are listed in :mod:`.registry`."""
