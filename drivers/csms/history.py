"""What crossed the wire between the mock CSMS and a charge point.

Every frame is recorded, in both directions, with its spec-time timestamp, before
anything else happens to it — so a frame that breaks the schema, or that nobody
waited for, is still there for the failure message and the trace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from evrig.rig.clock import Clock

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MESSAGE_TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}


@dataclass(frozen=True, slots=True)  # slots: a test's history may hold 100,000s
class Message:
    """One OCPP-J frame.

    ``direction`` is "in" (charge point → CSMS) or "out" (CSMS → charge point).
    ``action`` is known for a CALL and, by its unique id, for the answer to it.
    """

    index: int
    direction: str
    timestamp: float
    message_type: int
    unique_id: str
    action: str | None
    payload: dict[str, Any]
    raw: str
    charge_point_id: str = ""
    error_code: str | None = None
    # An incoming CALL: the CSMS's answer to it (CALLRESULT or CALLERROR), set by
    # History.settle before any waiter sees the CALL (e.g. the transactionId given).
    answer: Message | None = None

    @property
    def is_call(self) -> bool:
        return self.message_type == CALL

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)

    def brief(self) -> str:
        kind = MESSAGE_TYPE_NAMES.get(self.message_type, str(self.message_type))
        arrow = "<-" if self.direction == "in" else "->"
        return f"t={self.timestamp:8.2f}s {arrow} {kind} {self.action or ''} {self.raw}"


@dataclass(frozen=True)
class Finding:
    """A protocol violation by the charge point, attached to the running test."""

    kind: str  # "schema", "forbidden", "unparsable", "unexpected"
    message: str
    frame: str
    timestamp: float

    def __str__(self) -> str:
        return f"[{self.kind}] t={self.timestamp:.2f}s {self.message}\n    frame: {self.frame}"


Matcher = Callable[[dict[str, Any]], bool]


def subset_match(actual: Any, expected: Any) -> bool:
    """True if ``expected`` is contained in ``actual``.

    Dicts match key by key (extra keys in ``actual`` are fine), lists match when
    every expected item matches some actual item (order does not matter: OCPP
    does not order sampled values), a callable is a predicate on the value, and
    anything else compares equal. Numbers compare by value (1 == 1.0).
    """
    if callable(expected):
        try:
            return bool(expected(actual))
        except Exception:
            return False
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and subset_match(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple):
            return False
        return all(any(subset_match(a, e) for a in actual) for e in expected)
    return bool(actual == expected)


class History:
    """Thread-safe, append-only record of frames with waiting.

    The asyncio side appends; test threads read and wait on the condition.
    """

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._cond = threading.Condition()
        self.findings: list[Finding] = []
        # Incoming CALLs not answered yet: waiters do not see them (a frame is
        # returned only once schema-checked and answered).
        self._unsettled: set[int] = set()
        # (direction, unique id) → action of each CALL: names its answer in O(1).
        self._call_actions: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        with self._cond:
            return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        with self._cond:
            return iter(list(self._messages))

    def __getitem__(self, i: int) -> Message:
        with self._cond:
            return self._messages[i]

    def append(self, *, settled: bool = True, **fields: Any) -> Message:
        with self._cond:
            msg = Message(index=len(self._messages), **fields)
            self._messages.append(msg)
            if msg.is_call and msg.action is not None:
                self._call_actions[(msg.direction, msg.unique_id)] = msg.action
            if settled:
                self._cond.notify_all()
            else:
                self._unsettled.add(msg.index)
            return msg

    def settle(self, call: Message, answer: Message | None) -> None:
        """``call`` was checked and answered (``answer``): waiters may now see it."""
        with self._cond:
            object.__setattr__(call, "answer", answer)  # frozen for readers, set once here
            self._unsettled.discard(call.index)
            self._cond.notify_all()

    def action_of(self, direction: str, unique_id: str) -> str | None:
        """The action of the CALL sent in ``direction`` with ``unique_id``."""
        with self._cond:
            return self._call_actions.get((direction, unique_id))

    def add_finding(self, finding: Finding) -> None:
        with self._cond:
            self.findings.append(finding)
            self._cond.notify_all()

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()
            self.findings.clear()
            self._unsettled.clear()
            self._call_actions.clear()
            self._cond.notify_all()

    def calls(self, action: str | None = None, direction: str = "in") -> list[Message]:
        """Every CALL of ``action`` (all actions if None) in ``direction``."""
        with self._cond:
            return [
                m
                for m in self._messages
                if m.is_call and m.direction == direction and (action is None or m.action == action)
            ]

    def find(
        self, start: int, action: str, direction: str, match: Matcher
    ) -> Message | None:
        with self._cond:
            for m in self._messages[start:]:
                if m.is_call and m.direction == direction and m.action == action and \
                        m.index not in self._unsettled and match(m.payload):
                    return m
        return None

    def wait(self, predicate: Callable[[], Any], clock: Clock, timeout: float) -> Any:
        """Wait until ``predicate()`` returns something truthy, at most ``timeout`` spec
        seconds on ``clock``; return it (or None)."""
        return clock.wait_condition(self._cond, predicate, timeout)

    def dump(self, last: int = 20) -> str:
        with self._cond:
            tail = self._messages[-last:]
        return "\n".join("  " + m.brief() for m in tail) or "  (no frames)"


def frame_text(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))

