"""Cloud-aware coarse targets: fill a date's missing coarse pixels from the coarse series itself.

Where the coarse target is no-data (clouds, QC), each pixel is first
interpolated linearly in time between the nearest earlier and the nearest
later date of the series where it is valid, both at most ``max_days`` days
away; pixels still missing are then filled by the progressive focal mean
(``preprocessing.gapfill``, the existing spatial filling). Each fine pixel
gets a quality code (one byte):

    0 NOT_PREDICTED   no prediction (no coarse value could be made, or the references are no-data)
    1 OBSERVED        the coarse target was observed
    2 TEMPORAL        the coarse target was interpolated in time
    3 SPATIAL         the coarse target was filled spatially

and a fill spread (K): for a temporal fill, ``2 sqrt(w (1 - w)) |C_after - C_before|``
(w: the interpolation weight; small next to a clear day, largest half-way); for a
spatial fill, the standard deviation of the date's coarse values; 0 where
observed. It widens the interval where the coarse value was made up.
"""
import datetime as dt
import os
from typing import Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..common.errors import InputError
from ..common.grid import Grid, require_same_grid
from ..common.progress import ensure
from ..common.raster_io import RasterWriter, open_raster, read_band, read_grid, read_units, remove_quietly
from ..preprocessing.gapfill import fill_gaps, interpolate_in_time

NOT_PREDICTED, OBSERVED, TEMPORAL, SPATIAL = 0, 1, 2, 3
QUALITY_LABELS = {NOT_PREDICTED: "not predicted", OBSERVED: "observed coarse",
                  TEMPORAL: "coarse filled in time", SPATIAL: "coarse filled spatially"}
ROWS_PER_BLOCK = 256


def fill_coarse_target(path: str, date: dt.date, series: Sequence[Tuple[dt.date, str]], out_path: str,
                       max_days: int, progress=None) -> Tuple[np.ndarray, np.ndarray]:
    """Write the filled coarse target of ``date`` to ``out_path``; return (quality codes, fill spread).

    ``series``: (date, coarse path) of the series on the same grid and units;
    only dates within ``max_days`` of ``date`` are used. Returns (rows, cols)
    uint8 codes (OBSERVED, TEMPORAL, SPATIAL; NOT_PREDICTED where still no-data)
    and float32 fill spread (K). InputError for rasters on other grids or units.
    """
    progress = ensure(progress)
    if max_days < 1:
        raise InputError("The temporal fill limit must be at least 1 day.")
    near = sorted({(d, p) for d, p in series if d != date and abs((d - date).days) <= max_days
                   and os.path.abspath(p) != os.path.abspath(path)})
    grid = require_same_grid({path: read_grid(path), **{p: read_grid(p) for _, p in near}})
    units = read_units(path)
    for _, other in near:
        if units and read_units(other) not in (None, units):
            raise InputError(f"{other} is not in {units} like {path}: convert the coarse series to one unit.")
    before = [(d, open_raster(p)) for d, p in reversed(near) if d < date]
    after = [(d, open_raster(p)) for d, p in near if d > date]
    ds = open_raster(path)
    quality = np.full(grid.shape, OBSERVED, np.uint8)
    spread = np.zeros(grid.shape, np.float32)
    temporal_path = out_path + ".temporal.tif"
    try:
        with RasterWriter(temporal_path, grid, units=units) as writer:
            for row in range(0, grid.height, ROWS_PER_BLOCK):
                window = (row, 0, min(ROWS_PER_BLOCK, grid.height - row), grid.width)
                block = read_band(ds, 1, window)
                gap = ~np.isfinite(block)
                rows = slice(row, row + window[2])
                if gap.any():
                    both, weight, v0, v1 = interpolate_in_time(block, window, before, after, date)
                    quality[rows][both] = TEMPORAL
                    spread[rows][both] = 2.0 * np.sqrt(weight * (1.0 - weight)) * np.abs(v1 - v0)
                    quality[rows][gap & ~both] = NOT_PREDICTED
                writer.write(block, row, 0)
                progress.step(row + window[2], grid.height)
        _spatial(temporal_path, out_path, grid, quality, spread)
    finally:
        remove_quietly(temporal_path)
    return quality, spread


def _spatial(temporal_path: str, out_path: str, grid: Grid, quality: np.ndarray, spread: np.ndarray) -> None:
    """Focal-fill what the temporal fill left; mark those pixels SPATIAL (in place)."""
    missing = quality == NOT_PREDICTED
    if not missing.any() or missing.all():
        os.replace(temporal_path, out_path)
        return
    fill_gaps(temporal_path, out_path, method="focal", max_gap=1.0)
    filled = open_raster(out_path)
    values = read_band(open_raster(temporal_path), 1)
    spread[missing] = float(np.nanstd(values))
    done = np.isfinite(read_band(filled, 1)) & missing
    quality[done] = SPATIAL


def write_quality(path: str, quality: np.ndarray, grid: Grid) -> str:
    """Byte GeoTIFF of quality codes (no no-data value: 0 is a category), written atomically."""
    tmp = path + ".partial.tif"
    driver = gdal.GetDriverByName("GTiff")
    ds = driver.Create(tmp, grid.width, grid.height, 1, gdal.GDT_Byte, ["COMPRESS=DEFLATE", "TILED=YES"])
    ds.SetGeoTransform(grid.transform)
    if grid.crs_wkt:
        ds.SetProjection(grid.crs_wkt)
    band = ds.GetRasterBand(1)
    band.WriteArray(np.asarray(quality, np.uint8))
    band.SetDescription("quality of the coarse target: " +
                        ", ".join(f"{code} {label}" for code, label in QUALITY_LABELS.items()))
    ds.SetMetadata({"LST_FUSION_LAYER": "quality",
                    **{f"CODE_{code}": label for code, label in QUALITY_LABELS.items()}})
    ds = None
    remove_quietly(path + ".aux.xml")
    os.replace(tmp, path)
    return path
