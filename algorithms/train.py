"""lstfusion:train: train a deep fusion model on a series of fine/coarse pairs."""

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..models.deep.train import TrainConfig, train_model
from ..models.registry import get_method, method_names
from ..common.pairs import read_pairs
from ..workflows.calibration import calibrate_model_file
from ..workflows.uncertainty import UncertaintySettings
from . import uncertainty_common as uc
from .base import LstFusionAlgorithm
from .deep_common import device_name, device_parameter, json_object


class TrainModel(LstFusionAlgorithm):
    """Trains a registered deep model and writes a model file (.pt)."""

    PAIRS = "PAIRS"
    MODEL = "MODEL"
    DEVICE = "DEVICE"
    EPOCHS = "EPOCHS"
    BATCH_SIZE = "BATCH_SIZE"
    PATIENCE = "PATIENCE"
    LEARNING_RATE = "LEARNING_RATE"
    PATCH_SIZE = "PATCH_SIZE"
    STRIDE = "STRIDE"
    SEED = "SEED"
    VALIDATION_FRACTION = "VALIDATION_FRACTION"
    SIMULATE_COARSE = "SIMULATE_COARSE"
    COARSE_FACTOR = "COARSE_FACTOR"
    SYNTHETIC_TARGETS = "SYNTHETIC_TARGETS"
    MAX_INVALID = "MAX_INVALID"
    MIXED_PRECISION = "MIXED_PRECISION"
    HYPERPARAMETERS = "HYPERPARAMETERS"
    RESUME = "RESUME"
    INITIAL_MODEL = "INITIAL_MODEL"
    TIME_BUDGET = "TIME_BUDGET"
    OUTPUT = "OUTPUT"
    VALIDATION_RMSE = "VALIDATION_RMSE"
    BEST_EPOCH = "BEST_EPOCH"

    NAME = "train"
    DISPLAY_NAME = "Train deep fusion model"
    GROUP = "Deep learning fusion"
    GROUP_ID = "deep"
    HELP = ("Trains a deep spatio-temporal fusion model (" + ", ".join(get_method(n).label for n in method_names(("deep",)))
            + ") on your own series and writes a "
            "model file (.pt) for 'Fuse with a deep model' (lstfusion:fuse).\n\n"
            "PAIRS: a CSV pairs table with header date,fine,coarse (ISO dates; paths relative to the "
            "table or absolute); the coarse images must already be on the fine grid (lstfusion:aligntofine), "
            "all images in the same units (K or °C).\n\n"
            "Samples are consecutive fine dates (reference pair -> target pair, both directions). "
            "Validation dates are held out by date (never by patch). Patches of 95 x 95 pixels with "
            "stride 20 (the survey's setting; rounded up when a model needs multiples of its down-sampling "
            "factor, as the log says); patches with too much no-data are skipped, the rest is "
            "masked out of the loss. Adam at the model's published learning rate, early stopping on "
            "the validation RMSE (K); the epoch with the lowest one is saved, also when you cancel after an epoch. The log "
            "shows each batch's loss (GANs: generator and critic) and an ETA. "
            "Normalisation statistics come from the training images and are stored in the model file.\n\n"
            "Too few fine dates (e.g. two)? 'Simulate coarse images from the fine ones' builds coarse "
            "images by averaging the fine ones over the coarse pixel (COARSE_FACTOR fine pixels) and "
            "synthetic target dates from each fine image; the log says so.\n\n"
            "After every epoch a resume checkpoint '<model file>.resume' is written beside the model "
            "file (weights, optimiser state, history, random generators); it is deleted when training "
            "ends and kept when you cancel or the run fails. RESUME continues such a run from its next "
            "epoch: the same pairs table, model and options are required (only the epochs, patience, "
            "device and mixed precision may change); without a checkpoint training starts afresh.\n\n"
            "INITIAL_MODEL (optional): a model file to start from instead of random weights "
            "(fine-tuning), e.g. the shipped one of the chosen model (resources/models/<model>_default.pt "
            "in the plugin folder) or one of your own. It must be of the chosen MODEL, with the series' "
            "band count and units; its hyperparameters and normalisation are kept. With two or three "
            "Landsat dates, fine-tune a shipped model (with 'simulate coarse images' when you have a "
            "single date) rather than training from scratch.\n\n"
            "Models as published: EDCSTFN (Adam with weight decay 1e-6, learning rate divided by 10 after "
            "5 epochs without improvement, two pairs fused in feature space, feature loss from a small "
            "pretrained autoencoder, cached for reuse on the same data); MLFF-GAN (coarse inputs degraded "
            "by 1/16 and bicubic back; 'adain' hyperparameter 'local' = tiling-safe windows (default) or "
            "'global' = the published whole-patch statistics, recorded in the model file); STTFN-R is our "
            "reconstruction of STTFN (no public code): forward and backward networks and a per-pixel "
            "spatio-temporal consistency weighting as in the paper, layer sizes ours.\n\n"
            "DEVICE auto uses a CUDA GPU when PyTorch sees one (with mixed precision). Training at the "
            "survey's size is a GPU job; on a CPU use few epochs or a small area.\n\n"
            "UNCERTAINTY: after training, the model predicts its validation dates (never trained on) and "
            "the split-conformal calibration of its uncertainty is stored in the model file, for "
            "OUTPUT_UNCERTAINTY of 'Fuse with a deep model' and UNCERTAINTY of 'Fuse a series'.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: PAIRS, MODEL, DEVICE, training options -> OUTPUT (model file)."""
        self.addParameter(QgsProcessingParameterFile(
            self.PAIRS, self.tr("Pairs table (CSV: date,fine,coarse)"), extension="csv"))
        names = method_names(("deep",))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODEL, self.tr("Model"), options=[get_method(n).label for n in names], defaultValue=0))
        self.addParameter(device_parameter(self.DEVICE, self.tr))
        self.addParameter(QgsProcessingParameterNumber(
            self.EPOCHS, self.tr("Maximum epochs"), QgsProcessingParameterNumber.Type.Integer, 30, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.BATCH_SIZE, self.tr("Batch size (patches)"), QgsProcessingParameterNumber.Type.Integer, 16,
            minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.PATIENCE, self.tr("Early-stopping patience (epochs)"), QgsProcessingParameterNumber.Type.Integer,
            5, minValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SIMULATE_COARSE, self.tr("Simulate coarse images from the fine ones (few fine dates)"), False))
        self.add_advanced(QgsProcessingParameterNumber(
            self.COARSE_FACTOR, self.tr("Coarse pixel size in fine pixels (for simulated coarse images)"),
            QgsProcessingParameterNumber.Type.Integer, 33, minValue=2))
        self.add_advanced(QgsProcessingParameterNumber(
            self.SYNTHETIC_TARGETS, self.tr("Synthetic target dates per fine image (simulated coarse)"),
            QgsProcessingParameterNumber.Type.Integer, 4, minValue=0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.LEARNING_RATE, self.tr("Learning rate (0 = the model's published rate)"),
            QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.PATCH_SIZE, self.tr("Patch size (pixels)"), QgsProcessingParameterNumber.Type.Integer, 95, minValue=8))
        self.add_advanced(QgsProcessingParameterNumber(
            self.STRIDE, self.tr("Patch stride (pixels)"), QgsProcessingParameterNumber.Type.Integer, 20, minValue=1))
        self.add_advanced(QgsProcessingParameterNumber(
            self.VALIDATION_FRACTION, self.tr("Share of fine dates held out for validation"),
            QgsProcessingParameterNumber.Type.Double, 0.2, minValue=0.0, maxValue=0.9))
        self.add_advanced(QgsProcessingParameterNumber(
            self.MAX_INVALID, self.tr("Largest share of no-data in a training patch"),
            QgsProcessingParameterNumber.Type.Double, 0.1, minValue=0.0, maxValue=1.0))
        self.add_advanced(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
        self.add_advanced(QgsProcessingParameterBoolean(
            self.MIXED_PRECISION, self.tr("Mixed precision (float16 on CUDA, bfloat16 on CPUs with native bfloat16)"), True))
        self.add_advanced(QgsProcessingParameterString(
            self.HYPERPARAMETERS, self.tr('Model hyperparameters as JSON, e.g. {"pretrain_batches": 100}'),
            defaultValue="", optional=True))
        self.add_advanced(QgsProcessingParameterBoolean(
            self.RESUME, self.tr("Resume from the checkpoint beside the model file (<model>.pt.resume)"),
            False))
        self.add_advanced(QgsProcessingParameterNumber(
            self.TIME_BUDGET, self.tr("Time budget (minutes; 0 = none): stop after the batch that spends it"),
            QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterFile(
            self.INITIAL_MODEL, self.tr("Initial model to fine-tune (.pt; empty = random initialisation)"),
            extension="pt", optional=True))
        self.add_advanced(QgsProcessingParameterBoolean(
            uc.UNCERTAINTY, self.tr("Calibrate the uncertainty on the validation dates (stored in the model file)"),
            False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Model file"), fileFilter="Model files (*.pt)"))
        self.addOutput(QgsProcessingOutputNumber(self.VALIDATION_RMSE, self.tr("Validation RMSE")))
        self.addOutput(QgsProcessingOutputNumber(self.BEST_EPOCH, self.tr("Best epoch")))

    def process(self, parameters, context, feedback, progress):
        """Read the options and run the training engine."""
        hyper = json_object(self.parameterAsString(parameters, self.HYPERPARAMETERS, context),
                            self.HYPERPARAMETERS, '{"pretrain_batches": 100}')
        config = TrainConfig(
            model=method_names(("deep",))[self.parameterAsEnum(parameters, self.MODEL, context)],
            epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            patience=self.parameterAsInt(parameters, self.PATIENCE, context),
            learning_rate=self.parameterAsDouble(parameters, self.LEARNING_RATE, context),
            patch=self.parameterAsInt(parameters, self.PATCH_SIZE, context),
            stride=self.parameterAsInt(parameters, self.STRIDE, context),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            validation_fraction=self.parameterAsDouble(parameters, self.VALIDATION_FRACTION, context),
            device=device_name(self.parameterAsEnum(parameters, self.DEVICE, context)),
            amp=self.parameterAsBool(parameters, self.MIXED_PRECISION, context),
            simulate_coarse=self.parameterAsBool(parameters, self.SIMULATE_COARSE, context),
            coarse_factor=self.parameterAsInt(parameters, self.COARSE_FACTOR, context),
            synthetic_targets=self.parameterAsInt(parameters, self.SYNTHETIC_TARGETS, context),
            max_invalid=self.parameterAsDouble(parameters, self.MAX_INVALID, context),
            hyperparameters=hyper,
            resume=self.parameterAsBool(parameters, self.RESUME, context),
            initial_model=self.parameterAsFile(parameters, self.INITIAL_MODEL, context) or "",
            max_seconds=60.0 * self.parameterAsDouble(parameters, self.TIME_BUDGET, context))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        pairs = self.parameterAsFile(parameters, self.PAIRS, context)
        calibrate = self.parameterAsBool(parameters, uc.UNCERTAINTY, context)
        summary = train_model(pairs, output, config, progress.sub(0, 85) if calibrate else progress)
        if calibrate:
            calibrate_model_file(output, read_pairs(pairs), UncertaintySettings(), config.device,
                                 progress.sub(85, 100))
        rmse = summary["validation_rmse"]
        feedback.pushInfo(self.tr("Model written to {output} (best epoch {best} of {epochs}{validation}).").format(
            output=output, best=summary["best_epoch"], epochs=summary["epochs_run"],
            validation=self.tr(", validation RMSE {rmse:.3f}").format(rmse=rmse) if rmse is not None else ""))
        return {self.OUTPUT: output, self.VALIDATION_RMSE: rmse if rmse is not None else float("nan"),
                self.BEST_EPOCH: summary["best_epoch"]}
