"""Raw per-pixel spread (K) of the classical methods' predictions, from what they already compute.

Inputs are the method's own: the reference pairs (F_i, C_i) and the coarse
target C0, read tile by tile with the method's halo ``h``. Over the
(2h + 1) x (2h + 1) window of a centre, among the pixels valid in every
input (all of them, not only the similar pixels the methods select: box
sums, which leave the methods' kernels untouched):

- ``B``, the spread of the neighbours' predictions: each neighbour k predicts
  the centre's change as its coarse change C0_k - C_i,k; B = sum_i T_i std(C0 - C_i);
- ``E``, the residual of the window model at the centre: how far the centre's
  fine value lies from its neighbourhood, sum_i T_i |F_i,c - mean(F_i)|
  (pixels unlike their neighbours are predicted from fewer, less similar ones);
- ``D`` (two pairs), the disagreement of the forward and backward predictions
  P_i = F_i,c + mean(C0 - C_i), scaled as it enters the combined prediction:
  D = 2 sqrt(T1 T2) |P1 - P2|;

with ESTARFM's temporal weights T_i (1 for one pair). The raw spread is
``sqrt(D^2 + B^2 + E^2 + SPREAD_FLOOR^2)``; it only ranks pixels: split-conformal
calibration (``evaluation.conformal``) turns it into an interval half-width.
No-data (NaN) where any input is no-data at the centre. The window statistics
are box sums over the halo-padded tile, so tiles give the untiled result.
Values are temperature differences, the same in K and °C.
"""
from typing import Dict, Optional

import numpy as np

from ...common.progress import Progress, ensure
from ...common.raster_io import RasterWriter, open_raster
from ...common.tiling import count_tiles, iter_tiles
from .estarfm import _temporal_weights
from .tiled import balanced_tile_size, open_inputs, read_padded, window_sum

SPREAD_FLOOR = 0.1
"""Smallest raw spread (K), so that scaled scores |error| / spread stay finite."""
OFFSET_K = 300.0
"""Subtracted from fine values (K) before window sums, for accuracy."""
LAYER_KEY = "LST_FUSION_LAYER"


def spread_tile(blocks, halo: int) -> np.ndarray:
    """Raw spread of one padded tile.

    ``blocks``: F1, C1[, F2, C2], C0 as float32 K arrays (rows + 2h, cols + 2h),
    NaN = no-data. Returns (rows, cols) float64 K, NaN where not predictable.
    """
    *references, c0 = [np.asarray(b, np.float64) for b in blocks]
    rows, cols = c0.shape[0] - 2 * halo, c0.shape[1] - 2 * halo
    valid = np.isfinite(c0)
    for block in references:
        valid &= np.isfinite(block)
    count = np.maximum(window_sum(valid.astype(np.float64), halo, rows, cols), 1.0)

    def mean_and_std(values):
        values = np.where(valid, values, 0.0)
        mean = window_sum(values, halo, rows, cols) / count
        square = window_sum(values * values, halo, rows, cols) / count
        return mean, np.sqrt(np.maximum(square - mean * mean, 0.0))

    core = (slice(halo, halo + rows), slice(halo, halo + cols))
    forward, spreads, residuals = [], [], []
    for fine, coarse in zip(references[0::2], references[1::2]):
        change_mean, change_std = mean_and_std(c0 - coarse)
        fine_mean, _ = mean_and_std(fine - OFFSET_K)
        centre = fine[core]
        forward.append((centre + change_mean, change_mean))
        spreads.append(change_std)
        residuals.append(np.abs(centre - OFFSET_K - fine_mean))
    if len(forward) == 2:
        weights = _temporal_weights(forward[0][1], forward[1][1])
        disagreement = 2.0 * np.sqrt(weights[0] * weights[1]) * np.abs(forward[0][0] - forward[1][0])
    else:
        weights, disagreement = (1.0,), 0.0
    between = sum(w * s for w, s in zip(weights, spreads))
    residual = sum(w * r for w, r in zip(weights, residuals))
    spread = np.sqrt(disagreement ** 2 + between ** 2 + residual ** 2 + SPREAD_FLOOR ** 2)
    spread[~valid[core]] = np.nan
    return spread


def write_spread(paths: Dict[str, str], out_path: str, half_window: int, tile_size: int = 256,
                 progress: Optional[Progress] = None) -> str:
    """Raw spread raster (Float32, K) of a classical prediction from its input files.

    ``paths``: the method's inputs in kernel order (FINE_REF, COARSE_REF[, FINE_REF2,
    COARSE_REF2], COARSE_TARGET), on one grid and in one unit; ``half_window``: the
    method's h. InputError for inputs on different grids or in different units.
    """
    progress = ensure(progress)
    inputs = open_inputs(paths)
    datasets = [open_raster(p) for p in inputs.paths.values()]
    rows, cols = inputs.grid.shape
    size = balanced_tile_size(rows, cols, tile_size)
    total = count_tiles(rows, cols, size)
    with RasterWriter(out_path, inputs.grid, metadata={LAYER_KEY: "raw spread (K)"}) as writer:
        for i, tile in enumerate(iter_tiles(rows, cols, size, half_window)):
            blocks = read_padded(datasets, tile, half_window, inputs.units)
            writer.write(spread_tile(blocks, half_window), tile.core[0], tile.core[1])
            progress.step(i + 1, total)
    return out_path
