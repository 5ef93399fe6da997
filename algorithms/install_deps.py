"""lstfusion:installdeps: install the pinned PyTorch (CPU or CUDA build) and numba for QGIS's Python."""
from qgis.core import (QgsProcessingOutputBoolean, QgsProcessingOutputString, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile)

from ..common.deps import NUMBA_VERSION, TORCH_VERSION
from ..common.installer import VARIANTS, plan_install, run_install
from .base import LstFusionAlgorithm
from .compat import PARAMETER_ADVANCED


class InstallDeps(LstFusionAlgorithm):
    """pip into the plugin's own dependency folder, with QGIS's Python; works headless too."""

    VARIANT = "VARIANT"
    WHEELS = "WHEELS"
    FOLDER = "FOLDER"
    INSTALLED = "INSTALLED"
    RESTART_NEEDED = "RESTART_NEEDED"

    NAME = "installdeps"
    DISPLAY_NAME = "Install deep-learning packages (PyTorch, numba)"
    GROUP = "Deep learning fusion"
    GROUP_ID = "deep"
    HELP = ("Installs PyTorch {torch} and numba {numba} (the versions this plugin is tested with) for "
            "QGIS's own Python, with pip, into the plugin's dependency folder (the Python that QGIS "
            "runs is not a virtual environment: nothing else is changed). PyTorch is needed by the "
            "deep-learning tools; numba makes ESTARFM several times faster.\n\n"
            "BUILD: the CPU build (about 200 MB), or the CUDA build for an NVIDIA GPU (several GB; "
            "needs an NVIDIA driver). pip's output is shown in the log; the tool can be cancelled, and "
            "a cancelled or failed run leaves the folder as it was.\n\n"
            "Afterwards the deep-learning tools work at once, unless this QGIS session already had "
            "another PyTorch loaded: the log then says that QGIS must be restarted.\n\n"
            "WHEELS (advanced): a folder of wheel files for an offline install (pip --no-index "
            "--find-links). Also in the Plugins menu (LST fusion > Install deep-learning packages).")
    HELP_ARGS = {"torch": TORCH_VERSION, "numba": NUMBA_VERSION}
    BUILDS = ["CPU", "CUDA (NVIDIA GPU)"]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        """BUILD, WHEELS -> FOLDER, INSTALLED, RESTART_NEEDED."""
        self.addParameter(QgsProcessingParameterEnum(self.VARIANT, self.tr("Build"), options=self.BUILDS,
                                                     defaultValue=0))
        wheels = QgsProcessingParameterFile(self.WHEELS, self.tr("Folder of wheel files (offline install)"),
                                            behavior=QgsProcessingParameterFile.Behavior.Folder, optional=True)
        wheels.setFlags(wheels.flags() | PARAMETER_ADVANCED)
        self.addParameter(wheels)
        self.addOutput(QgsProcessingOutputString(self.FOLDER, self.tr("Dependency folder")))
        self.addOutput(QgsProcessingOutputString(self.INSTALLED, self.tr("Packages installed")))
        self.addOutput(QgsProcessingOutputBoolean(self.RESTART_NEEDED, self.tr("QGIS must be restarted")))

    def process(self, parameters, context, feedback, progress):
        """Run pip, echoing its output to the log."""
        variant = VARIANTS[self.parameterAsEnum(parameters, self.VARIANT, context)]
        plan = plan_install(variant, find_links=self.parameterAsFile(parameters, self.WHEELS, context) or None)
        result = run_install(plan, progress, feedback.pushConsoleInfo)
        (feedback.pushWarning if result.restart_needed else feedback.pushInfo)(result.message)
        return {self.FOLDER: result.target, self.INSTALLED: ", ".join(result.installed),
                self.RESTART_NEEDED: result.restart_needed}
