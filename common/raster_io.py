"""Raster I/O with GDAL: windowed reads with no-data as NaN, atomic Float32 GeoTIFF writes.

Arrays are float32 of shape (rows, cols) for one band or (bands, rows, cols);
no-data is NaN in memory and :data:`NODATA` on disk.
"""
import os
import uuid
from typing import Optional, Sequence

import numpy as np
from osgeo import gdal

from .errors import InputError
from .grid import Grid

gdal.UseExceptions()

NODATA = -9999.0
"""No-data value of every raster this plugin writes (impossible in K and in °C)."""

UNITS_KEY = "LST_UNITS"
"""Dataset metadata item holding 'kelvin' or 'celsius'."""

UNIT_SYMBOLS = {"kelvin": "K", "celsius": "°C"}
"""Symbol of each units name, as written in band descriptions."""


def band_description(quantity: str, units: Optional[str]) -> str:
    """What a band holds, for QGIS's legend and identify tool: 'LST (K)', 'error P - R (°C)';
    just ``quantity`` when the units are unknown."""
    return f"{quantity} ({UNIT_SYMBOLS[units]})" if units in UNIT_SYMBOLS else quantity


GTIFF_OPTIONS = ["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES",
                 "BLOCKXSIZE=256", "BLOCKYSIZE=256", "BIGTIFF=IF_SAFER"]


def open_raster(path: str) -> gdal.Dataset:
    """Open a raster read-only; InputError naming the file when GDAL cannot."""
    if not path:
        raise InputError("No raster was given.")
    if not path.upper().startswith(("HDF4_", "NETCDF:", "/VSI")) and not os.path.exists(path):
        raise InputError(f"Raster file not found: {path}")
    try:
        ds = gdal.Open(path)
    except RuntimeError as err:
        raise InputError(f"Cannot read {path} as a raster: {err}") from err
    if ds is None or ds.RasterCount == 0:
        raise InputError(f"{path} holds no raster band (is it a raster file?).")
    return ds


def grid_of(ds: gdal.Dataset) -> Grid:
    """The Grid of an open dataset."""
    return Grid(ds.GetProjection() or "", tuple(ds.GetGeoTransform()),
                ds.RasterXSize, ds.RasterYSize)


def read_grid(path: str) -> Grid:
    """The Grid of a raster file."""
    return grid_of(open_raster(path))


def band_count(path: str) -> int:
    """Number of bands of a raster file."""
    return open_raster(path).RasterCount


def read_band(ds: gdal.Dataset, band: int = 1, window=None, scaled: bool = False) -> np.ndarray:
    """Read one band of an open dataset as float32 with NaN where no-data.

    ``window`` is (row, col, rows, cols) or None for the whole band. Pixels
    equal to the band's no-data value and non-finite pixels become NaN; every
    other value, 0 included, is kept. With ``scaled`` the band's scale and
    offset metadata are applied.
    """
    b = ds.GetRasterBand(band)
    if window is None:
        data = b.ReadAsArray()
    else:
        row, col, rows, cols = window
        data = b.ReadAsArray(int(col), int(row), int(cols), int(rows))
    out = data.astype(np.float32)
    nodata = b.GetNoDataValue()
    invalid = ~np.isfinite(out)
    if nodata is not None and np.isfinite(nodata):
        invalid |= data == np.asarray(nodata).astype(data.dtype)
    if scaled:
        out = out * np.float32(b.GetScale() or 1.0) + np.float32(b.GetOffset() or 0.0)
    out[invalid] = np.nan
    return out


def raw_gaps(dn: np.ndarray, nodata: Optional[float], fill: Optional[float] = None) -> np.ndarray:
    """Mask of the gaps of raw product values: non-finite, the band's no-data, or the product's fill."""
    gap = ~np.isfinite(dn.astype(np.float64))
    if nodata is not None and np.isfinite(nodata):
        gap |= dn == np.asarray(nodata).astype(dn.dtype)
    if fill is not None:
        gap |= dn == fill
    return gap


def read_array(path: str, band: int = 1, window=None, scaled: bool = False) -> np.ndarray:
    """Read one band of a raster file; see :func:`read_band`."""
    ds = open_raster(path)
    if band > ds.RasterCount:
        raise InputError(f"{path} has {ds.RasterCount} band(s); band {band} was asked for.")
    return read_band(ds, band, window, scaled)


def read_units(path: str) -> Optional[str]:
    """'kelvin' or 'celsius' when the raster says so in its metadata, else None."""
    ds = open_raster(path)
    stored = (ds.GetMetadataItem(UNITS_KEY) or "").lower()
    if stored in ("kelvin", "celsius"):
        return stored
    unit = (ds.GetRasterBand(1).GetUnitType() or "").strip().lower()
    if unit in ("k", "kelvin", "degk"):
        return "kelvin"
    if unit in ("c", "celsius", "degc", "°c", "deg c"):
        return "celsius"
    return None


def has_valid_pixel(path: str, band: int = 1) -> bool:
    """True when the band has at least one valid pixel (reads block rows, stops early)."""
    ds = open_raster(path)
    rows_per_block = max(1, min(ds.RasterYSize, 2 ** 22 // max(ds.RasterXSize, 1)))
    for row in range(0, ds.RasterYSize, rows_per_block):
        n = min(rows_per_block, ds.RasterYSize - row)
        if np.isfinite(read_band(ds, band, (row, 0, n, ds.RasterXSize))).any():
            return True
    return False


class RasterWriter:
    """Write a Float32 GeoTIFF window by window, atomically.

    ``descriptions`` (one per band, see :func:`band_description`) become the band
    descriptions QGIS shows in the legend and the identify tool. Data goes to a
    temporary file beside ``path``; leaving the ``with`` block
    normally renames it to ``path``, an exception (or cancel) deletes it, so a
    failed run never leaves a half-written output. NaN is written as NODATA.
    """

    def __init__(self, path: str, grid: Grid, bands: int = 1, units: Optional[str] = None,
                 descriptions: Optional[Sequence[str]] = None, metadata: Optional[dict] = None):
        self.path = path
        self.grid = grid
        self.bands = bands
        self.units = units
        self.descriptions = descriptions
        self.metadata = metadata or {}
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.tmp_path = os.path.join(
            folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.partial.tif")
        self.ds = None

    def __enter__(self) -> "RasterWriter":
        driver = gdal.GetDriverByName("GTiff")
        self.ds = driver.Create(self.tmp_path, self.grid.width, self.grid.height, self.bands,
                                gdal.GDT_Float32, GTIFF_OPTIONS)
        self.ds.SetGeoTransform(self.grid.transform)
        if self.grid.crs_wkt:
            self.ds.SetProjection(self.grid.crs_wkt)
        metadata = dict(self.metadata)
        if self.units:
            metadata[UNITS_KEY] = self.units
        if metadata:
            self.ds.SetMetadata({k: str(v) for k, v in metadata.items()})
        for i in range(1, self.bands + 1):
            band = self.ds.GetRasterBand(i)
            band.SetNoDataValue(NODATA)
            if self.units:
                band.SetUnitType("K" if self.units == "kelvin" else "Celsius")
            if self.descriptions:
                band.SetDescription(str(self.descriptions[i - 1]))
        return self

    def write(self, array: np.ndarray, row: int = 0, col: int = 0) -> None:
        """Write a (rows, cols) or (bands, rows, cols) block at (row, col)."""
        block = np.asarray(array, dtype=np.float32)
        if block.ndim == 2:
            block = block[None]
        if block.shape[0] != self.bands:
            raise ValueError(f"expected {self.bands} band(s), got {block.shape[0]}")
        for i in range(self.bands):
            out = np.where(np.isfinite(block[i]), block[i], np.float32(NODATA))
            self.ds.GetRasterBand(i + 1).WriteArray(out, int(col), int(row))

    def __exit__(self, exc_type, exc, tb) -> None:
        ok = exc_type is None
        try:
            if ok:
                self.ds.FlushCache()
        finally:
            self.ds = None  # closes the file
        if ok:
            replace_atomically(self.tmp_path, self.path)
        else:
            remove_quietly(self.tmp_path)


def replace_atomically(tmp_path: str, path: str) -> None:
    """Move a finished temporary file onto ``path`` and drop a stale .aux.xml."""
    remove_quietly(path + ".aux.xml")
    os.replace(tmp_path, path)


def remove_quietly(path: str) -> None:
    """Delete a file if it exists."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def write_array(path: str, array: np.ndarray, grid: Grid, units: Optional[str] = None,
                descriptions: Optional[Sequence[str]] = None, metadata: Optional[dict] = None) -> str:
    """Write a whole (rows, cols) or (bands, rows, cols) array atomically; return ``path``."""
    bands = 1 if array.ndim == 2 else array.shape[0]
    with RasterWriter(path, grid, bands, units, descriptions, metadata) as writer:
        writer.write(array)
    return path


def read_decimated(path: str, band: int = 1, max_size: int = 1000) -> np.ndarray:
    """Band ``band`` as float32 (NaN = no-data), decimated by nearest neighbour so that
    neither side exceeds ``max_size`` pixels (uses overviews when the file has them).

    For previews and statistics on samples; never loads the full-resolution band.
    """
    ds = open_raster(path)
    scale = max(ds.RasterXSize / max_size, ds.RasterYSize / max_size, 1.0)
    if scale == 1.0:
        return read_band(ds, band)
    view = gdal.Translate("", ds, format="VRT", bandList=[band], resampleAlg="near",
                          width=max(1, int(ds.RasterXSize / scale)),
                          height=max(1, int(ds.RasterYSize / scale)))
    return read_band(view, 1)
