"""lstfusion:compare: the comparison table of several fusion methods over several dates."""
from qgis.core import (QgsProcessingOutputString, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)

from ..evaluation.comparison import compare_entries, read_comparison_table
from ..evaluation.metrics import checked_ratio
from .base import LstFusionAlgorithm
from .evaluate import optional_number


class Compare(LstFusionAlgorithm):
    """Metrics of many predictions (methods x dates), summarised per method, hard dates flagged."""

    INPUT = "INPUT"
    RATIO = "RATIO"
    DATA_RANGE = "DATA_RANGE"
    HARD_RMSE = "HARD_RMSE"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_PER_DATE = "OUTPUT_PER_DATE"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    BEST_METHOD = "BEST_METHOD"
    HARD_DATES = "HARD_DATES"

    NAME = "compare"
    DISPLAY_NAME = "Compare fusion methods"
    GROUP = "Evaluation"
    GROUP_ID = "evaluation"
    HELP = ("Evaluates many predictions against their references, listed in a CSV with the header "
            "method,date,prediction,reference (paths relative to the CSV or absolute; an optional "
            "'coarse' column gives a coarse raster to derive each row's ERGAS ratio), and writes "
            "the comparison the survey reports: per method the mean and standard deviation over "
            "dates of RMSE, SSIM, PSNR, SAM, CC, ERGAS, MAE, BIAS, ubRMSE and R² (OUTPUT_TABLE), "
            "every method on every date (OUTPUT_PER_DATE), and an HTML report with a chart of RMSE "
            "by date and method.\n\n"
            "Dates where every method does badly are highlighted: the dates whose best RMSE exceeds "
            "HARD_RMSE when it is given, else (with 3 dates or more) the dates whose best RMSE "
            "exceeds the mean + 1 standard deviation of the per-date best RMSEs.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: INPUT, RATIO, DATA_RANGE, HARD_RMSE -> tables, report, BEST_METHOD, HARD_DATES."""
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, self.tr("Table method,date,prediction,reference (CSV)"), extension="csv"))
        self.addParameter(QgsProcessingParameterNumber(
            self.RATIO, self.tr("ERGAS ratio h / l (empty: from each row's 'coarse' raster)"),
            QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.0))
        advanced = [
            QgsProcessingParameterNumber(
                self.DATA_RANGE, self.tr("Data range L for PSNR and SSIM (empty: each reference's max - min)"),
                QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.0),
            QgsProcessingParameterNumber(
                self.HARD_RMSE, self.tr("RMSE above which a date is hard for every method "
                                        "(empty: mean + 1 std of the per-date best RMSEs)"),
                QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.0),
        ]
        self.add_advanced(*advanced)
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_TABLE, self.tr("Per-method table (mean and std over dates)"),
            "CSV files (*.csv);;JSON files (*.json)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_PER_DATE, self.tr("Per-date table"), "CSV files (*.csv);;JSON files (*.json)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, self.tr("HTML report"), "HTML files (*.html)"))
        self.addOutput(QgsProcessingOutputString(self.BEST_METHOD, self.tr("Method with the lowest mean RMSE")))
        self.addOutput(QgsProcessingOutputString(self.HARD_DATES, self.tr("Dates where every method does badly")))

    def process(self, parameters, context, feedback, progress):
        """Evaluate every row, then write the tables and the report."""
        entries = read_comparison_table(self.parameterAsFile(parameters, self.INPUT, context))
        ratio = optional_number(parameters, self.RATIO)
        if ratio is not None:
            checked_ratio(ratio)
        result = compare_entries(
            entries, self.parameterAsFileOutput(parameters, self.OUTPUT_TABLE, context),
            self.parameterAsFileOutput(parameters, self.OUTPUT_PER_DATE, context),
            self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context),
            optional_number(parameters, self.DATA_RANGE), ratio,
            optional_number(parameters, self.HARD_RMSE), progress)
        outputs = {self.OUTPUT_TABLE: result.table, self.OUTPUT_PER_DATE: result.per_date,
                   self.OUTPUT_REPORT: result.report, self.BEST_METHOD: result.best,
                   self.HARD_DATES: ",".join(result.hard)}
        feedback.pushInfo(self.tr("Lowest mean RMSE: {best}; dates where every method does badly: {hard}.").format(
            best=outputs[self.BEST_METHOD], hard=outputs[self.HARD_DATES] or self.tr("none")))
        return outputs
