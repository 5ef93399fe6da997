"""A small, fast synthetic fine/coarse LST series for the deep-learning tests.

The scene is a mosaic of land-cover parcels (irrigated crops, dry pasture,
bare soil, water, town) whose temperatures respond differently to each date's
weather: LST = air-driven base + class sensitivity x heating + parcel offset +
fine texture. Coarse images are the fine ones averaged over ``factor`` x
``factor`` pixels, bilinear back on the fine grid, plus a per-date sensor bias
and noise, as MODIS aligned onto Landsat. Values in Kelvin; arrays (rows, cols).
Tests need scenes of 32-48 pixels in milliseconds; the plugin's realistic
simulator is ``simulation.simulate`` (``lstfusion:simulate``).
"""
import datetime
import os
from typing import List

import numpy as np
from scipy import ndimage

from lst_fusion_plugin.models.deep.coarse_simulation import simulate_coarse
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.raster_io import write_array

# class: (base offset K, heating sensitivity)
CLASSES = ((-4.0, 0.4), (2.0, 1.0), (4.0, 1.3), (-8.0, 0.2), (3.0, 0.8))


def land_cover(rows: int, cols: int, rng: np.random.Generator, parcel: int = 12) -> np.ndarray:
    """(rows, cols) class indices: Voronoi-like parcels of about ``parcel`` pixels."""
    n = max(4, rows * cols // (parcel * parcel))
    centres = np.stack([rng.integers(0, rows, n), rng.integers(0, cols, n)], 1)
    labels = rng.integers(0, len(CLASSES), n)
    seeds = np.zeros((rows, cols), np.int32)
    seeds[centres[:, 0], centres[:, 1]] = np.arange(1, n + 1)
    _, (ri, ci) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
    return labels[seeds[ri, ci] - 1]


def make_scenes(rows: int, cols: int, dates: int, factor: int, seed: int = 0):
    """(fine, coarse) lists of (rows, cols) float32 Kelvin arrays for ``dates`` dates."""
    rng = np.random.default_rng(seed)
    cover = land_cover(rows, cols, rng)
    offset = np.array([c[0] for c in CLASSES], np.float32)[cover]
    sensitivity = np.array([c[1] for c in CLASSES], np.float32)[cover]
    texture = ndimage.gaussian_filter(rng.standard_normal((rows, cols)), 1.0).astype(np.float32)
    texture *= 1.0 / max(float(texture.std()), 1e-6)
    fines, coarses = [], []
    for d in range(dates):
        season = np.sin(2 * np.pi * d / max(dates, 2))
        heating = 8.0 + 6.0 * season + rng.normal(0, 2)
        weather = ndimage.gaussian_filter(rng.standard_normal((rows, cols)), 3 * factor).astype(np.float32)
        weather *= 1.5 / max(float(weather.std()), 1e-6)
        fine = 295.0 + offset + sensitivity * heating + texture + weather
        coarse = simulate_coarse(fine[None], factor)[0] + rng.normal(0, 0.8)
        coarse += rng.normal(0, 0.2, coarse.shape).astype(np.float32)
        fines.append(fine.astype(np.float32))
        coarses.append(coarse.astype(np.float32))
    return fines, coarses


def write_series(folder: str, rows: int = 96, cols: int = 96, dates: int = 5, factor: int = 8,
                 seed: int = 0, start: datetime.date = datetime.date(2020, 6, 1),
                 step_days: int = 16) -> str:
    """Write a series (fine_YYYY-MM-DD.tif, coarse_YYYY-MM-DD.tif, pairs.csv) into ``folder``.

    The grid is UTM 55S (EPSG:32755) with 30 m pixels. Returns the pairs table path.
    """
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32755)
    grid = Grid(srs.ExportToWkt(), (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0), cols, rows)
    fines, coarses = make_scenes(rows, cols, dates, factor, seed)
    os.makedirs(folder, exist_ok=True)
    lines: List[str] = ["date,fine,coarse"]
    for k, (fine, coarse) in enumerate(zip(fines, coarses)):
        day = start + datetime.timedelta(days=step_days * k)
        write_array(os.path.join(folder, f"fine_{day}.tif"), fine, grid, units="kelvin")
        write_array(os.path.join(folder, f"coarse_{day}.tif"), coarse, grid, units="kelvin")
        lines.append(f"{day},fine_{day}.tif,coarse_{day}.tif")
    table = os.path.join(folder, "pairs.csv")
    with open(table, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return table
