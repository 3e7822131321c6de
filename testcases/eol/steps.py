"""Helpers of the end-of-line sequence (testcases/eol).

The EOL sequence is as short as the charger lets it be: what takes time is the unit
booting, answering, closing its contactor, tripping, recovering and blinking. Each
step reports those waits with :meth:`EolStep.delay` (or times them with
:meth:`EolStep.charger_wait`), measured where they happen; ``rig run eol`` prints them
per step next to the step's spec time (rig/takt.py). A wait the sequence chooses (a
power-off time, a latch hold) is not one of them: it shows as the step's own time.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from evrig.rig.errors import MissingWire
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, transaction_id_of
from evrig.testcases.protection.checks import REACT_S

ZERO_A = 0.5  # below this the outlet is dead (testcases/iec61851, protection)
# Spec seconds the unit stays unpowered when the sequence switches it off and cannot
# see it go down (a rig whose EV emulator has no CP sense, until_down): our choice,
# well past the hold-up of a charger's power supply (milliseconds), so the board
# surely resets.
OFF_S = 1.0
# A power cycle with a CP sense keeps mains off until the pilot is gone: the board's
# own ±12 V pilot source (IEC 61851-1) goes with its supply, the controller with it.
# Both levels within this of 0 V is no pilot (state A's is +12 V, F's −12 V, and a
# PWM's low level −12 V: a board that signals F is still up).
PILOT_GONE_V = 1.0
# Spec seconds a supply may hold the board up after mains went off before the step
# calls it a fault (a unit fed by another path; bounded, so nothing waits for ever).
HOLD_UP_MAX_S = 5.0
NO_LED = ("this rig has no LED observer (instruments.led: the led fixture is not "
          "installed)")
# Spec seconds that tell the power-up light when its colour is in no other row: the
# self-test may be brief (003 gives it no time; the EV PLUS twin's lasts 2 s).
POWERUP_LOOK_S = 0.5


@dataclass
class EolStep:
    """Per-test helper: charger delays, operator prompts, unit facts."""

    config: Any
    rig: Any
    runner: Any = None  # rig.eol.EolCollector under ``rig run eol``, else None
    delays: list[tuple[str, float, str]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def scanned_serial(self) -> str | None:
        """The serial number the operator scanned (``rig run eol --serial``)."""
        return getattr(self.runner, "serial", None)

    def delay(self, name: str, seconds: float, why: str = "") -> None:
        """A wait the charger imposed on the sequence, in spec seconds."""
        self.delays.append((name, float(seconds), why))

    @contextlib.contextmanager
    def charger_wait(self, name: str, why: str = "") -> Iterator[None]:
        """Time the block as a wait for the charger — its answer to what the bench
        just did (a card, a plug, a stop) — and record it as its delay. Not recorded
        when the block fails: a timeout is the step's failure, not a delay."""
        clock = self.rig.clock
        t0 = clock.now()
        yield
        self.delay(name, clock.now() - t0, why)

    def fact(self, name: str, value: Any) -> None:
        """A fact about the unit for the record (firmware, charger_serial …)."""
        self.facts[name] = value

    def note(self, text: str) -> None:
        self.notes.append(text)

    def prompt(self, question: str, virtual_answer: str = "y") -> str:
        """Ask the operator (a manual step on a real rig); on the virtual bench the
        answer is given automatically and marked so in the record.

        Under the operator's station (``rig station``: the run's collector has its
        prompt channel, rig/station_wire.py) the question goes to the station's page,
        on a real rig and on the virtual bench alike — an operator is there to answer —
        and the step fails when no answer comes within the channel's timeout."""
        channel = getattr(self.runner, "operator_channel", None)
        if channel is not None:
            from evrig.rig.station_wire import OperatorTimeout

            try:
                answer = channel.ask(question, getattr(self.runner, "current_step", ""))
            except OperatorTimeout as exc:
                self.prompts.append({"question": question, "answer": None, "auto": False})
                pytest.fail(str(exc), pytrace=False)
            self.prompts.append({"question": question, "answer": answer, "auto": False})
            return answer
        if self.rig.config.virtual:
            answer, auto = virtual_answer, True
            print(f"\n  OPERATOR: {question} [{answer}] (answered by the virtual bench)",
                  file=sys.__stdout__, flush=True)
        else:
            capman = self.config.pluginmanager.getplugin("capturemanager")
            with capman.global_and_fixture_disabled():
                answer = input(f"\n  OPERATOR: {question} ").strip() or virtual_answer
            auto = False
        self.prompts.append({"question": question, "answer": answer, "auto": auto})
        return answer


def time_until_outlet(ev: Any, t0: float, live: bool, timeout: float) -> float:
    """Spec seconds from ``t0`` to the outlet's next edge to ``live`` (voltage on, or
    gone), stamped where it happened by the EV emulator's outlet sense — not by how
    fast this step polls (testcases/iec61851)."""
    return max(0.0, ev.wait_outlet(live, since=t0, timeout=timeout) - t0)


def sampled(meter_values: Any, measurand: str, phase: str | None = None) -> float | None:
    """The value of ``measurand`` (and ``phase``) in a MeterValues payload."""
    for mv in meter_values.get("meterValue", []):
        for sv in mv.get("sampledValue", []):
            if sv.get("measurand", "Energy.Active.Import.Register") != measurand:
                continue
            if phase is not None and sv.get("phase") not in (phase, None):
                continue
            return float(sv["value"])
    return None


def error_pct(measured: float, reference: float) -> float:
    return (measured - reference) / reference * 100 if reference else float("inf")


def authorised_in_b(csms, ev, charger, cable_amps: int = 32, eol: Any = None) -> int:
    """Cable in, EV in B, card: the session starts (no contactor yet). With ``eol``
    the charger's two answers (Preparing, StartTransaction) count as its delays."""
    waits = eol.charger_wait if eol is not None else _untimed
    ev.plug(cable_amps=cable_amps)
    with waits("response", "plug in: StatusNotification Preparing"):
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing",
                      errorCode="NoError")
    charger.present_tag(ACCEPTED_TAG)
    with waits("response", "card: StartTransaction"):
        start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    return transaction_id_of(csms, start)


@contextlib.contextmanager
def _untimed(name: str, why: str = "") -> Iterator[None]:
    """charger_wait's stand-in where no ``eol`` helper records delays."""
    yield


def power_cycle(charger: Any, clock: Any, ev: Any, eol: Any) -> float:
    """Mains off until the unit is down (:func:`until_down`), then on; the spec time
    mains came back (a boot starts)."""
    charger.power(False)
    until_down(clock, ev, eol, clock.now())
    t_on = clock.now()
    charger.power(True)
    return t_on


def until_down(clock: Any, ev: Any, eol: Any, off_at: float) -> None:
    """Wait, mains off since ``off_at``, until the unit is down. Seen, not assumed: the
    EV emulator's CP sense reads no pilot (PILOT_GONE_V), and how long that took — the
    supply's hold-up — is the charger's delay. A rig without a CP sense waits until
    OFF_S after ``off_at``, the sequence's own time."""
    try:
        ev.read_cp()
    except MissingWire:
        left = OFF_S - (clock.now() - off_at)
        if left > 0:
            clock.sleep(left)
        return
    t0 = clock.now()
    down = clock.wait_until(lambda: _no_pilot(ev.read_cp()), HOLD_UP_MAX_S, poll=0.01)
    assert down, (f"the pilot is still there {HOLD_UP_MAX_S:g} s after mains went off: "
                  f"the board is fed by another path")
    eol.delay("power down", clock.now() - t0, "mains off until the pilot was gone")


def _no_pilot(cp: Any) -> bool:
    return abs(cp.high_v) < PILOT_GONE_V and abs(cp.low_v) < PILOT_GONE_V


def live(clock, ev, ac_load, spec, measure, eol, amps: float, name: str) -> float:
    """State C with the load drawing ``amps``: the contactor's close time, measured;
    returns the spec time the outlet went live (the EV emulator's stamp)."""
    ac_load.set_current(amps)
    ac_load.enable(True)
    t0 = ev.set_state("C")
    close_max = spec.timing.contactor_close_max_s
    closed = time_until_outlet(ev, t0, live=True, timeout=2 * close_max)
    measure(name, closed, high=close_max, unit="s")
    eol.delay("contactor close", closed, name)
    return t0 + closed


def led_window(spec) -> float:
    """Spec seconds to tell steady from blinking: one blink period of the profile."""
    return spec.led.slowest_blink_s or 1.0


def led_seen(led: Any, clock: Any, spec: Any, measure: Any, eol: Any, status: str, name: str,
             online: bool = True, window: float | None = None, record: bool = True) -> None:
    """The ring shows the profile's pattern for ``status``: the time it took, within
    the reaction budget plus one observation window. ``record``: that time counts as
    the charger's delay — the light's change, then one window of its blink period —
    (not where it overlaps another delay, e.g. the boot)."""
    window = window if window is not None else led_window(spec)
    t0 = clock.now()
    led.wait_for(status, online=online, timeout=REACT_S, window=window)
    took = clock.now() - t0
    measure(name, took, high=REACT_S + window, unit="s")
    if record:
        eol.delay("led observation", took,
                  f"{status}: shown, then one window of {window:g} s (the light's blink)")


def indicator_window(spec: Any, name: str) -> float:
    """Spec seconds to read a front-panel indicator: one period of its slowest blink,
    or a short look (POWERUP_LOOK_S) for one whose table has no blinking row — the
    camera's default window spans 3.2 periods of the panel's slowest light."""
    return spec.lights[name].slowest_blink_s or POWERUP_LOOK_S


def powerup_window(spec: Any) -> float:
    """The window for the power-up light: a short look where its colour appears in no
    other row (white on the EV PLUS belt, 003 §7.1.1), one blink period otherwise."""
    powerup = spec.led.powerup
    others = {colour for row in spec.led.rows.values()
              for colour in (*row.online, *row.offline)}
    if powerup is not None and not {*powerup.online, *powerup.offline} & others:
        return POWERUP_LOOK_S
    return led_window(spec)
