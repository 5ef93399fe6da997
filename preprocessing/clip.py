"""Cutting the common grid of a series to an extent or to polygons.

An extent (or the polygons' bounding box) cuts the grid to the pixels it
touches, snapped outward to whole pixels. Polygons also give a mask: pixels
whose centre lies outside every polygon are set to no-data in the outputs
and do not count as gaps. The mask is one byte per pixel of the cut grid.
"""
from typing import Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr, osr

from ..common.errors import InputError
from ..common.grid import Grid

Bounds = Tuple[float, float, float, float]


def _srs(wkt: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def clip_grid(grid: Grid, bounds: Bounds, crs_wkt: str) -> Grid:
    """The part of ``grid`` covering ``bounds`` (xmin, ymin, xmax, ymax in ``crs_wkt``), snapped outward.

    ``crs_wkt`` '' means the grid's CRS. InputError when the area does not overlap the grid.
    """
    x0, y0, x1, y1 = bounds
    if crs_wkt and not _srs(crs_wkt).IsSame(grid.srs()):
        to_grid = osr.CoordinateTransformation(_srs(crs_wkt), grid.srs())
        x0, y0, x1, y1 = to_grid.TransformBounds(x0, y0, x1, y1, 21)
    gx0, dx, _, gy0, _, dy = grid.transform
    c0 = max(0, int(np.floor((x0 - gx0) / dx + 1e-9)))
    c1 = min(grid.width, int(np.ceil((x1 - gx0) / dx - 1e-9)))
    r0 = max(0, int(np.floor((y1 - gy0) / dy + 1e-9)))
    r1 = min(grid.height, int(np.ceil((y0 - gy0) / dy - 1e-9)))
    if c1 <= c0 or r1 <= r0:
        raise InputError("The clip extent does not overlap the first Landsat scene "
                         f"(extent in its CRS: {x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}; scene: "
                         + ", ".join(f"{v:.6g}" for v in grid.bounds) + ").")
    return grid.window(r0, c0, r1 - r0, c1 - c0)


def polygons_bounds(polygons_wkt: Sequence[str]) -> Bounds:
    """(xmin, ymin, xmax, ymax) of polygons given as WKT; InputError when there is none."""
    envelopes = [ogr.CreateGeometryFromWkt(wkt).GetEnvelope() for wkt in polygons_wkt if wkt]
    if not envelopes:
        raise InputError("The clip layer holds no polygon.")
    xs0, xs1, ys0, ys1 = zip(*envelopes)
    return min(xs0), min(ys0), max(xs1), max(ys1)


def polygons_mask(grid: Grid, polygons_wkt: Sequence[str], crs_wkt: str) -> np.ndarray:
    """Boolean (rows, cols) of ``grid``: True where a pixel centre lies inside a polygon.

    Polygons are WKT in ``crs_wkt`` ('' = the grid's CRS). InputError when no pixel is inside.
    """
    raster = gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, gdal.GDT_Byte)
    raster.SetGeoTransform(grid.transform)
    raster.SetProjection(grid.crs_wkt)
    vector = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vector.CreateLayer("clip", grid.srs(), ogr.wkbMultiPolygon)
    to_grid = None
    if crs_wkt and not _srs(crs_wkt).IsSame(grid.srs()):
        to_grid = osr.CoordinateTransformation(_srs(crs_wkt), grid.srs())
    for wkt in polygons_wkt:
        geometry = ogr.CreateGeometryFromWkt(wkt)
        if to_grid is not None:
            geometry.Transform(to_grid)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    gdal.RasterizeLayer(raster, [1], layer, burn_values=[1])
    mask = raster.GetRasterBand(1).ReadAsArray().astype(bool)
    if not mask.any():
        raise InputError("No pixel centre of the first Landsat scene lies inside the clip polygons.")
    return mask
