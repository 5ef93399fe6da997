"""The plugin loads like QGIS loads it and registers its provider and algorithms."""
import configparser
import os

from qgis.core import QgsApplication

from conftest import REPO

EXPECTED_ALGORITHMS = {"aligntofine", "train", "fuse"}


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
