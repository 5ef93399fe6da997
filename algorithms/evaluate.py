"""lstfusion:evaluate: accuracy of a predicted LST raster against a reference, table and HTML report."""
import os
import shutil
from typing import Optional

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProcessingException,
                       QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterFileDestination,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingUtils, QgsRasterLayer, QgsVectorLayer)

from ..preprocessing.mask import rasterize_polygons
from ..evaluation.metrics import (DEFINITIONS, LANDSAT_MODIS_RATIO, METRICS, checked_ratio, compute_metrics,
                                  resolution_ratio)
from ..common.raster_io import read_grid
from ..evaluation.tables import text_table, write_metrics_table
from .base import StyleLoader, LstFusionAlgorithm
from .compat import PARAMETER_ADVANCED, SOURCE_RASTER, SOURCE_VECTOR_POLYGON

ERROR_STYLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "lst_error.qml")


ERGAS_LEFT_OUT = (f"ERGAS not computed: it needs the resolution ratio h / l; give COARSE (the original coarse "
                  f"raster, e.g. MODIS at 1 km) or RATIO (e.g. {LANDSAT_MODIS_RATIO:g} for Landsat 30 m / MODIS 1 km).")


def optional_number(parameters, name):
    """A numeric parameter's value, or None when it was left empty."""
    value = parameters.get(name)
    return None if value is None or value == "" else float(value)


class Evaluate(LstFusionAlgorithm):
    """Prediction vs reference: the survey's six metrics and more, a table and an HTML report."""

    PREDICTION = "PREDICTION"
    REFERENCE = "REFERENCE"
    MASK = "MASK"
    BAND = "BAND"
    DATA_RANGE = "DATA_RANGE"
    COARSE = "COARSE"
    RATIO = "RATIO"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    OUTPUT_ERROR = "OUTPUT_ERROR"
    UNITS = "UNITS"
    USED_DATA_RANGE = "USED_DATA_RANGE"

    NAME = "evaluate"
    DISPLAY_NAME = "Evaluate prediction accuracy"
    GROUP = "Evaluation"
    GROUP_ID = "evaluation"
    HELP = ("Compares a predicted LST raster with a reference (e.g. a fused image with the real "
            "Landsat LST of the same date) over the pixels valid in both, optionally only inside "
            "a mask (a raster, where 0 and no-data are left out, or a polygon layer).\n\n"
            "Metrics, exactly as defined in the report: RMSE, SSIM (11 x 11 Gaussian window, "
            "sigma 1.5), PSNR, SAM (degrees), CC, ERGAS, MAE, BIAS (mean P - R), ubRMSE, R² and "
            "the number of valid pixels. They are numeric outputs usable in a model.\n\n"
            "Both rasters must be on the same grid and in the same units (from their metadata, "
            "else a mean above 150 means Kelvin). PSNR and SSIM use the data range L of the "
            "reference unless DATA_RANGE is given. ERGAS needs the ratio h / l of the fine to the "
            "coarse pixel size: derived from COARSE (the coarse raster at its own resolution) or "
            "given as RATIO ({ratio} for Landsat 30 m / MODIS 1 km); without either, every other "
            "metric is computed and ERGAS is left out (NaN), with a line in the log and the report.\n\n"
            "Writes a table (.csv or .json by extension), a self-contained HTML report (metric "
            "table with definitions, maps, density scatter plot, error histogram) and optionally "
            "the error raster P - R.")
    HELP_ARGS = {"ratio": f"{LANDSAT_MODIS_RATIO:g}"}

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """Parameters and the numeric outputs the modeler sees."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.PREDICTION, self.tr("Prediction (LST)")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Reference (LST)")))
        self.addParameter(QgsProcessingParameterMapLayer(
            self.MASK, self.tr("Mask (raster: 0 = leave out; or polygons)"), optional=True,
            types=[SOURCE_RASTER, SOURCE_VECTOR_POLYGON]))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.COARSE, self.tr("Coarse raster at its own resolution (for the ERGAS ratio)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.RATIO, self.tr("ERGAS ratio h / l (fine / coarse pixel size; empty: from the coarse raster)"),
            QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.0))
        advanced = [
            QgsProcessingParameterNumber(
                self.DATA_RANGE, self.tr("Data range L for PSNR and SSIM (empty: max - min of the reference)"),
                QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.0),
            QgsProcessingParameterNumber(self.BAND, self.tr("Band of both rasters"),
                                         QgsProcessingParameterNumber.Type.Integer, defaultValue=1, minValue=1),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | PARAMETER_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_TABLE, self.tr("Metric table"), "CSV files (*.csv);;JSON files (*.json)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_REPORT, self.tr("HTML report"), "HTML files (*.html)"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_ERROR, self.tr("Error raster (prediction - reference)"), optional=True,
            createByDefault=False))
        for name in METRICS:
            self.addOutput(QgsProcessingOutputNumber(name, self.tr("{name} ({definition})").format(
                name=name, definition=DEFINITIONS[name][0])))
        self.addOutput(QgsProcessingOutputNumber(self.USED_DATA_RANGE, self.tr("Data range L used for PSNR and SSIM")))
        self.addOutput(QgsProcessingOutputString(self.UNITS, self.tr("Units of both rasters (kelvin/celsius)")))

    def process(self, parameters, context, feedback, progress):
        """Compute the metrics, write the table, the report and the optional error raster."""
        from ..evaluation.report import write_evaluation_report  # matplotlib: loaded when needed only

        prediction = self.raster_source(parameters, self.PREDICTION, context)
        reference = self.raster_source(parameters, self.REFERENCE, context)
        band = self.parameterAsInt(parameters, self.BAND, context)
        ratio = self.ergas_ratio(parameters, context, feedback, prediction)
        table = self.parameterAsFileOutput(parameters, self.OUTPUT_TABLE, context)
        report = self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context)
        error = self.parameterAsOutputLayer(parameters, self.OUTPUT_ERROR, context) \
            if parameters.get(self.OUTPUT_ERROR) else None
        mask = self.mask_raster(parameters, context, prediction)
        result = compute_metrics(prediction, reference, mask, optional_number(parameters, self.DATA_RANGE),
                                 ratio, error, band, progress.sub(0, 85))
        feedback.pushInfo(text_table(result))
        info = {"ERGAS ratio h / l": f"{ratio:.6g}" if ratio is not None else ERGAS_LEFT_OUT}
        if mask:
            info["Mask layer"] = self.parameterAsLayer(parameters, self.MASK, context).source()
        write_metrics_table(table, result, {"prediction": prediction, "reference": reference, "mask": mask,
                                            "band": band, "units": result["UNITS"],
                                            "data_range": result["DATA_RANGE"], "ergas_ratio": ratio})
        progress.report(90)
        write_evaluation_report(report, result, prediction, reference, mask, band, info)
        progress.report(100)
        outputs = {name: result[name] for name in METRICS}
        outputs.update({self.OUTPUT_TABLE: table, self.OUTPUT_REPORT: report, self.UNITS: result["UNITS"] or "",
                        self.USED_DATA_RANGE: result["DATA_RANGE"]})
        if error:
            outputs[self.OUTPUT_ERROR] = error
            # a sidecar .qml is QGIS's default style: the diverging ramp also when opened by hand
            shutil.copyfile(ERROR_STYLE, os.path.splitext(error)[0] + ".qml")
            if context.willLoadLayerOnCompletion(error):
                context.layerToLoadOnCompletionDetails(error).setPostProcessor(StyleLoader.create(ERROR_STYLE))
        return outputs

    def ergas_ratio(self, parameters, context, feedback, fine_path: str) -> Optional[float]:
        """The ERGAS ratio from RATIO, else from COARSE's pixel size; None (logged) when neither is given."""
        ratio = optional_number(parameters, self.RATIO)
        if ratio is not None:
            return checked_ratio(ratio)
        if parameters.get(self.COARSE):
            ratio = resolution_ratio(fine_path, self.raster_source(parameters, self.COARSE, context))
            if ratio > 0.5:
                feedback.pushWarning(f"COARSE has nearly the prediction's pixel size (ratio {ratio:.3g}): was it "
                                     "already resampled to the fine grid? ERGAS expects the coarse sensor's own "
                                     f"pixel size (give RATIO, e.g. {LANDSAT_MODIS_RATIO:g} for Landsat / MODIS).")
            return ratio
        feedback.pushWarning(ERGAS_LEFT_OUT)
        return None

    def mask_raster(self, parameters, context, prediction: str):
        """Path of a raster mask on the prediction's grid (polygons are rasterised), or None."""
        if not parameters.get(self.MASK):
            return None
        layer = self.parameterAsLayer(parameters, self.MASK, context)
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            return layer.source()
        if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
            raise QgsProcessingException(self.tr("MASK: could not load '{value}' as a raster or polygon layer.").format(
                value=parameters.get(self.MASK)))
        grid = read_grid(prediction)
        transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(grid.crs_wkt),
                                           context.transformContext())
        geometries = []
        for feature in layer.getFeatures():
            geometry = feature.geometry()
            if geometry.isNull():
                continue
            geometry.transform(transform)
            geometries.append(bytes(geometry.asWkb()))
        return rasterize_polygons(geometries, grid, QgsProcessingUtils.generateTempFilename("mask.tif"))
