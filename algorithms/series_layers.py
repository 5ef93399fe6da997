"""A fused series as map layers the temporal controller can play: one fixed time range per date, one colour scale.

QGIS 3.22 animates layers, not the bands of one raster: each date's GeoTIFF
becomes a layer of a group, active over its own day (see :func:`day_range`).
Every layer gets the same colour ramp stretched over the minimum and maximum
of the whole series, so colours compare across days. The project's
time settings are set to the series' period with a one-day step. QGIS versions
with the per-band temporal mode (3.38+) get the series VRT as one layer with a
range per band instead.
"""
import datetime as dt
import math
from typing import List, Tuple

from qgis.core import Qgis, QgsDateTimeRange, QgsProject, QgsRasterBandStats, QgsRasterLayer
from qgis.PyQt.QtCore import QDate, QDateTime, QTime

from ..workflows.fuse_series import read_series
from .compat import TEMPORAL_DAYS
from .styling import stretch_ramp

SERIES_PROPERTY = "lst_fusion/series"
"""Custom property of the loaded group and layers: the series folder (read by the pixel time-series tool)."""


def day_start(date: dt.date) -> QDateTime:
    """Midnight at the start of ``date``."""
    return QDateTime(QDate(date.year, date.month, date.day), QTime(0, 0, 0))


def day_range(date: dt.date) -> QgsDateTimeRange:
    """(date 00:00, next day 00:00), both ends open: QGIS 3.22 counts a layer's included end point as an
    overlap with the neighbouring frame, so closed or half-open days would show two layers in one frame."""
    return QgsDateTimeRange(day_start(date), day_start(date + dt.timedelta(days=1)), False, False)


def series_value_range(layers: List[QgsRasterLayer], band: int = 1) -> Tuple[float, float]:
    """Minimum and maximum of ``band`` over all layers (one colour scale for the whole series)."""
    lows, highs = [], []
    for layer in layers:
        stats = layer.dataProvider().bandStatistics(band, QgsRasterBandStats.Stats.Min
                                                    | QgsRasterBandStats.Stats.Max)
        if math.isfinite(stats.minimumValue) and math.isfinite(stats.maximumValue):
            lows.append(stats.minimumValue)
            highs.append(stats.maximumValue)
    return (min(lows), max(highs)) if lows else (math.nan, math.nan)


def set_project_period(project: QgsProject, first: dt.date, last: dt.date) -> None:
    """The project's temporal range = the series' days, stepped by one day (what the controller plays)."""
    settings = project.timeSettings()
    settings.setTemporalRange(QgsDateTimeRange(day_start(first), day_start(last + dt.timedelta(days=1)),
                                               True, False))
    settings.setTimeStepUnit(TEMPORAL_DAYS)
    settings.setTimeStep(1.0)


def load_series(project: QgsProject, folder: str, style_path: str, name: str):
    """Add the series of ``folder`` to ``project``; returns the layer group (or the VRT layer, 3.38+)."""
    index = read_series(folder)
    if hasattr(Qgis.RasterTemporalMode, "FixedRangePerBand"):
        layer = _load_per_band(project, index, style_path, name)
    else:
        layer = project.layerTreeRoot().insertGroup(0, name)
        layers = []
        for date, path in zip(index.dates, index.paths):
            day = QgsRasterLayer(path, date.isoformat())
            day.loadNamedStyle(style_path)
            properties = day.temporalProperties()
            properties.setMode(Qgis.RasterTemporalMode.FixedTemporalRange)
            properties.setFixedTemporalRange(day_range(date))
            properties.setIsActive(True)
            day.setCustomProperty(SERIES_PROPERTY, folder)
            project.addMapLayer(day, False)
            layer.addLayer(day)
            layers.append(day)
        low, high = series_value_range(layers)
        for day in layers:
            stretch_ramp(day, low, high)
    layer.setCustomProperty(SERIES_PROPERTY, folder)
    set_project_period(project, index.dates[0], index.dates[-1])
    return layer


def _load_per_band(project: QgsProject, index, style_path: str, name: str) -> QgsRasterLayer:
    """QGIS 3.38+: series.vrt as one layer whose band i is shown on day i."""
    vrt = QgsRasterLayer(f"{index.folder}/series.vrt", name)
    vrt.loadNamedStyle(style_path)
    properties = vrt.temporalProperties()
    properties.setMode(Qgis.RasterTemporalMode.FixedRangePerBand)
    properties.setFixedRangePerBand({band: day_range(date) for band, date in enumerate(index.dates, start=1)})
    properties.setIsActive(True)
    low = min(series_value_range([vrt], band)[0] for band in range(1, len(index.dates) + 1))
    high = max(series_value_range([vrt], band)[1] for band in range(1, len(index.dates) + 1))
    stretch_ramp(vrt, low, high)
    project.addMapLayer(vrt)
    return vrt

