"""Parameters, outputs and styles of the algorithms that write calibrated uncertainty (fuseseries, starfm, estarfm)."""
import os
import shutil

from qgis.core import (QgsProcessingException, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination)

from ..evaluation.conformal import DEFAULT_LEVEL, LEVELS
from ..workflows.calibration import write_model_uncertainty as write_model_uncertainty_file
from ..workflows.uncertainty import write_prediction_uncertainty as write_prediction_uncertainty_file

RESOURCES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources")
UNCERTAINTY_STYLE = os.path.join(RESOURCES, "lst_uncertainty.qml")
QUALITY_STYLE = os.path.join(RESOURCES, "lst_quality.qml")

UNCERTAINTY = "UNCERTAINTY"
INTERVAL_LEVEL = "INTERVAL_LEVEL"
FILL_DAYS = "FILL_DAYS"
CALIBRATION = "CALIBRATION"
OUTPUT_UNCERTAINTY = "OUTPUT_UNCERTAINTY"

HELP = ("Uncertainty: the half-width in K (the same in °C) of the central interval at INTERVAL_LEVEL "
        "(default 0.9) around each predicted pixel. It starts from a raw spread the method computes from "
        "its own inputs (disagreement of the forward and backward predictions, spread of the "
        "neighbours' predicted changes, residual of the window model; larger where the coarse target "
        "was filled) and is calibrated by split-conformal prediction (no Gaussian assumption) on fine "
        "dates predicted without their own fine image. The interval covers the true fine LST with the "
        "stated probability, averaged over pixels and dates, under one assumption: the dates predicted "
        "are exchangeable with the calibration dates (no systematic change of conditions between them); "
        "on one single date coverage can be lower or higher. The truth of the calibration is the fine "
        "image itself, with its own sensor noise.")


def add_level_parameter(algorithm) -> None:
    """INTERVAL_LEVEL: central interval level, 0.5-0.99."""
    algorithm.add_advanced(QgsProcessingParameterNumber(
        INTERVAL_LEVEL, algorithm.tr("Interval level of the uncertainty (0.5-0.99)"),
        QgsProcessingParameterNumber.Type.Double, DEFAULT_LEVEL, minValue=LEVELS[0], maxValue=LEVELS[-1]))


def add_series_parameters(algorithm) -> None:
    """UNCERTAINTY, INTERVAL_LEVEL, FILL_DAYS and CALIBRATION of fuseseries."""
    algorithm.addParameter(QgsProcessingParameterBoolean(
        UNCERTAINTY, algorithm.tr("Also write the calibrated uncertainty (<name>_uncertainty.tif) and "
                                  "quality codes (<name>_quality.tif) of each date"), defaultValue=False))
    add_level_parameter(algorithm)
    algorithm.add_advanced(QgsProcessingParameterNumber(
        FILL_DAYS, algorithm.tr("Fill cloudy coarse pixels from clear days at most this many days away "
                                "(0 = no filling)"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
    algorithm.add_advanced(QgsProcessingParameterFile(
        CALIBRATION, algorithm.tr("Calibration file to reuse (empty: calibrate on the series' fine dates)"),
        extension="json", optional=True))


def write_sidecar_styles(prediction_paths) -> None:
    """Put the uncertainty and quality styles beside each date's sidecar rasters (QGIS's default styles)."""
    for path in prediction_paths:
        stem = os.path.splitext(path)[0]
        for suffix, style in (("_uncertainty", UNCERTAINTY_STYLE), ("_quality", QUALITY_STYLE)):
            if os.path.exists(stem + suffix + ".tif"):
                shutil.copyfile(style, stem + suffix + ".qml")


def add_prediction_parameters(algorithm) -> None:
    """OUTPUT_UNCERTAINTY (optional raster), CALIBRATION (its calibration.json) and INTERVAL_LEVEL."""
    parameter = QgsProcessingParameterRasterDestination(
        OUTPUT_UNCERTAINTY, algorithm.tr("Uncertainty (half-width of the interval, K)"), optional=True,
        createByDefault=False)
    algorithm.addParameter(parameter)
    algorithm.addParameter(QgsProcessingParameterFile(
        CALIBRATION, algorithm.tr("Calibration file for the uncertainty (calibration.json from fuseseries)"),
        extension="json", optional=True))
    add_level_parameter(algorithm)


def _requested(algorithm, parameters, context):
    """The OUTPUT_UNCERTAINTY path when the user asked for one, else None."""
    if not parameters.get(OUTPUT_UNCERTAINTY):
        return None
    return algorithm.parameterAsOutputLayer(parameters, OUTPUT_UNCERTAINTY, context) or None


def _finish(context, out: str, outputs: dict) -> dict:
    """Style OUTPUT_UNCERTAINTY when QGIS loads it; add it to ``outputs``."""
    if context.willLoadLayerOnCompletion(out):
        from .base import StyleLoader
        context.layerToLoadOnCompletionDetails(out).setPostProcessor(StyleLoader.create(UNCERTAINTY_STYLE))
    outputs[OUTPUT_UNCERTAINTY] = out
    return outputs


def write_model_uncertainty(algorithm, parameters, context, model_file, inputs, outputs, progress) -> dict:
    """Write OUTPUT_UNCERTAINTY of a deep-model prediction (fuse) when asked; return ``outputs``."""
    out = _requested(algorithm, parameters, context)
    if out is None:
        return outputs
    from .deep_common import device_name
    write_model_uncertainty_file(
        model_file, inputs, algorithm.parameterAsFile(parameters, CALIBRATION, context) or None,
        algorithm.parameterAsDouble(parameters, INTERVAL_LEVEL, context), out,
        device_name(algorithm.parameterAsEnum(parameters, "DEVICE", context)),
        algorithm.parameterAsInt(parameters, "TILE_SIZE", context), progress)
    return _finish(context, out, outputs)


def write_prediction_uncertainty(algorithm, parameters, context, paths, params, outputs, progress) -> dict:
    """Write OUTPUT_UNCERTAINTY of a classical prediction when the user asked for it; return ``outputs``."""
    out = _requested(algorithm, parameters, context)
    if out is None:
        return outputs
    calibration = algorithm.parameterAsFile(parameters, CALIBRATION, context)
    if not calibration:
        raise QgsProcessingException(algorithm.tr(
            "OUTPUT_UNCERTAINTY needs a CALIBRATION file: run 'Fuse a series' (lstfusion:fuseseries) with "
            "UNCERTAINTY on the series this image belongs to; it writes calibration.json."))
    write_prediction_uncertainty_file(paths, params.half_window, params.tile_size, calibration,
                                      algorithm.parameterAsDouble(parameters, INTERVAL_LEVEL, context), out, progress)
    return _finish(context, out, outputs)
