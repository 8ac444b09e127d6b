#!/usr/bin/env bash
# Set up (first time only) and run Scout's tests. QGIS is installed when this machine allows it
# (root + apt); the QGIS tests are skipped, with the reason, only where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "${SCOUT_SKIP_QGIS:-0}" != "1" ] && [ -x scripts/install_qgis.sh ]; then
    ./scripts/install_qgis.sh || echo "QGIS could not be installed; its tests will be skipped" >&2
fi
exec .venv/bin/python -m pytest -q "$@"
