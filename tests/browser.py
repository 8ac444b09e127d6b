"""Headless Chromium for the sheet tests: Debian's chromium + chromium-driver, never a downloaded browser.

``scripts/install_browser.sh`` installs them (with a font that prints Chinese, and poppler-utils and
zbar-tools to read back PDFs and QR codes) where root and apt allow; the tests are skipped with the
reason where they are absent.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing() -> str:
    try:
        import selenium  # noqa: F401  # only whether it imports
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{package} absent: run scripts/install_browser.sh (Debian chromium, chromium-driver)"
    return ""


MISSING = _missing()
needs_browser = pytest.mark.skipif(bool(MISSING), reason=MISSING or "")


class Page:
    """One headless Chromium driven through chromedriver (selenium), for measuring and printing pages."""

    def __init__(self) -> None:
        os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must never try to download a driver
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1"):
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: Path, width: int, media: str = "screen", height: int = 900) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
        self.driver.get(path.resolve().as_uri())

    def overflow(self) -> dict:
        """Page width beyond the viewport, and elements whose right edge passes it (px)."""
        return self.driver.execute_script(
            """
            const w = document.documentElement.clientWidth;
            const out = [];
            for (const el of document.body.querySelectorAll('*')) {
              const r = el.getBoundingClientRect();
              if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) out.push(el.tagName + '.' + el.className.baseVal + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
            }
            return {viewport: w, scroll: document.documentElement.scrollWidth, outside: out.slice(0, 10), count: out.length};
            """
        )

    def screenshot(self, out: Path) -> Path:
        """A full-page PNG."""
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        out.write_bytes(base64.b64decode(shot["data"]))
        return out

    def qr_shots(self, out_dir: Path, count: int = 3, scale: float = 4.0) -> list[tuple[str, Path]]:
        """PNG close-ups (``scale`` × CSS px) of the first ``count`` QR codes, each with its link's href."""
        found = self.driver.execute_script(
            """return Array.from(document.querySelectorAll('a.qr-link')).slice(0, arguments[0]).map(a => {
                 const r = a.querySelector('svg').getBoundingClientRect();
                 return [a.href, r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; });""",
            count,
        )
        shots = []
        for i, (href, x, y, w, h) in enumerate(found):
            clip = {"x": x - 4, "y": y - 4, "width": w + 8, "height": h + 8, "scale": scale}
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
            path = out_dir / f"qr-{i}.png"
            path.write_bytes(base64.b64decode(shot["data"]))
            shots.append((href, path))
        return shots

    def pdf(self, out: Path) -> Path:
        """Print to PDF as Chrome's print dialog would, on A4 portrait with the page's own margins."""
        result = self.driver.execute_cdp_cmd(
            "Page.printToPDF", {"paperWidth": 210 / 25.4, "paperHeight": 297 / 25.4, "landscape": False, "preferCSSPageSize": True, "printBackground": True}
        )
        out.write_bytes(base64.b64decode(result["data"]))
        return out
