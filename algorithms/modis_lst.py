"""lstfusion:modislst: MODIS MOD11A1/MYD11A1 (HDF4 granule or GeoTIFF) to LST with its QC mask."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterRasterDestination)

from ..common.units import UNIT_LABELS, UNITS as UNIT_NAMES
from ..preprocessing.modis import LAYERS, QUALITY_RULES, modis_to_lst
from .base import LstFusionAlgorithm
from .layer_names import dated_name, name_loaded_layer

FILE_FILTER = "MODIS LST (*.hdf *.HDF *.tif *.TIF *.tiff);;All files (*.*)"
QUALITY_LABELS = [
    "Survey rule: produced, good data quality, LST error <= 3 K (bits 0-1 <= 1, 2-3 = 0, 6-7 <= 2)",
    "Best quality only (bits 0-1 = 0)",
    "Any produced pixel (bits 0-1 <= 1)",
    "No QC masking (fill only)",
]


class ModisLst(LstFusionAlgorithm):
    """MODIS LST in K or °C on its own grid, masked by QC."""

    INPUT = "INPUT"
    QC = "QC"
    LAYER = "LAYER"
    QUALITY = "QUALITY"
    UNITS = "UNITS"
    OUTPUT = "OUTPUT"
    VALID_FRACTION = "VALID_FRACTION"
    SCALING = "SCALING"

    NAME = "modislst"
    DISPLAY_NAME = "MODIS LST"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Land surface temperature from a MODIS MOD11A1 / MYD11A1 product: the HDF4 granule "
            "downloaded from NASA (the LST_Day_1km or LST_Night_1km layer and its QC layer are found "
            "inside), one of its LST layers, or a GeoTIFF export (Earth Engine, AppEEARS).\n\n"
            "GeoTIFFs may hold raw DN (Kelvin = DN x 0.02) or already scaled values: a scale factor "
            "in the metadata, else the value range, decides; the log says which was assumed. The QC "
            "layer of a GeoTIFF is a band named QC_Day in the same file, a file named like the input "
            "with QC_Day in place of LST_Day_1km, or the QC parameter.\n\n"
            "Pixels failing the chosen QC rule, and fill pixels, become no-data. A real 0 °C is kept. "
            "The output stays on the product's own grid and CRS (sinusoidal for granules): use "
            "'Align raster to fine grid' to put it on a Landsat grid. VALID_FRACTION is the share of "
            "valid pixels (0-1).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: INPUT, QC, LAYER, QUALITY, UNITS -> OUTPUT, VALID_FRACTION, SCALING."""
        # files, not layers: QGIS cannot load an HDF4 granule (several subdatasets) as one layer
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, self.tr("MODIS granule (.hdf) or LST GeoTIFF"), fileFilter=FILE_FILTER))
        self.addParameter(QgsProcessingParameterFile(
            self.QC, self.tr("QC layer (optional: found automatically)"), optional=True,
            fileFilter=FILE_FILTER))
        self.addParameter(QgsProcessingParameterEnum(
            self.LAYER, self.tr("LST layer"), options=["Day (LST_Day_1km)", "Night (LST_Night_1km)"],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.QUALITY, self.tr("Quality"), options=QUALITY_LABELS, defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNITS, self.tr("Output units"), options=list(UNIT_LABELS), defaultValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("MODIS LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels")))
        self.addOutput(QgsProcessingOutputString(self.SCALING, self.tr("Scaling assumed")))

    def process(self, parameters, context, feedback, progress):
        """Ingest INPUT with its QC into OUTPUT."""
        source = self.parameterAsFile(parameters, self.INPUT, context)
        qc = self.parameterAsFile(parameters, self.QC, context) or None
        layer = LAYERS[self.parameterAsEnum(parameters, self.LAYER, context)]
        quality = QUALITY_RULES[self.parameterAsEnum(parameters, self.QUALITY, context)]
        units = UNIT_NAMES[self.parameterAsEnum(parameters, self.UNITS, context)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = modis_to_lst(source, output, layer, qc, quality, units, progress)
        feedback.pushInfo(self.tr("Values: {assumption}.").format(assumption=result["assumption"]))
        if result["qc_layer"]:
            feedback.pushInfo(self.tr("QC layer: {layer}; rule '{rule}' rejected {rejected} produced pixel(s).").format(
                layer=result["qc_layer"], rule=quality, rejected=result["qc_rejected"]))
        elif quality != "none":
            feedback.pushWarning(self.tr("No QC layer found: only fill / no-data pixels are masked. "
                                         "Give the QC parameter to mask by quality."))
        feedback.pushInfo(self.tr("{percent:.1f} % of the pixels are valid.").format(
            percent=100 * result["valid_fraction"]))
        name_loaded_layer(self, context, self.OUTPUT, output, dated_name(f"MODIS {layer} LST", source))
        self.style_output(context, output, units)
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"],
                self.SCALING: result["assumption"]}
