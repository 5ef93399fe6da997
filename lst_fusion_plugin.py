"""The plugin class: registers the Processing provider (headless too) and removes it on unload."""
from qgis.core import QgsApplication

from .provider import LstFusionProvider


class LstFusionPlugin:
    """Registers the 'LST fusion' Processing provider; has no GUI of its own."""

    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        """Add the provider to the registry (called by QGIS desktop and qgis_process)."""
        if self.provider is None:
            provider = LstFusionProvider()
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):  # noqa: N802 (QGIS's name)
        """Desktop start: the algorithms appear in the Processing toolbox."""
        self.initProcessing()

    def unload(self):
        """Remove the provider."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
