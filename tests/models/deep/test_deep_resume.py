"""Resumable deep-model training: the checkpoint beside the model file, resuming, refusals."""
import os
import shutil

import pytest

import torch
pytestmark = pytest.mark.slow  # every test uses the trained and resumed runs

from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from lst_fusion_plugin.common.errors import InputError  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import load_model  # noqa: E402
from lst_fusion_plugin.common.progress import Progress  # noqa: E402
from conftest import untimed  # noqa: E402
from synthetic_series import write_series  # noqa: E402

torch.set_num_threads(2)
# EDCSTFN with a validation date (the middle one: best epoch and patience are restored);
# MLFF-GAN without one (the saved weights are the last epoch's), both with 4 epochs at most.
TINY = {"edcstfn": dict(patch=32, stride=16, batch_size=8, patience=4,
                        hyperparameters={"pretrain_batches": 2}),
        "mlffgan": dict(patch=32, stride=16, batch_size=8, validation_fraction=0.0)}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """Three dates of 32 x 32 pixels: one 32-pixel patch per sample, one batch per epoch."""
    return write_series(str(tmp_path_factory.mktemp("series")), rows=32, cols=32, dates=3)


def cancel_after(epochs: int, messages: list) -> Progress:
    """A progress that logs into ``messages`` and asks to cancel once ``epochs`` epochs have finished."""
    return Progress(info=messages.append,
                    is_cancelled=lambda: sum(m.startswith("epoch ") and ": training loss" in m
                                             for m in messages) >= epochs)


def interrupted(series, out, name) -> TrainConfig:
    """Train ``name`` for up to 4 epochs with RESUME on but no checkpoint yet, cancel after 2."""
    config = TrainConfig(model=name, epochs=4, seed=3, resume=True, **TINY[name])
    messages = []
    summary = train_model(series, out, config, cancel_after(2, messages))
    assert summary["cancelled"] and summary["epochs_run"] == 2
    assert any(m.startswith("No resume checkpoint") and "training from the start" in m for m in messages)
    return config


@pytest.fixture(scope="module", params=["edcstfn", "mlffgan"])
def runs(request, series, tmp_path_factory):
    """A 4-epoch run, and a run cancelled after 2 epochs then resumed to 4.

    (name, straight summary, straight model path, resumed summary, resumed model path,
    the checkpoint left by the cancel, the resumed run's messages, a copy of that checkpoint).
    """
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    straight = str(folder / "straight.pt")
    summary = train_model(series, straight, TrainConfig(model=name, epochs=4, seed=3, **TINY[name]))
    resumed = str(folder / "resumed.pt")
    config = interrupted(series, resumed, name)
    checkpoint = torch.load(resumed + ".resume", map_location="cpu", weights_only=True)
    shutil.copy(resumed + ".resume", str(folder / "kept.resume"))
    messages = []
    again = train_model(series, resumed, config, Progress(info=messages.append))
    return name, summary, straight, again, resumed, checkpoint, messages, str(folder / "kept.resume")


def test_resuming_after_two_epochs_equals_training_four_straight(runs):
    name, summary, straight, again, resumed, checkpoint, messages, _ = runs
    assert any("Resuming after epoch 2" in m for m in messages)
    assert untimed(again["history"]) == untimed(summary["history"]) and again["epochs_run"] == 4
    assert again["best_epoch"] == summary["best_epoch"]
    a, b = load_model(straight), load_model(resumed)
    assert set(a.state_dict) == set(b.state_dict)
    for key, value in a.state_dict.items():
        assert torch.equal(value, b.state_dict[key]), key
    assert b.training["resumed_after_epoch"] == 2 and b.training["cancelled"] is False
    assert not os.path.exists(straight + ".resume") and not os.path.exists(resumed + ".resume")


def test_checkpoint_holds_the_full_trainer_state_but_the_model_file_does_not(runs):
    name, summary, straight, again, resumed, checkpoint, messages, _ = runs
    assert checkpoint["epoch"] == 2 and len(checkpoint["history"]) == 2
    assert untimed(checkpoint["history"]) == untimed(summary["history"][:2])
    assert checkpoint["architecture"] == name and checkpoint["config"]["seed"] == 3
    trainer = checkpoint["trainer"]
    expected = {"model", "optimizer", "scaler"} | ({"critic", "critic_optimizer"} if name == "mlffgan"
                                                   else {"loss", "scheduler"})
    assert set(trainer) == expected
    if name == "edcstfn":  # ReduceLROnPlateau's counters resume too
        assert trainer["scheduler"]["patience"] == 5 and trainer["scheduler"]["factor"] == 0.1
    # Adam's step count after 2 epochs: the batches per epoch times 2, for every parameter
    steps = {float(s["step"]) for s in trainer["optimizer"]["state"].values()}
    assert len(steps) == 1 and steps.pop() % 2 == 0
    if name == "edcstfn":
        assert trainer["loss"]["_extra_state"] == {"pretrained": True}
        assert any(k.startswith("autoencoder.") for k in trainer["loss"])
    else:
        assert trainer["critic_optimizer"]["state"]
    model = load_model(resumed)
    assert set(model.state_dict) == set(trainer["model"])  # inference weights only
    assert set(checkpoint["rng"]) == {"torch", "cuda", "numpy"}


def test_mismatching_checkpoint_is_refused_with_what_differs(runs, series, tmp_path):
    name, *_, kept = runs
    out = str(tmp_path / "m.pt")
    shutil.copy(kept, out + ".resume")
    other = "mlffgan" if name == "edcstfn" else "edcstfn"
    with pytest.raises(InputError, match=f"model {name} in the checkpoint, {other} asked"):
        train_model(series, out, TrainConfig(model=other, epochs=4, seed=3, resume=True, **TINY[other]))
    with pytest.raises(InputError, match="batch_size 8 in the checkpoint, 4 asked"):
        train_model(series, out, TrainConfig(model=name, epochs=4, seed=3, resume=True,
                                             **{**TINY[name], "batch_size": 4}))
    table = os.path.join(os.path.dirname(series), f"without_last_date_{name}.csv")
    with open(series) as source, open(table, "w") as target:
        target.writelines(source.readlines()[:-1])  # the same images but the last date
    with pytest.raises(InputError, match="pairs table is not the one"):
        train_model(table, out, TrainConfig(model=name, epochs=4, seed=3, resume=True, **TINY[name]))
    assert os.path.exists(out + ".resume") and not os.path.exists(out)


def test_processing_train_resumes_with_resume_on(processing, series, tmp_path):
    model = str(tmp_path / "m.pt")
    interrupted(series, model, "edcstfn")
    result = processing.run("lstfusion:train", {
        "PAIRS": series, "MODEL": 0, "DEVICE": 1, "EPOCHS": 3, "BATCH_SIZE": 8, "PATIENCE": 4,
        "PATCH_SIZE": 32, "STRIDE": 16, "SEED": 3, "HYPERPARAMETERS": '{"pretrain_batches": 2}',
        "RESUME": True, "OUTPUT": model})
    trained = load_model(result["OUTPUT"])
    assert trained.training["resumed_after_epoch"] == 2 and trained.training["epochs_run"] == 3
    assert not os.path.exists(model + ".resume")


@pytest.mark.parametrize("runs", ["edcstfn"], indirect=True)  # MLFF-GAN's run has no validation date
def test_resuming_with_a_patience_already_reached_runs_no_further_epoch(runs, series, tmp_path):
    name, *_, kept = runs
    out = str(tmp_path / "m.pt")
    checkpoint = torch.load(kept, map_location="cpu", weights_only=True)
    checkpoint["bad_epochs"] = 2
    torch.save(checkpoint, out + ".resume")
    messages = []
    summary = train_model(series, out, TrainConfig(model=name, epochs=4, seed=3, resume=True,
                                                   **{**TINY[name], "patience": 2}),
                          Progress(info=messages.append))
    assert summary["epochs_run"] == 2 and summary["best_epoch"] == checkpoint["best"]["epoch"]
    assert any("reaches the patience (2): no further epoch" in m for m in messages)
    assert not os.path.exists(out + ".resume")
