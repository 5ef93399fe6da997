"""Calibrated per-pixel uncertainty and cloud-aware prediction of one date, for fuseseries, starfm, estarfm.

For a planned date, :func:`predict_date` fills the coarse target's gaps from
the coarse series (``cloud_fill``, when ``fill_days`` > 0), predicts with the
method, and writes the raw spread (the method's own, see
``models.classical.spread`` and ``models.deep.spread``, combined with the fill
spread as ``sqrt(raw^2 + fill^2)``) and the quality codes. With a calibration
(``calibration``, split conformal) the interval written is ``prediction +- q x
spread``: it covers the truth with the stated probability on dates
exchangeable with the calibration dates.
"""
import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..common.errors import InputError
from ..common.pairs import DatePlan, PairRow
from ..common.progress import Progress, ensure
from ..common.raster_io import RasterWriter, open_raster, read_array, read_band, read_grid, remove_quietly
from ..evaluation.conformal import Calibration
from .cloud_fill import NOT_PREDICTED, OBSERVED, fill_coarse_target, write_quality
from .methods import FusionMethod

LAYER_KEY = "LST_FUSION_LAYER"


@dataclass
class UncertaintySettings:
    """What to add to each prediction.

    ``level``: central interval level (0.5-0.99); ``fill_days``: temporal fill
    limit in days (0: no cloud filling); ``calibration_dates``: at most this many
    fine dates are predicted for calibration; ``pixels_per_date``: scores kept per
    calibration date (a fixed random sample, so that dates weigh alike: errors vary
    more between dates than between the pixels of one date); ``seed`` of that sample.
    """

    level: float = 0.9
    fill_days: int = 0
    calibration_dates: int = 12
    pixels_per_date: int = 2000
    seed: int = 0


def sidecar_paths(prediction_path: str):
    """(``<name>_uncertainty.tif``, ``<name>_quality.tif``) beside a prediction ``<name>.tif``."""
    stem = os.path.splitext(prediction_path)[0]
    return stem + "_uncertainty.tif", stem + "_quality.tif"


def method_spread(method: FusionMethod, plan: DatePlan, coarse_target: str, out_path: str,
                  progress: Optional[Progress] = None) -> str:
    """Raw spread raster (K) of ``method``'s prediction for ``plan`` (see ``models.*.spread``)."""
    refs = plan.references
    if method.name == "model":
        from ..models.deep.spread import write_deep_spread
        second = refs[1] if len(refs) == 2 else None
        write_deep_spread(method.model_file, refs[0].fine, refs[0].coarse, coarse_target, out_path,
                          second.fine if second else None, second.coarse if second else None,
                          device=method.device, progress=progress)
        return out_path
    from ..models.classical.spread import write_spread
    params = _classical_params(method)
    paths = {}
    for i, ref in enumerate(refs):
        suffix = "" if i == 0 else str(i + 1)
        paths[f"FINE_REF{suffix}"], paths[f"COARSE_REF{suffix}"] = ref.fine, ref.coarse
    paths["COARSE_TARGET"] = coarse_target
    return write_spread(paths, out_path, params.half_window, params.tile_size, progress)


def _classical_params(method: FusionMethod):
    """StarfmParams or EstarfmParams of a classical method's settings."""
    if method.name == "starfm":
        from ..models.classical.starfm import StarfmParams as Params
    else:
        from ..models.classical.estarfm import EstarfmParams as Params
    return Params(**method.settings)


def spread_settings(method: FusionMethod) -> dict:
    """The settings a classical raw spread depends on ({} for deep models), kept with a calibration."""
    if method.name == "model":
        return {}
    return {"half_window": _classical_params(method).half_window}


def predict_date(method: FusionMethod, plan: DatePlan, pairs: Sequence[PairRow], out_path: str,
                 spread_path: Optional[str], fill_days: int, progress: Optional[Progress] = None) -> np.ndarray:
    """Predict ``plan`` into ``out_path`` and its combined raw spread (K) into ``spread_path`` (None: no spread).

    With ``fill_days`` > 0 the coarse target's gaps are filled first. Returns
    the (rows, cols) uint8 quality codes (NOT_PREDICTED where the prediction is
    no-data). Combining the spreads holds a few whole-scene arrays (about 20
    bytes per pixel).
    """
    progress = ensure(progress)
    target = plan.target.coarse
    work = tempfile.mkdtemp(prefix=".lstfusion_", dir=os.path.dirname(os.path.abspath(out_path)))
    try:
        fill_spread = None
        if fill_days > 0:
            filled = os.path.join(work, "coarse_target.tif")
            series = [(p.date, p.coarse) for p in pairs if p.coarse]
            quality, fill_spread = fill_coarse_target(target, plan.date, series, filled, fill_days,
                                                      progress.sub(0, 10))
            target = filled
            plan = dataclasses.replace(plan, target=dataclasses.replace(plan.target, coarse=filled))
        method.predict(plan, out_path, progress.sub(10, 80 if spread_path else 100))
        predicted = np.isfinite(read_array(out_path))
        if fill_spread is None:
            quality = np.full(predicted.shape, OBSERVED, np.uint8)
        quality[~predicted] = NOT_PREDICTED
        if spread_path:
            raw = os.path.join(work, "spread.tif")
            method_spread(method, plan, target, raw, progress.sub(80, 100))
            spread = read_array(raw).astype(np.float64)
            if fill_spread is not None:
                spread = np.hypot(spread, fill_spread)
            spread[~predicted] = np.nan
            with RasterWriter(spread_path, read_grid(out_path), metadata={LAYER_KEY: "raw spread (K)"}) as writer:
                writer.write(spread)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return quality


def write_half_width(spread_path: str, quality: Optional[np.ndarray], calibration: Calibration,
                     level: float, out_path: str, rows_per_block: int = 256) -> str:
    """Interval half-width raster (Float32, K): q(level, quality code) x raw spread, by row blocks."""
    grid = read_grid(spread_path)
    ds = open_raster(spread_path)
    metadata = {LAYER_KEY: "uncertainty", "INTERVAL_LEVEL": f"{level:g}",
                "MEANING": f"half-width (K) of the central {100 * level:g} % interval around the prediction",
                "CALIBRATION_DATES": ",".join(calibration.dates)}
    with RasterWriter(out_path, grid, metadata=metadata) as writer:
        for row in range(0, grid.height, rows_per_block):
            n = min(rows_per_block, grid.height - row)
            spread = read_band(ds, 1, (row, 0, n, grid.width))
            codes = None if quality is None else quality[row:row + n]
            writer.write(calibration.half_width(spread, level, codes), row, 0)
    return out_path


class UncertainPredictor:
    """A ``run_series`` predictor that also writes ``<name>_uncertainty.tif`` and ``<name>_quality.tif``.

    The prediction itself is written last, so a date whose prediction exists is complete.
    """

    def __init__(self, method: FusionMethod, pairs: Sequence[PairRow], settings: UncertaintySettings,
                 calibration: Optional[Calibration]):
        self.method, self.pairs, self.settings, self.calibration = method, pairs, settings, calibration

    def __call__(self, plan: DatePlan, out_path: str, progress: Progress) -> None:
        uncertainty, quality_path = sidecar_paths(out_path)
        stem = os.path.splitext(out_path)[0]
        prediction, raw = stem + ".partial_prediction.tif", stem + ".partial_spread.tif"
        try:
            quality = predict_date(self.method, plan, self.pairs, prediction,
                                   raw if self.calibration is not None else None, self.settings.fill_days, progress)
            write_quality(quality_path, quality, read_grid(prediction))
            if self.calibration is not None:
                write_half_width(raw, quality, self.calibration, self.settings.level, uncertainty)
            os.replace(prediction, out_path)
        finally:
            remove_quietly(prediction)
            remove_quietly(raw)


def write_prediction_uncertainty(paths: dict, half_window: int, tile_size: int, calibration_path: str,
                                 level: float, out_path: str, progress: Optional[Progress] = None) -> str:
    """Calibrated half-width raster (K) of one classical prediction (starfm, estarfm) from its inputs.

    ``paths``: the method's inputs in kernel order; ``calibration_path``: a
    calibration.json from fuseseries. No cloud filling here: every pixel counts as observed.
    """
    from ..evaluation.conformal import load_calibration
    from ..models.classical.spread import write_spread
    calibration = load_calibration(calibration_path)
    calibration.quantile(level)
    calibrated = calibration.details.get("half_window", half_window)
    if calibrated != half_window:
        raise InputError(f"{calibration_path} was calibrated with a half window of {calibrated} pixels, this "
                         f"run uses {half_window}: use the same half window, or calibrate with it.")
    raw = os.path.splitext(out_path)[0] + ".partial_spread.tif"
    try:
        write_spread(paths, raw, half_window, tile_size, progress)
        return write_half_width(raw, None, calibration, level, out_path)
    finally:
        remove_quietly(raw)
