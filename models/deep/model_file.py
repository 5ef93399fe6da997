"""Trained deep model files: one ``.pt`` per model, a plain dict loaded with weights-only semantics.

Content (every field checked on load)::

    {"format": "lst_fusion_model", "format_version": 1,
     "architecture": "edcstfn",            # a name in models.registry
     "hyperparameters": {...},             # the architecture's, all of them
     "bands": 1, "units": "kelvin",        # or "celsius"
     "normalisation": {"mean": [K or °C per band], "std": [...]},
     "state_dict": {name: tensor},         # the network's weights (float32, or float16 to save
                                           # space: upcast to float32 on loading)
     "training": {...},                    # dates, epochs, options (plain values)
     "validation": {...},                  # scores on the validation dates
     "plugin_version": "0.1.0", "created": "2026-01-01T00:00:00Z"}

``torch.load(weights_only=True)`` refuses anything but tensors and plain
Python values, so a model file cannot run code when it is opened.
"""
import configparser
import math
import os
import pickle
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List

import numpy as np

from .architectures import get_spec, model_names
from ...common.deps import require_torch
from ...common.errors import InputError
from ...common.units import UNITS

FORMAT = "lst_fusion_model"
FORMAT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None))


def plugin_version() -> str:
    """The plugin's version from metadata.txt ('unknown' when unreadable)."""
    meta = configparser.ConfigParser()
    meta.read(os.path.join(os.path.dirname(os.path.dirname(__file__)), "metadata.txt"))
    return meta.get("general", "version", fallback="unknown")


@dataclass
class ModelFile:
    """A trained model: architecture, weights, normalisation and provenance.

    ``mean``/``std`` are per band, in ``units``: the network sees
    (value - mean) / std. ``state_dict`` holds CPU tensors.
    """

    architecture: str
    hyperparameters: Dict
    bands: int
    units: str
    mean: List[float]
    std: List[float]
    state_dict: Dict
    training: Dict = field(default_factory=dict)
    validation: Dict = field(default_factory=dict)
    plugin_version: str = field(default_factory=plugin_version)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def spec(self):
        """The registry entry of the architecture."""
        return get_spec(self.architecture)

    def normalise(self, array: np.ndarray) -> np.ndarray:
        """(bands, rows, cols) values in ``units`` -> normalised float32 (NaN stays NaN)."""
        mean = np.asarray(self.mean, np.float32)[:, None, None]
        std = np.asarray(self.std, np.float32)[:, None, None]
        return ((array - mean) / std).astype(np.float32)

    def denormalise(self, array: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalise`."""
        mean = np.asarray(self.mean, np.float32)[:, None, None]
        std = np.asarray(self.std, np.float32)[:, None, None]
        return (array * std + mean).astype(np.float32)

    def network(self, device="cpu"):
        """The network with these weights, in eval mode, on ``device``."""
        net = self.spec.build(self.bands, **self.hyperparameters)
        net.load_state_dict(self.state_dict, strict=True)
        return net.to(device).eval()

    def to_dict(self) -> Dict:
        """The plain dict stored on disk."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "architecture": self.architecture, "hyperparameters": dict(self.hyperparameters),
                "bands": int(self.bands), "units": self.units,
                "normalisation": {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]},
                "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
                "training": self.training, "validation": self.validation,
                "plugin_version": self.plugin_version, "created": self.created}

    def describe(self) -> str:
        """One line for logs: architecture, bands, units, training dates, validation RMSE."""
        rmse = self.validation.get("rmse")
        unit = "K" if self.units == "kelvin" else "°C"
        score = f", validation RMSE {rmse:.2f} {unit}" if isinstance(rmse, float) else ""
        dates = self.training.get("dates") or []
        span = f", trained on {len(dates)} dates {dates[0]}..{dates[-1]}" if dates else ""
        return f"{self.spec.display_name}, {self.bands} band(s) in {self.units}{span}{score}"


def save_model(path: str, model: ModelFile) -> str:
    """Write ``model`` to ``path`` atomically (temporary file, then rename); return ``path``."""
    check_plain(model.training, "training")
    check_plain(model.validation, "validation")
    return atomic_torch_save(model.to_dict(), path)


def atomic_torch_save(data: Dict, path: str) -> str:
    """``torch.save`` to a temporary file beside ``path``, then rename; return ``path``."""
    torch = require_torch()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.partial")
    try:
        torch.save(data, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_model(path: str) -> ModelFile:
    """Read and validate a model file; InputError saying what is wrong otherwise.

    Checks: readable zip written by torch.save, plain data only, our format and
    version, known architecture and hyperparameters, band count, units,
    normalisation, and weights that fit the architecture exactly.
    """
    torch = require_torch()
    if not path or not os.path.isfile(path):
        raise InputError(f"Model file not found: {path}")
    if os.path.getsize(path) == 0:
        raise InputError(f"Model file {path} is empty.")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not refused_by_safe_loader(err, path):
            raise _unreadable(path, err) from err
        raise InputError(f"{path} contains Python objects other than tensors and plain values, so it is "
                         "not an LST fusion model file; it was not loaded (loading arbitrary pickled "
                         "objects could run code).") from err
    except Exception as err:  # noqa: BLE001 (torch raises many kinds on damaged files)
        raise _unreadable(path, err) from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is a PyTorch file but not an LST fusion model file (no "
                         f"'format': '{FORMAT}' entry; a bare state_dict or another program's "
                         "checkpoint cannot be used). Train a model with lstfusion:train.")
    version = data.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise InputError(f"{path} has model format version {version!r}; this plugin reads versions "
                         f"1-{FORMAT_VERSION}. Update the plugin or retrain the model.")
    return _from_dict(data, path, torch)


def refused_by_safe_loader(err: Exception, path: str) -> bool:
    """True when ``torch.load(weights_only=True)`` refused a pickle's content (a global such as a
    class or function, or a pickle instruction it does not run), as opposed to a damaged file or
    one that is no pickle at all (a pickle of protocol 2 or later starts with the byte 0x80)."""
    text = str(err).lower()
    if not isinstance(err, pickle.UnpicklingError) or "weights only load failed" not in text:
        return False
    if "unsupported global" in text:
        return True
    with open(path, "rb") as handle:
        return handle.read(1) == b"\x80"


def _unreadable(path: str, err: Exception) -> InputError:
    detail = str(err).splitlines()[0] if str(err) else ""
    return InputError(f"{path} is not a readable model file: it is truncated or not written by "
                      f"PyTorch ({err.__class__.__name__}: {detail[:200]}). Train it again with "
                      "'Train deep fusion model' (lstfusion:train).")


def _field(data: Dict, name: str, kind, path: str):
    if name not in data:
        raise InputError(f"{path} lacks the field '{name}': the model file is incomplete or damaged.")
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InputError(f"{path}: field '{name}' has an invalid type ({type(value).__name__}).")
    return value


def _from_dict(data: Dict, path: str, torch) -> ModelFile:
    architecture = _field(data, "architecture", str, path)
    if architecture not in model_names():
        raise InputError(f"{path} holds a '{architecture}' model, which this plugin does not know "
                         f"(known: {', '.join(model_names())}). Update the plugin.")
    spec = get_spec(architecture)
    hyper = _field(data, "hyperparameters", dict, path)
    try:
        hyper = spec.hyperparameters(hyper)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: {err}") from err
    bands = _field(data, "bands", int, path)
    if bands < 1:
        raise InputError(f"{path}: band count {bands} is not positive.")
    units = _field(data, "units", str, path)
    if units not in UNITS:
        raise InputError(f"{path}: units '{units}' are neither 'kelvin' nor 'celsius'.")
    norm = _field(data, "normalisation", dict, path)
    mean, std = norm.get("mean"), norm.get("std")
    for name, values in (("mean", mean), ("std", std)):
        if (not isinstance(values, list) or len(values) != bands
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)):
            raise InputError(f"{path}: normalisation '{name}' must be {bands} finite number(s).")
    if any(v <= 0 for v in std):
        raise InputError(f"{path}: normalisation standard deviations must be positive.")
    state = _field(data, "state_dict", dict, path)
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise InputError(f"{path}: 'state_dict' must map parameter names to tensors.")
    # weights may be stored as float16 or bfloat16 to keep files small: computing is float32
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    model = ModelFile(architecture, hyper, bands, units, [float(v) for v in mean],
                      [float(v) for v in std], state,
                      _field(data, "training", dict, path), _field(data, "validation", dict, path),
                      _field(data, "plugin_version", str, path), _field(data, "created", str, path))
    try:
        model.network("cpu")
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise InputError(f"{path}: the weights do not fit a {bands}-band {architecture} network "
                         f"({first}). The file is damaged or was edited.") from err
    return model


def check_plain(value, where: str) -> None:
    """ValueError unless ``value`` is made of dicts, lists and plain scalars only."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings")
            check_plain(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_plain(item, where)
    elif not isinstance(value, _PLAIN):
        raise ValueError(f"{where}: {type(value).__name__} is not a plain value")
