"""HTML to PDF with headless Chromium (``--print-to-pdf``): the certificate's print
CSS (A4, page margin boxes) is laid out by the same engine that shows it on screen,
and it works offline. Chromium is not a Python package: on Debian it is
``apt-get install chromium`` (.ci/run installs it). Without it there is no PDF, and
:func:`html_to_pdf` says why in one line — a station without a browser still passes
or fails its units; the HTML certificate prints from any browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ENV = "EVRIG_CHROMIUM"  # a browser elsewhere than on PATH, e.g. /opt/chrome/chrome
TIMEOUT_S = 120.0


def find_chromium() -> str | None:
    given = os.environ.get(ENV)
    if given:
        return given if Path(given).exists() else None
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def html_to_pdf(page: str | Path, pdf: str | Path, timeout: float = TIMEOUT_S) -> str | None:
    """Print ``page`` to ``pdf`` (atomically); None when written, else why not."""
    exe = find_chromium()
    if exe is None:
        return (f"no Chromium found ({', '.join(NAMES)} on PATH or ${ENV}); on Debian: "
                "apt-get install chromium")
    target = Path(pdf)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tempfile.TemporaryDirectory(prefix="evrig-chromium-") as profile:
        cmd = [exe, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--no-pdf-header-footer", f"--user-data-dir={profile}",
               f"--print-to-pdf={tmp}", Path(page).resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to start as root otherwise
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False, env={**os.environ, "HOME": profile})
        except (OSError, subprocess.TimeoutExpired) as exc:
            tmp.unlink(missing_ok=True)
            return f"Chromium did not print ({type(exc).__name__}: {exc})"
    if tmp.exists() and tmp.read_bytes()[:5] == b"%PDF-":
        os.replace(tmp, target)
        return None
    tmp.unlink(missing_ok=True)
    last = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
    return f"Chromium printed no PDF (exit code {done.returncode}: {last})"
