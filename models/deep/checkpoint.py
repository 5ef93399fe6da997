"""Resume checkpoints of deep-model training: ``<model file>.resume`` beside the model file.

Written atomically after every finished epoch, a plain dict read with
``torch.load(weights_only=True)``::

    {"format": "lst_fusion_resume", "format_version": 1,
     "architecture": "edcstfn", "hyperparameters": {...},   # resolved, all of them
     "config": {...},                  # the options in MATCHED (plain values)
     "pairs_sha256": "...",            # of the pairs table's bytes
     "dates": ["2020-06-01", ...],     # the usable dates of the table
     "normalisation": {"mean": [...], "std": [...]},        # K or °C per band
     "epoch": 2,                       # last finished epoch
     "history": [{...}, ...],          # one record per finished epoch
     "best": {"loss": ..., "epoch": ..., "rmse": ..., "state": {name: tensor}},
     "bad_epochs": 0,                  # epochs without improvement (patience counter)
     "trainer": {...},                 # the trainer's state_dict(): weights, optimisers, scaler, loss
     "rng": {"torch": ByteTensor, "cuda": ByteTensor or None, "numpy": {...}},
     "seconds": 12.3}                  # training time so far

Restored on resume: everything above, including the random number generators
(PyTorch's CPU generator, the CUDA generator of the training device, and the
numpy generator that orders the patches), so a resumed CPU run continues
exactly as an uninterrupted one would. Not restored: PyTorch's cuDNN/atomic
GPU kernels are not bitwise reproducible, so on a GPU a resumed run may differ
from an uninterrupted one in the last bits, as two GPU runs do; a GradScaler
starts afresh when the device changes between CPU and CUDA. The images are
read again from the pairs table; the normalisation statistics are recomputed
and must equal the saved ones (otherwise the images changed).

Options that may change on resume: epochs, patience, device, mixed precision.
"""
import hashlib
from typing import Dict, List

from ...common.deps import require_torch
from ...common.errors import InputError
from .model_file import atomic_torch_save, check_plain, refused_by_safe_loader

FORMAT = "lst_fusion_resume"
FORMAT_VERSION = 1
SUFFIX = ".resume"
MATCHED = ("batch_size", "learning_rate", "patch", "stride", "seed", "validation_fraction",
           "simulate_coarse", "coarse_factor", "synthetic_targets", "max_invalid")
"""TrainConfig fields that must be the same to resume (they shape the samples or the optimisation)."""


def checkpoint_path(model_path: str) -> str:
    """The resume checkpoint of the model file ``model_path``."""
    return model_path + SUFFIX


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def identity(architecture: str, hyperparameters: Dict, config, pairs_path: str) -> Dict:
    """What a checkpoint must match before the data are read: model, options, pairs table."""
    return {"architecture": architecture, "hyperparameters": dict(hyperparameters),
            "config": {name: getattr(config, name) for name in MATCHED},
            "pairs_sha256": file_sha256(pairs_path)}


def rng_state(np_rng, device, torch) -> Dict:
    """The random generators' states (see the module docstring)."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"torch": torch.get_rng_state(), "cuda": cuda, "numpy": np_rng.bit_generator.state}


def restore_rng(state: Dict, np_rng, device, torch) -> None:
    """Set the generators back to :func:`rng_state`'s (the CUDA one only when both runs use CUDA)."""
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"], device)
    np_rng.bit_generator.state = state["numpy"]


def save_checkpoint(path: str, checkpoint: Dict) -> str:
    """Write ``checkpoint`` (the fields of the module docstring but the format) atomically."""
    check_plain({k: v for k, v in checkpoint.items() if k not in ("best", "trainer", "rng")}, "checkpoint")
    return atomic_torch_save({"format": FORMAT, "format_version": FORMAT_VERSION, **checkpoint}, path)


def load_checkpoint(path: str) -> Dict:
    """Read a resume checkpoint; InputError when it is not one this plugin wrote."""
    torch = require_torch()
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (torch raises many kinds on damaged files)
        why = (" it holds Python objects other than tensors and plain values, and loading them could run "
               "code, so it was not loaded;" if refused_by_safe_loader(err, path) else "")
        raise InputError(f"The resume checkpoint {path} cannot be read ({err.__class__.__name__}):{why} "
                         "delete it or turn off RESUME to train from the start.") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path} is not a resume checkpoint of this plugin's version; delete it or "
                         "turn off RESUME to train from the start.")
    return data


def require_match(path: str, checkpoint: Dict, expected: Dict) -> None:
    """InputError naming every difference between a checkpoint and the training asked for."""
    differences: List[str] = []
    if checkpoint.get("architecture") != expected["architecture"]:
        differences.append(f"model {checkpoint.get('architecture')} in the checkpoint, "
                           f"{expected['architecture']} asked")
    elif checkpoint.get("hyperparameters") != expected["hyperparameters"]:
        differences.append(f"hyperparameters {checkpoint.get('hyperparameters')} in the checkpoint, "
                           f"{expected['hyperparameters']} asked")
    saved = checkpoint.get("config") or {}
    for name, value in expected["config"].items():
        if saved.get(name) != value:
            differences.append(f"{name} {saved.get(name)} in the checkpoint, {value} asked")
    if checkpoint.get("pairs_sha256") != expected["pairs_sha256"]:
        differences.append("the pairs table is not the one the checkpoint was trained on (its content differs)")
    for name in ("dates", "normalisation"):
        if name in expected and checkpoint.get(name) != expected[name]:
            differences.append(f"the images changed (their {name} differ from the checkpoint's)")
    if differences:
        raise InputError(f"Cannot resume from {path}: it was written by a different training ("
                         + "; ".join(differences) + "). Use the same model, options and pairs table "
                         "(only epochs, patience, device and mixed precision may change), turn off "
                         "RESUME to train from the start, or choose another output file.")
