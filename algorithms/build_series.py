"""lstfusion:buildseries: downloaded MODIS and Landsat products to a gap-free, aligned series of pairs."""

from qgis.core import (QgsProcessingException,
                       QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterExtent, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorLayer)

from ..preprocessing.align import RESAMPLING_METHODS
from ..preprocessing.build_series import FILL_METHODS, SeriesOptions, build_series
from ..preprocessing.landsat import DEFAULT_MASK, QA_CLASSES
from ..common.units import UNIT_LABELS, UNITS as UNIT_NAMES
from ..preprocessing.modis import LAYERS, QUALITY_RULES
from ..common.pairs import read_pairs
from .base import LstFusionAlgorithm
from .landsat_lst import MASK_LABELS
from .modis_lst import QUALITY_LABELS
from .compat import PARAMETER_ADVANCED, SOURCE_VECTOR_POLYGON, WKT_PREFERRED_GDAL

FILL_LABELS = ["Progressive focal mean (the survey's method)", "Inverse distance weighting (GDAL)",
               "No filling (keep the gaps)",
               "Temporal: interpolate between the nearest dates of the same sensor, focal mean for the rest"]
RESAMPLING_LABELS = ["Nearest neighbour", "Bilinear", "Cubic", "Cubic spline", "Lanczos", "Average"]


class BuildSeries(LstFusionAlgorithm):
    """Pair, ingest, check, gap-fill and align a folder of MODIS and a folder of Landsat products."""

    MODIS_FOLDER = "MODIS_FOLDER"
    LANDSAT_FOLDER = "LANDSAT_FOLDER"
    EXTENT = "EXTENT"
    CLIP_LAYER = "CLIP_LAYER"
    LAYER = "LAYER"
    QUALITY = "QUALITY"
    MASK = "MASK"
    UNITS = "UNITS"
    FILL_METHOD = "FILL_METHOD"
    MAX_GAP_FINE = "MAX_GAP_FINE"
    MAX_GAP_COARSE = "MAX_GAP_COARSE"
    RESAMPLING = "RESAMPLING"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    PAIRS = "PAIRS"
    SUMMARY = "SUMMARY"
    PAIR_COUNT = "PAIR_COUNT"
    COARSE_ONLY_COUNT = "COARSE_ONLY_COUNT"
    REFUSED_COUNT = "REFUSED_COUNT"

    NAME = "buildseries"
    DISPLAY_NAME = "Build LST series from downloads"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Turns a folder of MODIS MOD11A1/MYD11A1 granules (.hdf) or LST GeoTIFF exports and a folder "
            "of Landsat Collection 2 Level-2 scenes (ST_B10 with QA_PIXEL and MTL, extracted in "
            "sub-folders or not, or the .tar archives as delivered, read in place) into a series ready "
            "for fusion and training.\n\n"
            "Dates come from the file names (LC08_L2SP_PPPRRR_YYYYMMDD_..., MOD11A1.AYYYYDDD..., or "
            "YYYYMMDD). Every image becomes LST with its QC / QA_PIXEL mask, is put on the common fine "
            "grid (the first Landsat scene's grid, cut to EXTENT and/or to CLIP_LAYER's polygons, outside "
            "which the outputs are no-data that does not count as gaps), "
            "is refused when it has more no-data there than the maximum, and has its gaps filled "
            "(spatially, or in time between the nearest kept dates of the same sensor).\n\n"
            "The output folder holds fine/landsat_DATE.tif, coarse/modis_DATE.tif, pairs.csv "
            "(date,fine,coarse; coarse-only dates have an empty fine) and summary.txt saying what was "
            "kept, filled or refused and why. Each GeoTIFF has a .qml beside it, so QGIS opens it with "
            "the temperature colour ramp. PAIRS is the pairs table, for the next step of a model.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: folders, clip, ingestion, filling and refusal settings -> series folder and PAIRS."""
        self.addParameter(QgsProcessingParameterFile(
            self.MODIS_FOLDER, self.tr("Folder of MODIS granules / LST GeoTIFFs"),
            behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFile(
            self.LANDSAT_FOLDER, self.tr("Folder of Landsat Collection 2 Level-2 scenes"),
            behavior=QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, self.tr("Clip to extent"), optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(
            self.CLIP_LAYER, self.tr("Clip to a polygon layer (no-data outside its polygons)"),
            [SOURCE_VECTOR_POLYGON], optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNITS, self.tr("Output units"), options=list(UNIT_LABELS), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.FILL_METHOD, self.tr("Gap filling"), options=FILL_LABELS, defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_GAP_FINE, self.tr("Refuse Landsat scenes with more no-data than (%)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=20.0, minValue=0.0, maxValue=100.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_GAP_COARSE, self.tr("Refuse MODIS images with more no-data than (%)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=10.0, minValue=0.0, maxValue=100.0))
        advanced = [
            QgsProcessingParameterEnum(self.LAYER, self.tr("MODIS LST layer"),
                                       options=["Day (LST_Day_1km)", "Night (LST_Night_1km)"], defaultValue=0),
            QgsProcessingParameterEnum(self.QUALITY, self.tr("MODIS quality"), options=QUALITY_LABELS,
                                       defaultValue=0),
            QgsProcessingParameterEnum(self.MASK, self.tr("Landsat QA_PIXEL classes to mask"),
                                       options=MASK_LABELS, allowMultiple=True, optional=True,
                                       defaultValue=[QA_CLASSES.index(c) for c in DEFAULT_MASK]),
            QgsProcessingParameterEnum(self.RESAMPLING, self.tr("Resampling of MODIS onto the fine grid"),
                                       options=RESAMPLING_LABELS,
                                       defaultValue=RESAMPLING_METHODS.index("bilinear")),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | PARAMETER_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Series folder")))
        self.addOutput(QgsProcessingOutputFile(self.PAIRS, self.tr("Pairs table")))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("Summary")))
        self.addOutput(QgsProcessingOutputNumber(self.PAIR_COUNT, self.tr("Number of pairs")))
        self.addOutput(QgsProcessingOutputNumber(self.COARSE_ONLY_COUNT, self.tr("Number of coarse-only dates")))
        self.addOutput(QgsProcessingOutputNumber(self.REFUSED_COUNT, self.tr("Number of refused images")))

    def process(self, parameters, context, feedback, progress):
        """Build the series folder."""
        options = SeriesOptions(
            layer=LAYERS[self.parameterAsEnum(parameters, self.LAYER, context)],
            quality=QUALITY_RULES[self.parameterAsEnum(parameters, self.QUALITY, context)],
            mask=[QA_CLASSES[i] for i in self.parameterAsEnums(parameters, self.MASK, context)],
            units=UNIT_NAMES[self.parameterAsEnum(parameters, self.UNITS, context)],
            fill=FILL_METHODS[self.parameterAsEnum(parameters, self.FILL_METHOD, context)],
            resampling=RESAMPLING_METHODS[self.parameterAsEnum(parameters, self.RESAMPLING, context)],
            max_gap_fine=self.parameterAsDouble(parameters, self.MAX_GAP_FINE, context) / 100.0,
            max_gap_coarse=self.parameterAsDouble(parameters, self.MAX_GAP_COARSE, context) / 100.0,
            clip=self.clip_area(parameters, context), polygons=self.clip_polygons(parameters, context))
        out_folder = self.parameterAsFileOutput(parameters, self.OUTPUT_FOLDER, context)
        report = build_series(
            self.parameterAsFile(parameters, self.MODIS_FOLDER, context),
            self.parameterAsFile(parameters, self.LANDSAT_FOLDER, context), out_folder, options, progress)
        self.write_default_styles([path for row in read_pairs(report.pairs_path)
                                   for path in (row.fine, row.coarse) if path], options.units)
        feedback.pushInfo(self.tr("{pairs} pair(s), {coarse_only} coarse-only date(s), {refused} refused. "
                                  "Pairs table: {table}; summary: {summary}").format(
            pairs=report.pairs, coarse_only=report.coarse_only, refused=report.refused,
            table=report.pairs_path, summary=report.summary_path))
        return {self.OUTPUT_FOLDER: out_folder,
                self.PAIRS: report.pairs_path, self.SUMMARY: report.summary_path,
                self.PAIR_COUNT: report.pairs, self.COARSE_ONLY_COUNT: report.coarse_only,
                self.REFUSED_COUNT: report.refused}

    def clip_area(self, parameters, context):
        """(xmin, ymin, xmax, ymax, CRS WKT) of EXTENT, or None."""
        if not parameters.get(self.EXTENT):
            return None
        rect = self.parameterAsExtent(parameters, self.EXTENT, context)
        if rect.isEmpty():
            raise QgsProcessingException(self.tr("The clip extent is empty."))
        return rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum(), self.wkt(
            self.parameterAsExtentCrs(parameters, self.EXTENT, context))

    def clip_polygons(self, parameters, context):
        """(polygons as WKT, CRS WKT) of CLIP_LAYER's features, or None."""
        layer = self.parameterAsVectorLayer(parameters, self.CLIP_LAYER, context)
        if layer is None:
            return None
        polygons = [f.geometry().asWkt() for f in layer.getFeatures() if not f.geometry().isEmpty()]
        if not polygons:
            raise QgsProcessingException(self.tr("CLIP_LAYER: {name} holds no polygon.").format(name=layer.name()))
        return polygons, self.wkt(layer.crs())

    @staticmethod
    def wkt(crs) -> str:
        """GDAL's WKT of a QGIS CRS ('' when invalid)."""
        return crs.toWkt(WKT_PREFERRED_GDAL) if crs.isValid() else ""
