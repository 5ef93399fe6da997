"""A graphical model chaining landsatlst -> fillgaps -> aligntofine, and the styled LST outputs."""
import os

import numpy as np
import pytest
from qgis.core import QgsProcessingModelAlgorithm, QgsRasterLayer, QgsSingleBandPseudoColorRenderer

from conftest import REPO
from helpers import srs_wkt
from lst_fusion_plugin.algorithms.styling import fit_ramp_to_data
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units, write_array
from product_fixtures import QA_CLOUD, QA_SHADOW, kelvin_field, write_landsat_scene

MODEL = os.path.join(REPO, "tests", "data", "landsat_fill_align.model3")


def test_model_landsat_lst_fill_gaps_align(processing, tmp_path):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(MODEL)
    assert sorted(c.algorithmId() for c in model.childAlgorithms().values()) == [
        "lstfusion:aligntofine", "lstfusion:fillgaps", "lstfusion:landsatlst"]
    kelvin = kelvin_field(60, 80)
    qa = np.full((60, 80), 21824)
    qa[10:20, 10:30] = QA_CLOUD
    qa[25:30, 40:50] = QA_SHADOW
    scene = write_landsat_scene(tmp_path / "scene", "20191101", kelvin, qa)
    # target grid: a 30 m window of the scene (10 columns, 5 rows in), e.g. a study area
    target = Grid(srs_wkt(32724), (546300.0 + 300.0, 30.0, 0.0, 9281310.0 - 150.0, 0.0, -30.0), 50, 40)
    reference = write_array(str(tmp_path / "target.tif"), np.zeros(target.shape, np.float32), target)
    out = str(tmp_path / "lst_on_grid.tif")
    result = processing.run(model, {"st_b10": scene["st"], "reference": reference, "align:lst_on_grid": out})
    assert result["align:lst_on_grid"] == out
    assert read_grid(out).difference(target) is None
    values = read_array(out)
    assert np.isfinite(values).all()  # clouds and shadow masked, then filled, then aligned
    assert read_units(out) == "celsius"  # the model asks landsatlst for °C
    celsius = (kelvin - 273.15)[5:45, 10:60]
    clear = (qa == 21824)[5:45, 10:60]
    np.testing.assert_allclose(values[clear], celsius[clear], atol=0.0018)  # same pixels: unchanged
    assert celsius[clear].min() <= values[~clear].min() and values[~clear].max() <= celsius[clear].max()


@pytest.mark.parametrize("units,suffix", [("kelvin", "K"), ("celsius", "°C")])
def test_style_ramp_is_fitted_to_the_layer_range(qgis_app, tmp_path, units, suffix):
    grid = Grid(srs_wkt(32724), (546300.0, 30.0, 0.0, 9281310.0, 0.0, -30.0), 20, 10)
    values = np.linspace(10.0, 20.0, 200, dtype=np.float32).reshape(10, 20) + (273.15 if units == "kelvin" else 0)
    path = write_array(str(tmp_path / "lst.tif"), values, grid, units=units)
    layer = QgsRasterLayer(path, "lst")
    layer.loadNamedStyle(os.path.join(REPO, "resources", f"lst_{units}.qml"))
    assert fit_ramp_to_data(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    assert renderer.classificationMin() == pytest.approx(values.min(), abs=1e-3)
    assert renderer.classificationMax() == pytest.approx(values.max(), abs=1e-3)
    items = renderer.shader().rasterShaderFunction().colorRampItemList()
    assert items[0].value == pytest.approx(values.min(), abs=1e-3)
    assert items[-1].value == pytest.approx(values.max(), abs=1e-3)
    assert items[-1].label.endswith(f" {suffix}") and items[-1].color.name() == "#a50026"
