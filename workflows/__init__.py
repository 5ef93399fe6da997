"""Workflows that use fusion methods without being one: ``fuse_series`` (every date of a
period, resumable, one GeoTIFF per date and a VRT), ``methods`` (a method chosen by name
with its settings) and ``experiment`` (the survey's protocol: train, fuse held-out dates,
compare); ``cluster`` and ``scene_parts`` run dates, strips of a scene and experiment units on
a Dask cluster; ``uncertainty``, ``calibration`` and ``cloud_fill`` give
calibrated intervals and cloud-aware daily output; ``pixel_series`` reads one pixel over a series.
Imports :mod:`models`, :mod:`evaluation`, :mod:`preprocessing` and :mod:`common`.
"""
