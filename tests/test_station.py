"""The operator's station without a browser: the wire between it and ``rig run eol``
(events out, answers in, the prompt's timeout), the shift's yield from the store, the
picture a restarted station rebuilds, one station per bench and one port per station.
The page itself: tests/test_station_browser.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from datetime import time as day_time
from pathlib import Path

import pytest

from evrig.rig import records, station_history, station_state
from evrig.rig.errors import RigError
from evrig.rig.records import MeasurementRecord, StepRecord, UnitRecord, read_record
from evrig.rig.station_wire import EventStream, OperatorChannel, OperatorTimeout, choices_of
from tests.station_proc import ROOT, SIM, StationProc

# -- the wire ------------------------------------------------------------------------------


def test_events_are_json_lines(tmp_path: Path) -> None:
    stream = EventStream(str(tmp_path / "events.jsonl"))
    stream.emit("step_start", index=1, name="power_up_and_boot")
    stream.close()
    stream.emit("ignored")  # closed: dropped, never an error in the run
    [line] = (tmp_path / "events.jsonl").read_text().splitlines()
    event = json.loads(line)
    assert event["event"] == "step_start" and event["name"] == "power_up_and_boot"
    assert abs(event["t"] - time.time()) < 60


def test_a_station_gone_away_does_not_fail_the_run() -> None:
    read, write = os.pipe()
    stream = EventStream(f"fd:{write}")
    os.close(read)
    stream.emit("measurement", name="x")  # broken pipe: swallowed
    stream.emit("measurement", name="y")


@pytest.mark.parametrize(("question", "choices"), [
    ("Did the unit beep at power-up? [y/n]", ["y", "n"]),
    ("EOL harness connected to unit SN-1? [y]", ["y"]),
    ("Is the ring blue?", ["y", "n"]),
])
def test_choices_come_from_the_question(question: str, choices: list[str]) -> None:
    assert choices_of(question) == choices


def _channel(tmp_path: Path, timeout: float) -> tuple[OperatorChannel, int, Path]:
    read, write = os.pipe()
    events = tmp_path / "events.jsonl"
    return OperatorChannel(f"fd:{read}", EventStream(str(events)), timeout), write, events


def test_the_answer_of_the_prompt_asked_is_taken(tmp_path: Path) -> None:
    channel, write, events = _channel(tmp_path, 30)

    def operator() -> None:
        time.sleep(0.2)
        os.write(write, b'{"id": 0, "answer": "y"}\nnot json\n{"id": 1, "answer": "No"}\n')

    threading.Thread(target=operator).start()
    assert channel.ask("Did the unit beep at power-up? [y/n]", "power_up_and_boot") == "n"
    kinds = [json.loads(line) for line in events.read_text().splitlines()]
    assert kinds[0]["event"] == "prompt" and kinds[0]["choices"] == ["y", "n"]
    assert kinds[0]["step"] == "power_up_and_boot" and kinds[0]["timeout_s"] == 30
    assert kinds[1] == {**kinds[1], "event": "answer", "id": 1, "answer": "n"}
    os.close(write)


def test_no_answer_in_time_fails_with_a_clear_message(tmp_path: Path) -> None:
    channel, write, events = _channel(tmp_path, 0.5)
    with pytest.raises(OperatorTimeout, match=r"operator did not answer within 0.5 s"):
        channel.ask("Is the ring blue? [y/n]")
    assert json.loads(events.read_text().splitlines()[-1])["event"] == "prompt_timeout"
    os.close(write)
    with pytest.raises(OperatorTimeout, match="the station went away"):
        channel.ask("Is the ring blue? [y/n]")


def test_rig_run_eol_asks_the_channel_and_fails_the_step_without_an_answer(
        tmp_path: Path) -> None:
    """The real command, the power-up step only: its events in order, the harness
    prompt sent to the channel (not answered by the virtual bench), the step failed
    after the timeout, the record saying so; and the terminal output as without."""
    fifo = tmp_path / "answers"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "evrig.rig", "run", "eol", "--serial", "SN-Q", "--rig", SIM,
         "-k", "power_up", "--events", str(tmp_path / "events.jsonl"), "--answers",
         str(fifo), "--prompt-timeout", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[ 1/1] power_up_and_boot" in done.stdout and "FAIL" in done.stdout
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text()
              .splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == ["run", "steps", "step_start", "prompt", "prompt_timeout", "step_end",
                     "verdict"], kinds
    assert "SN-Q" in events[3]["question"]  # the scanned serial reaches the steps
    assert events[5]["outcome"] == "failed"
    assert "operator did not answer within 2 s" in events[5]["message"]
    assert events[6]["outcome"] == "failed"
    record = read_record(tmp_path / events[6]["record"])
    assert record.prompts[0]["answer"] is None and record.prompts[0]["auto"] is False
    assert record.run_id == events[0]["run_id"]


# -- the shift ------------------------------------------------------------------------------
SHIFTS = station_history.parse_shifts("06:00,14:00,22:00")
TZ = timezone(timedelta(hours=1))


@pytest.mark.parametrize(("now", "start"), [
    ("2026-03-02 05:59", "2026-03-01 22:00"),  # after midnight: yesterday's night shift
    ("2026-03-02 06:00", "2026-03-02 06:00"),
    ("2026-03-02 21:59", "2026-03-02 14:00"),
    ("2026-03-02 23:10", "2026-03-02 22:00"),
])
def test_the_shift_is_the_one_running_now(now: str, start: str) -> None:
    moment = datetime.strptime(now, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    assert station_history.shift_start(SHIFTS, moment) == \
        datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def test_a_wrong_shift_start_is_one_line() -> None:
    with pytest.raises(RigError, match=r"--shift-start 25:00: a time of day as HH:MM"):
        station_history.parse_shifts("06:00,25:00")
    assert station_history.parse_shifts("14:00, 06:00") == [day_time(6), day_time(14)]


def _unit(folder: Path, serial: str, outcome: str, start: datetime,
          station: str = "sim-1", kind: str = "eol") -> None:
    record = UnitRecord(serial=serial, station=station, operator="ci", rig_file=SIM,
                        profile="evnet-7kw", variant="S", kind=kind, outcome=outcome,
                        start=station_history.iso_utc(start))
    records.save(record, folder / "units" / serial / record.run_id,
                 "sqlite:///reports/results.sqlite", base=folder.parent)


def test_yield_counts_each_unit_once_by_its_last_finished_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    now = datetime(2026, 3, 2, 15, 30, tzinfo=TZ)
    at = now - timedelta(minutes=60)
    _unit(reports, "OLD", "failed", now - timedelta(hours=3))  # the shift before
    _unit(reports, "A", "failed", at)
    _unit(reports, "A", "passed", at + timedelta(minutes=5))  # retest passed
    _unit(reports, "B", "passed", at + timedelta(minutes=10))
    _unit(reports, "C", "failed", at + timedelta(minutes=15))
    _unit(reports, "D", "aborted", at + timedelta(minutes=20))  # says nothing of D
    _unit(reports, "E", "passed", at, station="sim-2")  # another bench
    _unit(reports, "F", "passed", at, kind="regression")
    found = station_history.read("sqlite:///reports/results.sqlite", "sim-1", SHIFTS,
                                 base=tmp_path, now=now)
    assert found.problem == ""
    shift = found.shift
    assert (shift.units, shift.passed, shift.first_pass, shift.runs) == (3, 2, 1, 5)
    assert shift.label == "since 14:00"
    assert shift.yield_pct == pytest.approx(200 / 3)
    assert [u["serial"] for u in found.last] == ["D", "C", "B", "A", "A", "OLD"]


def test_a_store_that_cannot_be_read_is_said_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.sqlite").write_text("not a database")
    found = station_history.read("sqlite:///reports/results.sqlite", "sim-1", SHIFTS,
                                 base=tmp_path)
    assert found.problem and found.last == [] and found.shift.units == 0


# -- the picture and a restart -----------------------------------------------------------------
def test_events_fold_into_the_picture() -> None:
    unit = station_state.new_unit("SN-1", "ci")
    for event in [
        {"event": "run", "run_id": "R", "folder": "/x"},
        {"event": "steps", "names": ["power_up_and_boot", "identity_and_rtm"]},
        {"event": "step_start", "index": 1, "name": "power_up_and_boot"},
        {"event": "prompt", "id": 1, "question": "Beep? [y/n]", "choices": ["y", "n"],
         "timeout_s": 60, "t": 1000.0, "step": "power_up_and_boot"},
    ]:
        station_state.fold(unit, event)
    assert unit["phase"] == "running" and unit["prompt"]["deadline"] == 1060.0
    assert [s["title"] for s in unit["steps"]] == ["Power-up and OCPP boot",
                                                  "Identity and fault-free start"]
    station_state.fold(unit, {"event": "answer", "id": 1, "answer": "n"})
    station_state.fold(unit, {"event": "measurement", "step": "power_up_and_boot",
                              "name": "powerup_beep", "value": 0.0, "low": 1, "high": 1,
                              "unit": None, "verdict": "FAIL"})
    assert unit["prompt"] is None
    assert unit["steps"][0]["measurements"][0] == {
        "name": "powerup_beep", "title": "Beep at power-up (operator)", "value": "no",
        "limits": "yes", "verdict": "FAIL", "step": "power_up_and_boot"}
    station_state.finish(unit, 130, ["rig run eol: stopped"])
    assert [s["status"] for s in unit["steps"]] == ["aborted", "not run"]
    assert unit["verdict"]["outcome"] == "error"  # no verdict, no record: says why
    assert "stopped" in unit["verdict"]["message"]


def test_a_restarted_station_shows_the_record_or_says_there_is_none(tmp_path: Path) -> None:
    record = UnitRecord(serial="SN-R", station="sim-1", operator="ci", rig_file=SIM,
                        profile="evnet-7kw", outcome="aborted",
                        message="interrupted (Ctrl-C / SIGTERM)")
    record.steps = [StepRecord("power_up_and_boot", "aborted", 1.0, "interrupted")]
    record.measurements = [MeasurementRecord("led_powerup_s", 0.4, "s", None, 3.0,
                                             step="power_up_and_boot")]
    folder = tmp_path / record.run_id
    records.write_record(record, folder)
    state = station_state.StateFile(tmp_path / "station" / "sim-1.json")
    unit = station_state.new_unit("SN-R", "ci")
    unit.update(run_id=record.run_id, folder=str(folder), phase="running")
    state.save(unit, pid=None)
    saved = state.load()
    assert saved is not None and saved["phase"] == "running"
    shown = station_state.recovered_unit(saved)
    assert shown["verdict"]["word"] == "ABORTED" and "ABORTED" in shown["notice"]
    assert shown["steps"][0]["measurements"][0]["name"] == "led_powerup_s"
    gone = station_state.recovered_unit({**saved, "folder": str(tmp_path / "none")})
    assert gone["notice"] == station_state.NO_RECORD
    assert not station_state.pid_alive(None) and not station_state.pid_alive(os.getpid())


# -- one station per bench, one port per station ----------------------------------------------
def test_stations_on_one_machine(tmp_path: Path) -> None:
    """Two benches (two rig files, two stations) serve side by side on their own
    ports; a second station for a bench already served, or a port already taken, is
    refused in one line."""
    other = tmp_path / "sim-2.yaml"
    other.write_text(Path(SIM).read_text().replace("station: sim-1", "station: sim-2"))
    first = StationProc(tmp_path).start()
    second = StationProc(tmp_path, str(other)).start()
    try:
        assert first.port != second.port
        assert first.state()["info"]["station"] == "sim-1"
        assert second.state()["info"]["station"] == "sim-2"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        again = subprocess.run(
            [sys.executable, "-m", "evrig.rig", "station", "--rig", SIM, "--port", "0"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == 1
        assert "station sim-1 is already served" in again.stderr
        assert first.url in again.stderr and "one station process per bench" in again.stderr
        third = tmp_path / "sim-3.yaml"
        third.write_text(Path(SIM).read_text().replace("station: sim-1", "station: sim-3"))
        taken = subprocess.run(
            [sys.executable, "-m", "evrig.rig", "station", "--rig", str(third), "--port",
             str(first.port)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert taken.returncode == 1 and "give each bench its own --port" in taken.stderr
    finally:
        for proc in (first, second):  # SIGTERM, as an init system stops it
            assert proc.stop() == 0
    said = "station sim-1 stopped (no unit was running)"
    deadline = time.monotonic() + 30  # the drain thread reads up to the pipe's end
    while said not in "".join(first.output) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert said in "".join(first.output), first.output[-5:]


# -- who may command ----------------------------------------------------------------------------
@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1", True), ("::1", True), ("127.0.1.1", True),
    ("10.0.0.7", False), ("192.168.1.20", False), ("fe80::1", False),
    (None, False), ("testclient", False)])
def test_commands_come_from_this_machine_only(host: str | None, allowed: bool) -> None:
    """Served on the line's network, a page elsewhere watches: start, answer and abort
    are taken from a loopback address only (rig/station_app.py)."""
    from evrig.rig.station_app import may_command

    assert may_command(host) is allowed


def test_the_page_on_this_machine_may_command(tmp_path: Path) -> None:
    """The state a page on this machine gets says it may command; a command from it is
    taken (here refused by the station for its content, not by who sent it)."""
    import urllib.error
    import urllib.request

    station = StationProc(tmp_path).start()
    try:
        assert station.state()["control"] is True
        request = urllib.request.Request(station.url + "api/answer", method="POST",
                                         data=b'{"id": 99, "answer": "y"}',
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 409  # no such prompt: the station's answer, not 403
    finally:
        station.kill()


def test_a_command_from_another_machine_is_refused_and_the_page_watches() -> None:
    """The app itself (ASGI, no server): from 10.0.0.7 abort gets 403 saying the page
    only watches, and the station is not asked; the state says control false."""
    import asyncio

    from evrig.rig.station_app import WATCH_ONLY, build

    class _Station:
        info = {"station": "sim-1"}
        aborted = 0

        def snapshot(self) -> dict[str, object]:
            return {"unit": None}

        def abort(self) -> None:
            self.aborted += 1

    async def call(app: object, method: str, path: str, client: str) -> tuple[int, dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": [],
                 "client": (client, 40000), "server": ("0.0.0.0", 8470)}
        await app(scope, receive, send)  # type: ignore[operator]
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], json.loads(body)

    station = _Station()
    app = build(station)  # type: ignore[arg-type]
    status, reply = asyncio.run(call(app, "POST", "/api/abort", "10.0.0.7"))
    assert (status, reply) == (403, {"ok": False, "error": WATCH_ONLY})
    assert station.aborted == 0
    status, reply = asyncio.run(call(app, "GET", "/api/state", "10.0.0.7"))
    assert status == 200 and reply["control"] is False
    status, reply = asyncio.run(call(app, "POST", "/api/abort", "127.0.0.1"))
    assert (status, reply) == (200, {"ok": True}) and station.aborted == 1
