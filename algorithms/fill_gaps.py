"""lstfusion:fillgaps: fill the no-data gaps of an LST raster, spatially or from neighbour dates."""
import datetime as dt
import os

from qgis.core import (QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)

from ..preprocessing.gapfill import METHODS, fill_gaps
from ..common.raster_io import read_units
from ..common.products import date_from_filename
from ..common.pairs import read_pairs
from .base import LstFusionAlgorithm
from .layer_names import name_loaded_layer
from .compat import SOURCE_RASTER

METHOD_LABELS = ["Progressive focal mean (windows 3, 5, 7, ...; the survey's method)",
                 "Inverse distance weighting (GDAL Fill nodata)",
                 "Temporal linear interpolation from neighbour dates"]
COLUMN_LABELS = ["Automatic (the column holding the input)", "fine", "coarse"]


class FillGaps(LstFusionAlgorithm):
    """Spatial or temporal gap filling; valid pixels are never changed."""

    INPUT = "INPUT"
    METHOD = "METHOD"
    SERIES = "SERIES"
    PAIRS = "PAIRS"
    PAIRS_COLUMN = "PAIRS_COLUMN"
    DATE = "DATE"
    MAX_GAP = "MAX_GAP"
    MAX_DISTANCE = "MAX_DISTANCE"
    SMOOTHING = "SMOOTHING"
    SPATIAL_FALLBACK = "SPATIAL_FALLBACK"
    OUTPUT = "OUTPUT"
    GAP_FRACTION = "GAP_FRACTION"
    FILLED_PIXELS = "FILLED_PIXELS"
    VALID_FRACTION = "VALID_FRACTION"

    NAME = "fillgaps"
    DISPLAY_NAME = "Fill LST gaps"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Fills the no-data pixels of an LST raster. Only no-data is a gap: a real 0 K or 0 °C "
            "value is data, and valid pixels are never changed.\n\n"
            "Progressive focal mean: windows 3 x 3, 5 x 5, 7 x 7, ... each give the remaining gap "
            "pixels the mean of the valid (or already filled) pixels around them, until no gap is "
            "left (the survey's dataset method).\n"
            "Inverse distance: GDAL's Fill nodata, optionally limited to a search distance.\n"
            "Temporal: each gap pixel is interpolated linearly in time between the nearest earlier "
            "and later dates where it is valid, from a pairs table (PAIRS, with the fine or coarse "
            "column) or from several dated layers (SERIES, dates from their file names). The input's "
            "date comes from DATE, the pairs table, or its file name. Pixels with no valid value "
            "on both sides are then filled by the focal mean unless that option is off.\n\n"
            "MAX_GAP refuses (stops with an error) a raster with more no-data than that percentage "
            "(the survey kept Landsat scenes with at most 20 % and MODIS with at most 10 %).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: INPUT, METHOD, SERIES, PAIRS, PAIRS_COLUMN, DATE, MAX_GAP, MAX_DISTANCE,
        SMOOTHING, SPATIAL_FALLBACK -> OUTPUT, GAP_FRACTION, FILLED_PIXELS, VALID_FRACTION."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("LST raster with gaps")))
        self.addParameter(QgsProcessingParameterEnum(
            self.METHOD, self.tr("Method"), options=METHOD_LABELS, defaultValue=0))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.SERIES, self.tr("Series of dated layers (temporal method)"), SOURCE_RASTER,
            optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.PAIRS, self.tr("Pairs table (temporal method)"), optional=True,
            fileFilter="Pairs table (*.csv)"))
        self.addParameter(QgsProcessingParameterString(
            self.DATE, self.tr("Date of the input, YYYY-MM-DD (temporal method; default: from its name)"),
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_GAP, self.tr("Refuse rasters with more no-data than (%)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=100.0, minValue=0.0, maxValue=100.0))
        advanced = [
            QgsProcessingParameterEnum(self.PAIRS_COLUMN, self.tr("Column of the pairs table"),
                                       options=COLUMN_LABELS, defaultValue=0),
            QgsProcessingParameterNumber(self.MAX_DISTANCE, self.tr("Inverse distance: search distance "
                                                                    "(pixels, 0 = unlimited)"),
                                         QgsProcessingParameterNumber.Type.Double, defaultValue=0.0, minValue=0.0),
            QgsProcessingParameterNumber(self.SMOOTHING, self.tr("Inverse distance: smoothing iterations"),
                                         QgsProcessingParameterNumber.Type.Integer, defaultValue=0, minValue=0),
            QgsProcessingParameterBoolean(self.SPATIAL_FALLBACK, self.tr(
                "Temporal: fill what remains with the focal mean"), defaultValue=True),
        ]
        self.add_advanced(*advanced)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Filled LST")))
        self.addOutput(QgsProcessingOutputNumber(self.GAP_FRACTION, self.tr("Fraction of no-data before")))
        self.addOutput(QgsProcessingOutputNumber(self.FILLED_PIXELS, self.tr("Number of filled pixels")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels after")))

    def process(self, parameters, context, feedback, progress):
        """Fill INPUT's gaps into OUTPUT."""
        source = self.raster_source(parameters, self.INPUT, context)
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        series, date = [], None
        if method == "temporal":
            series, date = self.dated_series(parameters, context, source)
        result = fill_gaps(
            source, output, method, self.parameterAsDouble(parameters, self.MAX_GAP, context) / 100.0,
            series, date, self.parameterAsDouble(parameters, self.MAX_DISTANCE, context),
            self.parameterAsInt(parameters, self.SMOOTHING, context),
            self.parameterAsBool(parameters, self.SPATIAL_FALLBACK, context), progress)
        feedback.pushInfo(self.tr("{percent:.2f} % no-data before; {filled} pixel(s) filled; {remaining} left.").format(
            percent=100 * result["gap_fraction"], filled=result["filled"], remaining=result["remaining"]))
        name_loaded_layer(self, context, self.OUTPUT, output,
                          self.parameterAsRasterLayer(parameters, self.INPUT, context).name() + " gaps filled")
        self.style_output(context, output, read_units(output) or "kelvin")
        return {self.OUTPUT: output, self.GAP_FRACTION: result["gap_fraction"],
                self.FILLED_PIXELS: result["filled"], self.VALID_FRACTION: result["valid_fraction"]}

    def dated_series(self, parameters, context, source: str):
        """([(date, path)], date of the input) from PAIRS or SERIES and DATE."""
        pairs_path = self.parameterAsFile(parameters, self.PAIRS, context)
        layers = self.parameterAsLayerList(parameters, self.SERIES, context) or []
        if not pairs_path and not layers:
            raise QgsProcessingException(self.tr(
                "The temporal method needs a pairs table (PAIRS) or several dated layers (SERIES)."))
        series = [(date_from_filename(layer.source()), layer.source()) for layer in layers]
        if pairs_path:
            rows = read_pairs(pairs_path)
            column = COLUMN_LABELS[self.parameterAsEnum(parameters, self.PAIRS_COLUMN, context)]
            here = os.path.normcase(os.path.abspath(source))
            if column not in ("fine", "coarse"):
                column = next((c for r in rows for c in ("fine", "coarse")
                               if getattr(r, c) and os.path.normcase(getattr(r, c)) == here), None)
                if column is None:
                    raise QgsProcessingException(self.tr(
                        "{source} is not in the pairs table {table}: choose its column "
                        "(PAIRS_COLUMN: fine or coarse).").format(source=source, table=pairs_path))
            series += [(r.date, getattr(r, column)) for r in rows if getattr(r, column)]
        text = self.parameterAsString(parameters, self.DATE, context).strip()
        if text:
            try:
                return series, dt.date.fromisoformat(text)
            except ValueError as err:
                raise QgsProcessingException(
                    self.tr("DATE: '{text}' is not a date (YYYY-MM-DD).").format(text=text)) from err
        here = os.path.normcase(os.path.abspath(source))
        known = [d for d, p in series if os.path.normcase(os.path.abspath(p)) == here]
        return series, known[0] if known else date_from_filename(source)
