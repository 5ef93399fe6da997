"""Check a plugin ZIP against the QGIS plugin repository's upload rules, before uploading it.

The rules (plugins.qgis.org's validator): at most 25 MB; a readable archive
without '..' or absolute paths, .pyc files or __pycache__/.git/__MACOSX folders;
one top folder named like a Python identifier holding __init__.py, metadata.txt
(section [general] with name, description, version, qgisMinimumVersion, author,
email, about, tracker, repository) and LICENSE; true/false flags; an author
without '/'; tracker, repository and homepage as absolute http(s) URLs other than
the template placeholders (the site also fetches them: that needs the network and
is not checked here). Added here: no compiled code (.so, .pyd, .dll, .dylib, .pyo,
numba caches), no tests, an icon that exists in the archive.

Usage: ``python3 scripts/check_plugin_zip.py dist/lst_fusion_plugin.zip``; prints
the problems and exits 1 when there is one.
"""
import configparser
import io
import os
import re
import sys
import zipfile
from urllib.parse import urlparse

MAX_BYTES = 25_000_000
REQUIRED = ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about", "tracker",
            "repository")
FLAGS = ("experimental", "deprecated", "server", "supportsQt6")
PLACEHOLDER_URLS = {"tracker": "http://bugs", "repository": "http://repo", "homepage": "http://homepage"}
FORBIDDEN_DIRS = ("__pycache__", ".git", "__MACOSX", "tests")
COMPILED = (".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".nbi", ".nbc")


def problems(path: str, max_bytes: int = MAX_BYTES):
    """The list of rule violations of the ZIP at ``path`` ([] when it can be uploaded)."""
    found = []
    if os.path.getsize(path) > max_bytes:
        found.append(f"too big: {os.path.getsize(path)} bytes (at most {max_bytes})")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return found + ["not a readable ZIP file"]
    with archive:
        names = archive.namelist()
        for name in names:
            parts = name.split("/")
            if ".." in parts or name.startswith("/"):
                found.append(f"path information in the archive: {name}")
            if name.lower().endswith(COMPILED):
                found.append(f"compiled file: {name}")
            found += [f"forbidden folder {d}: {name}" for d in FORBIDDEN_DIRS if d in parts[:-1]]
        bad = archive.testzip()
        if bad:
            found.append(f"corrupt member (CRC error): {bad}")
        tops = sorted({name.split("/")[0] for name in names})
        if len(tops) != 1 or not all("/" in name for name in names):
            return found + [f"the archive must hold exactly one top folder (found {', '.join(tops)})"]
        top = tops[0]
        if not top.isidentifier() or not re.match(r"^[A-Za-z][A-Za-z0-9_-]+$", top):
            found.append(f"the top folder '{top}' is not a valid Python identifier")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{top}/{required}" not in names:
                found.append(f"missing {top}/{required}")
        if f"{top}/metadata.txt" in names:
            found += metadata_problems(archive.read(f"{top}/metadata.txt").decode("utf-8"), top, names)
    return found


def metadata_problems(text: str, top: str, names):
    """Rule violations of a metadata.txt's content."""
    parser = configparser.ConfigParser()
    parser.optionxform = str
    try:
        parser.read_file(io.StringIO(text))
    except configparser.Error as err:
        return [f"metadata.txt cannot be parsed: {err}"]
    if not parser.has_section("general"):
        return ["metadata.txt has no [general] section"]
    general = parser["general"]
    found = [f"metadata.txt lacks '{key}'" for key in REQUIRED if not general.get(key, "").strip()]
    for flag in FLAGS:
        if flag in general and general[flag].strip().lower() not in ("true", "false", "1", "0"):
            found.append(f"metadata.txt: {flag} must be True or False, not '{general[flag]}'")
    if "/" in general.get("author", ""):
        found.append("metadata.txt: the author cannot contain '/'")
    for key, placeholder in PLACEHOLDER_URLS.items():
        url = general.get(key, "").strip()
        if key == "homepage" and not url:
            continue
        parsed = urlparse(url)
        if url == placeholder or parsed.scheme not in ("http", "https") or not parsed.netloc:
            found.append(f"metadata.txt: {key} is not a usable web address: '{url}'")
    icon = general.get("icon", "").strip()
    if icon and f"{top}/{icon.removeprefix('./')}" not in names:
        found.append(f"metadata.txt: the icon {icon} is not in the archive")
    return found


def main(argv=None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    failed = False
    for path in paths:
        for problem in problems(path):
            sys.stderr.write(f"{path}: {problem}\n")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
