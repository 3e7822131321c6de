"""Bad input gets one clear line wherever it comes in — ``pytest`` with and without
``-n 2`` (what ``make test`` and the README use), ``rig check``, ``rig run eol`` —
naming the file, the key path and the fix: no traceback, no xdist INTERNALERROR, a
non-zero exit code. Every run here stops before a test body runs, so they are quick."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOT = "testcases/ocpp/test_core_boot.py"
PASSWORD_ENV = "RIG_TEST_UNSET_CSMS_PASSWORD"

TYPO = "profile: evnet-7kw\nsim: {sped: 20}\n"
REAL_WITHOUT_CSMS = """\
profile: evnet-7kw
station: lab-1
bench: real
charger: {charge_point_id: EVNET-LAB-0001}
instruments: {ev: {backend: rpi}}
"""
PASSWORD_UNSET = f"""\
profile: evnet-7kw
csms: {{security_profile: 1, basic_auth_password_env: {PASSWORD_ENV}}}
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, "RIG_FILE")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(args: list[str]) -> tuple[int, list[str]]:
    proc = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    return proc.returncode, [line for line in text.splitlines() if line.strip()]


def _pytest(rig: Path, *extra: str) -> tuple[int, list[str]]:
    return _run([sys.executable, "-m", "pytest", BOOT, "-q", "--rig", str(rig), *extra])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path


WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "n2"])


@WORKERS
def test_bad_rig_file_is_one_line_under_pytest(tmp_path: Path, workers: list[str]) -> None:
    rig = _write(tmp_path, TYPO)
    code, lines = _pytest(rig, *workers)
    assert code == pytest.ExitCode.USAGE_ERROR
    assert lines == [f"ERROR: rig file {rig}: sim.sped: unknown key 'sped' "
                     "(did you mean 'speed'?)"]


def test_bad_rig_file_is_one_line_under_rig_check(tmp_path: Path) -> None:
    rig = _write(tmp_path, TYPO)
    code, lines = _run([sys.executable, "-m", "evrig.rig", "check", str(rig)])
    assert code == 1
    assert lines == [f"{rig}: sim.sped: unknown key 'sped' (did you mean 'speed'?)"]


@WORKERS
def test_real_bench_without_csms_is_refused(tmp_path: Path, workers: list[str]) -> None:
    rig = _write(tmp_path, REAL_WITHOUT_CSMS)
    code, lines = _pytest(rig, *workers)
    assert code == pytest.ExitCode.USAGE_ERROR
    [line] = lines
    assert line.startswith(f"ERROR: rig file {rig}: csms: missing; a real bench needs it")
    assert "host: " in line and "port: " in line and "security_profile: " in line


def test_rig_check_refuses_a_real_bench_without_csms_and_says_what_sim_defaults(
        tmp_path: Path) -> None:
    rig = _write(tmp_path, REAL_WITHOUT_CSMS)
    code, lines = _run([sys.executable, "-m", "evrig.rig", "check", str(rig)])
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"{rig}: csms: missing")

    virtual = tmp_path / "virtual.yaml"
    virtual.write_text("profile: evnet-7kw\n", encoding="utf-8")
    code, lines = _run([sys.executable, "-m", "evrig.rig", "check", str(virtual)])
    assert code == 0
    [line] = lines
    assert line.startswith(f"{virtual}: ok (virtual bench defaults: ")
    assert "csms (127.0.0.1, any free port, security profile 0)" in line
    assert "charger (charge_point_id EVNET-SIM-0001)" in line and "instruments.ev" in line


@WORKERS
def test_unset_password_variable_is_one_line_under_pytest(tmp_path: Path,
                                                          workers: list[str]) -> None:
    rig = _write(tmp_path, PASSWORD_UNSET)
    code, lines = _pytest(rig, *workers)
    assert code == pytest.ExitCode.USAGE_ERROR
    assert lines == [f"ERROR: rig file {rig}: csms.basic_auth_password_env: environment "
                     f"variable {PASSWORD_ENV} is not set; export it (the Basic Auth password "
                     "of security profile 1)"]


def test_unset_password_variable_is_one_line_under_rig_run_eol(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    rig = _write(tmp_path, PASSWORD_UNSET + f"reports: {{dir: {reports}, database: "
                                            f"'sqlite:///{reports}/results.sqlite'}}\n")
    code, lines = _run([sys.executable, "-m", "evrig.rig", "run", "eol", "--serial", "SN-BAD",
                        "--rig", str(rig)])
    assert code == 3  # error: the unit was not tested (1 would mean it failed)
    assert lines == [f"rig file {rig}: csms.basic_auth_password_env: environment variable "
                     f"{PASSWORD_ENV} is not set; export it (the Basic Auth password of "
                     "security profile 1)"]
    assert not reports.exists()  # no record of a run that never started


@pytest.mark.parametrize(("args", "line"), [
    (["eol"], "rig run: --serial SN is required (the unit's serial number)"),
    (["regression"], "rig run: --firmware VERSION is required for a regression run"),
    (["eol", "--serial", "SN", "--install", "fw.bin"],
     "rig run: --install IMAGE is for a regression run (rig run regression)"),
], ids=["eol-without-serial", "regression-without-firmware", "install-on-eol"])
def test_a_run_asked_wrongly_is_an_error_not_a_failed_unit(args: list[str], line: str) -> None:
    code, lines = _run([sys.executable, "-m", "evrig.rig", "run", *args, "--rig", "sim"])
    assert code == 3 and lines == [line]  # 1 would say a unit failed


def test_an_unknown_option_is_said_with_the_commands_own_usage() -> None:
    code, lines = _run([sys.executable, "-m", "evrig.rig", "run", "eol", "--serial", "SN",
                        "--bogus"])
    assert code == 2 and lines[0].startswith("usage: rig run "), lines
    assert lines[-1] == "rig run: error: unrecognized arguments: --bogus"


@WORKERS
def test_bench_that_cannot_be_built_fails_cleanly(tmp_path: Path, workers: list[str]) -> None:
    """A rig file that is fine, naming a serial port this PC does not have: only
    building the bench (in each xdist worker) finds it. The test errors with the one
    line, the run stops with it, non-zero; no INTERNALERROR, no traceback."""
    rig = _write(tmp_path, "profile: evnet-7kw\n"
                           "instruments: {meter: {port: /nonexistent/ttyRIG}}\n")
    code, lines = _pytest(rig, *workers)
    assert code != 0
    reason = "rig: meter emulator at /nonexistent/ttyRIG: cannot open serial port"
    assert any(line.startswith(reason) for line in lines), lines  # the error, as is
    assert any(line.startswith("!") and reason in line for line in lines), lines  # the stop
    assert not any(line.startswith(("E  ", "    ")) for line in lines), lines  # no traceback


def test_real_bench_refuses_xdist_workers(tmp_path: Path) -> None:
    """One charger, one set of relays: -n 2 would build the bench twice."""
    rig = _write(tmp_path, REAL_WITHOUT_CSMS + "csms: {host: 0.0.0.0, port: 9000, "
                                               "security_profile: 0}\n")
    code, lines = _pytest(rig, "-n", "2")
    assert code == pytest.ExitCode.USAGE_ERROR
    assert lines == [f"ERROR: rig file {rig}: bench: a real bench is one charger and one set "
                     "of instruments; run it without -n (each xdist worker would build the "
                     "bench and drive the same relays), or list several benches in a pool "
                     "file (--rig-pool)"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_test_runs_every_bench_and_fails_at_the_end(tmp_path: Path) -> None:
    """Makefile: a failed socketed run does not stop the other benches' runs; make fails
    after, naming each run's exit code."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "ruff").write_text(f"#!/bin/sh\necho ruff >> {calls}\n")
    (bin_dir / "mypy").write_text(f"#!/bin/sh\necho mypy >> {calls}\n")
    (bin_dir / "pytest").write_text(  # the socketed run fails, the tethered one passes
        f'#!/bin/sh\necho "pytest $*" >> {calls}\n'
        'case "$*" in *sim-t2*) exit 0;; esac\nexit 1\n')
    for tool in ("ruff", "mypy", "pytest"):
        (bin_dir / tool).chmod(0o755)
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: make does not set up the venv
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "test", f"BIN={bin_dir}",
                           f"STAMP={stamp}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    ran = calls.read_text().splitlines()
    benches = ["sim", "sim-t2", "sim-compact-3ph", "sim-compact-1ph", "sim-evplus-7s",
               "sim-evplus-22c"]
    assert ran[:2] == ["ruff", "mypy"] and len(ran) == 2 + len(benches), ran
    for line, bench in zip(ran[2:], benches, strict=True):
        assert f"--rig rigs/{bench}.yaml" in line, (bench, line)
    assert " tests testcases " in f" {ran[2]} " and " tests " not in ran[3]  # tests/ once
    assert ("EV NET socketed (1), COMPACT 3-phase (1), COMPACT 1-phase (1), EV PLUS 7S (1), "
            "EV PLUS 22C (1)") in proc.stdout, proc.stdout
