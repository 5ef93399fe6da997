"""Filling no-data gaps in LST rasters: spatial (focal mean, inverse distance) and temporal.

Only no-data pixels (NaN in memory, the declared no-data on disk) are gaps:
a real 0 K or 0 °C value is data and is never changed. Valid pixels are
copied unchanged by every method. Values keep their units.

- ``focal``: the progressive focal mean of the survey's dataset. Pass p
  (p = 1, 2, ...) gives every gap pixel that has at least one valid pixel in
  the (2p + 1) x (2p + 1) window around it (window 3, 5, 7, ...) the mean of
  those valid pixels; pixels filled by earlier passes count as valid. It stops
  when no gap is left.
- ``idw``: GDAL's FillNodata (inverse-distance weighting from the four
  quadrants), optionally limited to a search distance, optionally smoothed.
- ``temporal``: each gap pixel is linearly interpolated in time between the
  nearest earlier and the nearest later date of a series where it is valid;
  gaps that have valid values on one side only stay gaps (or are then filled
  by ``focal`` when asked).
"""
import datetime as dt
import os
import tempfile
from typing import Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal
from scipy import ndimage

from ..common.errors import Cancelled, InputError
from ..common.grid import require_same_grid
from ..common.progress import Progress, ensure
from ..common.raster_io import (RasterWriter, band_description, open_raster, read_band, read_grid, read_units,
                                remove_quietly)
from ..common.tiling import count_tiles, iter_tiles

METHODS = ("focal", "idw", "temporal")
"""Gap-filling methods, in the order of the Processing enum."""

TILE = 512
"""Core size of the tiles of the focal fill."""

_FIRST_PASSES = 8
_ROWS_PER_BLOCK = 256


def focal_fill_array(values: np.ndarray, max_passes: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Progressive focal NaN-mean fill of a (rows, cols) float array.

    Returns (filled copy, passes run). Gaps remain only when the array holds no
    valid pixel or ``max_passes`` stopped the passes. Window sums are float64
    box filters, computed each pass only over the bounding box of the
    remaining gaps grown by the window's radius; valid pixels are returned unchanged.
    """
    out = np.array(values, dtype=np.float32, copy=True)
    gap = ~np.isfinite(out)
    passes = 0
    while gap.any() and not gap.all() and (max_passes is None or passes < max_passes):
        passes += 1
        rows = np.flatnonzero(gap.any(axis=1))
        cols = np.flatnonzero(gap.any(axis=0))
        r0, r1 = max(0, rows[0] - passes), min(out.shape[0], rows[-1] + passes + 1)
        c0, c1 = max(0, cols[0] - passes), min(out.shape[1], cols[-1] + passes + 1)
        part, part_gap = out[r0:r1, c0:c1], gap[r0:r1, c0:c1]
        size = 2 * passes + 1
        sums = _box_sum(np.where(part_gap, 0.0, part).astype(np.float64), size)
        counts = _box_sum((~part_gap).astype(np.float64), size)
        fillable = part_gap & (counts > 0.5)
        part[fillable] = (sums[fillable] / np.rint(counts[fillable])).astype(np.float32)
        part_gap &= ~fillable
    return out, passes


def _box_sum(array: np.ndarray, size: int) -> np.ndarray:
    """Sum over a size x size window centred on each pixel (outside the array counts as 0), float64."""
    return ndimage.uniform_filter(array, size, mode="constant", cval=0.0) * float(size * size)


def gap_fraction(path: str, progress: Optional[Progress] = None) -> float:
    """Share (0-1) of no-data pixels in band 1, read by blocks of rows."""
    progress = ensure(progress)
    ds = open_raster(path)
    rows, cols = ds.RasterYSize, ds.RasterXSize
    gaps = 0
    for row in range(0, rows, _ROWS_PER_BLOCK):
        n = min(_ROWS_PER_BLOCK, rows - row)
        gaps += int((~np.isfinite(read_band(ds, 1, (row, 0, n, cols)))).sum())
        progress.step(row + n, rows)
    return gaps / float(rows * cols)


def fill_gaps(path: str, out_path: str, method: str = "focal", max_gap: float = 1.0,
              series: Sequence[Tuple[dt.date, str]] = (), date: Optional[dt.date] = None,
              max_distance: float = 0, smoothing: int = 0, spatial_fallback: bool = True,
              progress: Optional[Progress] = None) -> dict:
    """Fill the gaps of band 1 of ``path`` with ``method`` and write a Float32 GeoTIFF.

    ``max_gap`` (0-1): refuse (InputError) a raster whose gap fraction is above it.
    ``idw``: ``max_distance`` in pixels (0: unlimited), ``smoothing`` iterations.
    ``temporal``: ``series`` of (date, path) on the same grid and in the same
    units as ``path``, whose own date is ``date``; remaining gaps are filled
    by ``focal`` when ``spatial_fallback``. Returns {'gap_fraction' (before),
    'filled' (pixels), 'remaining' (pixels still no-data), 'valid_fraction' (after)}.
    """
    progress = ensure(progress)
    if method not in METHODS:
        raise InputError(f"Unknown gap-filling method '{method}'; use one of {', '.join(METHODS)}.")
    before = gap_fraction(path, progress.sub(0, 10))
    if before >= 1.0:
        raise InputError(f"{path} is entirely no-data: there is nothing to fill from.")
    if before > max_gap:
        raise InputError(f"{path} has {100 * before:.1f} % no-data pixels, above the maximum of "
                         f"{100 * max_gap:.1f} %: scene refused.")
    grid = read_grid(path)
    total = grid.width * grid.height
    if method == "focal":
        _focal_file(path, out_path, progress.sub(10, 100))
    elif method == "idw":
        _idw_file(path, out_path, max_distance, smoothing, progress.sub(10, 100))
    else:
        if date is None:
            raise InputError(f"The date of {path} is needed for temporal interpolation.")
        if spatial_fallback:
            tmp = _temp_beside(out_path, ".temporal.tif")
            try:
                _temporal_file(path, date, series, tmp, progress.sub(10, 70))
                _focal_file(tmp, out_path, progress.sub(70, 100))
            finally:
                remove_quietly(tmp)
        else:
            _temporal_file(path, date, series, out_path, progress.sub(10, 100))
    remaining = int(round(gap_fraction(out_path) * total))
    gaps = int(round(before * total))
    return {"gap_fraction": before, "filled": gaps - remaining, "remaining": remaining,
            "valid_fraction": 1.0 - remaining / float(total)}


def _temp_beside(path: str, suffix: str) -> str:
    """A temporary file name in the folder of ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=suffix, prefix=".fill.", dir=folder)
    os.close(handle)
    return name


def _focal_file(path: str, out_path: str, progress: Progress) -> None:
    """Tiled progressive focal fill, identical to :func:`focal_fill_array` on the whole image.

    A pixel filled by pass k depends only on input pixels within
    k (k + 1) / 2 of it, so a tile is read with that halo and run for k
    passes; a tile whose core still has gaps is redone with twice as many
    passes (and a larger halo). Memory is bounded by the largest read window:
    only a gap spanning most of the image makes that the whole image, which is
    then filled once and shared by the remaining tiles.
    """
    ds = open_raster(path)
    grid = read_grid(path)
    rows, cols = grid.shape
    total = count_tiles(rows, cols, TILE)
    whole = {}
    units = read_units(path)
    with RasterWriter(out_path, grid, units=units, metadata=_kept_metadata(ds),
                      descriptions=[band_description("LST", units)]) as writer:
        for i, tile in enumerate(iter_tiles(rows, cols, TILE)):
            core = read_band(ds, 1, tile.core)
            if not np.isfinite(core).all():
                core = _fill_tile(ds, tile.core, rows, cols, whole)
            writer.write(core, tile.core[0], tile.core[1])
            progress.step(i + 1, total)


def _fill_tile(ds: gdal.Dataset, core, rows: int, cols: int, whole: dict) -> np.ndarray:
    """The focally filled core window (row, col, rows, cols), growing the halo until it is gap-free.

    ``whole`` caches the filled whole image once a halo has reached the image's size.
    """
    passes = _FIRST_PASSES
    while "image" not in whole:
        halo = passes * (passes + 1) // 2
        r0, c0 = max(0, core[0] - halo), max(0, core[1] - halo)
        r1, c1 = min(rows, core[0] + core[2] + halo), min(cols, core[1] + core[3] + halo)
        if (r0, c0, r1, c1) == (0, 0, rows, cols):
            whole["image"], _ = focal_fill_array(read_band(ds, 1, (0, 0, rows, cols)))
            break
        filled, _ = focal_fill_array(read_band(ds, 1, (r0, c0, r1 - r0, c1 - c0)), passes)
        result = filled[core[0] - r0:core[0] - r0 + core[2], core[1] - c0:core[1] - c0 + core[3]]
        if np.isfinite(result).all():
            return result
        passes *= 2
    return whole["image"][core[0]:core[0] + core[2], core[1]:core[1] + core[3]]


def _kept_metadata(ds: gdal.Dataset) -> dict:
    """The source's dataset metadata to carry over (units are set by the writer)."""
    return {k: v for k, v in (ds.GetMetadata() or {}).items() if k not in ("AREA_OR_POINT",)}


def _idw_file(path: str, out_path: str, max_distance: float, smoothing: int, progress: Progress) -> None:
    """GDAL FillNodata on a temporary copy, then an atomic write of the result."""
    ds = open_raster(path)
    grid = read_grid(path)
    units = read_units(path)
    distance = max_distance if max_distance > 0 else float(np.hypot(grid.width, grid.height)) + 1
    tmp = _temp_beside(out_path, ".idw.tif")
    try:
        with RasterWriter(tmp, grid) as writer:
            for row in range(0, grid.height, _ROWS_PER_BLOCK):
                n = min(_ROWS_PER_BLOCK, grid.height - row)
                writer.write(read_band(ds, 1, (row, 0, n, grid.width)), row, 0)
        work = gdal.Open(tmp, gdal.GA_Update)

        def callback(complete, _message, _data):
            progress.report(90.0 * complete)
            return 0 if progress.is_cancelled() else 1

        try:
            gdal.FillNodata(work.GetRasterBand(1), None, distance, int(smoothing), callback=callback)
        except RuntimeError as err:
            if progress.is_cancelled():
                raise Cancelled("Cancelled by the user.") from err
            raise InputError(f"Inverse-distance filling of {path} failed: {err}") from err
        work.FlushCache()
        with RasterWriter(out_path, grid, units=units, metadata=_kept_metadata(ds),
                          descriptions=[band_description("LST", units)]) as writer:
            for row in range(0, grid.height, _ROWS_PER_BLOCK):
                n = min(_ROWS_PER_BLOCK, grid.height - row)
                block = read_band(work, 1, (row, 0, n, grid.width))
                original = read_band(ds, 1, (row, 0, n, grid.width))
                valid = np.isfinite(original)
                block[valid] = original[valid]  # valid pixels untouched (smoothing alters none)
                writer.write(block, row, 0)
        work = None
        progress.report(100)
    finally:
        remove_quietly(tmp)


def _temporal_file(path: str, date: dt.date, series: Sequence[Tuple[dt.date, str]], out_path: str,
                   progress: Progress) -> None:
    """Linear interpolation in time of the gaps of ``path`` (of ``date``) from ``series``."""
    others = sorted({(d, p) for d, p in series
                     if d != date and os.path.abspath(p) != os.path.abspath(path)})
    if not others:
        raise InputError("Temporal interpolation needs a series of other dates (a pairs table or "
                         "several dated layers); none was given.")
    grid = require_same_grid({path: read_grid(path), **{p: read_grid(p) for _, p in others}})
    units = read_units(path)
    for _, other in others:
        other_units = read_units(other)
        if units and other_units and other_units != units:
            raise InputError(f"{other} is in {other_units} but {path} is in {units}: "
                             "convert them to the same units first.")
    before = [(d, open_raster(p)) for d, p in reversed(others) if d < date]
    after = [(d, open_raster(p)) for d, p in others if d > date]
    ds = open_raster(path)
    with RasterWriter(out_path, grid, units=units, metadata=_kept_metadata(ds),
                      descriptions=[band_description("LST", units)]) as writer:
        for row in range(0, grid.height, _ROWS_PER_BLOCK):
            window = (row, 0, min(_ROWS_PER_BLOCK, grid.height - row), grid.width)
            block = read_band(ds, 1, window)
            interpolate_in_time(block, window, before, after, date)
            writer.write(block, row, 0)
            progress.step(row + window[2], grid.height)


def interpolate_in_time(block: np.ndarray, window, before, after, date: dt.date):
    """Fill the gaps (NaN) of ``block`` in place, linearly in time between the nearest valid values of
    ``before`` and ``after`` (datasets ordered nearest first); pixels without both stay NaN.

    Returns (filled mask, weight of the later value, earlier value, later value), the last three
    over the filled pixels only.
    """
    gap = ~np.isfinite(block)
    if not gap.any():
        empty = np.zeros(0, np.float32)
        return gap, empty, empty, empty
    v0, d0 = _nearest_valid(before, window, gap, date)
    v1, d1 = _nearest_valid(after, window, gap, date)
    both = gap & np.isfinite(v0) & np.isfinite(v1)
    weight = d0[both] / (d0[both] + d1[both])
    block[both] = v0[both] + (v1[both] - v0[both]) * weight
    return both, weight, v0[both], v1[both]


def _nearest_valid(datasets, window, gap: np.ndarray, date: dt.date) -> Tuple[np.ndarray, np.ndarray]:
    """Per pixel of ``gap``: the value of the nearest dataset (in the given order) where it is
    valid, and its distance in days from ``date``; NaN where none is valid."""
    values = np.full(gap.shape, np.nan, dtype=np.float32)
    days = np.full(gap.shape, np.nan, dtype=np.float64)
    todo = gap.copy()
    for day, ds in datasets:
        if not todo.any():
            break
        block = read_band(ds, 1, window)
        take = todo & np.isfinite(block)
        values[take] = block[take]
        days[take] = abs((day - date).days)
        todo &= ~take
    return values, days
