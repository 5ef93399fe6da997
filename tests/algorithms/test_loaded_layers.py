"""Results loaded into a project (processing.runAndLoadResults, as the desktop does): layer names,
colour ramp and legend fitted to each layer's own min-max, band descriptions."""
import datetime as dt
import os

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (QgsColorRampLegendNode, QgsLayerTreeModel, QgsProcessing, QgsProcessingModelAlgorithm,
                       QgsProject, QgsRasterLayer, QgsSettings)
from qgis.PyQt.QtCore import Qt

import product_fixtures
from classical_scenes import SYNTHETIC_GRID, synthetic_arrays, write_scene
from conftest import REPO, yanco
from lst_fusion_plugin.algorithms.layer_names import dated_name
from lst_fusion_plugin.common.raster_io import read_array

PREFER_FILENAME = "Processing/Configuration/PREFER_FILENAME_AS_LAYER_NAME"


@pytest.fixture
def project():
    """QGIS's current project, emptied before and after the test."""
    project = QgsProject.instance()
    project.clear()
    yield project
    project.clear()


@pytest.fixture
def model(project):
    """A layer tree model on the project, as the Layers panel shows it (with legends)."""
    return QgsLayerTreeModel(project.layerTreeRoot())


def loaded(project, result: dict, key: str = "OUTPUT") -> QgsRasterLayer:
    """The project layer loaded from an output of runAndLoadResults."""
    layers = [layer for layer in project.mapLayers().values() if layer.source() == result[key]]
    assert len(layers) == 1, [layer.source() for layer in project.mapLayers().values()]
    return layers[0]


def legend_nodes(model, layer):
    """The layer tree legend nodes of a project layer."""
    return model.layerLegendNodes(QgsProject.instance().layerTreeRoot().findLayer(layer.id()))


def ramp_image(node_layer, node: QgsColorRampLegendNode, low: float, high: float):
    """The legend picture (colour bar with its min and max labels) of ``node``'s ramp at low-high."""
    fresh = QgsColorRampLegendNode(node_layer, node.ramp().clone(), node.settings(), low, high)
    return fresh.data(Qt.DecorationRole).toImage()


def check_fitted(model, layer: QgsRasterLayer, description: str, low: float, high: float,
                 suffix: str = " K") -> None:
    """Renderer ramp, legend and band description of ``layer`` follow its own range low-high."""
    ramp = layer.renderer().shader().rasterShaderFunction()
    assert (ramp.minimumValue(), ramp.maximumValue()) == pytest.approx((low, high), abs=1e-4)
    items = ramp.colorRampItemList()
    assert (items[0].value, items[-1].value) == pytest.approx((low, high), abs=1e-4)
    assert (items[0].label, items[-1].label) == (f"{low:.1f}{suffix}", f"{high:.1f}{suffix}")
    title, bar = legend_nodes(model, layer)
    assert description in title.data(Qt.DisplayRole)  # 'Band 1: LST (K) (Gray)'
    assert isinstance(bar, QgsColorRampLegendNode)
    assert bar.settings().suffix() == suffix
    # the legend node was rebuilt after the fit: its picture shows the layer's min and max ...
    shown = bar.data(Qt.DecorationRole).toImage()
    assert shown == ramp_image(bar.layerNode(), bar, low, high)
    # ... not the style file's range (a test that could fail: the two pictures differ)
    assert shown != ramp_image(bar.layerNode(), bar, 270.0, 330.0)
    ds = gdal.Open(layer.source())
    assert ds.GetRasterBand(1).GetDescription() == description


def value_range(path: str):
    """(min, max) of band 1, computed with numpy."""
    values = read_array(path)
    return float(np.nanmin(values)), float(np.nanmax(values))


@pytest.mark.slow
def test_two_runs_load_named_and_fitted_layers(processing, project, model):
    names = {"fine_0205": "Landsat_LST_cloudrm_20160205.tif", "coarse_0205": "MOD11A1_LST_cloudrm_20160205.tif",
             "fine_0308": "Landsat_LST_cloudrm_20160308.tif", "coarse_0308": "MOD11A1_LST_cloudrm_20160308.tif",
             "coarse_0218": "MOD11A1_LST_cloudrm_20160218.tif"}
    inputs = {key: QgsRasterLayer(yanco(name), os.path.splitext(name)[0]) for key, name in names.items()}
    project.addMapLayers(list(inputs.values()))

    estarfm = processing.runAndLoadResults("lstfusion:estarfm", {
        "FINE_REF": inputs["fine_0205"], "COARSE_REF": inputs["coarse_0205"],
        "FINE_REF2": inputs["fine_0308"], "COARSE_REF2": inputs["coarse_0308"],
        "COARSE_TARGET": inputs["coarse_0218"], "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT})
    edcstfn = processing.runAndLoadResults("lstfusion:fuse", {
        "FINE_REF": inputs["fine_0205"].id(), "COARSE_REF": inputs["coarse_0205"].id(),
        "COARSE_TARGET": inputs["coarse_0308"].id(), "OUTPUT": QgsProcessing.TEMPORARY_OUTPUT})

    first, second = loaded(project, estarfm), loaded(project, edcstfn)
    assert (first.name(), second.name()) == ("ESTARFM 2016-02-18", "EDCSTFN 2016-03-08")
    assert len(project.mapLayers()) == 7
    for layer in (first, second):
        low, high = value_range(layer.source())
        assert 290 < low < high < 335  # Yanco in February-March: the fit is not the style's 270-330
        check_fitted(model, layer, "LST (K)", low, high)


def test_a_file_name_typed_by_the_user_names_the_layer(processing, project, tmp_path, monkeypatch):
    # QGIS treats files under the system temporary folder as temporary outputs (named after the
    # algorithm's output): point that folder elsewhere, as on a desktop saving into a project folder
    (tmp_path / "system-tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "system-tmp"))
    paths = write_scene(tmp_path, synthetic_arrays(), SYNTHETIC_GRID, units="kelvin", suffix="_20200110")
    parameters = {name: paths[name] for name in ("FINE_REF", "COARSE_REF", "COARSE_TARGET")}
    typed = processing.runAndLoadResults("lstfusion:starfm", dict(parameters, OUTPUT=str(tmp_path / "my_run.tif")))
    temporary = processing.runAndLoadResults("lstfusion:starfm", dict(parameters, OUTPUT="TEMPORARY_OUTPUT"))
    settings = QgsSettings()
    settings.setValue(PREFER_FILENAME, False)
    try:
        unpreferred = processing.runAndLoadResults("lstfusion:starfm",
                                                   dict(parameters, OUTPUT=str(tmp_path / "other.tif")))
    finally:
        settings.remove(PREFER_FILENAME)
    assert loaded(project, typed).name() == "my_run"
    assert loaded(project, temporary).name() == "STARFM 2020-01-10"
    assert loaded(project, unpreferred).name() == "STARFM 2020-01-10"


def test_error_raster_is_named_after_the_prediction_and_centred_on_zero(processing, project, model, tmp_path):
    arrays = synthetic_arrays()
    paths = write_scene(tmp_path, arrays, SYNTHETIC_GRID, units="kelvin", suffix="_20200110")
    prediction = processing.runAndLoadResults("lstfusion:starfm", {
        name: paths[name] for name in ("FINE_REF", "COARSE_REF", "COARSE_TARGET")} | {"OUTPUT": "TEMPORARY_OUTPUT"})
    predicted = loaded(project, prediction)
    reference = write_scene(tmp_path, {"truth": arrays["FINE_REF2"]}, SYNTHETIC_GRID, units="kelvin")["truth"]
    result = processing.runAndLoadResults("lstfusion:evaluate", {
        "PREDICTION": predicted, "REFERENCE": reference, "RATIO": 0.03,
        "OUTPUT_TABLE": str(tmp_path / "m.csv"), "OUTPUT_REPORT": str(tmp_path / "m.html"),
        "OUTPUT_ERROR": "TEMPORARY_OUTPUT"})
    error = loaded(project, result, "OUTPUT_ERROR")
    assert error.name() == "Error (P - R) STARFM 2020-01-10"
    low, high = value_range(error.source())
    expected = np.nanmax(np.abs(read_array(predicted.source()) - arrays["FINE_REF2"]))
    assert max(-low, high) == pytest.approx(expected, abs=1e-4)
    check_fitted(model, error, "error P - R (K)", -max(-low, high), max(-low, high), suffix="")


def test_preprocessing_outputs_are_named_after_sensor_date_and_step(processing, project, model, tmp_path):
    landsat_kelvin = product_fixtures.kelvin_field(30, 30)
    landsat_kelvin[3:6, 4:9] = np.nan  # a gap to fill
    landsat = product_fixtures.write_landsat_scene(tmp_path / "landsat", "20191101", landsat_kelvin)
    modis = product_fixtures.write_modis_export(tmp_path / "modis", "2019305",
                                                product_fixtures.kelvin_field(20, 20, seed=1))
    fine = loaded(project, processing.runAndLoadResults("lstfusion:landsatlst", {
        "INPUT": landsat["st"], "UNITS": 1, "OUTPUT": "TEMPORARY_OUTPUT"}))
    coarse = loaded(project, processing.runAndLoadResults("lstfusion:modislst", {
        "INPUT": modis["lst"], "UNITS": 1, "OUTPUT": "TEMPORARY_OUTPUT"}))
    aligned = loaded(project, processing.runAndLoadResults("lstfusion:aligntofine", {
        "INPUT": coarse, "REFERENCE": fine, "OUTPUT": "TEMPORARY_OUTPUT"}))
    filled = loaded(project, processing.runAndLoadResults("lstfusion:fillgaps", {
        "INPUT": fine, "OUTPUT": "TEMPORARY_OUTPUT"}))
    assert [layer.name() for layer in (fine, coarse, aligned, filled)] == [
        "Landsat LST 2019-11-01", "MODIS day LST 2019-11-01", "MODIS day LST 2019-11-01 aligned",
        "Landsat LST 2019-11-01 gaps filled"]
    for layer in (fine, coarse, aligned, filled):
        check_fitted(model, layer, "LST (°C)", *value_range(layer.source()), suffix=" °C")


def test_dated_name_takes_the_date_given_then_from_the_file_then_from_the_layer():
    assert dated_name("ESTARFM", "/d/MOD11A1_LST_cloudrm_20160218.tif") == "ESTARFM 2016-02-18"
    assert dated_name("MODIS day LST", "/d/MOD11A1.A2019305.h14v09.006.2019306084028.hdf") \
        == "MODIS day LST 2019-11-01"
    assert dated_name("STARFM", "/d/target.tif", "MODIS 2016-03-08") == "STARFM 2016-03-08"
    assert dated_name("STARFM", "/d/t_20160308.tif", "x", dt.date(2016, 2, 1)) == "STARFM 2016-02-01"
    assert dated_name("STARFM", "/d/target.tif", "coarse target") == "STARFM (coarse target)"
    assert dated_name("STARFM", "/d/target.tif") == "STARFM (target)"
    assert dated_name("STARFM", "/d/t_20160101_20160308.tif") == "STARFM (t_20160101_20160308)"


def test_a_graphical_models_output_name_is_kept(processing, project, tmp_path):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(os.path.join(REPO, "tests", "data", "landsat_fill_align.model3"))
    scene = product_fixtures.write_landsat_scene(tmp_path, "20191101", product_fixtures.kelvin_field(30, 40))
    result = processing.runAndLoadResults(model, {"st_b10": scene["st"], "reference": scene["st"],
                                                  "align:lst_on_grid": "TEMPORARY_OUTPUT"})
    assert loaded(project, result, "align:lst_on_grid").name() == "lst_on_grid"
