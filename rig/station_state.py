"""What the station's page shows about a unit, folded from the run's events
(rig/station_wire.py) or, after a restart, from its record; and the small state file
that lets a restarted station say what happened to the unit in progress.

The page gets the whole picture each time it changes (a few kB): a page that
reconnects, or a second screen opened mid-run, needs nothing but the latest one.
Values and limits are formatted here as the certificate formats them
(rig/readable.py), so the page only places text.

**State file** ``<reports>/station/<station>.json``: the unit in progress (serial, run
id and folder, the child's pid, its log), rewritten atomically at each change of
phase. A station that finds one whose unit is not ``done`` was stopped during that
run: it shows the unit's record (``aborted`` when it stopped the run itself, whatever
the run wrote before it died otherwise) or, without one, "station stopped during the
run: no record".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from evrig.rig import readable
from evrig.rig.records import UnitRecord, read_record, write_atomic

WORDS = {"passed": "PASS", "failed": "FAIL", "aborted": "ABORTED", "error": "ERROR"}
NO_RECORD = "station stopped during the run: no record"
# The unit's documents the page links to (keys of the record's ``files``; their labels
# are the page's), as the station serves them: GET /units/<run id>/<name>
# (rig/station_app.py).
DOCUMENTS = ("certificate", "certificate_pdf", "trace", "trace_pdf")


def measurement_view(m: dict[str, Any]) -> dict[str, Any]:
    name = str(m.get("name", ""))
    low, high, unit = m.get("low"), m.get("high"), m.get("unit")
    return {"name": name, "title": readable.measurement_title(name),
            "value": readable.value_text(name, m.get("value"), low, high, unit),
            "limits": readable.limits_text(name, low, high, unit),
            "verdict": m.get("verdict", "PASS"), "step": m.get("step", "")}


def new_unit(serial: str, operator: str) -> dict[str, Any]:
    return {"serial": serial, "operator": operator, "run_id": "", "folder": "",
            "phase": "starting", "started": time.time(), "steps": [], "prompt": None,
            "verdict": None, "notice": "", "log": ""}


def _step(unit: dict[str, Any], name: str) -> dict[str, Any]:
    for step in unit["steps"]:
        if step["name"] == name:
            return step
    step = {"name": name, "title": readable.step_title(name), "status": "pending",
            "spec_s": None, "message": "", "measurements": []}
    unit["steps"].append(step)
    return step


def fold(unit: dict[str, Any], event: dict[str, Any]) -> None:
    """Apply one event of the run to the unit's picture."""
    kind = event.get("event")
    if kind == "run":
        unit.update(run_id=event.get("run_id", ""), folder=event.get("folder", ""),
                    phase="running" if unit["phase"] == "starting" else unit["phase"])
    elif kind == "steps":
        for name in event.get("names", []):
            _step(unit, str(name))
    elif kind == "step_start":
        _step(unit, str(event.get("name")))["status"] = "running"
    elif kind == "measurement":
        _step(unit, str(event.get("step")))["measurements"].append(measurement_view(event))
    elif kind == "step_end":
        step = _step(unit, str(event.get("name")))
        step.update(status=event.get("outcome", "error"), spec_s=event.get("spec_s"),
                    message=event.get("message", ""))
    elif kind == "prompt":
        unit["prompt"] = {"id": event.get("id"), "question": event.get("question", ""),
                          "choices": event.get("choices", ["y", "n"]),
                          "step": readable.step_title(str(event.get("step") or "")),
                          "timeout_s": event.get("timeout_s"),
                          "deadline": float(event.get("t", time.time()))
                          + float(event.get("timeout_s") or 0)}
    elif kind in ("answer", "prompt_timeout"):
        if unit["prompt"] is not None and unit["prompt"]["id"] == event.get("id"):
            unit["prompt"] = None
    elif kind == "verdict":
        unit["verdict"] = verdict_view(event)


def verdict_view(event: dict[str, Any]) -> dict[str, Any]:
    outcome = str(event.get("outcome", "error"))
    failed = [measurement_view(m) for m in event.get("failed", [])]
    for m in failed:
        m["step_title"] = readable.step_title(m["step"])
    steps = [{"title": readable.step_title(str(s.get("name", ""))),
              "outcome": s.get("outcome", ""), "message": s.get("message", "")}
             for s in event.get("steps", [])]
    files = dict(event.get("files", {}))
    return {"outcome": outcome, "word": WORDS.get(outcome, outcome.upper()),
            "message": event.get("message", ""), "failed": failed, "steps": steps,
            "n_measurements": event.get("n_measurements"), "n_steps": event.get("n_steps"),
            "record": event.get("record", ""),
            "documents": {name: str(files[name]) for name in DOCUMENTS if files.get(name)}}


def finish(unit: dict[str, Any], code: int | None, log_tail: list[str]) -> None:
    """The child ended: steps never reached are "not run", the one running aborted;
    a run that wrote no verdict (a bad rig file, a crash) is an error saying why."""
    unit["phase"], unit["prompt"] = "done", None
    for step in unit["steps"]:
        if step["status"] == "pending":
            step["status"] = "not run"
        elif step["status"] == "running":
            step["status"] = "aborted"
    if unit["verdict"] is None:
        record = record_path(unit)
        if record is not None and record.exists():
            unit["verdict"] = verdict_view(record_event(read_record(record), record))
        else:
            message = " / ".join(log_tail[-3:]) or f"rig run eol exited with code {code}"
            unit["verdict"] = verdict_view({"outcome": "error", "message": message})


def record_path(unit: dict[str, Any]) -> Path | None:
    folder = unit.get("folder")
    return Path(folder) / "record.json" if folder else None


def record_event(record: UnitRecord, path: Path) -> dict[str, Any]:
    """A record in the shape of the run's verdict event (rig/eol.py)."""
    failed = [{"step": m.step, "name": m.name, "value": m.value, "unit": m.unit,
               "low": m.low, "high": m.high, "verdict": m.outcome}
              for m in (*record.failed_measurements, *record.marginal_measurements)]
    steps = [{"name": s.name, "outcome": s.outcome,
              "message": s.message.splitlines()[0][:300] if s.message else ""}
             for s in record.steps if s.outcome not in ("passed", "skipped")]
    return {"outcome": record.outcome, "message": record.message, "failed": failed,
            "steps": steps, "record": str(path),
            "n_measurements": len(record.measurements), "n_steps": len(record.steps),
            "files": {k: str(path.parent / v) for k, v in record.files.items()}}


def unit_from_record(record: UnitRecord, path: Path, notice: str) -> dict[str, Any]:
    """The picture of a finished unit from its record (a restarted station)."""
    unit = new_unit(record.serial, record.operator)
    unit.update(run_id=record.run_id, folder=str(path.parent), phase="done", notice=notice)
    for s in record.steps:
        step = _step(unit, s.name)
        step.update(status=s.outcome, spec_s=s.duration_s,
                    message=s.message.splitlines()[0][:300] if s.message else "")
    for m in record.measurements:
        _step(unit, m.step)["measurements"].append(measurement_view(
            {"name": m.name, "value": m.value, "unit": m.unit, "low": m.low,
             "high": m.high, "verdict": m.outcome, "step": m.step}))
    unit["verdict"] = verdict_view(record_event(record, path))
    return unit


# -- the state file ----------------------------------------------------------------------


class StateFile:
    """``<reports>/station/<station>.json``: see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, unit: dict[str, Any], pid: int | None, interrupted: bool = False) -> None:
        data = {"serial": unit["serial"], "operator": unit["operator"],
                "run_id": unit["run_id"], "folder": unit["folder"], "phase": unit["phase"],
                "pid": pid, "log": unit.get("log", ""), "interrupted": interrupted,
                "saved": time.time()}
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie of ours is not alive; another process's pid reused is (rare): checked
    # against the process's command line where /proc has it
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"run\x00eol" in cmdline.read_bytes()
    except OSError:
        return True


def recovered_unit(saved: dict[str, Any]) -> dict[str, Any]:
    """The picture of the unit a stopped station left in progress (or interrupted)."""
    folder = saved.get("folder") or ""
    path = Path(folder) / "record.json" if folder else None
    if path is not None and path.exists():
        record = read_record(path)
        word = WORDS.get(record.outcome, record.outcome)
        return unit_from_record(record, path, "The station stopped during this unit's "
                                f"run; its record says {word}.")
    unit = new_unit(str(saved.get("serial", "")), str(saved.get("operator", "")))
    unit.update(run_id=saved.get("run_id", ""), folder=folder, phase="done",
                notice=NO_RECORD)
    unit["verdict"] = verdict_view({"outcome": "error", "message": NO_RECORD})
    return unit
