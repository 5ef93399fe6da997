"""UNCERTAINTY in fuseseries, OUTPUT_UNCERTAINTY in estarfm/starfm, through Processing on a small simulation."""
import os

import numpy as np
import pytest
from qgis.core import QgsApplication, QgsProcessingException

from helpers import write_tif
from lst_fusion_plugin.common.raster_io import read_array, read_grid
from lst_fusion_plugin.evaluation.conformal import load_calibration
from lst_fusion_plugin.simulation.simulate import simulate_series


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=64, cols=64, days=37, revisit=6,
                           cloud_fraction=0.15, seed=2)


def test_help_states_what_the_interval_covers_and_the_assumption(plugin):
    for name in ("fuseseries", "estarfm", "starfm"):
        text = QgsApplication.processingRegistry().algorithmById(f"lstfusion:{name}").shortHelpString()
        assert "exchangeable" in text and "half-width" in text and "INTERVAL_LEVEL" in text


def test_fuseseries_writes_uncertainty_quality_styles_and_a_reusable_calibration(processing, sim, tmp_path):
    dates = "2023-06-21,2023-06-22"
    result = processing.run("lstfusion:fuseseries", {
        "PAIRS": sim.pairs, "METHOD": 1, "DATES": dates, "UNCERTAINTY": True, "OUTPUT_FOLDER": str(tmp_path)})
    assert result["PREDICTED"] == 2
    assert result["CALIBRATION_FILE"] == str(tmp_path / "calibration.json")
    for date in dates.split(","):
        prediction = read_array(str(tmp_path / f"lst_{date}.tif"))
        half = read_array(str(tmp_path / f"lst_{date}_uncertainty.tif"))
        quality = read_array(str(tmp_path / f"lst_{date}_quality.tif"))
        assert read_grid(str(tmp_path / f"lst_{date}_uncertainty.tif")).difference(
            read_grid(sim.fine["2023-06-01"])) is None
        np.testing.assert_array_equal(np.isfinite(half), np.isfinite(prediction))
        np.testing.assert_array_equal(quality, np.where(np.isfinite(prediction), 1, 0))
        assert np.nanmin(half) > 0
        for suffix in ("_uncertainty.qml", "_quality.qml"):
            assert os.path.exists(tmp_path / f"lst_{date}{suffix}")
    # the classical tool with the calibration gives the same half-widths for a date with observed coarse pixels
    refs = ("2023-06-19", "2023-06-25")
    out = processing.run("lstfusion:estarfm", {
        "FINE_REF": sim.fine[refs[0]], "COARSE_REF": sim.coarse_on_fine[refs[0]],
        "FINE_REF2": sim.fine[refs[1]], "COARSE_REF2": sim.coarse_on_fine[refs[1]],
        "COARSE_TARGET": sim.coarse_on_fine["2023-06-21"], "OUTPUT": str(tmp_path / "single.tif"),
        "OUTPUT_UNCERTAINTY": str(tmp_path / "single_uncertainty.tif"),
        "CALIBRATION": result["CALIBRATION_FILE"]})
    np.testing.assert_allclose(read_array(out["OUTPUT_UNCERTAINTY"]),
                               read_array(str(tmp_path / "lst_2023-06-21_uncertainty.tif")), rtol=1e-6)


def test_output_uncertainty_without_calibration_is_refused(processing, sim, tmp_path):
    with pytest.raises(QgsProcessingException, match="CALIBRATION"):
        processing.run("lstfusion:starfm", {
            "FINE_REF": sim.fine["2023-06-19"], "COARSE_REF": sim.coarse_on_fine["2023-06-19"],
            "COARSE_TARGET": sim.coarse_on_fine["2023-06-21"], "OUTPUT": str(tmp_path / "p.tif"),
            "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif")})


def test_evaluate_reports_coverage_and_mean_width_of_an_uncertainty_raster(processing, tmp_path):
    rng = np.random.default_rng(7)
    truth = 290 + 5 * rng.random((40, 50))
    prediction = truth + rng.normal(0, 1.0, truth.shape)
    half = np.abs(rng.normal(1.5, 0.5, truth.shape))
    prediction[:3] = -9999.0  # no-data rows
    half[5, :7] = -9999.0
    transform = (400000.0, 30.0, 0.0, 6150000.0, 0.0, -30.0)
    paths = [write_tif(tmp_path / f"{n}.tif", a.astype(np.float32), transform, 32755, nodata=-9999.0)
             for n, a in (("p", prediction), ("t", truth), ("u", half))]
    result = processing.run("lstfusion:evaluate", {
        "PREDICTION": paths[0], "REFERENCE": paths[1], "UNCERTAINTY": paths[2], "RATIO": 0.03,
        "OUTPUT_TABLE": str(tmp_path / "m.csv"), "OUTPUT_REPORT": str(tmp_path / "r.html")})
    p, t, w = (a.astype(np.float32).astype(np.float64) for a in (prediction, truth, half))
    ok = np.ones(truth.shape, bool)
    ok[:3] = False
    ok[5, :7] = False
    assert result["COVERAGE"] == pytest.approx(np.mean(np.abs(t - p)[ok] <= w[ok]), abs=1e-12)
    assert result["MEAN_WIDTH"] == pytest.approx(2 * w[ok].mean(), rel=1e-9)


def test_fuse_output_uncertainty_needs_a_calibrated_model(processing, sim, tmp_path):
    import torch  # noqa: F401 (pinned: a missing one is an error, not a skip)
    with pytest.raises(QgsProcessingException, match="no calibration"):
        processing.run("lstfusion:fuse", {
            "FINE_REF": sim.fine["2023-06-19"], "COARSE_REF": sim.coarse_on_fine["2023-06-19"],
            "COARSE_TARGET": sim.coarse_on_fine["2023-06-21"], "DEVICE": 1, "OUTPUT": str(tmp_path / "p.tif"),
            "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif")})
    assert os.path.exists(tmp_path / "p.tif") and not os.path.exists(tmp_path / "u.tif")


def test_experiment_calibrates_classical_methods_on_its_test_dates(processing, sim, tmp_path):
    result = processing.run("lstfusion:experiment", {
        "PAIRS": sim.pairs, "METHODS": [0, 1], "TEST_DATES": "2023-06-25,2023-07-01", "RATIO": 0.03,
        "UNCERTAINTY": True, "OUTPUT_FOLDER": str(tmp_path)})
    assert result["BEST_METHOD"] in ("starfm", "estarfm")
    for name in ("starfm", "estarfm"):
        calibration = load_calibration(str(tmp_path / f"calibration_{name}.json"))
        assert calibration.method == name and set(calibration.dates) <= {"2023-06-25", "2023-07-01"}
        assert calibration.dates and calibration.quantile(0.9) > 0


def test_a_calibration_of_another_half_window_is_refused(processing, sim, tmp_path):
    from lst_fusion_plugin.common.pairs import read_pairs
    from lst_fusion_plugin.evaluation.conformal import save_calibration
    from lst_fusion_plugin.workflows.calibration import calibrate_series
    from lst_fusion_plugin.workflows.methods import FusionMethod
    from lst_fusion_plugin.workflows.uncertainty import UncertaintySettings
    method = FusionMethod("starfm", settings={"half_window": 4})
    calibration = calibrate_series(method, read_pairs(sim.pairs), UncertaintySettings(calibration_dates=3))
    assert calibration.details["half_window"] == 4
    path = save_calibration(str(tmp_path / "c.json"), calibration)
    with pytest.raises(QgsProcessingException, match="half window of 4 pixels, this run uses 15"):
        processing.run("lstfusion:starfm", {
            "FINE_REF": sim.fine["2023-06-19"], "COARSE_REF": sim.coarse_on_fine["2023-06-19"],
            "COARSE_TARGET": sim.coarse_on_fine["2023-06-21"], "OUTPUT": str(tmp_path / "p.tif"),
            "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif"), "CALIBRATION": path})
