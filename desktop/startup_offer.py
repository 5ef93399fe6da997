"""The one-time message bar offer to install PyTorch, shown at desktop start-up when torch is missing."""
import importlib.util

from qgis.core import Qgis, QgsSettings
from qgis.PyQt.QtWidgets import QPushButton

SETTING = "lst_fusion/torch_install_offered"
"""Set once the offer was shown: it is never repeated (the menu entry stays)."""


def torch_missing() -> bool:
    """True when ``import torch`` would fail in this Python (the plugin's deps folder included)."""
    return importlib.util.find_spec("torch") is None


def offer_torch_install(message_bar, open_installer, settings=None) -> bool:
    """Push a non-modal offer with an 'Install…' button onto ``message_bar``, once; True when shown."""
    settings = settings if settings is not None else QgsSettings()
    if not torch_missing() or settings.value(SETTING, False, type=bool):
        return False
    settings.setValue(SETTING, True)
    item = message_bar.createMessage(
        "LST fusion", "The deep-learning tools need PyTorch, which QGIS's Python does not have yet.")
    button = QPushButton("Install…", item)
    button.clicked.connect(open_installer)
    button.clicked.connect(lambda: message_bar.popWidget(item))
    item.layout().addWidget(button)
    message_bar.pushWidget(item, Qgis.MessageLevel.Info, 0)
    return True
