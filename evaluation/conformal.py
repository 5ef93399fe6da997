"""Split-conformal prediction intervals with a locally scaled score, and their evaluation.

A fusion method gives, for each pixel, a prediction P and a raw spread s > 0
(K; how much its own ingredients disagree there). On calibration data with a
known truth Y the score of a pixel is ``|Y - P| / s``. For a level 1 - alpha
and n calibration scores, the conformal quantile is the k-th smallest score
with ``k = ceil((n + 1)(1 - alpha))`` (the finite-sample correction; no
quantile exists when k > n). On a new date the interval is ``P +- q s``: if
the new pixel and the calibration pixels are exchangeable (in practice: the
new date is like the calibration dates), it covers the truth with probability
at least 1 - alpha, without any Gaussian assumption.

Scores are grouped by a small integer code (the quality codes of a cloud-aware
series: observed, temporally filled, spatially filled coarse value); each
group with enough scores gets its own quantile (Mondrian conformal
prediction), the others use the quantile of all scores pooled.

A :class:`Calibration` stores the quantiles for the levels of ``LEVELS``
(0.50 to 0.99 by 0.01); a level in between is served by the next stored level
up (a wider, still valid interval). It is saved as a small JSON file.
"""
import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from ..common.errors import InputError

FORMAT = "lst_fusion_calibration"
FORMAT_VERSION = 1
LEVELS = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))
"""Interval levels (central coverage) for which a calibration keeps a quantile."""
DEFAULT_LEVEL = 0.9
MIN_GROUP_SCORES = 200
"""A group needs at least this many scores for its own quantiles (else the pooled ones serve)."""
POOLED = "all"


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The k-th smallest of n finite scores, k = ceil((n + 1) level); inf when k > n (too few scores)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    scores = scores[np.isfinite(scores)]
    if not 0.0 < level < 1.0:
        raise InputError(f"The interval level must be between 0 and 1 (exclusive), not {level}.")
    n = scores.size
    k = math.ceil((n + 1) * level - 1e-9)
    if k > n or n == 0:
        return math.inf
    return float(np.partition(scores, k - 1)[k - 1])


def scores_of(prediction: np.ndarray, truth: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Locally scaled scores |truth - prediction| / spread (K / K); NaN where any input is missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(np.asarray(truth, np.float64) - prediction) / spread
    out[~(np.asarray(spread) > 0)] = np.nan
    return out


@dataclass
class Calibration:
    """Conformal quantiles of the scaled score, per group and pooled.

    ``quantiles[group][i]`` is the quantile for ``LEVELS[i]`` (group ``POOLED``
    = every score); ``counts[group]`` the number of scores; ``method``,
    ``dates`` (ISO) and ``details`` say where the scores came from.
    """

    quantiles: Dict[str, list]
    counts: Dict[str, int]
    method: str = ""
    dates: list = field(default_factory=list)
    details: Dict = field(default_factory=dict)

    def quantile(self, level: float, group: Optional[int] = None) -> float:
        """The score quantile for ``level`` (rounded up to a stored level) in ``group`` (or pooled)."""
        index = level_index(level)
        key = POOLED if group is None else str(int(group))
        if key not in self.quantiles:
            key = POOLED
        value = self.quantiles[key][index]
        if value is None or not math.isfinite(value):
            raise InputError(f"The calibration ({self.counts.get(POOLED, 0)} scores) is too small for a "
                             f"{LEVELS[index]:.2f} interval: calibrate on more dates or pixels.")
        return float(value)

    def half_width(self, spread: np.ndarray, level: float, groups: Optional[np.ndarray] = None) -> np.ndarray:
        """Half-width (K) of the central ``level`` interval: q(level, group) x spread, NaN where spread is."""
        spread = np.asarray(spread, dtype=np.float64)
        if groups is None:
            return self.quantile(level) * spread
        out = np.full(spread.shape, np.nan)
        groups = np.asarray(groups)
        for code in np.unique(groups):
            chosen = groups == code
            out[chosen] = self.quantile(level, int(code)) * spread[chosen]
        return out

    def to_dict(self) -> Dict:
        """Plain JSON-ready dict (also stored inside deep model files)."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "levels": list(LEVELS),
                "score": "|truth - prediction| / raw spread", "method": self.method,
                "dates": list(self.dates), "counts": dict(self.counts),
                "quantiles": {k: [None if not math.isfinite(v) else v for v in q]
                              for k, q in self.quantiles.items()},
                "details": dict(self.details)}


def level_index(level: float) -> int:
    """Index in ``LEVELS`` of the smallest stored level >= ``level``; InputError outside 0.5-0.99."""
    if not LEVELS[0] - 1e-9 <= level <= LEVELS[-1] + 1e-9:
        raise InputError(f"The interval level must be between {LEVELS[0]} and {LEVELS[-1]}, not {level}.")
    return next(i for i, stored in enumerate(LEVELS) if stored >= level - 1e-9)


def calibrate(scores: np.ndarray, groups: Optional[np.ndarray] = None, method: str = "",
              dates: Sequence[str] = (), details: Optional[Dict] = None) -> Calibration:
    """A :class:`Calibration` from 1-D scores (NaN ignored) and their integer group codes.

    InputError when there are too few scores for a 0.5 interval.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    keep = np.isfinite(scores)
    if groups is not None:
        groups = np.asarray(groups).ravel()[keep]
    scores = scores[keep]
    if scores.size < 2:
        raise InputError("Not enough calibration pixels (prediction, truth and spread valid together): "
                         "check that the calibration dates have fine images that overlap the predictions.")
    quantiles = {POOLED: _quantiles(scores)}
    counts = {POOLED: int(scores.size)}
    if groups is not None:
        for code in np.unique(groups):
            chosen = scores[groups == code]
            counts[str(int(code))] = int(chosen.size)
            if chosen.size >= MIN_GROUP_SCORES:
                quantiles[str(int(code))] = _quantiles(chosen)
    return Calibration(quantiles, counts, method, list(dates), dict(details or {}))


def _quantiles(scores: np.ndarray) -> list:
    """Conformal quantiles of sorted-once scores for every level of ``LEVELS``."""
    ordered = np.sort(scores)
    n = ordered.size
    out = []
    for level in LEVELS:
        k = math.ceil((n + 1) * level - 1e-9)
        out.append(float(ordered[k - 1]) if k <= n else math.inf)
    return out


def calibration_from_dict(data: Dict, where: str) -> Calibration:
    """A :class:`Calibration` from :meth:`Calibration.to_dict`'s form; InputError naming ``where`` if not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{where} is not a calibration of this plugin (written by fuseseries, "
                         "experiment or train with uncertainty).")
    if data.get("version", 0) > FORMAT_VERSION or list(data.get("levels", [])) != list(LEVELS):
        raise InputError(f"{where} was written by a newer version of the plugin: update the plugin.")
    quantiles = {k: [math.inf if v is None else float(v) for v in q] for k, q in data["quantiles"].items()}
    return Calibration(quantiles, {k: int(v) for k, v in data["counts"].items()}, data.get("method", ""),
                       list(data.get("dates", [])), dict(data.get("details", {})))


def save_calibration(path: str, calibration: Calibration) -> str:
    """Write the calibration as JSON atomically; return ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(calibration.to_dict(), handle, indent=1)
    os.replace(tmp, path)
    return path


def load_calibration(path: str) -> Calibration:
    """Read a calibration file; InputError when it is missing or not one."""
    if not path or not os.path.isfile(path):
        raise InputError(f"Calibration file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as err:
        raise InputError(f"{path} is not a readable calibration file: {err}") from err
    return calibration_from_dict(data, path)


def interval_scores(prediction: np.ndarray, truth: np.ndarray, half_width: np.ndarray) -> Dict[str, float]:
    """Empirical coverage (share of pixels with |truth - prediction| <= half-width) and mean half-width (K).

    Over pixels where all three are finite; {'coverage', 'mean_half_width', 'mean_width' (2 x),
    'pixels'}; NaN values when there is no such pixel.
    """
    p, t, w = (np.asarray(a, np.float64) for a in (prediction, truth, half_width))
    ok = np.isfinite(p) & np.isfinite(t) & np.isfinite(w)
    if not ok.any():
        return {"coverage": math.nan, "mean_half_width": math.nan, "mean_width": math.nan, "pixels": 0}
    covered = np.abs(t[ok] - p[ok]) <= w[ok]
    mean = float(w[ok].mean())
    return {"coverage": float(covered.mean()), "mean_half_width": mean, "mean_width": 2.0 * mean,
            "pixels": int(ok.sum())}


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    """Spearman rank correlation of two samples (average ranks for ties), over pairs finite in both."""
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return math.nan
    rx, ry = _ranks(x[ok]), _ranks(y[ok])
    rx -= rx.mean()
    ry -= ry.mean()
    denominator = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denominator) if denominator > 0 else math.nan


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
    ends = np.r_[starts[1:], ordered.size]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def interval_scores_files(prediction: str, reference: str, half_width: str, mask: Optional[str] = None,
                          band: int = 1, rows_per_block: int = 256) -> Dict[str, float]:
    """:func:`interval_scores` of rasters on one grid, streamed by row blocks.

    ``half_width``: an uncertainty raster (K); ``mask``: optional raster, 0 and
    no-data left out. InputError for rasters on different grids.
    """
    from ..common.grid import require_same_grid
    from ..common.raster_io import open_raster, read_band, read_grid
    paths = {"PREDICTION": prediction, "REFERENCE": reference, "UNCERTAINTY": half_width}
    if mask:
        paths["MASK"] = mask
    grid = require_same_grid({f"{k} ({v})": read_grid(v) for k, v in paths.items()})
    datasets = {k: open_raster(v) for k, v in paths.items()}
    covered, total, width = 0, 0, 0.0
    for row in range(0, grid.height, rows_per_block):
        window = (row, 0, min(rows_per_block, grid.height - row), grid.width)
        p = read_band(datasets["PREDICTION"], band, window).astype(np.float64)
        t = read_band(datasets["REFERENCE"], band, window).astype(np.float64)
        w = read_band(datasets["UNCERTAINTY"], 1, window).astype(np.float64)
        ok = np.isfinite(p) & np.isfinite(t) & np.isfinite(w)
        if mask:
            m = read_band(datasets["MASK"], 1, window)
            ok &= np.isfinite(m) & (m != 0)
        covered += int((np.abs(t[ok] - p[ok]) <= w[ok]).sum())
        total += int(ok.sum())
        width += float(w[ok].sum())
    if total == 0:
        raise InputError("No pixel is valid in the prediction, the reference and the uncertainty at once.")
    return {"coverage": covered / total, "mean_half_width": width / total, "mean_width": 2.0 * width / total,
            "pixels": total}
