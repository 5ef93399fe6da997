"""The plugin's desktop entries: the Plugins menu, the toolbar, the start-up offer, their removal."""
import os

from qgis.core import Qgis
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .installer_dialog import InstallerDialog
from .pixel_dock import PixelSeriesDock
from .pixel_tool import PixelSeriesTool
from .startup_offer import offer_torch_install

MENU = "&LST fusion"
ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.svg")


class DesktopUi:
    """Adds and removes the desktop entries; ``iface`` is QGIS's QgisInterface."""

    def __init__(self, iface):
        self.iface = iface
        self.actions = []
        self.installer = None
        self.dock = None
        self.tool = None

    def init(self):
        """Menu entry for the installer; the one-time offer when PyTorch is missing."""
        install = QAction(QIcon(ICON), "Install deep-learning packages (PyTorch, numba)…", self.iface.mainWindow())
        install.triggered.connect(self.open_installer)
        self.iface.addPluginToMenu(MENU, install)
        self.actions.append(install)
        pixel = QAction(QIcon(ICON), "LST pixel time series (click a fused series)", self.iface.mainWindow())
        pixel.setCheckable(True)
        pixel.toggled.connect(self.toggle_pixel_tool)
        self.iface.addPluginToMenu(MENU, pixel)
        self.iface.addToolBarIcon(pixel)
        self.actions.append(pixel)
        self.tool = PixelSeriesTool(self.iface.mapCanvas(), self.show_series, self.warn, self.iface.activeLayer)
        self.tool.setAction(pixel)
        offer_torch_install(self.iface.messageBar(), self.open_installer)

    def open_installer(self):
        """Show the installer dialog (one per session, raised when already open)."""
        if self.installer is None:
            self.installer = InstallerDialog(self.iface.mainWindow())
        self.installer.show()
        self.installer.raise_()

    def toggle_pixel_tool(self, on: bool):
        """Make the pixel time-series tool the canvas's map tool (or give the canvas back)."""
        canvas = self.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.tool)
        elif canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)

    def show_series(self, series):
        """Plot a pixel's series in the dock (created on first use)."""
        if self.dock is None:
            self.dock = PixelSeriesDock(self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.show_series(series)
        self.dock.show()

    def warn(self, text: str):
        """A warning in the message bar (never a modal dialog)."""
        self.iface.messageBar().pushMessage("LST fusion", text, Qgis.MessageLevel.Warning, 8)

    def unload(self):
        """Remove every entry this class added."""
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
        self.actions = []
        if self.tool is not None:
            self.iface.mapCanvas().unsetMapTool(self.tool)
            self.tool = None
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.installer is not None:
            self.installer.close()
            self.installer.deleteLater()
            self.installer = None
