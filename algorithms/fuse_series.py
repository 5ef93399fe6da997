"""lstfusion:fuseseries: fine LST for every date of a period, one GeoTIFF per date and a dated VRT."""
from qgis.core import (QgsProcessingException, QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)

from ..workflows.fuse_series import parse_date_selection, plan_series, run_series
from ..common.raster_io import read_units
from ..common.pairs import read_pairs
from ..workflows.methods import CLASSICAL, FusionMethod
from ..workflows.cluster import open_runner
from .deep_common import device_name, device_parameter
from .base import LstFusionAlgorithm
from .cluster_param import CLUSTER, CLUSTER_HELP, cluster_parameter


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

    METHODS = list(CLASSICAL) + ["model"]
    METHOD_LABELS = ["STARFM (one pair)", "ESTARFM (two pairs)",
                     "ESTARFM with local bias correction (ubESTARFM)", "Deep model (MODEL_FILE)"]

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
            "each date is one unit of work." + CLUSTER_HELP)

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
        self.addParameter(cluster_parameter(self.tr))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.VRT, self.tr("Series VRT (one band per date)")))
        self.addOutput(QgsProcessingOutputFile(self.INDEX, self.tr("Series index (series.csv)")))
        for name, label in ((self.PREDICTED, "Dates predicted"), (self.REUSED, "Dates kept from an earlier run"),
                            (self.SKIPPED, "Dates skipped")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def process(self, parameters, context, feedback, progress):
        """Plan the dates, then predict them one by one."""
        pairs = read_pairs(self.parameterAsFile(parameters, self.PAIRS, context))
        method = FusionMethod(self.METHODS[self.parameterAsEnum(parameters, self.METHOD, context)],
                              self.parameterAsFile(parameters, self.MODEL_FILE, context) or None,
                              device=device_name(self.parameterAsEnum(parameters, self.DEVICE, context)))
        if method.name == "model" and not method.model_file:
            raise QgsProcessingException(self.tr("METHOD is a deep model: give its MODEL_FILE "
                                                 "(made by 'Train a deep fusion model')."))
        targets = parse_date_selection(self.parameterAsString(parameters, self.DATES, context), pairs)
        plans = plan_series(pairs, method.pairs_needed(), targets, method.falls_back_to_one_pair())
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        with open_runner(self.parameterAsString(parameters, CLUSTER, context), progress) as runner:
            result = run_series(plans, method.predict, folder,
                                self.parameterAsBoolean(parameters, self.OVERWRITE, context), progress, runner)
        feedback.pushInfo(self.tr(f"{len(result['predicted'])} date(s) predicted, {len(result['reused'])} "
                                  f"kept from an earlier run, {len(result['skipped'])} skipped."))
        if result["vrt"]:
            self.write_default_styles([result["vrt"]], read_units(result["vrt"]) or "kelvin")
        return {self.OUTPUT_FOLDER: folder, self.VRT: result["vrt"], self.INDEX: result["index"],
                self.PREDICTED: len(result["predicted"]), self.REUSED: len(result["reused"]),
                self.SKIPPED: len(result["skipped"])}
