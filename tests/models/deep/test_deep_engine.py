"""Deep fusion engine: EDCSTFN architecture, training, model files, tiled inference, units, no-data."""
import os
import subprocess
import sys

import numpy as np
import pytest

import torch
pytestmark = pytest.mark.slow  # training fixtures shared by most tests

from conftest import PLUGINS_DIR, untimed  # noqa: E402
from lst_fusion_plugin.models.deep.coarse_simulation import simulate_coarse  # noqa: E402
from lst_fusion_plugin.models.deep.predict import Predictor, fuse_paths  # noqa: E402
from lst_fusion_plugin.models.deep.train import (TrainConfig, choose_validation_dates,  # noqa: E402
                                               patch_positions, prepare_data, train_model)
from lst_fusion_plugin.common.errors import Cancelled, InputError  # noqa: E402
from lst_fusion_plugin.common.grid import Grid  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import load_model, save_model  # noqa: E402
from lst_fusion_plugin.common.pairs import read_pairs  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.common.raster_io import read_array, read_grid, write_array  # noqa: E402
from synthetic_series import write_series  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec, model_names  # noqa: E402

torch.set_num_threads(2)
TINY = dict(epochs=4, patch=32, stride=16, batch_size=4, hyperparameters={"pretrain_batches": 2}, cache_dir="")
GRID = Grid("", (0.0, 30.0, 0.0, 0.0, 0.0, -30.0), 90, 70)


def conv_params(cin, cout, k):
    return cin * cout * k * k + cout


def test_edcstfn_has_the_published_parameter_count():
    def expected(b):  # fine encoder, residual encoder, decoder of Tan et al. (2019)
        fine = conv_params(b, 32, 3) + conv_params(32, 64, 3) + conv_params(64, 128, 3)
        residual = conv_params(3 * b, 32, 3) + conv_params(32, 64, 3) + conv_params(64, 128, 3)
        dec = conv_params(128, 64, 3) + conv_params(64, 32, 3) + conv_params(32, b, 1)
        return fine + residual + dec

    for bands in (1, 3):
        net = get_spec("edcstfn").build(bands)
        assert sum(p.numel() for p in net.parameters()) == expected(bands)
    assert expected(1) == 278209  # "about 0.28 M parameters for one band"


def test_edcstfn_receptive_field_is_the_declared_halo():
    net = get_spec("edcstfn").build(1).eval()
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    net(x, x, x)[0, 0, 20, 20].backward()
    rows = np.nonzero(x.grad[0, 0].abs().sum(1).numpy())[0]
    assert (rows.max() - 20) == get_spec("edcstfn").halo


def test_registry_import_does_not_import_torch():
    code = ("import sys; sys.path.insert(0, %r); import lst_fusion_plugin.models.deep.architectures as r; "
            "assert 'edcstfn' in r.model_names(); assert 'torch' not in sys.modules" % PLUGINS_DIR)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registry_rejects_unknown_names():
    assert "edcstfn" in model_names()
    with pytest.raises(ValueError, match="known models"):
        get_spec("nope")
    with pytest.raises(ValueError, match="no hyperparameter 'bogus'"):
        get_spec("edcstfn").hyperparameters({"bogus": 1})


def test_simulate_coarse_averages_blocks_and_keeps_gaps():
    rng = np.random.default_rng(0)
    fine = rng.normal(300, 5, (1, 12, 15)).astype(np.float32)
    out = simulate_coarse(fine, 3)
    block_means = fine[0].reshape(4, 3, 5, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(out[0, 1::3, 1::3], block_means, rtol=1e-6)  # block centres
    yy, xx = np.mgrid[0:12, 0:16].astype(np.float32)
    ramp = (2 * yy + 3 * xx)[None]
    np.testing.assert_allclose(simulate_coarse(ramp, 4)[0, 2:-2, 2:-2], ramp[0, 2:-2, 2:-2], atol=1e-4)
    ramp[0, :4, :4] = np.nan
    gap = simulate_coarse(ramp, 4)
    assert np.isnan(gap[0, :4, :4]).all() and np.isfinite(gap[0, 4:, 4:]).all()


def test_patch_positions_skip_patches_with_too_much_no_data():
    valid = np.ones((50, 50), bool)
    valid[:10, :10] = False  # 100 invalid pixels in the top-left corner
    got = patch_positions(valid, 20, 10, 0.1)  # limit: 40 pixels
    corners = [(r, c) for r in (0, 10, 20, 30) for c in (0, 10, 20, 30)]
    expected = [(r, c) for r, c in corners if (~valid[r:r + 20, c:c + 20]).sum() <= 40]
    assert got == expected and (0, 0) not in got and (10, 10) in got


def test_validation_dates_are_spread_and_never_in_training_samples(tmp_path):
    assert choose_validation_dates(list(range(10)), 0.2) == [1, 8]
    assert choose_validation_dates([1, 2], 0.5) == []
    table = write_series(str(tmp_path), rows=40, cols=40, dates=6)
    data, mean, std, info = prepare_data(table, TrainConfig(patch=32, stride=8), Progress())
    val = set(info["validation_dates"])
    assert val and not val & set(info["train_dates"])
    for s in data.train:
        for key in (s.fine_ref, s.coarse_ref, s.coarse_target, s.target):
            assert key[1:11] not in val
    assert all(s.target[1:] in val for s in data.val)
    fines = np.concatenate([read_array(os.path.join(tmp_path, f"{k}_{d}.tif")).ravel()
                            for d in info["train_dates"] for k in ("fine", "coarse")])
    assert mean[0] == pytest.approx(fines.mean(), rel=1e-5)
    assert std[0] == pytest.approx(fines.std(), rel=1e-3)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return write_series(str(tmp_path_factory.mktemp("series")), rows=48, cols=48, dates=5)


@pytest.fixture(scope="module")
def trained(series, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("model") / "m.pt")
    messages = []
    summary = train_model(series, out, TrainConfig(seed=1, **TINY), Progress(info=messages.append))
    return out, summary, messages


def test_training_lowers_the_loss_and_reports_per_batch(trained):
    out, summary, messages = trained
    history = summary["history"]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert all(np.isfinite(h["validation_rmse"]) for h in history)
    assert any("batch 1/" in m and "loss" in m and "ETA" in m for m in messages)
    assert any("Autoencoder for the feature loss pretrained" in m for m in messages)


def test_the_kept_epoch_is_the_one_of_lowest_validation_rmse(trained):
    out, summary, _ = trained
    rmse = [h["validation_rmse"] for h in summary["history"]]
    assert summary["best_epoch"] == int(np.argmin(rmse)) + 1
    assert load_model(out).validation["rmse"] == pytest.approx(min(rmse))
    assert [h["seconds"] for h in summary["history"]] == sorted(h["seconds"] for h in summary["history"])


def test_mixed_precision_is_bfloat16_only_on_cpus_with_native_bfloat16(trained, tmp_path, monkeypatch):
    from lst_fusion_plugin.models.deep import device as device_module

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile\n")
    assert device_module.cpu_has_native_bfloat16(str(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n")
    assert not device_module.cpu_has_native_bfloat16(str(cpuinfo))
    assert not device_module.cpu_has_native_bfloat16(str(tmp_path / "missing"))
    cpu = torch.device("cpu")
    for native in (True, False):
        monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda native=native: native)
        assert device_module.training_precision(cpu, True) == ("bfloat16" if native else "float32")
        assert device_module.training_precision(cpu, False) == "float32"
    assert device_module.training_precision(torch.device("cuda"), True) == "float16"
    monkeypatch.undo()
    # the model file says which precision it was trained in (TrainConfig.amp is on by default)
    assert load_model(trained[0]).training["precision"] == device_module.training_precision(cpu, True)


def test_training_is_deterministic_with_a_seed(series, trained, tmp_path):
    out, summary, _ = trained
    again = train_model(series, str(tmp_path / "again.pt"), TrainConfig(seed=1, **TINY))
    assert untimed(again["history"]) == untimed(summary["history"])


def test_model_file_round_trip(trained, tmp_path):
    model = load_model(trained[0])
    assert model.architecture == "edcstfn" and model.bands == 1 and model.units == "kelvin"
    assert model.training["best_epoch"] >= 1 and model.training["validation_dates"]
    assert model.validation["rmse"] == pytest.approx(trained[1]["validation_rmse"])
    copy = save_model(str(tmp_path / "copy.pt"), model)
    again = load_model(copy)
    assert again.to_dict().keys() == model.to_dict().keys()
    for key, value in model.state_dict.items():
        assert torch.equal(value, again.state_dict[key])
    assert (again.mean, again.std, again.training) == (model.mean, model.std, model.training)


class Foreign:
    pass


def test_wrong_truncated_and_foreign_files_give_clear_errors(trained, tmp_path):
    with open(trained[0], "rb") as handle:
        good = handle.read()
    cases = {
        "text.pt": (b"hello", "not a readable model file"),
        "truncated.pt": (good[: len(good) // 2], "truncated"),
        "empty.pt": (b"", "empty"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=message):
            load_model(str(tmp_path / name))
    torch.save({"obj": Foreign()}, tmp_path / "pickle.pt")
    with pytest.raises(InputError, match="objects other than tensors"):
        load_model(str(tmp_path / "pickle.pt"))
    torch.save(get_spec("edcstfn").build(1).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(InputError, match="not an LST fusion model file"):
        load_model(str(tmp_path / "bare.pt"))
    with pytest.raises(InputError, match="not found"):
        load_model(str(tmp_path / "missing.pt"))
    data = torch.load(trained[0], weights_only=True)
    for change, message in (({"architecture": "unet"}, "does not know"),
                            ({"units": "fahrenheit"}, "neither"),
                            ({"bands": 2}, "normalisation 'mean' must be 2"),
                            ({"format_version": 99}, "format version 99"),
                            ({"normalisation": {"mean": [1.0], "std": [0.0]}}, "positive")):
        torch.save({**data, **change}, tmp_path / "edited.pt")
        with pytest.raises(InputError, match=message):
            load_model(str(tmp_path / "edited.pt"))
    broken = {**data, "state_dict": {k: v[:1] for k, v in data["state_dict"].items()}}
    torch.save(broken, tmp_path / "weights.pt")
    with pytest.raises(InputError, match="weights do not fit"):
        load_model(str(tmp_path / "weights.pt"))
    missing = {k: v for k, v in data.items() if k != "normalisation"}
    torch.save(missing, tmp_path / "incomplete.pt")
    with pytest.raises(InputError, match="lacks the field 'normalisation'"):
        load_model(str(tmp_path / "incomplete.pt"))


def scene(tmp_path, units="kelvin", offset=300.0, nan=True):
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:70, 0:90]
    arrays = [offset + 3 * np.sin(xx / 7.0 + k) + np.cos(yy / 5.0) + rng.normal(0, 0.5, (70, 90))
              for k in range(5)]
    arrays = [a.astype(np.float32) for a in arrays]
    if nan:
        arrays[0][10:13, 40:44] = np.nan
        arrays[2][60, 5] = np.nan
    paths = [write_array(str(tmp_path / f"in{k}_{units}.tif"), a, GRID, units=units)
             for k, a in enumerate(arrays)]
    return arrays, paths


def test_tiled_prediction_equals_untiled_and_propagates_no_data(trained, tmp_path):
    model = load_model(trained[0])
    arrays, (f, c, t, _, _) = scene(tmp_path)
    out = str(tmp_path / "tiled.tif")
    result = fuse_paths(trained[0], f, c, t, out, device="cpu", tile_size=24)
    assert result["tiles"] == 3 * 4
    tiled = read_array(out)
    untiled = Predictor(model, torch.device("cpu")).predict([tuple(a[None] for a in arrays[:3])])[0][0]
    invalid = ~(np.isfinite(arrays[0]) & np.isfinite(arrays[1]) & np.isfinite(arrays[2]))
    np.testing.assert_array_equal(np.isnan(tiled), invalid)
    np.testing.assert_array_equal(np.isnan(untiled), invalid)
    assert np.nanmax(np.abs(tiled - untiled)) < 1e-3
    assert result["valid_fraction"] == pytest.approx(1 - invalid.mean())
    assert read_grid(out).difference(GRID) is None
    # the network never saw raw no-data: pixels next to the gap are ordinary temperatures
    assert 280 < np.nanmin(tiled) and np.nanmax(tiled) < 320


def test_two_reference_pairs_use_each_pair_where_the_other_has_gaps(trained, tmp_path):
    arrays, (f, c, t, f2, c2) = scene(tmp_path)
    out = str(tmp_path / "two.tif")
    fuse_paths(trained[0], f, c, t, out, fine_ref2=f2, coarse_ref2=c2, device="cpu", tile_size=32)
    two = read_array(out)
    model = load_model(trained[0])
    predictor = Predictor(model, torch.device("cpu"))
    one = predictor.predict([tuple(a[None] for a in arrays[:3])])[0][0]
    other = predictor.predict([(arrays[3][None], arrays[4][None], arrays[2][None])])[0][0]
    gap = np.isnan(arrays[0])
    np.testing.assert_allclose(two[gap], other[gap], atol=1e-3)  # pair 1 missing: pair 2 alone
    both = np.isfinite(one) & np.isfinite(other)
    # where both pairs are valid, EDCSTFN fuses their features and decodes once (tiled = untiled)
    direct = predictor.predict([tuple(arrays[i][None] for i in (0, 1, 3, 4, 2))])[0][0]
    np.testing.assert_allclose(two[both], direct[both], atol=1e-3)
    assert np.abs(two[both] - 0.5 * (one[both] + other[both])).max() > 1e-3
    assert np.isnan(two[60, 5])  # the target is missing there: nothing to predict
    with pytest.raises(InputError, match="both FINE_REF2 and COARSE_REF2"):
        fuse_paths(trained[0], f, c, t, out, fine_ref2=f2, device="cpu")


def test_units_mismatch_is_an_error(trained, tmp_path):
    _, (f, c, t, _, _) = scene(tmp_path, units="celsius", offset=25.0)
    with pytest.raises(InputError, match="Celsius but the model works in Kelvin"):
        fuse_paths(trained[0], f, c, t, str(tmp_path / "o.tif"), device="cpu")
    unlabelled = write_array(str(tmp_path / "plain.tif"), np.full((70, 90), 21.5, np.float32), GRID)
    _, (f, c, t, _, _) = scene(tmp_path)
    with pytest.raises(InputError, match="COARSE_TARGET .* is in Celsius"):
        fuse_paths(trained[0], f, c, unlabelled, str(tmp_path / "o.tif"), device="cpu")
    assert not os.path.exists(tmp_path / "o.tif")


def test_grid_mismatch_and_cuda_without_gpu_are_errors(trained, tmp_path):
    _, (f, c, t, _, _) = scene(tmp_path)
    other = write_array(str(tmp_path / "small.tif"), np.full((10, 10), 300, np.float32), GRID.window(0, 0, 10, 10),
                        units="kelvin")
    with pytest.raises(InputError, match="aligntofine"):
        fuse_paths(trained[0], f, c, other, str(tmp_path / "o.tif"), device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            fuse_paths(trained[0], f, c, t, str(tmp_path / "o.tif"), device="cuda")


def test_cancel_after_an_epoch_keeps_the_best_checkpoint(series, tmp_path):
    state = {"epochs_done": 0}

    def info(text):
        if text.startswith("epoch ") and ": training loss" in text:
            state["epochs_done"] += 1

    out = str(tmp_path / "cancelled.pt")
    summary = train_model(series, out, TrainConfig(**{**TINY, "epochs": 5}),
                          Progress(info=info, is_cancelled=lambda: state["epochs_done"] >= 1))
    assert summary["cancelled"] and summary["best_epoch"] == 1
    assert load_model(out).training["cancelled"] is True
    with pytest.raises(Cancelled):
        train_model(series, str(tmp_path / "none.pt"), TrainConfig(**TINY), Progress(is_cancelled=lambda: True))
    assert not os.path.exists(tmp_path / "none.pt")


def test_one_fine_date_needs_simulated_coarse_and_says_so(tmp_path):
    table = write_series(str(tmp_path), rows=48, cols=48, dates=1)
    with pytest.raises(InputError, match="simulate coarse"):
        train_model(table, str(tmp_path / "m.pt"), TrainConfig(**TINY))
    messages = []
    config = TrainConfig(**{**TINY, "epochs": 1}, simulate_coarse=True, coarse_factor=8, synthetic_targets=2)
    summary = train_model(table, str(tmp_path / "m.pt"), config, Progress(info=messages.append))
    assert any("SIMULATED COARSE IMAGES" in m for m in messages)
    assert any("No validation date" in m for m in messages)
    model = load_model(summary["model_file"])
    assert model.training["simulated_coarse"] is True and model.training["coarse_factor"] == 8
    assert model.training["train_samples"] == 4 and model.validation == {}


def test_pairs_table_resolves_paths_and_rejects_bad_tables(tmp_path):
    write_array(str(tmp_path / "f.tif"), np.zeros((4, 4), np.float32), GRID.window(0, 0, 4, 4))
    good = tmp_path / "pairs.csv"
    good.write_text("date,fine,coarse\n2020-02-01,f.tif,f.tif\n2020-01-01,,f.tif\n")
    pairs = read_pairs(str(good))
    assert [str(p.date) for p in pairs] == ["2020-01-01", "2020-02-01"]
    assert pairs[0].fine is None and pairs[1].fine == str(tmp_path / "f.tif")
    for text, message in (("a,b\n1,2\n", "header"), ("date,fine,coarse\n2020-13-01,f.tif,\n", "line 2"),
                          ("date,fine,coarse\n2020-01-01,g.tif,\n", "not found"),
                          ("date,fine,coarse\n2020-01-01,f.tif,\n2020-01-01,f.tif,\n", "twice"),
                          ("date,fine,coarse\n2020-01-01,,\n", "neither")):
        good.write_text(text)
        with pytest.raises(InputError, match=message):
            read_pairs(str(good))


def test_unknown_model_and_too_small_patches_are_input_errors(series, tmp_path):
    with pytest.raises(InputError, match="Unknown deep model"):
        train_model(series, str(tmp_path / "m.pt"), TrainConfig(model="nope"))
    with pytest.raises(InputError, match="must be positive"):  # small patches are fine: MS-SSIM falls back
        train_model(series, str(tmp_path / "m.pt"), TrainConfig(**{**TINY, "patch": 0}))
