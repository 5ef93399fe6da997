"""STARFM (Gao et al. 2006): fine LST on a target date from one fine/coarse pair.

For each fine pixel (the centre), within a (2h + 1) x (2h + 1) window:

1. Candidates: neighbours whose fine reference value is within the
   spectral threshold of the centre's, ``|F_k - F_c| < 2 sigma_F / n_classes``
   (sigma_F: standard deviation of the valid fine reference pixels of the
   whole image), and that pass the sample filter of the paper: their
   fine-coarse difference ``S_k = |F_k - C_k|`` and coarse change
   ``T_k = |C_k - C0_k|`` are smaller than the centre's plus the uncertainty,
   ``S_k < S_c + sqrt(u_F^2 + u_C^2)`` and ``T_k < T_c + sqrt(2) u_C``.
   The centre itself is always a candidate (it passes every test unless the
   uncertainties are 0), so every pixel valid in the three inputs gets a
   prediction; no-data pixels are never candidates.
2. Weights: ``1 / ((S_k + e) (T_k + e) D_k)``, ``D_k = 1 + d_k / A`` with d_k
   the distance to the centre in pixels, A the distance scale (default: the
   half window h) and e = 1e-4 K, which keeps the weight of a pixel with
   S = 0 or T = 0 finite but dominant (the paper's "pure pixel" case), normalised.
3. Prediction: ``sum_k w_k (F_k + C0_k - C_k)``.

Values are Kelvin. Output is no-data where any of the three inputs is
no-data or outside the valid range.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ...common.errors import InputError
from ...common.progress import Progress, ensure
from ...common.tiling import Part
from .tiled import input_stats, open_inputs, run_tiled
from .window import Offsets, Sums, ceil_float32

WEIGHT_EPSILON = 1e-4
"""Added to S and T (K) in the weights."""


@dataclass
class StarfmParams:
    """STARFM settings; temperatures in K."""

    half_window: int = 15
    """h: the window is (2h + 1) x (2h + 1) fine pixels (31 x 31 by default)."""
    num_classes: float = 4.0
    """Spectral threshold = 2 sigma_F / num_classes."""
    distance_scale: float = 0.0
    """A in D = 1 + d / A (pixels); 0 means the half window."""
    fine_uncertainty: float = 1.0
    """Uncertainty of the fine LST (K), for the sample filter."""
    coarse_uncertainty: float = 1.0
    """Uncertainty of the coarse LST (K), for the sample filter."""
    valid_min: float = 250.0
    valid_max: float = 350.0
    """Input values outside [valid_min, valid_max] K are treated as no-data."""
    tile_size: int = 256

    def check(self) -> None:
        """InputError for settings that cannot work."""
        if self.half_window < 1:
            raise InputError("The half window must be at least 1 pixel.")
        if self.num_classes <= 0:
            raise InputError("The number of classes must be positive.")
        if self.distance_scale < 0:
            raise InputError("The distance scale must be positive (0 = the half window).")
        if self.fine_uncertainty < 0 or self.coarse_uncertainty < 0:
            raise InputError("Uncertainties cannot be negative.")
        if not 0 < self.valid_min < self.valid_max:
            raise InputError("The valid range must satisfy 0 K < minimum < maximum.")
        if self.tile_size < 16:
            raise InputError("The tile size must be at least 16 pixels.")

    @property
    def scale(self) -> float:
        """A, in pixels."""
        return self.distance_scale or float(self.half_window)

    @property
    def spectral_tolerance(self) -> float:
        """Sample filter tolerance on S (K)."""
        return float(np.hypot(self.fine_uncertainty, self.coarse_uncertainty))

    @property
    def temporal_tolerance(self) -> float:
        """Sample filter tolerance on T (K)."""
        return float(np.sqrt(2.0) * self.coarse_uncertainty)


def starfm_tile(blocks: Sequence[np.ndarray], params: StarfmParams, threshold: float,
                offset: float, progress: Optional[Progress] = None):
    """STARFM on one padded tile.

    ``blocks``: fine_ref, coarse_ref, coarse_target as float32 Kelvin arrays
    (rows + 2h, cols + 2h), NaN = no-data; ``threshold``: the spectral
    threshold (K); ``offset``: a constant (K) subtracted before summing, for
    float32 accuracy. Returns (prediction (rows, cols) float64 K, NaN where
    not predicted, counters).
    """
    progress = ensure(progress)
    h = params.half_window
    fine, coarse, coarse_t = (np.array(b, np.float32) for b in blocks)
    win = Offsets(h, fine.shape[0] - 2 * h, fine.shape[1] - 2 * h)
    valid = np.isfinite(fine) & np.isfinite(coarse) & np.isfinite(coarse_t)
    fine[~valid] = np.nan
    spectral = np.abs(fine - coarse)
    temporal = np.abs(coarse - coarse_t)
    inverse_base = (spectral + np.float32(WEIGHT_EPSILON)) * (temporal + np.float32(WEIGHT_EPSILON))
    inverse_base[~valid] = 1.0
    change = fine + coarse_t - coarse - np.float32(offset)
    change[~valid] = 0.0
    spectral[~valid] = np.inf
    temporal[~valid] = np.inf

    fine_c, valid_c = win.centre(fine), win.centre(valid)
    th = ceil_float32(threshold)
    s_limit = ceil_float32(win.centre(spectral).astype(np.float64) + params.spectral_tolerance)
    t_limit = ceil_float32(win.centre(temporal).astype(np.float64) + params.temporal_tolerance)

    sums = Sums(("w", "wg"), win.shape)
    mask, test = np.empty(win.shape, bool), np.empty(win.shape, bool)
    weight, buffer = np.empty(win.shape, np.float32), np.empty(win.shape, np.float32)
    scale = params.scale
    for row in win.rows_of_offsets(progress):
        for dy, dx, distance in row:
            if dy == 0 and dx == 0:
                np.copyto(mask, valid_c)
            else:
                np.subtract(win.at(fine, dy, dx), fine_c, out=buffer)
                np.abs(buffer, out=buffer)
                np.less(buffer, th, out=mask)
                np.less(win.at(spectral, dy, dx), s_limit, out=test)
                mask &= test
                np.less(win.at(temporal, dy, dx), t_limit, out=test)
                mask &= test
            np.multiply(win.at(inverse_base, dy, dx), np.float32(1.0 + distance / scale), out=weight)
            np.divide(mask, weight, out=weight)
            sums.add("w", weight)
            sums.add_product("wg", weight, win.at(change, dy, dx), buffer)
        sums.end_row()
    with np.errstate(invalid="ignore", divide="ignore"):
        prediction = win.core(sums["wg"] / sums["w"]) + offset
    prediction[~win.core(valid_c)] = np.nan
    return prediction, {}


def run_starfm(fine_ref: str, coarse_ref: str, coarse_target: str, out_path: str,
               params: Optional[StarfmParams] = None, progress: Optional[Progress] = None,
               part: Optional[Part] = None) -> Dict:
    """STARFM from files on one grid to a Float32 GeoTIFF in the inputs' units (``part``: only
    that strip of tiles, see ``run_tiled``).

    Returns {'units', 'threshold' (K), 'predicted' (pixels), 'valid_fraction'}.
    Raises InputError for inputs on different grids or in different units, or
    without a pixel valid in all of them.
    """
    params = params or StarfmParams()
    params.check()
    progress = ensure(progress)
    inputs = open_inputs({"FINE_REF": fine_ref, "COARSE_REF": coarse_ref,
                          "COARSE_TARGET": coarse_target})
    valid_range = (params.valid_min, params.valid_max)
    stats = input_stats(inputs, valid_range, progress.sub(0, 5))
    threshold = 2.0 * stats.std["FINE_REF"] / params.num_classes
    offset = float(np.round(stats.mean["FINE_REF"]))
    progress.info(f"STARFM: window {2 * params.half_window + 1} x {2 * params.half_window + 1} "
                  f"pixels, spectral threshold {threshold:.3f} K, units {inputs.units}.")

    def kernel(blocks, tile_progress):
        return starfm_tile(blocks, params, threshold, offset, tile_progress)

    metadata = {"LST_FUSION_METHOD": "STARFM", **{f"STARFM_{k.upper()}": v for k, v in asdict(params).items()}}
    counters = run_tiled(inputs, out_path, kernel, params.half_window, params.tile_size,
                         valid_range, metadata, progress.sub(5, 100), part=part)
    rows, cols = inputs.grid.shape
    return {"units": inputs.units, "threshold": threshold, "predicted": counters["predicted"],
            "valid_fraction": counters["predicted"] / float(rows * cols)}
