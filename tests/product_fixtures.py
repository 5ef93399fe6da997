"""Landsat Collection 2 Level-2 scenes and MODIS GeoTIFF exports written by the tests themselves.

The Landsat scene lies in UTM 24S (EPSG:32724) inside the real MOD11A1 granule
h14v09 (north-east Brazil, 2019-11-01), over pixels that granule has valid.
"""
import os

import numpy as np
from osgeo import gdal

from helpers import write_tif

gdal.UseExceptions()

UTM_24S = 32724
ORIGIN = (546300.0, 9281310.0)  # upper-left corner, multiple of 30 m
QA_CLEAR = 21824  # Collection 2 QA_PIXEL of clear land: bit 6 clear, low confidences (bits 8-15)
QA_FILL = 1
QA_DILATED = QA_CLEAR - 64 + (1 << 1)
QA_CIRRUS = QA_CLEAR - 64 + (1 << 2)
QA_CLOUD = 22280  # bit 3 cloud + high cloud confidence
QA_SHADOW = 23888  # bit 4 cloud shadow + high shadow confidence
QA_SNOW = QA_CLEAR - 64 + (1 << 5)

MTL_TEMPLATE = """GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    LANDSAT_PRODUCT_ID = "{pid}"
    PROCESSING_LEVEL = "L2SP"
    FILE_NAME_BAND_ST_B10 = "{pid}_ST_B10.TIF"
    FILE_NAME_QUALITY_L1_PIXEL = "{pid}_QA_PIXEL.TIF"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS
    TEMPERATURE_MAXIMUM_BAND_ST_B10 = 372.999941
    TEMPERATURE_MINIMUM_BAND_ST_B10 = 149.003418
    QUANTIZE_CAL_MAXIMUM_BAND_ST_B10 = 65535
    QUANTIZE_CAL_MINIMUM_BAND_ST_B10 = 1
{scale_lines}  END_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def product_id(date: str, path_row: str = "217065") -> str:
    """A Landsat 8 Collection 2 Level-2 product id for 'YYYYMMDD'."""
    return f"LC08_L2SP_{path_row}_{date}_{date[:4]}1231_02_T1"


def kelvin_field(rows: int, cols: int, seed: int = 0, base: float = 305.0) -> np.ndarray:
    """A realistic LST field in K (rows, cols): gradient, a cool field block, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    field = base + 6.0 * x - 3.0 * y + rng.normal(0.0, 0.5, (rows, cols))
    field[rows // 4: rows // 2, cols // 2: 3 * cols // 4] -= 7.0
    return field


def write_landsat_scene(folder, date: str, kelvin: np.ndarray, qa: np.ndarray = None,
                        mtl_scale=(0.00341802, 149.0), mtl: bool = True, origin=ORIGIN) -> dict:
    """Write <pid>_ST_B10.TIF (UInt16 DN, 0 = fill), <pid>_QA_PIXEL.TIF and <pid>_MTL.txt.

    ``kelvin`` (rows, cols) with NaN = fill; ``mtl_scale`` (mult, add) is used both to
    encode the DN and in the MTL (None: an MTL without the thermal scale lines).
    Returns {'st', 'qa', 'mtl', 'pid', 'transform'}.
    """
    os.makedirs(folder, exist_ok=True)
    pid = product_id(date)
    mult, add = mtl_scale or (0.00341802, 149.0)
    dn = np.where(np.isfinite(kelvin), np.round((np.nan_to_num(kelvin) - add) / mult), 0).astype(np.uint16)
    transform = (origin[0], 30.0, 0.0, origin[1], 0.0, -30.0)
    st = write_tif(os.path.join(folder, f"{pid}_ST_B10.TIF"), dn, transform, UTM_24S, nodata=0,
                   dtype=gdal.GDT_UInt16)
    if qa is None:
        qa = np.where(np.isfinite(kelvin), QA_CLEAR, QA_FILL)
    qa_path = write_tif(os.path.join(folder, f"{pid}_QA_PIXEL.TIF"), qa.astype(np.uint16), transform,
                        UTM_24S, nodata=1, dtype=gdal.GDT_UInt16)
    mtl_path = None
    if mtl:
        lines = ""
        if mtl_scale:
            lines = (f"    TEMPERATURE_MULT_BAND_ST_B10 = {mult}\n"
                     f"    TEMPERATURE_ADD_BAND_ST_B10 = {add}\n")
        mtl_path = os.path.join(folder, f"{pid}_MTL.txt")
        with open(mtl_path, "w") as f:
            f.write(MTL_TEMPLATE.format(pid=pid, scale_lines=lines))
    return {"st": st, "qa": qa_path, "mtl": mtl_path, "pid": pid, "transform": transform, "dn": dn}


MODIS_PIXEL = 926.6254331383334
MODIS_TRANSFORM = (-4447802.079066 + 193 * MODIS_PIXEL, MODIS_PIXEL, 0.0, -773 * MODIS_PIXEL, 0.0, -MODIS_PIXEL)
"""A 20 x 20 window of tile h14v09's grid around the Landsat fixture."""


def sinusoidal_wkt() -> str:
    """The MODIS sinusoidal CRS, as in the granules."""
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromProj4("+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs")
    return srs.ExportToWkt()


def write_modis_export(folder, doy: str, kelvin: np.ndarray, qc: np.ndarray = None,
                       transform=None) -> dict:
    """AppEEARS-style exports: MOD11A1.061_LST_Day_1km_doyYYYYDDD_aid0001.tif (UInt16 DN x 0.02,
    0 = fill, no scale metadata) and its QC_Day sibling. ``kelvin`` NaN = fill."""
    os.makedirs(folder, exist_ok=True)
    transform = transform or MODIS_TRANSFORM
    dn = np.where(np.isfinite(kelvin), np.round(np.nan_to_num(kelvin) / 0.02), 0).astype(np.uint16)
    lst = os.path.join(folder, f"MOD11A1.061_LST_Day_1km_doy{doy}_aid0001.tif")
    qc_path = os.path.join(folder, f"MOD11A1.061_QC_Day_doy{doy}_aid0001.tif")
    for path, data, dtype in ((lst, dn, gdal.GDT_UInt16),
                              (qc_path, np.zeros(dn.shape, np.uint8) if qc is None else qc, gdal.GDT_Byte)):
        ds = gdal.GetDriverByName("GTiff").Create(path, dn.shape[1], dn.shape[0], 1, dtype)
        ds.SetGeoTransform(transform)
        ds.SetProjection(sinusoidal_wkt())
        ds.GetRasterBand(1).WriteArray(np.asarray(data))
        ds = None
    return {"lst": lst, "qc": qc_path, "dn": dn, "transform": transform}
