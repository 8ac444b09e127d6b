#!/usr/bin/env bash
# Set up (first time only) and run the built-in demo: a synthetic drone flight, detected end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/scout demo --overwrite "$@"
