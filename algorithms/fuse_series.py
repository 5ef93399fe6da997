"""lstfusion:fuseseries: fine LST for every date of a period, one GeoTIFF per date and a dated VRT."""
import os

from qgis.core import (QgsApplication, QgsProcessingException, QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)

from ..workflows.fuse_series import output_name, parse_date_selection, plan_series, run_series
from ..workflows.calibration import series_predictor
from ..workflows.uncertainty import UncertaintySettings
from ..common.raster_io import read_units
from ..common.pairs import read_pairs
from ..models.registry import get_method, method_names
from ..workflows.cluster import open_runner
from ..workflows.methods import FusionMethod
from . import uncertainty_common as uc
from .deep_common import device_name, device_parameter
from .base import LST_STYLE, LstFusionAlgorithm
from .cluster_param import CLUSTER, CLUSTER_HELP, cluster_parameter
from .compat import PARAMETER_ADVANCED
from .series_layers import load_series


def loads_results() -> bool:
    """True in QGIS desktop (never in qgis_process or a standalone script): results are added to the map."""
    return QgsApplication.instance() is not None and QgsApplication.instance().platform() == "desktop"


class FuseSeries(LstFusionAlgorithm):
    """Predicts every requested date of a pairs table with one method."""

    PAIRS = "PAIRS"
    METHOD = "METHOD"
    MODEL_FILE = "MODEL_FILE"
    DATES = "DATES"
    OVERWRITE = "OVERWRITE"
    DEVICE = "DEVICE"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    VRT = "VRT"
    INDEX = "INDEX"
    PREDICTED = "PREDICTED"
    REUSED = "REUSED"
    SKIPPED = "SKIPPED"
    LOAD_SERIES = "LOAD_SERIES"
    CALIBRATION_FILE = "CALIBRATION_FILE"

    METHODS = method_names(("classical", "model"))
    METHOD_LABELS = [get_method(name).label for name in METHODS]

    NAME = "fuseseries"
    DISPLAY_NAME = "Fuse a series (daily fine LST over a period)"
    GROUP = "Series"
    GROUP_ID = "series"
    HELP = ("Predicts fine LST for every date of a pairs table (date,fine,coarse; coarse images on the "
            "fine grid) that has a coarse image, or for the DATES given (a list 2020-06-01,2020-06-09 "
            "or a range 2020-06-01/2020-08-31), with STARFM, ESTARFM, ubESTARFM or a trained model.\n\n"
            "For each date it uses the nearest reference pair (one-pair methods) or the nearest pair "
            "before and after (two-pair methods; models that also work from one pair fall back to the "
            "nearest pair at the ends of the period). A date's own fine image is never used to predict "
            "it. Dates that cannot be predicted are skipped, and the log says why.\n\n"
            "Writes lst_YYYY-MM-DD.tif per date, series.csv (what was done for each date) and "
            "series.vrt, one band per date with the date as band description. Dates already written "
            "are kept unless OVERWRITE is set, so a cancelled run resumes where it stopped. On a cluster "
            "each date is one unit of work.\n\n"
            "In QGIS desktop the result is added to the project as a layer group with one day per layer "
            "(fixed time range) and one colour scale over the whole series: press play in the temporal "
            "controller to animate it (LOAD_SERIES, advanced).\n\n"
            "Cloudy coarse days: with FILL_DAYS > 0, coarse pixels missing on a target date are "
            "interpolated in time between the nearest clear days at most FILL_DAYS away, then filled "
            "spatially, and the date is predicted; <name>_quality.tif says per pixel 0 not predicted, "
            "1 observed coarse, 2 coarse filled in time, 3 coarse filled spatially.\n\n"
            "With UNCERTAINTY (STARFM, ESTARFM, ubESTARFM) each date also gets <name>_uncertainty.tif "
            "and <name>_quality.tif; the calibration is written to calibration.json in the output "
            "folder (reusable by starfm and estarfm). " + uc.HELP + CLUSTER_HELP)

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: PAIRS, METHOD, MODEL_FILE, DATES, OVERWRITE, DEVICE -> OUTPUT_FOLDER, VRT, INDEX."""
        self.addParameter(QgsProcessingParameterFile(self.PAIRS, self.tr("Pairs table (date,fine,coarse)"),
                                                     extension="csv"))
        self.addParameter(QgsProcessingParameterEnum(self.METHOD, self.tr("Method"),
                                                     options=self.METHOD_LABELS, defaultValue=1))
        self.addParameter(QgsProcessingParameterFile(self.MODEL_FILE, self.tr("Model file (for a deep model)"),
                                                     extension="pt", optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.DATES, self.tr("Dates (empty: every coarse date; a list or a range)"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.OVERWRITE, self.tr("Recompute dates already written"), defaultValue=False))
        self.addParameter(device_parameter(self.DEVICE, self.tr))
        uc.add_series_parameters(self)
        load = QgsProcessingParameterBoolean(
            self.LOAD_SERIES, self.tr("Open the series as a temporal layer group (QGIS desktop)"), defaultValue=True)
        load.setFlags(load.flags() | PARAMETER_ADVANCED)
        self.addParameter(load)
        self.add_advanced(cluster_parameter(self.tr))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.VRT, self.tr("Series VRT (one band per date)")))
        self.addOutput(QgsProcessingOutputFile(self.INDEX, self.tr("Series index (series.csv)")))
        self.addOutput(QgsProcessingOutputFile(self.CALIBRATION_FILE, self.tr("Calibration of the uncertainty")))
        for name, label in ((self.PREDICTED, "Dates predicted"), (self.REUSED, "Dates kept from an earlier run"),
                            (self.SKIPPED, "Dates skipped")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def __init__(self):
        super().__init__()
        self.to_load = None

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 (QGIS's name; runs on the main thread)
        """In QGIS desktop, add the series to the project as a temporal layer group."""
        if self.to_load is not None and context.project() is not None:
            folder, units = self.to_load
            self.to_load = None
            load_series(context.project(), folder, LST_STYLE.format(units=units),
                        self.tr("Fused LST series ({name})").format(name=os.path.basename(os.path.normpath(folder))))
            feedback.pushInfo(self.tr("Series added as a layer group: press play in the temporal controller."))
        return {}

    def process(self, parameters, context, feedback, progress):
        """Plan the dates, then predict them one by one."""
        pairs_path = self.parameterAsFile(parameters, self.PAIRS, context)
        pairs = read_pairs(pairs_path)
        method = FusionMethod(self.METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
                              self.parameterAsFile(parameters, self.MODEL_FILE, context) or None,
                              device=device_name(self.parameterAsEnum(parameters, self.DEVICE, context)))
        if method.name == "model" and not method.model_file:
            raise QgsProcessingException(self.tr("METHOD is a deep model: give its MODEL_FILE "
                                                 "(made by 'Train a deep fusion model')."))
        targets = parse_date_selection(self.parameterAsString(parameters, self.DATES, context), pairs)
        plans = plan_series(pairs, method.pairs_needed(), targets, method.falls_back_to_one_pair())
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        overwrite = self.parameterAsBoolean(parameters, self.OVERWRITE, context)
        predictor, calibration = series_predictor(
            method, pairs, folder, self.parameterAsBoolean(parameters, uc.UNCERTAINTY, context),
            UncertaintySettings(level=self.parameterAsDouble(parameters, uc.INTERVAL_LEVEL, context),
                                fill_days=self.parameterAsInt(parameters, uc.FILL_DAYS, context)),
            self.parameterAsFile(parameters, uc.CALIBRATION, context) or None, overwrite, progress.sub(0, 30))
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            result = run_series(plans, predictor, folder, overwrite, progress.sub(30 if calibration else 0, 100),
                                pairs_path, runner)
        feedback.pushInfo(self.tr(
            "{predicted} date(s) predicted, {reused} kept from an earlier run, {skipped} skipped.").format(
            predicted=len(result["predicted"]), reused=len(result["reused"]), skipped=len(result["skipped"])))
        if result["vrt"]:
            self.write_default_styles([result["vrt"]], read_units(result["vrt"]) or "kelvin")
            uc.write_sidecar_styles(os.path.join(folder, output_name(d))
                                    for d in result["predicted"] + result["reused"])
            if self.parameterAsBoolean(parameters, self.LOAD_SERIES, context) and loads_results():
                self.to_load = (folder, read_units(result["vrt"]) or "kelvin")
        return {self.OUTPUT_FOLDER: folder, self.VRT: result["vrt"], self.INDEX: result["index"],
                self.PREDICTED: len(result["predicted"]), self.REUSED: len(result["reused"]),
                self.SKIPPED: len(result["skipped"]), self.CALIBRATION_FILE: calibration}
