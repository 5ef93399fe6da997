"""Comparison of several fusion methods over several dates, as the survey reports it.

Input: a CSV with the header ``method,date,prediction,reference`` (paths relative
to the CSV or absolute; an optional ``coarse`` column gives a coarse raster from
which the ERGAS ratio of that row is derived). Output: the metrics of every row,
per method the mean and sample standard deviation (n - 1) of each metric over its
dates, and the "hard" dates where every method does badly.

Hard dates (the survey's dates of strong spatio-temporal variability): with
``hard_rmse`` given, the dates where even the best method's RMSE exceeds it;
otherwise, with at least three dates, the dates whose best RMSE exceeds the mean
of the per-date best RMSEs by more than one standard deviation of them.
"""
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..common.csv_tables import read_csv_table, resolve_path
from ..common.errors import InputError
from .metrics import METRICS, compute_metrics, resolution_ratio
from ..common.progress import Progress, ensure

COLUMNS = ("method", "date", "prediction", "reference")


@dataclass(frozen=True)
class Entry:
    """One row of a comparison table: a method's prediction of a date and its reference."""

    method: str
    date: str
    prediction: str
    reference: str
    coarse: Optional[str] = None


def read_comparison_table(path: str) -> List[Entry]:
    """Read and check a ``method,date,prediction,reference[,coarse]`` CSV.

    InputError naming the row for a missing column, an empty cell, a missing file
    or a repeated (method, date).
    """
    entries, seen = [], set()
    for line, row in read_csv_table(path, COLUMNS, "comparison table"):
        empty = [c for c in COLUMNS if not row.get(c)]
        if empty:
            raise InputError(f"{path}, line {line}: empty {', '.join(empty)}.")
        paths = {}
        for column in ("prediction", "reference", "coarse"):
            full = resolve_path(path, row.get(column))
            if full:
                if not os.path.exists(full):
                    raise InputError(f"{path}, line {line}: {column} file not found: {full}")
                paths[column] = full
        key = (row["method"], row["date"])
        if key in seen:
            raise InputError(f"{path}, line {line}: method '{key[0]}' appears twice for date {key[1]}.")
        seen.add(key)
        entries.append(Entry(row["method"], row["date"], paths["prediction"], paths["reference"],
                             paths.get("coarse")))
    if not entries:
        raise InputError(f"{path} lists no prediction.")
    return entries


def evaluate_entries(entries: Sequence[Entry], data_range: Optional[float] = None,
                     ergas_ratio: Optional[float] = None,
                     progress: Optional[Progress] = None) -> Tuple[List[Dict[str, object]], Optional[str]]:
    """Metrics of every entry: (records with method, date and the metrics, common units).

    The ERGAS ratio of a row is ``ergas_ratio`` when given, else derived from its
    coarse raster; InputError when neither is available or the units differ
    between rows.
    """
    progress = ensure(progress)
    records, units = [], set()
    for i, entry in enumerate(entries):
        ratio = ergas_ratio
        if ratio is None:
            if not entry.coarse:
                raise InputError(
                    f"ERGAS needs the resolution ratio h / l: give RATIO (e.g. 30 / 1000 = 0.03 for "
                    f"Landsat / MODIS) or a 'coarse' column (row {entry.method}, {entry.date} has none).")
            ratio = resolution_ratio(entry.prediction, entry.coarse)
        progress.info(f"{entry.method}, {entry.date}: {os.path.basename(entry.prediction)}")
        result = compute_metrics(entry.prediction, entry.reference, data_range=data_range,
                                 ergas_ratio=ratio, progress=progress.sub(100 * i / len(entries),
                                                                          100 * (i + 1) / len(entries)))
        if result["UNITS"]:
            units.add(result["UNITS"])
        records.append({"method": entry.method, "date": entry.date, **{m: result[m] for m in METRICS},
                        "prediction": entry.prediction, "reference": entry.reference})
    if len(units) > 1:
        raise InputError("The table mixes Kelvin and Celsius rasters: metrics such as SAM, ERGAS and "
                         "PSNR would not compare. Convert them to one unit first.")
    return records, (units.pop() if units else None)


def summarise(records: Sequence[Dict[str, object]]) -> List[Dict[str, object]]:
    """Per method (in first-seen order): 'dates' and '<METRIC>_mean', '<METRIC>_std' over its dates.

    NaN values (a metric that could not be computed) are left out of the mean;
    the standard deviation of a single date is NaN.
    """
    methods = list(dict.fromkeys(r["method"] for r in records))
    summary = []
    for method in methods:
        rows = [r for r in records if r["method"] == method]
        item = {"method": method, "dates": len(rows)}
        for name in METRICS:
            values = np.array([float(r[name]) for r in rows])
            values = values[~np.isnan(values)]
            item[name + "_mean"] = float(values.mean()) if values.size else math.nan
            item[name + "_std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
        summary.append(item)
    return summary


def hard_dates(records: Sequence[Dict[str, object]],
               hard_rmse: Optional[float] = None) -> Tuple[List[str], str]:
    """(dates where every method does badly, sorted; the rule used, in words)."""
    best: Dict[str, float] = {}
    for r in records:
        best[r["date"]] = min(best.get(r["date"], math.inf), float(r["RMSE"]))
    if hard_rmse is not None:
        rule = f"the best method's RMSE on the date exceeds {hard_rmse:g}."
        return sorted(d for d, v in best.items() if v > hard_rmse), rule
    if len(best) < 3:
        return [], ("the best method's RMSE on the date exceeds the mean of the per-date best RMSEs "
                    "by more than one standard deviation (needs at least 3 dates; give a threshold "
                    "for fewer).")
    values = np.array(list(best.values()))
    limit = float(values.mean() + values.std())
    rule = (f"the best method's RMSE on the date exceeds the mean + 1 standard deviation of the "
            f"per-date best RMSEs ({values.mean():.3g} + {values.std():.3g} = {limit:.3g}).")
    return sorted(d for d, v in best.items() if v > limit), rule


def best_method(summary: Sequence[Dict[str, object]]) -> str:
    """The method with the lowest mean RMSE."""
    return min(summary, key=lambda s: s["RMSE_mean"])["method"]


SUMMARY_COLUMNS = ["method", "dates"] + [f"{m}_{s}" for m in METRICS if m != "VALID_PIXELS"
                                         for s in ("mean", "std")]
PER_DATE_COLUMNS = ["date", "method"] + list(METRICS) + ["prediction", "reference"]


@dataclass
class ComparisonResult:
    """What :func:`compare_entries` computed and wrote (paths of the tables and the report)."""

    records: List[Dict[str, object]]
    summary: List[Dict[str, object]]
    hard: List[str]
    best: str
    table: str
    per_date: str
    report: str


def compare_entries(entries: Sequence[Entry], table: str, per_date: str, report: str,
                    data_range: Optional[float] = None, ergas_ratio: Optional[float] = None,
                    hard_rmse: Optional[float] = None, progress: Optional[Progress] = None,
                    title: str = "Comparison of LST fusion methods") -> ComparisonResult:
    """Evaluate every entry, then write the per-method table, the per-date table and the HTML report."""
    from .report import write_comparison_report  # matplotlib: loaded when needed only
    from .tables import write_rows

    records, units = evaluate_entries(entries, data_range, ergas_ratio, ensure(progress).sub(0, 90))
    records.sort(key=lambda r: (r["date"], r["method"]))
    summary = summarise(records)
    hard, rule = hard_dates(records, hard_rmse)
    return ComparisonResult(records, summary, hard, best_method(summary),
                            write_rows(table, summary, SUMMARY_COLUMNS),
                            write_rows(per_date, records, PER_DATE_COLUMNS),
                            write_comparison_report(report, records, summary, hard, rule, units, title))
