"""What STARFM and ESTARFM share: input checks, units, dates, global statistics, tiled driver.

Both methods predict a fine pixel from the pixels of a (2h + 1) x (2h + 1)
window around it, so they run tile by tile (``common.tiling``) with a halo of
``h`` pixels: the result does not depend on the tile size. Arrays handed to
the kernels are float32 Kelvin with NaN where a pixel is no-data or outside
the physically possible range ``PHYSICAL_RANGE_K``, padded with NaN to (rows + 2h, cols + 2h) so that every core
pixel has a full window (pixels beyond the image edge are simply no-data).
Celsius inputs are converted to Kelvin on reading and the prediction is
converted back, so results do not depend on the units (ESTARFM's spectral
similarity uses ratios of temperatures, which only make sense in Kelvin).
"""
import datetime as _dt
import os
from functools import partial
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ...common.errors import InputError
from ...common.grid import Grid, require_same_grid
from ...common.progress import Progress, ensure
from ...common import units as lst_units
from ...common.units import units_of
from ...common.raster_io import RasterWriter, band_description, open_raster, read_band, read_grid
from ...common.products import date_from_filename as date_in_name
from ...common.tiling import Part, part_tiles

PHYSICAL_RANGE_K = (150.0, 400.0)
"""Input values outside this range (K, inclusive) are no-data: no land surface is colder than 150 K
(MODIS LST's own lower valid limit; the coldest measured surfaces are near 180 K) or hotter than
400 K outside fires (Landsat's ST saturates at 373 K). The methods' valid range (250-350 K by
default) only revises predictions, as the original codes do: polar or night scenes keep their pixels."""

UNITS_GAP_K = 50.0
"""Two inputs whose mean temperatures differ by more than this (K) are taken to be in different units."""


@dataclass
class WindowParams:
    """Settings every windowed classical method shares; temperatures in K."""

    half_window: int = 15
    """h: the window is (2h + 1) x (2h + 1) fine pixels."""
    num_classes: float = 4.0
    """Similarity threshold(s) = 2 sigma / num_classes."""
    valid_min: float = 250.0
    valid_max: float = 350.0
    """Predictions at or outside (valid_min, valid_max) K are revised (inputs are no-data only outside
    ``PHYSICAL_RANGE_K``)."""
    tile_size: int = 256

    def check(self) -> None:
        """InputError for shared settings that cannot work (methods add their own checks)."""
        if self.half_window < 1:
            raise InputError("The half window must be at least 1 pixel.")
        if self.num_classes <= 0:
            raise InputError("The number of classes must be positive.")
        if not 0 < self.valid_min < self.valid_max:
            raise InputError("The valid range must satisfy 0 K < minimum < maximum.")
        if self.tile_size < 16:
            raise InputError("The tile size must be at least 16 pixels.")


def date_from_path(path: str) -> Optional[_dt.date]:
    """The acquisition date in a file name (see :func:`common.products.date_from_filename`), or None."""
    try:
        return date_in_name(path)
    except InputError:
        return None


def check_target_between(ref1: Optional[_dt.date], ref2: Optional[_dt.date],
                         target: Optional[_dt.date]) -> None:
    """InputError when all three dates are known and the target is not between the references."""
    if ref1 is None or ref2 is None or target is None:
        return
    first, last = min(ref1, ref2), max(ref1, ref2)
    if not first <= target <= last:
        raise InputError(
            f"The target date {target} is outside the two reference dates ({first} and {last}): "
            "ESTARFM interpolates between a pair before and a pair after the target. Use pairs "
            "that bracket the target, or STARFM (one pair) to extrapolate. (Dates are read from "
            "the file names unless given as parameters.)")


@dataclass
class Inputs:
    """Named input rasters of one fusion run, all on one grid.

    ``paths`` maps parameter names (e.g. 'FINE_REF') to files, in the order
    the kernel takes them.
    """

    paths: Dict[str, str]
    grid: Grid
    units: str

    @property
    def names(self) -> List[str]:
        """Parameter names, in kernel order."""
        return list(self.paths)


@dataclass
class InputStats:
    """Statistics over the valid pixels (Kelvin, inside ``PHYSICAL_RANGE_K``) of each input."""

    count: Dict[str, int]
    mean: Dict[str, float]
    std: Dict[str, float]
    joint_count: int
    """Pixels valid in every input."""
    dropped: Dict[str, int]
    """Pixels of each input with a value outside ``PHYSICAL_RANGE_K`` (made no-data)."""

    def dropped_message(self) -> str:
        """One log line: how many input pixels the physical range dropped, per input."""
        low, high = PHYSICAL_RANGE_K
        listing = ", ".join(f"{name} {count}" for name, count in self.dropped.items())
        return (f"{sum(self.dropped.values())} input pixel(s) outside the physically possible range "
                f"{low:g}-{high:g} K were treated as no-data ({listing}).")


def open_inputs(paths: Dict[str, str]) -> Inputs:
    """Check that the inputs exist, share one grid and agree on units; return them.

    Units come from each raster's metadata; a raster without units metadata
    is taken to be in Kelvin when its mean is above 150, else in Celsius.
    """
    grids = {name: read_grid(path) for name, path in paths.items()}
    named = {f"{name} ({os.path.basename(paths[name])})": grid for name, grid in grids.items()}
    grid = require_same_grid(named)
    units = {name: _units(path, name) for name, path in paths.items()}
    if len(set(units.values())) > 1:
        listing = ", ".join(f"{name}: {unit}" for name, unit in units.items())
        raise InputError(f"The inputs are not all in the same units ({listing}). Convert them to "
                         "one unit (the LST tools of this plugin write Kelvin or Celsius on request).")
    return Inputs(dict(paths), grid, next(iter(units.values())))


def _units(path: str, name: str) -> str:
    """Units from the raster's metadata or its values; InputError when it holds only no-data."""
    units, _ = units_of(path)
    if units is None:
        raise InputError(f"{name} ({path}) holds only no-data: there is nothing to fuse.")
    return units


def physical_kelvin(block: np.ndarray, units: str) -> Tuple[np.ndarray, int]:
    """(float32 Kelvin copy of a block, NaN where no-data or outside ``PHYSICAL_RANGE_K``; pixels so dropped)."""
    out = lst_units.to_kelvin(block.astype(np.float32, copy=True), units)
    with np.errstate(invalid="ignore"):
        outside = (out < PHYSICAL_RANGE_K[0]) | (out > PHYSICAL_RANGE_K[1])
    out[outside] = np.nan
    return out, int(outside.sum())


def input_stats(inputs: Inputs, progress: Progress,
                rows_per_block: int = 256) -> InputStats:
    """Count, mean and standard deviation (ddof 0, K) of each input's valid pixels, in one pass.

    Also counts, per input, the pixels dropped for lying outside ``PHYSICAL_RANGE_K``.

    Raises InputError when an input has no valid pixel, when no pixel is valid
    in all inputs, or when mean temperatures differ so much that the units
    must differ.
    """
    datasets = {name: open_raster(path) for name, path in inputs.paths.items()}
    sums = {name: np.zeros(3) for name in datasets}
    dropped = dict.fromkeys(datasets, 0)
    joint = 0
    rows, cols = inputs.grid.shape
    for row in range(0, rows, rows_per_block):
        window = (row, 0, min(rows_per_block, rows - row), cols)
        valid_all = None
        for name, ds in datasets.items():
            block, outside = physical_kelvin(read_band(ds, 1, window), inputs.units)
            dropped[name] += outside
            block = block.astype(np.float64)
            valid = np.isfinite(block)
            values = block[valid]
            sums[name] += (values.size, values.sum(), np.square(values).sum())
            valid_all = valid if valid_all is None else valid_all & valid
        joint += int(valid_all.sum())
        progress.step(row + window[2], rows)
    count, mean, std = {}, {}, {}
    for name, (n, s, ss) in sums.items():
        if n == 0:
            raise InputError(
                f"{name} ({inputs.paths[name]}) has no valid pixel inside the physically possible "
                f"range {PHYSICAL_RANGE_K[0]:g}-{PHYSICAL_RANGE_K[1]:g} K ({dropped[name]} outside it): "
                "check the file and its units.")
        count[name], mean[name] = int(n), s / n
        std[name] = float(np.sqrt(max(ss / n - mean[name] ** 2, 0.0)))
    if joint == 0:
        raise InputError("No pixel is valid in all the inputs at once (their no-data areas "
                         "cover the whole image together): there is nothing to fuse.")
    names = list(mean)
    for name in names[1:]:
        if abs(mean[name] - mean[names[0]]) > UNITS_GAP_K:
            raise InputError(
                f"The mean of {name} ({mean[name]:.1f} K) differs from that of {names[0]} "
                f"({mean[names[0]]:.1f} K) by more than {UNITS_GAP_K:g} K: the rasters are "
                "probably in different units (Kelvin vs Celsius). Set the units metadata or "
                "convert them.")
    return InputStats(count, mean, std, joint, dropped)


Kernel = Callable[[Sequence[np.ndarray], Progress], Tuple[np.ndarray, Dict[str, int]]]
"""Predicts the core of a tile from padded Kelvin blocks; returns (prediction (rows, cols) K, counters)."""


def read_padded(datasets: Sequence[gdal.Dataset], tile, halo: int, units: str) -> List[np.ndarray]:
    """The read window of a tile from each dataset, in Kelvin, NaN-padded to core + 2 * halo."""
    core_r, core_c, core_rows, core_cols = tile.core
    read_r, read_c, read_rows, read_cols = tile.read
    top, left = halo - (core_r - read_r), halo - (core_c - read_c)
    blocks = []
    for ds in datasets:
        padded = np.full((core_rows + 2 * halo, core_cols + 2 * halo), np.nan, np.float32)
        block, _ = physical_kelvin(read_band(ds, 1, tile.read), units)
        padded[top:top + read_rows, left:left + read_cols] = block
        blocks.append(padded)
    return blocks


def run_tiled(inputs: Inputs, out_path: str, kernel: Kernel, halo: int, tile_size: int,
              metadata: dict, progress: Progress,
              workers: int = 2, part: Optional[Part] = None) -> Dict[str, int]:
    """Run ``kernel`` tile by tile and write the prediction (in the inputs' units) to ``out_path``.

    Tiles are read and written on the calling thread and computed by up to
    ``workers`` threads (numpy releases the GIL in its array loops), which
    check for cancellation; progress is reported from the calling thread. Each
    tile's result does not depend on the others, so the output is the same
    for any number of workers. Returns the summed counters of the kernel plus
    'predicted' (pixels with a value). With ``part`` only that strip of tiles is
    computed, into a raster of the strip (nothing is written for an empty strip).
    """
    progress = ensure(progress)
    datasets = [open_raster(path) for path in inputs.paths.values()]
    rows, cols = inputs.grid.shape
    tile_size = balanced_tile_size(rows, cols, tile_size)
    window, tiles = part_tiles(rows, cols, tile_size, halo, part)
    total = len(tiles)
    counters: Dict[str, int] = {"predicted": 0}
    if not tiles:
        return counters
    pending: Deque = deque()
    done = 0
    tile_fractions = [0.0] * total

    def report_tile(index: int, percent: float) -> None:
        # called by the workers: only record; the calling thread reports (Qt feedback objects
        # are not meant to be driven from foreign threads)
        tile_fractions[index] = percent / 100.0

    def finish(writer) -> None:
        nonlocal done
        tile, future = pending.popleft()
        while True:
            try:
                prediction, tile_counters = future.result(timeout=0.25)
                break
            except FutureTimeout:
                # tiles run concurrently: the sum of their fractions only grows
                progress.report(100.0 * sum(tile_fractions) / total)
        for key, value in tile_counters.items():
            counters[key] = counters.get(key, 0) + int(value)
        counters["predicted"] += int(np.isfinite(prediction).sum())
        writer.write(lst_units.from_kelvin(prediction.astype(np.float32), inputs.units), tile.core[0] - window[0],
                     tile.core[1])
        tile_fractions[done] = 1.0
        done += 1
        progress.report(100.0 * sum(tile_fractions) / total)
        progress.check()

    with RasterWriter(out_path, inputs.grid.window(*window), units=inputs.units, metadata=metadata,
                      descriptions=[band_description("LST", inputs.units)]) as writer, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        try:
            for index, tile in enumerate(tiles):
                blocks = read_padded(datasets, tile, halo, inputs.units)
                tile_progress = Progress(report=partial(report_tile, index),
                                         is_cancelled=progress.is_cancelled)
                pending.append((tile, pool.submit(kernel, blocks, tile_progress)))
                if len(pending) >= max(1, workers):
                    finish(writer)
            while pending:
                finish(writer)
        finally:
            for _, future in pending:
                future.cancel()
    return counters


def balanced_tile_size(rows: int, cols: int, tile_size: int) -> int:
    """The largest tile size <= ``tile_size`` that needs no more tiles along the longer side.

    Equal tiles keep the worker threads equally busy (400 x 400 with 256 gives
    four 200 x 200 tiles, not 256 + 144); results do not depend on it.
    """
    longest = max(rows, cols)
    return -(-longest // -(-longest // tile_size))


def window_sum(values: np.ndarray, halo: int, rows: int, cols: int) -> np.ndarray:
    """Sum of ``values`` (padded, NaN-free) over each core pixel's (2 halo + 1)^2 window, float64."""
    size = 2 * halo + 1
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    np.cumsum(np.cumsum(values, axis=0, dtype=np.float64), axis=1, out=table[1:, 1:])
    return (table[size:size + rows, size:size + cols] - table[:rows, size:size + cols]
            - table[size:size + rows, :cols] + table[:rows, :cols])
