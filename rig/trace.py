"""A time-correlated trace of a run (design §6): every instrument event on the rig's
spec-time axis, and its picture as a hand-written SVG (no plotting dependency).

:func:`attach` wraps the calls of an assembled rig's instruments — EV emulator,
AC source and load, fault board, LED observer, the display read through the camera
(its text, on the EV PLUS an ``ERR`` string) — so each call is an event stamped
on ``rig.clock``; OCPP frames are added from the mock CSMS's history (already
spec-stamped). The wrapping is per rig object, for the run that asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# (instrument attribute, method, lane): the calls that are events.
WATCHED = (
    ("ev", "set_state", "CP"), ("ev", "plug", "CP"), ("ev", "unplug", "CP"),
    ("ev", "set_pp", "CP"), ("ev", "read_cp", "CP"),
    ("ac_source", "set_voltage", "source V"), ("ac_source", "output", "source V"),
    ("ac_load", "set_current", "load I"), ("ac_load", "enable", "load I"),
    ("ac_load", "measure", "load I"),
    ("faults", "leakage", "faults"), ("faults", "release", "faults"),
    ("charger", "power", "charger"), ("charger", "present_tag", "charger"),
    ("charger", "clear_faults", "charger"),
    ("led", "wait_for", "LED"), ("led", "observe", "LED"),
    # A character display (EV PLUS): what it showed, when the reader saw it.
    ("display", "text", "display"), ("display", "wait_for", "display"),
    ("indicators", "wait_for", "LED"),
)
LANES = ("step", "CP", "source V", "load I", "contactor", "faults", "charger", "LED",
         "display", "OCPP", "measure")
COLOURS = {"step": "#888", "CP": "#1f77b4", "source V": "#d62728", "load I": "#2ca02c",
           "contactor": "#9467bd", "faults": "#ff7f0e", "charger": "#8c564b",
           "LED": "#e377c2", "display": "#bcbd22", "OCPP": "#17becf", "measure": "#333"}
ZERO_A = 0.5


@dataclass
class Event:
    t: float  # spec seconds
    lane: str
    label: str
    value: float | None = None
    bad: bool = False


@dataclass
class Trace:
    events: list[Event] = field(default_factory=list)

    def add(self, t: float, lane: str, label: str, value: float | None = None,
            bad: bool = False) -> None:
        self.events.append(Event(t, lane, label, value, bad))

    def window(self, t0: float, t1: float) -> Trace:
        return Trace([e for e in self.events if t0 <= e.t <= t1])

    def add_ocpp(self, history: Iterable[Any]) -> None:
        for m in history:
            arrow = "→" if m.direction == "in" else "←"
            if m.is_call:
                self.add(m.timestamp, "OCPP", f"{arrow} {m.action}")


def _summary(method: str, args: tuple[Any, ...], result: Any) -> tuple[str, float | None]:
    if method == "read_cp" and result is not None:
        return f"{result.state} {result.duty_pct:.0f}%", float(getattr(result, "high_v", 0))
    if method in ("text", "wait_for") and isinstance(result, str):
        return repr(result.strip()), None  # the display's text as the reader saw it
    if method == "measure" and result is not None:
        return f"{result.current:.1f} A", float(result.current)
    shown = ", ".join(repr(a) for a in args)
    value = args[0] if args and isinstance(args[0], int | float) and \
        not isinstance(args[0], bool) else None
    return f"{method}({shown})", value


def attach(rig: Any, trace: Trace) -> None:
    """Wrap the watched calls of ``rig``'s instruments so each lands in ``trace``."""
    clock = rig.clock
    state: dict[str, Any] = {"contactor": False, "cp": None}

    for attr, method, lane in WATCHED:
        inst = getattr(rig, attr, None)
        original = getattr(inst, method, None) if inst is not None else None
        if original is None or getattr(original, "_traced", False):
            continue

        def wrapper(*args: Any, _f: Any = original, _m: str = method, _lane: str = lane,
                    **kwargs: Any) -> Any:
            result = _f(*args, **kwargs)
            with contextlib.suppress(Exception):
                label, value = _summary(_m, args, result)
                now = clock.now()
                if _m == "read_cp":  # a poll: only a change is an event
                    if label != state["cp"]:
                        state["cp"] = label
                        trace.add(now, _lane, label, value)
                elif _m == "measure":  # the load sees the contactor switch
                    live = value is not None and value > ZERO_A
                    if live != state["contactor"]:
                        state["contactor"] = live
                        trace.add(now, "contactor", "closed" if live else "open",
                                  1.0 if live else 0.0)
                        trace.add(now, _lane, label, value)
                else:
                    trace.add(now, _lane, label, value)
            return result

        wrapper.__dict__["_traced"] = True  # a function attribute, read with getattr
        functools.update_wrapper(wrapper, original)
        with contextlib.suppress(AttributeError, TypeError):
            setattr(inst, method, wrapper)


def svg(trace: Trace, title: str = "", width: int = 1100) -> str:
    """The trace as an SVG timeline: one lane per instrument, spec seconds across."""
    events = sorted(trace.events, key=lambda e: e.t)
    lanes = [lane for lane in LANES if any(e.lane == lane for e in events)] or ["step"]
    left, right, top, lane_h = 90, 20, 40, 34
    height = top + lane_h * len(lanes) + 40
    t0 = events[0].t if events else 0.0
    t1 = max(events[-1].t if events else 1.0, t0 + 1e-3)
    scale = (width - left - right) / (t1 - t0)

    def x(t: float) -> float:
        return left + (t - t0) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="10">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="13">{html.escape(title)}</text>']
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<line x1="{left}" y1="{y + lane_h}" x2="{width - right}" '
                   f'y2="{y + lane_h}" stroke="#eee"/>')
        out.append(f'<text x="4" y="{y + lane_h / 2 + 4}" fill="{COLOURS[lane]}">'
                   f'{html.escape(lane)}</text>')
    # ticks
    span = t1 - t0
    step = next(s for s in (0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e9)
                if span / s <= 12)
    tick = (t0 // step) * step
    while tick <= t1:
        if tick >= t0:
            out.append(f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" '
                       f'y2="{height - 30}" stroke="#f3f3f3"/>')
            out.append(f'<text x="{x(tick):.1f}" y="{height - 16}" text-anchor="middle">'
                       f'{tick:g} s</text>')
        tick += step
    # contactor as a level, steps as bands, others as marks with labels
    index = {lane: i for i, lane in enumerate(lanes)}
    steps = [e for e in events if e.lane == "step"]
    for n, e in enumerate(steps):
        end = steps[n + 1].t if n + 1 < len(steps) else t1
        y = top + index["step"] * lane_h
        fill = "#f8d7da" if e.bad else ("#e8f0fe" if n % 2 else "#f1f3f4")
        out.append(f'<rect x="{x(e.t):.1f}" y="{y + 4}" width="{max(1.0, x(end) - x(e.t)):.1f}" '
                   f'height="{lane_h - 8}" fill="{fill}" stroke="#ccc"><title>'
                   f'{html.escape(e.label)}</title></rect>')
        out.append(f'<text x="{x(e.t) + 2:.1f}" y="{y + lane_h / 2 + 4}">'
                   f'{html.escape(e.label[:24])}</text>')
    last_x: dict[str, float] = {}
    for e in events:
        if e.lane == "step":
            continue
        y = top + index[e.lane] * lane_h
        colour = "#d00" if e.bad else COLOURS[e.lane]
        out.append(f'<circle cx="{x(e.t):.1f}" cy="{y + lane_h / 2}" r="3" fill="{colour}">'
                   f'<title>{e.t:.3f} s {html.escape(e.label)}</title></circle>')
        if x(e.t) - last_x.get(e.lane, -1e9) > 60:
            out.append(f'<text x="{x(e.t) + 4:.1f}" y="{y + lane_h / 2 - 5}" fill="{colour}">'
                       f'{html.escape(e.label[:22])}</text>')
            last_x[e.lane] = x(e.t)
    out.append("</svg>")
    return "\n".join(out) + "\n"
