"""make zip: the ZIP passes the QGIS plugin repository's upload checks; metadata's changelog comes from CHANGELOG.md."""
import configparser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))
import changelog  # noqa: E402
import check_plugin_zip  # noqa: E402


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(["bash", os.path.join(REPO, "scripts", "package.sh"), str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "passes the plugin repository's upload checks" in done.stdout
    return out / "lst_fusion_plugin.zip"


def test_the_zip_passes_the_upload_checks(built_zip):
    assert check_plugin_zip.problems(str(built_zip)) == []
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        metadata = archive.read("lst_fusion_plugin/metadata.txt").decode("utf-8")
    assert {"lst_fusion_plugin/desktop/ui.py", "lst_fusion_plugin/CHANGELOG.md",
            "lst_fusion_plugin/common/installer.py"} <= names
    with open(os.path.join(REPO, "CHANGELOG.md"), encoding="utf-8") as handle:
        assert changelog.changelog_field(handle.read()) in metadata
    assert os.path.getsize(built_zip) < check_plugin_zip.MAX_BYTES


def test_repository_metadata_matches_the_changelog():
    done = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "changelog.py"), "--check",
                           os.path.join(REPO, "metadata.txt")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    meta = configparser.ConfigParser()
    meta.read(os.path.join(REPO, "metadata.txt"), encoding="utf-8")
    for key in check_plugin_zip.REQUIRED + ("homepage", "changelog"):
        assert meta["general"].get(key, "").strip(), key


def test_changelog_check_catches_a_stale_field_and_a_version_mismatch(tmp_path):
    stale = tmp_path / "metadata.txt"
    shutil.copyfile(os.path.join(REPO, "metadata.txt"), stale)
    text = stale.read_text(encoding="utf-8")
    stale.write_text(changelog.replace_field(text, "changelog=old news"), encoding="utf-8")
    script = os.path.join(REPO, "scripts", "changelog.py")
    check = subprocess.run([sys.executable, script, "--check", str(stale)], capture_output=True, text=True)
    assert check.returncode == 1 and "differs from CHANGELOG.md" in check.stderr
    assert subprocess.run([sys.executable, script, "--write", str(stale)]).returncode == 0
    assert stale.read_text(encoding="utf-8") == text
    stale.write_text(text.replace("version=0.1.0", "version=9.9.9"), encoding="utf-8")
    check = subprocess.run([sys.executable, script, "--check", str(stale)], capture_output=True, text=True)
    assert check.returncode == 1 and "is not CHANGELOG.md's latest" in check.stderr


def test_changelog_parsing():
    markdown = "# Changelog\n\n## 0.2.0\n- b\n- c\n\n## 0.1.0\n- a\n"
    assert changelog.versions(markdown) == [("0.2.0", ["b", "c"]), ("0.1.0", ["a"])]
    assert changelog.changelog_field(markdown) == "changelog=\n    0.2.0\n    - b\n    - c\n    0.1.0\n    - a"
    meta = "[general]\nname=x\nchangelog=\n    old\n    - item\nserver=False\n"
    assert changelog.replace_field(meta, "changelog=new") == "[general]\nname=x\nchangelog=new\nserver=False\n"


def rezip(source, target, drop=(), add=None, edit_metadata=None):
    """A copy of a ZIP with members dropped, added ({name: bytes}) or metadata.txt edited."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name in drop:
                continue
            data = old.read(name)
            if edit_metadata and name.endswith("/metadata.txt") and name.count("/") == 1:
                data = edit_metadata(data.decode("utf-8")).encode("utf-8")
            new.writestr(name, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return str(target)


@pytest.mark.parametrize("change, expected", [
    (dict(add={"lst_fusion_plugin/common/__pycache__/x.cpython-311.pyc": b"0"}), "compiled file"),
    (dict(add={"lst_fusion_plugin/common/__pycache__/x.txt": b"0"}), "forbidden folder __pycache__"),
    (dict(add={"lst_fusion_plugin/models/kernel.so": b"0"}), "compiled file"),
    (dict(add={"other/readme.txt": b"0"}), "exactly one top folder"),
    (dict(drop=("lst_fusion_plugin/LICENSE",)), "missing lst_fusion_plugin/LICENSE"),
    (dict(edit_metadata=lambda t: t.replace("tracker=https://", "tracker=ftp://")), "tracker is not a usable"),
    (dict(edit_metadata=lambda t: t.replace("\nemail=", "\nemailx=")), "lacks 'email'"),
    (dict(edit_metadata=lambda t: t.replace("supportsQt6=True", "supportsQt6=maybe")), "supportsQt6 must be"),
    (dict(edit_metadata=lambda t: t.replace("icon=resources/icon.svg", "icon=resources/none.svg")), "icon"),
])
def test_the_checker_catches_each_rule(built_zip, tmp_path, change, expected):
    broken = rezip(built_zip, tmp_path / "broken.zip", **change)
    found = check_plugin_zip.problems(broken)
    assert any(expected in problem for problem in found), found


def test_the_checker_catches_size_and_unreadable_archives(built_zip, tmp_path):
    assert any("too big" in p for p in check_plugin_zip.problems(str(built_zip), max_bytes=1000))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert check_plugin_zip.problems(str(junk)) == ["not a readable ZIP file"]
