"""The wire between ``rig station`` and the ``rig run eol`` it starts for each unit.

Two one-way streams of JSON lines, one object a line:

- events, from the run (``rig run eol --events DEST``): what the terminal shows, in a
  form a program reads. ``DEST`` is a file (appended to: a log of runs) or ``fd:N``, a
  pipe the station passed to the child. Each event has ``event`` (its kind) and ``t``
  (wall-clock seconds since the epoch). Kinds, in the order a run sends them:
  ``run`` (run_id, serial, operator, station, profile, variant, rig_file, kind,
  folder) · ``steps`` (names, titles: the collected sequence) · ``step_start``
  (index, name) · ``measurement`` (step, name, value, unit, low, high, verdict) as each
  is taken · ``prompt`` (id, step, question, choices, timeout_s) · ``answer`` (id,
  answer) or ``prompt_timeout`` (id) · ``step_end`` (index, name, outcome, message,
  spec_s) · ``verdict`` (outcome, message, failed, record, files) once the record is
  saved. A reader ignores kinds it does not know: new kinds may come.
- answers, to the run (``rig run eol --answers SRC``, ``fd:N`` or a FIFO's path):
  ``{"id": N, "answer": "y"}`` for the prompt of that id; an answer to an older
  prompt is dropped.

Why pipes and not the child's stdin/stdout: pytest's capture replaces file
descriptor 0 with /dev/null while a step runs (where prompts are asked), and the
run's terminal output stays as ``rig run eol`` prints it (the station keeps it in a
log). A station that goes away mid-run breaks the pipes: events are then dropped (the
run goes on and writes its record as without a station) and a prompt fails its step
at once.

The kernel's part (no web stack): the plugin (fixtures/eol_collection.py) and the
step helper (testcases/eol/steps.py) use it; the station (rig/station*.py) reads the
other ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import threading
import time
from typing import IO, Any

from evrig.rig.errors import RigError

# Operator's seconds (wall clock: a person answers, not the bench) a prompt waits when
# neither the station nor ``rig run eol --prompt-timeout`` says otherwise: long enough
# to find a cable and look at a light, short enough that a unit left alone fails.
PROMPT_TIMEOUT_S = 120.0


class OperatorTimeout(RigError):
    """No answer in time (or the station went away): the step asking fails."""


def _open_fd_or_path(spec: str, mode: str) -> IO[str]:
    if spec.startswith("fd:"):
        try:
            fd = int(spec[3:])
        except ValueError:
            raise RigError(f"{spec}: fd:N needs a file descriptor number") from None
        return os.fdopen(fd, mode, encoding="utf-8", buffering=1)
    return open(spec, mode, encoding="utf-8", buffering=1)  # noqa: SIM115 (kept open)


class EventStream:
    """The events of one run, written as JSON lines (module docstring). Thread-safe;
    never raises once open: a reader gone away must not fail the unit."""

    def __init__(self, dest: str) -> None:
        try:
            self._file: IO[str] | None = _open_fd_or_path(dest, "a")
        except OSError as exc:
            raise RigError(f"--events {dest}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()

    def emit(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, "t": round(time.time(), 3), **data},
                          default=str)
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (OSError, ValueError):  # the station went away: the run goes on
                self._close()

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    def close(self) -> None:
        with self._lock:
            self._close()


def choices_of(question: str) -> list[str]:
    """The answers a question offers by its trailing ``[y/n]`` (or ``[y]``: a
    confirmation); a question without one is a yes/no question."""
    found = re.search(r"\[([a-z](?:/[a-z])*)\]\s*$", question.strip())
    return found.group(1).split("/") if found else ["y", "n"]


class OperatorChannel:
    """Prompts to the station and its operator's answers (module docstring)."""

    def __init__(self, source: str, events: EventStream, timeout_s: float) -> None:
        if source.startswith("fd:"):
            try:
                self._fd = int(source[3:])
            except ValueError:
                raise RigError(f"--answers {source}: fd:N needs a file descriptor "
                               "number") from None
        else:
            try:  # a FIFO: read-write so opening does not wait for a writer
                self._fd = os.open(source, os.O_RDWR | os.O_NONBLOCK)
            except OSError as exc:
                raise RigError(f"--answers {source}: {exc.strerror or exc}") from None
        self.events = events
        self.timeout_s = timeout_s
        self._buffer = b""
        self._next_id = 0
        self._closed = False

    def ask(self, question: str, step: str = "") -> str:
        """Send the question, return the answer (``y``, ``n`` …); raise
        :class:`OperatorTimeout` when none comes within the timeout."""
        self._next_id += 1
        pid = self._next_id
        choices = choices_of(question)
        self.events.emit("prompt", id=pid, step=step, question=question, choices=choices,
                         timeout_s=self.timeout_s)
        deadline = time.monotonic() + self.timeout_s
        while True:
            answer = self._answer_for(pid, deadline)
            if answer is None:
                self.events.emit("prompt_timeout", id=pid)
                why = "the station went away" if self._closed else \
                    f"operator did not answer within {self.timeout_s:g} s"
                raise OperatorTimeout(f"{why}: {question}")
            if answer in choices:
                self.events.emit("answer", id=pid, answer=answer)
                return answer

    def _answer_for(self, pid: int, deadline: float) -> str | None:
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                    if int(message["id"]) == pid:
                        return str(message["answer"]).strip().lower()[:1]
                except (ValueError, KeyError, TypeError):
                    continue  # not an answer of ours: dropped
            left = deadline - time.monotonic()
            if left <= 0 or self._closed:
                return None
            # select() returns early on a signal; Python retries it unless the handler
            # raises (SIGTERM does: the run is aborted, as it should be).
            ready, _, _ = select.select([self._fd], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, 4096)
            except BlockingIOError:
                continue
            if not chunk:  # the writer closed its end: the station is gone
                self._closed = True
                return None
            self._buffer += chunk
