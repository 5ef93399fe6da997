"""From an area and a date range to MODIS and Landsat LST windows on disk, from a STAC API.

For every item found (:mod:`.stac_catalogue`), only the window covering the area is read from
the asset COGs (:mod:`.cog_window`: HTTP range requests), in the product's own grid and values
(DN, not rescaled), with its quality band beside it, and written as the USGS / NASA files are
named, so that ``buildseries`` reads the folders unchanged:

    OUTPUT/modis/MOD11A1.A2020200.h18v04.061.2020201095403.tif
        UInt16 bands named LST_Day_1km, QC_Day (and/or LST_Night_1km, QC_Night) on the sinusoidal
        grid, cut to the part of the tile in the area; LST has no-data 0 and scale 0.02 (K).
    OUTPUT/landsat/<product id>/<product id>_ST_B10.TIF   (ST_B6 for Landsat 4-7; no-data 0)
    OUTPUT/landsat/<product id>/<product id>_QA_PIXEL.TIF (no-data 1 = fill)
    OUTPUT/landsat/<product id>/<product id>_MTL.txt      (the scene's metadata: ST scale and offset)
    OUTPUT/download_summary.txt                           one line per item: written, skipped, why

Landsat windows cover the whole area on the scene's 30 m UTM grid (fill outside the scene), so
the first scene's window is a grid that covers the area for ``buildseries``. Several path/rows
of one date (same WRS path, same UTM zone, same lattice) are mosaicked into one window named
after the first scene, because ``buildseries`` uses one Landsat scene per date; a scene of the
same date in another UTM zone is left out (said in the summary). MODIS tiles are written apart,
each cut to the area: ``buildseries`` mosaics the tiles of a date (Terra preferred to Aqua).

Resumable: every file is written to a temporary name and renamed when complete, and carries the
area, items and assets it was read for; an item whose files are on disk for the same request is
skipped without any network access. Transient HTTP errors are retried with back-off (GDAL, then
the whole item); access tokens are renewed before they expire and after a refused read.
"""
import datetime as dt
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, osr

from ..common.errors import InputError
from ..common.grid import Grid
from ..common.progress import Progress, ensure
from ..common.raster_io import remove_quietly, replace_atomically
from .cog_window import (Bounds, Forbidden, Window, dataset_grid, http_options, lattice_grid, locate,
                         open_remote, read_overlap, read_remote_file, transform_bounds, with_retries)
from .stac_catalogue import (DEFAULT_API, LANDSAT_COLLECTION, MODIS_COLLECTION, Product, Search, item_date,
                             item_platform, product, search_items)
from .stac_signing import Signer, default_token_url

AUTO = "auto"
SUMMARY_NAME = "download_summary.txt"
STAMP_KEY = "LSTFUSION_REQUEST"
FILE_BAND = {"lwir11": "ST_B10", "lwir": "ST_B6", "qa_pixel": "QA_PIXEL"}
"""Landsat asset key -> the band name in USGS file names."""
DEFAULT_NODATA = {"LST_Day_1km": 0, "LST_Night_1km": 0, "lwir11": 0, "lwir": 0, "qa_pixel": 1}
"""No-data of the products' bands (used when a COG declares none)."""
MODIS_SCALE = {"LST_Day_1km": 0.02, "LST_Night_1km": 0.02}
WGS84 = osr.SRS_WKT_WGS84_LAT_LONG
_GTIFF = ["COMPRESS=DEFLATE", "PREDICTOR=2", "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"]


@dataclass
class DownloadRequest:
    """What to download. ``area`` is (xmin, ymin, xmax, ymax) in ``area_crs`` (WKT; '' = WGS 84
    lon/lat degrees); dates are inclusive; ``products`` are keys of
    :data:`.stac_catalogue.PRODUCTS`; ``max_cloud`` is the largest Landsat scene cloud cover (%).
    ``token_url`` is the token service ('auto': Planetary Computer's for its API, none for others;
    None: never sign). ``retries`` counts the reads of an item; ``retry_delay`` (s) doubles each time."""

    area: Bounds
    area_crs: str
    start: dt.date
    end: dt.date
    products: Sequence[str]
    max_cloud: float = 100.0
    api_url: str = DEFAULT_API
    token_url: Optional[str] = AUTO
    retries: int = 3
    retry_delay: float = 2.0
    http: Dict[str, str] = field(default_factory=dict)
    """Extra GDAL HTTP settings (e.g. GDAL_HTTP_RETRY_DELAY) for the reads."""


@dataclass
class DownloadReport:
    """What :func:`download` did: the folders, counts and one line per item."""

    modis_folder: str
    landsat_folder: str
    summary_path: str
    found: int = 0
    written: int = 0
    skipped: int = 0
    empty: int = 0
    failed: int = 0
    lines: List[str] = field(default_factory=list)


@dataclass
class _Job:
    """One output: a MODIS granule, or the Landsat scene(s) of one date (``members``: (item,
    asset keys), first scene first)."""

    name: str
    date: dt.date
    collection: str
    members: List[Tuple[dict, Tuple[str, ...]]]

    @property
    def is_modis(self) -> bool:
        return self.collection == MODIS_COLLECTION


def download(request: DownloadRequest, out_folder: str, progress: Optional[Progress] = None,
             signer: Optional[Signer] = None) -> DownloadReport:
    """Search, then read and write every item's window; see the module docstring.

    InputError for a bad request, an unreachable catalogue, no item found, or when every item
    failed. ``signer`` replaces the one made from ``request.token_url`` (tests: a fake clock).
    """
    progress = ensure(progress)
    products = _check(request)
    signer = signer or Signer(default_token_url(request.api_url) if request.token_url == AUTO
                              else request.token_url)
    report = DownloadReport(os.path.join(out_folder, "modis"), os.path.join(out_folder, "landsat"),
                            os.path.join(out_folder, SUMMARY_NAME))
    bbox = transform_bounds(request.area, request.area_crs or WGS84, WGS84)
    jobs = []
    for collection in (MODIS_COLLECTION, LANDSAT_COLLECTION):
        wanted = [p for p in products if p.collection == collection]
        if not wanted:
            continue
        progress.check()
        progress.info(f"Searching {collection} at {request.api_url} ...")
        items = search_items(Search(request.api_url, collection, bbox, request.start, request.end,
                                    None if collection == MODIS_COLLECTION else request.max_cloud,
                                    backoff=request.retry_delay / 2))
        report.found += len(items)
        jobs += _modis_jobs(items, wanted) if collection == MODIS_COLLECTION else _landsat_jobs(items, wanted)
    if not jobs:
        raise InputError(
            f"No item found at {request.api_url} for {', '.join(p.label for p in products)} between "
            f"{request.start} and {request.end} over lon/lat {', '.join(f'{v:.4f}' for v in bbox)}"
            + (f" with at most {request.max_cloud:g} % cloud cover (Landsat)" if request.max_cloud < 100 else "")
            + ": widen the dates or the area, or raise the cloud limit.")
    for folder in (report.modis_folder, report.landsat_folder):  # both exist, for buildseries
        os.makedirs(folder, exist_ok=True)
    stamp_area = _area_key(request)
    with http_options(request.http):
        for i, job in enumerate(sorted(jobs, key=lambda j: (j.date, j.collection, j.name))):
            progress.check()
            line = _one_job(job, request, stamp_area, signer, report)
            report.lines.append(f"{job.date}: {line}")
            progress.info(report.lines[-1])
            progress.report(100.0 * (i + 1) / len(jobs))
    _write_summary(report, request, products)
    if report.failed and not (report.written or report.skipped or report.empty):
        raise InputError("Every item failed: " + "; ".join(report.lines[:3]))
    return report


def _check(request: DownloadRequest) -> List[Product]:
    """The requested products; InputError for an empty area, bad dates, cloud limit or products."""
    xmin, ymin, xmax, ymax = request.area
    if not (xmax > xmin and ymax > ymin):
        raise InputError("The area is empty: give an extent with a width and a height.")
    if request.end < request.start:
        raise InputError(f"The end date {request.end} is before the start date {request.start}.")
    if not 0 <= request.max_cloud <= 100:
        raise InputError(f"The cloud cover limit must be 0-100 %, not {request.max_cloud:g}.")
    if not request.products:
        raise InputError("Choose at least one product.")
    if not request.api_url.lower().startswith(("http://", "https://")):
        raise InputError(f"The STAC API address must start with http:// or https:// ({request.api_url}).")
    return [product(key) for key in request.products]


def _modis_jobs(items: List[dict], wanted: List[Product]) -> List[_Job]:
    """One job per granule of a wanted platform, with the day and/or night assets asked for."""
    jobs = []
    for item in items:
        assets = tuple(a for p in wanted if p.platform == item_platform(item) for a in p.assets)
        if assets:
            jobs.append(_Job(_file_stem(item, assets[0], f"_{assets[0]}.tif"), item_date(item),
                             MODIS_COLLECTION, [(item, assets)]))
    return jobs


def _landsat_jobs(items: List[dict], wanted: List[Product]) -> List[_Job]:
    """One job per date: its scenes of wanted platforms, in id order (path/row)."""
    assets_of = {p.platform: p.assets for p in wanted}
    by_date: Dict[dt.date, List[dict]] = {}
    for item in sorted(items, key=lambda i: i.get("id", "")):
        if item_platform(item) in assets_of:
            by_date.setdefault(item_date(item), []).append(item)
    jobs = []
    for date, scenes in by_date.items():
        members = [(s, assets_of[item_platform(s)]) for s in scenes]
        thermal = members[0][1][0]
        jobs.append(_Job(_file_stem(scenes[0], thermal, f"_{FILE_BAND[thermal]}.TIF"), date,
                         LANDSAT_COLLECTION, members))
    return jobs


def _file_stem(item: dict, asset: str, suffix: str) -> str:
    """The product's file name stem from an asset's href (which carries the processing date), or
    the item id when the href is named otherwise."""
    name = os.path.basename(_href(item, asset).split("?")[0])
    return name[: -len(suffix)] if name.lower().endswith(suffix.lower()) else item["id"]


def _href(item: dict, asset: str) -> str:
    """The href of ``asset``; InputError naming the item when it has no such asset."""
    try:
        return item["assets"][asset]["href"]
    except KeyError as err:
        raise InputError(f"STAC item {item.get('id')} has no '{asset}' asset (its assets: "
                         f"{', '.join(sorted(item.get('assets', {})))}).") from err


def _outputs(job: _Job, report: DownloadReport) -> Dict[str, str]:
    """{asset or 'mtl': path} of the job's files."""
    if job.is_modis:
        return {"": os.path.join(report.modis_folder, job.name + ".tif")}
    folder = os.path.join(report.landsat_folder, job.name)
    paths = {a: os.path.join(folder, f"{job.name}_{FILE_BAND[a]}.TIF") for a in job.members[0][1]}
    if "mtl.txt" in job.members[0][0].get("assets", {}):
        paths["mtl"] = os.path.join(folder, f"{job.name}_MTL.txt")
    return paths


def _one_job(job: _Job, request: DownloadRequest, area_key: str, signer: Signer,
             report: DownloadReport) -> str:
    """Read and write one job unless already on disk; the line saying what happened."""
    outputs = _outputs(job, report)
    stamp = f"{area_key}|{','.join(m[0]['id'] for m in job.members)}|{','.join(job.members[0][1])}"
    what = f"{'MODIS' if job.is_modis else 'Landsat'} {job.name}"
    if _on_disk(outputs, stamp):
        report.skipped += 1
        return f"{what}: already on disk, skipped"
    try:
        target, bands, notes = _read_job(job, request, signer)
        mtl = _read_mtl(job, request, signer) if "mtl" in outputs and target is not None else None
    except Forbidden as err:
        report.failed += 1
        return (f"{what}: the storage refused the read ({err}): the assets need an access token "
                "(TOKEN_URL) or the token service gave an invalid one")
    except RuntimeError as err:
        report.failed += 1
        return f"{what}: failed after {request.retries} tries ({err}); run again to resume"
    except InputError as err:
        report.failed += 1
        return f"{what}: not usable ({err})"
    if target is None or not _has_data(bands):
        report.empty += 1
        return f"{what}: no valid pixel in the area (outside the footprint), nothing written"
    _write(job, outputs, target, bands, stamp, request, mtl)
    report.written += 1
    return "; ".join([f"{what}: {target.width} x {target.height} pixels written"] + notes)


@dataclass
class _Band:
    """One band of a job's output: its asset key, values (rows, cols) in DN, no-data (or None)."""

    asset: str
    values: np.ndarray
    nodata: Optional[float]


def _read_job(job: _Job, request: DownloadRequest, signer: Signer
              ) -> Tuple[Optional[Grid], List[_Band], List[str]]:
    """(target grid, bands, notes): the window of every member read on the first one's lattice.

    InputError when the first member cannot be used; a later member on another lattice (another
    UTM zone on the same date) is left out with a note.
    """
    target: Optional[Grid] = None
    bands: List[_Band] = []
    notes: List[str] = []
    used: List[str] = []
    for item, assets in job.members:
        try:
            goal, window, values, nodata = with_retries(
                lambda: _read_member(item, assets, target, job, request, signer), request.retries,
                request.retry_delay, lambda: signer.forget(job.collection))
        except InputError as err:
            if target is None:
                raise
            notes.append(f"{item['id']} not used: {err} (vs {used[0]}; buildseries uses one Landsat scene "
                         "per date)")
            continue
        if target is None:
            target = goal
            bands = [_Band(a, np.full(goal.shape, n if n is not None else 0, v.dtype if v is not None
                                      else np.uint16), n) for a, v, n in zip(assets, values, nodata)]
        if window.overlap is not None:
            _paste(bands, window, values, first=not used)
        used.append(item["id"])
    if len(used) > 1:
        notes.append(f"mosaic of {', '.join(used)}")
    if target.width == 0 or target.height == 0:
        return None, bands, notes
    return target, bands, notes


def _read_member(item: dict, assets: Tuple[str, ...], target: Optional[Grid], job: _Job,
                 request: DownloadRequest, signer: Signer):
    """(target, window, overlap values per asset or None, no-data per asset) of one item; the
    target is made from this item's grid when there is none yet."""
    datasets = [open_remote(signer.sign(_href(item, a), job.collection)) for a in assets]
    grid = dataset_grid(datasets[0], f"{item['id']} {assets[0]}")
    goal = target or _target(grid, request, clip=job.is_modis)
    window = locate(goal, grid)
    values = [read_overlap(ds, 1, window) if window.overlap else None for ds in datasets]
    return goal, window, values, [_nodata(ds, a) for ds, a in zip(datasets, assets)]


def _target(grid: Grid, request: DownloadRequest, clip: bool) -> Grid:
    """The area on ``grid``'s lattice; with ``clip`` cut to ``grid``'s extent (MODIS tiles)."""
    goal = lattice_grid(grid, request.area, request.area_crs or WGS84)
    if not clip:
        return goal
    window = locate(goal, grid)
    if window.overlap is None:
        return goal.window(0, 0, 0, 0)
    row, col, _, _, rows, cols = window.overlap
    return goal.window(row, col, rows, cols)


def _nodata(ds: gdal.Dataset, asset: str) -> Optional[float]:
    """The band's declared no-data, else the product's (None for QC bands)."""
    value = ds.GetRasterBand(1).GetNoDataValue()
    return value if value is not None else DEFAULT_NODATA.get(asset)


def _paste(bands: List[_Band], window: Window, values: List[np.ndarray], first: bool) -> None:
    """Put a member's overlap into the bands: all of it for the first member, else only where
    the mosaic has no data yet (first band at no-data) and the member has."""
    rows, cols = window.overlap[4], window.overlap[5]
    r, c = window.overlap[0], window.overlap[1]
    key = bands[0]
    if first or key.nodata is None:
        take = np.ones((rows, cols), bool)
    else:
        take = (key.values[r:r + rows, c:c + cols] == key.nodata) & (values[0] != key.nodata)
    for band, new in zip(bands, values):
        band.values[r:r + rows, c:c + cols][take] = new[take]


def _has_data(bands: List[_Band]) -> bool:
    """True when the first band (LST / thermal) holds a pixel that is not no-data."""
    return bool(bands) and (bands[0].nodata is None or bool((bands[0].values != bands[0].nodata).any()))


def _read_mtl(job: _Job, request: DownloadRequest, signer: Signer) -> bytes:
    """The first scene's MTL text (a small file, read whole)."""
    item = job.members[0][0]
    return with_retries(lambda: read_remote_file(signer.sign(_href(item, "mtl.txt"), job.collection)),
                        request.retries, request.retry_delay, lambda: signer.forget(job.collection))


def _write(job: _Job, outputs: Dict[str, str], grid: Grid, bands: List[_Band], stamp: str,
           request: DownloadRequest, mtl: Optional[bytes]) -> None:
    """Write the job's files (each to a temporary name, renamed when complete)."""
    metadata = {STAMP_KEY: stamp, "STAC_ITEMS": ",".join(m[0]["id"] for m in job.members),
                "STAC_API": request.api_url}
    if job.is_modis:
        _write_tif(outputs[""], grid, bands, metadata)
        return
    if mtl is not None:
        _write_bytes(outputs["mtl"], mtl)
    for band in reversed(bands):  # the thermal band last: its presence means the scene is complete
        _write_tif(outputs[band.asset], grid, [band], metadata)


def _write_tif(path: str, grid: Grid, bands: List[_Band], metadata: Dict[str, str]) -> None:
    """A tiled, compressed GeoTIFF of the bands in their own type, written atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.partial")
    try:
        dtype = gdal.GDT_UInt16 if all(b.values.dtype.itemsize <= 2 for b in bands) else gdal.GDT_Int32
        ds = gdal.GetDriverByName("GTiff").Create(tmp, grid.width, grid.height, len(bands), dtype, _GTIFF)
        ds.SetGeoTransform(grid.transform)
        ds.SetProjection(grid.crs_wkt)
        ds.SetMetadata(metadata)
        for i, band in enumerate(bands, start=1):
            out = ds.GetRasterBand(i)
            out.SetDescription(band.asset)
            if band.nodata is not None:
                out.SetNoDataValue(band.nodata)
            if band.asset in MODIS_SCALE:
                out.SetScale(MODIS_SCALE[band.asset])
                out.SetOffset(0.0)
            out.WriteArray(band.values)
        ds = None  # closes the file
        replace_atomically(tmp, path)
    finally:
        remove_quietly(tmp)


def _write_bytes(path: str, data: bytes) -> None:
    """Write a file atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.partial"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _on_disk(outputs: Dict[str, str], stamp: str) -> bool:
    """True when every output exists and the rasters were written for the same request."""
    for key, path in outputs.items():
        if not os.path.isfile(path):
            return False
        if key == "mtl":
            continue
        try:
            ds = gdal.Open(path)
        except RuntimeError:
            return False
        if ds is None or ds.GetMetadataItem(STAMP_KEY) != stamp or ds.RasterXSize * ds.RasterYSize == 0:
            return False
    return True


def _area_key(request: DownloadRequest) -> str:
    """The area as text, to recognise files written for the same area."""
    crs = hashlib.sha1((request.area_crs or WGS84).encode()).hexdigest()[:12]
    return ",".join(f"{v:.10g}" for v in request.area) + f"@{crs}"


def _write_summary(report: DownloadReport, request: DownloadRequest, products: List[Product]) -> None:
    """download_summary.txt: the request, the counts and one line per item."""
    header = [
        f"LST products downloaded by lstfusion:download from {request.api_url}",
        f"products: {', '.join(p.label for p in products)}; {request.start} to {request.end}; "
        f"area {', '.join(f'{v:.10g}' for v in request.area)}; Landsat cloud cover <= {request.max_cloud:g} %",
        f"{report.found} item(s) found; {report.written} written, {report.skipped} already on disk, "
        f"{report.empty} without data in the area, {report.failed} failed",
        "",
    ]
    with open(report.summary_path, "w", encoding="utf-8") as f:
        f.write("\n".join(header + report.lines) + "\n")
