"""Evaluation masks: polygons burnt onto a raster grid."""
from typing import Iterable

from osgeo import gdal, ogr, osr

from ..common.errors import InputError
from ..common.grid import Grid
from ..common.raster_io import GTIFF_OPTIONS

gdal.UseExceptions()
ogr.UseExceptions()


def rasterize_polygons(wkb_geometries: Iterable[bytes], grid: Grid, out_path: str) -> str:
    """Write a Byte GeoTIFF on ``grid``: 1 where a pixel centre lies inside a polygon, else 0.

    ``wkb_geometries`` are polygons in the grid's CRS (WKB). InputError when there
    is none or none covers a pixel centre. Returns ``out_path``.
    """
    source = ogr.GetDriverByName("Memory").CreateDataSource("mask")
    srs = None
    if grid.crs_wkt:
        srs = osr.SpatialReference()
        srs.ImportFromWkt(grid.crs_wkt)
    layer = source.CreateLayer("mask", srs, ogr.wkbMultiPolygon)
    count = 0
    for wkb in wkb_geometries:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkb(bytes(wkb)))
        layer.CreateFeature(feature)
        count += 1
    if count == 0:
        raise InputError("The mask layer holds no polygon.")
    ds = gdal.GetDriverByName("GTiff").Create(out_path, grid.width, grid.height, 1, gdal.GDT_Byte,
                                              GTIFF_OPTIONS[:1] + ["TILED=YES"])
    ds.SetGeoTransform(grid.transform)
    if grid.crs_wkt:
        ds.SetProjection(grid.crs_wkt)
    gdal.RasterizeLayer(ds, [1], layer, burn_values=[1])
    inside = ds.GetRasterBand(1).ComputeRasterMinMax(False)[1]
    ds = None
    if inside < 1:
        raise InputError("The mask polygons cover no pixel centre of the prediction's grid "
                         "(do they overlap it?).")
    return out_path
