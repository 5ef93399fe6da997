"""lstfusion:simulate: a synthetic coarse/fine LST series with ground truth on every date."""

from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingOutputRasterLayer, QgsProcessingParameterBoolean,
                       QgsProcessingParameterDateTime, QgsProcessingParameterEnum,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QDate

from ..simulation.forcing import MAX_CLOUD_COVER, VARIABILITY
from ..simulation.simulate import UNITS, SimulationSettings, simulate_series
from .base import LstFusionAlgorithm

_DEFAULTS = SimulationSettings()
_VARIABILITY_LABELS = {"real": "Real-like (calibrated on real MODIS/Landsat pairs)"}


class Simulate(LstFusionAlgorithm):
    """Writes a series folder (pairs.csv, coarse/, fine/, truth/) of a synthetic scene."""

    DATES = "DATES"
    START_DATE = "START_DATE"
    ROWS = "ROWS"
    COLS = "COLS"
    VARIABILITY = "VARIABILITY"
    CLOUD_FRACTION = "CLOUD_FRACTION"
    SEED = "SEED"
    UNITS = "UNITS"
    REVISIT = "REVISIT"
    WRITE_TRUTH = "WRITE_TRUTH"
    FINE_NOISE = "FINE_NOISE"
    COARSE_NOISE = "COARSE_NOISE"
    COARSE_BIAS = "COARSE_BIAS"
    COARSE_BIAS_STD = "COARSE_BIAS_STD"
    PSF_SIGMA = "PSF_SIGMA"
    CENTRE_LAT = "CENTRE_LAT"
    CENTRE_LON = "CENTRE_LON"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    PAIRS = "PAIRS"
    NATIVE_PAIRS = "NATIVE_PAIRS"
    TRUTH_TABLE = "TRUTH_TABLE"
    LANDCOVER = "LANDCOVER"
    FINE_COUNT = "FINE_COUNT"

    NAME = "simulate"
    DISPLAY_NAME = "Simulate a synthetic LST series"
    GROUP = "Series"
    GROUP_ID = "series"
    HELP = ("Writes a realistic synthetic series of coarse (MODIS-like, 926.6 m sinusoidal grid, "
            "every day) and fine (Landsat-like, 30 m UTM, every 16 days) land surface temperature, "
            "with the true 30 m LST of every date, for testing and demonstrating fusion methods "
            "with ground truth.\n\n"
            "The scene has fields and parcels, forest, a town with roads and an urban heat "
            "island, a river and lakes. The daily truth follows a seasonal cycle and the weather, "
            "with class-dependent responses (water lags and damps, bare soil and urban surfaces "
            "swing widest, irrigated fields stay cool), plus events: parcels harvested (they "
            "warm) and a heat wave. Coarse images are the truth aggregated by a Gaussian "
            "point-spread function plus noise and a date-dependent bias; clouds leave gaps in "
            "both sensors.\n\n"
            "Variability sets how strongly the temperature changes in space and time, and how "
            "well the coarse sensor agrees with the fine one; the harder, the worse fusion does. "
            "Low: a calm clear spell over a uniform landscape, sensors in agreement. Medium "
            "(default): a temperate mixed landscape in ordinary weather, MODIS and Landsat "
            "within ~1 K (like the survey's Orléans series on its good dates). High: the same "
            "under strong weather swings, a big heat wave and many harvests (the survey's hard "
            "dates). Real-like: calibrated on real MODIS/Landsat pairs (Yanco, Australia): "
            "parcels that change on their own, and a MODIS-Landsat disagreement of several K "
            "that changes with the date (view angle, overpass time, atmosphere) and the land "
            "cover (emissivity), so that the coarse change announces the fine change only "
            "weakly; choose it to train or test methods for real scenes. Low, medium and high "
            "give the same files as in earlier versions. The same seed and settings give the "
            "same files.\n\n"
            "Output folder: pairs.csv (date,fine,coarse with the coarse images resampled "
            "bilinearly onto the fine grid, as aligntofine does: the pairs table that fusion, "
            "training and series tools read), pairs_native.csv (the same with the coarse images "
            "on their own MODIS grid, to align them yourself), truth.csv (date,truth and the "
            "daily air temperature, heat wave, coarse bias, cloud cover and valid shares), "
            "coarse/, coarse_on_fine/, fine/, truth/ (one GeoTIFF per date), landcover.tif and "
            "simulation.json (every setting, grid, class and event). Each LST GeoTIFF has a .qml "
            "beside it, so QGIS opens it with the temperature colour ramp; landcover.tif carries "
            "its own colours and class names. The folder must be new, empty or hold an earlier "
            "simulation, which is replaced.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: DATES, START_DATE, ROWS, COLS, VARIABILITY, CLOUD_FRACTION, SEED, UNITS (+ advanced)
        -> OUTPUT_FOLDER, PAIRS."""
        integer, double = QgsProcessingParameterNumber.Type.Integer, QgsProcessingParameterNumber.Type.Double
        self.addParameter(QgsProcessingParameterNumber(
            self.DATES, self.tr("Number of daily dates"), integer, defaultValue=_DEFAULTS.days,
            minValue=1, maxValue=1096))
        self.addParameter(QgsProcessingParameterDateTime(
            self.START_DATE, self.tr("First date"), QgsProcessingParameterDateTime.Type.Date,
            defaultValue=QDate.fromString(_DEFAULTS.start, "yyyy-MM-dd")))
        self.addParameter(QgsProcessingParameterNumber(
            self.ROWS, self.tr("Rows (30 m pixels)"), integer, defaultValue=_DEFAULTS.rows,
            minValue=64, maxValue=4000))
        self.addParameter(QgsProcessingParameterNumber(
            self.COLS, self.tr("Columns (30 m pixels)"), integer, defaultValue=_DEFAULTS.cols,
            minValue=64, maxValue=4000))
        self.addParameter(QgsProcessingParameterEnum(
            self.VARIABILITY, self.tr("Spatio-temporal variability"),
            options=[_VARIABILITY_LABELS.get(name, name.capitalize()) for name in VARIABILITY],
            defaultValue=list(VARIABILITY).index(_DEFAULTS.variability)))
        self.addParameter(QgsProcessingParameterNumber(
            self.CLOUD_FRACTION, self.tr("Mean cloud cover per date (0-0.7)"), double,
            defaultValue=_DEFAULTS.cloud_fraction, minValue=0.0, maxValue=MAX_CLOUD_COVER))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), integer, defaultValue=_DEFAULTS.seed, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNITS, self.tr("Units"), options=["Kelvin", "Celsius"],
            defaultValue=UNITS.index(_DEFAULTS.units)))
        advanced = [
            QgsProcessingParameterNumber(self.REVISIT, self.tr("Days between fine images"), integer,
                                         defaultValue=_DEFAULTS.revisit, minValue=1),
            QgsProcessingParameterBoolean(self.WRITE_TRUTH, self.tr("Write the true LST of every date"),
                                          defaultValue=_DEFAULTS.write_truth),
            QgsProcessingParameterNumber(self.FINE_NOISE, self.tr("Fine sensor noise std (K)"), double,
                                         defaultValue=_DEFAULTS.fine_noise, minValue=0.0),
            QgsProcessingParameterNumber(self.COARSE_NOISE, self.tr("Coarse sensor noise std (K)"),
                                         double, defaultValue=_DEFAULTS.coarse_noise, minValue=0.0),
            QgsProcessingParameterNumber(self.COARSE_BIAS, self.tr("Coarse sensor mean bias (K)"),
                                         double, defaultValue=_DEFAULTS.coarse_bias),
            QgsProcessingParameterNumber(self.COARSE_BIAS_STD,
                                         self.tr("Day-to-day std of the coarse bias (K)"), double,
                                         defaultValue=_DEFAULTS.coarse_bias_std, minValue=0.0),
            QgsProcessingParameterNumber(self.PSF_SIGMA, self.tr("Coarse point-spread function sigma (m)"),
                                         double, defaultValue=_DEFAULTS.psf_sigma, minValue=50.0,
                                         maxValue=3000.0),
            QgsProcessingParameterNumber(self.CENTRE_LAT, self.tr("Latitude of the scene centre (°)"),
                                         double, defaultValue=_DEFAULTS.centre_lat, minValue=-80.0,
                                         maxValue=84.0),
            QgsProcessingParameterNumber(self.CENTRE_LON, self.tr("Longitude of the scene centre (°)"),
                                         double, defaultValue=_DEFAULTS.centre_lon, minValue=-180.0,
                                         maxValue=180.0),
        ]
        self.add_advanced(*advanced)
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, self.tr("Output series folder")))
        self.addOutput(QgsProcessingOutputFile(self.PAIRS, self.tr("Pairs table, coarse on the fine grid (pairs.csv)")))
        self.addOutput(QgsProcessingOutputFile(self.NATIVE_PAIRS,
                                               self.tr("Pairs table, native coarse grid (pairs_native.csv)")))
        self.addOutput(QgsProcessingOutputFile(self.TRUTH_TABLE, self.tr("Truth table (truth.csv)")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.LANDCOVER, self.tr("Land cover")))
        self.addOutput(QgsProcessingOutputNumber(self.FINE_COUNT, self.tr("Number of fine images")))

    def process(self, parameters, context, feedback, progress):
        """Read the settings and run the simulator."""
        start = self.parameterAsDateTime(parameters, self.START_DATE, context).date()
        settings = SimulationSettings(
            rows=self.parameterAsInt(parameters, self.ROWS, context),
            cols=self.parameterAsInt(parameters, self.COLS, context),
            days=self.parameterAsInt(parameters, self.DATES, context),
            start=start.toString("yyyy-MM-dd"),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            variability=list(VARIABILITY)[self.parameterAsEnum(parameters, self.VARIABILITY, context)],
            cloud_fraction=self.parameterAsDouble(parameters, self.CLOUD_FRACTION, context),
            units=UNITS[self.parameterAsEnum(parameters, self.UNITS, context)],
            revisit=self.parameterAsInt(parameters, self.REVISIT, context),
            write_truth=self.parameterAsBoolean(parameters, self.WRITE_TRUTH, context),
            fine_noise=self.parameterAsDouble(parameters, self.FINE_NOISE, context),
            coarse_noise=self.parameterAsDouble(parameters, self.COARSE_NOISE, context),
            coarse_bias=self.parameterAsDouble(parameters, self.COARSE_BIAS, context),
            coarse_bias_std=self.parameterAsDouble(parameters, self.COARSE_BIAS_STD, context),
            psf_sigma=self.parameterAsDouble(parameters, self.PSF_SIGMA, context),
            centre_lat=self.parameterAsDouble(parameters, self.CENTRE_LAT, context),
            centre_lon=self.parameterAsDouble(parameters, self.CENTRE_LON, context))
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        result = simulate_series(folder, settings, progress)
        self.write_default_styles([path for series in (result.coarse, result.coarse_on_fine, result.fine,
                                                       result.truth) for path in series.values()],
                                  settings.units)
        feedback.pushInfo(self.tr(
            "Wrote {coarse} coarse and {fine} fine images to {folder}; pairs table {pairs}.").format(
            coarse=len(result.dates), fine=len(result.fine), folder=result.folder, pairs=result.pairs))
        return {self.OUTPUT_FOLDER: result.folder, self.PAIRS: result.pairs,
                self.NATIVE_PAIRS: result.pairs_native,
                self.TRUTH_TABLE: result.truth_table, self.LANDCOVER: result.landcover,
                self.FINE_COUNT: len(result.fine)}
