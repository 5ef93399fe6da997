"""lstfusion:download and the shipped model download -> buildseries, in QGIS and from qgis_process."""
import json
import os
import subprocess

import pytest
from qgis.core import QgsApplication, QgsProcessingException

import stac_fixtures
from conftest import REPO
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.raster_io import read_grid
from lst_fusion_plugin.preprocessing.stac_catalogue import PRODUCTS
from stac_fixtures import D1, D2

catalogue, server = stac_fixtures.catalogue, stac_fixtures.server  # fixtures
EXTENT = "400000,412000,5320000,5329000 [EPSG:32631]"  # xmin,xmax,ymin,ymax: 12 x 9 km in UTM 31N
L8_D1 = "LC08_L2SP_198026_20200718_20200912_02_T1"
SHELL = os.path.join(REPO, "scripts", "qgis-process")


def parameters(catalogue, **extra):
    return dict({"EXTENT": EXTENT, "START_DATE": str(D1), "END_DATE": str(D2), "PRODUCTS": [0, 5],
                 "MAX_CLOUD": 50, "STAC_API": catalogue.url}, **extra)


def test_download_algorithm_writes_the_two_folders(processing, catalogue, server, tmp_path):
    out = str(tmp_path / "download")
    result = processing.run("lstfusion:download", parameters(catalogue, OUTPUT_FOLDER=out))
    assert result["OUTPUT_FOLDER"] == out
    assert result["MODIS_FOLDER"] == os.path.join(out, "modis")
    assert result["LANDSAT_FOLDER"] == os.path.join(out, "landsat")
    assert (result["WRITTEN_COUNT"], result["SKIPPED_COUNT"]) == (4, 0)
    assert len(os.listdir(result["MODIS_FOLDER"])) == 2
    scene = os.path.join(result["LANDSAT_FOLDER"], L8_D1, L8_D1 + "_ST_B10.TIF")
    assert read_grid(scene).transform == (399975.0, 30.0, 0.0, 5329005.0, 0.0, -30.0)
    with open(result["SUMMARY"], encoding="utf-8") as f:
        assert "6 item(s) found; 4 written" in f.read()
    again = processing.run("lstfusion:download", parameters(catalogue, OUTPUT_FOLDER=out))
    assert (again["WRITTEN_COUNT"], again["SKIPPED_COUNT"]) == (0, 4)


def test_extent_in_lon_lat_across_two_modis_tiles(processing, catalogue, server, tmp_path):
    result = processing.run("lstfusion:download", parameters(
        catalogue, EXTENT="-0.05,0.05,47.9,48.0 [EPSG:4326]", END_DATE=str(D1), PRODUCTS=[0],
        OUTPUT_FOLDER=str(tmp_path)))
    assert sorted(os.listdir(result["MODIS_FOLDER"])) == ["MOD11A1.A2020200.h17v04.061.2020201095327.tif",
                                                          "MOD11A1.A2020200.h18v04.061.2020201095403.tif"]
    assert os.listdir(result["LANDSAT_FOLDER"]) == []


@pytest.mark.parametrize("change,message", [
    ({"STAC_API": "http://127.0.0.1:9"}, "Cannot reach the STAC API"),
    ({"START_DATE": "18/07/2020"}, "START_DATE: '18/07/2020' is not a date"),
    ({"START_DATE": "2019-01-01", "END_DATE": "2019-01-31"}, "No item found"),
])
def test_download_errors_are_processing_exceptions(processing, catalogue, server, tmp_path, change, message):
    with pytest.raises(QgsProcessingException, match=message):
        processing.run("lstfusion:download", parameters(catalogue, OUTPUT_FOLDER=str(tmp_path), **change))


def test_shipped_model_goes_from_area_to_series_in_one_call(processing, catalogue, server, tmp_path):
    model = QgsApplication.processingRegistry().algorithmById("lstfusion:downloadtoseries")
    assert model is not None and model.displayName() == "Download and build LST series (model)"
    assert model.group() == "Preprocessing" and model.shortHelpString()
    assert sorted(c.algorithmId() for c in model.childAlgorithms().values()) == [
        "lstfusion:buildseries", "lstfusion:download"]
    products = model.parameterDefinition("PRODUCTS")  # the model's copy of the algorithm's enum
    assert products.options() == [p.label for p in PRODUCTS] and products.allowMultiple()
    series = str(tmp_path / "series")
    result = processing.run("lstfusion:downloadtoseries", parameters(
        catalogue, **{"download:DOWNLOAD_FOLDER": str(tmp_path / "download"), "buildseries:SERIES_FOLDER": series}))
    assert result["buildseries:SERIES_FOLDER"] == series
    rows = read_pairs(os.path.join(series, "pairs.csv"))
    assert [(row.date, bool(row.fine), bool(row.coarse)) for row in rows] == [(D1, True, True), (D2, True, True)]
    assert read_grid(rows[0].fine).shape == (301, 401)


def test_model_runs_from_qgis_process(catalogue, server, tmp_path):
    env = dict(os.environ, LST_FUSION_PROFILE=str(tmp_path / "profile"), NO_PROXY="127.0.0.1,localhost")
    series = tmp_path / "series"
    args = [f"{key}={value}" for key, value in parameters(catalogue).items() if key != "PRODUCTS"]
    done = subprocess.run([SHELL, "--json", "run", "lstfusion:downloadtoseries", "--", *args, "PRODUCTS=0,5",
                           f"download:DOWNLOAD_FOLDER={tmp_path / 'download'}",
                           f"buildseries:SERIES_FOLDER={series}"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["results"]["buildseries:SERIES_FOLDER"] == str(series)
    assert len(read_pairs(str(series / "pairs.csv"))) == 2
