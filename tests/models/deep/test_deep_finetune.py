"""Fine-tuning from an initial model, the feature autoencoder's bounded and cached pretraining,
two-pair training samples, and the training time budget."""
import math

import numpy as np
import pytest

import torch

from lst_fusion_plugin.common.errors import InputError  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from lst_fusion_plugin.models.deep.architectures import get_spec  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import ModelFile, load_model, save_model  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, prepare_data, train_model  # noqa: E402
from conftest import untimed  # noqa: E402
from synthetic_series import write_series  # noqa: E402

torch.set_num_threads(2)
SMALL = dict(epochs=1, patch=32, stride=16, batch_size=4, cache_dir="")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return write_series(str(tmp_path_factory.mktemp("series")), rows=48, cols=48, dates=5)


@pytest.fixture(scope="module")
def base_model(series, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("base") / "sttfn.pt")
    train_model(series, out, TrainConfig(model="sttfn", seed=3, hyperparameters={"width": 8}, **SMALL))
    return out


def test_two_pair_models_train_on_consecutive_triplets(series):
    config = TrainConfig(patch=32, stride=16, validation_fraction=0.0)
    data, _, _, info = prepare_data(series, config, Progress(), two_pair=True)
    dates = info["train_dates"]
    assert info["two_pair_samples"] and len(data.train) == len(dates) - 2
    for s, (a, t, b) in zip(data.train, zip(dates, dates[1:], dates[2:])):
        assert (s.fine_ref, s.fine_ref2, s.coarse_target, s.target) == (f"F{a}", f"F{b}", f"C{t}", f"F{t}")
    batches = data.batches(data.train, data.train_patches, 4)
    batch = data.batch(data.train, batches[0], torch, torch.device("cpu"))
    assert set(batch) == {"fine_ref", "coarse_ref", "fine_ref2", "coarse_ref2", "coarse_target", "target", "mask"}
    one, _, _, info1 = prepare_data(series, config, Progress(), two_pair=False)
    assert not info1["two_pair_samples"] and len(one.train) == 2 * (len(dates) - 1)


def test_fine_tuning_starts_from_the_initial_weights_and_keeps_its_normalisation(series, base_model, tmp_path):
    initial = load_model(base_model)
    out = str(tmp_path / "tuned.pt")
    messages = []
    train_model(series, out, TrainConfig(model="sttfn", seed=4, learning_rate=1e-12, initial_model=base_model,
                                         **SMALL), Progress(info=messages.append))
    tuned = load_model(out)
    assert any("Fine-tuning from" in m for m in messages)
    assert tuned.hyperparameters == initial.hyperparameters == {"width": 8}
    assert (tuned.mean, tuned.std) == (initial.mean, initial.std)
    assert tuned.training["initial_model"] == "sttfn.pt"
    for k, v in initial.state_dict.items():  # a negligible learning rate leaves the weights in place
        torch.testing.assert_close(tuned.state_dict[k], v, rtol=0, atol=1e-6)


def test_initial_model_of_another_architecture_bands_or_layers_is_refused(series, base_model, tmp_path):
    with pytest.raises(InputError, match="is a STTFN-R .* model, but EDCSTFN .* is being trained"):
        train_model(series, str(tmp_path / "x.pt"), TrainConfig(model="edcstfn", initial_model=base_model, **SMALL))
    with pytest.raises(InputError, match="does not fit the hyperparameters"):
        train_model(series, str(tmp_path / "x.pt"), TrainConfig(model="sttfn", initial_model=base_model,
                                                                hyperparameters={"width": 16}, **SMALL))
    spec = get_spec("sttfn")
    two_band = save_model(str(tmp_path / "two.pt"), ModelFile("sttfn", {"width": 8}, 2, "kelvin", [300.0] * 2,
                                                              [3.0] * 2, spec.build(2, width=8).state_dict()))
    with pytest.raises(InputError, match="initial model has 2 band"):
        train_model(series, str(tmp_path / "x.pt"), TrainConfig(model="sttfn", initial_model=two_band, **SMALL))
    celsius = save_model(str(tmp_path / "c.pt"), ModelFile("sttfn", {"width": 8}, 1, "celsius", [27.0], [3.0],
                                                           spec.build(1, width=8).state_dict()))
    with pytest.raises(InputError, match="works in Celsius but the series is in Kelvin"):
        train_model(series, str(tmp_path / "x.pt"), TrainConfig(model="sttfn", initial_model=celsius, **SMALL))
    with pytest.raises(InputError, match="not found"):
        train_model(series, str(tmp_path / "x.pt"), TrainConfig(model="sttfn", initial_model=str(tmp_path / "no.pt"),
                                                                **SMALL))


def test_feature_autoencoder_pretraining_is_bounded_and_reused_from_the_cache(series, tmp_path):
    config = TrainConfig(model="edcstfn", seed=5, epochs=1, patch=32, stride=16, batch_size=4, pretrain_share=0.5,
                         validation_fraction=0.0, cache_dir=str(tmp_path / "cache"),
                         hyperparameters={"pretrain_batches": 1000})
    first, second = [], []
    a = train_model(series, str(tmp_path / "a.pt"), config, Progress(info=first.append))
    data, _, _, _ = prepare_data(series, config, Progress(), two_pair=True)
    n_batches = len(data.batches(data.train, data.train_patches, 4))
    expected = math.ceil(0.5 * n_batches)  # pretrain_share x epochs x batches, not the 1000 asked
    assert any(f"pretrained on {expected} batches" in m for m in first)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    b = train_model(series, str(tmp_path / "b.pt"), config, Progress(info=second.append))
    assert any("reused from" in m for m in second) and not any("pretrained on" in m for m in second)
    assert untimed(a["history"]) == untimed(b["history"])  # the cached autoencoder is the same network


def test_time_budget_stops_training_after_the_batch_that_spends_it(series, tmp_path):
    messages = []
    summary = train_model(series, str(tmp_path / "t.pt"),
                          TrainConfig(model="sttfn", seed=6, max_seconds=1e-3,
                                      hyperparameters={"width": 8}, **{**SMALL, "epochs": 50}),
                          Progress(info=messages.append))
    assert summary["epochs_run"] == 1 and summary["history"][0]["batches"] == 1
    assert any("Time budget" in m for m in messages)
    assert np.isfinite(summary["validation_rmse"])
