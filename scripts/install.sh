#!/usr/bin/env bash
# Deploys the plugin into a QGIS profile for desktop use, enables it, and installs
# the pinned torch (and the optional numba) into the plugin-owned folder that the plugin adds to sys.path.
#   QGIS_PROFILE_DIR  profile folder (default: ~/.local/share/QGIS/QGIS3/profiles/default)
#   LST_FUSION_DEPS   folder for torch (default: see common/deps.py)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
profile="${QGIS_PROFILE_DIR:-$HOME/.local/share/QGIS/QGIS3/profiles/default}"
target="$profile/python/plugins/lst_fusion_plugin"

echo "install: deploying the plugin to $target"
rm -rf "$target.new"
mkdir -p "$target.new"
(cd "$repo" && cp -r __init__.py lst_fusion_plugin.py provider.py metadata.txt README.md LICENSE \
   algorithms common preprocessing evaluation simulation models workflows resources "$target.new"/)
find "$target.new" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$target" && mv "$target.new" "$target"

ini="$profile/QGIS/QGIS3.ini"
mkdir -p "$(dirname "$ini")"
"$repo/.venv/bin/python" - "$ini" <<'PY'
import configparser, sys
ini = sys.argv[1]
cfg = configparser.RawConfigParser()
cfg.optionxform = str
cfg.read(ini)
if not cfg.has_section("PythonPlugins"):
    cfg.add_section("PythonPlugins")
cfg.set("PythonPlugins", "lst_fusion_plugin", "true")
with open(ini, "w") as f:
    cfg.write(f, space_around_delimiters=False)
PY
echo "install: enabled in $ini"

deps=$(cd "$repo" && /usr/bin/python3 -c "from common.deps import deps_dir; print(deps_dir())")
version=$(cd "$repo" && /usr/bin/python3 -c "from common.deps import TORCH_VERSION; print(TORCH_VERSION)")
if PYTHONPATH="$deps" /usr/bin/python3 -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; then
  echo "install: torch $version present in $deps"
else
  echo "install: installing torch $version into $deps (QGIS's Python finds it there)"
  "$repo/.venv/bin/python" -m pip install -q --disable-pip-version-check --target "$deps" \
      "torch==$version" -c "$repo/constraints.txt"
fi
# optional: numba speeds up ESTARFM several times (the plugin works without it)
numba_version=$(grep -E '^numba==' "$repo/requirements.txt" | cut -d= -f3)
llvmlite_version=$(grep -E '^llvmlite==' "$repo/requirements.txt" | cut -d= -f3)
if PYTHONPATH="$deps" /usr/bin/python3 -c "import numba, sys; sys.exit(numba.__version__ != '$numba_version')" 2>/dev/null; then
  echo "install: numba $numba_version present"
else
  echo "install: installing numba $numba_version into $deps (optional: faster ESTARFM)"
  "$repo/.venv/bin/python" -m pip install -q --disable-pip-version-check --target "$deps" \
      "numba==$numba_version" "llvmlite==$llvmlite_version" -c "$repo/constraints.txt" \
      || echo "install: numba could not be installed; ESTARFM uses its numpy path"
fi
# lstfusion:download searches STAC APIs with pystac-client
pystac_client_version=$(grep -E '^pystac-client==' "$repo/requirements.txt" | cut -d= -f3)
pystac_version=$(grep -E '^pystac==' "$repo/requirements.txt" | cut -d= -f3)
if PYTHONPATH="$deps" /usr/bin/python3 -c "import pystac_client, sys; sys.exit(pystac_client.__version__ != '$pystac_client_version')" 2>/dev/null; then
  echo "install: pystac-client $pystac_client_version present"
else
  echo "install: installing pystac-client $pystac_client_version into $deps (lstfusion:download)"
  "$repo/.venv/bin/python" -m pip install -q --disable-pip-version-check --target "$deps" \
      "pystac-client==$pystac_client_version" "pystac==$pystac_version" -c "$repo/constraints.txt"
fi
echo "install: done. Start QGIS: Processing Toolbox > LST fusion."
