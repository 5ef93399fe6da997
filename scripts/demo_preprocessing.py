"""The preprocessing part of `make demo`: from "downloaded" products to a series of pairs.

Writes a small folder of products as users download them (two Landsat Collection 2
Level-2 scenes with ST_B10, QA_PIXEL and MTL, one of them cloudy with cloud shadow,
and three MODIS MOD11A1 LST exports with their QC layers), then runs
landsatlst -> fillgaps on one scene and buildseries on the folders.
"""
import os


def write_downloads(folder):
    """Landsat and MODIS 'downloads' in folder/landsat and folder/modis; returns both folders."""
    import numpy as np
    from osgeo import gdal, osr

    rng = np.random.default_rng(7)
    utm, sinu = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32724)
    sinu.ImportFromProj4("+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs")

    def tif(path, array, transform, srs, dtype, nodata=None):
        ds = gdal.GetDriverByName("GTiff").Create(path, array.shape[1], array.shape[0], 1, dtype,
                                                  ["COMPRESS=DEFLATE"])
        ds.SetGeoTransform(transform)
        ds.SetProjection(srs.ExportToWkt())
        if nodata is not None:
            ds.GetRasterBand(1).SetNoDataValue(nodata)
        ds.GetRasterBand(1).WriteArray(array)

    y, x = np.mgrid[0:200, 0:200] / 200.0
    landsat = os.path.join(folder, "landsat")
    for date, shift in (("20191101", 0.0), ("20191117", 2.0)):
        pid = f"LC08_L2SP_217065_{date}_{date[:4]}1231_02_T1"
        scene = os.path.join(landsat, pid)
        os.makedirs(scene, exist_ok=True)
        kelvin = 303.0 + shift + 6 * x - 3 * y + rng.normal(0, 0.5, (200, 200))
        qa = np.full((200, 200), 21824, np.uint16)  # clear land
        if date == "20191101":
            qa[40:70, 50:90] = 22280  # cloud
            qa[75:90, 95:130] = 23888  # its shadow
        transform = (546300.0, 30.0, 0.0, 9281310.0, 0.0, -30.0)
        tif(os.path.join(scene, f"{pid}_ST_B10.TIF"), np.round((kelvin - 149.0) / 0.00341802).astype(np.uint16),
            transform, utm, gdal.GDT_UInt16, 0)
        tif(os.path.join(scene, f"{pid}_QA_PIXEL.TIF"), qa, transform, utm, gdal.GDT_UInt16, 1)
        with open(os.path.join(scene, f"{pid}_MTL.txt"), "w") as f:
            f.write("GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\n"
                    "    TEMPERATURE_MULT_BAND_ST_B10 = 0.00341802\n"
                    "    TEMPERATURE_ADD_BAND_ST_B10 = 149.0\n"
                    "END_GROUP = LEVEL2_SURFACE_TEMPERATURE_PARAMETERS\n")
    modis = os.path.join(folder, "modis")
    os.makedirs(modis, exist_ok=True)
    pixel = 926.6254331383334
    transform = (-4447802.079066 + 193 * pixel, pixel, 0.0, -773 * pixel, 0.0, -pixel)
    cy, cx = np.mgrid[0:20, 0:20] / 20.0
    for doy, shift in (("2019305", 0.0), ("2019313", 1.0), ("2019321", 2.0)):
        kelvin = 304.0 + shift + 6 * cx - 3 * cy
        qc = np.zeros((20, 20), np.uint8)
        qc[9, 10] = 0b11000001  # LST error > 3 K: masked by the survey's rule, then filled
        tif(os.path.join(modis, f"MOD11A1.061_LST_Day_1km_doy{doy}_aid0001.tif"),
            np.round(kelvin / 0.02).astype(np.uint16), transform, sinu, gdal.GDT_UInt16)
        tif(os.path.join(modis, f"MOD11A1.061_QC_Day_doy{doy}_aid0001.tif"), qc, transform, sinu, gdal.GDT_Byte)
    return modis, landsat


def run_preprocessing(run, out, first_step=2):
    """Run the preprocessing steps with the demo's ``run(step, algorithm, parameters)``,
    numbering them from ``first_step``."""
    modis, landsat = write_downloads(os.path.join(out, "downloads"))
    scene = os.path.join(landsat, "LC08_L2SP_217065_20191101_20191231_02_T1",
                         "LC08_L2SP_217065_20191101_20191231_02_T1_ST_B10.TIF")
    lst = run(f"{first_step}. Landsat ST_B10 to LST in °C, clouds and cloud shadow masked",
              "lstfusion:landsatlst",
              {"INPUT": scene, "UNITS": 1, "OUTPUT": os.path.join(out, "landsat_lst_20191101.tif")})
    print(f"    -> {lst['OUTPUT']} ({100 * lst['VALID_FRACTION']:.1f} % valid)")
    filled = run(f"{first_step + 1}. Fill the masked pixels (progressive focal mean)",
                 "lstfusion:fillgaps",
                 {"INPUT": lst["OUTPUT"], "METHOD": 0, "OUTPUT": os.path.join(out, "landsat_lst_filled.tif")})
    print(f"    -> {filled['OUTPUT']} ({int(filled['FILLED_PIXELS'])} pixels filled)")
    series = run(f"{first_step + 2}. Build a series of pairs from the download folders",
                 "lstfusion:buildseries",
                 {"MODIS_FOLDER": modis, "LANDSAT_FOLDER": landsat,
                  "OUTPUT_FOLDER": os.path.join(out, "series")})
    print(f"    -> {series['PAIRS']}: {int(series['PAIR_COUNT'])} pairs, "
          f"{int(series['COARSE_ONLY_COUNT'])} coarse-only date(s); summary in {series['SUMMARY']}")
