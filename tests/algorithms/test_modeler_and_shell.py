"""The plugin's algorithms in a graphical model, and from the shell through scripts/qgis-process."""
import json
import os
import subprocess

import numpy as np
import pytest
from qgis.core import QgsProcessingModelAlgorithm

from conftest import REPO, yanco
from helpers import write_tif
from lst_fusion_plugin.common.raster_io import read_array, read_grid

MODEL = os.path.join(REPO, "tests", "data", "align_twice.model3")
SHELL = os.path.join(REPO, "scripts", "qgis-process")


def test_model_chaining_two_algorithms_runs(processing, tmp_path):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(MODEL)
    assert [c.algorithmId() for c in model.childAlgorithms().values()] == ["lstfusion:aligntofine"] * 2
    modis = yanco("MOD11A1_LST_cloudrm_20160308.tif")
    landsat = yanco("Landsat_LST_cloudrm_20160308.tif")
    utm = write_tif(tmp_path / "utm.tif", np.zeros((200, 250), np.float32),
                    (420000.0, 60.0, 0.0, 6145000.0, 0.0, -60.0), 32755)
    out = str(tmp_path / "twice.tif")
    result = processing.run(model, {"coarse": modis, "fine1": landsat, "fine2": utm,
                                    "align_second:aligned": out})
    assert result["align_second:aligned"] == out
    assert read_grid(out).difference(read_grid(utm)) is None
    values = read_array(out)
    source = read_array(modis)
    assert np.isfinite(values).mean() > 0.99
    assert np.nanmin(source) - 0.01 <= np.nanmin(values) and np.nanmax(values) <= np.nanmax(source) + 0.01


def shell(*args, profile):
    env = dict(os.environ, LST_FUSION_PROFILE=str(profile))
    return subprocess.run([SHELL, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def fresh_profile(tmp_path_factory):
    """A new, empty QGIS profile folder: the script must enable the plugin in it by itself."""
    return tmp_path_factory.mktemp("profile")


@pytest.mark.slow
def test_shell_entry_lists_the_provider(fresh_profile):
    done = shell("list", profile=fresh_profile)
    assert done.returncode == 0, done.stderr
    assert "LST fusion" in done.stdout
    assert "lstfusion:aligntofine" in done.stdout


def test_shell_entry_runs_with_json(fresh_profile, tmp_path):
    modis = yanco("MOD11A1_LST_cloudrm_20160308.tif")
    landsat = yanco("Landsat_LST_cloudrm_20160308.tif")
    out = tmp_path / "aligned.tif"
    done = shell("--json", "run", "lstfusion:aligntofine", "--", f"INPUT={modis}",
                 f"REFERENCE={landsat}", "RESAMPLING=0", f"OUTPUT={out}", profile=fresh_profile)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["algorithm_details"]["id"] == "lstfusion:aligntofine"
    assert report["results"]["OUTPUT"] == str(out)
    assert report["results"]["VALID_FRACTION"] == pytest.approx(1.0)
    np.testing.assert_array_equal(read_array(str(out)), read_array(modis))


def test_shell_entry_reports_input_errors(fresh_profile, tmp_path):
    landsat = yanco("Landsat_LST_cloudrm_20160308.tif")
    nocrs = write_tif(tmp_path / "nocrs.tif", np.ones((3, 3), np.float32), (0, 1, 0, 3, 0, -1))
    done = shell("run", "lstfusion:aligntofine", "--", f"INPUT={nocrs}", f"REFERENCE={landsat}",
                 f"OUTPUT={tmp_path / 'x.tif'}", profile=fresh_profile)
    assert done.returncode != 0
    assert "has no coordinate reference system" in done.stdout + done.stderr
