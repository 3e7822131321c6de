"""The Allure report of ``rig report --allure``: Allure Report 3's command line, the npm
package ``allure``, run over ``reports/allure-results`` (what allure-pytest writes).

Decision — installed on first use, by ``rig report --allure``, into ``.tools/allure``
under the current folder (ignored by git), not by a Makefile target: a station runs
``rig`` from an installed wheel without make, the pinned version lives in one place
(:data:`VERSION`), and nothing is installed where the report is not asked for. The
install goes into a fresh folder that replaces the old one when npm is done, so an
interrupted install is never taken for a complete one. It needs node and npm (Allure 3
is a node program) and the npm registry once; without node ``rig report`` writes its
own page, which says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from evrig.rig.errors import RigError

PACKAGE = "allure"
VERSION = "3.18.0"  # Allure Report 3; a new one: change here, the next use installs it
HOME = Path(".tools/allure")
INSTALL_TIMEOUT_S = 900
GENERATE_TIMEOUT_S = 900


def missing_node() -> str | None:
    """Why Allure 3 cannot run here, or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if absent:
        return (f"{' and '.join(absent)} not found on this machine (Allure Report 3 is a "
                "node program: install nodejs and npm, e.g. apt-get install nodejs npm)")
    return None


def command(home: Path = HOME) -> Path:
    return home / "node_modules" / ".bin" / "allure"


def installed_version(home: Path = HOME) -> str | None:
    try:
        data = json.loads((home / "node_modules" / PACKAGE / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = data.get("version")
    return str(version) if version and command(home).exists() else None


def ensure(home: Path = HOME, say: Callable[[str], None] = print) -> Path:
    """The allure command of :data:`VERSION` under ``home``, installed with npm if it
    is not there (or is another version)."""
    if installed_version(home) == VERSION:
        return command(home)
    if why := missing_node():
        raise RigError(why)
    say(f"installing {PACKAGE}@{VERSION} (Allure Report 3) into {home} with npm, once")
    fresh = home.with_name(f"{home.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    npm = shutil.which("npm") or "npm"
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(fresh), "--save-exact", "--no-audit",
             "--no-fund", "--loglevel=error", f"{PACKAGE}@{VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
        if done.returncode != 0 or installed_version(fresh) != VERSION:
            raise RigError(f"npm could not install {PACKAGE}@{VERSION}: "
                           f"{_last_line(done.stderr or done.stdout)}")
        # .bin links are relative, so the folder can move
        old = home.with_name(f"{home.name}.old-{os.getpid()}")
        if home.exists():
            home.rename(old)
        fresh.rename(home)
        shutil.rmtree(old, ignore_errors=True)
    except subprocess.TimeoutExpired:
        raise RigError(f"npm install {PACKAGE}@{VERSION} took over {INSTALL_TIMEOUT_S} s"
                       ) from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return command(home)


def generate(allure: Path | str, results: Path, out: Path) -> Path:
    """``allure generate`` of ``results`` into ``out`` (replaced whole: generated in a
    folder beside it first, so a failed run leaves the last report). Returns the
    report's index.html."""
    if not results.is_dir() or not any(results.iterdir()):
        raise RigError(f"no allure results in {results} (pytest --alluredir={results} "
                       "writes them)")
    found = shutil.which(str(allure))  # a name on PATH, or a path (relative to here)
    if found is None:
        raise RigError(f"{allure}: no such command")
    exe = os.path.abspath(found)  # it runs in the reports folder
    fresh = out.with_name(f"{out.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    # NO_COLOR: its messages go to our terminal or a CI log as plain text
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        done = subprocess.run([exe, "generate", str(results.resolve()), "-o",
                               str(fresh.resolve())], capture_output=True, text=True,
                              env=env, cwd=results.parent, timeout=GENERATE_TIMEOUT_S,
                              check=False)
        if done.returncode != 0 or not (fresh / "index.html").exists():
            raise RigError(f"allure generate failed ({done.returncode}): "
                           f"{_last_line(done.stderr or done.stdout)}")
        shutil.rmtree(out, ignore_errors=True)
        fresh.rename(out)
    except subprocess.TimeoutExpired:
        raise RigError(f"allure generate took over {GENERATE_TIMEOUT_S} s") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return out / "index.html"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
