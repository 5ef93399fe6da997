"""lstfusion:landsatlst: Landsat Collection 2 Level-2 ST_B10 to LST with its QA_PIXEL mask."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from ..preprocessing.landsat import DEFAULT_MASK, QA_CLASSES, landsat_to_lst
from ..common.units import UNIT_LABELS, UNITS as UNIT_NAMES
from .base import LstFusionAlgorithm
from .compat import PARAMETER_ADVANCED

MASK_LABELS = ["Fill (bit 0)", "Dilated cloud (bit 1)", "Cirrus (bit 2)", "Cloud (bit 3)",
               "Cloud shadow (bit 4)", "Snow (bit 5)"]


class LandsatLst(LstFusionAlgorithm):
    """Landsat LST in K or °C, masked by QA_PIXEL classes."""

    INPUT = "INPUT"
    QA_PIXEL = "QA_PIXEL"
    MASK = "MASK"
    UNITS = "UNITS"
    MTL = "MTL"
    OUTPUT = "OUTPUT"
    VALID_FRACTION = "VALID_FRACTION"
    SCALING = "SCALING"

    NAME = "landsatlst"
    DISPLAY_NAME = "Landsat LST"
    GROUP = "Preprocessing"
    GROUP_ID = "preprocessing"
    HELP = ("Land surface temperature from a Landsat Collection 2 Level-2 scene: the ST_B10 band "
            "(ST_B6 for Landsat 4-7), Kelvin = DN x 0.00341802 + 149.0, with the scale and offset read "
            "from the scene's MTL file when it sits beside the band (or is given), else these "
            "documented constants.\n\n"
            "Pixels whose QA_PIXEL has a chosen class set become no-data. Default: fill, dilated "
            "cloud, cloud and cloud shadow (the thermal band is sensed at 100 m, so pixels around "
            "clouds are contaminated; shadows bias LST low). The QA_PIXEL band is found beside the "
            "band when not given, and must be on the same grid.\n\n"
            "A float raster that already holds LST (K or °C) is accepted and only masked. "
            "VALID_FRACTION is the share of valid pixels (0-1).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters: INPUT, QA_PIXEL, MASK, UNITS, MTL -> OUTPUT, VALID_FRACTION, SCALING."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Landsat ST_B10 band")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.QA_PIXEL, self.tr("QA_PIXEL band (optional: found beside the band)"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MASK, self.tr("Mask these QA_PIXEL classes"), options=MASK_LABELS, allowMultiple=True,
            defaultValue=[QA_CLASSES.index(c) for c in DEFAULT_MASK], optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.UNITS, self.tr("Output units"), options=list(UNIT_LABELS), defaultValue=0))
        mtl = QgsProcessingParameterFile(self.MTL, self.tr("MTL metadata file (optional: found beside the band)"),
                                         optional=True, fileFilter="MTL files (*_MTL.txt *_MTL.xml)")
        mtl.setFlags(mtl.flags() | PARAMETER_ADVANCED)
        self.addParameter(mtl)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Landsat LST")))
        self.addOutput(QgsProcessingOutputNumber(self.VALID_FRACTION, self.tr("Fraction of valid pixels")))
        self.addOutput(QgsProcessingOutputString(self.SCALING, self.tr("Scaling used")))

    def process(self, parameters, context, feedback, progress):
        """Ingest INPUT with its QA_PIXEL into OUTPUT."""
        source = self.raster_source(parameters, self.INPUT, context)
        qa = self.raster_source(parameters, self.QA_PIXEL, context) if parameters.get(self.QA_PIXEL) else None
        mask = [QA_CLASSES[i] for i in self.parameterAsEnums(parameters, self.MASK, context)]
        units = UNIT_NAMES[self.parameterAsEnum(parameters, self.UNITS, context)]
        mtl = self.parameterAsFile(parameters, self.MTL, context) or None
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = landsat_to_lst(source, output, qa, mask, units, mtl, progress=progress)
        feedback.pushInfo(self.tr("Scaling: {scaling}.").format(scaling=result["scaling"]))
        if result["qa_layer"]:
            counts = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in result["masked"].items())
            feedback.pushInfo(self.tr("QA_PIXEL: {layer}; masked pixels: {counts}.").format(
                layer=result["qa_layer"], counts=counts or self.tr("fill only")))
        elif mask:
            feedback.pushWarning(self.tr("No QA_PIXEL band found: clouds are not masked. Give the "
                                         "QA_PIXEL parameter."))
        feedback.pushInfo(self.tr("{percent:.1f} % of the pixels are valid.").format(
            percent=100 * result["valid_fraction"]))
        self.style_output(context, output, units)
        return {self.OUTPUT: output, self.VALID_FRACTION: result["valid_fraction"],
                self.SCALING: result["scaling"]}
