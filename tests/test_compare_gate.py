"""``rig compare`` as a release gate (rig.compare): a step that passed in A and not in
B — failed, error, aborted, skipped, absent — or a run that went from passed to
anything else fails it (exit code 1), and the regressions are printed first."""

from __future__ import annotations

from pathlib import Path

import pytest

from evrig.rig import records
from evrig.rig.cli import main
from evrig.rig.compare import compare, render
from evrig.rig.records import StepRecord, UnitRecord


def _run(outcome: str = "passed", firmware: str = "1.0", **steps: str) -> UnitRecord:
    record = UnitRecord(serial="regression", station="st", operator="ci", rig_file="sim",
                        profile="evnet-7kw", variant="S", kind="regression",
                        firmware=firmware, outcome=outcome)
    record.steps = [StepRecord(name, verdict, message=f"{name} says {verdict}"
                               if verdict != "passed" else "")
                    for name, verdict in steps.items()]
    return record


@pytest.mark.parametrize("after", ["failed", "error", "aborted", "skipped"])
def test_a_step_that_no_longer_passes_is_a_regression(after):
    a = _run(boot="passed", meter="passed")
    b = _run("passed" if after == "skipped" else "failed", boot="passed", meter=after)
    c = compare(a, b)
    assert c.regressions == [("meter", "passed", after)]
    assert c.gate_fails


def test_a_step_missing_in_b_is_a_regression():
    c = compare(_run(boot="passed", meter="passed"), _run(boot="passed"))
    assert c.regressions == [("meter", "passed", "absent")] and c.gate_fails


def test_a_run_outcome_that_regressed_fails_the_gate_without_a_step():
    c = compare(_run(boot="passed"), _run("error", boot="passed"))
    assert c.regressions == [] and c.outcome_regressed and c.gate_fails
    assert render(c).splitlines()[:2] == ["REGRESSIONS (1): passed in A, not in B",
                                          "  run outcome: passed → error"]


def test_improvements_and_drift_alone_pass_the_gate():
    a = _run("failed", boot="passed", meter="failed")
    b = _run("passed", boot="passed", meter="passed", new="passed")
    c = compare(a, b)
    assert not c.regressions and not c.gate_fails
    text = render(c)
    assert text.splitlines()[0].startswith("no regressions")
    assert "meter: failed → passed" in text and text.endswith("gate: pass (exit code 0)")


def test_regressions_come_first_with_the_reason():
    a = _run(boot="passed", lock="failed", meter="passed")
    b = _run("failed", boot="failed", lock="passed", meter="passed")
    lines = render(compare(a, b)).splitlines()
    assert lines[0] == "REGRESSIONS (2): passed in A, not in B"
    assert lines[1] == "  boot: passed → failed: boot says failed"
    assert lines[2] == "  run outcome: passed → failed"
    assert lines[3].startswith("A ")  # the runs after the regressions
    other = lines.index("other verdict changes (1):")
    assert lines[other + 1] == "  lock: failed → passed"
    assert lines[-1] == "gate: FAIL (exit code 1)"


def _store(reports: Path, record: UnitRecord, run_id: str) -> str:
    record.run_id = run_id
    records.write_record(record, reports / "regression" / str(record.firmware) / run_id)
    return run_id


def test_rig_compare_exits_1_on_passed_to_failed_and_prints_it_first(tmp_path, capsys):
    a = _store(tmp_path, _run(firmware="1.0", boot="passed", meter="passed"), "RUN-A")
    b = _store(tmp_path, _run("failed", firmware="1.1", boot="passed", meter="failed"), "RUN-B")
    assert main(["compare", a, b, "--reports", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "REGRESSIONS (2): passed in A, not in B"
    assert out[1] == "  meter: passed → failed: meter says failed"


def test_rig_compare_exits_0_without_regressions(tmp_path, capsys):
    a = _store(tmp_path, _run(firmware="1.0", boot="passed"), "RUN-A")
    b = _store(tmp_path, _run(firmware="1.1", boot="passed"), "RUN-B")
    assert main(["compare", a, b, "--reports", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("no regressions")


def test_rig_compare_of_an_unknown_run_fails_closed(tmp_path, capsys):
    a = _store(tmp_path, _run(boot="passed"), "RUN-A")
    assert main(["compare", a, "RUN-NOPE", "--reports", str(tmp_path)]) == 2  # not 0
    assert "no run" in capsys.readouterr().err
