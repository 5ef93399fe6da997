"""Temperature units shared by the ingestion steps: Kelvin or degrees Celsius."""
import numpy as np

from .errors import InputError

UNITS = ("kelvin", "celsius")
"""Units names, in the order of the Processing enum."""

UNIT_LABELS = ("Kelvin", "Degrees Celsius")
"""Names of :data:`UNITS` shown to users."""

KELVIN_AT_0C = 273.15


def check_units(units: str) -> str:
    """The units name, or InputError when it is neither 'kelvin' nor 'celsius'."""
    if units not in UNITS:
        raise InputError(f"Unknown units '{units}'; use 'kelvin' or 'celsius'.")
    return units


def from_kelvin(kelvin: np.ndarray, units: str) -> np.ndarray:
    """Kelvin values (NaN = no-data) converted to ``units``; NaN stays NaN."""
    if check_units(units) == "celsius":
        return kelvin - np.float32(KELVIN_AT_0C)
    return kelvin


def to_kelvin(values: np.ndarray, units: str) -> np.ndarray:
    """Values in ``units`` converted to Kelvin; NaN stays NaN."""
    if check_units(units) == "celsius":
        return values + np.float32(KELVIN_AT_0C)
    return values
