"""Temperature units: Kelvin or degrees Celsius, their conversion, and telling a raster's units."""
from typing import Optional, Tuple

import numpy as np

from .errors import InputError
from .raster_io import UNIT_SYMBOLS, read_decimated, read_units  # noqa: F401 (re-exported)

UNITS = ("kelvin", "celsius")
"""Units names, in the order of the Processing enum."""

UNIT_LABELS = ("Kelvin", "Degrees Celsius")
"""Names of :data:`UNITS` shown to users."""

KELVIN_AT_0C = 273.15

KELVIN_THRESHOLD = 150.0
"""A raster without units metadata whose mean is above this is taken to be in Kelvin."""


def require_known_units(units: str) -> str:
    """The units name, or InputError when it is neither 'kelvin' nor 'celsius'."""
    if units not in UNITS:
        raise InputError(f"Unknown units '{units}'; use 'kelvin' or 'celsius'.")
    return units


def from_kelvin(kelvin: np.ndarray, units: str) -> np.ndarray:
    """Kelvin values (NaN = no-data) converted to ``units``; NaN stays NaN."""
    if require_known_units(units) == "celsius":
        return kelvin - np.float32(KELVIN_AT_0C)
    return kelvin


def to_kelvin(values: np.ndarray, units: str) -> np.ndarray:
    """Values in ``units`` converted to Kelvin; NaN stays NaN."""
    if require_known_units(units) == "celsius":
        return values + np.float32(KELVIN_AT_0C)
    return values


def units_of(path: str, band: int = 1) -> Tuple[Optional[str], str]:
    """(units or None, how it was known): from the raster's metadata, else inferred from
    the mean of a decimated view (> 150 is Kelvin); None when that view holds no valid pixel."""
    stored = read_units(path)
    if stored:
        return stored, "from its metadata"
    sample = read_decimated(path, band, max_size=256)
    if not np.isfinite(sample).any():
        return None, "unknown"
    mean = float(np.nanmean(sample))
    inferred = "kelvin" if mean > KELVIN_THRESHOLD else "celsius"
    return inferred, f"inferred from its mean value {mean:.1f}"
