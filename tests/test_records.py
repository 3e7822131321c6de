"""Unit records (rig.records), limits and marginal verdicts (fixtures.measurements),
the compare logic (rig.compare), the trace picture (rig.trace) and the certificate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evrig.fixtures.measurements import Measure, judge
from evrig.rig import certificate, records, trace
from evrig.rig.compare import compare, find_record, render
from evrig.rig.errors import RigError
from evrig.rig.records import MeasurementRecord, StepRecord, UnitRecord

ROOT = Path(__file__).resolve().parent.parent


def _record(**kw) -> UnitRecord:
    base = dict(serial="SN-1", station="st", operator="op", rig_file="rigs/sim.yaml",
                profile="evnet-7kw", variant="S")
    return UnitRecord(**{**base, **kw})


# -- limits and marginal ---------------------------------------------------------------
@pytest.mark.parametrize(("value", "verdict"), [
    (5.0, "PASS"), (1.0, "MARGINAL"), (9.0, "MARGINAL"),  # limits inclusive
    (0.99, "FAIL"), (9.01, "FAIL"), (float("nan"), "FAIL"),
    (1.5, "MARGINAL"), (8.5, "MARGINAL"), (2.0, "PASS"), (8.0, "PASS"),
])
def test_judge_limits_and_marginal(value, verdict):
    assert judge(value, 1, 9, marginal_low=2, marginal_high=8) == verdict


def test_limits_inclusive_without_marginal():
    assert judge(1.0, 1, 9) == judge(9.0, 1, 9) == "PASS"


def test_one_sided_limits():
    assert judge(10, None, 9) == "FAIL"
    assert judge(-100, None, 9) == "PASS"
    assert judge(0, 1, None) == "FAIL"


def test_measure_records_and_fails_out_of_limits():
    props: list = []
    m = Measure(props, now=lambda: 12.5)
    assert m("a", 5, low=1, high=9, unit="V").verdict == "PASS"
    assert m("b", 1.5, low=1, high=9, marginal_low=2).verdict == "MARGINAL"
    with pytest.raises(AssertionError, match="c = 10 V"):
        m("c", 10, high=9, unit="V")
    assert [r.verdict for r in m.records] == ["PASS", "MARGINAL", "FAIL"]
    assert m.records[0].t == 12.5 and len(props) == 3
    with pytest.raises(ValueError):
        m("d", 1, low=5, high=1)


# -- records ---------------------------------------------------------------------------
def test_record_roundtrip_and_sqlite(tmp_path):
    rec = _record(serial="SN/../1", outcome="passed", firmware="1.2.3")
    rec.measurements = [MeasurementRecord("v", 230.1, "V", 220, 240, "PASS", "s1", 1.0),
                        MeasurementRecord("fw", "1.2.3")]
    rec.steps = [StepRecord("s1", "passed", 1.5)]
    folder = records.run_dir(tmp_path / "reports", rec.serial, rec.run_id)
    assert ".." not in folder.parts and folder.parent.name == "SN_.._1"
    path = records.save(rec, folder, "sqlite:///reports/results.sqlite", base=tmp_path)
    back = records.read_record(path)
    assert back == rec
    store = records.open_store("sqlite:///reports/results.sqlite", tmp_path)
    rows = store.runs()
    store.close()
    assert [(r["serial"], r["outcome"], r["n_measurements"]) for r in rows] == \
        [("SN/../1", "passed", 2)]


def test_run_ids_unique():
    assert len({records.new_run_id() for _ in range(200)}) == 200


def test_postgres_without_psycopg_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(RigError, match="psycopg"):
        records.open_store("postgresql://user@db/results")


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    records.write_atomic(target, '{"old": 1}')

    def broken_replace(src, dst):
        raise KeyboardInterrupt("SIGTERM while writing")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        records.write_atomic(target, '{"new": 2}')
    assert json.loads(target.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temp file left


def test_an_atomic_write_gets_the_mode_of_an_ordinary_file(tmp_path):
    """A record, certificate or report is readable by whoever may read the folder
    (the process's umask), not 0600 as the temporary file it was written through."""
    umask = os.umask(0o022)
    os.umask(umask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = records.write_atomic(tmp_path / "record.json", "{}")
    assert atomic.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~umask


WRITER = textwrap.dedent('''
    import sys, time
    from evrig.rig import records
    rec = records.UnitRecord(serial="SN", station="s", operator="o", rig_file="r",
                             profile="p", outcome="passed")
    rec.measurements = [records.MeasurementRecord(f"m{i}", float(i)) for i in range(20000)]
    print("ready", flush=True)
    while True:
        records.write_record(rec, sys.argv[1])
''')


def test_record_is_complete_whenever_the_writer_is_killed(tmp_path):
    """SIGKILL at any moment: record.json is the last complete version, never a part."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.05, 0.13, 0.21):
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "out")], env=env,
                                stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        file = tmp_path / "out" / "record.json"
        if file.exists():
            assert len(records.read_record(file).measurements) == 20000


# -- compare ---------------------------------------------------------------------------
def test_compare_verdicts_drift_findings():
    a = _record(firmware="1.0", outcome="passed",
                findings=["t1: CALL StatusNotification broke schema at 12.5 s"])
    b = _record(firmware="1.1", outcome="failed",
                findings=["t1: CALL StatusNotification broke schema at 14.0 s",
                          "t2: unexpected StopTransaction"])
    a.steps = [StepRecord("x", "passed"), StepRecord("y", "passed"), StepRecord("z", "failed")]
    b.steps = [StepRecord("x", "failed"), StepRecord("y", "passed"), StepRecord("w", "passed")]
    a.measurements = [MeasurementRecord("v", 230.0, "V", 220, 240, step="y"),
                      MeasurementRecord("i", 10.0, "A", 9, 11, step="y"),
                      MeasurementRecord("fw", "1.0", step="y"),
                      MeasurementRecord("gone", 1.0, step="y")]
    b.measurements = [MeasurementRecord("v", 233.0, "V", 220, 240, step="y"),  # 15 % of band
                      MeasurementRecord("i", 10.1, "A", 9, 11, step="y"),  # 5 %: not drift
                      MeasurementRecord("fw", "1.1", step="y"),
                      MeasurementRecord("new", 2.0, step="y")]
    c = compare(a, b)
    assert c.verdict_changes == [("w", "absent", "passed"), ("x", "passed", "failed"),
                                 ("z", "failed", "absent")]
    assert c.regressions == [("x", "passed", "failed")]
    assert [d.name for d in c.drift] == ["y/fw", "y/v"]
    assert c.drift[1].share == pytest.approx(0.15)
    assert c.only_a == ["y/gone"] and c.only_b == ["y/new"]
    assert c.new_findings == ["t2: unexpected StopTransaction"]
    assert "x: passed → failed" in render(c)


def test_compare_identical_runs_is_quiet():
    a = _record()
    a.measurements = [MeasurementRecord("v", 230.0, "V", 220, 240)]
    assert not compare(a, a).changed


def test_find_record_by_run_id(tmp_path):
    rec = _record()
    records.write_record(rec, records.run_dir(tmp_path, rec.serial, rec.run_id))
    assert find_record(rec.run_id, tmp_path).run_id == rec.run_id
    with pytest.raises(RigError, match="no run"):
        find_record("nope", tmp_path)


# -- trace and certificate ---------------------------------------------------------------
def test_trace_svg_and_certificate_are_wellformed():
    t = trace.Trace()
    t.add(0.0, "step", "power_up")
    t.add(0.5, "CP", "B 53%", 9.0)
    t.add(1.0, "contactor", "closed", 1.0)
    t.add(1.2, "OCPP", "→ StartTransaction <&>")
    t.add(3.0, "step", "metering", bad=True)
    picture = trace.svg(t, "EOL SN <1>")
    ET.fromstring(picture)
    rec = _record(outcome="failed")
    rec.measurements = [MeasurementRecord("v", 250.0, "V", 220, 240, "FAIL", "s")]
    page = certificate.render(rec, picture)
    assert "FAILED" in page and "250 V" in page and "[220, 240] V" in page
