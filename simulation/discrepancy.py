"""How the coarse (MODIS-like) sensor disagrees with the fine (Landsat-like) one, beyond resolution.

Real MODIS and Landsat LST of the same day differ by several kelvin, by an
amount that changes from date to date and with the land cover (Yanco, Yu et
al. 2023: -0.1 K on one date, -4.5 K 32 days later). The published causes this
module models, with the figures it relies on:

* view angle: MODIS scans up to ~65° off nadir, Landsat looks down. Daytime
  directional effects are 1-4 K (Smith et al. 1997, IEEE TGRS 35(4)) and
  remain 1.6 K RMSE after an angular normalisation of MODIS over vegetated
  sites (Wang et al. 2023, ISPRS J. 199); they depend on which side is
  sunlit and on the canopy/soil mix, so they differ by class and flip sign
  with the side of the track;
* overpass time: Terra crosses the equator at 10:30, Landsat 8/9 near 10:10,
  and a MODIS pixel near the swath edge is seen up to ~50 min earlier or later
  in local solar time; surfaces heat at 1-3 K per hour in mid-morning, dry and
  sunlit ones the fastest;
* emissivity: MOD11's classification-based emissivities leave biases of
  0.2-1.5 K over bare soil in collection 6 (C5: 0.6-3.8 K; Duan et al. 2017,
  ISPRS J. 126; Wan 2014, RSE 140) and daytime RMSE of 2.6-3.1 K over arid
  surfaces (Zhang et al. 2018, Remote Sens. 10(11) 1852);
* atmosphere: the split-window (MODIS) and single-channel (Landsat) retrievals
  err differently with the water vapour of the day: a date-to-date bias of the
  whole scene and a spatially correlated retrieval error on each date.

Per date d and class c (K), added to the truth before the point-spread function:

    D(c, d) = scale * (emissivity_c + heating_c * sun(d) * dt(d) + angular_c * A(d))

with the scan position s(d) in [-1, 1) (negative: pixel west of the track)
stepping 7/16 of the swath a day (Terra repeats its tracks every 16 days, as
Landsat does, so fine dates 16 days apart share the MODIS geometry), the view
zenith |s| * 65°, dt(d) = (20 + 50 s) / 60 hours later than Landsat, and
A(d) = -sign(s) sin(vza) / sin(65°) - 0.5 (1 - cos vza) / (1 - cos 65°):
in the morning a pixel east of the track is seen from the west, its shaded
faces (cooler), one west of it on its sunlit side (warmer), and oblique views
see more canopy than soil (cooler).
"""
from dataclasses import dataclass

import numpy as np

from .forcing import ar1
from .landscape import (BARE, FOREST, GRASS, HARVESTED, IRRIGATED, RAINFED, ROAD, URBAN,
                            WATER, smooth_field)

MAX_VIEW_ZENITH = 65.0
"""MODIS's largest view zenith angle (degrees) at the swath edge."""

REPEAT_STEP = 7.0 / 16.0
"""Daily step of the scan position, in swath widths: a 16-day repeat cycle."""

OVERPASS_LAG_MIN = 20.0
"""Minutes by which MODIS Terra (10:30) sees a nadir pixel after Landsat (~10:10)."""

SWATH_TIME_MIN = 50.0
"""Extra minutes (local solar time) at the swath's east edge; minus at the west edge."""

DATE_BIAS_PHI = 0.3
"""Lag-one correlation of the date-to-date bias: the atmosphere of one day barely predicts the next."""

ERROR_SCALE_PX = 2.0
"""Correlation length of the per-date coarse retrieval error, in coarse pixels (~2 km)."""

# class code: (emissivity bias K, mid-morning heating K/h at full sun, angular amplitude K)
CLASS_DISCREPANCY = {
    WATER: (0.3, 0.3, 0.2),
    FOREST: (0.0, 1.0, 1.5),
    GRASS: (-0.3, 2.0, 1.5),
    IRRIGATED: (-0.2, 1.0, 1.0),
    RAINFED: (-0.3, 2.2, 2.5),
    HARVESTED: (-0.3, 2.2, 2.5),
    BARE: (-1.5, 3.0, 1.0),
    URBAN: (-1.0, 2.5, 3.0),
    ROAD: (-1.0, 3.0, 1.0),
}
"""Land-cover dependence of the MODIS-Landsat discrepancy (see the module's text)."""


@dataclass
class Discrepancy:
    """Per-date coarse discrepancy of a simulation.

    ``scan``: scan position (days,) in [-1, 1); ``view_zenith`` (days,) in
    degrees; ``time_lag`` (days,) in hours after Landsat; ``by_class``:
    (days, max class code + 1) K added to the truth of each class;
    ``date_bias``: (days,) K added to the whole coarse image;
    ``error_std``: std (K) of the per-date correlated error (:meth:`error`).
    """

    scan: np.ndarray
    view_zenith: np.ndarray
    time_lag: np.ndarray
    by_class: np.ndarray
    date_bias: np.ndarray
    error_std: float

    @property
    def active(self) -> bool:
        """Whether any part of the discrepancy is switched on."""
        return bool(np.any(self.by_class) or np.any(self.date_bias) or self.error_std > 0)

    def error(self, rng: np.random.Generator, shape) -> np.ndarray:
        """A date's spatially correlated retrieval error on the coarse grid (K), float64 ``shape``."""
        return self.error_std * smooth_field(rng, shape, ERROR_SCALE_PX).astype(np.float64)


def make_discrepancy(rng: np.random.Generator, days: int, sun: np.ndarray, class_scale: float,
                     date_bias_std: float, error_std: float) -> Discrepancy:
    """Draw the per-date geometry and biases for ``days`` dates; ``sun``: (days,) solar factor."""
    step = np.arange(days)
    scan = 2.0 * np.mod(rng.uniform() + REPEAT_STEP * step, 1.0) - 1.0
    zenith = np.radians(MAX_VIEW_ZENITH * np.abs(scan))
    edge = np.radians(MAX_VIEW_ZENITH)
    angular = (-np.sign(scan) * np.sin(zenith) / np.sin(edge)
               - 0.5 * (1.0 - np.cos(zenith)) / (1.0 - np.cos(edge)))
    lag = (OVERPASS_LAG_MIN + SWATH_TIME_MIN * scan) / 60.0
    by_class = np.zeros((days, max(CLASS_DISCREPANCY) + 1))
    for code, (emissivity, heating, amplitude) in CLASS_DISCREPANCY.items():
        by_class[:, code] = class_scale * (emissivity + heating * sun * lag + amplitude * angular)
    date_bias = ar1(rng, days, DATE_BIAS_PHI, date_bias_std)
    return Discrepancy(scan=scan, view_zenith=np.degrees(zenith), time_lag=lag, by_class=by_class,
                       date_bias=date_bias, error_std=error_std)
