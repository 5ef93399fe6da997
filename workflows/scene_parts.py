"""One large scene split over a cluster: strips of tiles computed by workers, assembled by the client.

Why per-strip files: GDAL cannot write one GeoTIFF from several processes (each
keeps its own block cache and rewrites the file's directory and tile offsets
when it flushes), so each unit writes its own small GeoTIFF of one strip (a
``common.tiling.Part``: whole rows of the method's own tiles, whose halos it
reads from the full inputs) into a hidden folder beside the output. When every
strip is written the client stacks them in a VRT and copies it with one
``gdal.Translate`` into a temporary GeoTIFF (the plugin's creation options),
which is then renamed onto the output; the folder of strips is always deleted.
A cancelled or failed run therefore never leaves a partial output. (A VRT left
pointing at the strips would avoid the copy, but leave hundreds of files and a
slower read for every later use.)

The result is bit-identical to the in-process run: the strips are cut from the
tiles the in-process run uses (tile size balanced over the whole scene) and
each unit computes the method's global statistics from the whole inputs (a
cheap pass compared with the window kernels), so every tile sees the same
numbers. Strips, not square blocks, keep the VRT at one source per strip.
"""
import os
import shutil
import uuid
from typing import Callable, Dict, List, Optional

from osgeo import gdal

from ..common.progress import Progress, ensure
from ..common.raster_io import GTIFF_OPTIONS, open_raster, remove_quietly, replace_atomically
from ..common.tiling import Part
from .cluster import InProcess, Unit

gdal.UseExceptions()

PARTS_PER_WORKER = 2
"""Strips per worker: some balance when strips run at different speeds, little overhead."""


def run_scene(func: Callable, kwargs: Dict, out_path: str, runner=None, progress: Optional[Progress] = None,
              parts: int = 0) -> Dict:
    """``func(**kwargs, out_path=..., progress=...)``, or on a cluster runner the same in strips.

    ``func`` is ``run_starfm``, ``run_estarfm`` or ``fuse_paths`` (any function with
    ``out_path``, ``progress`` and ``part`` that returns a dict). ``parts`` defaults to
    :data:`PARTS_PER_WORKER` per worker. Returns ``func``'s dict with integer counts and
    'valid_fraction' summed over the strips and other items from the first strip.
    """
    progress = ensure(progress)
    runner = runner or InProcess()
    if isinstance(runner, InProcess):
        return func(**kwargs, out_path=out_path, progress=progress)
    count = parts or PARTS_PER_WORKER * runner.workers
    folder = os.path.join(os.path.dirname(os.path.abspath(out_path)),
                          f".{os.path.basename(out_path)}.{uuid.uuid4().hex[:8]}.parts")
    os.makedirs(folder)
    paths = [os.path.join(folder, f"part_{i:04d}.tif") for i in range(count)]
    units = [Unit(f"strip {i + 1}/{count}", func, (), dict(kwargs, out_path=paths[i], part=Part(i, count)))
             for i in range(count)]
    try:
        results: List[Optional[Dict]] = [None] * count
        for i, result in runner.run(units, progress.sub(0, 95)):
            results[i] = result
        progress.info(f"Assembling {count} strips into {out_path}.")
        assemble([p for p in paths if os.path.exists(p)], out_path, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    progress.report(100.0)
    return merge_results(results)


def assemble(parts: List[str], out_path: str, folder: str) -> str:
    """Copy the strip rasters, through a VRT, into one GeoTIFF at ``out_path`` (temporary file, rename).

    The output keeps the strips' data type, no-data value, units and metadata (those of the first strip).
    """
    first = open_raster(parts[0])
    vrt = gdal.BuildVRT(os.path.join(folder, "scene.vrt"), parts)
    vrt.SetMetadata(first.GetMetadata())
    for b in range(1, first.RasterCount + 1):
        source, band = first.GetRasterBand(b), vrt.GetRasterBand(b)
        band.SetUnitType(source.GetUnitType())
        band.SetDescription(source.GetDescription())
    tmp = os.path.join(os.path.dirname(os.path.abspath(out_path)),
                       f".{os.path.basename(out_path)}.{uuid.uuid4().hex[:8]}.partial.tif")
    try:
        gdal.Translate(tmp, vrt, format="GTiff", creationOptions=GTIFF_OPTIONS)
    except BaseException:
        remove_quietly(tmp)
        raise
    vrt = None
    replace_atomically(tmp, out_path)
    return out_path


def merge_results(results: List[Dict]) -> Dict:
    """One result from the strips': integer counts and 'valid_fraction' summed, the rest from the first."""
    merged = {}
    for result in results:  # a strip without tiles lacks the kernel's counters
        for key, value in result.items():
            merged.setdefault(key, value)
    for key, value in merged.items():
        if key == "valid_fraction" or (isinstance(value, int) and not isinstance(value, bool)):
            merged[key] = sum(r.get(key, 0) for r in results)
    return merged
