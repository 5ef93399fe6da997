"""The pairs table, the series every tool reads, and the plan of one date to predict.

A pairs table is a CSV with the header ``date,fine,coarse``: an ISO date, the
fine (Landsat) and the coarse (MODIS) raster of that date, as paths relative
to the table's folder or absolute; ``fine`` is empty on coarse-only dates.
"""
import csv
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from .csv_tables import read_csv_table, resolve_path
from .errors import InputError


@dataclass(frozen=True)
class PairRow:
    """One date of a pairs table: absolute paths; ``fine`` is None on coarse-only dates,
    ``coarse`` None on fine-only dates (usable for training with simulated coarse images)."""

    date: dt.date
    fine: Optional[str]
    coarse: Optional[str]


@dataclass
class DatePlan:
    """What to do for one target date: the references to use, or why it is skipped.

    ``target`` is the pairs-table row of the date (None when the table has no
    row for it); ``references`` is ordered by date: one pair for one-pair
    methods, the pair before and the pair after the target for two-pair methods.
    """

    date: dt.date
    target: Optional[PairRow]
    references: List[PairRow] = field(default_factory=list)
    skip_reason: Optional[str] = None

    @property
    def skipped(self) -> bool:
        """True when the date cannot be predicted."""
        return self.skip_reason is not None


def write_pairs(csv_path: str, rows: Sequence[PairRow]) -> str:
    """Write a pairs table (paths relative to its folder when possible); return ``csv_path``."""
    folder = os.path.dirname(os.path.abspath(csv_path))
    os.makedirs(folder, exist_ok=True)

    def rel(path: Optional[str]) -> str:
        if not path:
            return ""
        try:
            return os.path.relpath(os.path.abspath(path), folder).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            return os.path.abspath(path)

    tmp = csv_path + ".partial"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["date", "fine", "coarse"])
        for row in sorted(rows, key=lambda r: r.date):
            writer.writerow([row.date.isoformat(), rel(row.fine), rel(row.coarse)])
    os.replace(tmp, csv_path)
    return csv_path


def read_pairs(csv_path: str, check_files: bool = True) -> List[PairRow]:
    """Rows of a pairs table in date order, with absolute paths.

    InputError naming the table and the line for a missing column, a date
    that is not ISO (YYYY-MM-DD), a repeated date, a row with neither image,
    or (with ``check_files``) a file that does not exist; InputError for a
    table without rows.
    """
    rows, seen = [], set()
    for line, record in read_csv_table(csv_path, ("date", "fine", "coarse"), "pairs table"):
        text = record.get("date", "")
        try:
            date = dt.date.fromisoformat(text)
        except ValueError as err:
            raise InputError(f"{csv_path}, line {line}: '{text}' is not a date (YYYY-MM-DD).") from err
        if date in seen:
            raise InputError(f"{csv_path}, line {line}: the date {date} appears twice.")
        seen.add(date)
        fine = resolve_path(csv_path, record.get("fine"))
        coarse = resolve_path(csv_path, record.get("coarse"))
        if not coarse and not fine:
            raise InputError(f"{csv_path}, line {line}: {date} has neither a fine nor a coarse raster.")
        if check_files:
            for path in (fine, coarse):
                if path and not os.path.exists(path):
                    raise InputError(f"{csv_path}, line {line}: file not found: {path}")
        rows.append(PairRow(date, fine, coarse))
    if not rows:
        raise InputError(f"{csv_path} has a header but no rows: it lists no date to work on. Add one line "
                         "per date (date,fine,coarse), e.g. with 'Build LST series from downloads' "
                         "(lstfusion:buildseries).")
    return sorted(rows, key=lambda r: r.date)

