"""Daily forcing of the LST simulator: seasonal cycle, weather, events, clouds, sensor bias.

Every series here is a per-date scalar (shape (days,)) in kelvin, except the
moisture coefficients (days, modes), the sun factor (dimensionless) and the
cloud cover (0-1). How strongly the surface varies is set by a
:class:`Variability` preset.
"""
import datetime as dt
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

SPIN_UP = 120
"""Days simulated before the first date so that lagged series (water) start settled."""

MAX_CLOUD_COVER = 0.7
"""No date is more cloudy than this, so every image keeps valid pixels."""


@dataclass(frozen=True)
class Variability:
    """How much the land surface temperature changes in space and time.

    ``weather_std``: std of the day-to-day weather anomaly (K);
    ``gain_spread``: how far the class responses to weather spread around 1
    (0 = every class follows the weather alike); ``field_gain_std``: parcel to
    parcel spread of that response; ``heat_wave``: peak heat-wave anomaly (K);
    ``harvest_share``: share of rainfed parcels harvested during the series;
    ``moisture``: amplitude of the moving soil-moisture pattern (K);
    ``irrigation``: cooling of an irrigated parcel just after watering (K);
    ``sun_std``: day-to-day spread of the solar heating factor;
    ``uhi``: urban heat island peak at full sun (K);
    ``contrast``: factor on the class offsets and parcel jitter (1 = the
    classes' own contrasts; below 1 a more uniform landscape);
    ``parcel_std``: std (K at full sun) of each parcel's own day-to-day state
    (crop water status, growth, local showers: changes smaller than a coarse
    pixel), an AR(1) series with a :data:`PARCEL_MEMORY` days e-folding time;
    ``date_bias_std``: std (K) of an extra date-to-date coarse bias (overall
    MODIS-Landsat discrepancy: atmospheric correction, emissivity), nearly
    independent from one day to the next;
    ``class_bias``: factor on the land-cover-dependent coarse discrepancy
    (view angle, overpass time, emissivity, see :mod:`discrepancy`; 0 = none);
    ``coarse_error_std``: std (K) of a per-date, spatially correlated coarse
    retrieval error (~2 km correlation).
    """

    name: str
    weather_std: float
    gain_spread: float
    field_gain_std: float
    heat_wave: float
    harvest_share: float
    moisture: float
    irrigation: float
    sun_std: float
    uhi: float
    contrast: float = 1.0
    parcel_std: float = 0.0
    date_bias_std: float = 0.0
    class_bias: float = 0.0
    coarse_error_std: float = 0.0


VARIABILITY = {
    "low": Variability("low", 1.0, 0.5, 0.03, 3.0, 0.1, 0.5, 1.0, 0.05, 2.0),
    "medium": Variability("medium", 2.5, 1.0, 0.08, 6.0, 0.3, 1.5, 2.5, 0.10, 4.0),
    "high": Variability("high", 4.5, 1.6, 0.15, 10.0, 0.6, 3.0, 4.0, 0.15, 6.0),
    "real": Variability("real", 2.0, 0.5, 0.10, 4.0, 0.2, 1.0, 3.0, 0.10, 2.0, contrast=0.5,
                        parcel_std=1.3, date_bias_std=2.0, class_bias=1.0, coarse_error_std=1.2),
}
"""The presets the ``variability`` setting names, and the real situations they resemble:

* ``low``: a calm, clear spell over a uniform landscape with a well calibrated
  coarse sensor (fusion is easy; no real pair we have looks like it);
* ``medium``: a temperate mixed landscape (fields, forest, a town) in ordinary
  weather, MODIS and Landsat agreeing within ~1 K: the survey's Orléans series
  on its good dates;
* ``high``: the same under strong weather swings, a big heat wave and many
  harvests: the survey's "hard dates";
* ``real``: calibrated on real MODIS/Landsat pairs (Yanco, an irrigated
  farming area in New South Wales): a flatter landscape with parcels changing
  on their own, and a coarse sensor that disagrees with the fine one by
  several K, differently on each date and for each land cover (view angle,
  overpass time, emissivity, atmosphere: :mod:`discrepancy`), so that the coarse
  change announces the fine change only weakly (correlation ~0.4). Use it to
  train and benchmark for real scenes; ``benchmarks/bench_realism.py`` sets its
  statistics beside the real ones.
"""

PARCEL_MEMORY = 8.0
"""e-folding time (days) of a parcel's own state (``Variability.parcel_std``)."""

WATER_LAG = 12.0
"""Time constant (days) of the water temperature's exponential response to the air."""


@dataclass
class Forcing:
    """Per-date series of a simulation (index 0 = the start date).

    ``seasonal``: seasonal air temperature at overpass (K); ``anomaly``:
    weather plus heat-wave anomaly (K); ``heat_wave``: the heat-wave part (K);
    ``water``: water surface temperature, a lagged and damped response to the
    air (K); ``sun``: solar heating factor (0.1 winter - ~1.3 bright summer
    day); ``moisture``: (days, modes) coefficients of the moisture patterns;
    ``cloud``: cloud cover of each date (0-1); ``bias``: coarse sensor bias
    (K); ``heat_waves``: (first, last) day index of each heat wave.
    """

    seasonal: np.ndarray
    anomaly: np.ndarray
    heat_wave: np.ndarray
    water: np.ndarray
    sun: np.ndarray
    moisture: np.ndarray
    cloud: np.ndarray
    bias: np.ndarray
    heat_waves: List[Tuple[int, int]] = field(default_factory=list)

    @property
    def air(self) -> np.ndarray:
        """Air temperature at overpass (K), shape (days,)."""
        return self.seasonal + self.anomaly


def ar1(rng: np.random.Generator, n: int, phi: float, std: float, shape=()) -> np.ndarray:
    """A stationary AR(1) series of length n (first axis), lag-one correlation phi, marginal std."""
    noise = rng.standard_normal((n,) + tuple(shape))
    out = np.empty_like(noise)
    out[0] = noise[0] * std
    scale = std * np.sqrt(1.0 - phi * phi)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + scale * noise[i]
    return out


def make_forcing(rng: np.random.Generator, start: dt.date, days: int, latitude: float,
                 variability: Variability, cloud_fraction: float, bias_mean: float,
                 bias_std: float, moisture_modes: int) -> Forcing:
    """Draw the daily series for ``days`` dates from ``start``.

    The seasonal air temperature at overpass peaks around 19 July (northern
    hemisphere; shifted half a year south of the equator); its mean falls and
    its amplitude grows with latitude (13 °C mean, 9 K amplitude at 48°,
    as around Orléans); each date's cloud cover is drawn from a Beta
    distribution of mean ``cloud_fraction`` (many clear dates, some very
    cloudy), capped at :data:`MAX_CLOUD_COVER`.
    """
    total = SPIN_UP + days
    first = start - dt.timedelta(days=SPIN_UP)
    doy = np.array([(first + dt.timedelta(days=i)).timetuple().tm_yday for i in range(total)], float)
    if latitude < 0:
        doy = doy + 182.6
    lat = abs(latitude)
    seasonal = (306.0 - 0.42 * lat) + (2.0 + 0.15 * lat) * np.cos(2 * np.pi * (doy - 200.0) / 365.25)
    season_sun = 0.55 + 0.45 * min(1.0, lat / 45.0) * np.cos(2 * np.pi * (doy - 172.0) / 365.25)

    weather = ar1(rng, total, 0.75, variability.weather_std)
    sun = season_sun * np.clip(1.0 + ar1(rng, total, 0.5, variability.sun_std), 0.5, 1.4)

    heat_wave = np.zeros(total)
    heat_waves = []
    count = max(1, int(round(days / 90.0)))
    for k in range(count):
        length = int(rng.integers(5, 10))
        lo, hi = days * k / count, days * (k + 1) / count
        centre = rng.uniform(lo + 0.25 * (hi - lo), lo + 0.8 * (hi - lo))
        begin = int(round(centre - length / 2))
        steps = np.arange(length + 1)
        profile = np.sin(np.pi * steps / length) ** 2
        index = SPIN_UP + begin + steps
        inside = (index >= 0) & (index < total)
        heat_wave[index[inside]] += variability.heat_wave * profile[inside] * (0.5 + 0.5 * season_sun[index[inside]])
        heat_waves.append((max(begin, 0), min(begin + length, days - 1)))

    anomaly = weather + heat_wave
    air = seasonal + anomaly
    water = np.empty(total)
    water[0] = seasonal[0]
    for i in range(1, total):
        water[i] = water[i - 1] + (air[i] - water[i - 1]) / WATER_LAG

    moisture = ar1(rng, total, 0.85, 1.0, (moisture_modes,))
    bias = bias_mean + ar1(rng, total, 0.6, bias_std)
    if cloud_fraction > 0:
        alpha = 0.5
        beta = alpha * (1.0 - cloud_fraction) / cloud_fraction
        cloud = np.minimum(rng.beta(alpha, beta, total), MAX_CLOUD_COVER)
        cloud[cloud < 0.01] = 0.0
    else:
        cloud = np.zeros(total)

    keep = slice(SPIN_UP, total)
    return Forcing(seasonal=seasonal[keep], anomaly=anomaly[keep], heat_wave=heat_wave[keep],
                   water=water[keep], sun=sun[keep], moisture=moisture[keep], cloud=cloud[keep],
                   bias=bias[keep], heat_waves=heat_waves)
