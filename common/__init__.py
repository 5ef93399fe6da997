"""The common base every other package stands on: errors, progress, grids, raster I/O, tiling, units,
dates (from file names and typed by users), the pairs table and optional dependencies.

It imports nothing else of the plugin and never imports ``qgis``. Modules: ``errors``
(InputError, Cancelled), ``progress``, ``grid``, ``raster_io`` (windowed reads, RasterWriter:
temporary file + rename), ``tiling`` (tiles with a halo), ``units`` (kelvin/celsius),
``products`` (MODIS/Landsat file-name patterns, ``date_from_filename``), ``dates``
(``parse_user_date``), ``pairs`` (PairRow, DatePlan, pairs-table CSV), ``deps`` (lazy torch).
"""
