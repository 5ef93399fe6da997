#!/usr/bin/env bash
# Installs everything the plugin, its tests and its demo need, idempotently:
# Debian packages (QGIS 3.22, GDAL, matplotlib, xvfb), a .venv on the system Python
# with --system-site-packages, and the pinned packages of requirements.txt.
# A second run checks and skips (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-matplotlib xvfb)

distro_check() {
  local version
  version=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo "")
  if [ "$version" != "12" ]; then
    echo "setup: this set-up supports Debian 12 (bookworm) with its QGIS 3.22;" >&2
    echo "setup: found '$(cat /etc/debian_version 2>/dev/null || echo 'no /etc/debian_version')'." >&2
    echo "setup: install QGIS >= 3.22 with its Python bindings yourself, then run" >&2
    echo "setup: 'LST_FUSION_SKIP_APT=1 make setup'." >&2
    exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: Debian packages present"
    return
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

venv_install() {
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv (system site packages visible)"
    /usr/bin/python3 -m venv --system-site-packages .venv
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: Python packages present"
    return
  fi
  echo "setup: installing pinned Python packages into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  echo "$want" > "$stamp"
}

qt6_check_install() {
  # QGIS's Qt 6 migration checker, in a venv of its own (PyQt6 and QGIS's PyQt5 cannot share one)
  local stamp=.venv-qt6/.requirements.sha256 want
  want=$(sha256sum scripts/qt6-check-requirements.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: Qt 6 migration checker present"
    return
  fi
  echo "setup: installing the Qt 6 migration checker into .venv-qt6"
  [ -x .venv-qt6/bin/python ] || /usr/bin/python3 -m venv .venv-qt6
  .venv-qt6/bin/python -m pip install -q --disable-pip-version-check --ignore-requires-python \
    -r scripts/qt6-check-requirements.txt
  echo "$want" > "$stamp"
}

if [ -z "${LST_FUSION_SKIP_APT:-}" ]; then
  distro_check
  apt_install
fi
venv_install
qt6_check_install
.venv/bin/python -c "import qgis.core, osgeo.gdal, torch, numpy" \
  || { echo "setup: the environment is incomplete (see the error above)" >&2; exit 1; }
echo "setup: ready (.venv: $(.venv/bin/python -c 'import torch, qgis.core; print("torch", torch.__version__, "| QGIS", qgis.core.Qgis.QGIS_VERSION)'))"
