"""Parameters shared by the classical (window) fusion algorithms, STARFM and ESTARFM."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterDefinition,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)

from ..common.raster_io import read_units
from ..workflows.cluster import open_runner
from ..workflows.scene_parts import run_scene
from .base import LstFusionAlgorithm
from .cluster_param import CLUSTER, cluster_parameter

ALIGN_HINT = ("All inputs must share one fine grid: put the coarse rasters on the fine raster's grid "
              "with 'Align raster to fine grid' (lstfusion:aligntofine) first.")


class ClassicalFusionAlgorithm(LstFusionAlgorithm):
    """Base of STARFM and ESTARFM: raster inputs, valid range, tile size, output and its styling."""

    FINE_REF = "FINE_REF"
    COARSE_REF = "COARSE_REF"
    COARSE_TARGET = "COARSE_TARGET"
    HALF_WINDOW = "HALF_WINDOW"
    NUM_CLASSES = "NUM_CLASSES"
    VALID_MIN = "VALID_MIN"
    VALID_MAX = "VALID_MAX"
    TILE_SIZE = "TILE_SIZE"
    OUTPUT = "OUTPUT"
    VALID_FRACTION = "VALID_FRACTION"

    GROUP = "Fusion"
    GROUP_ID = "fusion"

    def add_raster(self, name: str, description: str, optional: bool = False) -> None:
        """A raster input."""
        self.addParameter(QgsProcessingParameterRasterLayer(name, self.tr(description), optional=optional))

    def add_advanced(self, parameter) -> None:
        """A tuning parameter, shown under 'Advanced parameters'."""
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def add_number(self, name: str, description: str, default, integer: bool = False,
                   minimum=None, maximum=None) -> None:
        """An advanced numeric parameter."""
        kind = QgsProcessingParameterNumber.Integer if integer else QgsProcessingParameterNumber.Double
        parameter = QgsProcessingParameterNumber(name, self.tr(description), kind, defaultValue=default)
        if minimum is not None:
            parameter.setMinimum(minimum)
        if maximum is not None:
            parameter.setMaximum(maximum)
        self.add_advanced(parameter)

    def add_date(self, name: str, description: str) -> None:
        """An optional advanced date (YYYY-MM-DD); empty means 'read from the file name'."""
        self.add_advanced(QgsProcessingParameterString(name, self.tr(description), optional=True))

    def add_common_tuning(self, half_window: int) -> None:
        """Half window, number of classes, valid range, tile size and CLUSTER."""
        self.add_number(self.HALF_WINDOW, "Half window h (window = 2h + 1 pixels)", half_window,
                        integer=True, minimum=1, maximum=200)
        self.add_number(self.NUM_CLASSES, "Number of classes (similarity threshold = 2 sigma / classes)",
                        4.0, minimum=0.1)
        self.add_number(self.VALID_MIN, "Lowest valid temperature (K)", 250.0, minimum=1.0)
        self.add_number(self.VALID_MAX, "Highest valid temperature (K)", 350.0, minimum=1.0)
        self.add_number(self.TILE_SIZE, "Tile size (pixels, memory/speed trade-off)", 256,
                        integer=True, minimum=16, maximum=4096)
        self.addParameter(cluster_parameter(self.tr))

    def add_output(self) -> None:
        """OUTPUT raster and VALID_FRACTION."""
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Fused fine LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION,
                                                 self.tr("Fraction of pixels predicted")))

    def common_values(self, parameters, context) -> dict:
        """Engine keyword arguments of the shared tuning parameters."""
        return {
            "half_window": self.parameterAsInt(parameters, self.HALF_WINDOW, context),
            "num_classes": self.parameterAsDouble(parameters, self.NUM_CLASSES, context),
            "valid_min": self.parameterAsDouble(parameters, self.VALID_MIN, context),
            "valid_max": self.parameterAsDouble(parameters, self.VALID_MAX, context),
            "tile_size": self.parameterAsInt(parameters, self.TILE_SIZE, context),
        }

    def optional_raster(self, parameters, name: str, context) -> str:
        """The source of an optional raster parameter, '' when it is not set."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None and not str(parameters.get(name) or "").strip():
            return ""
        return self.raster_source(parameters, name, context)

    def run_engine(self, parameters, context, progress, func, kwargs: dict, output: str) -> dict:
        """``func(**kwargs)`` into ``output``, in this process or in strips on the CLUSTER."""
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            return run_scene(func, kwargs, output, runner, progress)

    def finish(self, context, output: str, result: dict) -> dict:
        """Style the output and return the outputs dict."""
        self.style_output(context, output, read_units(output) or result["units"])
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"]}
