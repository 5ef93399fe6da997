"""Graphical models shipped in ``resources/processing_models`` (``*.model3``), provided as algorithms.

Each model runs as ``lstfusion:<model name>`` in the toolbox, in other models, from
``processing.run`` and from ``qgis_process``, like the plugin's own algorithms; the model file
can be opened and changed in the Model Designer. The toolbox shows a title from :data:`TITLES`
rather than the id-like model name.
"""
import os

from qgis.core import QgsProcessingModelAlgorithm

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "processing_models")
TITLES = {"downloadtoseries": "Download and build LST series (model)"}
"""Toolbox names of the shipped models, by model name (the algorithm id without 'lstfusion:')."""


class ShippedModel(QgsProcessingModelAlgorithm):
    """A model read from a .model3 file, with a readable display name."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        if not self.fromFile(path):
            raise ValueError(f"cannot read the model {path}")
        self.setSourceFilePath(path)

    def displayName(self) -> str:  # noqa: N802 (QGIS's name)
        """The model's title, else its name."""
        return TITLES.get(self.name(), self.name())

    def createInstance(self):  # noqa: N802 (QGIS's name)
        """A new instance read from the same file."""
        return ShippedModel(self.path)


def shipped_models():
    """One ShippedModel per readable .model3 file of MODELS_DIR, in file-name order (a file that
    cannot be read is left out rather than stopping the provider; tests check each one loads)."""
    names = sorted(n for n in os.listdir(MODELS_DIR) if n.endswith(".model3")) if os.path.isdir(MODELS_DIR) else []
    models = []
    for name in names:
        try:
            models.append(ShippedModel(os.path.join(MODELS_DIR, name)))
        except ValueError:
            continue
    return models
