"""Fine LST for every date of a period: choosing reference pairs, resumable per-date runs, a VRT.

The per-date work is a pure function of its inputs (paths, method, parameters):
:func:`plan_series` decides, for each target date, which reference pairs a
method uses; :func:`run_series` calls a predictor once per planned date and
writes one GeoTIFF per date, an index table and a VRT whose bands are the dates.
Memory does not grow with the number of dates: each date is read, predicted and
written on its own.
"""
import csv
import datetime as dt
import os
from typing import Callable, Iterable, List, Optional, Sequence
from dataclasses import dataclass

from osgeo import gdal

from ..common.errors import Cancelled, InputError
from ..common.progress import Progress, ensure
from ..common.raster_io import UNITS_KEY, open_raster, read_units
from ..common.pairs import DatePlan, PairRow
from .cluster import InProcess, Unit

gdal.UseExceptions()

PAIRS_KEY = "LST_FUSION_PAIRS"
"""Metadata item of series.vrt: the pairs table (absolute path) the series was made from."""


def plan_series(pairs: Sequence[PairRow], pairs_needed: int,
                targets: Optional[Iterable[dt.date]] = None, fall_back_to_one: bool = False) -> List[DatePlan]:
    """Plan each target date (default: every date with a coarse image), in date order.

    A reference is a date with both images, other than the target itself (a
    target's own fine image is never used to predict it). One-pair methods take
    the nearest reference in time (the earlier one on a tie); two-pair methods
    take the nearest before and the nearest after the target, or with
    ``fall_back_to_one`` (models that also work from one pair) the nearest one
    when the target is not bracketed.
    """
    if pairs_needed not in (1, 2):
        raise ValueError("pairs_needed must be 1 or 2")
    by_date = {p.date: p for p in pairs}
    references = sorted((p for p in pairs if p.fine and p.coarse), key=lambda p: p.date)
    wanted = sorted(set(targets)) if targets is not None else sorted(d for d, p in by_date.items() if p.coarse)
    plans = []
    for date in wanted:
        target = by_date.get(date)
        plan = DatePlan(date, target)
        others = [r for r in references if r.date != date]
        if target is None or not target.coarse:
            plan.skip_reason = "no coarse image on that date"
        elif pairs_needed == 1 or (fall_back_to_one and not _bracketed(others, date)):
            if others:
                plan.references = [min(others, key=lambda r: (abs((r.date - date).days), r.date))]
            else:
                plan.skip_reason = "no reference pair (fine and coarse image) on another date"
        else:
            before = [r for r in others if r.date < date]
            after = [r for r in others if r.date > date]
            if before and after:
                plan.references = [before[-1], after[0]]
            else:
                side = "before" if not before else "after"
                plan.skip_reason = f"no reference pair {side} this date (a two-pair method needs both)"
        plans.append(plan)
    return plans


def _bracketed(references: Sequence[PairRow], date: dt.date) -> bool:
    """True when there is a reference before and one after ``date``."""
    return any(r.date < date for r in references) and any(r.date > date for r in references)


Predictor = Callable[[DatePlan, str, Progress], None]
"""Writes the prediction for one planned date to the given path (atomically)."""


def output_name(date: dt.date) -> str:
    """File name of one date's prediction: ``lst_YYYY-MM-DD.tif``."""
    return f"lst_{date.isoformat()}.tif"


def is_complete_raster(path: str) -> bool:
    """True when ``path`` is a readable raster (a finished output of an earlier run)."""
    if not os.path.exists(path):
        return False
    try:
        open_raster(path)
    except InputError:
        return False
    return True


def run_series(plans: Sequence[DatePlan], predictor: Predictor, folder: str, overwrite: bool = False,
               progress: Optional[Progress] = None, pairs_path: Optional[str] = None, runner=None) -> dict:
    """Predict every planned date into ``folder``; skip finished dates unless ``overwrite``.

    Writes ``lst_<date>.tif`` per date, ``series.csv`` (date,prediction,status,detail) and
    ``series.vrt`` (one band per predicted date, described by its ISO date; ``pairs_path``, the
    table the series was made from, in its metadata as PAIRS).
    Returns {'predicted': [...dates], 'reused': [...], 'skipped': [(date, reason)], 'vrt': path,
    'index': path}. Each date is one unit of ``runner`` (``workflows.cluster``; default: in
    this process, in date order). Cancel stops the run, keeping the dates already written.
    """
    progress = ensure(progress)
    os.makedirs(folder, exist_ok=True)
    done, reused, skipped, rows = [], [], [], []
    runnable = [p for p in plans if not p.skipped]
    for plan in plans:
        date = plan.date
        if plan.skipped:
            skipped.append((date, plan.skip_reason))
            rows.append((date, "", "skipped", plan.skip_reason))
            progress.info(f"{date}: skipped, {plan.skip_reason}")
    todo = []
    for plan in runnable:
        date = plan.date
        out = os.path.join(folder, output_name(date))
        refs = " and ".join(r.date.isoformat() for r in plan.references)
        if not overwrite and is_complete_raster(out):
            reused.append(date)
            rows.append((date, out, "kept", f"already written; references {refs}"))
            progress.info(f"{date}: already written, kept")
        else:
            progress.info(f"{date}: predicting from {refs}")
            todo.append((date, out, f"references {refs}", Unit(date.isoformat(), predictor, (plan, out))))
    try:
        for i, _ in (runner or InProcess()).run([unit for *_, unit in todo], progress):
            date, out, detail, _ = todo[i]
            done.append(date)
            rows.append((date, out, "predicted", detail))
    except (Cancelled, InputError):
        _write_index(folder, rows)
        raise
    done.sort()
    index = _write_index(folder, rows)
    outputs = [r[1] for r in sorted(rows) if r[1]]
    vrt = build_series_vrt(outputs, [r[0] for r in sorted(rows) if r[1]], os.path.join(folder, "series.vrt"),
                           pairs_path)
    return {"predicted": done, "reused": reused, "skipped": skipped, "vrt": vrt, "index": index}


def _write_index(folder: str, rows) -> str:
    path = os.path.join(folder, "series.csv")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["date", "prediction", "status", "detail"])
        for date, out, status, detail in sorted(rows):
            writer.writerow([date.isoformat(), os.path.basename(out) if out else "", status, detail])
    return path


def build_series_vrt(paths: Sequence[str], dates: Sequence[dt.date], vrt_path: str,
                     pairs_path: Optional[str] = None) -> Optional[str]:
    """A VRT stacking one-band rasters as bands in date order, band descriptions = ISO dates,
    with the first raster's units.

    GDAL stores sources beside or below the VRT relative to it, so the series
    folder can be moved. None when there is nothing to stack.
    """
    if not paths:
        return None
    ds = gdal.BuildVRT(vrt_path, [os.path.abspath(p) for p in paths], separate=True)
    for i, date in enumerate(dates, start=1):
        ds.GetRasterBand(i).SetDescription(date.isoformat())
    ds.SetMetadataItem("DATES", ",".join(d.isoformat() for d in dates))
    if pairs_path:
        ds.SetMetadataItem(PAIRS_KEY, os.path.abspath(pairs_path))
    units = read_units(paths[0])
    if units:
        ds.SetMetadataItem(UNITS_KEY, units)
    ds = None
    return vrt_path


@dataclass
class SeriesIndex:
    """A written series: its dates and their prediction files (date order), the pairs table it came from."""

    folder: str
    dates: List[dt.date]
    paths: List[str]
    pairs_path: Optional[str]


def read_series(folder: str) -> SeriesIndex:
    """The predicted (or kept) dates of a series folder, from series.csv and series.vrt.

    InputError when the folder has no series.csv or no prediction.
    """
    index = os.path.join(folder, "series.csv")
    if not os.path.isfile(index):
        raise InputError(f"{folder} is not a fused series: it has no series.csv (write one with "
                         "'Fuse a series', lstfusion:fuseseries).")
    with open(index, newline="", encoding="utf-8") as handle:
        rows = [(dt.date.fromisoformat(r["date"]), os.path.join(folder, r["prediction"]))
                for r in csv.DictReader(handle) if r["prediction"]]
    if not rows:
        raise InputError(f"The series in {folder} has no predicted date.")
    vrt = os.path.join(folder, "series.vrt")
    pairs = open_raster(vrt).GetMetadataItem(PAIRS_KEY) if os.path.exists(vrt) else None
    return SeriesIndex(folder, [d for d, _ in rows], [p for _, p in rows], pairs or None)


def parse_date_selection(text: str, pairs: Sequence[PairRow]) -> Optional[List[dt.date]]:
    """Target dates from the user's text; None (every coarse date) when empty.

    ``2020-06-01/2020-08-31`` is a range (the dates in it that have a coarse
    image); ``2020-06-01,2020-06-09`` a list (a listed date without a coarse
    image is reported as skipped).
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        if "/" in text:
            first, last = (dt.date.fromisoformat(part.strip()) for part in text.split("/", 1))
            if last < first:
                raise InputError(f"DATES: the range {text} ends before it starts.")
            return sorted(p.date for p in pairs if p.coarse and first <= p.date <= last)
        return sorted({dt.date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()})
    except ValueError as err:
        raise InputError(f"DATES: '{text}' is neither a list of dates (YYYY-MM-DD,YYYY-MM-DD) "
                         f"nor a range (YYYY-MM-DD/YYYY-MM-DD): {err}.") from err
