"""The 'LST fusion' Processing provider (id ``lstfusion``)."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS

ICON_PATH = os.path.join(os.path.dirname(__file__), "resources", "icon.svg")


class LstFusionProvider(QgsProcessingProvider):
    """Provides every algorithm listed in ``algorithms.ALGORITHMS``."""

    def loadAlgorithms(self):  # noqa: N802 (QGIS's name)
        """Instantiate and add the algorithms."""
        for algorithm_class in ALGORITHMS:
            self.addAlgorithm(algorithm_class())

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
