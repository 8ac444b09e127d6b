#!/usr/bin/env bash
# Install Debian's headless Chromium and its driver for the task-sheet tests, with a font that prints
# Chinese (WenQuanYi Zen Hei) and poppler-utils / zbar-tools to read back the PDFs and QR codes.
# Idempotent: a quick no-op when they are there. Never downloads a browser of its own.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v pdftotext >/dev/null \
    && command -v zbarimg >/dev/null && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-zenhei poppler-utils zbar-tools >/dev/null
chromium --version
