"""Small raster fixtures written by the tests themselves."""
import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def srs_wkt(epsg: int) -> str:
    """WKT of an EPSG code."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def write_tif(path, array, transform, epsg=None, nodata=None, dtype=gdal.GDT_Float32):
    """Write a one-band GeoTIFF (epsg None = no CRS) and return its path."""
    rows, cols = array.shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, 1, dtype)
    ds.SetGeoTransform(transform)
    if epsg is not None:
        ds.SetProjection(srs_wkt(epsg))
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(np.asarray(array))
    ds = None
    return str(path)


def pixel_centres(transform, rows, cols):
    """(x, y) arrays of pixel centres of a north-up grid."""
    x0, dx, _, y0, _, dy = transform
    cols_idx, rows_idx = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    return x0 + cols_idx * dx, y0 + rows_idx * dy
