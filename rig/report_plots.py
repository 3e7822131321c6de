"""The production report's pictures (rig/report_html.py), as inline SVG drawn by
matplotlib: a histogram per measurement with its limits, the failure Pareto, and units
and first-pass yield per day.

Decision — matplotlib SVG inlined into the page, not plotly. The page must be one
file, readable offline: plotly needs plotly.js inside it, 4.8 MB before the first plot,
and a plot only appears once its script has run; a matplotlib histogram is ~10 KB of
SVG (text as text: ``svg.fonttype: none``), so a report of 40 measurements is ~0.5 MB
and plotly's page would be smaller only past ~500 plots. The SVG needs no script: it
shows at once, prints, and survives a mail client or a viewer with scripts off. And
matplotlib is already the rig's plotting library (rig/trace_plot.py). What it costs:
no hover or zoom (the numbers are in the tables beside the plots), and drawing time,
kept down by drawing every histogram on one figure whose artists are updated (building
a figure costs twice what drawing it does).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any, cast

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import offset_copy

from evrig.rig.report_stats import Capability, Yields

STYLE = {"svg.fonttype": "none", "font.size": 8, "font.family": "sans-serif",
         "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.6,
         "xtick.major.width": 0.6, "ytick.major.width": 0.6}
BAR, LIMIT, MEAN, CURVE = "#4c78a8", "#d62728", "#333333", "#f58518"
BINS = 40
_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def _style(salt: str) -> Any:
    """The pictures' settings, for a ``with`` block. The salt makes the ids inside
    each SVG (clip paths) unique in a page of many inline SVGs."""
    return matplotlib.rc_context(cast(Any, {**STYLE, "svg.hashsalt": salt}))


def _svg(fig: Figure, salt: str, tight: bool = False) -> str:
    """``tight``: cropped to what is drawn (slanted names of any length); it costs a
    second layout, so the histograms, drawn alike, have fixed margins instead."""
    out = io.StringIO()
    with _style(salt):
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight" if tight else None, pad_inches=0.05)
    return _XML_HEAD.sub("", out.getvalue(), count=1)


def _range(values: np.ndarray, low: float | None, high: float | None) -> tuple[float, float]:
    """The axis: the middle 99.8 % of the values and the limits. A few wild values
    (a broken contact) would squeeze the distribution into one bar; they are counted
    beside the plot instead."""
    lo, hi = (np.quantile(values, [0.001, 0.999]) if len(values) >= 1000
              else (values.min(), values.max()))
    ends = [float(lo), float(hi)] + [v for v in (low, high) if v is not None]
    a, b = min(ends), max(ends)
    pad = (b - a) * 0.06 or abs(a) * 0.05 or 1.0
    return a - pad, b + pad


class Histograms:
    """One figure, redrawn for each measurement (see the module docstring)."""

    def __init__(self) -> None:
        with _style("init"):
            self.fig = Figure(figsize=(4.6, 2.1))
            FigureCanvasSVG(self.fig)
            self.ax = self.fig.add_axes((0.03, 0.14, 0.94, 0.76))
        ax = self.ax
        self.bars = ax.stairs([0], [0, 1], fill=True, color=BAR, alpha=0.85)
        self.curve = ax.plot([], [], color=CURVE, lw=1.2, label="normal, σ overall")[0]
        self.mean = ax.axvline(0, color=MEAN, lw=1, label="mean")
        self.low = ax.axvline(0, color=LIMIT, lw=1.2, ls="--")
        self.high = ax.axvline(0, color=LIMIT, lw=1.2, ls="--")
        # the labels 3 pt off their lines (x in data, y in axes coordinates)
        self.low_text = ax.text(0, 1, "LSL", color=LIMIT, ha="right", va="top",
                                transform=offset_copy(ax.get_xaxis_transform(), self.fig,
                                                      x=-3, units="points"))
        self.high_text = ax.text(0, 1, "USL", color=LIMIT, ha="left", va="top",
                                 transform=offset_copy(ax.get_xaxis_transform(), self.fig,
                                                       x=3, units="points"))
        self.note = ax.text(1, 1.02, "", ha="right", va="bottom", transform=ax.transAxes,
                            color="#666666")
        ax.xaxis.set_major_locator(MaxNLocator(7))
        # no y axis: counts are in the table (n) and the shape is what a histogram
        # shows; its tick labels were half of the drawing time
        ax.yaxis.set_visible(False)
        ax.spines["left"].set_visible(False)

    def svg(self, values: Sequence[float], cap: Capability, salt: str) -> str:
        x = np.asarray(values, dtype=float)
        key, ax = cap.key, self.ax
        a, b = _range(x, key.low, key.high)
        integer = bool(np.all(x == np.round(x))) and b - a <= 2 * BINS
        edges = (np.arange(math.floor(a), math.ceil(b) + 1) - 0.5 if integer
                 else np.linspace(a, b, BINS + 1))
        counts, edges = np.histogram(x, bins=edges)
        outside = len(x) - int(counts.sum())
        self.bars.set_data(counts, edges)
        width = float(edges[1] - edges[0])
        if cap.sigma_overall and cap.mean is not None and not integer:
            grid = np.linspace(edges[0], edges[-1], 120)
            density = np.exp(-0.5 * ((grid - cap.mean) / cap.sigma_overall) ** 2) / (
                cap.sigma_overall * math.sqrt(2 * math.pi))
            self.curve.set_data(grid, density * len(x) * width)
        else:
            self.curve.set_data([], [])
        self.mean.set_xdata([cap.mean or 0.0] * 2)
        self.mean.set_visible(cap.mean is not None)
        for line, text, limit in ((self.low, self.low_text, key.low),
                                  (self.high, self.high_text, key.high)):
            line.set_visible(limit is not None)
            text.set_visible(limit is not None)
            if limit is not None:
                line.set_xdata([limit] * 2)
                text.set_x(limit)
        self.note.set_text(f"{outside} beyond the axis" if outside else "")
        ax.set_xlim(float(edges[0]), float(edges[-1]))
        ax.set_ylim(0, max(1.0, float(counts.max()) * 1.12))
        return _svg(self.fig, salt)


def pareto_svg(causes: Sequence[tuple[str, int]], top: int = 15) -> str:
    """Bars of the causes (largest first, the rest as one "other" bar) and the
    cumulative share."""
    shown = list(causes[:top])
    if len(causes) > top:
        shown.append((f"other ({len(causes) - top})", sum(n for _, n in causes[top:])))
    total = sum(n for _, n in causes) or 1
    with _style("pareto"):
        fig = Figure(figsize=(9.0, 3.4))
        FigureCanvasSVG(fig)
        ax = fig.add_axes((0.08, 0.42, 0.84, 0.52))
        names = [name if len(name) <= 34 else name[:33] + "…" for name, _ in shown]
        pos = np.arange(len(shown))
        ax.bar(pos, [n for _, n in shown], color=BAR)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(pos, names, rotation=35, ha="right", rotation_mode="anchor")
        ax.set_ylabel("failed runs")
        ax.set_xlim(-0.6, len(shown) - 0.4)
        cum = ax.twinx()
        cum.plot(pos, np.cumsum([n for _, n in shown]) / total, color=CURVE, marker="o",
                 ms=3, lw=1.2)
        cum.set_ylim(0, 1.05)
        cum.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        cum.spines["right"].set_visible(True)
        cum.set_ylabel("cumulative share")
    return _svg(fig, "pareto", tight=True)


def daily_svg(days: Sequence[tuple[str, Yields]]) -> str:
    """Units per day (bars, by the day of their first run) and first-pass yield and
    yield (lines)."""
    with _style("daily"):
        fig = Figure(figsize=(9.0, 2.8))
        FigureCanvasSVG(fig)
        ax = fig.add_axes((0.07, 0.22, 0.86, 0.7))
        pos = np.arange(len(days))
        ax.bar(pos, [y.units for _, y in days], color="#c6d5e6", label="units")
        ax.set_ylabel("units")
        step = max(1, math.ceil(len(days) / 15))
        ax.set_xticks(pos[::step], [d[5:] for d, _ in days][::step])
        share = ax.twinx()
        for label, what, colour in (("first-pass yield", "first_pass_yield", BAR),
                                    ("yield", "yield_", CURVE)):
            share.plot(pos, [getattr(y, what) for _, y in days], color=colour, lw=1.3,
                       marker="o", ms=2.5, label=label)
        share.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        lowest = min([y.first_pass_yield or 0.0 for _, y in days] + [0.9])
        share.set_ylim(max(0.0, lowest - 0.05), 1.005)
        share.spines["right"].set_visible(True)
        share.legend(loc="lower left", frameon=False, ncols=2)
    return _svg(fig, "daily", tight=True)
