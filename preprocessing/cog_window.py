"""Reading a window of a cloud-optimised GeoTIFF over HTTP (GDAL ``/vsicurl/``, range requests).

GDAL reads the COG's header (its first 16 kB) and then only the internal tiles that the window
touches, so a window of a few hundred pixels costs a few hundred kB instead of the whole
scene. Transient HTTP errors (429, 5xx) are retried by GDAL itself (``GDAL_HTTP_MAX_RETRY``,
the delay doubling from ``GDAL_HTTP_RETRY_DELAY``), and the whole read again by
:func:`with_retries` when GDAL gives up.

Windows are whole pixels of the product's own grid: :func:`area_window` snaps an area outward
onto the grid's lattice (the same origin and pixel size), so values are read, never resampled.
"""
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Tuple, TypeVar

import numpy as np
from osgeo import gdal, osr

from ..common.errors import InputError
from ..common.grid import Grid
from ..common.raster_io import grid_of

gdal.UseExceptions()

HTTP_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the 'folder', no sidecar probes
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_TIMEOUT": "120",
    "GDAL_HTTP_CONNECTTIMEOUT": "20",
}
"""GDAL settings used while reading remote assets (thread-local, restored afterwards)."""

_HTTP_STATUS = re.compile(r"HTTP (?:response|error) code:? *(\d{3})", re.IGNORECASE)
_NETWORK = re.compile(r"CURL error|timed out|timeout|resolve host|connect", re.IGNORECASE)
T = TypeVar("T")
Bounds = Tuple[float, float, float, float]


class Forbidden(RuntimeError):
    """The storage refused the read (HTTP 401/403): the access token expired or is missing."""


@dataclass(frozen=True)
class Window:
    """Where a target grid lies in a source raster: (row, col) offsets of the target's origin in
    source pixels, and the overlap as (target row, target col, source row, source col, rows, cols)."""

    row: int
    col: int
    overlap: Optional[Tuple[int, int, int, int, int, int]]


@contextlib.contextmanager
def http_options(overrides: Optional[Dict[str, str]] = None) -> Iterator[None]:
    """Set :data:`HTTP_OPTIONS` (and ``overrides``) for this thread; restore them on exit."""
    options = dict(HTTP_OPTIONS, **(overrides or {}))
    saved = {key: gdal.GetThreadLocalConfigOption(key, None) for key in options}
    try:
        for key, value in options.items():
            gdal.SetThreadLocalConfigOption(key, value)
        yield
    finally:
        for key, value in saved.items():
            gdal.SetThreadLocalConfigOption(key, value)


def open_remote(href: str) -> gdal.Dataset:
    """Open a COG at an http(s) address (or a local path); Forbidden on 401/403, RuntimeError
    (with GDAL's message) on other failures."""
    path = _vsi(href)
    try:
        return gdal.Open(path)
    except RuntimeError as err:
        _refused(err, path)
        raise


def read_remote_file(href: str) -> bytes:
    """The whole content of a small remote file (GDAL /vsicurl/); Forbidden on 401/403,
    RuntimeError on other failures."""
    path = _vsi(href)
    try:
        handle = gdal.VSIFOpenL(path, "rb")
    except RuntimeError as err:
        _refused(err, path)
        raise
    if handle is None:
        gdal.VSICurlPartialClearCache(path)
        raise RuntimeError(f"cannot open {href.split('?')[0]}")
    try:
        chunks = []
        while True:
            chunk = gdal.VSIFReadL(1, 1 << 16, handle)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        gdal.VSIFCloseL(handle)


def _vsi(href: str) -> str:
    """GDAL's path of an address: /vsicurl/ for http(s), the path itself otherwise."""
    return "/vsicurl/" + href if href.lower().startswith(("http://", "https://")) else href


def _refused(err: RuntimeError, path: str) -> None:
    """Drop GDAL's cached answer for ``path`` (a retry must ask the server again: GDAL would
    otherwise say 'does not exist' without asking); raise Forbidden for HTTP 401/403."""
    gdal.VSICurlPartialClearCache(path)
    if http_status(str(err)) in (401, 403):
        raise Forbidden(str(err)) from err


def http_status(message: str) -> Optional[int]:
    """The HTTP status named in a GDAL error message, if any."""
    match = _HTTP_STATUS.search(message)
    return int(match.group(1)) if match else None


def is_transient(err: Exception) -> bool:
    """True for errors worth retrying: 429, 5xx, time-outs and connection failures."""
    if isinstance(err, Forbidden):
        return False
    status = http_status(str(err))
    if status is not None:
        return status == 429 or status >= 500
    return bool(_NETWORK.search(str(err)))


def with_retries(read: Callable[[], T], attempts: int, delay: float,
                 on_forbidden: Callable[[], None], sleep: Callable[[float], None] = time.sleep) -> T:
    """``read()``, again after transient errors (waiting ``delay`` seconds, doubled each time) and
    once after a Forbidden (after ``on_forbidden()``, e.g. fetching a new token)."""
    renewed, failures = False, 0
    while True:
        try:
            return read()
        except Forbidden:
            if renewed:
                raise
            renewed = True
            on_forbidden()
        except RuntimeError as err:
            failures += 1
            if not is_transient(err) or failures >= attempts:
                raise
            sleep(delay * 2 ** (failures - 1))


def lattice_grid(source: Grid, bounds: Bounds, crs_wkt: str) -> Grid:
    """The grid on ``source``'s lattice (origin, pixel size, CRS) covering ``bounds`` (xmin, ymin,
    xmax, ymax in ``crs_wkt``), snapped outward to whole pixels; not limited to the source's extent."""
    x0, y0, x1, y1 = transform_bounds(bounds, crs_wkt, source.crs_wkt)
    gx0, dx, _, gy0, _, dy = source.transform
    c0, c1 = int(np.floor((x0 - gx0) / dx + 1e-9)), int(np.ceil((x1 - gx0) / dx - 1e-9))
    r0, r1 = int(np.floor((y1 - gy0) / dy + 1e-9)), int(np.ceil((y0 - gy0) / dy - 1e-9))
    return source.window(r0, c0, max(r1 - r0, 0), max(c1 - c0, 0))


def transform_bounds(bounds: Bounds, from_wkt: str, to_wkt: str) -> Bounds:
    """``bounds`` from one CRS to another (edges densified, so curved edges are covered)."""
    source, target = _srs(from_wkt), _srs(to_wkt)
    if source.IsSame(target):
        return bounds
    return osr.CoordinateTransformation(source, target).TransformBounds(*bounds, 21)


def locate(target: Grid, source: Grid) -> Window:
    """Where ``target`` (on ``source``'s lattice) lies in ``source``; InputError when the lattices
    differ (another CRS, pixel size or a non-whole-pixel offset)."""
    if not target.same_crs(source) or abs(target.transform[1] - source.transform[1]) > 1e-9 * abs(
            source.transform[1]) or abs(target.transform[5] - source.transform[5]) > 1e-9 * abs(
            source.transform[5]):
        raise InputError("The rasters are not on the same grid (CRS or pixel size differ).")
    col = (target.transform[0] - source.transform[0]) / source.transform[1]
    row = (target.transform[3] - source.transform[3]) / source.transform[5]
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        raise InputError("The rasters are not on the same grid (offset of a fraction of a pixel).")
    row, col = int(round(row)), int(round(col))
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + target.height, source.height), min(col + target.width, source.width)
    if r1 <= r0 or c1 <= c0:
        return Window(row, col, None)
    return Window(row, col, (r0 - row, c0 - col, r0, c0, r1 - r0, c1 - c0))


def read_overlap(ds: gdal.Dataset, band: int, window: Window) -> np.ndarray:
    """The source pixels of ``window``'s overlap, (rows, cols) in the band's own type (DN)."""
    _, _, row, col, rows, cols = window.overlap
    return ds.GetRasterBand(band).ReadAsArray(col, row, cols, rows)


def dataset_grid(ds: gdal.Dataset, name: str) -> Grid:
    """The grid of an opened asset; InputError when it has no CRS or is rotated."""
    grid = grid_of(ds)
    if not grid.crs_wkt:
        raise InputError(f"{name} has no coordinate reference system.")
    if grid.transform[2] or grid.transform[4]:
        raise InputError(f"{name} has a rotated grid, which the download does not handle.")
    return grid


def _srs(wkt: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs
