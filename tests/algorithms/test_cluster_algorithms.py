"""The CLUSTER parameter through Processing and qgis_process: same rasters as in this process.

``dask_cluster`` (tests/dask_cluster.py) is a real ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1 that cannot import qgis.
"""
import glob
import json
import os
import subprocess

import numpy as np
import pytest
from qgis.core import QgsProcessingException

from conftest import REPO
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.simulation.simulate import simulate_series

pytestmark = pytest.mark.slow
SHIPPED = os.path.join(REPO, "resources", "models", "edcstfn_default.pt")
SHELL = os.path.join(REPO, "scripts", "qgis-process")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """128 x 128 pixels, 18 days: fine images on days 0 and 16."""
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=128, cols=128, days=18,
                           seed=11, cloud_fraction=0.0, write_truth=False)


def fuseseries(processing, series, folder, **extra):
    parameters = {"PAIRS": series.pairs, "METHOD": 1, "DATES": "2023-06-03/2023-06-08",
                  "OUTPUT_FOLDER": str(folder)}
    parameters.update(extra)
    return processing.run("lstfusion:fuseseries", parameters)


def rasters(folder):
    return {os.path.basename(p): read_array(p) for p in sorted(glob.glob(os.path.join(folder, "lst_*.tif")))}


def test_fuseseries_on_a_running_scheduler_equals_in_process(processing, series, dask_cluster, tmp_path):
    here = fuseseries(processing, series, tmp_path / "here")
    there = fuseseries(processing, series, tmp_path / "cluster", CLUSTER=dask_cluster.address)
    assert there["PREDICTED"] == here["PREDICTED"] == 6
    a, b = rasters(tmp_path / "here"), rasters(tmp_path / "cluster")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_deep_model_series_on_the_cluster_is_within_1e_4_kelvin(processing, series, dask_cluster, tmp_path):
    extra = {"METHOD": 3, "MODEL_FILE": SHIPPED, "DEVICE": 1, "DATES": "2023-06-05,2023-06-17"}
    fuseseries(processing, series, tmp_path / "here", **extra)
    fuseseries(processing, series, tmp_path / "cluster", CLUSTER=dask_cluster.address, **extra)
    a, b = rasters(tmp_path / "here"), rasters(tmp_path / "cluster")
    assert len(a) == 2 and sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(np.isnan(a[name]), np.isnan(b[name]))
        assert np.nanmax(np.abs(a[name] - b[name])) <= 1e-4


def test_fuseseries_on_a_local_cluster_of_two_equals_in_process(processing, series, tmp_path):
    here = fuseseries(processing, series, tmp_path / "here", METHOD=0)
    there = fuseseries(processing, series, tmp_path / "local", METHOD=0, CLUSTER="local:2")
    assert there["PREDICTED"] == here["PREDICTED"] == 6
    a, b = rasters(tmp_path / "here"), rasters(tmp_path / "local")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_malformed_cluster_is_a_clear_error(processing, series, tmp_path):
    with pytest.raises(QgsProcessingException, match="neither local:N nor a Dask scheduler address"):
        fuseseries(processing, series, tmp_path, CLUSTER="cluster.example.org")


def test_qgis_process_runs_fuseseries_on_a_local_cluster(series, tmp_path):
    env = dict(os.environ, LST_FUSION_PROFILE=str(tmp_path / "profile"))
    done = subprocess.run([SHELL, "--json", "run", "lstfusion:fuseseries", "--", f"PAIRS={series.pairs}",
                           "METHOD=0", "DATES=2023-06-03,2023-06-04", "CLUSTER=local:2",
                           f"OUTPUT_FOLDER={tmp_path / 'out'}"], capture_output=True, text=True, env=env,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["results"]["PREDICTED"] == 2
    assert sorted(rasters(tmp_path / "out")) == ["lst_2023-06-03.tif", "lst_2023-06-04.tif"]


def scene_inputs(series):
    pairs = {p.date.isoformat(): p for p in read_pairs(series.pairs)}
    first, second, target = pairs["2023-06-01"], pairs["2023-06-17"], pairs["2023-06-09"]
    return {"FINE_REF": first.fine, "COARSE_REF": first.coarse, "FINE_REF2": second.fine,
            "COARSE_REF2": second.coarse, "COARSE_TARGET": target.coarse}


def test_estarfm_starfm_and_fuse_in_strips_on_the_cluster_equal_in_process(processing, series, dask_cluster,
                                                                             tmp_path):
    inputs = scene_inputs(series)
    one_pair = {k: inputs[k] for k in ("FINE_REF", "COARSE_REF", "COARSE_TARGET")}
    for alg, parameters, atol in (("estarfm", dict(inputs, HALF_WINDOW=10, TILE_SIZE=32), 0.0),
                                  ("starfm", dict(one_pair, TILE_SIZE=48), 0.0),
                                  ("fuse", dict(one_pair, MODEL_FILE=SHIPPED, DEVICE=1, TILE_SIZE=64), 1e-4)):
        here = processing.run(f"lstfusion:{alg}", dict(parameters, OUTPUT=str(tmp_path / f"{alg}_here.tif")))
        there = processing.run(f"lstfusion:{alg}", dict(parameters, CLUSTER=dask_cluster.address,
                                                         OUTPUT=str(tmp_path / f"{alg}_there.tif")))
        assert there["VALID_FRACTION"] == pytest.approx(here["VALID_FRACTION"], abs=1e-12)
        a, b = read_array(here["OUTPUT"]), read_array(there["OUTPUT"])
        assert np.array_equal(np.isnan(a), np.isnan(b)) and np.isfinite(a).mean() > 0.9
        assert np.nanmax(np.abs(a - b)) <= atol, alg


def test_experiment_on_the_cluster_equals_in_process(processing, dask_cluster, tmp_path):
    sim = simulate_series(str(tmp_path / "sim"), rows=64, cols=64, days=34, seed=11, cloud_fraction=0.0,
                          revisit=8, write_truth=False)
    parameters = {"PAIRS": sim.pairs, "METHODS": [0, 1, 3], "TEST_DATES": "2023-06-09,2023-06-17", "EPOCHS": 1,
                  "PATCH_SIZE": 32, "STRIDE": 16, "BATCH_SIZE": 8, "DEVICE": 1,
                  "HYPERPARAMETERS": '{"edcstfn": {"pretrain_batches": 4}}'}
    here = processing.run("lstfusion:experiment", dict(parameters, OUTPUT_FOLDER=str(tmp_path / "here")))
    there = processing.run("lstfusion:experiment", dict(parameters, CLUSTER=dask_cluster.address,
                                                        OUTPUT_FOLDER=str(tmp_path / "there")))
    assert here["BEST_METHOD"] == there["BEST_METHOD"]
    predictions = sorted(os.listdir(tmp_path / "here" / "predictions"))
    assert len(predictions) == 6 and sorted(os.listdir(tmp_path / "there" / "predictions")) == predictions
    for name in predictions:
        a = read_array(str(tmp_path / "here" / "predictions" / name))
        b = read_array(str(tmp_path / "there" / "predictions" / name))
        assert np.array_equal(np.isnan(a), np.isnan(b))
        assert np.nanmax(np.abs(a - b)) <= (1e-4 if name.startswith("edcstfn") else 0.0), name


def test_a_local_cluster_leaves_this_process_s_modules_alone(processing, series, tmp_path):
    import sys

    before = {name: module.__file__ for name, module in sys.modules.items()
              if name.startswith("lst_fusion_plugin") and getattr(module, "__file__", None)}
    fuseseries(processing, series, tmp_path / "local", METHOD=0, DATES="2023-06-03", CLUSTER="local:1")
    after = {name: sys.modules[name].__file__ for name in before}
    assert after == before and not [p for p in sys.path if "_engine_" in p]
