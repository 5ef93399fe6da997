"""What every LST fusion algorithm shares: naming, help, feedback bridge, error translation.

Subclasses set ``NAME``, ``DISPLAY_NAME``, ``GROUP``, ``GROUP_ID`` and ``HELP``,
declare parameters in ``initAlgorithm`` and implement
``process(parameters, context, feedback, progress)``, which calls the engine
and returns the outputs dict (not ``run``: QgsProcessingAlgorithm.run exists).
Engine ``InputError``s become ``QgsProcessingException`` with the same message;
a cancel becomes one saying that nothing was written.
"""
import os
import shutil

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingFeedback,
                       QgsProcessingLayerPostProcessorInterface, QgsRasterLayer)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..common.errors import Cancelled, InputError
from ..common.progress import Progress
from .compat import PARAMETER_ADVANCED
from .styling import fit_ramp_to_data

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.svg")
LST_STYLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "lst_{units}.qml")


def feedback_progress(feedback: QgsProcessingFeedback) -> Progress:
    """A Progress that reports to (and is cancelled through) a Processing feedback."""
    return Progress(report=feedback.setProgress, info=feedback.pushInfo,
                    is_cancelled=feedback.isCanceled)


class LstFusionAlgorithm(QgsProcessingAlgorithm):
    """Base class of the plugin's algorithms."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    GROUP_ID = ""
    HELP = ""
    HELP_ARGS: dict = {}
    """Values of the {placeholders} in HELP (str values are translated too)."""

    def tr(self, text: str) -> str:
        """Translate a string in this algorithm's context."""
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):  # noqa: N802 (QGIS's name)
        """A new instance of the same algorithm."""
        return type(self)()

    def name(self) -> str:
        """Algorithm id within the provider."""
        return self.NAME

    def displayName(self) -> str:  # noqa: N802 (QGIS's name)
        """Name shown in the toolbox."""
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:
        """Toolbox group name."""
        return self.tr(self.GROUP)

    def groupId(self) -> str:  # noqa: N802 (QGIS's name)
        """Toolbox group id."""
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802 (QGIS's name)
        """Help shown beside the dialog."""
        text = self.tr(self.HELP)
        if not self.HELP_ARGS:
            return text
        return text.format(**{k: self.tr(v) if isinstance(v, str) else v for k, v in self.HELP_ARGS.items()})

    def icon(self) -> QIcon:
        """Provider icon."""
        return QIcon(ICON_PATH)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS's name)
        """Call ``process``; engine errors become QgsProcessingException."""
        try:
            return self.process(parameters, context, feedback, feedback_progress(feedback))
        except InputError as err:
            raise QgsProcessingException(str(err)) from err
        except Cancelled as err:
            raise QgsProcessingException(self.tr("Cancelled by the user; no output was written.")) from err

    def add_advanced(self, *parameters) -> None:
        """Add tuning parameters, shown under 'Advanced parameters'."""
        for parameter in parameters:
            parameter.setFlags(parameter.flags() | PARAMETER_ADVANCED)
            self.addParameter(parameter)

    def raster_source(self, parameters, name: str, context) -> str:
        """The data source of a raster parameter, or QgsProcessingException naming the parameter."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(self.tr("{name}: could not load the raster layer '{value}'.").format(
                name=name, value=parameters.get(name)))
        return layer.source()

    @staticmethod
    def write_default_styles(paths, units: str) -> None:
        """Put the LST style beside each raster as ``<name>.qml``, QGIS's default style for it."""
        style = LST_STYLE.format(units=units)
        for path in paths:
            shutil.copyfile(style, os.path.splitext(path)[0] + ".qml")

    def style_output(self, context, output_path: str, units: str) -> None:
        """Load the temperature colour ramp on the output when QGIS loads it."""
        if context.willLoadLayerOnCompletion(output_path):
            details = context.layerToLoadOnCompletionDetails(output_path)
            details.setPostProcessor(StyleLoader.create(LST_STYLE.format(units=units)))


class StyleLoader(QgsProcessingLayerPostProcessorInterface):
    """Applies a .qml style to a raster layer that QGIS loads after an algorithm,
    with its colour ramp stretched to the layer's minimum-maximum."""

    _alive = []  # QGIS does not own Python post-processors: keep them referenced

    def __init__(self, qml_path: str):
        super().__init__()
        self.qml_path = qml_path

    @classmethod
    def create(cls, qml_path: str) -> "StyleLoader":
        """A loader kept alive for the session."""
        loader = cls(qml_path)
        cls._alive.append(loader)
        return loader

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS's name)
        """Load the style onto the finished layer."""
        if isinstance(layer, QgsRasterLayer) and os.path.exists(self.qml_path):
            layer.loadNamedStyle(self.qml_path)
            fit_ramp_to_data(layer)
            layer.triggerRepaint()
