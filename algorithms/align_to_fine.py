"""lstfusion:aligntofine: put a coarse raster on the exact grid of a fine reference raster."""
from qgis.core import (QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingOutputNumber)

from ..preprocessing.align import RESAMPLING_METHODS, align_to_grid
from ..common.raster_io import read_grid, read_units
from .base import LstFusionAlgorithm
from .layer_names import name_loaded_layer


class AlignToFine(LstFusionAlgorithm):
    """Geo-aware reprojection and resampling onto a reference grid."""

    INPUT = "INPUT"
    REFERENCE = "REFERENCE"
    RESAMPLING = "RESAMPLING"
    BAND = "BAND"
    OUTPUT = "OUTPUT"
    VALID_FRACTION = "VALID_FRACTION"

    NAME = "aligntofine"
    DISPLAY_NAME = "Align raster to fine grid"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Reprojects and resamples a coarse raster (e.g. MODIS LST) onto the exact grid of a "
            "fine reference raster (e.g. Landsat LST): same CRS, extent, pixel size and pixel "
            "alignment, so that fusion methods can use both pixel by pixel.\n\n"
            "No-data is never averaged into a value, and gaps stay gaps: an output pixel is "
            "no-data when the input pixel under its centre is no-data. With 'average' an output "
            "pixel is the mean of the valid input pixels it covers. Units are kept.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: INPUT, REFERENCE, RESAMPLING, BAND -> OUTPUT, VALID_FRACTION."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Coarse raster to align")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.REFERENCE, self.tr("Fine reference raster (target grid)")))
        self.addParameter(QgsProcessingParameterEnum(
            self.RESAMPLING, self.tr("Resampling"),
            options=["Nearest neighbour", "Bilinear", "Cubic", "Cubic spline", "Lanczos", "Average"],
            defaultValue=RESAMPLING_METHODS.index("bilinear")))
        self.addParameter(QgsProcessingParameterNumber(
            self.BAND, self.tr("Band of the input"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=1, minValue=1))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Aligned raster")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels")))

    def process(self, parameters, context, feedback, progress):
        """Warp INPUT onto REFERENCE's grid."""
        source = self.raster_source(parameters, self.INPUT, context)
        reference = self.raster_source(parameters, self.REFERENCE, context)
        method = RESAMPLING_METHODS[self.parameterAsEnum(parameters, self.RESAMPLING, context)]
        band = self.parameterAsInt(parameters, self.BAND, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = align_to_grid(source, read_grid(reference), output, method, band, progress)
        feedback.pushInfo(self.tr("Aligned with {method} resampling; {percent:.1f} % of the pixels are valid.").format(
            method=method, percent=100 * result["valid_fraction"]))
        name_loaded_layer(self, context, self.OUTPUT, output,
                          self.parameterAsRasterLayer(parameters, self.INPUT, context).name() + " aligned")
        self.style_output(context, output, read_units(output) or "kelvin")
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"]}
