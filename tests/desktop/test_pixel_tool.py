"""The pixel time-series tool on a loaded series: click -> dock with the plot -> PNG/CSV export."""
import csv

import numpy as np
import pytest
from fake_iface import FakeIface
from lst_fusion_plugin.algorithms.base import LST_STYLE
from lst_fusion_plugin.algorithms.series_layers import load_series
from lst_fusion_plugin.common.raster_io import read_array, read_grid
from lst_fusion_plugin.desktop import startup_offer
from lst_fusion_plugin.desktop.pixel_tool import series_layer
from lst_fusion_plugin.desktop.ui import MENU, DesktopUi
from lst_fusion_plugin.workflows.fuse_series import read_series
from qgis.core import QgsCoordinateReferenceSystem, QgsPointXY, QgsProject
from qgis.PyQt.QtCore import Qt
from series_fixture import fused_series


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return fused_series(tmp_path_factory.mktemp("tool"))


@pytest.fixture
def desktop(qgis_app, series, monkeypatch):
    """A fake desktop with the series loaded in QgsProject.instance() and on the canvas."""
    monkeypatch.setattr(startup_offer, "torch_missing", lambda: False)
    _, folder = series
    project = QgsProject.instance()
    group = load_series(project, folder, LST_STYLE.format(units="kelvin"), "Fused LST")
    layers = [node.layer() for node in group.findLayers()]
    iface = FakeIface()
    iface.canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    iface.canvas.setLayers(layers)
    ui = DesktopUi(iface)
    ui.init()
    yield iface, ui, layers
    ui.unload()
    project.removeAllMapLayers()
    project.layerTreeRoot().removeAllChildren()


def test_clicking_a_pixel_plots_its_series_and_exports_it(desktop, series, tmp_path):
    iface, ui, layers = desktop
    _, folder = series
    pixel_action = [a for a in iface.menus[MENU] if a.text().startswith("LST pixel")][0]
    pixel_action.toggle()
    assert iface.canvas.mapTool() is ui.tool
    index = read_series(folder)
    grid = read_grid(index.paths[0])
    x0, dx, _, y0, _, dy = grid.transform
    x, y = x0 + 20.5 * dx, y0 + 11.5 * dy
    # the canvas is in WGS 84: the tool transforms the click to the series' CRS
    from qgis.core import QgsCoordinateTransform
    to_canvas = QgsCoordinateTransform(layers[0].crs(), QgsCoordinateReferenceSystem("EPSG:4326"),
                                       QgsProject.instance())
    ui.tool.sample(to_canvas.transform(QgsPointXY(x, y)), Qt.MouseButton.LeftButton)
    assert ui.dock is not None and ui.dock in iface.docks
    np.testing.assert_allclose(ui.dock.series.fused, [read_array(p)[11, 20] for p in index.paths], rtol=1e-6)
    assert ui.dock.png_button.isEnabled()
    ui.dock.export(str(tmp_path / "pixel.png"))
    ui.dock.export(str(tmp_path / "pixel.csv"))
    assert (tmp_path / "pixel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "pixel.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(index.dates) and rows[0]["fused"]
    pixel_action.toggle()
    assert iface.canvas.mapTool() is None


def test_a_click_outside_or_without_a_series_warns_in_the_message_bar(desktop):
    iface, ui, layers = desktop
    ui.tool.sample(QgsPointXY(-120.0, 10.0), Qt.MouseButton.LeftButton)
    assert "outside the fused series" in iface.bar.currentItem().text()
    iface.canvas.setLayers([])
    assert series_layer(iface.canvas) is None
    ui.tool.sample(QgsPointXY(0.0, 0.0), Qt.MouseButton.LeftButton)
    assert "No fused series on the map" in iface.bar.currentItem().text()
