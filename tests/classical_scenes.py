"""Small synthetic and real scenes for the STARFM/ESTARFM tests, written as GeoTIFFs."""
import os

import numpy as np

from conftest import yanco
from helpers import srs_wkt
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array

ESTARFM_NAMES = ("FINE_REF", "COARSE_REF", "FINE_REF2", "COARSE_REF2", "COARSE_TARGET")
YANCO_FILES = {
    "FINE_REF": "Landsat_LST_cloudrm_20160205.tif",
    "COARSE_REF": "MOD11A1_LST_cloudrm_20160205.tif",
    "FINE_REF2": "Landsat_LST_cloudrm_20160308.tif",
    "COARSE_REF2": "MOD11A1_LST_cloudrm_20160308.tif",
    "COARSE_TARGET": "MOD11A1_LST_cloudrm_20160218.tif",
}
SYNTHETIC_GRID = Grid(srs_wkt(32755), (500000.0, 30.0, 0.0, 6100000.0, 0.0, -30.0), 36, 36)


def synthetic_arrays(size: int = 36, seed: int = 2) -> dict:
    """Five (size, size) float32 Kelvin images with classes, 6 x 6 coarse blocks and no-data holes.

    The second fine image amplifies the first one's contrasts (so the regression
    slope V is far from 1), and the target coarse image is hot, capped at 314 K
    (so some ESTARFM predictions leave a 314.5 K valid range and are revised).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    classes = ((np.sin(xx / 5.0) + np.cos(yy / 4.0)) > 0).astype(float) + (xx > size // 2)
    fine1 = 295 + 4 * classes + rng.normal(0, 0.8, (size, size))
    fine2 = fine1 * 1.6 - 0.6 * 290 + rng.normal(0, 0.5, (size, size))

    def coarse(fine, bias):
        k = 6
        blocks = fine.reshape(size // k, k, size // k, k).mean(axis=(1, 3))
        return np.kron(blocks, np.ones((k, k))) + bias

    arrays = [fine1, coarse(fine1, -0.3), fine2, coarse(fine2, 1.0), np.minimum(coarse(fine2, 6.0), 314.0)]
    arrays = [a.astype(np.float32) for a in arrays]
    arrays[0][5, 7] = np.nan
    arrays[2][20:23, 3:6] = np.nan
    arrays[4][30, 30] = np.nan
    return dict(zip(ESTARFM_NAMES, arrays))


def write_scene(folder, arrays: dict, grid: Grid, units=None, suffix: str = "") -> dict:
    """Write named arrays as GeoTIFFs in ``folder``; return {name: path}."""
    paths = {}
    for name, array in arrays.items():
        path = os.path.join(str(folder), f"{name.lower()}{suffix}.tif")
        write_array(path, array, grid, units=units)
        paths[name] = path
    return paths


def yanco_crop(row: int, col: int, size: int, holes: bool = True):
    """(arrays, grid) of a size x size crop of the five Yanco images, with a few no-data pixels added."""
    arrays = {name: read_array(yanco(f), window=(row, col, size, size)) for name, f in YANCO_FILES.items()}
    if holes:
        arrays["FINE_REF"][3, 4] = np.nan
        arrays["COARSE_TARGET"][10:14, 5:9] = np.nan
        arrays["FINE_REF2"][size - 3, size - 8:size - 4] = np.nan
    grid = read_grid(yanco(YANCO_FILES["FINE_REF"])).window(row, col, size, size)
    return arrays, grid
