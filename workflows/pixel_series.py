"""One pixel's LST through a fused series: fused values, the fine and coarse observations, uncertainty.

Reads a single pixel from each date's prediction (``lst_<date>.tif``), from
its ``lst_<date>_uncertainty.tif`` when the series has one (half-width of the
central interval, in K), and from the fine and coarse images of the pairs
table the series was made from (series.vrt's PAIRS metadata). Each raster is
sampled at the point through its own geotransform, so the observations need
not share the prediction grid. Values keep the rasters' units; no-data is NaN.
"""
import csv
import datetime as dt
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import matplotlib.dates as mdates
import numpy as np

from ..common.errors import InputError
from ..common.pairs import read_pairs
from ..common.raster_io import open_raster, read_band, read_units
from .fuse_series import read_series

UNITS_LABEL = {"kelvin": "K", "celsius": "°C"}


@dataclass
class PixelSeries:
    """The time series of one point (x, y in the series' CRS); arrays are float64, NaN = no value."""

    x: float
    y: float
    dates: List[dt.date]
    fused: np.ndarray
    uncertainty: Optional[np.ndarray]
    """Half-width of the interval (K) per date; None when the series has no uncertainty rasters."""
    fine: List[Tuple[dt.date, float]]
    coarse: List[Tuple[dt.date, float]]
    units: Optional[str]


def sample(path: str, x: float, y: float) -> float:
    """The value of band 1 of ``path`` at (x, y) in its CRS; NaN for no-data or a point outside it."""
    ds = open_raster(path)
    x0, dx, rx, y0, ry, dy = ds.GetGeoTransform()
    if rx or ry:
        raise InputError(f"{path} is rotated: sample it after warping to a north-up grid.")
    col, row = int(np.floor((x - x0) / dx)), int(np.floor((y - y0) / dy))
    if not (0 <= col < ds.RasterXSize and 0 <= row < ds.RasterYSize):
        return float("nan")
    return float(read_band(ds, 1, (row, col, 1, 1))[0, 0])


def uncertainty_path(prediction: str) -> str:
    """``<prediction name>_uncertainty.tif`` beside a prediction (the UNCERTAINTY output of fuseseries)."""
    return os.path.splitext(prediction)[0] + "_uncertainty.tif"


def read_pixel_series(folder: str, x: float, y: float) -> PixelSeries:
    """The series of the point (x, y) (the predictions' CRS). InputError when it is outside the series."""
    index = read_series(folder)
    ds = open_raster(index.paths[0])
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    if not (0 <= (x - x0) / dx < ds.RasterXSize and 0 <= (y - y0) / dy < ds.RasterYSize):
        raise InputError(f"The point ({x:.1f}, {y:.1f}) is outside the fused series in {folder}.")
    fused = np.array([sample(path, x, y) for path in index.paths])
    bands = [uncertainty_path(p) for p in index.paths]
    uncertainty = None
    if any(os.path.exists(p) for p in bands):
        uncertainty = np.array([sample(p, x, y) if os.path.exists(p) else np.nan for p in bands])
    fine, coarse = [], []
    if index.pairs_path and os.path.exists(index.pairs_path):
        for row in read_pairs(index.pairs_path):
            if row.fine:
                fine.append((row.date, sample(row.fine, x, y)))
            if row.coarse:
                coarse.append((row.date, sample(row.coarse, x, y)))
    return PixelSeries(x, y, index.dates, fused, uncertainty, fine, coarse, read_units(index.paths[0]))


def write_pixel_csv(series: PixelSeries, path: str) -> str:
    """CSV ``date,fused,uncertainty,fine,coarse`` (one row per date of any kind, empty = none). Returns ``path``."""
    by_date = {}
    for i, date in enumerate(series.dates):
        by_date.setdefault(date, {})["fused"] = series.fused[i]
        if series.uncertainty is not None:
            by_date[date]["uncertainty"] = series.uncertainty[i]
    for name, values in (("fine", series.fine), ("coarse", series.coarse)):
        for date, value in values:
            by_date.setdefault(date, {})[name] = value
    columns = ("fused", "uncertainty", "fine", "coarse")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", *columns])
        for date in sorted(by_date):
            cells = [by_date[date].get(c, float("nan")) for c in columns]
            writer.writerow([date.isoformat()] + ["" if np.isnan(v) else f"{v:.4f}" for v in cells])
    return path


def plot_pixel_series(series: PixelSeries, figure) -> None:
    """Draw the series on a matplotlib ``figure`` (cleared first): band, fused line, observations."""
    figure.clear()
    axes = figure.add_subplot(1, 1, 1)
    dates = np.array(series.dates, dtype="datetime64[D]")
    if series.uncertainty is not None:
        axes.fill_between(dates, series.fused - series.uncertainty, series.fused + series.uncertainty,
                          color="tab:red", alpha=0.2, linewidth=0, label="uncertainty interval")
    axes.plot(dates, series.fused, color="tab:red", marker=".", linewidth=1.2, label="fused (fine)")
    for values, style, label in ((series.coarse, dict(color="tab:blue", marker="s", s=14), "coarse observation"),
                                 (series.fine, dict(color="black", marker="^", s=40), "fine observation")):
        if values:
            axes.scatter(np.array([d for d, _ in values], dtype="datetime64[D]"), [v for _, v in values],
                         zorder=3, label=label, **style)
    axes.set_ylabel(f"LST ({UNITS_LABEL.get(series.units, 'unknown units')})")
    axes.set_title(f"LST at x {series.x:.0f}, y {series.y:.0f}", fontsize="medium")
    locator = mdates.AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
