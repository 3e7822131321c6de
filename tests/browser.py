"""Headless Chromium for the tests that look at what people read (the certificate, the
trace): Debian's ``chromium`` and ``chromium-driver`` through Selenium. Screenshots
land in reports/screenshots/ (git-ignored) so a person can look at them after a run.
Without Chromium or its driver the tests skip, saying what to install."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from evrig.rig import pdf

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "reports" / "screenshots"
A4_PX = (794, 1123)  # A4 at the browser's 96 px per inch, portrait (w, h)
INSTALL = "apt-get install chromium chromium-driver (Debian), then pip install selenium"


def chromium_or_skip() -> str:
    exe = pdf.find_chromium()
    if exe is None:
        pytest.skip(f"headless Chromium not installed: {INSTALL}")
    return exe


@contextmanager
def browser(width: int, height: int) -> Iterator[Any]:
    """A headless Chromium window of ``width`` x ``height`` CSS pixels."""
    exe = chromium_or_skip()
    driver_exe = shutil.which("chromedriver")
    if driver_exe is None:
        pytest.skip(f"chromedriver not installed: {INSTALL}")
    webdriver = pytest.importorskip("selenium.webdriver", reason=INSTALL)
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver
    options = Options()
    options.binary_location = exe
    for arg in ("--headless=new", "--disable-gpu", "--hide-scrollbars",
                f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses root otherwise (CI runs as root)
    driver = webdriver.Chrome(service=Service(driver_exe), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, page: Path, name: str, media: str = "screen") -> dict[str, Any]:
    """Open ``page``, shoot the whole of it (as ``media``: screen or print) to
    reports/screenshots/``name``.png; its size and text."""
    driver.get(page.resolve().as_uri())
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    size = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " window.innerWidth]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16000), "scale": 1}})
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    text = driver.execute_script("return document.body ? document.body.innerText : ''")
    return {"path": path, "scroll_width": size[0], "height": size[1], "viewport": size[2],
            "text": text}


def ink(path: Path) -> float:
    """Share of the screenshot's pixels that are not white: a blank page is 0."""
    from PIL import Image

    with Image.open(path) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
        return 1 - sum(histogram[245:]) / (grey.width * grey.height)


def viewport(driver: Any, width: int, height: int) -> None:
    """The page's own area exactly ``width`` x ``height`` CSS pixels (the window size
    counts the browser's frame too): what a screen of that size shows."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
