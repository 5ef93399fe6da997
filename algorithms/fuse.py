"""lstfusion:fuse: predict the fine LST of a target date with a trained deep model."""
import os

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer)

from ..models.deep.predict import fuse_paths
from ..common.raster_io import read_units
from ..models.deep.architectures import get_spec, model_names
from ..workflows.cluster import open_runner
from ..workflows.scene_parts import run_scene
from .base import LstFusionAlgorithm
from .cluster_param import CLUSTER, CLUSTER_HELP, cluster_parameter
from .deep_common import advanced, device_name, device_parameter

SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "models",
                             "edcstfn_default.pt")
"""The EDCSTFN trained by scripts/train_shipped_model.py (Kelvin, one band)."""


class FuseDeep(LstFusionAlgorithm):
    """Tiled prediction with a model file from lstfusion:train."""

    MODEL_FILE = "MODEL_FILE"
    FINE_REF = "FINE_REF"
    COARSE_REF = "COARSE_REF"
    FINE_REF2 = "FINE_REF2"
    COARSE_REF2 = "COARSE_REF2"
    COARSE_TARGET = "COARSE_TARGET"
    DEVICE = "DEVICE"
    TILE_SIZE = "TILE_SIZE"
    BATCH_TILES = "BATCH_TILES"
    OUTPUT = "OUTPUT"
    VALID_FRACTION = "VALID_FRACTION"

    NAME = "fuse"
    DISPLAY_NAME = "Fuse with a deep model"
    GROUP = "Deep learning fusion"
    GROUP_ID = "deep"
    HELP = ("Predicts the fine (Landsat-like) LST of the target date from a reference pair (fine and "
            "coarse image of one date) and the coarse image of the target date, with a model file "
            "written by 'Train deep fusion model' (lstfusion:train). The default model file is the "
            "small EDCSTFN shipped with the plugin (Kelvin; trained on synthetic scenes: train your "
            "own for real work).\n\n"
            "All rasters must be on the fine grid (align the coarse ones with lstfusion:aligntofine) "
            "and in the model's units: a Kelvin/Celsius mismatch is an error. A second reference pair "
            "(FINE_REF2, COARSE_REF2, e.g. after the target date) is used when the model supports it ("
            + ", ".join(get_spec(n).display_name for n in model_names() if get_spec(n).two_pair)
            + "); the model then combines its two predictions its own way (see its documentation).\n\n"
            "Scenes of any size are processed by tiles with a halo covering the model's receptive "
            "field, so the result equals an untiled prediction; tiles are batched on the GPU. An "
            "output pixel is no-data when an input it needs is no-data. On a cluster, strips of tiles "
            "are predicted by the workers (the same values within 1e-4 K)." + CLUSTER_HELP)

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: MODEL_FILE, FINE_REF, COARSE_REF, COARSE_TARGET, [FINE_REF2, COARSE_REF2], DEVICE -> OUTPUT."""
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL_FILE, self.tr("Model file (.pt; empty = the shipped EDCSTFN)"), extension="pt",
            defaultValue=SHIPPED_MODEL, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.FINE_REF, self.tr("Fine image, reference date")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.COARSE_REF, self.tr("Coarse image, reference date (on the fine grid)")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.COARSE_TARGET, self.tr("Coarse image, target date (on the fine grid)")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.FINE_REF2, self.tr("Fine image, second reference date"), optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.COARSE_REF2, self.tr("Coarse image, second reference date"), optional=True))
        self.addParameter(device_parameter(self.DEVICE, self.tr))
        self.addParameter(cluster_parameter(self.tr))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.TILE_SIZE, self.tr("Tile size (pixels, without halo)"), QgsProcessingParameterNumber.Integer,
            512, minValue=16)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.BATCH_TILES, self.tr("Tiles per batch (0 = 1 on CPU, 8 on GPU)"),
            QgsProcessingParameterNumber.Integer, 0, minValue=0)))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Fused fine LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels")))

    def process(self, parameters, context, feedback, progress):
        """Run the tiled prediction."""
        model_file = self.parameterAsFile(parameters, self.MODEL_FILE, context) or SHIPPED_MODEL
        optional = {}
        for name in (self.FINE_REF2, self.COARSE_REF2):
            if parameters.get(name):
                optional[name] = self.raster_source(parameters, name, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if os.path.abspath(model_file) == os.path.abspath(SHIPPED_MODEL):
            feedback.pushInfo(self.tr("Using the EDCSTFN shipped with the plugin, trained on synthetic "
                                      "scenes (Kelvin, coarse pixel of 10 fine pixels): for real work "
                                      "train a model on your own series with lstfusion:train."))
        kwargs = {"model_path": model_file,
                  "fine_ref": self.raster_source(parameters, self.FINE_REF, context),
                  "coarse_ref": self.raster_source(parameters, self.COARSE_REF, context),
                  "coarse_target": self.raster_source(parameters, self.COARSE_TARGET, context),
                  "fine_ref2": optional.get(self.FINE_REF2), "coarse_ref2": optional.get(self.COARSE_REF2),
                  "device": device_name(self.parameterAsEnum(parameters, self.DEVICE, context)),
                  "tile_size": self.parameterAsInt(parameters, self.TILE_SIZE, context),
                  "batch_tiles": self.parameterAsInt(parameters, self.BATCH_TILES, context)}
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            result = run_scene(fuse_paths, kwargs, output, runner, progress)
        feedback.pushInfo(self.tr(f"{result['tiles']} tile(s) on {result['device']}; "
                                  f"{100 * result['valid_fraction']:.1f} % of the pixels are valid."))
        self.style_output(context, output, read_units(output) or "kelvin")
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"]}
