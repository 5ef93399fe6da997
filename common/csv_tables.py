"""Reading the plugin's CSV tables (pairs tables, comparison tables): one opening, one header check.

Cells are stripped, column names lower-cased, blank lines skipped; paths in cells
are relative to the table's folder unless absolute.
"""
import csv
import os
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import InputError


def read_csv_table(path: str, columns: Sequence[str], kind: str) -> List[Tuple[int, Dict[str, str]]]:
    """[(line number, {column: stripped cell})] of a CSV with at least ``columns``.

    InputError naming the file when it does not exist or when its header lacks a
    column (``kind`` names the table in messages, e.g. 'pairs table').
    """
    if not os.path.isfile(path):
        raise InputError(f"{kind.capitalize()} not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(f"{path} is not a {kind}: the header must hold the columns {','.join(columns)} "
                             f"(missing: {', '.join(missing)}).")
        reader.fieldnames = header
        rows = []
        for line, record in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in record.items() if k}
            if any(row.values()):
                rows.append((line, row))
    return rows


def resolve_path(table_path: str, value: Optional[str]) -> Optional[str]:
    """An absolute path from a table cell (relative to the table's folder); None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    folder = os.path.dirname(os.path.abspath(table_path))
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(folder, value))
