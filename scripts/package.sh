#!/usr/bin/env bash
# Builds DEST/lst_fusion_plugin.zip with pb_tool (files listed in pb_tool.cfg), deploying into a
# scratch plugin folder rather than the user's QGIS profile; metadata's changelog is generated from
# CHANGELOG.md, caches and compiled files are left out, and the ZIP must pass the QGIS plugin
# repository's upload checks (scripts/check_plugin_zip.py).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$repo"
.venv/bin/pb_tool deploy -y -p "$scratch" >/dev/null
plugin="$scratch/lst_fusion_plugin"
python3 scripts/changelog.py --write "$plugin/metadata.txt"
find "$plugin" -name __pycache__ -prune -exec rm -rf {} +
find "$plugin" -type f \( -name '*.pyc' -o -name '*.pyo' -o -name '*.so' -o -name '*.nbi' -o -name '*.nbc' \) -delete
.venv/bin/pb_tool zip -q -p "$scratch" >/dev/null
mv lst_fusion_plugin.zip "$dest/"
python3 scripts/check_plugin_zip.py "$dest/lst_fusion_plugin.zip"
echo "package: $dest/lst_fusion_plugin.zip (passes the plugin repository's upload checks)"
