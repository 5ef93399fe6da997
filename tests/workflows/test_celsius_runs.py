"""Runs on a series in degrees Celsius: STARFM, every deep model (trained on °C), fuseseries, experiment.

The °C series is the Kelvin synthetic series minus 273.15, labelled 'celsius'. Every run
must keep °C end to end (outputs labelled 'celsius', values in °C), and give the Kelvin
run's result shifted by 273.15 (or the same RMSE, which does not depend on the offset).
"""
import csv
import json
import os

import numpy as np
import pytest
from qgis.core import QgsProcessingException

from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units, write_array
from lst_fusion_plugin.models.deep.architectures import get_spec, model_names
from lst_fusion_plugin.models.registry import method_names
from synthetic_series import write_series

K0 = 273.15
DAYS = ["2020-06-01", "2020-06-17", "2020-07-03", "2020-07-19", "2020-08-04"]


def celsius_copy(kelvin_folder, folder):
    """Every raster of ``kelvin_folder`` minus 273.15, labelled 'celsius', and the same pairs table."""
    os.makedirs(folder)
    for name in os.listdir(kelvin_folder):
        source = os.path.join(kelvin_folder, name)
        if name.endswith(".tif"):
            assert read_units(source) == "kelvin"
            write_array(os.path.join(folder, name), read_array(source) - K0, read_grid(source), units="celsius")
        elif name.endswith(".csv"):
            with open(source) as f, open(os.path.join(folder, name), "w") as g:
                g.write(f.read())
    return os.path.join(folder, "pairs.csv")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """{'kelvin': pairs table, 'celsius': pairs table}: 48 x 48 pixels, 5 dates 16 days apart."""
    root = tmp_path_factory.mktemp("series")
    kelvin = write_series(str(root / "kelvin"), rows=48, cols=48, dates=5)
    return {"kelvin": kelvin, "celsius": celsius_copy(str(root / "kelvin"), str(root / "celsius"))}


def image(series, units, kind, day):
    return os.path.join(os.path.dirname(series[units]), f"{kind}_{day}.tif")


def test_starfm_in_celsius_is_the_kelvin_result_minus_273_15(processing, series, tmp_path):
    out = {}
    for units in ("kelvin", "celsius"):
        out[units] = processing.run("lstfusion:starfm", {
            "FINE_REF": image(series, units, "fine", DAYS[0]), "COARSE_REF": image(series, units, "coarse", DAYS[0]),
            "COARSE_TARGET": image(series, units, "coarse", DAYS[1]), "HALF_WINDOW": 5,
            "OUTPUT": str(tmp_path / f"{units}.tif")})["OUTPUT"]
    assert read_units(out["celsius"]) == "celsius"
    kelvin, celsius = read_array(out["kelvin"]), read_array(out["celsius"])
    assert np.isfinite(celsius).all() and 0 < celsius.mean() < 60
    assert np.abs(celsius + K0 - kelvin).max() < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("name", model_names())
def test_deep_model_trained_in_celsius_predicts_in_celsius(processing, series, tmp_path, name):
    import torch  # noqa: F401 (pinned: a missing one is an error, not a skip)
    from lst_fusion_plugin.models.deep.model_file import load_model
    model = str(tmp_path / f"{name}.pt")
    processing.run("lstfusion:train", {
        "PAIRS": series["celsius"], "MODEL": model_names().index(name), "DEVICE": 1, "EPOCHS": 1,
        "BATCH_SIZE": 8, "PATCH_SIZE": 32, "STRIDE": 16, "HYPERPARAMETERS": '{"pretrain_batches": 2}'
        if name == "edcstfn" else "", "OUTPUT": model})
    trained = load_model(model)
    assert trained.units == "celsius"
    assert 0 < trained.mean[0] < 60  # normalised around the °C mean, not the Kelvin one
    spec = get_spec(name)
    params = {"MODEL_FILE": model, "DEVICE": 0, "TILE_SIZE": 32, "OUTPUT": str(tmp_path / "fused.tif"),
              "FINE_REF": image(series, "celsius", "fine", DAYS[0]),
              "COARSE_REF": image(series, "celsius", "coarse", DAYS[0]),
              "COARSE_TARGET": image(series, "celsius", "coarse", DAYS[1])}
    if spec.two_pair or spec.pairs == 2:
        params.update(FINE_REF2=image(series, "celsius", "fine", DAYS[2]),
                      COARSE_REF2=image(series, "celsius", "coarse", DAYS[2]))
    fused = processing.run("lstfusion:fuse", params)["OUTPUT"]
    assert read_units(fused) == "celsius"
    prediction, truth = read_array(fused), read_array(image(series, "celsius", "fine", DAYS[1]))
    assert np.isfinite(prediction).all() and abs(prediction.mean() - truth.mean()) < 5.0
    kelvin_inputs = {k: v.replace(f"{os.sep}celsius{os.sep}", f"{os.sep}kelvin{os.sep}")
                     for k, v in params.items() if k.startswith(("FINE", "COARSE"))}
    with pytest.raises(QgsProcessingException, match="is in Kelvin but the model works in Celsius"):
        processing.run("lstfusion:fuse", {**params, **kelvin_inputs, "OUTPUT": str(tmp_path / "k.tif")})


def test_fuseseries_in_celsius_writes_celsius(processing, series, tmp_path):
    results = {}
    for units in ("kelvin", "celsius"):
        results[units] = processing.run("lstfusion:fuseseries", {
            "PAIRS": series[units], "METHOD": 0, "DATES": f"{DAYS[1]},{DAYS[3]}",
            "OUTPUT_FOLDER": str(tmp_path / units)})
    assert results["celsius"]["PREDICTED"] == 2
    assert read_units(results["celsius"]["VRT"]) == "celsius"
    for day in (DAYS[1], DAYS[3]):
        celsius = read_array(str(tmp_path / "celsius" / f"lst_{day}.tif"))
        kelvin = read_array(str(tmp_path / "kelvin" / f"lst_{day}.tif"))
        assert read_units(str(tmp_path / "celsius" / f"lst_{day}.tif")) == "celsius"
        assert np.isfinite(celsius).all() and 0 < celsius.mean() < 60
        assert np.abs(celsius + K0 - kelvin).max() < 1e-3


@pytest.mark.slow
def test_experiment_in_celsius_trains_in_celsius_and_scores_like_kelvin(processing, series, tmp_path):
    import torch  # noqa: F401 (pinned: a missing one is an error, not a skip)
    from lst_fusion_plugin.models.deep.model_file import load_model
    names = method_names(("classical", "deep"))  # the options of METHODS
    per_date = {}
    for units in ("kelvin", "celsius"):
        result = processing.run("lstfusion:experiment", {
            "PAIRS": series[units], "METHODS": [names.index("starfm"), names.index("edcstfn")],
            "TEST_DATES": DAYS[3], "EPOCHS": 1, "PATCH_SIZE": 32, "STRIDE": 16, "BATCH_SIZE": 8, "DEVICE": 1,
            "HYPERPARAMETERS": '{"edcstfn": {"pretrain_batches": 2}}', "OUTPUT_FOLDER": str(tmp_path / units)})
        with open(result["PER_DATE"]) as f:
            per_date[units] = {row["method"]: row for row in csv.DictReader(f)}
        assert {row["method"] for row in json.loads(result["SUMMARY"])} == {"starfm", "edcstfn"}
    assert load_model(str(tmp_path / "celsius" / "models" / "edcstfn.pt")).units == "celsius"
    for method in ("starfm", "edcstfn"):
        row = per_date["celsius"][method]
        assert read_units(row["prediction"]) == "celsius"
        assert 0 < np.nanmean(read_array(row["prediction"])) < 60
        # RMSE, MAE and bias do not depend on a constant offset of both prediction and reference
        for metric in ("RMSE", "MAE", "BIAS"):
            assert float(row[metric]) == pytest.approx(float(per_date["kelvin"][method][metric]), abs=0.02)
