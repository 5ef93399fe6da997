"""QGIS-free engine of the LST fusion plugin.

Nothing in this package imports ``qgis``: raster I/O, grids, tiling,
preprocessing, fusion, metrics and training live here so that they can be
tested and reused without a running QGIS. Algorithms under ``algorithms/``
translate Processing parameters into calls of this package.
"""
