"""Preprocessing speed and memory: ingestion, gap filling (tiled vs whole array), IDW, temporal.

Each case runs in a child process so that its peak memory (VmHWM) is its own.
Prints one line per case: time, Mpx/s and peak resident memory.

    .venv/bin/python benchmarks/bench_preprocessing.py [--size 3000]
"""
import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin as plugin_on_path  # noqa: E402
MODIS_HDF = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "modis", "MOD11A1.A2019305.h14v09.hdf"))


def make_inputs(folder, size):
    """A cloudy LST raster (K) of size x size, two clear neighbour dates, and a Landsat DN + QA pair."""
    import numpy as np
    from osgeo import gdal, osr
    from scipy import ndimage
    from lst_fusion_plugin.common.grid import Grid
    from lst_fusion_plugin.common.raster_io import write_array

    rng = np.random.default_rng(0)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32724)
    grid = Grid(srs.ExportToWkt(), (500000.0, 30.0, 0.0, 9300000.0, 0.0, -30.0), size, size)
    y, x = np.mgrid[0:size, 0:size] / size
    clear = (300 + 8 * x - 4 * y + rng.normal(0, 0.5, (size, size))).astype(np.float32)
    smooth = ndimage.gaussian_filter(rng.random((size, size)), size / 100)
    clouds = smooth > np.quantile(smooth, 0.85)  # cloud blobs, 15 % of the scene
    cloudy = np.where(clouds, np.nan, clear).astype(np.float32)
    write_array(os.path.join(folder, "lst_20191105.tif"), cloudy, grid, units="kelvin")
    write_array(os.path.join(folder, "lst_20191101.tif"), clear - 2, grid, units="kelvin")
    write_array(os.path.join(folder, "lst_20191111.tif"), clear + 3, grid, units="kelvin")
    driver = gdal.GetDriverByName("GTiff")
    dn = np.round((clear - 149.0) / 0.00341802).astype(np.uint16)
    qa = np.where(clouds, 22280, 21824).astype(np.uint16)
    for name, data in (("LC08_L2SP_217065_20191105_20191231_02_T1_ST_B10.TIF", dn),
                       ("LC08_L2SP_217065_20191105_20191231_02_T1_QA_PIXEL.TIF", qa)):
        ds = driver.Create(os.path.join(folder, name), size, size, 1, gdal.GDT_UInt16,
                           ["COMPRESS=DEFLATE", "TILED=YES"])
        ds.SetGeoTransform(grid.transform)
        ds.SetProjection(grid.crs_wkt)
        ds.GetRasterBand(1).SetNoDataValue(0 if "ST_B10" in name else 1)
        ds.GetRasterBand(1).WriteArray(data)
        ds = None
    return float(clouds.mean())


def peak_mib():
    """Peak resident memory of this process in MiB: VmHWM (reset by exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(case, folder):
    """Run one case in this process; return the number of pixels processed."""
    from lst_fusion_plugin.preprocessing import gapfill
    from lst_fusion_plugin.preprocessing.landsat import landsat_to_lst
    from lst_fusion_plugin.preprocessing.modis import modis_to_lst
    from lst_fusion_plugin.common.raster_io import read_array, read_grid

    cloudy = os.path.join(folder, "lst_20191105.tif")
    out = os.path.join(folder, f"out_{case}.tif")
    pixels = read_grid(cloudy).width * read_grid(cloudy).height
    if case == "imports_only":
        return pixels
    if case == "landsat_ingest":
        landsat_to_lst(os.path.join(folder, "LC08_L2SP_217065_20191105_20191231_02_T1_ST_B10.TIF"), out)
    elif case == "modis_ingest_real_granule":
        modis_to_lst(MODIS_HDF, out)
        return 1200 * 1200
    elif case == "focal_tiled":
        gapfill.fill_gaps(cloudy, out, "focal")
    elif case == "focal_whole_array":
        gapfill.focal_fill_array(read_array(cloudy))
    elif case == "idw_gdal":
        gapfill.fill_gaps(cloudy, out, "idw")
    elif case == "temporal":
        series = [(dt.date(2019, 11, d), os.path.join(folder, f"lst_201911{d:02d}.tif")) for d in (1, 11)]
        gapfill.fill_gaps(cloudy, out, "temporal", series=series, date=dt.date(2019, 11, 5),
                          spatial_fallback=False)
    return pixels


CASES = ["imports_only", "landsat_ingest", "modis_ingest_real_granule", "focal_tiled", "focal_whole_array",
         "idw_gdal", "temporal"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--case")
    parser.add_argument("--folder")
    args = parser.parse_args()
    plugin_on_path()
    if args.case:  # child process
        started = time.perf_counter()
        pixels = run_case(args.case, args.folder)
        elapsed = time.perf_counter() - started
        peak = peak_mib()
        print(f"{elapsed} {pixels} {peak}")
        return
    with tempfile.TemporaryDirectory() as folder:
        cloud = make_inputs(folder, args.size)
        print(f"Preprocessing benchmark: {args.size} x {args.size} px ({args.size ** 2 / 1e6:.1f} Mpx), "
              f"{100 * cloud:.1f} % cloud gaps; one child process per case")
        print(f"{'case':28s} {'time s':>8s} {'Mpx/s':>8s} {'peak MiB':>9s}")
        for case in CASES:
            if case.startswith("modis") and not os.path.exists(MODIS_HDF):
                print(f"{case:28s} skipped: {MODIS_HDF} absent")
                continue
            done = subprocess.run([sys.executable, __file__, "--case", case, "--folder", folder],
                                  capture_output=True, text=True, check=True)
            elapsed, pixels, peak = map(float, done.stdout.split()[-3:])
            rate = "-" if case == "imports_only" else f"{pixels / elapsed / 1e6:.1f}"
            print(f"{case:28s} {elapsed:8.2f} {rate:>8s} {peak:9.0f}")


if __name__ == "__main__":
    main()
