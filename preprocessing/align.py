"""Geo-aware reprojection and resampling of a raster onto a reference grid.

Used to put coarse (MODIS) LST on the exact grid of a fine (Landsat) raster:
same CRS, extent, pixel size and alignment. No-data is never averaged into a
value, and gaps are propagated: an output pixel is no-data when the source
pixel under its centre is no-data (decided by a nearest-neighbour warp of the
same source), whatever resampling produced the values. With ``average`` an
output pixel is the mean of the valid source pixels it covers.
"""
import os
import tempfile
from typing import Optional

import numpy as np
from osgeo import gdal, osr

from ..common.errors import Cancelled, InputError
from ..common.grid import Grid, crs_name
from ..common.progress import Progress, ensure
from ..common.raster_io import (GTIFF_OPTIONS, RasterWriter, band_description, grid_of, has_valid_pixel,
                                open_raster, read_band, read_units, remove_quietly)

RESAMPLING_METHODS = ("nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average")
"""Resampling names accepted by :func:`align_to_grid`, in the order of the Processing enum."""

_GDAL_NAMES = {"nearest": "near"}


def align_to_grid(src_path: str, reference: Grid, out_path: str, resampling: str = "bilinear",
                  band: int = 1, progress: Optional[Progress] = None) -> dict:
    """Warp band ``band`` of ``src_path`` onto ``reference`` and write a Float32 GeoTIFF.

    Values keep their units (the source's units metadata is carried over).
    Returns {'valid_fraction': share of valid output pixels (0-1)}.
    Raises InputError for a missing CRS, no overlap or an all-no-data source.
    """
    progress = ensure(progress)
    if resampling not in RESAMPLING_METHODS:
        raise InputError(f"Unknown resampling '{resampling}'; use one of {', '.join(RESAMPLING_METHODS)}.")
    src = open_raster(src_path)
    source = grid_of(src)
    if not source.crs_wkt:
        raise InputError(f"{src_path} has no coordinate reference system: assign its CRS "
                         "(Raster > Projections > Assign Projection) before aligning it.")
    if not reference.crs_wkt:
        raise InputError("The reference raster has no coordinate reference system: "
                         "assign its CRS before using it as a target grid.")
    check_overlap(source, reference, src_path)
    if not has_valid_pixel(src_path, band):
        raise InputError(f"{src_path} is entirely no-data: there is nothing to align.")

    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    values_tmp = tempfile.mktemp(suffix=".values.tif", dir=folder, prefix=".align.")
    near_tmp = tempfile.mktemp(suffix=".near.tif", dir=folder, prefix=".align.")
    try:
        _warp(src, band, reference, values_tmp, resampling, progress.sub(0, 60))
        validity_path = values_tmp
        if resampling not in ("nearest", "average"):
            _warp(src, band, reference, near_tmp, "nearest", progress.sub(60, 90))
            validity_path = near_tmp
        valid = _combine(values_tmp, validity_path, reference, out_path,
                         read_units(src_path), progress.sub(90, 100))
    finally:
        remove_quietly(values_tmp)
        remove_quietly(near_tmp)
    fraction = valid / float(reference.width * reference.height)
    if valid == 0:
        remove_quietly(out_path)
        raise InputError(f"No valid pixel of {src_path} falls inside the reference grid "
                         "(the overlap holds only no-data).")
    return {"valid_fraction": fraction}


def check_overlap(source: Grid, reference: Grid, src_name: str) -> None:
    """InputError when the source's footprint does not intersect the reference extent."""
    to_ref = osr.CoordinateTransformation(source.srs(), reference.srs())
    sx0, sy0, sx1, sy1 = source.bounds
    try:
        x0, y0, x1, y1 = to_ref.TransformBounds(sx0, sy0, sx1, sy1, 21)
    except RuntimeError as err:
        raise InputError(f"{src_name} ({crs_name(source.crs_wkt)}) cannot be transformed to the "
                         f"reference CRS {crs_name(reference.crs_wkt)}: {err}") from err
    rx0, ry0, rx1, ry1 = reference.bounds
    if not (np.isfinite([x0, y0, x1, y1]).all() and x0 < rx1 and x1 > rx0 and y0 < ry1 and y1 > ry0):
        raise InputError(
            f"{src_name} does not overlap the reference raster: its extent in "
            f"{crs_name(reference.crs_wkt)} is ({x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}), "
            f"the reference's is ({rx0:.6g}, {ry0:.6g}, {rx1:.6g}, {ry1:.6g}).")


def _warp(src: gdal.Dataset, band: int, reference: Grid, out_path: str, resampling: str,
          progress: Progress) -> None:
    """gdal.Warp one band onto the reference grid, honouring cancel."""
    src_nodata = src.GetRasterBand(band).GetNoDataValue()
    # GDAL 3.6's Warp has no band selection: warp a one-band virtual view instead
    one_band = gdal.Translate("", src, format="VRT", bandList=[band])

    def callback(complete, _message, _data):
        progress.report(100.0 * complete)
        return 0 if progress.is_cancelled() else 1

    options = gdal.WarpOptions(
        format="GTiff", outputBounds=reference.bounds, width=reference.width,
        height=reference.height, dstSRS=reference.crs_wkt,
        resampleAlg=_GDAL_NAMES.get(resampling, resampling),
        srcNodata=src_nodata, dstNodata=np.nan, outputType=gdal.GDT_Float32,
        creationOptions=GTIFF_OPTIONS, warpMemoryLimit=256, multithread=True,
        callback=callback)
    try:
        gdal.Warp(out_path, one_band, options=options)
    except RuntimeError as err:
        if progress.is_cancelled():
            raise Cancelled("Cancelled by the user.") from err
        raise InputError(f"Reprojection failed: {err}") from err
    progress.check()


def _combine(values_path: str, validity_path: str, reference: Grid, out_path: str,
             units: Optional[str], progress: Progress) -> int:
    """Write values where the validity raster is valid; return the number of valid pixels."""
    values_ds, validity_ds = gdal.Open(values_path), gdal.Open(validity_path)
    rows_per_block = 256
    valid_count = 0
    with RasterWriter(out_path, reference, units=units, descriptions=[band_description("LST", units)]) as writer:
        for row in range(0, reference.height, rows_per_block):
            window = (row, 0, min(rows_per_block, reference.height - row), reference.width)
            block = read_band(values_ds, 1, window)
            if validity_path != values_path:
                block[~np.isfinite(read_band(validity_ds, 1, window))] = np.nan
            valid_count += int(np.isfinite(block).sum())
            writer.write(block, row, 0)
            progress.step(row + window[2], reference.height)
    return valid_count
