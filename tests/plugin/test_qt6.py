"""Qt 6 / QGIS 4 readiness: QGIS's own migration checker finds nothing to change, no enum is spelled
unscoped, the enums QGIS 3.36 renamed come from algorithms/compat.py, and metadata says supportsQt6."""
import ast
import configparser
import enum
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsCoordinateReferenceSystem, QgsProcessing, QgsProcessingParameterDefinition

from conftest import REPO

CHECKER = os.path.join(REPO, ".venv-qt6", "bin", "pyqt5to6")
SOURCE_DIRS = ("algorithms", "common", "desktop", "evaluation", "models", "preprocessing", "simulation",
               "workflows")
RENAMED_IN_336 = {("QgsProcessing", "SourceType"), ("QgsProcessingParameterDefinition", "Flag"),
                  ("QgsProcessingAlgorithm", "Flag"), ("QgsCoordinateReferenceSystem", "WktVariant"),
                  ("QgsUnitTypes", "TemporalUnit")}
"""Enums that QGIS 3.36 moved into ``Qgis`` with new member names: only compat.py may spell them."""


def plugin_sources():
    """Paths of the plugin's own Python files (no tests, venvs or build folders)."""
    paths = [os.path.join(REPO, name) for name in os.listdir(REPO) if name.endswith(".py")]
    for folder in SOURCE_DIRS:
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            paths += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return sorted(paths)


def run_checker(folder):
    if not os.access(CHECKER, os.X_OK):
        pytest.fail(f"{CHECKER} is missing: run 'make setup' (it installs scripts/qt6-check-requirements.txt)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([CHECKER, str(folder)], capture_output=True, text=True, env=env, timeout=300)


def test_qgis_migration_checker_reports_nothing(tmp_path):
    """The checker rewrites files in place (this packaged version has no dry run): run it on a copy."""
    copy = tmp_path / "lst_fusion_plugin"
    for path in plugin_sources():
        target = copy / os.path.relpath(path, REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    result = run_checker(copy)
    changed = [os.path.relpath(path, REPO) for path in plugin_sources()
               if (copy / os.path.relpath(path, REPO)).read_text(encoding="utf-8")
               != Path(path).read_text(encoding="utf-8")]
    messages = [line for line in (result.stdout + result.stderr).splitlines()
                if line and "only a partial upgrade" not in line]
    assert (changed, messages, result.returncode) == ([], [], 0)


def test_the_migration_checker_flags_qt5_code(tmp_path):
    old = tmp_path / "old.py"
    old.write_text("from PyQt5.QtCore import Qt\nfrom PyQt5.QtWidgets import QDialog\n\n\n"
                   "def show(dialog: QDialog):\n    dialog.setWindowModality(Qt.WindowModal)\n"
                   "    return dialog.exec_()\n")
    result = run_checker(tmp_path)
    assert result.returncode != 0
    fixed = old.read_text()
    assert "from qgis.PyQt.QtCore import Qt" in fixed
    assert "dialog.setWindowModality(Qt.WindowModality.WindowModal)" in fixed
    assert "return dialog.exec()" in fixed


def unscoped_enums(path):
    """'file:line Class.Member' for each enum member reached straight from its Qt/QGIS class."""
    import qgis.core
    import qgis.gui
    from qgis.PyQt import QtCore, QtGui, QtWidgets

    modules = (qgis.core, qgis.gui, QtCore, QtGui, QtWidgets)
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        owner = next((getattr(m, node.value.id) for m in modules if hasattr(m, node.value.id)), None)
        value = getattr(owner, node.attr, None) if isinstance(owner, type) else None
        if value is None or isinstance(value, type):
            continue
        sip_enum = type(type(value)).__name__ == "enumtype"  # sip's unscoped enums (QGIS 3.22 / PyQt5)
        if sip_enum or isinstance(value, enum.Enum):
            found.append(f"{os.path.relpath(path, REPO)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def renamed_enums(path):
    """'file:line Class.Enum' for each use of an enum in RENAMED_IN_336."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    return [f"{os.path.relpath(path, REPO)}:{node.lineno} {node.value.id}.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in RENAMED_IN_336]


def test_every_enum_is_scoped():
    """PyQt6 and QGIS 4 only know scoped enums (Class.Enum.Member): the checker above cannot see QGIS's."""
    assert [hit for path in plugin_sources() for hit in unscoped_enums(path)] == []


def test_renamed_enums_only_in_compat():
    hits = [hit for path in plugin_sources() if not path.endswith(os.path.join("algorithms", "compat.py"))
            for hit in renamed_enums(path)]
    assert hits == []


def test_the_enum_checks_catch_old_spellings(tmp_path):
    old = tmp_path / "old.py"
    old.write_text("from qgis.core import QgsProcessing, QgsProcessingParameterNumber\n"
                   "a = QgsProcessingParameterNumber.Double\nb = QgsProcessing.SourceType.TypeRaster\n"
                   "c = QgsProcessingParameterNumber.Type.Double\n")
    assert [hit.split(" ")[1] for hit in unscoped_enums(str(old))] == ["QgsProcessingParameterNumber.Double"]
    assert [hit.split(" ")[1] for hit in renamed_enums(str(old))] == ["QgsProcessing.SourceType"]


def test_compat_values_are_the_enum_members_of_this_qgis():
    from lst_fusion_plugin.algorithms import compat

    if hasattr(Qgis, "ProcessingSourceType"):
        assert compat.SOURCE_RASTER == Qgis.ProcessingSourceType.Raster
    else:
        assert compat.SOURCE_RASTER == QgsProcessing.TypeRaster == 3
        assert compat.SOURCE_VECTOR_POLYGON == QgsProcessing.TypeVectorPolygon
        assert compat.PARAMETER_ADVANCED == QgsProcessingParameterDefinition.FlagAdvanced
        assert compat.WKT_PREFERRED_GDAL == QgsCoordinateReferenceSystem.WKT_PREFERRED_GDAL


def test_metadata_declares_qt6_support():
    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(REPO, "metadata.txt"), encoding="utf-8")
    assert metadata["general"]["supportsQt6"] == "True"
