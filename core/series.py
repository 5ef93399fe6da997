"""Dates of downloaded products, discovery of scenes in folders, and the pairs table.

Dates come from file names: a Landsat product id (``LC08_L2SP_PPPRRR_YYYYMMDD_
YYYYMMDD_CC_TX``: the first date is the acquisition), a MODIS id
(``MOD11A1.AYYYYDDD...``: year and day of year; AppEEARS names carry
``doyYYYYDDD``), or one ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD`` in the name.

A pairs table is a CSV with the header ``date,fine,coarse``: an ISO date, the
fine (Landsat) and the coarse (MODIS) raster of that date, as paths relative
to the table's folder or absolute; ``fine`` is empty on coarse-only dates.
"""
import csv
import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from osgeo import gdal

from .errors import InputError

_LANDSAT_ID = re.compile(r"L[COTE]0\d_L[12][A-Z0-9]{2}_\d{6}_(\d{4})(\d{2})(\d{2})_\d{8}_\d{2}_", re.IGNORECASE)
_MODIS_ID = re.compile(r"M[OY]D\d{2}[A-Z0-9]{1,4}\.A(\d{4})(\d{3})", re.IGNORECASE)
_DOY = re.compile(r"doy(\d{4})(\d{3})", re.IGNORECASE)
_YMD = re.compile(r"(?<!\d)(\d{4})([-_]?)(\d{2})\2(\d{2})(?!\d)")
_RASTER_EXT = (".tif", ".tiff", ".hdf")
_ARCHIVE_EXT = (".tar", ".tar.gz", ".tgz", ".zip")
_THERMAL = re.compile(r"_ST_B(10|6)\.tiff?$", re.IGNORECASE)
_COMPANION = re.compile(r"QC_(Day|Night)|_view_|Emis_|Clear_(day|night)_cov|_QA_PIXEL|_ST_QA|_SR_B\d|"
                        r"_QA_RADSAT|_QA_AEROSOL|_ST_(TRAD|URAD|DRAD|ATRAN|EMIS|EMSD|CDIST|B11)", re.IGNORECASE)

_LOOKS_LANDSAT = re.compile(r"landsat|(^|[^A-Z0-9])L[COTE]0\d_L", re.IGNORECASE)
_LOOKS_MODIS = re.compile(r"modis|M[OY]D\d\d", re.IGNORECASE)

DATE_FORMATS = ("LC08_L2SP_PPPRRR_YYYYMMDD_...", "MOD11A1.AYYYYDDD...", "YYYYMMDD", "YYYY-MM-DD")


@dataclass(frozen=True)
class PairRow:
    """One date of a pairs table: absolute paths; ``fine`` is None on coarse-only dates,
    ``coarse`` None on fine-only dates (usable for training with simulated coarse images)."""

    date: dt.date
    fine: Optional[str]
    coarse: Optional[str]


def parse_date(path: str) -> dt.date:
    """The acquisition date in a product's file name; InputError naming the file when none parses."""
    name = os.path.basename(path.rstrip("/\\"))
    match = _LANDSAT_ID.search(name)
    if match:
        return _ymd(name, *match.groups())
    match = _MODIS_ID.search(name) or _DOY.search(name)
    if match:
        year, doy = int(match.group(1)), int(match.group(2))
        days = 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365
        if not 1 <= doy <= days:
            raise InputError(f"{path}: day of year {doy} does not exist in {year}.")
        return dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
    found = set()
    for match in _YMD.finditer(name):
        try:
            found.add(dt.date(int(match.group(1)), int(match.group(3)), int(match.group(4))))
        except ValueError:
            continue
    if len(found) == 1:
        return found.pop()
    if len(found) > 1:
        listed = ", ".join(str(d) for d in sorted(found))
        raise InputError(f"{path}: the file name holds several dates ({listed}); rename it so that "
                         "it holds only the acquisition date.")
    raise InputError(f"Cannot find an acquisition date in the file name {path}: expected a Landsat "
                     f"product id, a MODIS id or a date ({', '.join(DATE_FORMATS)}).")


def _ymd(name: str, year: str, month: str, day: str) -> dt.date:
    """A date from strings; InputError naming the file when it does not exist."""
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as err:
        raise InputError(f"{name}: {year}-{month}-{day} is not a valid date.") from err


def _raster_files(folder: str) -> Tuple[List[str], List[str]]:
    """(raster files, archives) under ``folder`` (recursively), sorted."""
    if not folder or not os.path.isdir(folder):
        raise InputError(f"Folder not found: {folder}")
    rasters, archives = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            lower = name.lower()
            if lower.endswith(_RASTER_EXT) and not name.startswith("."):
                rasters.append(os.path.join(root, name))
            elif lower.endswith(_ARCHIVE_EXT):
                archives.append(os.path.join(root, name))
    return rasters, archives


def find_landsat(folder: str) -> Tuple[List[Tuple[dt.date, str]], List[str]]:
    """Landsat scenes under ``folder``: ([(date, thermal band or LST file)], archives not usable).

    Thermal bands (``*_ST_B10.TIF``, ``*_ST_B6.TIF``; also inside .tar / .zip scene
    archives, read in place) when there are any, else
    every GeoTIFF that is not a companion band (QA_PIXEL, SR_B*...) and whose
    name does not say MODIS (so both folders may be the same one).
    """
    rasters, archives = _raster_files(folder)
    tifs = [p for p in rasters if not p.lower().endswith(".hdf")
            and not _LOOKS_MODIS.search(os.path.basename(p))]
    unread = []
    for archive in archives:
        inside = archive_thermal_bands(archive)
        tifs += inside
        if not inside:
            unread.append(archive)
    thermal = [p for p in tifs if _THERMAL.search(os.path.basename(p))]
    chosen = thermal or [p for p in tifs if not _COMPANION.search(os.path.basename(p))]
    return sorted((parse_date(p), p) for p in chosen), unread


def archive_thermal_bands(archive: str) -> List[str]:
    """GDAL paths (/vsitar/..., /vsizip/...) of the ST_B10 / ST_B6 bands inside a scene archive.

    Scenes downloaded as .tar (USGS) are read in place, without extracting them.
    """
    prefix = "/vsizip/" if archive.lower().endswith(".zip") else "/vsitar/"
    root = prefix + os.path.abspath(archive)
    members = gdal.ReadDirRecursive(root) or []
    return sorted(f"{root}/{m}" for m in members if _THERMAL.search(os.path.basename(m)))


def find_modis(folder: str) -> Tuple[List[Tuple[dt.date, str]], List[str]]:
    """MODIS granules (.hdf) and LST GeoTIFF exports under ``folder``: ([(date, path)], archives).

    QC and other companion layers are left out (they are found from their LST
    file), and so are files whose name says Landsat (both folders may be the same one).
    """
    rasters, archives = _raster_files(folder)
    chosen = [p for p in rasters if not _COMPANION.search(os.path.basename(p))
              and not _LOOKS_LANDSAT.search(os.path.basename(p))]
    return sorted((parse_date(p), p) for p in chosen), archives


def group_by_date(items: Sequence[Tuple[dt.date, str]]) -> Dict[dt.date, List[str]]:
    """{date: [paths]} in date order."""
    groups: Dict[dt.date, List[str]] = {}
    for date, path in sorted(items):
        groups.setdefault(date, []).append(path)
    return groups


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
    or (with ``check_files``) a file that does not exist.
    """
    if not os.path.isfile(csv_path):
        raise InputError(f"Pairs table not found: {csv_path}")
    folder = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
        missing = [c for c in ("date", "fine", "coarse") if c not in columns]
        if missing:
            raise InputError(f"{csv_path} is not a pairs table: the header must be 'date,fine,coarse' "
                             f"(missing {', '.join(missing)}).")
        reader.fieldnames = columns
        rows, seen = [], set()
        for line, record in enumerate(reader, start=2):
            text = (record.get("date") or "").strip()
            try:
                date = dt.date.fromisoformat(text)
            except ValueError as err:
                raise InputError(f"{csv_path}, line {line}: '{text}' is not a date (YYYY-MM-DD).") from err
            if date in seen:
                raise InputError(f"{csv_path}, line {line}: the date {date} appears twice.")
            seen.add(date)
            fine = _resolve(folder, record.get("fine"))
            coarse = _resolve(folder, record.get("coarse"))
            if not coarse and not fine:
                raise InputError(f"{csv_path}, line {line}: {date} has neither a fine nor a coarse raster.")
            if check_files:
                for path in (fine, coarse):
                    if path and not os.path.exists(path):
                        raise InputError(f"{csv_path}, line {line}: file not found: {path}")
            rows.append(PairRow(date, fine, coarse))
    return sorted(rows, key=lambda r: r.date)


def _resolve(folder: str, value: Optional[str]) -> Optional[str]:
    """An absolute path from a table cell (relative to the table's folder); None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(folder, value))
