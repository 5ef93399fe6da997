"""lstfusion:evaluate and lstfusion:compare through Processing: outputs, tables, reports, errors."""
import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsGeometry,
                       QgsPointXY, QgsProcessingException, QgsProject, QgsVectorLayer)

from conftest import yanco
from helpers import write_tif
from lst_fusion_plugin.common.errors import Cancelled
from lst_fusion_plugin.evaluation.metrics import METRICS, compute_metrics, metrics_from_arrays, resolution_ratio
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_units

UTM = (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0)
MODIS_0308 = "MOD11A1_LST_cloudrm_20160308.tif"
LANDSAT_0308 = "Landsat_LST_cloudrm_20160308.tif"


def evaluate(processing, tmp_path, prediction, reference, table="metrics.csv", **extra):
    params = {"PREDICTION": prediction, "REFERENCE": reference, "OUTPUT_TABLE": str(tmp_path / table),
              "OUTPUT_REPORT": str(tmp_path / "report.html")}
    params.update(extra)
    return processing.run("lstfusion:evaluate", params)


def test_evaluate_yanco_outputs_table_report_and_error_raster(processing, tmp_path):
    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    result = evaluate(processing, tmp_path, modis, landsat, RATIO=0.03, OUTPUT_ERROR=str(tmp_path / "err.tif"))
    expected = compute_metrics(modis, landsat, ergas_ratio=0.03)
    assert result["RMSE"] == pytest.approx(5.17, abs=0.01)
    assert result["UNITS"] == "kelvin"
    assert result["USED_DATA_RANGE"] == pytest.approx(np.nanmax(read_array(landsat)) - np.nanmin(read_array(landsat)))
    for name in METRICS:
        assert result[name] == pytest.approx(expected[name]), name

    with open(result["OUTPUT_TABLE"], newline="") as f:
        rows = {row["metric"]: row for row in csv.DictReader(f)}
    assert list(rows) == list(METRICS)
    assert float(rows["RMSE"]["value"]) == pytest.approx(expected["RMSE"], rel=1e-9)
    assert rows["RMSE"]["unit"] == "K" and rows["SAM"]["unit"] == "degrees"
    assert "sqrt(mean((P - R)²))" in rows["RMSE"]["definition"]

    text = Path(result["OUTPUT_REPORT"]).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 3  # maps, density scatter, error histogram
    assert all(len(image) > 1000 for image in images)
    assert "src=\"http" not in text and "<script" not in text  # self-contained
    metric_table = re.search(r'<table class="metrics">(.*?)</table>', text, re.S).group(1)
    assert all(f"<th>{name}</th>" in metric_table for name in METRICS)
    assert f"{expected['RMSE']:.4g}" in metric_table
    definitions = re.search(r'<table class="definitions">(.*?)</table>', text, re.S).group(1)
    assert "11 × 11 Gaussian window" in definitions and "20 log10(L / RMSE)" in definitions

    error = read_array(result["OUTPUT_ERROR"])
    np.testing.assert_allclose(error, read_array(modis) - read_array(landsat), atol=1e-4)
    assert read_units(result["OUTPUT_ERROR"]) == "kelvin"
    assert os.path.exists(str(tmp_path / "err.qml"))


def test_evaluate_json_table_and_ratio_from_coarse_raster(processing, tmp_path):
    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    coarse = write_tif(tmp_path / "coarse_1km.tif", np.full((3, 3), 300.0), (400000, 1000.0, 0, 6150000, 0, -1000.0),
                       32755)
    result = evaluate(processing, tmp_path, modis, landsat, table="metrics.json", COARSE=coarse)
    ratio = resolution_ratio(landsat, coarse)
    assert 0.08 < ratio < 0.11  # 0.001 degree is about 90-110 m at 34.8 S
    mean_ref = np.nanmean(read_array(landsat).astype(float))
    assert result["ERGAS"] == pytest.approx(100 * ratio * result["RMSE"] / mean_ref, rel=1e-6)
    document = json.loads(Path(result["OUTPUT_TABLE"]).read_text(encoding="utf-8"))
    assert document["metrics"]["RMSE"] == pytest.approx(result["RMSE"])
    assert document["ergas_ratio"] == pytest.approx(ratio)
    assert document["units"] == "kelvin"
    assert set(document["definitions"]) == set(METRICS)


@pytest.mark.parametrize("epsg", [4326, 3857])
def test_evaluate_inside_polygon_mask(processing, tmp_path, epsg):
    """A lon/lat rectangle (exactly a rectangle in Web Mercator too) selects rows 0-99, cols 0-199."""
    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    to_crs = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                    QgsCoordinateReferenceSystem(f"EPSG:{epsg}"), QgsProject.instance())
    corners = [to_crs.transform(QgsPointXY(x, y)) for x, y in ((146, -34.8), (146.2, -34.8), (146.2, -34.9),
                                                                (146, -34.9))]
    layer = QgsVectorLayer(f"Polygon?crs=EPSG:{epsg}", "mask", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPolygonXY([corners + corners[:1]]))
    layer.dataProvider().addFeatures([feature])
    result = evaluate(processing, tmp_path, modis, landsat, RATIO=0.03, MASK=layer)
    mask = np.zeros((400, 400), bool)
    mask[:100, :200] = True
    expected = metrics_from_arrays(read_array(modis), read_array(landsat), mask=mask, ergas_ratio=0.03)
    assert result["VALID_PIXELS"] == 20000
    for name in METRICS:
        assert result[name] == pytest.approx(expected[name], rel=1e-9), name


def test_evaluate_inside_raster_mask(processing, tmp_path):
    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    mask = np.zeros((400, 400), np.uint8)
    mask[150:, 50:300] = 1
    mask_path = write_tif(tmp_path / "mask.tif", mask, (146.0, 0.001, 0, -34.8, 0, -0.001), 4326, dtype=gdal.GDT_Byte)
    result = evaluate(processing, tmp_path, modis, landsat, RATIO=0.03, MASK=mask_path)
    expected = metrics_from_arrays(read_array(modis), read_array(landsat), mask=mask > 0, ergas_ratio=0.03)
    assert result["VALID_PIXELS"] == 250 * 250
    assert result["RMSE"] == pytest.approx(expected["RMSE"], rel=1e-9)
    assert result["SSIM"] == pytest.approx(expected["SSIM"], rel=1e-9)


def test_cancel_leaves_no_error_raster(tmp_path):
    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    progress = Progress(is_cancelled=lambda: True)
    with pytest.raises(Cancelled):
        compute_metrics(modis, landsat, error_path=str(tmp_path / "err.tif"), progress=progress)
    assert os.listdir(tmp_path) == []


def test_evaluate_without_ergas_ratio_computes_the_rest_and_says_why(processing, tmp_path):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.warnings = []

        def pushWarning(self, error):  # noqa: N802 (QGIS's name)
            self.warnings.append(error)

    modis, landsat = yanco(MODIS_0308), yanco(LANDSAT_0308)
    feedback = Log()
    result = processing.run("lstfusion:evaluate", {
        "PREDICTION": modis, "REFERENCE": landsat, "OUTPUT_TABLE": str(tmp_path / "m.csv"),
        "OUTPUT_REPORT": str(tmp_path / "report.html")}, context=QgsProcessingContext(), feedback=feedback)
    expected = compute_metrics(modis, landsat)
    for name in METRICS:
        if name != "ERGAS":
            assert result[name] == pytest.approx(expected[name], rel=1e-9), name
    assert np.isnan(result["ERGAS"])
    why = "ERGAS not computed: it needs the resolution ratio h / l; give COARSE"
    assert any(why in line for line in feedback.warnings)
    assert why in Path(tmp_path / "report.html").read_text(encoding="utf-8")
    with open(tmp_path / "m.csv", newline="") as handle:
        assert {row["metric"]: row["value"] for row in csv.DictReader(handle)}["ERGAS"] == ""
    with pytest.raises(QgsProcessingException, match=r"RATIO must be .* in \(0, 1\] \(got 33"):
        evaluate(processing, tmp_path, yanco(MODIS_0308), yanco(LANDSAT_0308), RATIO=33.3)


def test_evaluate_units_mismatch_is_an_error(processing, tmp_path):
    landsat = yanco(LANDSAT_0308)
    celsius = write_tif(tmp_path / "celsius.tif", read_array(landsat) - 273.15, (146.0, 0.001, 0, -34.8, 0, -0.001),
                        4326)
    with pytest.raises(QgsProcessingException, match=r"Units differ.*Celsius.*Kelvin"):
        evaluate(processing, tmp_path, celsius, landsat, RATIO=0.03)


def test_evaluate_grid_mismatch_names_the_difference(processing, tmp_path):
    a = write_tif(tmp_path / "a.tif", np.full((20, 20), 300.0), UTM, 32755)
    b = write_tif(tmp_path / "b.tif", np.full((20, 20), 300.0), UTM, 32756)
    with pytest.raises(QgsProcessingException, match=r"not on the grid of PREDICTION.*CRS EPSG:32755 vs EPSG:32756"):
        evaluate(processing, tmp_path, a, b, RATIO=0.03)


@pytest.fixture
def comparison_table(tmp_path):
    """Two methods x four dates; on 2016-03-03 both methods are far off."""
    rng = np.random.default_rng(1)
    rows = ["method,date,prediction,reference"]
    for d, date in enumerate(["2016-03-01", "2016-03-02", "2016-03-03", "2016-03-04"]):
        ref = 300 + rng.normal(0, 3, (30, 30))
        write_tif(tmp_path / f"ref_{d}.tif", ref, UTM, 32755)
        for method, noise in (("good", 1.0), ("poor", 2.0)):
            scale = noise * (6 if date == "2016-03-03" else 1)
            write_tif(tmp_path / f"{method}_{d}.tif", ref + rng.normal(0, scale, ref.shape), UTM, 32755)
            rows.append(f"{method},{date},{method}_{d}.tif,ref_{d}.tif")
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_compare_tables_chart_and_hard_dates(processing, tmp_path, comparison_table):
    result = processing.run("lstfusion:compare", {
        "INPUT": str(comparison_table), "RATIO": 0.03, "OUTPUT_TABLE": str(tmp_path / "summary.csv"),
        "OUTPUT_PER_DATE": str(tmp_path / "dates.csv"), "OUTPUT_REPORT": str(tmp_path / "compare.html")})
    with open(result["OUTPUT_PER_DATE"], newline="") as f:
        per_date = list(csv.DictReader(f))
    assert [(r["date"], r["method"]) for r in per_date][:2] == [("2016-03-01", "good"), ("2016-03-01", "poor")]
    first = compute_metrics(str(tmp_path / "good_0.tif"), str(tmp_path / "ref_0.tif"), ergas_ratio=0.03)
    assert float(per_date[0]["RMSE"]) == pytest.approx(first["RMSE"], rel=1e-8)
    assert float(per_date[0]["SSIM"]) == pytest.approx(first["SSIM"], rel=1e-8)

    with open(result["OUTPUT_TABLE"], newline="") as f:
        summary = {r["method"]: r for r in csv.DictReader(f)}
    good_rmse = np.array([float(r["RMSE"]) for r in per_date if r["method"] == "good"])
    assert int(summary["good"]["dates"]) == 4
    assert float(summary["good"]["RMSE_mean"]) == pytest.approx(good_rmse.mean(), rel=1e-8)
    assert float(summary["good"]["RMSE_std"]) == pytest.approx(np.std(good_rmse, ddof=1), rel=1e-8)
    assert result["BEST_METHOD"] == "good"
    assert result["HARD_DATES"] == "2016-03-03"

    text = Path(result["OUTPUT_REPORT"]).read_text(encoding="utf-8")
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == 1
    assert text.count('<tr class="hard">') == 2  # both methods on the hard date
    assert "mean + 1 standard deviation" in text and '<table class="summary">' in text


def test_compare_threshold_and_table_errors(processing, tmp_path, comparison_table):
    result = processing.run("lstfusion:compare", {
        "INPUT": str(comparison_table), "RATIO": 0.03, "HARD_RMSE": 0.5,
        "OUTPUT_TABLE": str(tmp_path / "summary.json"), "OUTPUT_PER_DATE": str(tmp_path / "dates.json"),
        "OUTPUT_REPORT": str(tmp_path / "compare.html")})
    assert result["HARD_DATES"] == "2016-03-01,2016-03-02,2016-03-03,2016-03-04"
    summary = json.loads(Path(result["OUTPUT_TABLE"]).read_text(encoding="utf-8"))
    assert [s["method"] for s in summary] == ["good", "poor"]

    bad = tmp_path / "bad.csv"
    bad.write_text("method,date,prediction\ngood,2016-03-01,good_0.tif\n")
    with pytest.raises(QgsProcessingException, match="missing: reference"):
        processing.run("lstfusion:compare", {"INPUT": str(bad), "RATIO": 0.03,
                                             "OUTPUT_TABLE": str(tmp_path / "s.csv"),
                                             "OUTPUT_PER_DATE": str(tmp_path / "d.csv"),
                                             "OUTPUT_REPORT": str(tmp_path / "r.html")})
    missing = tmp_path / "missing.csv"
    missing.write_text("method,date,prediction,reference\ngood,2016-03-01,nothere.tif,ref_0.tif\n")
    with pytest.raises(QgsProcessingException, match=r"line 2: prediction file not found.*nothere\.tif"):
        processing.run("lstfusion:compare", {"INPUT": str(missing), "RATIO": 0.03,
                                             "OUTPUT_TABLE": str(tmp_path / "s.csv"),
                                             "OUTPUT_PER_DATE": str(tmp_path / "d.csv"),
                                             "OUTPUT_REPORT": str(tmp_path / "r.html")})


def test_compare_ratio_from_coarse_column_or_an_error(processing, tmp_path, comparison_table):
    write_tif(tmp_path / "modis.tif", np.full((2, 2), 300.0), (400000, 1000.0, 0, 6150000, 0, -1000.0), 32755)
    lines = comparison_table.read_text().splitlines()
    with_coarse = tmp_path / "with_coarse.csv"
    with_coarse.write_text("\n".join([lines[0] + ",coarse"] + [line + ",modis.tif" for line in lines[1:3]]) + "\n")
    outputs = {"OUTPUT_TABLE": str(tmp_path / "s.csv"), "OUTPUT_PER_DATE": str(tmp_path / "d.csv"),
               "OUTPUT_REPORT": str(tmp_path / "r.html")}
    result = processing.run("lstfusion:compare", {"INPUT": str(with_coarse), **outputs})
    with open(result["OUTPUT_PER_DATE"], newline="") as f:
        row = next(csv.DictReader(f))
    mean_ref = np.nanmean(read_array(str(tmp_path / "ref_0.tif")).astype(float))
    assert float(row["ERGAS"]) == pytest.approx(100 * 0.03 * float(row["RMSE"]) / mean_ref, rel=1e-6)
    assert result["HARD_DATES"] == ""  # a single date: no statistical rule
    with pytest.raises(QgsProcessingException, match="ERGAS needs the resolution ratio.*RATIO.*coarse"):
        processing.run("lstfusion:compare", {"INPUT": str(comparison_table), **outputs})
