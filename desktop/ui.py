"""The plugin's desktop entries: the Plugins menu, the toolbar, the start-up offer, their removal."""
import os

from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .installer_dialog import InstallerDialog
from .startup_offer import offer_torch_install

MENU = "&LST fusion"
ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.svg")


class DesktopUi:
    """Adds and removes the desktop entries; ``iface`` is QGIS's QgisInterface."""

    def __init__(self, iface):
        self.iface = iface
        self.actions = []
        self.installer = None

    def init(self):
        """Menu entry for the installer; the one-time offer when PyTorch is missing."""
        install = QAction(QIcon(ICON), "Install deep-learning packages (PyTorch, numba)…", self.iface.mainWindow())
        install.triggered.connect(self.open_installer)
        self.iface.addPluginToMenu(MENU, install)
        self.actions.append(install)
        offer_torch_install(self.iface.messageBar(), self.open_installer)

    def open_installer(self):
        """Show the installer dialog (one per session, raised when already open)."""
        if self.installer is None:
            self.installer = InstallerDialog(self.iface.mainWindow())
        self.installer.show()
        self.installer.raise_()

    def unload(self):
        """Remove every entry this class added."""
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
        self.actions = []
        if self.installer is not None:
            self.installer.close()
            self.installer.deleteLater()
            self.installer = None
