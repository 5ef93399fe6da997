"""Parameters shared by the deep-learning algorithms (train, fuse)."""
from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterEnum

from ..core.deep_device import DEVICES

DEVICE_OPTIONS = ["auto (CUDA GPU when available, else CPU)", "cpu", "cuda"]


def advanced(parameter: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    """The parameter, flagged as advanced (shown under 'Advanced parameters')."""
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


def device_parameter(name: str, tr) -> QgsProcessingParameterEnum:
    """The DEVICE enum: auto, cpu, cuda (index into :data:`core.deep_device.DEVICES`)."""
    return QgsProcessingParameterEnum(name, tr("Device"), options=DEVICE_OPTIONS, defaultValue=0)


def device_name(index: int) -> str:
    """The engine's device name of a DEVICE enum index."""
    return DEVICES[index]
