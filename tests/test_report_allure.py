"""``rig report --allure`` (rig/allure_cli.py): with node, Allure Report 3 from npm builds
the report of the allure results (installed into the project's .tools/allure on first
use, kept for the next run); without node, the rig's own page says why there is none."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evrig.rig import allure_cli
from evrig.rig.cli import main

ROOT = Path(__file__).resolve().parent.parent


def allure_results(folder: Path) -> Path:
    """Results of a small pytest run through allure-pytest: one test passes, one fails."""
    tests = folder / "t"
    tests.mkdir()
    (tests / "test_two.py").write_text("def test_ok():\n    pass\n\n"
                                       "def test_bad():\n    assert 1 == 2\n")
    results = folder / "reports" / "allure-results"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-p", "no:ev_charger_rig", str(tests), f"--alluredir={results}"],
                   cwd=folder, capture_output=True, check=False, timeout=120)
    assert any(results.glob("*-result.json")), "allure-pytest wrote no results"
    return results


def test_without_node_the_page_says_why_there_is_no_allure_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither node nor npm
    reports = tmp_path / "reports"
    out = reports / "report.html"
    assert main(["report", "--allure", "--reports", str(reports), "--database",
                 f"sqlite:///{reports}/results.sqlite", "-o", str(out)]) == 0
    note = out.read_text(encoding="utf-8")
    assert "Allure report not built: node and npm not found on this machine" in note
    assert not (reports / "allure-report").exists()


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed: Allure Report 3 is a node program")
def test_allure_3_builds_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = allure_results(tmp_path)
    reports = results.parent
    monkeypatch.chdir(ROOT)  # the project's .tools/allure: installed once, then reused
    out = reports / "report.html"
    assert main(["report", "--allure", "--reports", str(reports), "--database",
                 f"sqlite:///{reports}/results.sqlite", "-o", str(out)]) == 0
    assert allure_cli.installed_version(ROOT / allure_cli.HOME) == allure_cli.VERSION
    index = reports / "allure-report" / "index.html"
    assert index.exists()
    summary = json.loads((reports / "allure-report" / "summary.json").read_text())
    assert (summary["stats"]["total"], summary["stats"]["passed"],
            summary["stats"]["failed"]) == (2, 1, 1)
    assert f"Allure report: {index}" in out.read_text(encoding="utf-8")
    # a second run replaces the report whole (nothing left of a temporary folder)
    assert main(["report", "--allure", "--reports", str(reports), "--database",
                 f"sqlite:///{reports}/results.sqlite", "-o", str(out)]) == 0
    assert sorted(p.name for p in reports.iterdir() if "allure-report" in p.name) == [
        "allure-report"]


def test_no_results_is_an_error_after_the_page(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An allure command of one's own (``--allure CLI``) over no results: exit 1, and
    the page is written all the same, saying why."""
    reports = tmp_path / "reports"
    out = reports / "report.html"
    assert main(["report", "--allure", "/bin/true", "--reports", str(reports),
                 "--database", f"sqlite:///{reports}/results.sqlite", "-o", str(out)]) == 1
    assert "Allure report not built: no allure results in" in out.read_text(encoding="utf-8")
