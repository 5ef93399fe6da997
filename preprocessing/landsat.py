"""Landsat Collection 2 Level-2 land surface temperature with its QA_PIXEL mask.

``ST_B10`` (Landsat 8/9; ``ST_B6`` for Landsat 4-7) is UInt16 with
Kelvin = DN x 0.00341802 + 149.0 and DN 0 = fill. The scale and offset are
read from the scene's MTL file (``<product id>_MTL.txt`` or ``_MTL.xml``
beside the band, or given explicitly); without one the documented Collection 2
constants are used. ``QA_PIXEL`` bits: 0 fill, 1 dilated cloud, 2 cirrus,
3 cloud, 4 cloud shadow, 5 snow.

Default mask: fill, dilated cloud, cloud and cloud shadow. Dilated cloud is on
by default because the thermal band is sensed at 100 m and delivered at 30 m:
the pixels just around a cloud are cooled by its edge, and the dilation is
how USGS flags them. (The survey's dataset masked cloud and snow only and kept
cloud shadow, which biases LST low: shadow is always masked by default here.)

Output: Float32 LST in Kelvin or °C, NaN / -9999 where masked or fill. Rasters
that already hold LST (float values in K or °C, e.g. a processed export) are
accepted too; their declared no-data is the only gap, so 0 °C is kept.
"""
import os
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..common.errors import InputError
from ..common.grid import Grid
from ..common.products import THERMAL_BAND
from ..common.units import require_known_units, from_kelvin, to_kelvin
from ..common.progress import Progress, ensure
from ..common.raster_io import RasterWriter, band_description, grid_of, open_raster, raw_gaps, read_units

QA_CLASSES = ("fill", "dilated_cloud", "cirrus", "cloud", "cloud_shadow", "snow")
"""QA_PIXEL classes that can be masked; the class's bit is its index here."""

DEFAULT_MASK = ("fill", "dilated_cloud", "cloud", "cloud_shadow")

C2_SCALE = 0.00341802
C2_OFFSET = 149.0
"""Collection 2 Level-2 surface temperature: Kelvin = DN x C2_SCALE + C2_OFFSET."""

_OTHER_BANDS = re.compile(r"_(SR_B\d+|ST_QA|ST_TRAD|ST_URAD|ST_DRAD|ST_ATRAN|ST_EMIS|ST_EMSD|ST_CDIST|"
                          r"QA_PIXEL|QA_RADSAT|QA_AEROSOL|SR_QA_AEROSOL|ST_B11)(?=[._])", re.IGNORECASE)
_MODIS_NAME = re.compile(r"M[OY]D11|\.hdf$", re.IGNORECASE)
_BLOCK_PIXELS = 2 ** 22


@dataclass(frozen=True)
class LandsatSource:
    """The thermal band of a scene: where its values are and how to turn them into Kelvin.

    Values in ``units`` = DN x ``scale`` + ``offset``; ``fill`` is a DN that is
    no-data besides the declared no-data; ``scaling`` says where the scale came from.
    """

    path: str
    qa: Optional[str]
    scale: float
    offset: float
    units: str
    fill: Optional[float]
    scaling: str


def qa_bits(classes: Sequence[str]) -> int:
    """The QA_PIXEL bit mask of ``classes``; InputError for an unknown class name."""
    bits = 0
    for name in classes:
        if name not in QA_CLASSES:
            raise InputError(f"Unknown QA_PIXEL class '{name}'; use {', '.join(QA_CLASSES)}.")
        bits |= 1 << QA_CLASSES.index(name)
    return bits


def qa_mask(qa: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Boolean (rows, cols): True where any bit of the ``classes`` is set in QA_PIXEL."""
    return (np.asarray(qa).astype(np.uint32) & qa_bits(classes)) != 0


def read_mtl_scale(mtl_path: str, band: str = "ST_B10") -> Tuple[float, float]:
    """(mult, add) of ``band`` from an MTL .txt or .xml file; InputError naming the file if absent."""
    try:
        text = _read_text(mtl_path)
    except (OSError, RuntimeError) as err:
        raise InputError(f"Cannot read the MTL file {mtl_path}: {err}") from err
    values = []
    for key in ("MULT", "ADD"):
        match = re.search(rf"TEMPERATURE_{key}_BAND_{band}\W+([-+0-9.eE]+)", text)
        if not match:
            raise InputError(f"The MTL file {mtl_path} has no TEMPERATURE_{key}_BAND_{band}: it is not "
                             f"the metadata of a Collection 2 Level-2 scene with a {band} band "
                             "(Level-1 MTLs have no surface temperature scale).")
        values.append(float(match.group(1)))
    return values[0], values[1]


def _entries(folder: str):
    """Names in a folder, also inside an archive opened through GDAL (/vsitar/..., /vsizip/...)."""
    if folder.lower().startswith("/vsi"):
        return gdal.ReadDir(folder) or []
    return os.listdir(folder or ".")


def _read_text(path: str) -> str:
    """The text of a file, also inside an archive opened through GDAL."""
    if not path.lower().startswith("/vsi"):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        raise OSError("not found")
    try:
        gdal.VSIFSeekL(handle, 0, 2)
        size = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        return gdal.VSIFReadL(1, size, handle).decode("utf-8", errors="replace")
    finally:
        gdal.VSIFCloseL(handle)


def find_mtl(band_path: str) -> Optional[str]:
    """The scene's ``<product id>_MTL.txt`` (or ``.xml``) beside a band file, if present."""
    folder, name = os.path.split(band_path)
    match = THERMAL_BAND.search(name)
    if not match:
        return None
    prefix = name[: match.start()].lower()
    for suffix in ("_mtl.txt", "_mtl.xml"):
        for entry in _entries(folder):
            if entry.lower() == prefix + suffix:
                return os.path.join(folder, entry)
    return None


def find_qa_pixel(band_path: str) -> Optional[str]:
    """The scene's QA_PIXEL file beside a thermal band file, if present."""
    folder, name = os.path.split(band_path)
    match = THERMAL_BAND.search(name)
    if not match:
        return None
    candidate = name[: match.start()] + "_QA_PIXEL" + name[match.end():]
    for entry in _entries(folder):
        if entry.lower() == candidate.lower():
            return os.path.join(folder, entry)
    return None


def open_landsat(path: str, qa_path: Optional[str] = None, mtl_path: Optional[str] = None) -> LandsatSource:
    """Check that ``path`` is a Landsat thermal band (or LST) and find its QA and scaling.

    InputError naming the file for a band of another product, a file that
    is not Landsat, or an MTL without the thermal band's scale.
    """
    name = os.path.basename(path)
    other = _OTHER_BANDS.search(name)
    if other:
        raise InputError(f"{path} is the {other.group(1).upper()} band of a Landsat scene, not its "
                         "surface temperature: give the ST_B10 band (ST_B6 for Landsat 4-7).")
    if _MODIS_NAME.search(name):
        raise InputError(f"{path} looks like a MODIS product, not Landsat: use "
                         "'MODIS LST' (lstfusion:modislst) for it.")
    ds = open_raster(path)
    band = ds.GetRasterBand(1)
    thermal = THERMAL_BAND.search(name)
    qa = qa_path or find_qa_pixel(path)
    if band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64):
        units, scaling = _already_lst(path, ds)
        return LandsatSource(path, qa, 1.0, 0.0, units, None, scaling)
    if band.DataType != gdal.GDT_UInt16:
        raise InputError(f"{path} holds {gdal.GetDataTypeName(band.DataType)} values; a Landsat "
                         "Collection 2 Level-2 ST_B10 band holds UInt16 DN.")
    band_name = f"ST_B{thermal.group(1)}" if thermal else "ST_B10"
    mtl = mtl_path or find_mtl(path)
    if mtl:
        scale, offset = read_mtl_scale(mtl, band_name)
        scaling = f"Kelvin = DN x {scale:g} + {offset:g} (from {os.path.basename(mtl)})"
    else:
        scale, offset = C2_SCALE, C2_OFFSET
        scaling = (f"Kelvin = DN x {scale:g} + {offset:g} (Collection 2 constants: no MTL file "
                   "beside the band)")
    return LandsatSource(path, qa, scale, offset, "kelvin", 0, scaling)


def landsat_to_lst(path: str, out_path: str, qa_path: Optional[str] = None,
                   mask: Sequence[str] = DEFAULT_MASK, units: str = "kelvin",
                   mtl_path: Optional[str] = None, grid: Optional[Grid] = None,
                   progress: Optional[Progress] = None) -> dict:
    """Write Landsat LST in ``units`` ('kelvin' or 'celsius') to a Float32 GeoTIFF.

    Pixels that are fill, declared no-data, or have a ``mask`` class bit set in
    QA_PIXEL become no-data. With ``grid`` the band and its QA are read through
    a nearest-neighbour warp onto that grid (e.g. a clipped extent). Processes
    blocks of rows. Returns {'valid_fraction' (0-1), 'masked' ({class: pixel
    count}), 'scaling' (text), 'qa_layer' (None when there is none)}.
    """
    progress = ensure(progress)
    require_known_units(units)
    qa_bits(mask)  # unknown class names fail before any work
    source = open_landsat(path, qa_path, mtl_path)
    lst_ds = open_raster(source.path)
    qa_ds = open_raster(source.qa) if source.qa and mask else None
    if qa_ds is not None:
        diff = grid_of(lst_ds).difference(grid_of(qa_ds))
        if diff:
            raise InputError(f"The QA_PIXEL layer {source.qa} is not on the grid of {path}: {diff}. "
                             "Give the QA_PIXEL band of the same scene.")
    if grid is not None and grid.difference(grid_of(lst_ds)):
        lst_ds = _warped(lst_ds, grid)
        qa_ds = _warped(qa_ds, grid) if qa_ds is not None else None
    out_grid = grid_of(lst_ds)
    band = lst_ds.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    rows_per_block = max(1, _BLOCK_PIXELS // out_grid.width)
    masked = {name: 0 for name in mask if name != "fill"}
    valid = 0
    metadata = {"SOURCE": os.path.basename(path), "SCALING": source.scaling,
                "QA_MASK": ",".join(mask) if qa_ds is not None else "none"}
    with RasterWriter(out_path, out_grid, units=units, metadata=metadata,
                      descriptions=[band_description("LST", units)]) as writer:
        for row in range(0, out_grid.height, rows_per_block):
            rows = min(rows_per_block, out_grid.height - row)
            dn = band.ReadAsArray(0, row, out_grid.width, rows)
            gap = raw_gaps(dn, nodata, source.fill)
            if qa_ds is not None:
                qa = qa_ds.GetRasterBand(1).ReadAsArray(0, row, out_grid.width, rows)
                for name in masked:
                    masked[name] += int((qa_mask(qa, [name]) & ~gap).sum())
                gap |= qa_mask(qa, mask)
            values = dn.astype(np.float32) * np.float32(source.scale) + np.float32(source.offset)
            kelvin = to_kelvin(values, source.units)
            kelvin[gap] = np.nan
            valid += int((~gap).sum())
            writer.write(from_kelvin(kelvin, units), row, 0)
            progress.step(row + rows, out_grid.height)
    return {"valid_fraction": valid / float(out_grid.width * out_grid.height), "masked": masked,
            "scaling": source.scaling, "qa_layer": source.qa if qa_ds is not None else None}


def _already_lst(path: str, ds: gdal.Dataset) -> Tuple[str, str]:
    """(units, sentence) for a float raster that already holds LST; InputError otherwise."""
    declared = read_units(path)
    if declared:
        return declared, f"already LST in {declared} (declared by the file)"
    band = ds.GetRasterBand(1)
    sample = band.ReadAsArray(buf_xsize=min(band.XSize, 512), buf_ysize=min(band.YSize, 512))
    nodata = band.GetNoDataValue()
    keep = np.isfinite(sample)
    if nodata is not None and np.isfinite(nodata):
        keep &= sample != np.float32(nodata)
    if not keep.any():
        raise InputError(f"{path} holds no valid pixel (all no-data).")
    low, high = np.percentile(sample[keep], [2, 98])
    if 150 <= low and high <= 400:
        return "kelvin", f"already LST in Kelvin (float values {low:.1f}-{high:.1f})"
    if -100 <= low and high <= 100:
        return "celsius", f"already LST in degrees Celsius (float values {low:.1f}-{high:.1f})"
    raise InputError(f"{path}: float values {low:g}-{high:g} are neither Kelvin nor degrees "
                     "Celsius; a Landsat ST_B10 band holds UInt16 DN.")


def _warped(ds: gdal.Dataset, grid: Grid) -> gdal.Dataset:
    """A virtual nearest-neighbour warp of ``ds`` onto ``grid`` (nothing is computed until read)."""
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    return gdal.Warp("", ds, format="VRT", outputBounds=grid.bounds, width=grid.width,
                     height=grid.height, dstSRS=grid.crs_wkt, resampleAlg="near",
                     srcNodata=nodata, dstNodata=nodata)
