"""What the trace picture shows, taken from a trace's events (rig/trace.py): the steps
as columns, and per quantity a step line, spans or marks. No drawing here, so each
rule (what holds a value, what ends a contactor interval) is testable on its own.

A value holds from the event that set it until the next one — a setpoint or a
command does; a reading (CP, display, light) is marked where it was taken, so the
reader sees which parts were observed and which only held.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from evrig.rig.trace import Event

CP_LEVEL = {"F": 0, "E": 1, "D": 2, "C": 3, "B": 4, "A": 5}  # plotted order, low to high
# OCPP calls worth a label; the others are ticks (a session sends dozens).
OCPP_NAMED = ("BootNotification", "StartTransaction", "StopTransaction")


@dataclass(frozen=True)
class Column:
    """One step of the run: its own time range and column in the picture."""

    number: int  # 1-based order in the run; 0 for what came before the first step
    name: str
    start: float
    end: float
    bad: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Line:
    """A piecewise-constant quantity: ``points`` (t, value) in time order, each value
    holding until the next; ``samples`` are the points that were readings."""

    points: list[tuple[float, float]] = field(default_factory=list)
    samples: list[tuple[float, float]] = field(default_factory=list)

    def at(self, t: float) -> float | None:
        value = None
        for tp, v in self.points:
            if tp > t:
                break
            value = v
        return value

    def within(self, t0: float, t1: float) -> tuple[list[float], list[float]]:
        """x and y of the step line from ``t0`` to ``t1`` (the value held into t0)."""
        xs: list[float] = []
        ys: list[float] = []
        start = self.at(t0)
        if start is not None:
            xs, ys = [t0], [start]
        for t, v in self.points:
            if t0 < t <= t1:
                xs.append(t)
                ys.append(v)
        if xs:
            xs.append(t1)
            ys.append(ys[-1])
        return xs, ys


@dataclass(frozen=True)
class Span:
    """A stretch of time with a text: contactor closed, a light pattern, display text."""

    start: float
    end: float
    text: str = ""
    colours: tuple[str, ...] = ()
    observed: bool = True  # False: its end was not seen, only implied


@dataclass(frozen=True)
class Mark:
    """A single event in the events panel."""

    t: float
    row: str
    text: str
    bad: bool = False
    named: bool = True  # False: a tick without a label


def _data(e: Event) -> dict[str, Any]:
    return e.data or {}


def columns(events: list[Event]) -> list[Column]:
    """One column per step (the ``step`` lane); without steps (a single test's window)
    one column over the instruments' events."""
    steps = sorted((e for e in events if e.lane == "step"), key=lambda e: e.t)
    others = [e for e in events if e.lane != "step"]
    # OCPP history reaches back to the session's start: it does not set the range.
    ranged = [e.t for e in others if e.lane != "OCPP"] or [e.t for e in others] or [0.0]
    if not steps:
        return [Column(1, "", min(ranged), max(max(ranged), min(ranged) + 1e-3))]
    out = []
    if min(ranged) < steps[0].t - 1e-6:
        out.append(Column(0, "before the first step", min(ranged), steps[0].t))
    for i, step in enumerate(steps):
        end = steps[i + 1].t if i + 1 < len(steps) else max(max(ranged), step.t)
        out.append(Column(i + 1, step.label, step.t, max(end, step.t + 1e-3), step.bad))
    return out


def cp_state(events: Iterable[Event]) -> Line:
    """CP state (A..F as :data:`CP_LEVEL`): the EV's commands and the readings."""
    line = Line()
    for e in _sorted(events, "CP"):
        state = _data(e).get("state")
        if state in CP_LEVEL:
            line.points.append((e.t, CP_LEVEL[state]))
            if "duty" in _data(e):
                line.samples.append((e.t, CP_LEVEL[state]))
    return line


def cp_duty(events: Iterable[Event]) -> Line:
    """PWM duty (%) as read on CP; 100 is a steady level without PWM; a gap (NaN) from
    an EV command to the next reading."""
    line = Line()
    for e in _sorted(events, "CP"):
        duty = _data(e).get("duty")
        if isinstance(duty, int | float):
            line.points.append((e.t, float(duty)))
            line.samples.append((e.t, float(duty)))
        elif "state" in _data(e) and line.points and not math.isnan(line.points[-1][1]):
            # The EV moved: the charger may change its PWM, unknown until read again.
            line.points.append((e.t, math.nan))
    return line


def _per_phase(events: list[Event], key: str) -> dict[str, Line]:
    """Setpoint × on/off per phase; one line "all" unless a phase was set on its own."""
    phases = [int(_data(e)["phase"]) for e in events if _data(e).get("phase") is not None]
    # A phase set on its own happens on a three-phase bench: draw L1..L3 then.
    names = [f"L{n}" for n in range(1, max(3, *phases) + 1)] if phases else ["all"]
    set_to = {n: 0.0 for n in names}
    on = False
    lines = {n: Line() for n in names}
    for e in events:
        d = _data(e)
        if key in d and d[key] is not None:
            targets = names if d.get("phase") is None else [f"L{d['phase']}"]
            for n in targets:
                if n in set_to:
                    set_to[n] = float(d[key])
        elif "on" in d:
            on = bool(d["on"])
        else:
            continue
        for n in names:
            lines[n].points.append((e.t, set_to[n] if on else 0.0))
    return lines


def source_volts(events: Iterable[Event]) -> dict[str, Line]:
    """The AC source's output voltage setpoint (0 while its output is off)."""
    return _per_phase(list(_sorted(events, "source V")), "volts")


def load_amps(events: Iterable[Event]) -> tuple[dict[str, Line], Line]:
    """The AC load's current setpoint (0 while disabled), and its readings."""
    evs = list(_sorted(events, "load I"))
    measured = Line()
    for e in evs:
        if "measured" in _data(e):
            measured.points.append((e.t, float(_data(e)["measured"])))
            measured.samples.append((e.t, float(_data(e)["measured"])))
    return _per_phase([e for e in evs if "measured" not in _data(e)], "amps"), measured


def _opens(e: Event) -> bool:
    """An event after which the contactor is open even if no edge was seen."""
    d = _data(e)
    if e.lane == "CP" and d.get("state") in ("A", "B", "E", "F"):
        return True
    return e.lane in ("source V", "charger") and d.get("on") is False


def contactor(events: Iterable[Event]) -> list[Span]:
    """Closed intervals: from a close edge to the next open edge; without one, to the
    first event that opens it (EV leaves C/D, mains off) or the trace's end, and then
    ``observed`` is False."""
    evs = sorted(events, key=lambda e: e.t)
    edges = [(e.t, bool(_data(e)["closed"])) for e in evs
             if e.lane == "contactor" and "closed" in _data(e)]
    end = evs[-1].t if evs else 0.0
    spans: list[Span] = []
    for i, (t, closed) in enumerate(edges):
        if not closed:
            continue
        nxt = edges[i + 1] if i + 1 < len(edges) else None
        if nxt is not None and not nxt[1]:
            spans.append(Span(t, nxt[0], "closed"))
            continue
        limit = nxt[0] if nxt is not None else end  # a second close: the open was missed
        implied = next((e.t for e in evs if t < e.t <= limit and _opens(e)), limit)
        spans.append(Span(t, max(implied, t), "closed", observed=False))
    return spans


def light(events: Iterable[Event]) -> list[Span]:
    """What the main light showed while it was watched: each observation's samples,
    its colours, and the status a wait was for (written on the last observation)."""
    spans: list[Span] = []
    for e in _sorted(events, "LED"):
        d = _data(e)
        if "colours" in d:
            t0 = float(d["t0"]) if d.get("t0") is not None else e.t
            t1 = float(d["t1"]) if d.get("t1") is not None else e.t
            text = "blinking" if d.get("blinking") else ""
            spans.append(Span(t0, max(t1, t0), text, tuple(d["colours"])))
        elif "status" in d and spans and spans[-1].end <= e.t + 1e-6:
            last = spans[-1]
            blink = " (blinking)" if last.text else ""
            spans[-1] = Span(last.start, last.end, f"{d['status']}{blink}", last.colours)
    return spans


def display(events: Iterable[Event], end: float) -> list[Span]:
    """The display's text from each reading that changed it to the next one."""
    reads = [(e.t, str(_data(e)["text"])) for e in _sorted(events, "display")
             if "text" in _data(e)]
    spans = []
    for i, (t, text) in enumerate(reads):
        if i and text == reads[i - 1][1]:
            continue
        nxt = next((t2 for t2, x in reads[i + 1:] if x != text), max(end, t))
        spans.append(Span(t, nxt, text))
    return spans


def marks(events: Iterable[Event]) -> list[Mark]:
    """Measurements (a failed one in red), OCPP calls, mains and tags, fault relays,
    indicators — each a mark in the events panel."""
    out = []
    for e in sorted(events, key=lambda e: e.t):
        d = _data(e)
        if e.lane == "measure":
            name = e.label.split("=")[0]
            out.append(Mark(e.t, "measured", f"✗ {name}" if e.bad else name, e.bad, e.bad))
        elif e.lane == "OCPP":
            action = str(d.get("action", e.label.split()[-1]))
            out.append(Mark(e.t, "OCPP", action, named=action in OCPP_NAMED))
        elif e.lane == "charger":
            text = ("mains on" if d.get("on") else "mains off") if "on" in d else \
                ("tag" if e.label.startswith("present_tag") else e.label.split("(")[0])
            out.append(Mark(e.t, "charger", text))
        elif e.lane == "faults":
            quiet = e.label.startswith("release")  # the keeper's reset before every step
            out.append(Mark(e.t, "faults", e.label, named=not quiet))
        elif e.lane == "indicators":
            out.append(Mark(e.t, "indicators", e.label))
    return out


def _sorted(events: Iterable[Event], lane: str) -> list[Event]:
    return sorted((e for e in events if e.lane == lane), key=lambda e: e.t)
