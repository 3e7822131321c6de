"""A time-correlated trace of a run (design §6): every instrument event on the rig's
spec-time axis; its picture is drawn by rig/trace_plot.py (files: rig/trace_output.py).

:func:`attach` wraps the calls of an assembled rig's instruments — EV emulator,
AC source and load, fault board, LED observer, the display read through the camera
(its text, on the EV PLUS an ``ERR`` string) — so each call is an event stamped
on ``rig.clock``; OCPP frames are added from the mock CSMS's history (already
spec-stamped). The wrapping is per rig object, for the run that asks for it.

An event keeps a short ``label`` for people and, where the picture needs numbers
(CP state and duty, volts, amps, light colours, display text), a small ``data``
mapping: the picture must not parse its own labels back.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# (instrument attribute, method, lane): the calls that are events.
WATCHED = (
    ("ev", "set_state", "CP"), ("ev", "plug", "CP"), ("ev", "unplug", "CP"),
    ("ev", "set_pp", "CP"), ("ev", "read_cp", "CP"),
    # The EV side's outlet sense: the contactor's edges, stamped where they happened.
    ("ev", "wait_outlet", "contactor"),
    ("ac_source", "set_voltage", "source V"), ("ac_source", "output", "source V"),
    ("ac_load", "set_current", "load I"), ("ac_load", "enable", "load I"),
    ("ac_load", "measure", "load I"),
    ("faults", "leakage", "faults"), ("faults", "release", "faults"),
    ("charger", "power", "charger"), ("charger", "present_tag", "charger"),
    ("charger", "clear_faults", "charger"),
    ("led", "wait_for", "LED"), ("led", "observe", "LED"),
    # A character display (EV PLUS): what it showed, when the reader saw it.
    ("display", "text", "display"), ("display", "wait_for", "display"),
    ("indicators", "wait_for", "indicators"),
)
LANES = ("step", "CP", "source V", "load I", "contactor", "faults", "charger", "LED",
         "indicators", "display", "OCPP", "measure")
ZERO_A = 0.5
# A load reading is an event when it moved this much (A) since the last one kept:
# the metering window polls every second and would otherwise bury the rest.
LOAD_STEP_A = 0.5


@dataclass
class Event:
    t: float  # spec seconds
    lane: str
    label: str
    value: float | None = None
    bad: bool = False
    data: dict[str, Any] | None = None  # numbers and names for the picture


@dataclass
class Trace:
    events: list[Event] = field(default_factory=list)

    def add(self, t: float, lane: str, label: str, value: float | None = None,
            bad: bool = False, data: dict[str, Any] | None = None) -> None:
        self.events.append(Event(t, lane, label, value, bad, data))

    def window(self, t0: float, t1: float) -> Trace:
        return Trace([e for e in self.events if t0 <= e.t <= t1])

    def add_ocpp(self, history: Iterable[Any]) -> None:
        for m in history:
            arrow = "→" if m.direction == "in" else "←"
            if m.is_call:
                self.add(m.timestamp, "OCPP", f"{arrow} {m.action}", data={"action": m.action})

    def to_json(self) -> str:
        """``trace.json`` beside the record: the picture can be drawn again later."""
        return json.dumps({"schema": 1, "events": [asdict(e) for e in self.events]},
                          default=str) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls([Event(**e) for e in json.loads(text)["events"]])


Summary = tuple[str, float | None, dict[str, Any] | None]


def _number(args: tuple[Any, ...]) -> float | None:
    first = args[0] if args else None
    return float(first) if isinstance(first, int | float) and not isinstance(first, bool) \
        else None


def _light(result: Any) -> Summary:
    colours = list(getattr(result, "colors", ()))
    blinking = bool(getattr(result, "blinking", False))
    times = [s.t for s in getattr(result, "samples", ())]
    text = " / ".join(colours) + (" blinking" if blinking else "")
    return text or "nothing", None, {"colours": colours, "blinking": blinking,
                                     "t0": min(times, default=None),
                                     "t1": max(times, default=None)}


def _summary(attr: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             result: Any) -> Summary:
    """label, value and data of one call (see the module docstring)."""
    phase = kwargs.get("phase", args[1] if len(args) > 1 else None)
    if method == "read_cp" and result is not None:
        return (f"{result.state} {result.duty_pct:.0f}%", float(result.high_v),
                {"state": result.state, "duty": float(result.duty_pct)})
    if attr == "ev" and method in ("set_state", "plug", "unplug"):
        state = {"plug": "B", "unplug": "A"}.get(method, str(args[0]) if args else "?")
        return f"EV {method} → {state}", None, {"state": state}
    if attr == "display" and isinstance(result, str):
        return repr(result.strip()), None, {"text": result.strip()}
    if attr == "led" and method == "observe":
        return _light(result)
    if attr == "led" and method == "wait_for":
        status = str(args[0] if args else kwargs.get("status", ""))
        return status, None, {"status": status}
    if attr == "ac_source" and method == "set_voltage":
        return f"{_number(args)} V", _number(args), {"volts": _number(args), "phase": phase}
    if attr == "ac_load" and method == "set_current":
        return f"{_number(args)} A set", _number(args), {"amps": _number(args), "phase": phase}
    if method in ("output", "enable", "power"):
        on = bool(args[0] if args else kwargs.get("on"))
        return f"{method} {'on' if on else 'off'}", None, {"on": on}
    if attr == "faults" and method == "leakage":
        dc = bool(kwargs.get("dc", args[1] if len(args) > 1 else False))
        return (f"leakage {_number(args) or 0:g} mA {'DC' if dc else 'AC'}", _number(args),
                {"ma": _number(args), "dc": dc})
    if attr == "indicators" and len(args) > 1:
        return f"{args[0]}: {args[1]}", None, {"name": str(args[0]), "status": str(args[1])}
    if method == "measure" and result is not None:
        return f"{result.current:.1f} A", float(result.current), {"measured": float(
            result.current)}
    shown = ", ".join(repr(a) for a in args)
    return f"{method}({shown})", _number(args), None


def attach(rig: Any, trace: Trace) -> None:
    """Wrap the watched calls of ``rig``'s instruments so each lands in ``trace``."""
    clock = rig.clock
    state: dict[str, Any] = {"contactor": False, "cp": None, "load": None}

    def record(attr: str, method: str, lane: str, args: tuple[Any, ...],
               kwargs: dict[str, Any], result: Any) -> None:
        label, value, data = _summary(attr, method, args, kwargs, result)
        now = clock.now()
        if method == "read_cp":  # a poll: only a change is an event
            if label != state["cp"]:
                state["cp"] = label
                trace.add(now, lane, label, value, data=data)
        elif method == "wait_outlet":  # the edge's own stamp, not when we heard of it
            closed = bool(args[0] if args else kwargs.get("live"))
            state["contactor"] = closed
            trace.add(float(result), lane, "closed" if closed else "open",
                      1.0 if closed else 0.0, data={"closed": closed, "edge": True})
        elif method == "measure":  # polls: the contactor as the load sees it, big moves
            live = value is not None and value > ZERO_A
            if live != state["contactor"]:
                state["contactor"] = live
                trace.add(now, "contactor", "closed" if live else "open",
                          1.0 if live else 0.0, data={"closed": live, "edge": False})
            if value is not None and (state["load"] is None
                                      or abs(value - state["load"]) >= LOAD_STEP_A):
                state["load"] = value
                trace.add(now, lane, label, value, data=data)
        else:
            trace.add(now, lane, label, value, data=data)

    for attr, method, lane in WATCHED:
        inst = getattr(rig, attr, None)
        original = getattr(inst, method, None) if inst is not None else None
        if original is None or getattr(original, "_traced", False):
            continue

        def wrapper(*args: Any, _f: Any = original, _a: str = attr, _m: str = method,
                    _lane: str = lane, **kwargs: Any) -> Any:
            result = _f(*args, **kwargs)
            with contextlib.suppress(Exception):  # a trace never breaks a test
                record(_a, _m, _lane, args, kwargs, result)
            return result

        wrapper.__dict__["_traced"] = True  # a function attribute, read with getattr
        functools.update_wrapper(wrapper, original)
        with contextlib.suppress(AttributeError, TypeError):
            setattr(inst, method, wrapper)


def svg(trace: Trace, title: str = "") -> str:
    """The trace as an SVG picture (rig/trace_plot.py: one panel per quantity, one
    column per step)."""
    from evrig.rig import trace_output  # matplotlib is loaded only when a picture is drawn

    return trace_output.svg(trace, title)
