"""Fit the temperature colour ramp of a loaded LST layer to the layer's own value range."""
import math

from qgis.core import (QgsBasicNumericFormat, QgsColorRampLegendNodeSettings, QgsColorRampShader,
                       QgsRasterBandStats, QgsRasterLayer, QgsSingleBandPseudoColorRenderer)


def fit_ramp_to_data(layer: QgsRasterLayer) -> bool:
    """Stretch the pseudocolour ramp of band 1 onto its minimum-maximum; True when done.

    The style's colour stops keep their relative positions; labels keep the
    style's unit suffix (' K' or ' °C'), and so do the min and max of the
    legend's colour bar (one decimal). A style centred on 0 (the diverging
    error ramp) is stretched onto -m..+m, m the largest absolute value, so that
    0 keeps the middle colour. The fitted renderer is set on the layer, which
    announces the change (``rendererChanged``): the layer tree legend and an
    open layer-properties view follow. Nothing changes for a layer without a
    pseudocolour renderer or with a constant band.
    """
    stats = layer.dataProvider().bandStatistics(1, QgsRasterBandStats.Stats.Min | QgsRasterBandStats.Stats.Max)
    return stretch_ramp(layer, stats.minimumValue, stats.maximumValue)


def stretch_ramp(layer: QgsRasterLayer, low: float, high: float) -> bool:
    """Stretch the pseudocolour ramp of band 1 onto [low, high] (e.g. one range for a whole series)."""
    if not isinstance(layer.renderer(), QgsSingleBandPseudoColorRenderer):
        return False
    renderer = layer.renderer().clone()  # a new renderer, so that setRenderer announces the change
    ramp = renderer.shader().rasterShaderFunction()
    items = ramp.colorRampItemList()
    if not (math.isfinite(low) and math.isfinite(high) and high > low) or len(items) < 2:
        return False
    old_low, old_high = items[0].value, items[-1].value
    if old_low < 0 < old_high and math.isclose(old_low, -old_high):
        high = max(abs(low), abs(high))
        low = -high
    suffix = items[0].label.split(" ", 1)[1] if " " in items[0].label else ""
    fitted = []
    for item in items:
        value = low + (item.value - old_low) / (old_high - old_low) * (high - low)
        fitted.append(QgsColorRampShader.ColorRampItem(value, item.color, f"{value:.1f} {suffix}".strip()))
    ramp.setColorRampItemList(fitted)
    ramp.setMinimumValue(low)
    ramp.setMaximumValue(high)
    ramp.setLegendSettings(_legend_settings(suffix))
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    layer.setRenderer(renderer)
    return True


def _legend_settings(suffix: str) -> QgsColorRampLegendNodeSettings:
    """Colour-bar legend labels with one decimal and the unit suffix ('298.4 K')."""
    number = QgsBasicNumericFormat()
    number.setNumberDecimalPlaces(1)
    number.setShowTrailingZeros(True)
    settings = QgsColorRampLegendNodeSettings()
    settings.setNumericFormat(number)
    settings.setSuffix(f" {suffix}" if suffix else "")
    return settings
