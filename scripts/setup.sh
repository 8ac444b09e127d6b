#!/usr/bin/env bash
# Set up Scout in a virtual environment inside the checkout (.venv). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# Quick path: everything already installed at the pinned versions.
if .venv/bin/python -c "import scout, torch, rasterio, geopandas, ortools, gpxpy, distributed, pytest, hypothesis, onnxruntime, ruff, mypy" >/dev/null 2>&1 \
    && [ "$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')" = "2.14.1" ] \
    && [ .venv/.scout-installed -nt pyproject.toml ]; then
    exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q -e ".[test,onnx]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import scout, torch; print('scout', scout.__version__, 'torch', torch.__version__)" >&2
touch .venv/.scout-installed
