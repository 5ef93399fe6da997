"""MODIS MOD11A1 / MYD11A1 land surface temperature with its QC mask.

Inputs are what users download: the HDF4-EOS granule from NASA (the day or
night LST layer and its QC layer are found inside), one of its subdatasets, or
a GeoTIFF export (Earth Engine, AppEEARS) holding raw DN or already scaled
values. Product facts (collection 6/6.1): ``LST_Day_1km`` is UInt16 with
Kelvin = DN x 0.02 and DN 0 = fill; ``QC_Day`` bits 0-1 mandatory QA (0 good,
1 other quality, 2-3 not produced), bits 2-3 data quality, bits 4-5 emissivity
error, bits 6-7 LST error (0: <= 1 K, 1: <= 2 K, 2: <= 3 K, 3: > 3 K).

Output: Float32 LST in Kelvin or °C on the product's own grid and CRS
(sinusoidal for granules), NaN / -9999 where the pixel is fill or rejected by
the QC rule. A real 0 °C is kept: in scaled inputs only the declared no-data
is a gap; in raw DN inputs DN 0 (the product's fill value, 0 K) is one too.
"""
import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from osgeo import gdal

from ..common.errors import InputError
from ..common.grid import Grid
from ..common.units import require_known_units, from_kelvin, to_kelvin
from ..common.progress import Progress, ensure
from ..common.raster_io import RasterWriter, band_description, grid_of, open_raster, raw_gaps, read_units

LAYERS = ("day", "night")
"""LST layers of a granule, in the order of the Processing enum."""

QUALITY_RULES = ("survey", "best", "any", "none")
"""QC rules, in the order of the Processing enum; see :func:`qc_keep`."""

MODIS_SCALE = 0.02
"""Kelvin per DN of LST_Day_1km / LST_Night_1km."""

RAW_FILL = 0
"""DN of LST_Day_1km / LST_Night_1km that means 'not produced'."""

_LST_NAME = {"day": "LST_Day_1km", "night": "LST_Night_1km"}
_QC_NAME = {"day": "QC_Day", "night": "QC_Night"}
_OTHER_LAYERS = ("QC_Day", "QC_Night", "Day_view_time", "Day_view_angl", "Night_view_time",
                 "Night_view_angl", "Emis_31", "Emis_32", "Clear_day_cov", "Clear_night_cov")
_LANDSAT_NAME = re.compile(r"(^|[^A-Z0-9])L[COTE]0\d_L\d|_(ST|SR)_B\d+|QA_PIXEL", re.IGNORECASE)
_BLOCK_PIXELS = 2 ** 22


@dataclass(frozen=True)
class ModisSource:
    """Where the LST and QC values of one MODIS input are, and how to scale them.

    ``lst``/``qc`` are GDAL paths (files or HDF subdatasets) with band numbers;
    values in ``units`` = DN x ``scale`` + ``offset``; ``fill`` is a DN that is
    no-data (besides the declared no-data); ``assumption`` says in words what
    was assumed about the values.
    """

    lst: str
    lst_band: int
    qc: Optional[str]
    qc_band: int
    scale: float
    offset: float
    units: str
    fill: Optional[float]
    assumption: str


def qc_keep(qc: np.ndarray, rule: str) -> np.ndarray:
    """Boolean (rows, cols): True where the QC value passes ``rule``.

    'survey': bits 0-1 <= 1, bits 2-3 == 0 and bits 6-7 <= 2 (LST error <= 3 K), the
    rule of the survey's dataset; 'best': bits 0-1 == 0; 'any': bits 0-1 <= 1
    (every produced pixel); 'none': everything.
    """
    qc = np.asarray(qc).astype(np.uint16)
    mandatory = qc & 0b11
    if rule == "survey":
        return (mandatory <= 1) & (((qc >> 2) & 0b11) == 0) & (((qc >> 6) & 0b11) <= 2)
    if rule == "best":
        return mandatory == 0
    if rule == "any":
        return mandatory <= 1
    if rule == "none":
        return np.ones(qc.shape, dtype=bool)
    raise InputError(f"Unknown QC rule '{rule}'; use one of {', '.join(QUALITY_RULES)}.")


def open_modis(path: str, layer: str = "day", qc_path: Optional[str] = None) -> ModisSource:
    """Find the LST layer, its QC layer and the scaling of a MODIS input.

    ``path`` is an HDF4 granule, one of its LST subdatasets, or a GeoTIFF.
    ``qc_path`` (optional) is the QC layer (a raster, a subdataset or a granule);
    without it the QC comes from the granule, from a band named QC_Day / QC_Night
    in the same file, or from a sibling file whose name has QC_Day in place of
    LST_Day_1km. InputError, naming the file, for anything else.
    """
    if layer not in LAYERS:
        raise InputError(f"Unknown MODIS layer '{layer}'; use 'day' or 'night'.")
    ds = open_raster(path) if path.upper().startswith("HDF4_") else _open_any(path)
    subdatasets = [name for name, _ in ds.GetSubDatasets()] if ds.RasterCount == 0 else []
    if subdatasets or path.upper().startswith("HDF4_"):
        source = _from_granule(path, layer, subdatasets)
    else:
        source = _from_geotiff(path, ds, layer)
    if qc_path:
        qc, qc_band = _qc_from_user(qc_path, layer)
        source = ModisSource(source.lst, source.lst_band, qc, qc_band, source.scale, source.offset,
                             source.units, source.fill, source.assumption)
    if source.qc:
        _check_qc_grid(source)
    return source


def modis_to_lst(path: str, out_path: str, layer: str = "day", qc_path: Optional[str] = None,
                 quality: str = "survey", units: str = "kelvin",
                 progress: Optional[Progress] = None) -> dict:
    """Write MODIS LST in ``units`` ('kelvin' or 'celsius') to a Float32 GeoTIFF.

    Pixels that are fill, declared no-data, or fail the ``quality`` rule of
    :func:`qc_keep` become no-data. Processes blocks of rows. Returns
    {'valid_fraction' (0-1), 'qc_rejected' (pixel count), 'assumption' (text),
    'lst_layer', 'qc_layer' (None when no QC layer was found)}.
    """
    progress = ensure(progress)
    require_known_units(units)
    if quality not in QUALITY_RULES:
        raise InputError(f"Unknown QC rule '{quality}'; use one of {', '.join(QUALITY_RULES)}.")
    source = open_modis(path, layer, qc_path)
    lst_ds = open_raster(source.lst)
    grid = grid_of(lst_ds)
    if not grid.crs_wkt:
        raise InputError(f"{path} has no coordinate reference system; MODIS LST needs its "
                         "sinusoidal (or exported) CRS.")
    qc_ds = open_raster(source.qc) if source.qc and quality != "none" else None
    lst_band = lst_ds.GetRasterBand(source.lst_band)
    nodata = lst_band.GetNoDataValue()
    rows_per_block = max(1, _BLOCK_PIXELS // grid.width)
    valid = rejected = 0
    metadata = {"SOURCE": source.lst if source.lst.upper().startswith("HDF4_") else os.path.basename(path),
                "QC_RULE": quality if qc_ds else "none", "SCALING": source.assumption}
    with RasterWriter(out_path, grid, units=units, metadata=metadata,
                      descriptions=[band_description("LST", units)]) as writer:
        for row in range(0, grid.height, rows_per_block):
            rows = min(rows_per_block, grid.height - row)
            dn = lst_band.ReadAsArray(0, row, grid.width, rows)
            gap = raw_gaps(dn, nodata, source.fill)
            values = dn.astype(np.float32) * np.float32(source.scale) + np.float32(source.offset)
            kelvin = to_kelvin(values, source.units)
            if qc_ds is not None:
                qc = qc_ds.GetRasterBand(source.qc_band).ReadAsArray(0, row, grid.width, rows)
                bad = ~qc_keep(qc, quality) & ~gap
                rejected += int(bad.sum())
                gap |= bad
            kelvin[gap] = np.nan
            valid += int((~gap).sum())
            writer.write(from_kelvin(kelvin, units), row, 0)
            progress.step(row + rows, grid.height)
    return {"valid_fraction": valid / float(grid.width * grid.height), "qc_rejected": rejected,
            "assumption": source.assumption, "lst_layer": source.lst,
            "qc_layer": source.qc if qc_ds is not None else None}


def _open_any(path: str) -> gdal.Dataset:
    """Open a file that may be a container without bands (HDF4 granule)."""
    if not os.path.exists(path):
        raise InputError(f"Raster file not found: {path}")
    try:
        ds = gdal.Open(path)
    except RuntimeError as err:
        raise InputError(f"Cannot read {path} as a raster: {err}") from err
    if ds is None:
        raise InputError(f"Cannot read {path} as a raster.")
    return ds


def _subdataset(subdatasets, name: str) -> Optional[str]:
    """The subdataset whose layer name is ``name``, if any."""
    for sub in subdatasets:
        if sub.split(":")[-1] == name:
            return sub
    return None


def _from_granule(path: str, layer: str, subdatasets) -> ModisSource:
    """LST and QC subdatasets of an HDF4 granule (or the granule of a given subdataset)."""
    if path.upper().startswith("HDF4_"):
        given = path.split(":")[-1]
        if given not in _LST_NAME.values():
            raise InputError(
                f"{path} is the {given} layer of a MODIS granule, not its LST: give the "
                "granule file itself or its LST_Day_1km / LST_Night_1km layer.")
        layer = "day" if given == _LST_NAME["day"] else "night"
        lst = path
        qc = path[: -len(given)] + _QC_NAME[layer]
        try:
            gdal.Open(qc)
        except RuntimeError:
            qc = None
    else:
        lst = _subdataset(subdatasets, _LST_NAME[layer])
        if lst is None:
            names = ", ".join(sorted({s.split(":")[-1] for s in subdatasets})) or "none"
            raise InputError(
                f"{path} is not a MOD11A1/MYD11A1 LST granule: it has no {_LST_NAME[layer]} "
                f"layer (its layers: {names}).")
        qc = _subdataset(subdatasets, _QC_NAME[layer])
    lst_ds = open_raster(lst)  # keep the dataset alive while its band is used
    band = lst_ds.GetRasterBand(1)
    scale = band.GetScale() or MODIS_SCALE
    offset = band.GetOffset() or 0.0
    return ModisSource(lst, 1, qc, 1, scale, offset, "kelvin", RAW_FILL,
                       f"raw DN of the HDF granule, Kelvin = DN x {scale:g}"
                       + (f" + {offset:g}" if offset else ""))


def _from_geotiff(path: str, ds: gdal.Dataset, layer: str) -> ModisSource:
    """LST band, QC and scaling of a GeoTIFF export (one band, or named bands)."""
    name = os.path.basename(path)
    if _LANDSAT_NAME.search(name):
        raise InputError(f"{path} looks like a Landsat file, not MODIS LST: use "
                         "'Landsat LST' (lstfusion:landsatlst) for it.")
    descriptions = [ds.GetRasterBand(i).GetDescription() for i in range(1, ds.RasterCount + 1)]
    lst_band = _band_named(descriptions, _LST_NAME[layer])
    qc_band = _band_named(descriptions, _QC_NAME[layer])
    if lst_band is None:
        if ds.RasterCount > 1 and any(descriptions):
            raise InputError(f"{path} has no band named {_LST_NAME[layer]} "
                             f"(its bands: {', '.join(d or '?' for d in descriptions)}).")
        for other in _OTHER_LAYERS:
            if other.lower() in name.lower() or other.lower() in (descriptions[0] or "").lower():
                raise InputError(f"{path} is the {other} layer of a MODIS product, not its LST: "
                                 f"give the {_LST_NAME[layer]} layer.")
        lst_band = 1
    band = ds.GetRasterBand(lst_band)
    if band.DataType == gdal.GDT_Byte:
        raise InputError(f"{path} holds 8-bit values, which cannot be MODIS LST (LST_Day_1km is "
                         "16-bit): is it a QC or emissivity layer?")
    scale, offset, units, fill, assumption = _scaling(path, ds, band)
    qc = path if qc_band is not None else _sibling_qc(path, layer)
    return ModisSource(path, lst_band, qc, qc_band or 1, scale, offset, units, fill, assumption)


def _band_named(descriptions, name: str) -> Optional[int]:
    """1-based index of the band whose description contains ``name``."""
    for i, description in enumerate(descriptions, start=1):
        if description and name.lower() in description.lower():
            return i
    return None


def _scaling(path: str, ds: gdal.Dataset, band: gdal.Band) -> Tuple[float, float, str, Optional[float], str]:
    """(scale, offset, units, fill DN, assumption) of a GeoTIFF LST band.

    A scale factor in the metadata means raw DN. Otherwise the value range of a
    sample decides: 7500-65535 raw DN (x 0.02), 150-400 Kelvin, -100-100 °C
    (or the units the file declares for float data).
    """
    scale = band.GetScale()
    meta_scale = band.GetMetadataItem("scale_factor") or ds.GetMetadataItem("scale_factor")
    if (scale is None or scale == 1.0) and meta_scale:
        scale = float(meta_scale)
    if scale is not None and scale != 1.0:
        offset = band.GetOffset() or 0.0
        return scale, offset, "kelvin", RAW_FILL, (
            f"raw DN, Kelvin = DN x {scale:g} (scale factor from the file's metadata)")
    integer = band.DataType in (gdal.GDT_UInt16, gdal.GDT_Int16, gdal.GDT_UInt32, gdal.GDT_Int32)
    low, high = _value_range(path, band, exclude_zero=integer)
    declared = read_units(path)
    if integer and low >= 7500:
        return MODIS_SCALE, 0.0, "kelvin", RAW_FILL, (
            f"raw DN (values {low:g}-{high:g}), Kelvin = DN x {MODIS_SCALE:g} (product scale; "
            "the file declares none)")
    if declared and not integer:
        return 1.0, 0.0, declared, None, f"already scaled values in {declared} (declared by the file)"
    if 150 <= low and high <= 400:
        return 1.0, 0.0, "kelvin", None, f"already scaled Kelvin (values {low:.1f}-{high:.1f})"
    if -100 <= low and high <= 100:
        return 1.0, 0.0, "celsius", None, f"already scaled degrees Celsius (values {low:.1f}-{high:.1f})"
    raise InputError(
        f"{path}: values {low:g}-{high:g} are neither MODIS LST DN (7500-65535), nor Kelvin "
        "(150-400 K) nor degrees Celsius: is it a MOD11A1/MYD11A1 LST layer?")


def _value_range(path: str, band: gdal.Band, exclude_zero: bool) -> Tuple[float, float]:
    """2nd and 98th percentile of the valid values of a sample (at most 512 x 512) of a band."""
    cols, rows = band.XSize, band.YSize
    factor = max(1, int(np.ceil(max(cols, rows) / 512)))
    sample = band.ReadAsArray(buf_xsize=max(1, cols // factor), buf_ysize=max(1, rows // factor),
                              resample_alg=gdal.GRIORA_NearestNeighbour).astype(np.float64)
    keep = np.isfinite(sample)
    nodata = band.GetNoDataValue()
    if nodata is not None and np.isfinite(nodata):
        keep &= sample != nodata
    if exclude_zero:
        keep &= sample != 0
    if not keep.any():
        raise InputError(f"{path} holds no valid pixel (all no-data).")
    low, high = np.percentile(sample[keep], [2, 98])
    return float(low), float(high)


def _sibling_qc(path: str, layer: str) -> Optional[str]:
    """A file beside ``path`` named like it with QC_Day (QC_Night) in place of LST_Day_1km."""
    folder, name = os.path.split(path)
    match = re.search(re.escape(_LST_NAME[layer]), name, re.IGNORECASE)
    if not match:
        return None
    candidate = os.path.join(folder, name[: match.start()] + _QC_NAME[layer] + name[match.end():])
    return candidate if os.path.exists(candidate) else None


def _qc_from_user(qc_path: str, layer: str) -> Tuple[str, int]:
    """(GDAL path, band) of a QC layer given by the user: a raster, subdataset or granule."""
    if qc_path.upper().startswith("HDF4_"):
        if qc_path.split(":")[-1] not in _QC_NAME.values():
            raise InputError(f"{qc_path} is not a QC_Day / QC_Night layer.")
        return qc_path, 1
    ds = _open_any(qc_path)
    if ds.RasterCount == 0:
        qc = _subdataset([name for name, _ in ds.GetSubDatasets()], _QC_NAME[layer])
        if qc is None:
            raise InputError(f"{qc_path} has no {_QC_NAME[layer]} layer.")
        return qc, 1
    descriptions = [ds.GetRasterBand(i).GetDescription() for i in range(1, ds.RasterCount + 1)]
    band = _band_named(descriptions, _QC_NAME[layer]) or 1
    if ds.GetRasterBand(band).DataType not in (gdal.GDT_Byte, gdal.GDT_UInt16, gdal.GDT_Int16,
                                               gdal.GDT_UInt32, gdal.GDT_Int32):
        raise InputError(f"{qc_path} holds non-integer values: a QC layer holds bit flags (integers).")
    return qc_path, band


def _check_qc_grid(source: ModisSource) -> None:
    """InputError when the QC layer is not on the LST layer's grid."""
    lst_grid: Grid = grid_of(open_raster(source.lst))
    qc_grid: Grid = grid_of(open_raster(source.qc))
    diff = lst_grid.difference(qc_grid)
    if diff:
        raise InputError(f"The QC layer {source.qc} is not on the grid of the LST layer "
                         f"{source.lst}: {diff}. Give the QC layer of the same granule or export.")
