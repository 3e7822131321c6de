"""Ctrl-C and SIGTERM in the middle of a charging testcase: the process ends promptly
and the instruments themselves report the bench safe (source output off, load off)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHARGING_TEST = '''
import time
from evrig.testcases.ocpp.steps import start_charging

def test_charging_forever(csms, ev, charger, ac_load, clock):
    start_charging(csms, ev, charger)
    ac_load.set_current(10)
    ac_load.enable(True)
    assert clock.wait_until(lambda: ac_load.measure().current > 5, 30)
    open({marker!r}, "w").close()
    time.sleep(60)
'''


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_charge_leaves_bench_safe(sig, tmp_path):
    marker = tmp_path / "charging"
    test_file = tmp_path / "test_mid_charge.py"
    test_file.write_text(CHARGING_TEST.format(marker=str(marker)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:xdist",
         "-p", "no:cacheprovider", "--rig", str(ROOT / "rigs" / "sim.yaml"),
         "--rootdir", str(tmp_path)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # Background processes may inherit an ignored SIGINT; give the child the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "the charging testcase never got charging"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
        assert time.monotonic() - sent < 10, "the run did not end promptly"
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert "rig safe state:" in text, text[-2000:]
    line = next(x for x in text.splitlines() if "rig safe state:" in x)
    assert "ac_source output off" in line
    assert "ac_load input off" in line
    assert "EV state A" in line
