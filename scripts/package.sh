#!/usr/bin/env bash
# Builds DEST/lst_fusion_plugin.zip with pb_tool (files listed in pb_tool.cfg), deploying
# into a scratch plugin folder rather than the user's QGIS profile.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$repo"
.venv/bin/pb_tool deploy -y -p "$scratch" >/dev/null
find "$scratch" -name __pycache__ -prune -exec rm -rf {} +
.venv/bin/pb_tool zip -q -p "$scratch" >/dev/null
mv lst_fusion_plugin.zip "$dest/"
echo "package: $dest/lst_fusion_plugin.zip"
