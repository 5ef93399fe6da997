"""Read a pairs table: CSV with header ``date,fine,coarse`` (one row per date).

Dates are ISO (YYYY-MM-DD); paths are absolute or relative to the CSV's
folder; ``fine`` may be empty for coarse-only dates. Other columns are ignored.
"""
import csv
import datetime
import os
from dataclasses import dataclass
from typing import List, Optional

from .errors import InputError

COLUMNS = ("date", "fine", "coarse")


@dataclass(frozen=True)
class Pair:
    """One date of a series: fine and coarse image paths (absolute; None when absent)."""

    date: datetime.date
    fine: Optional[str]
    coarse: Optional[str]


def read_pairs_table(path: str) -> List[Pair]:
    """The rows of a pairs table sorted by date; InputError naming the file and line when invalid.

    Checks: the header has date, fine and coarse; dates are ISO and unique;
    every listed file exists; every row has at least one image.
    """
    if not path or not os.path.isfile(path):
        raise InputError(f"Pairs table not found: {path}")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path} is not a readable CSV file: {err}") from err
    missing = [c for c in COLUMNS if c not in header]
    if not rows or missing:
        raise InputError(f"{path} is not a pairs table: it needs a header 'date,fine,coarse' and at "
                         f"least one row{' (missing: ' + ', '.join(missing) + ')' if rows else ''}.")
    pairs, seen = [], set()
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        try:
            date = datetime.date.fromisoformat(row["date"])
        except ValueError:
            raise InputError(f"{path}, line {line}: date '{row['date']}' is not an ISO date (YYYY-MM-DD).") from None
        if date in seen:
            raise InputError(f"{path}, line {line}: date {date} appears twice.")
        seen.add(date)
        files = {}
        for column in ("fine", "coarse"):
            value = row[column]
            if value:
                value = value if os.path.isabs(value) else os.path.normpath(os.path.join(folder, value))
                if not os.path.exists(value):
                    raise InputError(f"{path}, line {line}: {column} image not found: {value}")
            files[column] = value or None
        if not files["fine"] and not files["coarse"]:
            raise InputError(f"{path}, line {line}: the row has neither a fine nor a coarse image.")
        pairs.append(Pair(date, files["fine"], files["coarse"]))
    return sorted(pairs, key=lambda p: p.date)
