"""Names of the layers QGIS loads after an algorithm: what each holds, e.g. 'ESTARFM 2016-02-18'.

Without this, QGIS names a loaded output after its parameter's label ('Fused fine
LST'), so two runs cannot be told apart. :func:`name_loaded_layer` sets the name
QGIS's own ``setOutputLayerName`` applies (``QgsProcessingContext.LayerDetails.name``):

- a name the caller set is kept (a graphical model names its outputs);
- a temporary output (no file name typed) always gets it (``forceName``);
- a file the user chose follows QGIS's rule for every algorithm: with the
  Processing option 'Prefer output filename for layer names' (Settings > Options >
  Processing > General, on by default) the layer is named after the file, so the
  name the user typed wins; with the option off it gets our name. QGIS treats a
  file inside the system temporary folder (/tmp) as temporary and gives it our name.
"""
import datetime as dt
import os
from typing import Optional

from qgis.core import QgsProcessingContext, QgsProcessingUtils

from ..common.errors import InputError
from ..common.products import date_from_filename


def date_in_name(name: str) -> Optional[dt.date]:
    """The acquisition date in a file or layer name, None when it holds none (or several)."""
    try:
        return date_from_filename(name)
    except InputError:
        return None


def dated_name(label: str, source_path: str, source_name: str = "", date: Optional[dt.date] = None) -> str:
    """'label YYYY-MM-DD': ``date``, else the date in the source's file name, else in its layer name;
    without any date 'label (source name)'."""
    date = date or date_in_name(source_path) or date_in_name(source_name)
    if date:
        return f"{label} {date.isoformat()}"
    return f"{label} ({source_name or os.path.splitext(os.path.basename(source_path))[0]})"


def is_temporary_output(path: str) -> bool:
    """True for an output QGIS put in its Processing temporary folder (the user typed no file name)."""
    folder = os.path.normcase(os.path.realpath(QgsProcessingUtils.tempFolder()))
    return os.path.normcase(os.path.realpath(path)).startswith(folder + os.sep)


def name_loaded_layer(algorithm, context: QgsProcessingContext, parameter: str, path: str, name: str) -> None:
    """Name ``name`` the layer QGIS loads on completion from ``path``, the output of destination
    ``parameter`` of ``algorithm`` (see the module docstring). A name the caller gave, such as a
    graphical model's output name, is kept: only the parameter's label is replaced."""
    if not context.willLoadLayerOnCompletion(path):
        return
    details = context.layerToLoadOnCompletionDetails(path)
    if details.name and details.name != algorithm.parameterDefinition(parameter).description():
        return
    details.name = name
    details.forceName = is_temporary_output(path)
