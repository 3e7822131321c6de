"""``rig run eol`` and ``rig run regression``: pytest in-process with a collector
that turns the run into a unit record (rig.records), a certificate and a trace.

The collector (fixtures/eol_collection.py, part of the rig's pytest plugin) prints
one progress line per step, gathers each step's measurements, the charger's delays
and operator answers, and traces the instruments (rig.trace). The record is written
after ``pytest.main`` returns, whatever happened: Ctrl-C and SIGTERM (turned into
KeyboardInterrupt) give outcome ``aborted`` with what was measured so far; signals
are ignored only while the record is being written.

``events``/``answers`` (``rig run eol --events --answers``, rig/station_wire.py): the
run also tells a program what it does — the operator's station — and asks its
operator the prompts. The terminal output stays the same.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evrig.fixtures.eol_collection import EolCollector, out
from evrig.rig import eol_documents, firmware_gate, records, takt

# The store's modules (SQLAlchemy, alembic) load now, before the unit's run, not on the
# way out of a SIGTERM or Ctrl-C: the aborted record is saved within the stop's budget
# even on a loaded station (records.save imports them lazily for light callers).
from evrig.rig import spool as _store_loaded  # noqa: F401
from evrig.rig.errors import RigError
from evrig.rig.records import DelayRecord, UnitRecord
from evrig.rig.signals import signals_ignored
from evrig.rig.station_state import record_event
from evrig.rig.station_wire import PROMPT_TIMEOUT_S, EventStream, OperatorChannel

EXIT = {"passed": 0, "failed": 1, "error": 3, "aborted": 130}

_FONT = {  # 5-row block letters for the verdict line
    "A": [" ### ", "#   #", "#####", "#   #", "#   #"],
    "B": ["#### ", "#   #", "#### ", "#   #", "#### "],
    "D": ["#### ", "#   #", "#   #", "#   #", "#### "],
    "E": ["#####", "#    ", "#### ", "#    ", "#####"],
    "F": ["#####", "#    ", "#### ", "#    ", "#    "],
    "I": ["#####", "  #  ", "  #  ", "  #  ", "#####"],
    "L": ["#    ", "#    ", "#    ", "#    ", "#####"],
    "O": [" ### ", "#   #", "#   #", "#   #", " ### "],
    "P": ["#### ", "#   #", "#### ", "#    ", "#    "],
    "R": ["#### ", "#   #", "#### ", "#  # ", "#   #"],
    "S": [" ####", "#    ", " ### ", "    #", "#### "],
    "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  "],
}
VERDICT_WORD = {"passed": "PASS", "failed": "FAIL", "aborted": "ABORTED", "error": "ERROR"}


def banner(word: str) -> str:
    rows = ["  ".join(_FONT[c][r] for c in word) for r in range(5)]
    return "\n".join("    " + r.replace("#", "█") for r in rows)


# -- the run ---------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM before the rig fixture installs its own handler: a KeyboardInterrupt."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def outcome_of(exit_code: int, collector: EolCollector, interrupted: bool) -> str:
    if interrupted or exit_code == pytest.ExitCode.INTERRUPTED:
        return "aborted"
    kinds = {s.outcome for s in collector.steps}
    if exit_code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and collector.steps:
        if "error" in kinds:
            return "error"
        if "failed" in kinds or exit_code == pytest.ExitCode.TESTS_FAILED:
            return "failed"
        return "passed"
    return "error"


def run(kind: str, *, rig_file: str, serial: str, operator: str, testcases: Path,
        firmware: str | None = None, extra_args: list[str] | None = None,
        quiet: bool = False, install: str | None = None, events: str | None = None,
        answers: str | None = None, prompt_timeout: float = PROMPT_TIMEOUT_S
        ) -> tuple[int, UnitRecord]:
    """One EOL (or regression) run of the testcases in folder ``testcases``; returns the
    exit code and the written record. A regression first checks that the unit runs
    ``firmware`` (rig.firmware_gate; ``install``: an image to put on it over OCPP) and
    raises RigError, filing nothing, when it does not. ``events``, ``answers``: the
    station's wire (module docstring)."""
    from evrig.rig.config import load_rig
    from evrig.rig.config_rules import check_environment, notes

    config = load_rig(rig_file)  # a bad rig file or a missing secret: one line, before
    check_environment(config)    # any record or bench (run_command prints it)
    if kind == "regression":
        firmware_gate.check_installable(config, install)
    speed = config.sim.speed if config.virtual else 1.0
    record = UnitRecord(serial=serial, station=config.station, operator=operator,
                        rig_file=rig_file, profile=config.profile, variant=config.variant,
                        kind=kind)
    reports = Path(config.reports.dir)
    if kind == "eol":
        folder = records.run_dir(reports, serial, record.run_id)
        targets = [str(testcases / "eol"), "-m", "eol"]
    else:
        folder = reports / "regression" / records.safe_name(firmware or "unknown") / record.run_id
        connector = "tethered" if config.variant.upper().startswith("T") else "socketed"
        other = "socketed" if connector == "tethered" else "tethered"
        targets = [str(testcases), "-m", f"not {other}"]
    folder.mkdir(parents=True, exist_ok=True)
    args = [*targets, "--rig", rig_file, "-p", "no:xdist", "-p", "no:cacheprovider",
            "-p", "no:terminal", "--junitxml", str(folder / "junit.xml"),
            "--alluredir", str(reports / "allure-results"), *(extra_args or [])]
    stream = EventStream(events) if events else None
    if answers and stream is None:
        raise RigError("--answers needs --events: the prompts go out as events")
    channel = OperatorChannel(answers, stream, prompt_timeout) \
        if answers and stream is not None else None
    collector = EolCollector(serial, operator, speed, verbose=not quiet,
                             full_names=kind != "eol", events=stream,
                             operator_channel=channel)
    if stream is not None:
        stream.emit("run", run_id=record.run_id, serial=serial, operator=operator,
                    station=config.station, profile=config.profile,
                    variant=config.variant, rig_file=rig_file, kind=kind,
                    folder=str(folder))
    steps = takt.TaktPlugin(collector)
    gate = firmware_gate.FirmwareGate(firmware or "unknown", install) \
        if kind == "regression" else None
    expected = eol_documents.StepList(full_names=kind != "eol")  # "not run" rows
    plugins: list[object] = [collector, steps, expected,
                             *([gate] if gate is not None else [])]
    if not quiet:
        out(f"{kind.upper()}  serial {serial}  operator {operator}  station {config.station}"
             f"  rig {rig_file}  profile {config.profile} {config.variant}")
        out(f"run {record.run_id}  (spec time at speed {speed:g})")
        if note := notes(config):
            out(f"rig file {rig_file}: {note}")
    interrupted = False
    code: int | pytest.ExitCode = pytest.ExitCode.INTERNAL_ERROR
    try:
        with _signals_as_interrupt():
            code = pytest.main(args, plugins=plugins)
    except KeyboardInterrupt:
        interrupted = True
    if gate is not None and not gate.verified:  # nothing filed under an unverified version
        firmware_gate.discard(folder)
        raise RigError(gate.refusal or collector.stop_reason or "stopped before the unit's "
                       f"firmware was checked: nothing filed under {firmware}")
    with signals_ignored():
        record.end = records.utc_now()
        record.outcome = outcome_of(int(code), collector, interrupted)
        if record.outcome in ("error", "aborted"):
            record.message = "interrupted (Ctrl-C / SIGTERM)" if record.outcome == "aborted" \
                else collector.stop_reason or \
                f"pytest exit code {int(code)} ({pytest.ExitCode(int(code)).name})"
        _fill(record, collector, firmware)
        record.notes += gate.notes if gate is not None else []
        extra = extra_args or []
        if "-k" in extra:
            record.notes.append("partial run: only the steps matching "
                                f"{extra[extra.index('-k') + 1]!r}")
        # trace.json/svg/pdf, certificate.html/pdf: whatever fails there is a note
        eol_documents.write(record, folder, collector.trace, config, expected.names,
                            testcases)
        path = records.save(record, folder, config.reports.database)
    if stream is not None:
        _verdict_event(stream, record, path)
    if not quiet:
        summary(record, path, steps.steps)
    return EXIT[record.outcome], record


def _verdict_event(stream: EventStream, record: UnitRecord, path: Path) -> None:
    """The run's end for the station: outcome, why, what failed, where the files are."""
    stream.emit("verdict", run_id=record.run_id, **record_event(record, path))
    stream.close()


def _fill(record: UnitRecord, c: EolCollector, firmware: str | None) -> None:
    record.measurements = records.measurements_from(c.measured)
    record.steps = c.steps
    record.delays = c.delays
    record.prompts = c.prompts
    record.notes = c.notes
    record.findings = c.findings
    record.spec_time_s = round(c.spec_time_s, 2)
    record.firmware = c.facts.get("firmware") or c.facts.get("boot_firmware") or firmware
    record.charger_serial = c.facts.get("charger_serial") or c.facts.get("boot_serial")
    if firmware and record.firmware and firmware != record.firmware:
        record.notes.append(f"firmware asked for {firmware}, unit reports {record.firmware}")
    if firmware:
        record.firmware = firmware if not record.firmware else record.firmware


def summary(record: UnitRecord, path: Path, steps: list[takt.StepTakt] | None = None) -> None:
    word = VERDICT_WORD[record.outcome]
    n_limits = sum(1 for m in record.measurements if m.has_limits)
    out()
    out(banner(word))
    out()
    out(f"{word}  {record.serial}  ({len(record.measurements)} measurements, {n_limits} with "
         f"limits; {len(record.failed_measurements)} failed, "
         f"{len(record.marginal_measurements)} marginal)")
    if record.message:
        out(f"  {record.message}")
    for m in record.failed_measurements:
        out(f"  FAIL      {m.step}: {m.name} = {m.value_text()}  limits {m.limits_text()}")
    for m in record.marginal_measurements:
        out(f"  MARGINAL  {m.step}: {m.name} = {m.value_text()}  limits {m.limits_text()}")
    for s in record.steps:
        if s.outcome not in ("passed",):
            first = s.message.splitlines()[0][:150] if s.message else ""
            out(f"  {s.outcome.upper():<8}  {s.name}: {first}")
    if record.kind == "eol":
        total, delays = record.spec_time_s or 0.0, record.delay_sum_s
        ratio = f"{total / delays:.2f}x" if delays else "-"
        out(f"spec time {total:.1f} s; the charger's mandatory delays sum to {delays:.1f} s "
             f"({ratio}): " + ", ".join(f"{n} {s:.1f}" for n, s in _grouped(record.delays)))
        for line in takt.render(steps or []):  # per step: the charger's, own, bench
            out(line)
    folder = path.parent
    out(f"record       {path}")
    for key, label in (("certificate", "certificate"), ("certificate_pdf", "certificate"),
                       ("trace", "trace"), ("trace_pdf", "trace")):
        if key in record.files:
            out(f"{label:<12} {folder / record.files[key]}")


def _grouped(delays: list[DelayRecord]) -> list[tuple[str, float]]:
    out: dict[str, float] = {}
    for d in delays:
        out[d.name] = out.get(d.name, 0.0) + d.seconds
    return list(out.items())

