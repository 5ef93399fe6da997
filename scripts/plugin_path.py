"""Puts this checkout on ``sys.path`` as the package ``lst_fusion_plugin``, for tests, scripts and benchmarks.

The repository root *is* the plugin folder, whatever the clone is called, so a link
``.build/plugins/lst_fusion_plugin`` -> repository root gives it its real package name
(the same link serves ``scripts/qgis-process``). Scripts in ``scripts/`` import this
module directly; tests and benchmarks first add ``scripts/`` to ``sys.path``.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGINS_DIR = os.path.join(REPO, ".build", "plugins")


def link_plugin() -> str:
    """Create (or repair) the link and put its folder first on ``sys.path``; return that folder."""
    link = os.path.join(PLUGINS_DIR, "lst_fusion_plugin")
    os.makedirs(PLUGINS_DIR, exist_ok=True)
    if not os.path.islink(link) or os.path.realpath(link) != os.path.realpath(REPO):
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(REPO, link)
    if PLUGINS_DIR not in sys.path:
        sys.path.insert(0, PLUGINS_DIR)
    return PLUGINS_DIR
