"""The one method registry: every choosable method, its needs, its predictor, and the enums built from it."""
import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pytest

from classical_scenes import SYNTHETIC_GRID, synthetic_arrays, write_scene
from conftest import PLUGINS_DIR
from lst_fusion_plugin.common.errors import InputError
from lst_fusion_plugin.common.pairs import DatePlan, PairRow
from lst_fusion_plugin.common.progress import Progress
from lst_fusion_plugin.common.raster_io import read_array, read_units
from lst_fusion_plugin.models.classical.naive import run_naive
from lst_fusion_plugin.models.registry import get_method, method_names
from lst_fusion_plugin.workflows.methods import FusionMethod


def test_table_holds_every_method_with_what_it_needs():
    assert method_names() == ["starfm", "estarfm", "ubestarfm", "model", "edcstfn", "sttfn", "mlffgan", "naive"]
    assert [get_method(n).pairs for n in ("naive", "starfm", "estarfm", "ubestarfm")] == [1, 1, 2, 2]
    assert [n for n in method_names() if get_method(n).trainable] == ["edcstfn", "sttfn", "mlffgan"]
    assert get_method("ubestarfm").defaults == {"bias_correction": True, "num_classes": 2.0}
    assert get_method("estarfm").defaults["bias_correction"] is False
    with pytest.raises(ValueError, match="known methods: starfm"):
        get_method("fsdaf")


def test_every_entry_has_a_predictor_with_predict_plan():
    for name in method_names():
        assert callable(get_method(name).predictor().predict_plan), name


def test_enum_orders_keep_the_published_indices():
    """Enum indices are public (qgis_process scripts pass numbers): new methods are appended."""
    from lst_fusion_plugin.algorithms.experiment import Experiment
    from lst_fusion_plugin.algorithms.fuse_series import FuseSeries
    assert FuseSeries.METHODS[:4] == ["starfm", "estarfm", "ubestarfm", "model"]
    assert FuseSeries.METHODS[4:] == ["naive"]
    assert Experiment().method_choices()[:6] == ["starfm", "estarfm", "ubestarfm", "edcstfn", "sttfn", "mlffgan"]


def test_importing_the_registry_imports_no_torch():
    code = ("import sys; sys.path.insert(0, %r); import lst_fusion_plugin.models.registry as r; "
            "assert 'edcstfn' in r.method_names(); assert 'torch' not in sys.modules" % PLUGINS_DIR)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_naive_is_fine_reference_plus_coarse_change_with_nodata_kept(tmp_path):
    arrays = synthetic_arrays()
    paths = write_scene(tmp_path, arrays, SYNTHETIC_GRID, units="kelvin")
    out = str(tmp_path / "naive.tif")
    result = run_naive(paths["FINE_REF"], paths["COARSE_REF"], paths["COARSE_TARGET"], out)
    expected = arrays["FINE_REF"].astype(np.float64) + arrays["COARSE_TARGET"] - arrays["COARSE_REF"]
    got = read_array(out)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], atol=1e-4)
    assert result["predicted"] == int(np.isfinite(expected).sum())
    assert read_units(out) == "kelvin"


def test_fusion_method_predicts_a_plan_through_the_registry(tmp_path):
    arrays = synthetic_arrays()
    paths = write_scene(tmp_path, arrays, SYNTHETIC_GRID, units="kelvin")
    ref = PairRow(dt.date(2020, 1, 1), paths["FINE_REF"], paths["COARSE_REF"])
    target = PairRow(dt.date(2020, 1, 9), None, paths["COARSE_TARGET"])
    out = str(tmp_path / "via_registry.tif")
    FusionMethod("naive").predict(DatePlan(target.date, target, [ref]), out, Progress())
    direct = str(tmp_path / "direct.tif")
    run_naive(paths["FINE_REF"], paths["COARSE_REF"], paths["COARSE_TARGET"], direct)
    np.testing.assert_array_equal(read_array(out), read_array(direct))
    assert os.path.exists(out)


def test_a_deep_architecture_is_not_a_predictor_without_a_model_file():
    with pytest.raises(InputError, match="train it first"):
        FusionMethod("edcstfn").pairs_needed()
    with pytest.raises(InputError, match="Unknown fusion method 'bogus'"):
        FusionMethod("bogus").pairs_needed()
