"""lstfusion:installdeps through Processing, offline: dummy torch/numba/llvmlite wheels at the pinned versions."""
import os
import sys

import pytest
from qgis.core import QgsProcessingContext, QgsProcessingFeedback

from lst_fusion_plugin.common.deps import LLVMLITE_VERSION, NUMBA_VERSION, TORCH_VERSION
from wheels import make_wheel


class Log(QgsProcessingFeedback):
    """Keeps the console lines (pip's output) and info lines."""

    def __init__(self):
        super().__init__()
        self.console, self.info = [], []

    def pushConsoleInfo(self, info):  # noqa: N802 (QGIS's name)
        self.console.append(info)

    def pushInfo(self, info):  # noqa: N802 (QGIS's name)
        self.info.append(info)


def test_installs_the_pinned_packages_into_the_deps_folder(processing, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("LST_FUSION_DEPS", str(tmp_path / "deps"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, version in (("torch", TORCH_VERSION), ("numba", NUMBA_VERSION), ("llvmlite", LLVMLITE_VERSION)):
        make_wheel(wheels, name, version, marker="offline test wheel")
    log = Log()
    result = processing.run("lstfusion:installdeps", {"VARIANT": 0, "WHEELS": str(wheels)},
                            context=QgsProcessingContext(), feedback=log)
    assert result["FOLDER"] == str(tmp_path / "deps")
    assert result["INSTALLED"] == f"torch-{TORCH_VERSION}, llvmlite-{LLVMLITE_VERSION}, numba-{NUMBA_VERSION}"
    with open(tmp_path / "deps" / "torch" / "__init__.py") as handle:
        assert "offline test wheel" in handle.read()
    # this session already has torch 2.13.0 importable (the test venv's): usable now, no restart
    assert result["RESTART_NEEDED"] is False
    assert any("without a restart" in line for line in log.info)
    assert any(line.startswith("$ ") and "--no-index" in line for line in log.console)
    assert any(line.startswith("Successfully installed torch-") for line in log.console)
    assert str(tmp_path / "deps") in sys.path


def test_a_missing_wheel_folder_is_a_clear_error(processing, tmp_path, monkeypatch):
    from qgis.core import QgsProcessingException

    monkeypatch.setenv("LST_FUSION_DEPS", str(tmp_path / "deps"))
    with pytest.raises(QgsProcessingException, match="wheel folder does not exist"):
        processing.run("lstfusion:installdeps", {"VARIANT": 1, "WHEELS": str(tmp_path / "none")})
    assert not os.path.exists(tmp_path / "deps" / "torch")
