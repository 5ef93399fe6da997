"""Workflows that use fusion methods without being one: ``fuse_series`` (every date of a
period, resumable, one GeoTIFF per date and a VRT), ``methods`` (a method chosen by name
with its settings) and ``experiment`` (the survey's protocol: train, fuse held-out dates,
compare). Imports :mod:`models`, :mod:`evaluation`, :mod:`preprocessing` and :mod:`common`.
"""
