"""``rig run eol`` end to end on the virtual bench: SIGTERM mid-run leaves an
``aborted`` record with what was measured; two runs at once do not collide."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from evrig.rig.records import read_record

ROOT = Path(__file__).resolve().parent.parent
RIG = str(ROOT / "rigs" / "sim.yaml")


def _rig(tmp_path: Path, serial: str, *pytest_args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "evrig.rig", "run", "eol", "--serial", serial, "--operator", "ci",
           "--rig", RIG]
    cmd += list(pytest_args)
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                             signal.default_int_handler))


def _records(tmp_path: Path, serial: str) -> list[Path]:
    return sorted((tmp_path / "reports" / "units" / serial).glob("*/record.json"))


def test_sigterm_mid_run_writes_aborted_record(tmp_path):
    proc = _rig(tmp_path, "SN-TERM")
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:  # wait until the metering step is under way
        lines.append(line)
        if "pp_rating" in line:
            break
        assert time.monotonic() < deadline, "".join(lines)
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 10, "the run did not end promptly"
    text = "".join(lines) + out
    assert proc.returncode == 130, text
    assert "ABORTED" in text and "rig safe state: ac_source output off" in text, text
    [path] = _records(tmp_path, "SN-TERM")
    record = read_record(path)
    assert record.outcome == "aborted"
    assert len(record.measurements) >= 10  # the steps before the signal
    assert record.steps[-1].outcome == "aborted"
    assert (path.parent / "certificate.html").exists()
    rows = sqlite3.connect(tmp_path / "reports" / "results.sqlite").execute(
        "SELECT outcome FROM units").fetchall()
    assert rows == [("aborted",)]


def test_two_runs_at_once_do_not_collide(tmp_path):
    select = ("-k", "cp_walk or pp_rating or identity")
    procs = [_rig(tmp_path, serial, *select) for serial in ("SN-A", "SN-B")]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    for proc, out in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out
        assert "PASS" in out
    for serial in ("SN-A", "SN-B"):
        [path] = _records(tmp_path, serial)
        record = read_record(path)
        assert record.outcome == "passed" and len(record.measurements) >= 10
        assert (path.parent / "junit.xml").exists()
    rows = sqlite3.connect(tmp_path / "reports" / "results.sqlite").execute(
        "SELECT serial, outcome FROM units ORDER BY serial").fetchall()
    assert rows == [("SN-A", "passed"), ("SN-B", "passed")]
