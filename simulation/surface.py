"""The daily true land surface temperature of the simulator, on the world grid.

For a land pixel x on day d (all in K):

    T(x, d) = seasonal(d) + sun(d) * O(x) + anomaly(d) * G(x)
              + sum_k moisture_k(d) * D_k(x) - irrigation(x, d) + harvest(x, d)

and for water, T(x, d) = water(d) + sun(d) * O(x), where ``water`` is the air
temperature seen through an exponential lag (damped and delayed). O is the
class offset at full sun plus parcel jitter, fine texture and the urban heat
island; G the class response to weather anomalies (spread by the variability);
D_k the soil-moisture patterns weighted by class sensitivity. Irrigated parcels
are cooled right after each watering and the cooling fades in a few days; a
harvested parcel behaves as rainfed crop until its harvest date and as bare
soil afterwards (it warms). With ``parcel_states`` (days, parcels) each parcel
also carries its own state P_p(d), adding sun(d) * w(x) * P_p(d) (w: 1 on
fields, 0.4 in forest, 0 elsewhere): changes smaller than a coarse pixel.
"""
from typing import Optional

import numpy as np

from .forcing import Forcing, Variability
from .landscape import (BARE, CLASSES, FOREST, GRASS, HARVESTED, IRRIGATED, RAINFED, WATER,
                            Landcover)

FIELD_CLASSES = (GRASS, IRRIGATED, RAINFED, HARVESTED, BARE)
"""Classes whose parcels get their own offset and gain."""

TEXTURE_K = 0.6
"""Std (K at full sun) of the static fine texture on land (a quarter of it on water)."""

IRRIGATION_DECAY = 1.5
"""e-folding time (days) of the cooling after an irrigation."""


class Surface:
    """Static maps of a landscape under a variability preset; ``temperature(day, forcing)``.

    ``classes`` is the final class map (rows, cols) uint8, with harvested
    parcels marked :data:`HARVESTED`; ``harvest_day`` gives, per parcel, the
    day index of its harvest (-1 when not harvested). ``parcel_states``
    (optional, days x parcels, K at full sun) are the parcels' own states.
    """

    def __init__(self, land: Landcover, variability: Variability, days: int,
                 parcel_states: Optional[np.ndarray] = None):
        self.variability = variability
        field_id = land.field_id
        harvested = (land.field_class == RAINFED) & (land.harvest_draw < variability.harvest_share)
        self.harvest_day = np.where(harvested, np.floor(land.harvest_time * days).astype(int), -1)
        classes = land.classes.copy()
        classes[(classes == RAINFED) & harvested[field_id]] = HARVESTED
        self.classes = classes

        spread = variability.gain_spread
        offset_by_class = np.zeros(len(CLASSES) + 1, np.float32)
        gain_by_class = np.zeros(len(CLASSES) + 1, np.float32)
        moisture_by_class = np.zeros(len(CLASSES) + 1, np.float32)
        jitter_by_class = np.zeros(len(CLASSES) + 1, np.float32)
        for c in CLASSES:
            offset_by_class[c.code] = c.offset * variability.contrast
            gain_by_class[c.code] = 0.0 if c.code == WATER else 1.0 + spread * (c.gain - 1.0)
            moisture_by_class[c.code] = c.moisture * variability.moisture
        jitter_by_class[list(FIELD_CLASSES)] = 1.0
        jitter_by_class[FOREST] = 0.4
        self.gain_by_class = gain_by_class
        self.offset_by_class = offset_by_class

        jitter = jitter_by_class[classes]
        water = classes == WATER
        town_r, town_c, radius = land.town
        rows, cols = classes.shape
        yy, xx = np.ogrid[0:rows, 0:cols]
        heat_island = variability.uhi * np.exp(-((yy - town_r) ** 2 + (xx - town_c) ** 2) / (2.0 * radius ** 2))
        offset = (offset_by_class[classes]
                  + jitter * np.float32(variability.contrast) * land.offset_jitter[field_id].astype(np.float32)
                  + np.where(water, 0.25, 1.0).astype(np.float32) * TEXTURE_K * land.texture
                  + np.where(water, 0.0, heat_island).astype(np.float32))
        gain = gain_by_class[classes] + jitter * np.float32(variability.field_gain_std) \
            * land.gain_jitter[field_id].astype(np.float32)
        self.offset = offset.astype(np.float32)
        self.gain = gain.astype(np.float32)
        self.water = water.astype(np.float32)
        self.moisture = (moisture_by_class[classes][None] * land.moisture_modes).astype(np.float32)

        self.irrigated_pixels = np.flatnonzero(classes == IRRIGATED)
        irrigated_fields = field_id.ravel()[self.irrigated_pixels]
        self.irrigation_period = land.irrigation_period[irrigated_fields]
        self.irrigation_phase = land.irrigation_phase[irrigated_fields]
        self.harvest_pixels = np.flatnonzero(classes == HARVESTED)
        self.harvest_pixel_day = self.harvest_day[field_id.ravel()[self.harvest_pixels]]
        self.harvest_offset = np.float32(offset_by_class[BARE] - offset_by_class[HARVESTED])
        self.harvest_gain = np.float32(gain_by_class[BARE] - gain_by_class[HARVESTED])
        self.parcel_states = parcel_states
        if parcel_states is not None:
            self.field_id = field_id
            self.parcel_weight = jitter

    def temperature(self, day: int, forcing: Forcing) -> np.ndarray:
        """True LST (K) of day index ``day`` on the world grid, float32 (rows, cols)."""
        sun = np.float32(forcing.sun[day])
        anomaly = np.float32(forcing.anomaly[day])
        seasonal = np.float32(forcing.seasonal[day])
        out = np.multiply(self.offset, sun)
        tmp = np.multiply(self.gain, anomaly)
        out += tmp
        np.multiply(self.water, np.float32(forcing.water[day] - forcing.seasonal[day]), out=tmp)
        out += tmp
        out += seasonal
        for k, coefficient in enumerate(forcing.moisture[day]):
            np.multiply(self.moisture[k], np.float32(coefficient), out=tmp)
            out += tmp
        if self.parcel_states is not None:
            np.multiply(self.parcel_states[day][self.field_id], self.parcel_weight, out=tmp)
            tmp *= sun
            out += tmp
        flat = out.reshape(-1)
        if self.irrigated_pixels.size and self.variability.irrigation > 0:
            since = (day - self.irrigation_phase) % self.irrigation_period
            flat[self.irrigated_pixels] -= (self.variability.irrigation
                                            * np.exp(-since / IRRIGATION_DECAY)).astype(np.float32)
        done = self.harvest_pixels[(self.harvest_pixel_day >= 0) & (self.harvest_pixel_day <= day)]
        if done.size:
            flat[done] += sun * self.harvest_offset + anomaly * self.harvest_gain
        return out
