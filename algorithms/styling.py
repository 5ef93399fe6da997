"""Fit the temperature colour ramp of a loaded LST layer to the layer's own value range."""
import math

from qgis.core import (QgsColorRampShader, QgsRasterBandStats, QgsRasterLayer,
                       QgsSingleBandPseudoColorRenderer)


def fit_ramp_to_data(layer: QgsRasterLayer) -> bool:
    """Stretch the pseudocolour ramp of band 1 onto its minimum-maximum; True when done.

    The style's colour stops keep their relative positions; labels keep the
    style's unit suffix (' K' or ' °C'). Nothing changes for a layer without a
    pseudocolour renderer or with a constant band.
    """
    stats = layer.dataProvider().bandStatistics(1, QgsRasterBandStats.Stats.Min | QgsRasterBandStats.Stats.Max)
    return stretch_ramp(layer, stats.minimumValue, stats.maximumValue)


def stretch_ramp(layer: QgsRasterLayer, low: float, high: float) -> bool:
    """Stretch the pseudocolour ramp of band 1 onto [low, high] (e.g. one range for a whole series)."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    ramp = renderer.shader().rasterShaderFunction()
    items = ramp.colorRampItemList()
    if not (math.isfinite(low) and math.isfinite(high) and high > low) or len(items) < 2:
        return False
    old_low, old_high = items[0].value, items[-1].value
    suffix = items[0].label.split(" ", 1)[1] if " " in items[0].label else ""
    fitted = []
    for item in items:
        value = low + (item.value - old_low) / (old_high - old_low) * (high - low)
        fitted.append(QgsColorRampShader.ColorRampItem(value, item.color, f"{value:.1f} {suffix}".strip()))
    ramp.setColorRampItemList(fitted)
    ramp.setMinimumValue(low)
    ramp.setMaximumValue(high)
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    return True
