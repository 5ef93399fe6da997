"""Preprocessing: from downloaded products to an aligned series of pairs.

MODIS MOD11A1/MYD11A1 and Landsat C2 L2 ingestion with their QC/QA masks (``modis``,
``landsat``), discovery of products in folders (``discovery``), geo-aware alignment of a
coarse raster onto the fine grid (``align``), gap filling (``gapfill``), clipping and masks
(``clip``, ``mask``), and ``build_series`` that chains them into a folder with ``pairs.csv``.
Imports only :mod:`common`.
"""
