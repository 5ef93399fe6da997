"""What the dialogs say: translatable messages (placeholders, never f-strings in tr()), labels that
agree with the parameters' flags, help texts whose placeholders are all filled."""
import ast
import glob
import os
import re

import pytest
from qgis.core import QgsApplication, QgsProcessingParameterDefinition

from conftest import REPO
from lst_fusion_plugin.algorithms.classical_base import RANGE_HINT
from lst_fusion_plugin.models.classical.tiled import PHYSICAL_RANGE_K


def tr_calls(path):
    """(line, first argument node) of every ``...tr(...)`` call in a Python file."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "tr":
            if node.args:
                yield node.lineno, node.args[0]


def test_no_f_string_or_concatenation_is_translated():
    """lupdate extracts literals only: a formatted or concatenated text is never found in a translation."""
    offenders = []
    for path in sorted(glob.glob(os.path.join(REPO, "algorithms", "*.py"))
                       + glob.glob(os.path.join(REPO, "desktop", "*.py")) + [os.path.join(REPO, "provider.py")]):
        for line, arg in tr_calls(path):
            if isinstance(arg, (ast.JoinedStr, ast.BinOp)):
                offenders.append(f"{os.path.relpath(path, REPO)}:{line}")
    assert offenders == []


def test_the_checker_catches_an_f_string(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(self, n):\n    return self.tr(f"{n} pixels") + self.tr("a" + "b")\n')
    kinds = [type(arg).__name__ for _, arg in tr_calls(str(bad))]
    assert kinds == ["JoinedStr", "BinOp"]


def test_help_texts_are_literals_with_every_placeholder_filled(plugin):
    provider = QgsApplication.processingRegistry().providerById("lstfusion")
    for algorithm in provider.algorithms():
        if algorithm.id().endswith("downloadtoseries"):  # a shipped graphical model: its help is the model's
            continue
        assert isinstance(type(algorithm).HELP, str)
        text = algorithm.shortHelpString()
        assert text and not re.search(r"\{[a-z_]+[^}]*\}", text), algorithm.id()
    estarfm = provider.algorithm("estarfm").shortHelpString()
    assert "Align raster to fine grid" in estarfm and "150-400 K" in estarfm


def test_range_hint_states_the_engine_range():
    assert f"{PHYSICAL_RANGE_K[0]:g}-{PHYSICAL_RANGE_K[1]:g} K" in RANGE_HINT


def test_labels_agree_with_the_optional_flag(plugin):
    """A dialog never says '(required) [optional]' nor 'optional' on a mandatory parameter."""
    provider = QgsApplication.processingRegistry().providerById("lstfusion")
    for algorithm in provider.algorithms():
        for parameter in algorithm.parameterDefinitions():
            label = parameter.description().lower()
            optional = bool(parameter.flags() & QgsProcessingParameterDefinition.FlagOptional)
            where = f"{algorithm.id()} {parameter.name()}: {parameter.description()}"
            assert not (optional and "required" in label), where
            assert not (not optional and re.search(r"\boptional\b", label)), where


def test_estarfm_second_pair_is_mandatory_and_explained(processing, tmp_path):
    algorithm = QgsApplication.processingRegistry().algorithmById("lstfusion:estarfm")
    for name in ("FINE_REF2", "COARSE_REF2"):
        parameter = algorithm.parameterDefinition(name)
        assert not parameter.flags() & QgsProcessingParameterDefinition.FlagOptional
    ok, message = algorithm.checkParameterValues({"FINE_REF2": "", "COARSE_REF2": None}, None)
    assert not ok
    assert message == ("ESTARFM needs two reference pairs; FINE_REF2 and COARSE_REF2 are missing. "
                       "With a single pair use STARFM (lstfusion:starfm).")


@pytest.mark.parametrize("name", ["evaluate", "estarfm", "starfm"])
def test_help_mentions_the_single_ergas_default_or_ranges(plugin, name):
    text = QgsApplication.processingRegistry().algorithmById(f"lstfusion:{name}").shortHelpString()
    if name == "evaluate":
        assert "RATIO (0.03 for Landsat 30 m / MODIS 1 km)" in text
    else:
        assert "only revises predictions" in text
