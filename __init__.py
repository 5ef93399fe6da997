"""QGIS plugin entry point: ``classFactory`` (works with ``iface=None``, as qgis_process calls it)."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """Create the plugin; ``iface`` is None in qgis_process and headless runs."""
    from .common.deps import add_deps_to_path
    add_deps_to_path()
    from .lst_fusion_plugin import LstFusionPlugin
    return LstFusionPlugin(iface)
