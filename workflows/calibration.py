"""Calibrations of the uncertainty: made on held-out dates, stored, found again, and used by fuseseries.

:func:`calibrate_series` predicts dates whose fine image is known, each without
its own fine image (as ``experiment`` holds out its test dates), and scores
|fine - prediction| / raw spread over a sample of pixels, grouped by quality
code (split conformal, ``evaluation.conformal``). With cloud filling, each
calibration date is predicted a second time with the clouds of a nearby
coarse date cut out of its coarse image, so that filled pixels (which have
no fine image on real cloudy days) get scores of their own.

Where calibrations live: ``calibration.json`` in a fuseseries output folder,
``calibration_<method>.json`` in an experiment folder, and
``validation['calibration']`` inside a deep model file (train, experiment).
"""
import dataclasses
import datetime as dt
import os
import shutil
import tempfile
from typing import List, Optional, Sequence

import numpy as np

from ..common.errors import InputError
from ..common.pairs import DatePlan, PairRow, read_pairs
from ..common.progress import Progress, ensure
from ..common.raster_io import read_array, read_grid, read_units, remove_quietly, write_array
from ..evaluation.conformal import (Calibration, calibrate, calibration_from_dict, load_calibration,
                                    save_calibration, scores_of)
from .fuse_series import plan_series
from ..models.registry import get_method
from .methods import FusionMethod
from .uncertainty import UncertainPredictor, UncertaintySettings, predict_date, spread_settings, write_half_width

CALIBRATION_FILE = "calibration.json"
BORROWED_GAPS = (0.1, 0.8)
"""No-data share of a nearby coarse image whose clouds are borrowed for calibrating filled pixels."""


def calibrate_series(method: FusionMethod, pairs: Sequence[PairRow], settings: UncertaintySettings,
                     dates: Optional[Sequence] = None, progress: Optional[Progress] = None) -> Calibration:
    """Split-conformal calibration of ``method`` on fine dates of ``pairs``, each predicted without itself.

    ``dates``: the calibration dates (default: up to ``settings.calibration_dates``
    fine dates spread evenly over the series). InputError when no date can be
    predicted or too few pixels are valid.
    """
    progress = ensure(progress)
    chosen = list(dates) if dates else _spread_evenly(
        [p.date for p in pairs if p.fine and p.coarse], settings.calibration_dates)
    plans = [p for p in plan_series(pairs, method.pairs_needed(), chosen, method.falls_back_to_one_pair())
             if not p.skipped]
    if not plans:
        raise InputError("No fine date of the series can be predicted from the other pairs, so the "
                         "uncertainty cannot be calibrated: add reference pairs.")
    by_date = {p.date: p for p in pairs}
    rng = np.random.default_rng(settings.seed)
    scores, groups, used = [], [], []
    work = tempfile.mkdtemp(prefix=".lstfusion_calibration_")
    try:
        for i, plan in enumerate(plans):
            sub = progress.sub(100.0 * i / len(plans), 100.0 * (i + 1) / len(plans))
            progress.info(f"Calibration: predicting {plan.date} without its fine image.")
            truth = read_array(by_date[plan.date].fine)
            try:
                runs = [(plan, None)]
                if settings.fill_days > 0:
                    runs.append(_with_borrowed_clouds(plan, pairs, work))
                for k, (run, borrowed) in enumerate(runs):
                    if run is None:
                        continue
                    out, raw = os.path.join(work, "prediction.tif"), os.path.join(work, "spread.tif")
                    quality = predict_date(method, run, pairs, out, raw, settings.fill_days,
                                           sub.sub(100.0 * k / len(runs), 100.0 * (k + 1) / len(runs)))
                    score = scores_of(read_array(out), truth, read_array(raw))
                    if borrowed is not None:
                        score[~borrowed] = np.nan  # only the pixels made cloudy count in this run
                    ok = np.flatnonzero(np.isfinite(score.ravel()))
                    if ok.size > settings.pixels_per_date:
                        ok = np.sort(rng.choice(ok, settings.pixels_per_date, replace=False))
                    scores.append(score.ravel()[ok])
                    groups.append(quality.ravel()[ok])
            except InputError as err:  # e.g. a reference entirely cloudy: that date cannot calibrate
                progress.info(f"Calibration: {plan.date} left out: {err}")
                continue
            used.append(plan.date.isoformat())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not scores:
        raise InputError("None of the calibration dates could be predicted: the uncertainty cannot be calibrated.")
    return calibrate(np.concatenate(scores), np.concatenate(groups), method=method.label, dates=used,
                     details={"fill_days": settings.fill_days, "pixels_per_date": settings.pixels_per_date,
                              **spread_settings(method)})


def _with_borrowed_clouds(plan: DatePlan, pairs: Sequence[PairRow], folder: str, tries: int = 10):
    """(plan whose coarse target carries the cloud mask of a nearby date, that mask), or (None, None).

    The nearest coarse dates are tried in turn (up to ``tries``) for one whose
    no-data share lies between BORROWED_GAPS[0] and [1]; its gaps are cut out of
    the target's coarse image, so that calibration also scores filled pixels,
    against the fine image of the calibration date.
    """
    target = read_array(plan.target.coarse)
    others = sorted((p for p in pairs if p.coarse and p.date != plan.date),
                    key=lambda p: (abs((p.date - plan.date).days), p.date))[:tries]
    for other in others:
        gaps = ~np.isfinite(read_array(other.coarse))
        if gaps.shape == target.shape and BORROWED_GAPS[0] <= gaps.mean() <= BORROWED_GAPS[1]:
            cloudy = os.path.join(folder, "borrowed_clouds.tif")
            write_array(cloudy, np.where(gaps, np.nan, target).astype(np.float32), read_grid(plan.target.coarse),
                        units=read_units(plan.target.coarse))
            borrowed = gaps & np.isfinite(target)
            return dataclasses.replace(plan, target=dataclasses.replace(plan.target, coarse=cloudy)), borrowed
    return None, None


def _spread_evenly(dates: Sequence, count: int) -> List:
    """Up to ``count`` of the sorted ``dates``, evenly spaced, first and last included."""
    dates = sorted(dates)
    if len(dates) <= count:
        return dates
    index = np.unique(np.round(np.linspace(0, len(dates) - 1, count)).astype(int))
    return [dates[i] for i in index]


def series_predictor(method: FusionMethod, pairs: Sequence[PairRow], folder: str, uncertainty: bool,
                     settings: UncertaintySettings, calibration_path: Optional[str] = None,
                     overwrite: bool = False, progress: Optional[Progress] = None):
    """The per-date predictor of fuseseries and the calibration file it uses (None without uncertainty).

    Without ``uncertainty`` and cloud filling: ``method.predict``. With
    ``uncertainty``: the calibration is ``calibration_path`` when given, else (deep
    models) the one stored in the model file (:func:`calibrate_model_file`), else
    ``folder``/calibration.json of an earlier run of the same method and half
    window (unless ``overwrite``), else made now by :func:`calibrate_series` and
    written there.
    """
    progress = ensure(progress)
    if not uncertainty and settings.fill_days <= 0:
        return method.predict, None
    calibration = None
    if uncertainty:
        if calibration_path:
            calibration = load_calibration(calibration_path)
        elif method.name == "model":
            calibration = model_calibration(method.model_file)
            if calibration is not None:
                progress.info(f"Uncertainty calibrated on the model's held-out dates {', '.join(calibration.dates)}.")
        if calibration is None:
            calibration_path = os.path.join(folder, CALIBRATION_FILE)
            if os.path.exists(calibration_path) and not overwrite:
                calibration = load_calibration(calibration_path)
                if (calibration.method, calibration.details.get("half_window")) != (
                        method.label, spread_settings(method).get("half_window")):
                    calibration = None  # an earlier run of another method or window: calibrate anew
            if calibration is None:
                calibration = calibrate_series(method, pairs, settings, held_out_dates(method, progress),
                                               progress=progress)
                save_calibration(calibration_path, calibration)
        calibration.quantile(settings.level)  # refuse a level the calibration cannot serve, before any date
    return UncertainPredictor(method, pairs, settings, calibration), calibration_path


def held_out_dates(method: FusionMethod, progress: Progress) -> Optional[List]:
    """Calibration dates of a method: a deep model's validation dates (never trained on), else None (any)."""
    if method.name != "model":
        return None
    from ..models.deep.model_file import load_model
    dates = load_model(method.model_file).validation.get("dates") or []
    if not dates:
        progress.info("The model file names no held-out validation date: the uncertainty is calibrated on "
                      "fine dates the model may have trained on, so the intervals may be too narrow.")
        return None
    return [dt.date.fromisoformat(d) for d in dates]


def model_calibration(model_path: str) -> Optional[Calibration]:
    """The calibration stored in a model file (``validation['calibration']``), or None."""
    from ..models.deep.model_file import load_model
    stored = load_model(model_path).validation.get("calibration")
    return None if stored is None else calibration_from_dict(stored, model_path)


def calibrate_model_file(model_path: str, pairs: Sequence[PairRow], settings: UncertaintySettings,
                         device: str = "auto", progress: Optional[Progress] = None) -> Calibration:
    """Calibrate a deep model on its held-out validation dates and store it in the model file.

    The file is rewritten atomically with ``validation['calibration']``; fuse and
    fuseseries then reuse it. InputError when the file names no validation date.
    """
    method = FusionMethod("model", model_path, device=device)
    dates = held_out_dates(method, ensure(progress))
    if not dates:
        raise InputError(f"{model_path} names no held-out validation date to calibrate on: train it with a "
                         "validation fraction above 0.")
    calibration = calibrate_series(method, pairs, settings, dates, progress)
    store_in_model_file(model_path, calibration)
    return calibration


def store_in_model_file(model_path: str, calibration: Calibration) -> str:
    """Rewrite a model file (atomically) with ``validation['calibration']``; return its path."""
    from ..models.deep.model_file import load_model, save_model
    model = load_model(model_path)
    model.validation["calibration"] = calibration.to_dict()
    return save_model(model_path, model)


def write_model_uncertainty(model_path: str, inputs: dict, calibration_path: Optional[str], level: float,
                            out_path: str, device: str = "auto", tile_size: int = 512,
                            progress: Optional[Progress] = None) -> dict:
    """Calibrated half-width raster (K) of one deep-model prediction (``fuse``).

    ``inputs``: FINE_REF, COARSE_REF, COARSE_TARGET and optionally FINE_REF2,
    COARSE_REF2; the calibration is ``calibration_path`` or the model file's own.
    Returns the spread's {'passes', 'tiles'}.
    """
    from ..models.deep.spread import write_deep_spread
    calibration = load_calibration(calibration_path) if calibration_path else model_calibration(model_path)
    if calibration is None:
        raise InputError(f"{model_path} holds no calibration of its uncertainty: run 'Train a deep fusion model' "
                         "with UNCERTAINTY, or give the CALIBRATION file that 'Fuse a series' wrote.")
    calibration.quantile(level)
    raw = os.path.splitext(out_path)[0] + ".partial_spread.tif"
    try:
        cost = write_deep_spread(model_path, inputs["FINE_REF"], inputs["COARSE_REF"], inputs["COARSE_TARGET"], raw,
                                 inputs.get("FINE_REF2"), inputs.get("COARSE_REF2"), device, tile_size,
                                 progress=progress)
        write_half_width(raw, None, calibration, level, out_path)
    finally:
        remove_quietly(raw)
    return cost


def calibrate_experiment(pairs_path: str, folder: str, methods: Sequence[str], test_dates: Sequence,
                         device: str = "auto", progress: Optional[Progress] = None) -> dict:
    """Calibrate every method of an experiment on its held-out test dates; {method: calibration path}.

    Classical methods get ``folder``/calibration_<method>.json; deep models,
    trained by the experiment without the test dates' fine images, get the
    calibration in their model file ``folder``/models/<name>.pt.
    """
    progress = ensure(progress)
    pairs = read_pairs(pairs_path)
    written = {}
    for i, name in enumerate(methods):
        sub = progress.sub(100.0 * i / len(methods), 100.0 * (i + 1) / len(methods))
        if not get_method(name).trainable:
            calibration = calibrate_series(FusionMethod(name), pairs, UncertaintySettings(), test_dates, sub)
            written[name] = save_calibration(os.path.join(folder, f"calibration_{name}.json"), calibration)
        else:
            path = os.path.join(folder, "models", f"{name}.pt")
            calibration = calibrate_series(FusionMethod("model", path, device=device), pairs, UncertaintySettings(),
                                           test_dates, sub)
            written[name] = store_in_model_file(path, calibration)
    return written
