"""lstfusion:train: train a deep fusion model on a series of fine/coarse pairs."""

from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..models.deep.train import TrainConfig, train_model
from ..models.deep.architectures import get_spec, model_names
from .base import LstFusionAlgorithm
from .deep_common import advanced, device_name, device_parameter, json_object


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
    OUTPUT = "OUTPUT"
    VALIDATION_RMSE = "VALIDATION_RMSE"
    BEST_EPOCH = "BEST_EPOCH"

    NAME = "train"
    DISPLAY_NAME = "Train deep fusion model"
    GROUP = "Deep learning fusion"
    GROUP_ID = "deep"
    HELP = ("Trains a deep spatio-temporal fusion model (" + ", ".join(get_spec(n).display_name for n in model_names())
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
            "the validation loss; the best epoch is saved, also when you cancel after an epoch. The log "
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
            "DEVICE auto uses a CUDA GPU when PyTorch sees one (with mixed precision). Training at the "
            "survey's size is a GPU job; on a CPU use few epochs or a small area.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: PAIRS, MODEL, DEVICE, training options -> OUTPUT (model file)."""
        self.addParameter(QgsProcessingParameterFile(
            self.PAIRS, self.tr("Pairs table (CSV: date,fine,coarse)"), extension="csv"))
        names = model_names()
        self.addParameter(QgsProcessingParameterEnum(
            self.MODEL, self.tr("Model"), options=[get_spec(n).display_name for n in names], defaultValue=0))
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
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.COARSE_FACTOR, self.tr("Coarse pixel size in fine pixels (for simulated coarse images)"),
            QgsProcessingParameterNumber.Type.Integer, 33, minValue=2)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.SYNTHETIC_TARGETS, self.tr("Synthetic target dates per fine image (simulated coarse)"),
            QgsProcessingParameterNumber.Type.Integer, 4, minValue=0)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.LEARNING_RATE, self.tr("Learning rate (0 = the model's published rate)"),
            QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.PATCH_SIZE, self.tr("Patch size (pixels)"), QgsProcessingParameterNumber.Type.Integer, 95,
            minValue=8)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.STRIDE, self.tr("Patch stride (pixels)"), QgsProcessingParameterNumber.Type.Integer, 20, minValue=1)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.VALIDATION_FRACTION, self.tr("Share of fine dates held out for validation"),
            QgsProcessingParameterNumber.Type.Double, 0.2, minValue=0.0, maxValue=0.9)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.MAX_INVALID, self.tr("Largest share of no-data in a training patch"),
            QgsProcessingParameterNumber.Type.Double, 0.1, minValue=0.0, maxValue=1.0)))
        self.addParameter(advanced(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0)))
        self.addParameter(advanced(QgsProcessingParameterBoolean(
            self.MIXED_PRECISION, self.tr("Mixed precision on CUDA"), True)))
        self.addParameter(advanced(QgsProcessingParameterString(
            self.HYPERPARAMETERS, self.tr('Model hyperparameters as JSON, e.g. {"pretrain_batches": 100}'),
            defaultValue="", optional=True)))
        self.addParameter(advanced(QgsProcessingParameterBoolean(
            self.RESUME, self.tr("Resume from the checkpoint beside the model file (<model>.pt.resume)"),
            False)))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Model file"), fileFilter="Model files (*.pt)"))
        self.addOutput(QgsProcessingOutputNumber(self.VALIDATION_RMSE, self.tr("Validation RMSE")))
        self.addOutput(QgsProcessingOutputNumber(self.BEST_EPOCH, self.tr("Best epoch")))

    def process(self, parameters, context, feedback, progress):
        """Read the options and run the training engine."""
        hyper = json_object(self.parameterAsString(parameters, self.HYPERPARAMETERS, context),
                            self.HYPERPARAMETERS, '{"pretrain_batches": 100}')
        config = TrainConfig(
            model=model_names()[self.parameterAsEnum(parameters, self.MODEL, context)],
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
            resume=self.parameterAsBool(parameters, self.RESUME, context))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        pairs = self.parameterAsFile(parameters, self.PAIRS, context)
        summary = train_model(pairs, output, config, progress)
        rmse = summary["validation_rmse"]
        feedback.pushInfo(self.tr("Model written to {output} (best epoch {best} of {epochs}{validation}).").format(
            output=output, best=summary["best_epoch"], epochs=summary["epochs_run"],
            validation=self.tr(", validation RMSE {rmse:.3f}").format(rmse=rmse) if rmse is not None else ""))
        return {self.OUTPUT: output, self.VALIDATION_RMSE: rmse if rmse is not None else float("nan"),
                self.BEST_EPOCH: summary["best_epoch"]}
