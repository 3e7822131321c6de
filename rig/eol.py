"""``rig run eol`` and ``rig run regression``: pytest in-process with a collector
that turns the run into a unit record (rig.records), a certificate and a trace.

The collector is a plain pytest plugin object (name ``rig-eol``): it prints one
progress line per step, gathers each step's measurements (the ``measure``
fixture's list on the test item), the charger's delays and operator answers
(testcases/eol ``eol`` fixture), and traces the instruments (rig.trace). The
record is written after ``pytest.main`` returns, whatever happened: Ctrl-C and
SIGTERM (turned into KeyboardInterrupt) give outcome ``aborted`` with what was
measured so far; signals are ignored only while the record is being written.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from evrig.fixtures.session import eol_facts_of, measurements_of, rig_session
from evrig.rig import records, trace
from evrig.rig.records import DelayRecord, StepRecord, UnitRecord

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


def _out(text: str = "") -> None:
    print(text, file=sys.__stdout__, flush=True)


class EolCollector:
    """The pytest plugin object of one run (see the module docstring)."""

    name = "rig-eol"

    def __init__(self, serial: str | None, operator: str, speed: float, verbose: bool = True,
                 full_names: bool = False):
        self.full_names = full_names  # regression: node ids, unique across modules
        self.serial = serial
        self.operator = operator
        self.speed = speed
        self.verbose = verbose
        self.trace = trace.Trace()
        self.rig: Any = None
        self.total = 0
        self.index = 0
        self.steps: list[StepRecord] = []
        self.measured: list[tuple[str, list[Any]]] = []
        self.delays: list[DelayRecord] = []
        self.prompts: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {}
        self.notes: list[str] = []
        self.findings: list[str] = []
        self.step_svgs: dict[str, str] = {}
        self.spec_time_s = 0.0
        self._rig_wall = 0.0
        self._rig_closing: float | None = None
        self._phase: dict[str, tuple[str, str]] = {}
        self._collect_errors: list[str] = []
        self.stop_reason: str | None = None  # why the session stopped early, if it did

    # -- pytest hooks ---------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._collect_errors.append(f"{report.nodeid}: {report.longreprtext[-500:]}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        reason = session.shouldfail or session.shouldstop
        if reason and self.stop_reason is None:
            self.stop_reason = str(reason)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        for error in self._collect_errors:
            _out(f"collection error: {error}")

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any
                             ) -> Generator[None, Any, Any]:
        t0 = time.monotonic()
        result = yield
        if fixturedef.argname == "rig" and self.rig is None:
            self._rig_wall += time.monotonic() - t0
            self.rig = result
            session = rig_session(request.config)
            if session is not None:
                self.trace = session.trace  # the rig plugin traces the instruments already
            else:
                trace.attach(result, self.trace)

            def closing() -> None:
                self._rig_closing = time.monotonic()

            fixturedef.addfinalizer(closing)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any
                                ) -> Generator[None, Any, Any]:
        self.index += 1
        wall0 = time.monotonic()
        rig_before = self._rig_wall
        t0 = self.rig.clock.now() if self.rig is not None else 0.0
        self._phase[item.nodeid] = ("passed", "")
        interrupted = True
        try:
            result = yield
            interrupted = False
            return result
        except pytest.exit.Exception as exc:  # pytest.exit(): an error, not a Ctrl-C
            interrupted, self.stop_reason = False, str(exc.msg)
            self._phase[item.nodeid] = ("error", self.stop_reason)
            raise
        finally:
            wall = time.monotonic() - wall0 - (self._rig_wall - rig_before)
            if self._rig_closing is not None:
                wall -= time.monotonic() - self._rig_closing
                self._rig_closing = None
            # Spec time as the rig's clock counts it (the virtual bench produces its
            # own, rig/bench_clock.py); wall x speed only where no rig was built.
            spec_s = (max(0.0, self.rig.clock.now() - t0) if self.rig is not None
                      else max(0.0, wall) * self.speed)
            self.spec_time_s += spec_s
            outcome, message = self._phase[item.nodeid]
            if interrupted:
                outcome, message = "aborted", "interrupted (Ctrl-C / SIGTERM)"
            self._gather(item, outcome, message, spec_s, t0)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.when == "call":
            csms = getattr(item, "funcargs", {}).get("csms")
            if csms is not None:
                self.trace.add_ocpp(csms.history)
                self.findings += [f"{item.name}: {f}" for f in csms.findings]
            if report.failed:
                self._attach_svg(item, f"trace of {item.name}", step_only=True)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome, message = self._phase.get(report.nodeid, ("passed", ""))
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else str(report.longrepr)[-400:]
            new = "failed" if report.when == "call" else "error"
            if outcome == "passed":
                outcome, message = new, f"{report.when}: {text}"
        elif report.skipped and outcome == "passed":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            outcome, message = "skipped", str(reason)
        self._phase[report.nodeid] = (outcome, message)

    # -- gathering --------------------------------------------------------------------
    def _gather(self, item: pytest.Item, outcome: str, message: str, spec_s: float,
                t0: float) -> None:
        name = item.nodeid.removeprefix("testcases/") if self.full_names \
            else item.name.removeprefix("test_")
        measured = list(measurements_of(item))
        self.measured.append((name, measured))
        self.steps.append(StepRecord(name, outcome, round(spec_s, 3), message))
        self.trace.add(t0, "step", name, bad=outcome in ("failed", "error"))
        for m in measured:
            if m.t is not None:
                self.trace.add(m.t, "measure", f"{m.name}={m.value:.4g}"
                               if isinstance(m.value, float) else f"{m.name}={m.value}",
                               bad=m.verdict == "FAIL")
        step = eol_facts_of(item)
        if step is not None:
            self.delays += [DelayRecord(n, round(s, 3), w) for n, s, w in step.delays]
            self.prompts += step.prompts
            self.facts.update(step.facts)
            self.notes += step.notes
        if self.verbose:
            self._progress(name, outcome, message, spec_s, measured)

    def _progress(self, name: str, outcome: str, message: str, spec_s: float,
                  measured: list[Any]) -> None:
        word = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP",
                "aborted": "ABORT"}[outcome]
        counter = f"[{self.index:>2}/{self.total}]"
        _out(f"{counter} {name[-36:]:<36} {word:<5} {spec_s:7.1f} s spec   "
             f"{len(measured)} measurement{'s' if len(measured) != 1 else ''}")
        for m in measured:
            if m.verdict != "PASS":
                _out(f"        {m.verdict:<8} {m}")
        if outcome in ("failed", "error", "skipped") and message:
            _out(f"        {message.splitlines()[0][:160]}")

    def _attach_svg(self, item: pytest.Item, title: str, step_only: bool) -> None:
        """An SVG timeline into the allure result of ``item`` (allure-pytest, when on)."""
        with contextlib.suppress(Exception):
            events = self.trace
            if step_only and self.rig is not None:
                start = next((e.t for e in reversed(self.trace.events) if e.lane == "step"),
                             None)
                now = self.rig.clock.now()
                begin = start if start is not None else now - 60
                events = self.trace.window(begin, now)
            picture = trace.svg(events, title)
            self.step_svgs[item.name] = picture
            import allure

            allure.attach(picture, name=title, attachment_type=allure.attachment_type.SVG)


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


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


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
        quiet: bool = False) -> tuple[int, UnitRecord]:
    """One EOL (or regression) run of the testcases in folder ``testcases``; returns the
    exit code and the written record."""
    from evrig.rig.config import load_rig
    from evrig.rig.config_rules import check_environment, notes

    config = load_rig(rig_file)  # a bad rig file or a missing secret: one line, before
    check_environment(config)    # any record or bench (run_command prints it)
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
    collector = EolCollector(serial, operator, speed, verbose=not quiet,
                             full_names=kind != "eol")
    if not quiet:
        _out(f"{kind.upper()}  serial {serial}  operator {operator}  station {config.station}"
             f"  rig {rig_file}  profile {config.profile} {config.variant}")
        _out(f"run {record.run_id}  (spec time at speed {speed:g})")
        if note := notes(config):
            _out(f"rig file {rig_file}: {note}")
    interrupted = False
    code: int | pytest.ExitCode = pytest.ExitCode.INTERNAL_ERROR
    try:
        with _signals_as_interrupt():
            code = pytest.main(args, plugins=[collector])
    except KeyboardInterrupt:
        interrupted = True
    with _signals_ignored():
        record.end = records.utc_now()
        record.outcome = outcome_of(int(code), collector, interrupted)
        if record.outcome in ("error", "aborted"):
            record.message = "interrupted (Ctrl-C / SIGTERM)" if record.outcome == "aborted" \
                else collector.stop_reason or \
                f"pytest exit code {int(code)} ({pytest.ExitCode(int(code)).name})"
        _fill(record, collector, firmware)
        extra = extra_args or []
        if "-k" in extra:
            record.notes.append("partial run: only the steps matching "
                                f"{extra[extra.index('-k') + 1]!r}")
        trace_svg = trace.svg(collector.trace, f"{kind.upper()} {serial} {record.run_id}")
        records.write_atomic(folder / "trace.svg", trace_svg)
        record.files = {"trace": "trace.svg", "certificate": "certificate.html",
                        "junit": "junit.xml"}
        from evrig.rig import certificate

        certificate.write(record, folder, trace_svg)
        path = records.save(record, folder, config.reports.database)
    if not quiet:
        summary(record, path)
    return EXIT[record.outcome], record


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


def summary(record: UnitRecord, path: Path) -> None:
    word = VERDICT_WORD[record.outcome]
    n_limits = sum(1 for m in record.measurements if m.has_limits)
    _out()
    _out(banner(word))
    _out()
    _out(f"{word}  {record.serial}  ({len(record.measurements)} measurements, {n_limits} with "
         f"limits; {len(record.failed_measurements)} failed, "
         f"{len(record.marginal_measurements)} marginal)")
    if record.message:
        _out(f"  {record.message}")
    for m in record.failed_measurements:
        _out(f"  FAIL      {m.step}: {m.name} = {m.value_text()}  limits {m.limits_text()}")
    for m in record.marginal_measurements:
        _out(f"  MARGINAL  {m.step}: {m.name} = {m.value_text()}  limits {m.limits_text()}")
    for s in record.steps:
        if s.outcome not in ("passed",):
            first = s.message.splitlines()[0][:150] if s.message else ""
            _out(f"  {s.outcome.upper():<8}  {s.name}: {first}")
    if record.kind == "eol":
        total, delays = record.spec_time_s or 0.0, record.delay_sum_s
        ratio = f"{total / delays:.2f}x" if delays else "-"
        _out(f"spec time {total:.1f} s; the charger's mandatory delays sum to {delays:.1f} s "
             f"({ratio}): " + ", ".join(f"{n} {s:.1f}" for n, s in _grouped(record.delays)))
    folder = path.parent
    _out(f"record       {path}")
    _out(f"certificate  {folder / 'certificate.html'}")
    _out(f"trace        {folder / 'trace.svg'}")


def _grouped(delays: list[DelayRecord]) -> list[tuple[str, float]]:
    out: dict[str, float] = {}
    for d in delays:
        out[d.name] = out.get(d.name, 0.0) + d.seconds
    return list(out.items())

