"""lstfusion:estarfm: ESTARFM fusion from two pairs bracketing the target, optionally bias-corrected."""
from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterBoolean

from ..common.dates import parse_user_date
from ..common.errors import InputError
from ..models.classical.estarfm import EstarfmParams, check_second_pair, run_estarfm
from ..models.registry import get_method
from .classical_base import ALIGN_HINT, RANGE_HINT, UNCERTAINTY_HELP, ClassicalFusionAlgorithm
from .cluster_param import CLUSTER_HELP


class Estarfm(ClassicalFusionAlgorithm):
    """ESTARFM (Zhu et al. 2010), two reference pairs, with ubESTARFM's local bias correction as an option."""

    FINE_REF2 = "FINE_REF2"
    COARSE_REF2 = "COARSE_REF2"
    BIAS_CORRECTION = "BIAS_CORRECTION"
    REF_DATE = "REF_DATE"
    REF2_DATE = "REF2_DATE"
    TARGET_DATE = "TARGET_DATE"
    MIN_COARSE_CHANGE = "MIN_COARSE_CHANGE"
    SIGNIFICANCE = "SIGNIFICANCE"
    MAX_CONVERSION = "MAX_CONVERSION"
    FALLBACK_FRACTION = "FALLBACK_FRACTION"

    NAME = "estarfm"
    DISPLAY_NAME = "ESTARFM (two pairs)"
    HELP = ("Predicts fine LST on a target date from two fine/coarse pairs, one before and one "
            "after the target, and the coarse LST of the target date, with ESTARFM (Zhu et al. "
            "2010), as in its original code: similar pixels in both fine images, weights from the "
            "fine/coarse agreement and the distance, a conversion coefficient from the regression "
            "of fine on coarse values (used when significant at the chosen level, between 0 and 5, "
            "and when the coarse change is large enough), and temporal weights from the coarse "
            "change to each reference date. A pixel with 5 similar pixels or fewer uses the mean "
            "coarse change of its window instead (the original's fallback).\n\n"
            "Local bias correction (ubESTARFM, Yu et al. 2023): in each window the fine values are "
            "shifted so that their mean equals the coarse mean before fusing, which removes a "
            "MODIS-Landsat bias that changes from date to date; the conversion coefficient is then "
            "1. The number of classes, when left empty, is 4 for ESTARFM (its paper) and 2 with the "
            "bias correction: ubESTARFM's published code uses a similarity threshold of one "
            "standard deviation, i.e. 2 classes.\n\n{align_hint}\n\n{range_hint}\n\n"
            "Dates are read from the file names (YYYYMMDD, YYYY-MM-DD or MODIS AYYYYDDD) unless "
            "given; when all three are known the target must lie between the reference dates. "
            "Units are kept; temperature settings are in K. No-data pixels are never used; the "
            "output is no-data where any input is no-data. Runs tile by tile; the "
            "result does not depend on the tile size. On a cluster, strips of tiles are computed by the "
            "workers." + UNCERTAINTY_HELP + CLUSTER_HELP)

    HELP_ARGS = {"align_hint": ALIGN_HINT, "range_hint": RANGE_HINT}

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: two pairs, COARSE_TARGET, BIAS_CORRECTION, dates, tuning -> OUTPUT and fractions."""
        self.add_raster(self.FINE_REF, "Fine LST, first reference date")
        self.add_raster(self.COARSE_REF, "Coarse LST, first reference date (on the fine grid)")
        self.add_raster(self.FINE_REF2, "Fine LST, second reference date")
        self.add_raster(self.COARSE_REF2, "Coarse LST, second reference date (on the fine grid)")
        self.add_raster(self.COARSE_TARGET, "Coarse LST, target date (on the fine grid)")
        self.addParameter(QgsProcessingParameterBoolean(
            self.BIAS_CORRECTION, self.tr("Local bias correction (ubESTARFM)"), defaultValue=False))
        self.add_date(self.REF_DATE, "Date of the first pair (YYYY-MM-DD; empty: from the file name)")
        self.add_date(self.REF2_DATE, "Date of the second pair (YYYY-MM-DD; empty: from the file name)")
        self.add_date(self.TARGET_DATE, "Target date (YYYY-MM-DD; empty: from the file name)")
        self.add_common_tuning(half_window=EstarfmParams.half_window, num_classes=None, classes_hint=(
            "similarity threshold = 2 sigma / classes; empty: 4, or 2 with the bias correction as ubESTARFM's authors"))
        self.add_number(self.MIN_COARSE_CHANGE,
                        "Smallest coarse change for a conversion coefficient (K)", 7.0, minimum=0.0)
        self.add_number(self.SIGNIFICANCE, "Significance level of the regression (F test)", 0.05,
                        minimum=1e-6, maximum=0.999)
        self.add_number(self.MAX_CONVERSION, "Largest conversion coefficient", 5.0, minimum=0.01)
        self.add_output()
        self.add_uncertainty_output()
        self.addOutput(QgsProcessingOutputNumber(
            self.FALLBACK_FRACTION, self.tr("Fraction of predicted pixels with too few similar pixels")))

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS's name)
        """A missing second pair is named, with the way out (STARFM), before QGIS's generic check."""
        try:
            check_second_pair(*(str(parameters.get(name) or "").strip() for name in (self.FINE_REF2,
                                                                                      self.COARSE_REF2)))
        except InputError as err:
            return False, str(err)
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback, progress):
        """Read the parameters and run the ESTARFM engine."""
        bias_correction = self.parameterAsBoolean(parameters, self.BIAS_CORRECTION, context)
        method = get_method("ubestarfm" if bias_correction else "estarfm")
        params = EstarfmParams(
            bias_correction=bias_correction,
            min_coarse_change=self.parameterAsDouble(parameters, self.MIN_COARSE_CHANGE, context),
            significance=self.parameterAsDouble(parameters, self.SIGNIFICANCE, context),
            max_conversion=self.parameterAsDouble(parameters, self.MAX_CONVERSION, context),
            **self.common_values(parameters, context,
                                 method.defaults.get("num_classes", EstarfmParams.num_classes)))
        dates = [parse_user_date(self.parameterAsString(parameters, name, context), name)
                 for name in (self.REF_DATE, self.REF2_DATE, self.TARGET_DATE)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = self.run_engine(parameters, context, progress, run_estarfm, {
            "fine_ref": self.raster_source(parameters, self.FINE_REF, context),
            "coarse_ref": self.raster_source(parameters, self.COARSE_REF, context),
            "fine_ref2": self.raster_source(parameters, self.FINE_REF2, context),
            "coarse_ref2": self.raster_source(parameters, self.COARSE_REF2, context),
            "coarse_target": self.raster_source(parameters, self.COARSE_TARGET, context),
            "params": params, "dates": dates}, output)
        fallback = result["fallback"] / max(result["predicted"], 1)
        feedback.pushInfo(self.tr(
            "{percent:.1f} % of the pixels predicted; {fallback:.2f} % with too few similar pixels (window "
            "mean change), {revised} revised for leaving the valid range, {converted} with a conversion "
            "coefficient other than 1.").format(percent=100 * result["valid_fraction"], fallback=100 * fallback,
                                                revised=result["revised"], converted=result["converted"]))
        outputs = self.finish(parameters, context, output, result,
                              "ubESTARFM" if params.bias_correction else "ESTARFM", dates[2])
        outputs[self.FALLBACK_FRACTION] = fallback
        paths = {name: self.optional_raster(parameters, name, context) for name in
                 (self.FINE_REF, self.COARSE_REF, self.FINE_REF2, self.COARSE_REF2, self.COARSE_TARGET)}
        return self.write_uncertainty(parameters, context, paths, params, outputs, progress)
