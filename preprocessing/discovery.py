"""Discovery of downloaded MODIS and Landsat products in folders (and inside scene archives)."""
import datetime as dt
import os
from typing import Dict, List, Sequence, Tuple

from osgeo import gdal

from ..common.errors import InputError
from ..common.products import (ARCHIVE_EXTENSIONS, COMPANION_LAYER, LOOKS_LANDSAT, LOOKS_MODIS, RASTER_EXTENSIONS,
                               date_from_filename, is_thermal_band_file)


def _raster_files(folder: str) -> Tuple[List[str], List[str]]:
    """(raster files, archives) under ``folder`` (recursively), sorted."""
    if not folder or not os.path.isdir(folder):
        raise InputError(f"Folder not found: {folder}")
    rasters, archives = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            lower = name.lower()
            if lower.endswith(RASTER_EXTENSIONS) and not name.startswith("."):
                rasters.append(os.path.join(root, name))
            elif lower.endswith(ARCHIVE_EXTENSIONS):
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
            and not LOOKS_MODIS.search(os.path.basename(p))]
    unread = []
    for archive in archives:
        inside = archive_thermal_bands(archive)
        tifs += inside
        if not inside:
            unread.append(archive)
    thermal = [p for p in tifs if is_thermal_band_file(os.path.basename(p))]
    chosen = thermal or [p for p in tifs if not COMPANION_LAYER.search(os.path.basename(p))]
    return sorted((date_from_filename(p), p) for p in chosen), unread


def archive_thermal_bands(archive: str) -> List[str]:
    """GDAL paths (/vsitar/..., /vsizip/...) of the ST_B10 / ST_B6 bands inside a scene archive.

    Scenes downloaded as .tar (USGS) are read in place, without extracting them.
    """
    prefix = "/vsizip/" if archive.lower().endswith(".zip") else "/vsitar/"
    root = prefix + os.path.abspath(archive)
    members = gdal.ReadDirRecursive(root) or []
    return sorted(f"{root}/{m}" for m in members if is_thermal_band_file(os.path.basename(m)))


def find_modis(folder: str) -> Tuple[List[Tuple[dt.date, str]], List[str]]:
    """MODIS granules (.hdf) and LST GeoTIFF exports under ``folder``: ([(date, path)], archives).

    QC and other companion layers are left out (they are found from their LST
    file), and so are files whose name says Landsat (both folders may be the same one).
    """
    rasters, archives = _raster_files(folder)
    chosen = [p for p in rasters if not COMPANION_LAYER.search(os.path.basename(p))
              and not LOOKS_LANDSAT.search(os.path.basename(p))]
    return sorted((date_from_filename(p), p) for p in chosen), archives



def group_by_date(items: Sequence[Tuple[dt.date, str]]) -> Dict[dt.date, List[str]]:
    """{date: [paths]} in date order."""
    groups: Dict[dt.date, List[str]] = {}
    for date, path in sorted(items):
        groups.setdefault(date, []).append(path)
    return groups
