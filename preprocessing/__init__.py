"""Preprocessing: from downloaded products to an aligned series of pairs.

MODIS MOD11A1/MYD11A1 and Landsat C2 L2 ingestion with their QC/QA masks (``modis``,
``landsat``), discovery of products in folders (``discovery``), geo-aware alignment of a
coarse raster onto the fine grid (``align``), gap filling (``gapfill``), clipping and masks
(``clip``, ``mask``), and ``build_series`` that chains them into a folder with ``pairs.csv``.
``stac_download`` fetches the products' windows of an area from a STAC API (``stac_catalogue``:
products and search, ``stac_signing``: access tokens, ``cog_window``: range reads of COGs).
Imports only :mod:`common`.
"""
