"""lstfusion:starfm: STARFM fusion from one fine/coarse pair and the coarse target."""
from ..models.classical.starfm import StarfmParams, run_starfm
from .classical_base import ALIGN_HINT, RANGE_HINT, UNCERTAINTY_HELP, ClassicalFusionAlgorithm
from .cluster_param import CLUSTER_HELP


class Starfm(ClassicalFusionAlgorithm):
    """STARFM (Gao et al. 2006), one reference pair."""

    DISTANCE_SCALE = "DISTANCE_SCALE"
    FINE_UNCERTAINTY = "FINE_UNCERTAINTY"
    COARSE_UNCERTAINTY = "COARSE_UNCERTAINTY"

    NAME = "starfm"
    DISPLAY_NAME = "STARFM (one pair)"
    HELP = ("Predicts fine LST (e.g. Landsat) on a target date from one fine/coarse pair of a "
            "reference date and the coarse LST (e.g. MODIS) of the target date, with STARFM "
            "(Gao et al. 2006): each fine pixel is the weighted mean, over spectrally similar "
            "pixels of its window that pass the sample filter, of fine_ref + coarse_target - "
            "coarse_ref; weights favour pixels whose fine and coarse values agree, whose coarse "
            "value changed little and that are close. A prediction that leaves the valid range is "
            "replaced by the similar pixels' weighted mean of the fine reference (ESTARFM's "
            "revision, for one pair).\n\n{align_hint}\n\n{range_hint}\n\n"
            "Units (Kelvin or Celsius) are read from the rasters' metadata (else guessed from "
            "the values) and kept; thresholds are in K (= °C differences). Input pixels that are "
            "no-data are never used; the output is no-data where one "
            "of the three inputs is. The centre pixel is always one of its own similar pixels, so "
            "every other pixel gets a prediction. Runs tile by tile; the result does not depend "
            "on the tile size. On a cluster, strips of tiles are computed by the workers."
            + UNCERTAINTY_HELP + CLUSTER_HELP)

    HELP_ARGS = {"align_hint": ALIGN_HINT, "range_hint": RANGE_HINT}

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: FINE_REF, COARSE_REF, COARSE_TARGET, tuning -> OUTPUT, VALID_FRACTION."""
        self.add_raster(self.FINE_REF, "Fine LST, reference date")
        self.add_raster(self.COARSE_REF, "Coarse LST, reference date (on the fine grid)")
        self.add_raster(self.COARSE_TARGET, "Coarse LST, target date (on the fine grid)")
        self.add_common_tuning(half_window=StarfmParams.half_window)
        self.add_number(self.DISTANCE_SCALE, "Distance scale A in D = 1 + d / A (pixels; 0 = half window)",
                        0.0, minimum=0.0)
        self.add_number(self.FINE_UNCERTAINTY, "Uncertainty of the fine LST (K)", 1.0, minimum=0.0)
        self.add_number(self.COARSE_UNCERTAINTY, "Uncertainty of the coarse LST (K)", 1.0, minimum=0.0)
        self.add_output()
        self.add_uncertainty_output()

    def process(self, parameters, context, feedback, progress):
        """Read the parameters and run the STARFM engine."""
        params = StarfmParams(
            distance_scale=self.parameterAsDouble(parameters, self.DISTANCE_SCALE, context),
            fine_uncertainty=self.parameterAsDouble(parameters, self.FINE_UNCERTAINTY, context),
            coarse_uncertainty=self.parameterAsDouble(parameters, self.COARSE_UNCERTAINTY, context),
            **self.common_values(parameters, context))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        paths = {name: self.raster_source(parameters, name, context)
                 for name in (self.FINE_REF, self.COARSE_REF, self.COARSE_TARGET)}
        result = self.run_engine(parameters, context, progress, run_starfm, {
            "fine_ref": paths[self.FINE_REF], "coarse_ref": paths[self.COARSE_REF],
            "coarse_target": paths[self.COARSE_TARGET], "params": params}, output)
        feedback.pushInfo(self.tr("{percent:.1f} % of the pixels predicted; {revised} revised for leaving the "
                                  "valid range.").format(percent=100 * result["valid_fraction"],
                                                         revised=result["revised"]))
        return self.write_uncertainty(parameters, context, paths, params,
                                      self.finish(parameters, context, output, result, "STARFM"), progress)
