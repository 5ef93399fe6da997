"""The plugin class: registers the Processing provider (headless too), adds the desktop entries in QGIS desktop."""
from qgis.core import QgsApplication

from .provider import LstFusionProvider


class LstFusionPlugin:
    """Registers the 'LST fusion' Processing provider; in the desktop, its menu, toolbar and offers too."""

    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None
        self.ui = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        """Add the provider to the registry (called by QGIS desktop and qgis_process)."""
        if self.provider is None:
            provider = LstFusionProvider()
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):  # noqa: N802 (QGIS's name)
        """Desktop start: the algorithms appear in the Processing toolbox, the desktop entries in the GUI."""
        self.initProcessing()
        if self.iface is not None:
            from .desktop.ui import DesktopUi  # Qt widgets: loaded in the desktop only, never headless

            self.ui = DesktopUi(self.iface)
            self.ui.init()

    def unload(self):
        """Remove the desktop entries and the provider."""
        if self.ui is not None:
            self.ui.unload()
            self.ui = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
