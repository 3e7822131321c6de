"""The trace (rig/trace.py) as a picture an engineer reads on screen and on paper:
A4 landscape pages, one panel per quantity on a shared time axis — CP state and PWM
duty as step lines, the AC source's voltage and the load's current as lines, the
contactor, the main light and the display as bands — and one column per step.

Each step gets an equal-width column with its own time scale (seconds from the
step's start): a minutes-long metering window and a 0.1 s tamper check are both
readable, where one linear axis gave the long step 80 % of the width. Labels are
placed only where they fit inside their panel and clear of each other (measured
with the renderer), so nothing is cut or overprinted; a run with more steps than
fit on a page continues on the next page (rig/trace_output.py writes the SVG and PDF).

Drawn with matplotlib's object API (no pyplot: no global figure state, safe in a
pytest run with many rigs).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator
from matplotlib.transforms import Bbox

from evrig.rig import readable
from evrig.rig import trace_series as ts
from evrig.rig.trace import Event, Trace

PAGE_IN = (11.69, 8.27)  # A4 landscape
MAX_COLUMNS = 12  # ~22 mm a column on A4: a step title in three lines of 6.5 pt
STYLE = {"font.size": 7, "font.family": "DejaVu Sans", "axes.linewidth": 0.6,
         "xtick.labelsize": 6.5, "ytick.labelsize": 6.5, "xtick.major.size": 2,
         "ytick.major.size": 2, "svg.hashsalt": "evrig-trace", "pdf.fonttype": 42,
         "lines.linewidth": 1.2}
COLOURS = {"cp": "#1f77b4", "duty": "#17becf", "volts": "#d62728", "amps": "#2ca02c",
           "contactor": "#9467bd", "bad": "#c00000", "grey": "#777777"}
PHASE_STYLE = {"all": "-", "L1": "-", "L2": "--", "L3": ":"}
LIGHT = {"green": "#2ca02c", "blue": "#1f5fd6", "red": "#d62728", "yellow": "#f2c200",
         "white": "#f4f4f4", "orange": "#ff8c00", "off": "#404040", "purple": "#8e44ad",
         "cyan": "#17becf", "magenta": "#e377c2", "amber": "#ffbf00"}
_READING = re.compile(r"[-+\d.,:\s]*")  # a display showing a number, not a message
EVENT_ROWS = ("measured", "OCPP", "charger", "faults", "indicators")


def style() -> Any:
    """The pictures' matplotlib settings, for a ``with`` block (typed loosely: the
    stubs want every rcParams key as a literal)."""
    return matplotlib.rc_context(cast(Any, STYLE))


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    height: float


ROWS = (Row("header", "", 0.7), Row("cp", "CP state", 0.9), Row("duty", "PWM duty\n%", 0.75),
        Row("volts", "AC source\nV", 0.8), Row("amps", "Load\ncurrent A", 0.8),
        Row("contactor", "Contactor", 0.3), Row("light", "Main light", 0.36),
        Row("display", "Display", 0.36), Row("events", "Events", 1.0))


class _Series:
    """Everything a page draws, taken from the events once (rig/trace_series.py)."""

    def __init__(self, events: list[Event]) -> None:
        self.cp = ts.cp_state(events)
        self.duty = ts.cp_duty(events)
        self.volts = ts.source_volts(events)
        self.amps, self.measured_amps = ts.load_amps(events)
        self.contactor = ts.contactor(events)
        end = max((e.t for e in events), default=0.0)
        self.light = ts.light(events)
        self.display = ts.display(events, end)
        self.marks = ts.marks(events)
        self.event_rows = [r for r in EVENT_ROWS if any(m.row == r for m in self.marks)]


class _Labels:
    """Text placed only where it fits — inside its step's column of its panel — and
    clear of the texts placed before it there."""

    def __init__(self, fig: Figure) -> None:
        self.renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        self.taken: dict[int, list[Bbox]] = {}

    def put(self, ax: Axes, x: float, y: float, text: str, bounds: tuple[float, float],
            **kw: Any) -> Text | None:
        """``bounds``: the column's x range (data units) the text must stay in."""
        left, right = (ax.transData.transform((b, 0))[0] for b in bounds)
        frame = ax.get_window_extent(self.renderer)
        label = ax.text(x, y, text, clip_on=False, **kw)
        box = label.get_window_extent(self.renderer)
        if box.x1 > right - 1 and kw.get("ha", "left") == "left":
            label.set_horizontalalignment("right")  # at the column's right end: end at x
            box = label.get_window_extent(self.renderer)
        taken = self.taken.setdefault(id(ax), [])
        inside = (box.x0 >= left + 1 and box.x1 <= right - 1
                  and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5)
        if not inside or any(box.overlaps(other) for other in taken):
            label.remove()
            return None
        taken.append(box.padded(3))  # a visible gap between two labels
        return label

    def fit(self, ax: Axes, x: float, width: float, text: str, sizes: tuple[float, ...],
            **kw: Any) -> Text | None:
        """``text`` centred on ``x``, wrapped to ``width`` (data units) at the largest
        size that fits the header's height."""
        limit = ax.transData.transform((width, 0))[0] - ax.transData.transform((0, 0))[0] - 4
        height = ax.get_window_extent(self.renderer).height * 0.68
        for size in sizes:
            for chars in range(max(len(text), 1), 5, -1):
                label = ax.text(x, 0.94, textwrap.fill(text, chars), ha="center", va="top",
                                fontsize=size, transform=ax.get_xaxis_transform(), **kw)
                box = label.get_window_extent(self.renderer)
                if box.width <= limit and box.height <= height:
                    return label
                label.remove()
                if box.height > height:
                    break  # narrower only adds lines: try a smaller size
        return None


def _chunks(columns: list[ts.Column]) -> list[list[ts.Column]]:
    pages = max(1, math.ceil(len(columns) / MAX_COLUMNS))
    size = math.ceil(len(columns) / pages) if columns else 1
    return [columns[i:i + size] for i in range(0, len(columns), size)] or [[]]


def _skipped(col: ts.Column, events: list[Event], outcomes: Mapping[str, str]) -> bool:
    """A step that did nothing: skipped by the run, or (without outcomes) a step of no
    duration and no instrument event."""
    if col.name in outcomes:
        return outcomes[col.name] == "skipped"
    return col.duration < 0.01 and not any(
        col.start <= e.t <= col.end and e.lane not in ("step", "OCPP") for e in events)


def figures(trace: Trace, title: str = "",
            outcomes: Mapping[str, str] | None = None) -> Iterator[Figure]:
    """One A4-landscape figure per page of the trace. ``outcomes``: step name → outcome
    (the record's steps); skipped steps get no column, only a line under the title."""
    events = sorted(trace.events, key=lambda e: e.t)
    series = _Series(events)
    rows = [r for r in ROWS if r.key != "display" or series.display]
    columns = ts.columns(events)
    skipped = [c for c in columns if _skipped(c, events, outcomes or {})]
    note = ("Skipped (not run on this unit): " + ", ".join(
        f"{c.number}. {readable.step_title(c.name)}" for c in skipped)) if skipped else ""
    chunks = _chunks([c for c in columns if c not in skipped])
    with style():
        for n, chunk in enumerate(chunks, 1):
            page = f"page {n} of {len(chunks)}" if len(chunks) > 1 else ""
            yield _page(series, rows, chunk, title, page, note)


class _Cols:
    """The page's x axis: column ``i`` is [i, i + 1), its step drawn in the middle
    (1 - 2 GAP) at the step's own scale, so every step is as wide as the others."""

    GAP = 0.035

    def __init__(self, columns: list[ts.Column]) -> None:
        self.columns = columns

    def x(self, i: int, t: float) -> float:
        col = self.columns[i]
        return i + self.GAP + (t - col.start) / max(col.duration, 1e-3) * (1 - 2 * self.GAP)

    def bounds(self, i: int) -> tuple[float, float]:
        return float(i), float(i + 1)

    def ticks(self) -> tuple[list[float], list[str]]:
        """Per column: nice seconds from its start, clear of its right end so its last
        label never meets the next column's "0"."""
        where: list[float] = []
        text: list[str] = []
        for i, col in enumerate(self.columns):
            span = max(col.duration, 1e-3)
            for s in MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(0, span):
                if 0 <= s <= 0.8 * span:
                    where.append(self.x(i, col.start + s))
                    text.append(f"{s:g}")
        return where, text

    def line(self, line: ts.Line) -> tuple[list[float], list[float]]:
        """One step line through every column, broken (NaN) between columns."""
        xs: list[float] = []
        ys: list[float] = []
        for i, col in enumerate(self.columns):
            ts_, vs = line.within(col.start, col.end)
            xs += [self.x(i, t) for t in ts_] + [math.nan]
            ys += vs + [math.nan]
        return xs, ys

    def dots(self, line: ts.Line) -> tuple[list[float], list[float]]:
        pts = [(self.x(i, t), v) for i, col in enumerate(self.columns)
               for t, v in line.samples if col.start <= t <= col.end]
        return [p[0] for p in pts], [p[1] for p in pts]

    def spans(self, spans: list[ts.Span]) -> Iterator[tuple[int, float, float, ts.Span]]:
        """(column, x0, x1, span) of each span, clipped to each column it reaches."""
        for i, col in enumerate(self.columns):
            for s in spans:
                if s.end >= col.start and s.start <= col.end:
                    yield (i, self.x(i, max(s.start, col.start)),
                           self.x(i, min(s.end, col.end)), s)


def _page(series: _Series, rows: list[Row], columns: list[ts.Column], title: str,
          page: str, note: str) -> Figure:
    fig = Figure(figsize=PAGE_IN)
    FigureCanvasAgg(fig)
    fig.text(0.012, 0.972, title, fontsize=10, weight="bold", va="top")
    fig.text(0.012, 0.94, "Each step has its own column and time scale (spec seconds from "
             "its start). Dots are readings; lines hold the last setpoint or reading; "
             "a hatched contactor band ends where opening was implied, not seen.",
             fontsize=6.5, color=COLOURS["grey"], va="top")
    if note:
        fig.text(0.012, 0.925, note, fontsize=6.5, color=COLOURS["grey"], va="top")
    if page:
        fig.text(0.988, 0.972, page, fontsize=7, ha="right", va="top")
    grid = fig.add_gridspec(len(rows), 1, height_ratios=[r.height for r in rows], left=0.085,
                            right=0.988, top=0.905, bottom=0.07, hspace=0.14)
    cols = _Cols(columns)
    where, text = cols.ticks()
    axes: list[Axes] = []
    for r, row in enumerate(rows):
        ax = fig.add_subplot(grid[r, 0], sharex=axes[0] if axes else None)
        axes.append(ax)
        ax.set_xlim(0, max(1, len(columns)))
        ax.xaxis.set_major_locator(FixedLocator(where))
        ax.xaxis.set_major_formatter(FixedFormatter(text))
        ax.tick_params(labelbottom=r == len(rows) - 1, length=2, pad=1.5)
        ax.grid(axis="x", color="#e6e6e6", linewidth=0.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if row.key == "header":
            ax.set_axis_off()
            continue
        ax.set_ylabel(row.label, rotation=0, ha="right", va="center", labelpad=6, fontsize=7)
        for i in range(1, len(columns)):  # the white gap between two steps
            ax.axvspan(i - cols.GAP * 0.6, i + cols.GAP * 0.6, color="white", zorder=3)
        if row.key in ("contactor", "light", "display"):
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_locator(FixedLocator([]))
    fig.supxlabel("spec seconds from the start of each step", fontsize=7, y=0.012)
    labels = _Labels(fig)  # labels are measured once every axes has its final place
    for ax, row in zip(axes, rows, strict=True):
        _draw(ax, row.key, cols, series, labels)
    return fig


def _draw(ax: Axes, key: str, cols: _Cols, s: _Series, labels: _Labels) -> None:
    if key == "header":
        for i, col in enumerate(cols.columns):
            _header(ax, cols, i, col, labels)
        return
    if key == "cp":
        _step(ax, cols, s.cp, COLOURS["cp"])
        ax.set_ylim(-0.6, 5.6)
        ax.yaxis.set_major_locator(FixedLocator(list(ts.CP_LEVEL.values())))
        ax.yaxis.set_major_formatter(FixedFormatter(list(ts.CP_LEVEL)))
    elif key == "duty":
        _step(ax, cols, s.duty, COLOURS["duty"])
        ax.set_ylim(-8, 112)
        ax.yaxis.set_major_locator(FixedLocator([0, 50, 100]))
        for i, col in enumerate(cols.columns):
            last = None
            for t, v in s.duty.samples:
                if col.start <= t <= col.end and v != last and 0 < v < 100:
                    labels.put(ax, cols.x(i, t), v + 6, f"{v:.0f}", cols.bounds(i),
                               fontsize=6, color=COLOURS["duty"])
                last = v
    elif key == "volts":
        _phases(ax, cols, s.volts, COLOURS["volts"])
        top = max([v for line in s.volts.values() for _, v in line.points] + [250.0])
        ax.set_ylim(-0.05 * top, top * 1.25)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    elif key == "amps":
        _phases(ax, cols, s.amps, COLOURS["amps"])
        xs, ys = cols.dots(s.measured_amps)
        ax.plot(xs, ys, "o", ms=2.2, color="#145214")
        top = max([v for line in s.amps.values() for _, v in line.points] + ys + [10.0])
        ax.set_ylim(-0.05 * top, top * 1.3)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    elif key == "contactor":
        for _, x0, x1, span in cols.spans(s.contactor):
            ax.add_patch(Rectangle((x0, 0.18), x1 - x0, 0.64, linewidth=0.6,
                                   facecolor=COLOURS["contactor"] if span.observed else "white",
                                   edgecolor=COLOURS["contactor"],
                                   hatch=None if span.observed else "////"))
    elif key == "light":
        _light(ax, cols, s.light, labels)
    elif key == "display":
        _display(ax, cols, s.display, labels)
    elif key == "events":
        _events(ax, cols, s, labels)
    for i, col in enumerate(cols.columns):  # a failed measurement: a red line down its step
        for m in s.marks:
            if m.bad and col.start <= m.t <= col.end:
                ax.axvline(cols.x(i, m.t), color=COLOURS["bad"], linewidth=0.8, linestyle="--")


def _header(ax: Axes, cols: _Cols, i: int, col: ts.Column, labels: _Labels) -> None:
    title = readable.step_title(col.name) if col.name else "the test's window"
    number = f"{col.number}. " if col.number else ""
    x0, x1 = cols.x(i, col.start), cols.x(i, col.end)
    ax.add_patch(Rectangle((x0, 0), x1 - x0, 1, transform=ax.get_xaxis_transform(),
                           linewidth=0, facecolor="#f8d7da" if col.bad else "#eef1f5"))
    colour = COLOURS["bad"] if col.bad else "#1a1a1a"
    labels.fit(ax, (x0 + x1) / 2, x1 - x0, number + title, (7, 6.5, 6, 5.5), color=colour,
               weight="bold")
    foot = f"{col.duration:.3g} s" + (" · FAILED" if col.bad else "")
    ax.text((x0 + x1) / 2, 0.06, foot, transform=ax.get_xaxis_transform(), ha="center",
            va="bottom", fontsize=6.5, color=colour)


def _step(ax: Axes, cols: _Cols, line: ts.Line, colour: str, style: str = "-",
          label: str | None = None) -> None:
    ax.step(*cols.line(line), where="post", color=colour, linestyle=style, label=label)
    ax.plot(*cols.dots(line), "o", ms=2.2, color=colour)


def _phases(ax: Axes, cols: _Cols, lines: dict[str, ts.Line], colour: str) -> None:
    for name, line in lines.items():
        _step(ax, cols, line, colour, PHASE_STYLE.get(name, "-"),
              label=None if name == "all" else name)
    if len(lines) > 1:
        ax.legend(fontsize=5.5, loc="upper left", frameon=False, handlelength=1.6, ncols=3)


def _light(ax: Axes, cols: _Cols, spans: list[ts.Span], labels: _Labels) -> None:
    for i, x0, x1, span in cols.spans(spans):
        width = max(x1 - x0, 0.004)
        colours = span.colours or ("off",)
        share = 0.7 / len(colours)  # a blinking pattern: its colours stacked
        for n, name in enumerate(colours):
            ax.add_patch(Rectangle((x0, 0.08 + n * share), width, share, linewidth=0.4,
                                   facecolor=LIGHT.get(name, "#bbbbbb"), edgecolor="#555555"))
        if span.text and span.text != "blinking":  # the status a wait was for
            labels.put(ax, x0, 0.86, span.text.replace(" (blinking)", " ~"), cols.bounds(i),
                       fontsize=5.8, va="center")


def _display(ax: Axes, cols: _Cols, spans: list[ts.Span], labels: _Labels) -> None:
    placed = list(cols.spans(spans))
    for _, x0, x1, _span in placed:
        ax.add_patch(Rectangle((x0, 0.12), x1 - x0, 0.76, facecolor="#fffbe6",
                               edgecolor="#b8a000", linewidth=0.5))
    # Messages (ERR OVP) before readings (230.0): where two would overlap, the message
    # keeps its label.
    for i, x0, _, span in sorted(placed, key=lambda p: bool(_READING.fullmatch(p[3].text))):
        labels.put(ax, x0 + 0.004, 0.5, span.text, cols.bounds(i), fontsize=6, va="center",
                   family="DejaVu Sans Mono", color="#5c4f00")


def _events(ax: Axes, cols: _Cols, s: _Series, labels: _Labels) -> None:
    rows = s.event_rows or ["measured"]
    y = {name: len(rows) - 1 - i for i, name in enumerate(rows)}
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.yaxis.set_major_locator(FixedLocator(list(y.values())))
    ax.yaxis.set_major_formatter(FixedFormatter(list(y)))
    shown = [(i, m) for i, col in enumerate(cols.columns) for m in s.marks
             if col.start <= m.t <= col.end and m.row in y]
    for kind, size, colour in (("quiet", 3.5, "#aaaaaa"), ("named", 5, "#333333"),
                               ("bad", 5, COLOURS["bad"])):  # one plot call per kind
        these = [(i, m) for i, m in shown
                 if kind == ("bad" if m.bad else "named" if m.named else "quiet")]
        ax.plot([cols.x(i, m.t) for i, m in these], [y[m.row] for _, m in these], "|",
                ms=size, color=colour)
    for i, m in shown:
        if m.named:
            labels.put(ax, cols.x(i, m.t), y[m.row] + 0.3, m.text, cols.bounds(i),
                       fontsize=5.5, va="center",
                       color=COLOURS["bad"] if m.bad else "#333333")
