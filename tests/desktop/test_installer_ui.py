"""The desktop installer: dialog (offline wheels), the one-time start-up offer, menu entries, headless safety."""
import os
import subprocess
import sys
import time

import pytest
from conftest import PLUGINS_DIR
from fake_iface import FakeIface
from lst_fusion_plugin.desktop import startup_offer
from lst_fusion_plugin.desktop.installer_dialog import InstallerDialog
from qgis.PyQt.QtCore import QSettings
from qgis.PyQt.QtWidgets import QApplication, QPushButton
from wheels import make_wheel


def wait_until(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    assert condition()


@pytest.fixture
def wheels(tmp_path, monkeypatch):
    """A wheel folder with dummy torch/numba/llvmlite at the pinned versions; sys.path restored after."""
    from lst_fusion_plugin.common.deps import (
        LLVMLITE_VERSION,
        NUMBA_VERSION,
        TORCH_VERSION,
    )

    monkeypatch.setattr(sys, "path", list(sys.path))
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name, version in (("torch", TORCH_VERSION), ("numba", NUMBA_VERSION), ("llvmlite", LLVMLITE_VERSION)):
        make_wheel(folder, name, version)
    return folder


def test_dialog_installs_from_a_wheel_folder_and_shows_pips_output(qgis_app, tmp_path, wheels):
    dialog = InstallerDialog(target=str(tmp_path / "deps"))
    assert str(tmp_path / "deps") in dialog.findChildren(type(dialog.status))[0].text()
    dialog.wheels.setText(str(wheels))
    dialog.install_button.click()
    assert not dialog.install_button.isEnabled() and dialog.cancel_button.isEnabled()
    wait_until(lambda: dialog.install_button.isEnabled())
    text = dialog.output.toPlainText()
    assert "Successfully installed torch-" in text and "--no-index" in text
    assert dialog.progress.value() == 100
    assert "without a restart" in dialog.status.text()
    assert os.path.isfile(tmp_path / "deps" / "numba" / "__init__.py")


def test_dialog_cancel_stops_pip(qgis_app, tmp_path, wheels):
    dialog = InstallerDialog(target=str(tmp_path / "deps"))
    dialog.wheels.setText(str(wheels))
    dialog.install_button.click()
    dialog.cancel_button.click()
    wait_until(lambda: dialog.install_button.isEnabled())
    assert "cancelled" in dialog.status.text().lower()
    assert not (tmp_path / "deps" / "torch").exists()


def test_dialog_reports_a_missing_wheel_folder(qgis_app, tmp_path):
    dialog = InstallerDialog(target=str(tmp_path / "deps"))
    dialog.wheels.setText(str(tmp_path / "none"))
    dialog.install_button.click()
    wait_until(lambda: dialog.install_button.isEnabled())
    assert "wheel folder does not exist" in dialog.status.text()


@pytest.fixture
def settings(tmp_path):
    """A settings file of the test's own (QgsSettings would write to the session's profile)."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def test_offer_is_shown_once_without_torch_and_never_with_it(qgis_app, settings, monkeypatch):
    iface = FakeIface()
    opened = []
    monkeypatch.setattr(startup_offer, "torch_missing", lambda: False)
    assert not startup_offer.offer_torch_install(iface.messageBar(), lambda: opened.append(1), settings)
    monkeypatch.setattr(startup_offer, "torch_missing", lambda: True)
    assert startup_offer.offer_torch_install(iface.messageBar(), lambda: opened.append(1), settings)
    item = iface.messageBar().currentItem()
    assert "need PyTorch" in item.text()
    item.findChildren(QPushButton)[-1].click()
    assert opened == [1] and iface.messageBar().currentItem() is None
    assert not startup_offer.offer_torch_install(iface.messageBar(), lambda: None, settings)  # one time only


def test_desktop_ui_adds_and_removes_its_menu_entry(qgis_app, monkeypatch):
    from lst_fusion_plugin.desktop.ui import MENU, DesktopUi

    monkeypatch.setattr(startup_offer, "torch_missing", lambda: False)
    iface = FakeIface()
    ui = DesktopUi(iface)
    ui.init()
    titles = [action.text() for action in iface.menus[MENU]]
    assert "Install deep-learning packages (PyTorch, numba)…" in titles
    iface.menus[MENU][0].trigger()
    assert ui.installer.isVisible()
    ui.unload()
    assert iface.menus[MENU] == [] and ui.installer is None


HEADLESS_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
from lst_fusion_plugin import classFactory
plugin = classFactory(None); plugin.initProcessing()
print(sorted(m for m in sys.modules if m.startswith('lst_fusion_plugin.desktop')))
"""


def test_headless_load_imports_no_desktop_code():
    done = subprocess.run([sys.executable, "-c", HEADLESS_PROBE, PLUGINS_DIR], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
