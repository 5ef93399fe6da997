"""The plugin loads like QGIS loads it and registers its provider and algorithms."""
import configparser
import os

from qgis.core import QgsApplication

from conftest import REPO

EXPECTED_ALGORITHMS = {"aligntofine", "modislst", "landsatlst", "fillgaps", "buildseries", "simulate",
                       "starfm", "estarfm", "train", "fuse", "fuseseries", "evaluate", "compare",
                       "experiment"}


def test_provider_registers_with_its_algorithms(plugin):
    provider = QgsApplication.processingRegistry().providerById("lstfusion")
    assert provider is not None
    assert provider.name() == "LST fusion"
    assert not provider.icon().isNull()
    ids = {alg.name() for alg in provider.algorithms()}
    assert EXPECTED_ALGORITHMS <= ids
    for alg in provider.algorithms():
        assert alg.id() == f"lstfusion:{alg.name()}"
        assert alg.shortHelpString(), alg.id()
        assert alg.group(), alg.id()


def test_unload_removes_provider_and_init_restores_it(plugin):
    registry = QgsApplication.processingRegistry()
    plugin.unload()
    assert registry.providerById("lstfusion") is None
    plugin.initProcessing()
    assert registry.providerById("lstfusion") is not None
    assert registry.algorithmById("lstfusion:aligntofine") is not None


def test_metadata_has_every_required_field():
    meta = configparser.ConfigParser()
    meta.read(os.path.join(REPO, "metadata.txt"))
    general = meta["general"]
    for field in ("name", "qgisMinimumVersion", "description", "about", "version", "author",
                  "email", "repository", "tracker", "tags", "category", "icon"):
        assert general.get(field), field
    assert general["hasProcessingProvider"] == "yes"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["category"] == "Raster"
    assert os.path.exists(os.path.join(REPO, general["icon"]))


LOAD_PROBE = """
import sys
sys.path.insert(0, sys.argv[1]); sys.path.append('/usr/share/qgis/python/plugins')
if sys.argv[2] == 'hide':
    sys.modules['torch'] = None  # 'import torch' now raises ImportError
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
from lst_fusion_plugin import classFactory
plugin = classFactory(None); plugin.initProcessing()
provider = QgsApplication.processingRegistry().providerById('lstfusion')
print(len(provider.algorithms()), 'torch' in sys.modules and sys.modules['torch'] is not None)
"""


def _load_plugin_in_subprocess(mode):
    import subprocess
    import sys
    from conftest import PLUGINS_DIR
    done = subprocess.run([sys.executable, "-c", LOAD_PROBE, PLUGINS_DIR, mode], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0, done.stderr
    count, torch_imported = done.stdout.split()[-2:]
    return int(count), torch_imported == "True"


def test_loading_the_plugin_does_not_import_torch():
    count, torch_imported = _load_plugin_in_subprocess("normal")
    assert count >= len(EXPECTED_ALGORITHMS)
    assert not torch_imported


def test_plugin_loads_all_algorithms_without_torch():
    count, _ = _load_plugin_in_subprocess("hide")
    assert count >= len(EXPECTED_ALGORITHMS)
