"""Parameters shared by the classical (window) fusion algorithms, STARFM and ESTARFM."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)

from ..common.raster_io import read_units
from ..workflows.cluster import open_runner
from ..workflows.scene_parts import run_scene
from . import uncertainty_common
from .base import LstFusionAlgorithm
from .cluster_param import CLUSTER, cluster_parameter
from .layer_names import dated_name, name_loaded_layer

ALIGN_HINT = ("All inputs must share one fine grid: put the coarse rasters on the fine raster's grid "
              "with 'Align raster to fine grid' (lstfusion:aligntofine) first.")
RANGE_HINT = ("Input pixels outside the physically possible range 150-400 K are no-data (the log says "
              "how many); the valid range (250-350 K by default) only revises predictions that leave "
              "it, as the original code does, so polar or night scenes keep their pixels.")
"""Its numbers are models.classical.tiled.PHYSICAL_RANGE_K (a test keeps them equal)."""
UNCERTAINTY_HELP = ("\n\nOUTPUT_UNCERTAINTY (optional) needs a CALIBRATION file of the same method and half "
                    "window: calibration.json of 'Fuse a series' with UNCERTAINTY, or "
                    "calibration_<method>.json of 'Compare methods on held-out dates' with UNCERTAINTY. "
                    + uncertainty_common.HELP)


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

    def add_number(self, name: str, description: str, default, integer: bool = False,
                   minimum=None, maximum=None) -> None:
        """An advanced numeric parameter; ``default`` None makes it optional (empty = the method's choice)."""
        kind = QgsProcessingParameterNumber.Type.Integer if integer else QgsProcessingParameterNumber.Type.Double
        parameter = QgsProcessingParameterNumber(name, self.tr(description), kind, defaultValue=default,
                                                 optional=default is None)
        if minimum is not None:
            parameter.setMinimum(minimum)
        if maximum is not None:
            parameter.setMaximum(maximum)
        self.add_advanced(parameter)

    def add_date(self, name: str, description: str) -> None:
        """An optional advanced date (YYYY-MM-DD); empty means 'read from the file name'."""
        self.add_advanced(QgsProcessingParameterString(name, self.tr(description), optional=True))

    def add_common_tuning(self, half_window: int, num_classes=4.0,
                          classes_hint: str = "similarity threshold = 2 sigma / classes") -> None:
        """Half window, number of classes (None: optional, the method decides), valid range, tile size, CLUSTER."""
        self.add_number(self.HALF_WINDOW, "Half window h (window = 2h + 1 pixels)", half_window,
                        integer=True, minimum=1, maximum=200)
        self.add_number(self.NUM_CLASSES, f"Number of classes ({classes_hint})", num_classes, minimum=0.1)
        self.add_number(self.VALID_MIN, "Revise predictions at or below (K)", 250.0, minimum=1.0)
        self.add_number(self.VALID_MAX, "Revise predictions at or above (K)", 350.0, minimum=1.0)
        self.add_number(self.TILE_SIZE, "Tile size (pixels, memory/speed trade-off)", 256,
                        integer=True, minimum=16, maximum=4096)
        self.add_advanced(cluster_parameter(self.tr))

    def add_output(self) -> None:
        """OUTPUT raster and VALID_FRACTION."""
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Fused fine LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION,
                                                 self.tr("Fraction of pixels predicted")))

    def common_values(self, parameters, context, default_classes: float = 4.0) -> dict:
        """Engine keyword arguments of the shared tuning parameters (an empty NUM_CLASSES: ``default_classes``)."""
        classes = parameters.get(self.NUM_CLASSES)
        return {
            "half_window": self.parameterAsInt(parameters, self.HALF_WINDOW, context),
            "num_classes": (default_classes if classes is None or str(classes).strip() == ""
                            else self.parameterAsDouble(parameters, self.NUM_CLASSES, context)),
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

    def add_uncertainty_output(self) -> None:
        """OUTPUT_UNCERTAINTY (optional), CALIBRATION and INTERVAL_LEVEL (see uncertainty_common)."""
        uncertainty_common.add_prediction_parameters(self)

    def write_uncertainty(self, parameters, context, paths: dict, params, outputs: dict, progress) -> dict:
        """Write OUTPUT_UNCERTAINTY when asked (the inputs' ``paths`` in kernel order); ``outputs`` completed."""
        return uncertainty_common.write_prediction_uncertainty(self, parameters, context, paths, params,
                                                               outputs, progress)

    def run_engine(self, parameters, context, progress, func, kwargs: dict, output: str) -> dict:
        """``func(**kwargs)`` into ``output``, in this process or in strips on the CLUSTER."""
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            return run_scene(func, kwargs, output, runner, progress)

    def finish(self, parameters, context, output: str, result: dict, label: str, date=None) -> dict:
        """Name the output 'label YYYY-MM-DD' (the target date: ``date``, else the coarse target's),
        style it and return the outputs dict."""
        target = self.parameterAsRasterLayer(parameters, self.COARSE_TARGET, context)
        name_loaded_layer(self, context, self.OUTPUT, output, dated_name(label, target.source(), target.name(), date))
        self.style_output(context, output, read_units(output) or result["units"])
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"]}
