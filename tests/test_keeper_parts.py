"""Which parts of its reset the bench keeper gives a test, from what the test did
(fixtures/bench_reset.py ``_what_changed``): a connection the test's own power cycle
closed needs only its calls' parts; any other drop or refusal, the whole reset.

Doubles stand in for the rig, so the rule is checked alone; tests/test_keeper.py runs
the keeper against the virtual bench."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from evrig.drivers.csms.events import ConnectionEvent
from evrig.fixtures.bench_reset import BenchKeeper
from evrig.fixtures.leftovers import ALL


@dataclass
class _Call:
    action: str
    timestamp: float
    direction: str = "in"
    payload: dict[str, Any] = field(default_factory=dict)
    unique_id: str = "1"
    is_call: bool = True


class _History(list):  # type: ignore[type-arg]
    def calls(self, action: str | None = None, direction: str = "in") -> list[_Call]:
        return [m for m in self if m.direction == direction and action in (None, m.action)]


@dataclass
class _Csms:
    connections: list[ConnectionEvent]
    history: _History
    connected: bool = True
    scripted_answers: int = 0


@dataclass
class _Rig:
    csms: _Csms
    mains_off_at: float
    charger: Any = None
    web: Any = None


def _parts(events: list[tuple[float, str]], boots: list[float], off_at: float) -> set[str]:
    csms = _Csms([ConnectionEvent(t, "CP", e) for t, e in events],
                 _History(_Call("BootNotification", t) for t in boots))
    keeper = BenchKeeper(_Rig(csms, off_at))
    keeper._what_changed()
    return keeper.pending.parts


@pytest.mark.parametrize(("events", "boots", "off_at", "whole"), [
    pytest.param([(5.0, "closed"), (7.0, "connected")], [7.1], 5.0, False,
                 id="closed-by-the-tests-power-cycle"),
    pytest.param([(4.0, "closed"), (7.0, "connected")], [7.1], 5.0, True,
                 id="dropped-before-mains-off"),
    pytest.param([(5.0, "closed"), (7.0, "connected")], [], 5.0, True,
                 id="closed-after-mains-off-no-boot-yet"),
    pytest.param([(5.0, "closed"), (7.0, "connected")], [4.0], 5.0, True,
                 id="boot-only-before-the-close"),
    pytest.param([(5.0, "refused"), (7.0, "connected")], [7.1], 5.0, True,
                 id="refused"),
    pytest.param([(5.0, "closed"), (7.0, "connected")], [7.1], float("-inf"), True,
                 id="closed-with-mains-never-switched-off"),
])
def test_a_dropped_connection_gets_the_whole_reset_unless_the_test_power_cycled(
        events, boots, off_at, whole):
    assert (ALL in _parts(events, boots, off_at)) is whole


def test_no_drop_needs_no_reset_part():
    assert _parts([(1.0, "connected")], [], float("-inf")) == set()
