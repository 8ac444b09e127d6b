#!/usr/bin/env bash
# Set up (first time only), lint and type-check (ruff, mypy: settings in pyproject.toml), and run
# Scout's tests. QGIS and headless Chromium are installed when this machine allows it (root + apt);
# their tests are skipped, with the reason, only where they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "${SCOUT_SKIP_QGIS:-0}" != "1" ] && [ -x scripts/install_qgis.sh ]; then
    ./scripts/install_qgis.sh || echo "QGIS could not be installed; its tests will be skipped" >&2
fi
if [ "${SCOUT_SKIP_BROWSER:-0}" != "1" ] && [ -x scripts/install_browser.sh ]; then
    ./scripts/install_browser.sh || echo "Chromium could not be installed; the sheet browser tests will be skipped" >&2
fi
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
