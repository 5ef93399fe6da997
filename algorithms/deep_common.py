"""Parameters shared by the deep-learning algorithms (train, fuse), and the shipped model files."""
import os

from qgis.core import QgsProcessingParameterEnum

from ..models.deep.device import DEVICES

SHIPPED_FOLDER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "models")


def shipped_model(name: str) -> str:
    """Path of the model file shipped for architecture ``name`` (``resources/models/<name>_default.pt``)."""
    return os.path.join(SHIPPED_FOLDER, f"{name}_default.pt")


DEVICE_OPTIONS = ["auto (CUDA GPU when available, else CPU)", "cpu", "cuda"]


def device_parameter(name: str, tr) -> QgsProcessingParameterEnum:
    """The DEVICE enum: auto, cpu, cuda (index into :data:`models.deep.device.DEVICES`)."""
    return QgsProcessingParameterEnum(name, tr("Device"), options=DEVICE_OPTIONS, defaultValue=0)


def device_name(index: int) -> str:
    """The engine's device name of a DEVICE enum index."""
    return DEVICES[index]


def json_object(text: str, name: str, example: str) -> dict:
    """The JSON object a string parameter holds ({} when empty); InputError naming the parameter."""
    import json
    from ..common.errors import InputError
    text = (text or "").strip()
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise InputError(f"{name} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a JSON object, e.g. {example}.")
    return value
