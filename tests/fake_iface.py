"""A small stand-in for QGIS's QgisInterface with real widgets (main window, map canvas, message bar)."""
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtWidgets import QMainWindow, QToolBar


class FakeIface:
    """What the plugin's desktop code calls on ``iface``, recorded for the tests."""

    def __init__(self):
        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.window.setCentralWidget(self.canvas)
        self.bar = QgsMessageBar(self.window)
        self.toolbar = QToolBar(self.window)
        self.menus, self.docks, self.active = {}, [], None

    def mainWindow(self):  # noqa: N802 (QGIS's name)
        return self.window

    def mapCanvas(self):  # noqa: N802 (QGIS's name)
        return self.canvas

    def messageBar(self):  # noqa: N802 (QGIS's name)
        return self.bar

    def activeLayer(self):  # noqa: N802 (QGIS's name)
        return self.active

    def addPluginToMenu(self, menu, action):  # noqa: N802 (QGIS's name)
        self.menus.setdefault(menu, []).append(action)

    def removePluginMenu(self, menu, action):  # noqa: N802 (QGIS's name)
        self.menus[menu].remove(action)

    def addToolBarIcon(self, action):  # noqa: N802 (QGIS's name)
        self.toolbar.addAction(action)

    def removeToolBarIcon(self, action):  # noqa: N802 (QGIS's name)
        self.toolbar.removeAction(action)

    def addDockWidget(self, area, dock):  # noqa: N802 (QGIS's name)
        self.window.addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock):  # noqa: N802 (QGIS's name)
        self.window.removeDockWidget(dock)
        self.docks.remove(dock)
