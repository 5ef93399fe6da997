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
4. Revision: a prediction at or below ``valid_min`` or at or above
   ``valid_max`` (250 and 350 K by default) is replaced by the weighted mean
   of the fine reference over the same candidates, ``sum_k w_k F_k``: the
   one-pair form of ESTARFM's revision (its original code's use of the valid
   range). STARFM's own code has no revision; this one keeps an implausible
   coarse change from producing an implausible temperature.

Values are Kelvin. Output is no-data where any of the three inputs is
no-data or outside the physically possible range ``tiled.PHYSICAL_RANGE_K``
(150-400 K), never for leaving the valid range.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ...common.errors import InputError
from ...common.progress import Progress, ensure
from ...common.tiling import Part
from .tiled import WindowParams, input_stats, open_inputs, run_tiled
from .window import Offsets, Sums, ceil_float32

WEIGHT_EPSILON = 1e-4
"""Added to S and T (K) in the weights."""


@dataclass
class StarfmParams(WindowParams):
    """STARFM settings (the window's 31 x 31 by default; spectral threshold 2 sigma_F / num_classes); K."""

    distance_scale: float = 0.0
    """A in D = 1 + d / A (pixels); 0 means the half window."""
    fine_uncertainty: float = 1.0
    """Uncertainty of the fine LST (K), for the sample filter."""
    coarse_uncertainty: float = 1.0
    """Uncertainty of the coarse LST (K), for the sample filter."""

    def check(self) -> None:
        """InputError for settings that cannot work."""
        super().check()
        if self.distance_scale < 0:
            raise InputError("The distance scale must be positive (0 = the half window).")
        if self.fine_uncertainty < 0 or self.coarse_uncertainty < 0:
            raise InputError("Uncertainties cannot be negative.")

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
    not predicted, counters {'revised': pixels revised for leaving the valid range}).
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
    tile = _Tile(fine, valid, spectral, temporal, inverse_base, params, ceil_float32(threshold))

    sums = tile.weighted_sums(win, change, progress)
    valid_c = win.core(win.centre(valid))
    with np.errstate(invalid="ignore", divide="ignore"):
        prediction = win.core(sums["wv"] / sums["w"]) + offset
    abnormal = valid_c & ((prediction <= params.valid_min) | (prediction >= params.valid_max))
    if abnormal.any():
        centres = np.flatnonzero(abnormal)
        reference = fine - np.float32(offset)
        reference[~valid] = 0.0
        revision = tile.weighted_sums(Offsets(h, win.rows, win.cols, centres), reference, None)
        prediction.ravel()[centres] = revision["wv"] / revision["w"] + offset
    prediction[~valid_c] = np.nan
    return prediction, {"revised": int(abnormal.sum())}


class _Tile:
    """The arrays of one padded tile that select and weigh the candidates of each centre."""

    def __init__(self, fine, valid, spectral, temporal, inverse_base, params: StarfmParams, threshold):
        self.fine, self.valid, self.spectral, self.temporal = fine, valid, spectral, temporal
        self.inverse_base, self.params, self.threshold = inverse_base, params, threshold

    def weighted_sums(self, win: Offsets, values: np.ndarray, progress: Optional[Progress]):
        """Window sums {'w': weights, 'wv': weights x ``values`` (padded, 0 where invalid)} of ``win``'s centres."""
        params = self.params
        fine_c, valid_c = win.centre(self.fine), win.centre(self.valid)
        s_limit = ceil_float32(win.centre(self.spectral).astype(np.float64) + params.spectral_tolerance)
        t_limit = ceil_float32(win.centre(self.temporal).astype(np.float64) + params.temporal_tolerance)
        sums = Sums(("w", "wv"), win.shape)
        mask, test = np.empty(win.shape, bool), np.empty(win.shape, bool)
        weight, buffer = np.empty(win.shape, np.float32), np.empty(win.shape, np.float32)
        scale = params.scale
        for row in win.rows_of_offsets(ensure(progress)):
            for dy, dx, distance in row:
                if dy == 0 and dx == 0:
                    np.copyto(mask, valid_c)
                else:
                    np.subtract(win.at(self.fine, dy, dx), fine_c, out=buffer)
                    np.abs(buffer, out=buffer)
                    np.less(buffer, self.threshold, out=mask)
                    np.less(win.at(self.spectral, dy, dx), s_limit, out=test)
                    mask &= test
                    np.less(win.at(self.temporal, dy, dx), t_limit, out=test)
                    mask &= test
                np.multiply(win.at(self.inverse_base, dy, dx), np.float32(1.0 + distance / scale), out=weight)
                np.divide(mask, weight, out=weight)
                sums.add("w", weight)
                sums.add_product("wv", weight, win.at(values, dy, dx), buffer)
            sums.end_row()
        return sums


def run_starfm(fine_ref: str, coarse_ref: str, coarse_target: str, out_path: str,
               params: Optional[StarfmParams] = None, progress: Optional[Progress] = None,
               part: Optional[Part] = None) -> Dict:
    """STARFM from files on one grid to a Float32 GeoTIFF in the inputs' units (``part``: only
    that strip of tiles, see ``run_tiled``).

    Returns {'units', 'threshold' (K), 'predicted', 'revised' (pixels revised for leaving the
    valid range), 'dropped' (input pixels outside ``PHYSICAL_RANGE_K``), 'valid_fraction'}.
    Raises InputError for inputs on different grids or in different units, or
    without a pixel valid in all of them.
    """
    params = params or StarfmParams()
    params.check()
    progress = ensure(progress)
    inputs = open_inputs({"FINE_REF": fine_ref, "COARSE_REF": coarse_ref,
                          "COARSE_TARGET": coarse_target})
    stats = input_stats(inputs, progress.sub(0, 5))
    progress.info(stats.dropped_message())
    threshold = 2.0 * stats.std["FINE_REF"] / params.num_classes
    offset = float(np.round(stats.mean["FINE_REF"]))
    progress.info(f"STARFM: window {2 * params.half_window + 1} x {2 * params.half_window + 1} "
                  f"pixels, spectral threshold {threshold:.3f} K, units {inputs.units}.")

    def kernel(blocks, tile_progress):
        return starfm_tile(blocks, params, threshold, offset, tile_progress)

    metadata = {"LST_FUSION_METHOD": "STARFM", **{f"STARFM_{k.upper()}": v for k, v in asdict(params).items()}}
    counters = run_tiled(inputs, out_path, kernel, params.half_window, params.tile_size,
                         metadata, progress.sub(5, 100), part=part)
    rows, cols = inputs.grid.shape
    return {"units": inputs.units, "threshold": threshold, "predicted": counters["predicted"],
            "revised": counters.get("revised", 0), "dropped": sum(stats.dropped.values()),
            "valid_fraction": counters["predicted"] / float(rows * cols)}


def predict_plan(plan, out_path: str, settings: Dict, progress: Progress) -> Dict:
    """STARFM for one planned date (:class:`common.pairs.DatePlan`, one reference pair)."""
    ref = plan.references[0]
    return run_starfm(ref.fine, ref.coarse, plan.target.coarse, out_path, StarfmParams(**settings),
                      progress=progress)
