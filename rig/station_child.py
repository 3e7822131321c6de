"""One unit's run under the station: a child process ``rig run eol --serial S
--operator O --rig FILE --events fd:N --answers fd:M``.

Why a child and not ``rig.eol.run`` in a thread: the run is pytest in-process and its
SIGTERM handling (record ``aborted``, bench to the safe state) needs the main thread
of its process; and a child that crashes or hangs cannot take the station with it.
The record, certificate and trace are therefore exactly those of ``rig run eol``:
it is ``rig run eol``.

- Its events arrive on a pipe (rig/station_wire.py), read by a thread that hands each
  to ``on_event``; when the pipe closes the thread waits for the process and reports
  ``{"event": "exit", "code": N}``.
- Abort is SIGTERM, the signal ``rig run eol`` turns into an ``aborted`` record.
- The child runs in its own session: a Ctrl-C in the station's terminal reaches the
  station only, which then stops the child itself (:meth:`ChildRun.stop`), once.
- On Linux the child also gets SIGTERM when the station dies without stopping it
  (``PR_SET_PDEATHSIG``, e.g. a SIGKILL): the bench still ends safe.
- Its terminal output (the progress lines, the banner) goes to a log file the page
  links to; the last lines explain a run that ended without a verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

PR_SET_PDEATHSIG = 1
STOP_WAIT_S = 60.0  # the aborted record is written within seconds; then SIGKILL


def _libc() -> Any:
    try:
        return ctypes.CDLL(None) if sys.platform == "linux" else None
    except OSError:
        return None


_LIBC = _libc()  # loaded here: the child between fork and exec only calls it


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


class ChildRun:
    """A running ``rig run eol`` and its two pipes."""

    def __init__(self, *, serial: str, operator: str, rig_file: str, log: Path,
                 prompt_timeout: float, on_event: Callable[[dict[str, Any]], None],
                 cwd: Path | None = None) -> None:
        ev_read, ev_write = os.pipe()
        ans_read, ans_write = os.pipe()
        cmd = [sys.executable, "-m", "evrig.rig", "run", "eol", "--serial", serial,
               "--operator", operator, "--rig", rig_file, "--events", f"fd:{ev_write}",
               "--answers", f"fd:{ans_read}", "--prompt-timeout", f"{prompt_timeout:g}"]
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(ev_write, ans_read), start_new_session=True,
                preexec_fn=_die_with_parent if _LIBC is not None else None)
        os.close(ev_write)  # the child holds the ends it uses
        os.close(ans_read)
        self._events: IO[bytes] = os.fdopen(ev_read, "rb")
        self._answers: IO[bytes] | None = os.fdopen(ans_write, "wb", buffering=0)
        self._lock = threading.Lock()
        self._on_event = on_event
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, name=f"unit-{serial}",
                                        daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self._events:
            for raw in self._events:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict) and "event" in event:
                    self._on_event(event)
        code = self.proc.wait()
        self._close_answers()
        self._on_event({"event": "exit", "code": code})

    def answer(self, prompt_id: int, answer: str) -> bool:
        """Send the operator's answer; False when the run no longer listens."""
        line = json.dumps({"id": prompt_id, "answer": answer}).encode() + b"\n"
        with self._lock:
            if self._answers is None:
                return False
            try:
                self._answers.write(line)
            except OSError:
                return False
        return True

    def _close_answers(self) -> None:
        with self._lock:
            answers, self._answers = self._answers, None
        if answers is not None:
            with contextlib.suppress(OSError):
                answers.close()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def abort(self) -> None:
        """SIGTERM: ``rig run eol`` records ``aborted`` and leaves the bench safe."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_WAIT_S) -> int | None:
        """Abort and wait (bounded) until the run has written its record; SIGKILL only
        past ``timeout``. The exit code, or None if it had to be killed."""
        self.abort()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        self._reader.join(timeout=5)
        return code


def tail(log: Path, lines: int = 6) -> list[str]:
    """The last lines of a run's log: why a run ended without a verdict."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]
