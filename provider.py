"""The 'LST fusion' Processing provider (id ``lstfusion``)."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS
from .algorithms.shipped_models import shipped_models

ICON_PATH = os.path.join(os.path.dirname(__file__), "resources", "icon.svg")


class LstFusionProvider(QgsProcessingProvider):
    """Provides every algorithm listed in ``algorithms.ALGORITHMS`` and the shipped graphical models."""

    def loadAlgorithms(self):  # noqa: N802 (QGIS's name)
        """Instantiate and add the algorithms, then the models of resources/processing_models."""
        for algorithm_class in ALGORITHMS:
            self.addAlgorithm(algorithm_class())
        for model in shipped_models():
            self.addAlgorithm(model)

    def id(self) -> str:
        """Provider id used in algorithm ids ('lstfusion:...')."""
        return "lstfusion"

    def name(self) -> str:
        """Name shown in the toolbox."""
        return "LST fusion"

    def longName(self) -> str:  # noqa: N802 (QGIS's name)
        """Longer name shown in tooltips."""
        return "LST fusion: spatio-temporal fusion of MODIS and Landsat land surface temperature"

    def icon(self) -> QIcon:
        """Provider icon."""
        return QIcon(ICON_PATH)

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802 (QGIS's name)
        """Every raster output is a Float32 GeoTIFF."""
        return ["tif"]
