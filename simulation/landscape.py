"""Synthetic land cover for the LST simulator: parcels, forest, a town with roads, water.

All maps are (rows, cols) arrays on the simulation's world grid. Sizes are in
metres and converted with the pixel size, so a bigger scene gets more fields,
not bigger ones. Everything here depends only on the random generator given,
never on the number of days or the variability, so one seed always draws the
same landscape.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter, zoom
from scipy.special import ndtr


@dataclass(frozen=True)
class LandClass:
    """A land-cover class and how its surface temperature responds.

    ``offset``: K above the air temperature at full sun (scaled daily by the
    sun factor); ``gain``: K of surface change per K of weather anomaly;
    ``moisture``: sensitivity to the slowly moving soil-moisture pattern
    (K per unit of the pattern); ``colour``: RGB for the land-cover raster.
    """

    code: int
    name: str
    colour: Tuple[int, int, int]
    offset: float
    gain: float
    moisture: float


WATER, FOREST, GRASS, IRRIGATED, RAINFED, HARVESTED, BARE, URBAN, ROAD = range(1, 10)

CLASSES = (
    LandClass(WATER, "water", (40, 110, 200), -1.0, 0.0, 0.0),
    LandClass(FOREST, "forest", (20, 100, 40), 2.5, 0.8, 0.2),
    LandClass(GRASS, "grassland", (150, 200, 90), 7.0, 1.0, 0.8),
    LandClass(IRRIGATED, "irrigated crop", (60, 190, 160), 1.0, 0.7, 0.3),
    LandClass(RAINFED, "rainfed crop", (230, 210, 90), 8.0, 1.1, 1.0),
    LandClass(HARVESTED, "crop harvested during the series", (200, 140, 60), 8.0, 1.1, 1.0),
    LandClass(BARE, "bare soil", (170, 120, 90), 15.0, 1.35, 1.2),
    LandClass(URBAN, "urban", (200, 40, 40), 12.0, 1.25, 0.1),
    LandClass(ROAD, "road", (90, 90, 90), 15.0, 1.4, 0.0),
)
"""Every class, indexed by ``code - 1``. Water follows its own lagged temperature
(see :mod:`forcing`); its offset is relative to that."""

CLASS_BY_CODE = {c.code: c for c in CLASSES}

FIELD_SHARES = ((GRASS, 0.2), (IRRIGATED, 0.2), (RAINFED, 0.45), (BARE, 0.15))
"""Share of the agricultural parcels drawn for each class."""


@dataclass
class Landcover:
    """The drawn landscape.

    ``classes``: uint8 class codes (rows, cols); ``field_id``: int32 parcel
    index (rows, cols); per-parcel arrays of shape (n_fields,):
    ``field_class`` (class drawn for the parcel), ``harvest_draw`` (uniform
    0-1: a rainfed parcel is harvested when below the variability's harvest
    share), ``harvest_time`` (0.2-0.8: when in the series it is harvested),
    ``irrigation_period`` (days) and ``irrigation_phase`` (days),
    ``offset_jitter`` (K) and ``gain_jitter`` (unit normal);
    ``texture``: unit-variance static texture (rows, cols);
    ``moisture_modes``: (modes, rows, cols) unit-variance smooth patterns;
    ``town``: (row, col, radius in pixels) of the town centre.
    """

    classes: np.ndarray
    field_id: np.ndarray
    field_class: np.ndarray
    harvest_draw: np.ndarray
    harvest_time: np.ndarray
    irrigation_period: np.ndarray
    irrigation_phase: np.ndarray
    offset_jitter: np.ndarray
    gain_jitter: np.ndarray
    texture: np.ndarray
    moisture_modes: np.ndarray
    town: Tuple[float, float, float]


def smooth_field(rng: np.random.Generator, shape: Tuple[int, int], scale: float) -> np.ndarray:
    """A float32 Gaussian random field of mean 0, std 1, correlation length ~``scale`` pixels.

    Drawn on a grid ``scale / 4`` times coarser, smoothed there, then bilinearly
    enlarged: cheap for long correlation lengths.
    """
    step = max(1, int(scale // 4))
    small = (shape[0] // step + 2, shape[1] // step + 2)
    field = gaussian_filter(rng.standard_normal(small), scale / step, mode="wrap")
    if step > 1:
        field = zoom(field, step, order=1)
    field = field[:shape[0], :shape[1]].astype(np.float32)
    field -= field.mean()
    field /= max(float(field.std()), 1e-12)
    return field


def make_landcover(rng: np.random.Generator, shape: Tuple[int, int], pixel: float,
                   moisture_modes: int = 3) -> Landcover:
    """Draw a landscape of shape (rows, cols) with ``pixel``-metre pixels."""
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)

    # agricultural parcels: Voronoi cells of random seeds, ~500 m across
    n_fields = max(4, int(rows * cols * pixel * pixel / 500.0 ** 2))
    seed_rows = rng.integers(0, rows, n_fields)
    seed_cols = rng.integers(0, cols, n_fields)
    seed_map = np.full(shape, -1, np.int32)
    seed_map[seed_rows, seed_cols] = np.arange(n_fields, dtype=np.int32)
    _, (near_r, near_c) = distance_transform_edt(seed_map < 0, return_indices=True)
    field_id = seed_map[near_r, near_c]
    del near_r, near_c
    # parcel classes cluster in farming zones: a uniform score, half from a
    # smooth 3 km field at the seed, half from the parcel alone, picks the class
    zone = smooth_field(rng, shape, 3000.0 / pixel)[seed_rows, seed_cols]
    score = ndtr(0.8 * zone + 0.6 * rng.standard_normal(n_fields))
    codes, shares = zip(*FIELD_SHARES)
    field_class = np.array(codes, np.uint8)[np.searchsorted(np.cumsum(shares)[:-1], score)]
    classes = field_class[field_id]

    # forest patches: the top fifth of a smooth field with 1.5 km correlation
    forest = smooth_field(rng, shape, 1500.0 / pixel)
    classes[forest > np.quantile(forest[::4, ::4], 0.8)] = FOREST

    # a town on an irregular disc, with a street grid and some parks
    radius = float(np.clip(0.12 * min(rows, cols) * pixel, 600.0, 3000.0)) / pixel
    town_r = rows * rng.uniform(0.3, 0.7)
    town_c = cols * rng.uniform(0.3, 0.7)
    dist = np.hypot(yy - town_r, xx - town_c)
    edge = smooth_field(rng, shape, 600.0 / pixel)
    urban = dist < radius * (1.0 + 0.25 * edge)
    block = max(4, int(round(240.0 / pixel)))
    blocks_r = ((yy - town_r) // block).astype(np.int64)
    blocks_c = ((xx - town_c) // block).astype(np.int64)
    park = ((blocks_r * 7919 + blocks_c * 104729) % 11) == 0
    classes[urban] = URBAN
    classes[urban & park] = GRASS
    streets = ((yy - town_r) % block < 1) | ((xx - town_c) % block < 1)
    classes[urban & streets] = ROAD

    # a meandering river passing beside the town, and a few lakes
    angle = rng.uniform(0, np.pi)
    along = (xx - town_c) * np.cos(angle) + (yy - town_r) * np.sin(angle)
    across = -(xx - town_c) * np.sin(angle) + (yy - town_r) * np.cos(angle)
    wavelength = 6000.0 / pixel
    meander = (radius * 0.9 + 600.0 / pixel * np.sin(2 * np.pi * along / wavelength + rng.uniform(0, 2 * np.pi))
               + 150.0 / pixel * smooth_field(rng, shape, 2000.0 / pixel))
    half_width = 75.0 / pixel * (1.0 + 0.3 * smooth_field(rng, shape, 3000.0 / pixel))
    classes[np.abs(across - meander) < half_width] = WATER
    n_lakes = 1 + int(rows * cols * pixel * pixel / 60e6)
    for _ in range(n_lakes):
        lr, lc = rng.uniform(0, rows), rng.uniform(0, cols)
        ra, rb = rng.uniform(100.0, 400.0, 2) / pixel
        tilt = rng.uniform(0, np.pi)
        reach = int(max(ra, rb)) + 2
        box = (slice(max(0, int(lr) - reach), min(rows, int(lr) + reach)),
               slice(max(0, int(lc) - reach), min(cols, int(lc) + reach)))
        u = (xx[box] - lc) * np.cos(tilt) + (yy[box] - lr) * np.sin(tilt)
        v = -(xx[box] - lc) * np.sin(tilt) + (yy[box] - lr) * np.cos(tilt)
        classes[box][(u / ra) ** 2 + (v / rb) ** 2 < 1.0] = WATER

    # highways through the town (drawn last: bridges cross the river)
    for road_angle in rng.uniform(0, np.pi, 3):
        off = np.abs((xx - town_c) * np.sin(road_angle) - (yy - town_r) * np.cos(road_angle))
        classes[off < max(1.0, 20.0 / pixel)] = ROAD

    texture = gaussian_filter(rng.standard_normal(shape).astype(np.float32), 45.0 / pixel)
    texture /= max(float(texture.std()), 1e-12)
    modes = np.stack([smooth_field(rng, shape, 900.0 / pixel) for _ in range(moisture_modes)])
    return Landcover(
        classes=classes.astype(np.uint8), field_id=field_id, field_class=field_class,
        harvest_draw=rng.uniform(0, 1, n_fields), harvest_time=rng.uniform(0.2, 0.8, n_fields),
        irrigation_period=rng.integers(5, 11, n_fields),
        irrigation_phase=rng.integers(0, 10, n_fields),
        offset_jitter=rng.normal(0.0, 1.2, n_fields), gain_jitter=rng.normal(0.0, 1.0, n_fields),
        texture=texture, moisture_modes=modes, town=(town_r, town_c, radius))
