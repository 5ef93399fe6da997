"""The 'Install deep-learning packages' dialog: build choice, pip's output, progress, cancel, outcome."""
from qgis.PyQt.QtCore import QThread, pyqtSignal
from qgis.PyQt.QtGui import QFontDatabase
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from ..common.deps import NUMBA_VERSION, TORCH_VERSION
from ..common.errors import Cancelled, InputError
from ..common.installer import (
    InstallPlan,
    nvidia_driver_present,
    plan_install,
    run_install,
)
from ..common.progress import Progress


class InstallWorker(QThread):
    """Runs the installer engine off the GUI thread; talks back through signals."""

    line = pyqtSignal(str)
    percent = pyqtSignal(float)
    finished_with = pyqtSignal(bool, bool, str)
    """(succeeded, restart needed, message)."""

    def __init__(self, plan: InstallPlan, parent=None):
        super().__init__(parent)
        self.plan = plan
        self.cancelled = False

    def run(self):  # noqa: D102 (QThread's entry point)
        progress = Progress(report=self.percent.emit, is_cancelled=lambda: self.cancelled)
        try:
            result = run_install(self.plan, progress, self.line.emit)
        except (Cancelled, InputError) as err:
            self.finished_with.emit(False, False, str(err))
            return
        self.finished_with.emit(True, result.restart_needed, result.message)


class InstallerDialog(QDialog):
    """Lets the user install the pinned PyTorch (CPU or CUDA build) and numba for QGIS's Python."""

    def __init__(self, parent=None, target=None):
        super().__init__(parent)
        self.target, self.worker = target, None
        self.setWindowTitle(self.tr("LST fusion: install deep-learning packages"))
        self.resize(720, 480)
        layout = QVBoxLayout(self)
        folder = plan_install("cpu", target).target
        layout.addWidget(QLabel(self.tr(
            "PyTorch {torch} and numba {numba} will be installed with pip for QGIS's own Python, "
            "into the plugin's folder:\n{folder}").format(torch=TORCH_VERSION, numba=NUMBA_VERSION,
                                                          folder=folder)))
        self.cpu = QRadioButton(self.tr("CPU build (about 200 MB)"))
        self.cuda = QRadioButton(self.tr("CUDA build for an NVIDIA GPU (several GB)"))
        self.cpu.setChecked(True)
        driver = nvidia_driver_present()
        self.cuda.setEnabled(driver)
        if not driver:
            self.cuda.setToolTip(self.tr("No NVIDIA driver found on this computer."))
        self.builds = QButtonGroup(self)
        for button in (self.cpu, self.cuda):
            self.builds.addButton(button)
            layout.addWidget(button)
        wheels = QHBoxLayout()
        self.wheels = QLineEdit()
        self.wheels.setPlaceholderText(self.tr("Optional: a folder of wheel files, for an offline install"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self.choose_wheels)
        wheels.addWidget(self.wheels)
        wheels.addWidget(browse)
        layout.addLayout(wheels)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.output)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.install_button = QPushButton(self.tr("Install"))
        self.cancel_button = QPushButton(self.tr("Cancel installation"))
        self.close_button = QPushButton(self.tr("Close"))
        self.cancel_button.setEnabled(False)
        self.install_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        for button in (self.install_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def choose_wheels(self):
        """Pick the offline wheel folder."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder of wheel files"))
        if folder:
            self.wheels.setText(folder)

    def start(self):
        """Plan and start the installation in a worker thread."""
        try:
            plan = plan_install("cuda" if self.cuda.isChecked() else "cpu", self.target,
                                self.wheels.text().strip() or None)
        except InputError as err:
            self.status.setText(str(err))
            return
        self.output.clear()
        self.progress.setValue(0)
        self.status.setText(self.tr("Installing…"))
        self.worker = InstallWorker(plan, self)
        self.worker.line.connect(self.output.appendPlainText)
        self.worker.percent.connect(lambda value: self.progress.setValue(int(value)))
        self.worker.finished_with.connect(self.finish)
        self.install_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.worker.start()

    def cancel(self):
        """Ask the worker to stop pip."""
        if self.worker is not None:
            self.worker.cancelled = True
            self.status.setText(self.tr("Cancelling…"))

    def finish(self, succeeded: bool, restart: bool, message: str):
        """Show the outcome; a needed restart is said in bold."""
        if self.worker is not None:
            self.worker.wait()
        self.install_button.setEnabled(True)
        self.close_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if succeeded:
            self.progress.setValue(100)
        self.status.setText(f"<b>{message}</b>" if restart or not succeeded else message)

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        """Never leave pip running behind a closed dialog."""
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancelled = True
            self.worker.wait()
        super().closeEvent(event)
