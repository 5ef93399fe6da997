"""Product file names: the patterns of MODIS and Landsat names and the date each carries.

Dates come from file names: a Landsat product id (``LC08_L2SP_PPPRRR_YYYYMMDD_
YYYYMMDD_CC_TX``: the first date is the acquisition), a MODIS id
(``MOD11A1.AYYYYDDD...``: year and day of year; AppEEARS names carry
``doyYYYYDDD``), or one ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY_MM_DD`` in the name.
Dates typed by a user are read by :func:`common.dates.parse_user_date` instead.
"""
import datetime as dt
import os
import re

from .errors import InputError

LANDSAT_ID = re.compile(r"L[COTE]0\d_L[12][A-Z0-9]{2}_\d{6}_(\d{4})(\d{2})(\d{2})_\d{8}_\d{2}_", re.IGNORECASE)
MODIS_ID = re.compile(r"M[OY]D\d{2}[A-Z0-9]{1,4}\.A(\d{4})(\d{3})", re.IGNORECASE)
_DOY = re.compile(r"doy(\d{4})(\d{3})", re.IGNORECASE)
_YMD = re.compile(r"(?<!\d)(\d{4})([-_]?)(\d{2})\2(\d{2})(?!\d)")
RASTER_EXTENSIONS = (".tif", ".tiff", ".hdf")
ARCHIVE_EXTENSIONS = (".tar", ".tar.gz", ".tgz", ".zip")
THERMAL_BAND = re.compile(r"_ST_B(10|6)(?=[._])", re.IGNORECASE)
"""The Landsat C2 L2 surface temperature band in a name: ST_B10 (Landsat 8/9) or ST_B6 (4-7)."""
COMPANION_LAYER = re.compile(r"QC_(Day|Night)|_view_|Emis_|Clear_(day|night)_cov|_QA_PIXEL|_ST_QA|_SR_B\d|"
                        r"_QA_RADSAT|_QA_AEROSOL|_ST_(TRAD|URAD|DRAD|ATRAN|EMIS|EMSD|CDIST|B11)", re.IGNORECASE)

LOOKS_LANDSAT = re.compile(r"landsat|(^|[^A-Z0-9])L[COTE]0\d_L", re.IGNORECASE)
LOOKS_MODIS = re.compile(r"modis|M[OY]D\d\d", re.IGNORECASE)

DATE_FORMATS = ("LC08_L2SP_PPPRRR_YYYYMMDD_...", "MOD11A1.AYYYYDDD...", "YYYYMMDD", "YYYY-MM-DD")



def is_thermal_band_file(name: str) -> bool:
    """True for a GeoTIFF file name of a Landsat surface temperature band (``*_ST_B10.TIF``)."""
    return bool(THERMAL_BAND.search(name)) and name.lower().endswith((".tif", ".tiff"))


def date_from_filename(path: str) -> dt.date:
    """The acquisition date in a product's file name; InputError naming the file when none parses."""
    name = os.path.basename(path.rstrip("/\\"))
    match = LANDSAT_ID.search(name)
    if match:
        return _ymd(name, *match.groups())
    match = MODIS_ID.search(name) or _DOY.search(name)
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


