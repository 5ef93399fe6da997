"""The zip that users install from is complete and loads as a plugin."""
import os
import subprocess
import sys
import zipfile

from conftest import REPO


def test_zip_holds_a_loadable_plugin(tmp_path):
    done = subprocess.run(["bash", os.path.join(REPO, "scripts", "package.sh"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    archive = tmp_path / "lst_fusion_plugin.zip"
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "plugins")
    for required in ("__init__.py", "metadata.txt", "lst_fusion_plugin.py", "provider.py",
                     "algorithms/align_to_fine.py", "common/raster_io.py", "models/deep/predict.py",
                     "workflows/fuse_series.py", "resources/icon.svg", "resources/lst_kelvin.qml",
                     "resources/processing_models/downloadtoseries.model3", "LICENSE"):
        assert f"lst_fusion_plugin/{required}" in names, required
    assert not any("__pycache__" in n or n.startswith("lst_fusion_plugin/tests") for n in names)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import lst_fusion_plugin as p; "
             "assert p.__file__.startswith(sys.argv[1]); p.classFactory(None); print('ok')")
    loaded = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "plugins")],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert loaded.stdout.strip() == "ok", loaded.stderr
