"""lstfusion:experiment: the survey's protocol (train, predict held-out dates, compare) in one run."""
import datetime as dt
import json

from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputString, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..common.errors import InputError
from ..evaluation.metrics import LANDSAT_MODIS_RATIO
from ..common.pairs import read_pairs
from ..workflows.cluster import open_runner
from ..workflows.experiment import ExperimentConfig, run_experiment, select_test_dates
from ..models.registry import method_names
from ..workflows.calibration import calibrate_experiment
from . import uncertainty_common as uc
from .base import LstFusionAlgorithm
from .cluster_param import CLUSTER, CLUSTER_HELP, cluster_parameter
from .deep_common import device_name, device_parameter, json_object


class Experiment(LstFusionAlgorithm):
    """Trains the chosen deep models without the test dates, runs every method on them, compares."""

    PAIRS = "PAIRS"
    METHODS = "METHODS"
    TEST_DATES = "TEST_DATES"
    EVERY_K = "EVERY_K"
    LAST_N = "LAST_N"
    EPOCHS = "EPOCHS"
    BATCH_SIZE = "BATCH_SIZE"
    PATCH_SIZE = "PATCH_SIZE"
    STRIDE = "STRIDE"
    SIMULATE_COARSE = "SIMULATE_COARSE"
    COARSE_FACTOR = "COARSE_FACTOR"
    SEED = "SEED"
    HYPERPARAMETERS = "HYPERPARAMETERS"
    RATIO = "RATIO"
    DEVICE = "DEVICE"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    REPORT = "REPORT"
    TABLE = "TABLE"
    PER_DATE = "PER_DATE"
    BEST_METHOD = "BEST_METHOD"
    SUMMARY = "SUMMARY"

    NAME = "experiment"
    DISPLAY_NAME = "Compare methods on held-out dates (the survey's experiment)"
    GROUP = "Evaluation"
    GROUP_ID = "evaluation"
    HELP = ("Runs the survey's protocol on a pairs table (date,fine,coarse; coarse on the fine grid): "
            "chooses test dates among the dates with a fine image (TEST_DATES, else every EVERY_K-th, "
            "else the LAST_N), trains each chosen deep model on the other dates (the test dates' fine "
            "images are removed from its training table), predicts every test date with every chosen "
            "method from the nearest reference pairs, and evaluates each prediction against the real "
            "fine image.\n\nWrites the trained models (models/), the predictions (predictions/), "
            "comparison.csv (mean and standard deviation per method), comparison_per_date.csv and "
            "comparison_report.html. SUMMARY holds the per-method table as JSON (handy with "
            "qgis_process --json). On a cluster the models train in parallel, then each method and "
            "test date is one unit of work.\n\n"
            "UNCERTAINTY: each method is then also calibrated on the test dates (split conformal): "
            "calibration_<method>.json for the classical methods (the CALIBRATION of starfm, estarfm "
            "and fuseseries), inside models/<name>.pt for the deep models (used by fuse and fuseseries). "
            + uc.HELP + CLUSTER_HELP)

    def method_choices(self):
        """Options of METHODS: the classical methods, then the registered deep models."""
        return method_names(("classical", "deep"))

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: PAIRS, METHODS, test-date choice, training settings -> OUTPUT_FOLDER and the report."""
        self.addParameter(QgsProcessingParameterFile(self.PAIRS, self.tr("Pairs table (date,fine,coarse)"),
                                                     extension="csv"))
        names = self.method_choices()
        self.addParameter(QgsProcessingParameterEnum(
            self.METHODS, self.tr("Methods"), options=names, allowMultiple=True,
            defaultValue=list(range(len(names)))))
        self.addParameter(QgsProcessingParameterString(
            self.TEST_DATES, self.tr("Test dates (YYYY-MM-DD,YYYY-MM-DD; empty: see below)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.EVERY_K, self.tr("Else every k-th date with a fine image (0: off)"),
            QgsProcessingParameterNumber.Type.Integer, defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.LAST_N, self.tr("Else the last N dates with a fine image"),
            QgsProcessingParameterNumber.Type.Integer, defaultValue=1, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.EPOCHS, self.tr("Training epochs (deep models)"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=30, minValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SIMULATE_COARSE, self.tr("Train on coarse images simulated from the fine ones "
                                          "(for series with few fine dates)"), defaultValue=False))
        self.addParameter(device_parameter(self.DEVICE, self.tr))
        self.add_advanced(cluster_parameter(self.tr))
        for name, label, default, minimum in ((self.BATCH_SIZE, "Batch size", 16, 1),
                                              (self.PATCH_SIZE, "Patch size (pixels)", 95, 16),
                                              (self.STRIDE, "Patch stride (pixels)", 20, 1),
                                              (self.COARSE_FACTOR, "Coarse pixel size in fine pixels "
                                               "(with simulated coarse)", 33, 2),
                                              (self.SEED, "Random seed", 0, 0)):
            self.add_advanced(QgsProcessingParameterNumber(
                name, self.tr(label), QgsProcessingParameterNumber.Type.Integer, defaultValue=default,
                minValue=minimum))
        self.add_advanced(QgsProcessingParameterString(
            self.HYPERPARAMETERS, self.tr('Hyperparameters per model as JSON, e.g. '
                                          '{"edcstfn": {"pretrain_batches": 100}}'),
            defaultValue="", optional=True))
        self.add_advanced(QgsProcessingParameterNumber(
            self.RATIO, self.tr("ERGAS ratio: fine / coarse pixel size"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=LANDSAT_MODIS_RATIO, minValue=1e-6, maxValue=1.0))
        self.add_advanced(QgsProcessingParameterBoolean(
            uc.UNCERTAINTY, self.tr("Calibrate each method's uncertainty on the test dates"), False))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, self.tr("HTML report")))
        self.addOutput(QgsProcessingOutputFile(self.TABLE, self.tr("Per-method table")))
        self.addOutput(QgsProcessingOutputFile(self.PER_DATE, self.tr("Per-date table")))
        self.addOutput(QgsProcessingOutputString(self.BEST_METHOD, self.tr("Method with the lowest mean RMSE")))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, self.tr("Per-method table as JSON")))

    def process(self, parameters, context, feedback, progress):
        """Choose the test dates, then run the experiment engine."""
        from ..models.deep.train import TrainConfig

        pairs_path = self.parameterAsFile(parameters, self.PAIRS, context)
        names = self.method_choices()
        methods = [names[i] for i in self.parameterAsEnums(parameters, self.METHODS, context)]
        test_dates = select_test_dates(read_pairs(pairs_path), self._dates(parameters, context),
                                       self.parameterAsInt(parameters, self.LAST_N, context),
                                       self.parameterAsInt(parameters, self.EVERY_K, context))
        feedback.pushInfo(self.tr("Test dates: {dates}").format(dates=", ".join(d.isoformat() for d in test_dates)))
        train = TrainConfig(epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
                            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
                            patch=self.parameterAsInt(parameters, self.PATCH_SIZE, context),
                            stride=self.parameterAsInt(parameters, self.STRIDE, context),
                            seed=self.parameterAsInt(parameters, self.SEED, context),
                            simulate_coarse=self.parameterAsBoolean(parameters, self.SIMULATE_COARSE, context),
                            coarse_factor=self.parameterAsInt(parameters, self.COARSE_FACTOR, context))
        config = ExperimentConfig(
            methods, test_dates, train,
            json_object(self.parameterAsString(parameters, self.HYPERPARAMETERS, context), self.HYPERPARAMETERS,
                        '{"edcstfn": {"pretrain_batches": 100}}'),
            device_name(self.parameterAsEnum(parameters, self.DEVICE, context)),
            self.parameterAsDouble(parameters, self.RATIO, context))
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        calibrate = self.parameterAsBoolean(parameters, uc.UNCERTAINTY, context)
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            result = run_experiment(pairs_path, folder, config, progress.sub(0, 80) if calibrate else progress,
                                    runner)
        if calibrate:
            for name, path in calibrate_experiment(pairs_path, folder, methods, test_dates, config.device,
                                                   progress.sub(80, 100)).items():
                feedback.pushInfo(self.tr("Uncertainty of {name} calibrated on the test dates: {path}").format(
                    name=name, path=path))
        feedback.pushInfo(self.tr("Lowest mean RMSE: {best}. Report: {report}").format(
            best=result.best, report=result.report))
        summary = [{key: row[key] for key in ("method", "dates", "RMSE_mean", "SSIM_mean", "PSNR_mean",
                                              "SAM_mean", "CC_mean", "ERGAS_mean")} for row in result.summary]
        return {self.OUTPUT_FOLDER: folder, self.REPORT: result.report, self.TABLE: result.table,
                self.PER_DATE: result.per_date, self.BEST_METHOD: result.best,
                self.SUMMARY: json.dumps(summary, allow_nan=True)}

    def _dates(self, parameters, context):
        """TEST_DATES as dates (empty list when not given)."""
        text = self.parameterAsString(parameters, self.TEST_DATES, context).strip()
        try:
            return [dt.date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError as err:
            raise InputError(f"TEST_DATES: '{text}' is not a list of dates YYYY-MM-DD,YYYY-MM-DD.") from err
