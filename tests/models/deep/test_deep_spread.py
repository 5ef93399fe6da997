"""Raw spread of deep models (two-pair disagreement + test-time flips) and its calibration in the model file."""
import os
import shutil

import numpy as np
import pytest

from conftest import REPO
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.pairs import read_pairs
from lst_fusion_plugin.common.raster_io import read_array
from lst_fusion_plugin.models.deep.model_file import load_model, save_model
from lst_fusion_plugin.models.deep.spread import SPREAD_FLOOR, write_deep_spread
from lst_fusion_plugin.simulation.simulate import simulate_series
from lst_fusion_plugin.workflows.calibration import calibrate_model_file, model_calibration, write_model_uncertainty
from lst_fusion_plugin.workflows.uncertainty import UncertaintySettings

import torch  # noqa: F401 (pinned: a missing one is an error, not a skip)
SHIPPED = os.path.join(REPO, "resources", "models", "edcstfn_default.pt")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_series(str(tmp_path_factory.mktemp("sim")), rows=64, cols=64, days=19, revisit=6,
                           cloud_fraction=0.0, seed=3)


def inputs(sim, two=True):
    a, b, t = "2023-06-01", "2023-06-07", "2023-06-04"
    paths = {"FINE_REF": sim.fine[a], "COARSE_REF": sim.coarse_on_fine[a], "COARSE_TARGET": sim.coarse_on_fine[t]}
    if two:
        paths.update(FINE_REF2=sim.fine[b], COARSE_REF2=sim.coarse_on_fine[b])
    return paths


@pytest.mark.parametrize("two", [False, True])
def test_tiled_deep_spread_equals_untiled_and_counts_its_passes(sim, tmp_path, two):
    p = inputs(sim, two)
    args = (SHIPPED, p["FINE_REF"], p["COARSE_REF"], p["COARSE_TARGET"])
    second = (p.get("FINE_REF2"), p.get("COARSE_REF2"))
    whole = write_deep_spread(*args, str(tmp_path / "w.tif"), *second, device="cpu", tile_size=512)
    write_deep_spread(*args, str(tmp_path / "t.tif"), *second, device="cpu", tile_size=16)
    assert whole["passes"] == (10 if two else 4)
    w, t = read_array(str(tmp_path / "w.tif")), read_array(str(tmp_path / "t.tif"))
    assert np.isfinite(w).all() and (w >= SPREAD_FLOOR - 1e-6).all() and w.max() > 2 * SPREAD_FLOOR
    np.testing.assert_allclose(t, w, atol=1e-3)


def test_without_flips_and_one_pair_the_spread_is_the_floor(sim, tmp_path):
    p = inputs(sim, False)
    write_deep_spread(SHIPPED, p["FINE_REF"], p["COARSE_REF"], p["COARSE_TARGET"], str(tmp_path / "s.tif"),
                      device="cpu", tta=False)
    np.testing.assert_allclose(read_array(str(tmp_path / "s.tif")), SPREAD_FLOOR, rtol=1e-6)


def test_calibration_is_stored_in_the_model_file_and_used_by_fuse(sim, tmp_path):
    model_path = str(tmp_path / "model.pt")
    shutil.copyfile(SHIPPED, model_path)
    with pytest.raises(InputError, match="no calibration"):
        write_model_uncertainty(model_path, inputs(sim), None, 0.9, str(tmp_path / "u.tif"), device="cpu")
    model = load_model(model_path)
    model.validation["dates"] = ["2023-06-07", "2023-06-13"]  # dates this series holds out
    save_model(model_path, model)
    calibration = calibrate_model_file(model_path, read_pairs(sim.pairs), UncertaintySettings(), device="cpu")
    assert calibration.dates == ["2023-06-07", "2023-06-13"]
    stored = model_calibration(model_path)
    assert stored.quantiles == calibration.quantiles
    cost = write_model_uncertainty(model_path, inputs(sim), None, 0.9, str(tmp_path / "u.tif"), device="cpu")
    assert cost["passes"] == 10
    spread = str(tmp_path / "raw.tif")
    p = inputs(sim)
    write_deep_spread(model_path, p["FINE_REF"], p["COARSE_REF"], p["COARSE_TARGET"], spread,
                      p["FINE_REF2"], p["COARSE_REF2"], device="cpu")
    np.testing.assert_allclose(read_array(str(tmp_path / "u.tif")), calibration.quantile(0.9) * read_array(spread),
                               rtol=1e-6)
