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
from . import uncertainty_common as uc
from .cluster_param import CLUSTER, CLUSTER_HELP, cluster_parameter
from .deep_common import SHIPPED_FOLDER, device_name, device_parameter, shipped_model
from .layer_names import dated_name, name_loaded_layer

SHIPPED_MODEL = shipped_model("edcstfn")
"""The default model file: the EDCSTFN trained by scripts/train_shipped_model.py (Kelvin, one band)."""


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
            "written by 'Train deep fusion model' (lstfusion:train). The plugin ships one model file per "
            "model in its resources/models folder (edcstfn_default.pt, the default, sttfn_default.pt, "
            "mlffgan_default.pt; Kelvin; trained for minutes on simulated scenes, see the .md beside "
            "each): fine-tune one on your own dates with lstfusion:train (INITIAL_MODEL) for real work.\n\n"
            "All rasters must be on the fine grid (align the coarse ones with lstfusion:aligntofine) "
            "and in the model's units: a Kelvin/Celsius mismatch is an error. A second reference pair "
            "(FINE_REF2, COARSE_REF2, e.g. after the target date) is used when the model supports it ("
            + ", ".join(get_spec(n).display_name for n in model_names() if get_spec(n).two_pair)
            + "); the model then combines its two predictions its own way (see its documentation).\n\n"
            "Scenes of any size are processed by tiles with a halo covering the model's receptive "
            "field, so the result equals an untiled prediction; tiles are batched on the GPU. An "
            "output pixel is no-data when an input it needs is no-data. On a cluster, strips of tiles "
            "are predicted by the workers (the same values within 1e-4 K).\n\n"
            "OUTPUT_UNCERTAINTY (optional) uses the calibration stored in the model file by 'Train a "
            "deep fusion model' with UNCERTAINTY (or a CALIBRATION file); its raw spread is the "
            "disagreement of the two pairs' predictions plus test-time augmentation (flips), which "
            "costs 4 (one pair) or 10 (two pairs) forward passes instead of 1 or 2. " + uc.HELP + CLUSTER_HELP)

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
        self.add_advanced(cluster_parameter(self.tr))
        self.add_advanced(QgsProcessingParameterNumber(
            self.TILE_SIZE, self.tr("Tile size (pixels, without halo)"), QgsProcessingParameterNumber.Type.Integer,
            512, minValue=16))
        self.add_advanced(QgsProcessingParameterNumber(
            self.BATCH_TILES, self.tr("Tiles per batch (0 = 1 on CPU, 8 on GPU)"),
            QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Fused fine LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels")))
        uc.add_prediction_parameters(self)

    def process(self, parameters, context, feedback, progress):
        """Run the tiled prediction."""
        model_file = self.parameterAsFile(parameters, self.MODEL_FILE, context) or SHIPPED_MODEL
        optional = {}
        for name in (self.FINE_REF2, self.COARSE_REF2):
            if parameters.get(name):
                optional[name] = self.raster_source(parameters, name, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if os.path.dirname(os.path.abspath(model_file)) == os.path.abspath(SHIPPED_FOLDER):
            feedback.pushInfo(self.tr("Using {name} shipped with the plugin, trained on simulated scenes (Kelvin, "
                                      "MODIS-like coarse pixels on a 30 m grid): for real work fine-tune it on "
                                      "your own series with lstfusion:train (INITIAL_MODEL).").format(
                name=os.path.basename(model_file)))
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
        feedback.pushInfo(self.tr("{tiles} tile(s) on {device}; {percent:.1f} % of the pixels are valid.").format(
            tiles=result["tiles"], device=result["device"], percent=100 * result["valid_fraction"]))
        target = self.parameterAsRasterLayer(parameters, self.COARSE_TARGET, context)
        label = get_spec(result["model"]).display_name.split(" (")[0]  # 'EDCSTFN (Tan et al. 2019)'
        name_loaded_layer(self, context, self.OUTPUT, output, dated_name(label, target.source(), target.name()))
        self.style_output(context, output, read_units(output) or "kelvin")
        outputs = {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"]}
        return uc.write_model_uncertainty(self, parameters, context, model_file, {**{
            name: self.raster_source(parameters, name, context)
            for name in (self.FINE_REF, self.COARSE_REF, self.COARSE_TARGET)}, **optional}, outputs, progress)
