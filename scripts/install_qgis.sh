#!/usr/bin/env bash
# Install Debian's QGIS (3.22) so tests can load Scout's projects headless.
# Idempotent: a quick no-op when the system python already imports qgis.
set -euo pipefail

if /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends qgis python3-qgis qgis-providers >/dev/null
/usr/bin/python3 -c "import qgis.core; print('QGIS', qgis.core.Qgis.QGIS_VERSION)"
