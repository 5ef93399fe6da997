"""lstfusion:starfm and lstfusion:estarfm through processing.run: values, outputs, georeference, errors."""
import json
import os
import subprocess

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from classical_scenes import SYNTHETIC_GRID, synthetic_arrays, write_scene
from conftest import REPO
from lst_fusion_plugin.common.grid import Grid
from lst_fusion_plugin.common.raster_io import read_array, read_grid, read_units
from reference_fusion import estarfm_reference, starfm_reference


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    arrays = synthetic_arrays()
    return arrays, write_scene(tmp_path_factory.mktemp("scene"), arrays, SYNTHETIC_GRID, units="kelvin")


def test_starfm_algorithm_predicts_like_the_reference(processing, scene, tmp_path):
    arrays, paths = scene
    out = str(tmp_path / "starfm.tif")
    result = processing.run("lstfusion:starfm", {
        "FINE_REF": paths["FINE_REF"], "COARSE_REF": paths["COARSE_REF"],
        "COARSE_TARGET": paths["COARSE_TARGET"], "HALF_WINDOW": 5, "DISTANCE_SCALE": 3.0,
        "FINE_UNCERTAINTY": 0.4, "COARSE_UNCERTAINTY": 0.6, "TILE_SIZE": 16, "OUTPUT": out})
    assert result["OUTPUT"] == out
    predicted = read_array(out)
    reference = starfm_reference(arrays["FINE_REF"], arrays["COARSE_REF"], arrays["COARSE_TARGET"],
                                 half_window=5, distance_scale=3.0, fine_uncertainty=0.4,
                                 coarse_uncertainty=0.6)
    np.testing.assert_array_equal(np.isnan(predicted), np.isnan(reference))
    assert np.nanmax(np.abs(predicted - reference)) < 1e-3
    assert result["VALID_FRACTION"] == pytest.approx(np.isfinite(reference).mean())
    assert read_grid(out).difference(SYNTHETIC_GRID) is None
    assert read_units(out) == "kelvin"


# Without NUM_CLASSES: 4 classes for ESTARFM (its paper), 2 with the bias correction (the
# threshold of one standard deviation in ubESTARFM's published R code); a given value is kept.
@pytest.mark.parametrize("bias_correction, given, classes", [(False, None, 4.0), (True, None, 2.0),
                                                             (True, 4.0, 4.0), (False, 2.0, 2.0)])
def test_estarfm_algorithm_predicts_like_the_reference(processing, scene, tmp_path, bias_correction, given,
                                                       classes):
    arrays, paths = scene
    out = str(tmp_path / "estarfm.tif")
    feedback = QgsProcessingFeedback()
    params = dict(paths, BIAS_CORRECTION=bias_correction, HALF_WINDOW=6, VALID_MAX=314.5,
                  MIN_COARSE_CHANGE=2.0, TILE_SIZE=20, OUTPUT=out)
    if given is not None:
        params["NUM_CLASSES"] = given
    result = processing.run("lstfusion:estarfm", params, feedback=feedback)
    predicted = read_array(out)
    reference = estarfm_reference(*arrays.values(), half_window=6, valid_max=314.5, num_classes=classes,
                                  min_coarse_change=2.0, bias_correction=bias_correction)
    np.testing.assert_array_equal(np.isnan(predicted), np.isnan(reference))
    assert np.nanmax(np.abs(predicted - reference)) < 1e-3
    assert result["VALID_FRACTION"] == pytest.approx(np.isfinite(reference).mean())
    assert 0 < result["FALLBACK_FRACTION"] < 0.05
    assert feedback.progress() == pytest.approx(100.0)


def test_estarfm_algorithm_explains_a_missing_second_pair(processing, scene, tmp_path):
    _, paths = scene
    params = dict(paths, OUTPUT=str(tmp_path / "out.tif"))
    del params["FINE_REF2"]
    with pytest.raises(QgsProcessingException, match="needs two reference pairs; FINE_REF2 is missing"):
        processing.run("lstfusion:estarfm", params)


def test_algorithms_refuse_inputs_on_another_grid(processing, scene, tmp_path):
    arrays, paths = scene
    other = Grid(SYNTHETIC_GRID.crs_wkt, (500000.0, 60.0, 0.0, 6100000.0, 0.0, -60.0), 36, 36)
    coarse = write_scene(tmp_path, {"other": arrays["COARSE_REF"]}, other)["other"]
    with pytest.raises(QgsProcessingException, match=r"COARSE_REF .*pixel width 30 vs 60.*aligntofine"):
        processing.run("lstfusion:starfm", {"FINE_REF": paths["FINE_REF"], "COARSE_REF": coarse,
                                            "COARSE_TARGET": paths["COARSE_TARGET"],
                                            "OUTPUT": str(tmp_path / "out.tif")})


def test_estarfm_algorithm_checks_the_dates(processing, scene, tmp_path):
    _, paths = scene
    base = dict(paths, HALF_WINDOW=3, OUTPUT=str(tmp_path / "out.tif"))
    with pytest.raises(QgsProcessingException, match="REF_DATE: '5 Feb 2016' is not a date; write it as YYYY-MM-DD"):
        processing.run("lstfusion:estarfm", dict(base, REF_DATE="5 Feb 2016"))
    with pytest.raises(QgsProcessingException, match="target date 2016-04-01 is outside"):
        processing.run("lstfusion:estarfm", dict(base, REF_DATE="2016-02-05", REF2_DATE="2016-03-08",
                                                 TARGET_DATE="2016-04-01"))
    result = processing.run("lstfusion:estarfm", dict(base, REF_DATE="2016-02-05", REF2_DATE="2016-03-08",
                                                      TARGET_DATE="2016-02-18"))
    assert result["VALID_FRACTION"] > 0.9


@pytest.mark.slow
def test_estarfm_runs_from_the_shell_with_both_pairs(scene, tmp_path):
    """qgis_process hands optional rasters over differently from processing.run: both must work."""
    _, paths = scene
    out = tmp_path / "shell.tif"
    env = dict(os.environ, LST_FUSION_PROFILE=str(tmp_path / "profile"))
    args = [f"{name}={path}" for name, path in paths.items()]
    done = subprocess.run([os.path.join(REPO, "scripts", "qgis-process"), "--json", "run",
                           "lstfusion:estarfm", "--", *args, "BIAS_CORRECTION=true", "HALF_WINDOW=3",
                           f"OUTPUT={out}"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)["results"]
    assert results["OUTPUT"] == str(out) and results["VALID_FRACTION"] > 0.9
    assert read_units(str(out)) == "kelvin"
