"""Metric tables written as CSV or JSON, chosen by the file's extension.

Numbers keep full precision; a metric that could not be computed (NaN) is an
empty CSV cell or JSON ``null``, an infinite PSNR (identical images) is ``inf``
in CSV and the string ``"inf"`` in JSON (JSON has no infinity).
"""
import csv
import json
import math
import os
from typing import Dict, List, Sequence

from ..common.errors import InputError
from ..common.units import UNIT_SYMBOLS
from .metrics import DEFINITIONS, METRICS

TABLE_FORMATS = (".csv", ".json")


def table_format(path: str) -> str:
    """'.csv' or '.json' from the file name; InputError for anything else."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in TABLE_FORMATS:
        raise InputError(f"Table {path}: use a .csv or .json file name (got '{ext or 'no extension'}').")
    return ext


def csv_value(value) -> str:
    """A cell: floats with 10 significant digits, NaN empty, inf 'inf'."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return "inf" if math.isinf(value) else format(value, ".10g")
    return "" if value is None else str(value)


def json_value(value):
    """A JSON-safe value: NaN -> None, +-inf -> 'inf' / '-inf'."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def write_metrics_table(path: str, result: Dict[str, float], info: Dict[str, object]) -> str:
    """Write one evaluation: CSV rows ``metric,value,unit,definition`` or a JSON object
    ``{"metrics": {...}, "definitions": {...}, **info}``. Returns ``path``."""
    ext = table_format(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if ext == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["metric", "value", "unit", "definition"])
            for name in METRICS:
                _, unit, formula = DEFINITIONS[name]
                writer.writerow([name, csv_value(result[name]), metric_unit(name, result.get("UNITS")), formula])
    else:
        document = {key: json_value(value) for key, value in info.items()}
        document["metrics"] = {name: json_value(result[name]) for name in METRICS}
        document["definitions"] = {name: DEFINITIONS[name][2] for name in METRICS}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, ensure_ascii=False)
    return path


def write_rows(path: str, rows: List[Dict[str, object]], columns: Sequence[str]) -> str:
    """Write records as a CSV with ``columns`` or a JSON list of objects. Returns ``path``."""
    ext = table_format(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if ext == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([csv_value(row.get(c)) for c in columns])
    else:
        with open(path, "w", encoding="utf-8") as f:
            json.dump([{c: json_value(row.get(c)) for c in columns} for row in rows], f, indent=2,
                      ensure_ascii=False)
    return path


def metric_unit(name: str, units) -> str:
    """Unit of a metric for display: K or °C for the temperature errors, else its own unit."""
    unit = DEFINITIONS[name][1]
    if unit == "units of the images":
        return UNIT_SYMBOLS.get(units, "")
    return "" if unit == "-" else unit


def display_value(value, spec: str = ".4f") -> str:
    """A number for people: floats with ``spec``, 'n/a' for NaN, 'inf' for infinity."""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return "inf" if math.isinf(value) else format(value, spec)
    return str(value)


def text_table(result: Dict[str, float]) -> str:
    """The metrics as aligned plain-text lines ``NAME  value unit`` (for logs and the console)."""
    return "\n".join(f"{name:<13}{display_value(result[name]):>12} {metric_unit(name, result.get('UNITS'))}".rstrip()
                     for name in METRICS)
