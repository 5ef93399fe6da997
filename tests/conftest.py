"""Shared test set-up: the plugin importable as ``lst_fusion_plugin``, Processing with our provider.

pytest-qgis starts a headless QgsApplication with a throw-away profile. The
repository root *is* the plugin folder, whatever the clone is called, so a link
``.build/plugins/lst_fusion_plugin`` -> repository root puts it on ``sys.path``
under its real package name (the same link serves ``scripts/qgis-process``).
"""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from plugin_path import link_plugin  # noqa: E402

PLUGINS_DIR = link_plugin()
# Import the package now: pytest later prepends the repository root itself to sys.path when the
# checkout's folder name is not a Python identifier (e.g. 'wt-3'), and the root's
# lst_fusion_plugin.py module would then shadow the package.
sys.modules.pop("lst_fusion_plugin", None)
import lst_fusion_plugin  # noqa: E402

assert hasattr(lst_fusion_plugin, "__path__"), lst_fusion_plugin.__file__
from dask_cluster import dask_cluster  # noqa: E402,F401 (session fixture: a real scheduler and two workers)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:  # Qt warns on every start without one
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(REPO, ".build", "runtime")
    os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)


# In CI (CI=true) a missing pinned package or real-data file stops the session, and a skip fails.
from ci_environment import (  # noqa: E402,F401 (pytest hooks)
    SHARED_DATA, pytest_make_collect_report, pytest_runtest_makereport, pytest_sessionstart)

YANCO = os.path.join(SHARED_DATA, "yanco")
MODIS_HDF = os.path.join(SHARED_DATA, "modis", "MOD11A1.A2019305.h14v09.hdf")


def yanco(name: str) -> str:
    """Path of a Yanco file; skips the test when ../shared/data is absent."""
    path = os.path.join(YANCO, name)
    if not os.path.exists(path):
        pytest.skip(f"real data not available: {path} (../shared/data is absent)")
    return path


@pytest.fixture(scope="session")
def plugin(qgis_app, qgis_processing):
    """The plugin loaded as qgis_process does: classFactory(None), then initProcessing()."""
    from lst_fusion_plugin import classFactory

    instance = classFactory(None)
    instance.initProcessing()
    yield instance
    instance.unload()


@pytest.fixture(scope="session")
def processing(plugin):
    """QGIS's ``processing`` module with the LST fusion provider registered."""
    import processing as qgis_processing_module

    return qgis_processing_module


def untimed(history: list) -> list:
    """A training history without each epoch's wall-clock ``seconds``, its only part that a seeded
    run does not reproduce."""
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]
