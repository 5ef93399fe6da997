"""Opening a model file or a resume checkpoint never runs code hidden in a pickle.

Each hostile file holds an object whose ``__reduce__`` asks the unpickler to call
``open(marker, "w")``: a plain ``pickle.load`` / ``torch.load(weights_only=False)`` would
create ``marker``. Our loaders must refuse the file with a clear error and the marker must
never exist.
"""
import os
import pickle

import pytest
from qgis.core import QgsProcessingException

import torch

from lst_fusion_plugin.common.errors import InputError  # noqa: E402
from lst_fusion_plugin.models.deep.checkpoint import load_checkpoint  # noqa: E402
from lst_fusion_plugin.models.deep.model_file import load_model  # noqa: E402
from lst_fusion_plugin.models.deep.train import TrainConfig, train_model  # noqa: E402
from synthetic_series import write_series  # noqa: E402


class CreatesAFile:
    """Unpickling this calls open(path, 'w'), which creates the file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def hostile_files(tmp_path):
    """{kind: (hostile file, marker)}: a torch.save zip and a bare pickle, each with its own marker."""
    files = {}
    for kind in ("torch_zip", "bare_pickle"):
        marker = str(tmp_path / f"created_by_{kind}")
        path = str(tmp_path / f"hostile_{kind}.pt")
        payload = {"format": "lst_fusion_model", "format_version": 1, "state_dict": CreatesAFile(marker)}
        if kind == "torch_zip":
            torch.save(payload, path)
        else:
            with open(path, "wb") as handle:
                pickle.dump(payload, handle)
        files[kind] = (path, marker)
    return files


def test_the_hostile_files_would_create_the_marker_if_unpickled_plainly(tmp_path):
    """The payload is real: an unsafe load does create the file (so the checks below mean something)."""
    for kind, (path, marker) in hostile_files(tmp_path).items():
        if kind == "torch_zip":
            loaded = torch.load(path, weights_only=False)
        else:
            with open(path, "rb") as handle:
                loaded = pickle.load(handle)
        loaded["state_dict"].close()  # the file object that unpickling opened
        assert os.path.exists(marker), kind


def test_model_file_loader_refuses_code_and_creates_nothing(tmp_path):
    for kind, (path, marker) in hostile_files(tmp_path).items():
        with pytest.raises(InputError, match="objects other than tensors and plain values.*could run code"):
            load_model(path)
        assert not os.path.exists(marker), kind


def test_resume_checkpoint_loader_refuses_code_and_creates_nothing(tmp_path):
    for kind, (path, marker) in hostile_files(tmp_path).items():
        with pytest.raises(InputError, match=r"cannot be read \(UnpicklingError\): it holds Python objects .*could run "
                                             r"code, so it was not loaded; delete it"):
            load_checkpoint(path)
        assert not os.path.exists(marker), kind


def test_training_with_resume_on_a_hostile_checkpoint_stops_before_training(tmp_path):
    series = write_series(str(tmp_path / "series"), rows=32, cols=32, dates=3)
    path, marker = hostile_files(tmp_path)["torch_zip"]
    out = str(tmp_path / "model.pt")
    os.replace(path, out + ".resume")
    with pytest.raises(InputError, match="could run code"):
        train_model(series, out, TrainConfig(model="edcstfn", epochs=1, patch=32, stride=16, resume=True))
    assert not os.path.exists(marker) and not os.path.exists(out)


def test_fuse_algorithm_refuses_a_hostile_model_file(processing, tmp_path):
    series = write_series(str(tmp_path / "series"), rows=32, cols=32, dates=2)
    folder = os.path.dirname(series)
    fine = sorted(name for name in os.listdir(folder) if name.startswith("fine_"))
    coarse = sorted(name for name in os.listdir(folder) if name.startswith("coarse_"))
    path, marker = hostile_files(tmp_path)["bare_pickle"]
    with pytest.raises(QgsProcessingException, match="could run code"):
        processing.run("lstfusion:fuse", {
            "MODEL_FILE": path, "FINE_REF": os.path.join(folder, fine[0]),
            "COARSE_REF": os.path.join(folder, coarse[0]), "COARSE_TARGET": os.path.join(folder, coarse[1]),
            "OUTPUT": str(tmp_path / "out.tif")})
    assert not os.path.exists(marker) and not os.path.exists(tmp_path / "out.tif")
