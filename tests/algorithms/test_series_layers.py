"""A fused series loaded as a temporal layer group: per-day ranges, one colour scale, playable, from the toolbox."""
import datetime as dt

import numpy as np
import pytest
from qgis.core import (Qgis, QgsDateTimeRange, QgsInterval, QgsLayerTreeGroup, QgsProcessingContext,
                       QgsProcessingFeedback, QgsProject, QgsSingleBandPseudoColorRenderer,
                       QgsTemporalNavigationObject, QgsUnitTypes)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime

from lst_fusion_plugin.algorithms import fuse_series as fuse_series_algorithm
from lst_fusion_plugin.algorithms.base import LST_STYLE
from lst_fusion_plugin.algorithms.series_layers import SERIES_PROPERTY, load_series
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.workflows.fuse_series import read_series
from series_fixture import fused_series


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return fused_series(tmp_path_factory.mktemp("layers"))


def midnight(date):
    return QDateTime(QDate(date.year, date.month, date.day), QTime(0, 0, 0))


def test_each_day_is_a_layer_with_its_own_day_and_the_series_shares_one_scale(qgis_app, series):
    _, folder = series
    index = read_series(folder)
    project = QgsProject()
    group = load_series(project, folder, LST_STYLE.format(units="kelvin"), "Fused LST")
    assert isinstance(group, QgsLayerTreeGroup) and group.customProperty(SERIES_PROPERTY) == folder
    layers = [node.layer() for node in group.findLayers()]
    assert [layer.name() for layer in layers] == [d.isoformat() for d in index.dates]
    low = min(np.nanmin(read_array(p)) for p in index.paths)
    high = max(np.nanmax(read_array(p)) for p in index.paths)
    for layer, date in zip(layers, index.dates):
        properties = layer.temporalProperties()
        assert properties.isActive()
        assert properties.mode() == Qgis.RasterTemporalMode.FixedTemporalRange
        period = properties.fixedTemporalRange()
        assert (period.begin(), period.end()) == (midnight(date), midnight(date + dt.timedelta(days=1)))
        assert not period.includeBeginning() and not period.includeEnd()
        renderer = layer.renderer()
        assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
        assert (renderer.classificationMin(), renderer.classificationMax()) == pytest.approx((low, high), abs=1e-3)
        items = renderer.shader().rasterShaderFunction().colorRampItemList()
        assert items[0].value == pytest.approx(low, abs=1e-3) and items[-1].value == pytest.approx(high, abs=1e-3)
    settings = project.timeSettings()
    assert settings.temporalRange().begin() == midnight(index.dates[0])
    assert settings.temporalRange().end() == midnight(index.dates[-1] + dt.timedelta(days=1))
    assert settings.timeStep() == 1.0 and settings.timeStepUnit() == QgsUnitTypes.TemporalUnit.TemporalDays


def test_playing_the_controller_shows_one_day_per_frame(qgis_app, series):
    _, folder = series
    index = read_series(folder)
    project = QgsProject()
    group = load_series(project, folder, LST_STYLE.format(units="kelvin"), "Fused LST")
    layers = [node.layer() for node in group.findLayers()]
    navigation = QgsTemporalNavigationObject()
    navigation.setTemporalExtents(project.timeSettings().temporalRange())
    navigation.setFrameDuration(QgsInterval(1, QgsUnitTypes.TemporalUnit.TemporalDays))
    assert navigation.totalFrameCount() == len(index.dates)
    for frame, date in enumerate(index.dates):
        navigation.setCurrentFrameNumber(frame)
        shown = navigation.dateTimeRangeForFrameNumber(frame)
        visible = [layer.name() for layer in layers if layer.temporalProperties().isVisibleInTemporalRange(shown)]
        assert visible == [date.isoformat()]
    outside = QgsDateTimeRange(midnight(index.dates[-1] + dt.timedelta(days=2)),
                               midnight(index.dates[-1] + dt.timedelta(days=3)))
    assert not any(layer.temporalProperties().isVisibleInTemporalRange(outside) for layer in layers)


def test_the_toolbox_run_adds_the_group_in_the_desktop_only(processing, series, tmp_path, monkeypatch):
    sim, _ = series
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    parameters = {"PAIRS": sim.pairs, "METHOD": 0, "OUTPUT_FOLDER": str(tmp_path / "headless")}
    processing.run("lstfusion:fuseseries", parameters, context=context, feedback=QgsProcessingFeedback())
    assert project.layerTreeRoot().children() == []  # not the desktop: nothing is added
    monkeypatch.setattr(fuse_series_algorithm, "loads_results", lambda: True)
    parameters["OUTPUT_FOLDER"] = str(tmp_path / "desktop")
    processing.run("lstfusion:fuseseries", parameters, context=context, feedback=QgsProcessingFeedback())
    groups = project.layerTreeRoot().children()
    assert len(groups) == 1 and groups[0].name() == "Fused LST series (desktop)"
    assert len(groups[0].findLayers()) == 6
    parameters.update(OUTPUT_FOLDER=str(tmp_path / "unloaded"), LOAD_SERIES=False)
    processing.run("lstfusion:fuseseries", parameters, context=context, feedback=QgsProcessingFeedback())
    assert len(project.layerTreeRoot().children()) == 1
