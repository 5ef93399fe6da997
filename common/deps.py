"""Optional heavy dependencies (PyTorch), imported lazily with an actionable message.

QGIS runs its own Python, not a virtual environment, so the plugin looks for
torch also in a plugin-owned folder (:func:`deps_dir`) that a user fills with
``pip install --target``. The plugin adds that folder to ``sys.path`` at load.
"""
import os
import sys

from .errors import InputError

TORCH_VERSION = "2.13.0"
NUMBA_VERSION = "0.60.0"
LLVMLITE_VERSION = "0.43.0"
"""The pins of requirements.txt, installed for QGIS's Python by :mod:`common.installer`."""


def deps_dir() -> str:
    """Folder where the plugin looks for extra Python packages.

    ``$LST_FUSION_DEPS`` when set, else a per-user, per-Python-version folder:
    ``~/.local/share/lst_fusion_plugin/python3.X`` (``%APPDATA%`` on Windows).
    """
    if os.environ.get("LST_FUSION_DEPS"):
        return os.environ["LST_FUSION_DEPS"]
    base = os.environ.get("APPDATA") if os.name == "nt" else None
    base = base or os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "lst_fusion_plugin", f"python{sys.version_info[0]}.{sys.version_info[1]}")


def add_deps_to_path() -> None:
    """Append :func:`deps_dir` to ``sys.path`` when it exists (after the system's packages)."""
    folder = deps_dir()
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)


def torch_install_hint() -> str:
    """How to install the pinned torch where this plugin finds it."""
    return (f"PyTorch is not installed for QGIS's Python ({sys.executable}). Install it from QGIS: "
            "Plugins > LST fusion > Install deep-learning packages, or the Processing tool 'Install "
            "deep-learning packages' (lstfusion:installdeps); or from a terminal:\n"
            f"  {sys.executable} -m pip install --target \"{deps_dir()}\" torch=={TORCH_VERSION}\n"
            "then restart QGIS.")


def require_torch():
    """Import and return torch, or raise InputError saying how to install it."""
    try:
        import torch
    except ImportError as err:
        raise InputError(torch_install_hint()) from err
    return torch
