"""The station's one controller: the bench, the unit on it, the pages watching it.

One unit at a time (one bench); Start, the operator's answers and Abort come from any
page, every page sees the same picture (rig/station_state.py) pushed on each change.
The run's events arrive on a reader thread (rig/station_child.py); the pages' queues
live on the web server's event loop, so a change is handed over with
``call_soon_threadsafe``.

A child is started from the event loop's thread, never from a worker thread: the
child's "die with the station" signal (PR_SET_PDEATHSIG) fires when the *thread* that
started it ends, and the loop's thread lives as long as the station.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from datetime import time as day_time
from pathlib import Path
from typing import Any

from evrig.rig import station_history, station_state
from evrig.rig.records import safe_name
from evrig.rig.station_child import ChildRun, tail

SERIAL = re.compile(r"^[\x21-\x7e]{1,64}$")  # what a barcode holds: printable, no spaces
RECOVER_WAIT_S = 90.0  # a run left by a killed station: its own SIGTERM budget and more


class Station:
    def __init__(self, *, config: Any, rig_file: str, operator: str, reports: Path,
                 prompt_timeout: float, shifts: list[day_time], cwd: Path) -> None:
        self.config, self.rig_file, self.operator = config, rig_file, operator
        self.reports, self.prompt_timeout, self.shifts, self.cwd = \
            reports, prompt_timeout, shifts, cwd
        self.folder = reports / "station"
        self.state_file = station_state.StateFile(self.folder / f"{safe_name(config.station)}"
                                                  ".json")
        self.info = {"station": config.station, "profile": config.profile,
                     "variant": config.variant, "rig_file": rig_file,
                     "virtual": bool(config.virtual), "operator": operator,
                     "prompt_timeout_s": prompt_timeout}
        self.unit: dict[str, Any] | None = None
        self.child: ChildRun | None = None
        self.history: dict[str, Any] = {}
        self.busy_reason = ""  # why Start is refused (a run left by a killed station)
        self.version = 0
        self._lock = threading.RLock()
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._interrupting = False

    # -- the picture ------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self.version, "info": self.info, "unit": self.unit,
                    "history": self.history, "busy": self.busy_reason,
                    "running": self.child is not None and self.child.running,
                    "now": time.time()}

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=64)
        with self._lock:
            self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._queues.discard(queue)

    def _changed(self) -> None:
        with self._lock:
            self.version += 1
            picture = self.snapshot()
            queues = list(self._queues)
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        for queue in queues:
            loop.call_soon_threadsafe(_offer, queue, picture)

    def refresh_history(self) -> None:
        found = station_history.read(self.config.reports.database, self.config.station,
                                     self.shifts, base=self.cwd)
        with self._lock:
            self.history = found.as_dict()
        self._changed()

    # -- commands from the page -------------------------------------------------------
    def start(self, serial: str) -> str | None:
        """Start a unit; the reason when it cannot start."""
        serial = serial.strip()
        if not SERIAL.match(serial):
            return "scan or type the unit's serial number (1-64 characters, no spaces)"
        with self._lock:
            if self.busy_reason:
                return self.busy_reason
            if self.child is not None and self.child.running:
                return f"unit {self.unit['serial'] if self.unit else ''} is still running"
            unit = station_state.new_unit(serial, self.operator)
            log = self.folder / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}-" \
                                         f"{safe_name(serial)}.log"
            unit["log"] = str(log)
            self.unit, self.child = unit, None
            try:
                self.child = ChildRun(serial=serial, operator=self.operator,
                                      rig_file=self.rig_file, log=log,
                                      prompt_timeout=self.prompt_timeout,
                                      on_event=self._on_event, cwd=self.cwd)
            except OSError as exc:
                unit["phase"] = "done"
                unit["verdict"] = station_state.verdict_view(
                    {"outcome": "error", "message": f"could not start rig run eol: {exc}"})
                self._changed()
                return None
            self.state_file.save(unit, self.child.pid)
        self._changed()
        return None

    def document(self, run_id: str, name: str) -> Path | None:
        """A document of the unit on the page (its run): the certificate or trace its
        record names (station_state.DOCUMENTS). None for another run, another name, or
        a file not there — never a path the request chose."""
        with self._lock:
            unit = self.unit
        if unit is None or not run_id or unit.get("run_id") != run_id:
            return None
        path = ((unit.get("verdict") or {}).get("documents") or {}).get(name)
        return Path(path) if path and Path(path).is_file() else None

    def answer(self, prompt_id: int, answer: str) -> str | None:
        with self._lock:
            unit, child = self.unit, self.child
            prompt = unit["prompt"] if unit is not None else None
            if child is None or prompt is None or prompt["id"] != prompt_id:
                return "no such question (answered already, or timed out)"
            if answer not in prompt["choices"]:
                return f"answer one of {', '.join(prompt['choices'])}"
            if not child.answer(prompt_id, answer):
                return "the run no longer listens"
        return None

    def abort(self) -> str | None:
        with self._lock:
            child, unit = self.child, self.unit
            if child is None or unit is None or not child.running:
                return "no unit is running"
            unit["phase"], unit["prompt"] = "aborting", None
            unit["notice"] = "Aborted from the station: the bench is in its safe state."
            child.abort()
        self._changed()
        return None

    # -- the run's events (reader thread) ---------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        exited = event.get("event") == "exit"
        with self._lock:
            unit, child = self.unit, self.child
            if unit is None:
                return
            if event.get("event") == "run" and event.get("folder"):
                event = {**event, "folder": str((self.cwd / str(event["folder"])).resolve())}
            if exited:
                station_state.finish(unit, event.get("code"), tail(Path(unit["log"])))
                if self._interrupting:
                    unit["notice"] = "The station was stopped during this unit's run."
            else:
                station_state.fold(unit, event)
            if exited or event.get("event") == "run":
                self.state_file.save(unit, child.pid if child else None,
                                     interrupted=self._interrupting)
        if exited and not self._interrupting:
            self.refresh_history()
        else:
            self._changed()

    # -- start and stop of the station ------------------------------------------------
    def recover(self) -> None:
        """What the previous station left (module docstring of rig/station_state.py)."""
        saved = self.state_file.load()
        if saved is None:
            return
        if saved.get("phase") == "done" and not saved.get("interrupted"):
            return
        if station_state.pid_alive(saved.get("pid")):
            self.busy_reason = f"unit {saved.get('serial')} of the previous station is " \
                               "still stopping: wait for its record"
            threading.Thread(target=self._await_orphan, args=(saved,), daemon=True).start()
            return
        self._recovered(saved)

    def _await_orphan(self, saved: dict[str, Any]) -> None:
        end = time.monotonic() + RECOVER_WAIT_S
        while station_state.pid_alive(saved.get("pid")) and time.monotonic() < end:
            time.sleep(0.5)
        with self._lock:
            self.busy_reason = ""
        self._recovered(saved)
        self.refresh_history()

    def _recovered(self, saved: dict[str, Any]) -> None:
        unit = station_state.recovered_unit(saved)
        with self._lock:
            self.unit = unit
            self.state_file.save(unit, None)  # shown once: done now
        self._changed()

    def shutdown(self) -> str:
        """Every way out of the station: a unit still running is aborted (SIGTERM) and
        waited for, so the bench ends safe and the record says ``aborted``. Returns
        what became of it, for the terminal."""
        with self._lock:
            child = self.child
            self._interrupting = True
            serial = (self.unit or {}).get("serial", "")
        if child is not None and child.running:
            child.stop()
            return f"unit {serial} aborted, bench safe"
        return "no unit was running"


def _offer(queue: asyncio.Queue[dict[str, Any]], picture: dict[str, Any]) -> None:
    """The newest picture replaces what a slow page has not taken yet."""
    while queue.full():
        queue.get_nowait()
    queue.put_nowait(picture)
