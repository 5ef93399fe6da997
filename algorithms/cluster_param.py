"""The CLUSTER parameter shared by fuseseries, starfm, estarfm, fuse and experiment."""
from qgis.core import QgsProcessingParameterString

CLUSTER = "CLUSTER"
CLUSTER_HELP = (
    "\n\nCLUSTER (advanced): empty runs in this process; local:N starts a Dask cluster of N worker "
    "processes on this machine for this run; a Dask scheduler address (tcp://host:8786) uses an "
    "existing cluster (its workers need Python with dask, distributed, numpy, scipy and GDAL, and "
    "torch for deep models; the plugin sends them its engine code). Inputs and outputs travel by path: "
    "the workers must see the same files at the same paths (a shared file system). The results are "
    "the same as in this process.")


def cluster_parameter(tr) -> QgsProcessingParameterString:
    """The optional CLUSTER string (add it with ``add_advanced``)."""
    return QgsProcessingParameterString(
        CLUSTER, tr("Cluster: empty = this process, local:N, or a Dask scheduler address tcp://host:port"),
        defaultValue="", optional=True)
