"""The trace an engineer reads: what it takes from the events (rig/trace_series.py),
and its picture (rig/trace_plot.py, rig/trace_output.py) from two recorded EOL runs
(tests/data/eol: EV NET socketed, EV PLUS 22C with a display) — A4 landscape, every
step a column, no label cut or overlapping, and a look at it in headless Chromium
(screenshots in reports/screenshots/)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from evrig.rig import trace_output, trace_plot
from evrig.rig import trace_series as ts
from evrig.rig.trace import Event, Trace
from tests.browser import browser, ink, screenshot

DATA = Path(__file__).parent / "data" / "eol"
A4_LANDSCAPE_PT = (841.9, 595.3)


def _trace(name: str) -> Trace:
    return Trace.from_json((DATA / f"{name}.trace.json").read_text(encoding="utf-8"))


def _ev(t: float, lane: str, label: str = "", **data: object) -> Event:
    return Event(t, lane, label, data=dict(data) or None)


# -- what the picture takes from the events ------------------------------------------------
def test_columns_one_per_step_each_with_its_own_range():
    cols = ts.columns(_trace("evnet-s").events)
    assert [c.number for c in cols] == list(range(1, 12))
    metering = next(c for c in cols if c.name == "transaction_metering")
    assert metering.duration > 1
    assert all(c.end <= n.start + 1e-9 for c, n in zip(cols, cols[1:], strict=False))


def test_a_window_without_steps_is_one_column_and_old_ocpp_does_not_stretch_it():
    events = [_ev(0.0, "OCPP", action="BootNotification"), _ev(100.0, "CP", state="B"),
              _ev(103.0, "CP", state="C")]
    [col] = ts.columns(events)
    assert (col.start, col.end) == (100.0, 103.0)


def test_contactor_interval_ends_at_the_open_edge_else_where_opening_is_implied():
    events = [_ev(1.0, "contactor", closed=True), _ev(4.95, "CP", state="B"),
              _ev(5.0, "contactor", closed=False),
              _ev(6.0, "contactor", closed=True), _ev(9.0, "source V", on=False),
              _ev(12.0, "charger", on=True)]
    first, second = ts.contactor(events)
    assert (first.start, first.end, first.observed) == (1.0, 5.0, True)
    assert (second.start, second.end, second.observed) == (6.0, 9.0, False)


def test_duty_is_unknown_from_an_ev_command_to_the_next_reading():
    line = ts.cp_duty([_ev(1.0, "CP", state="B", duty=53.3), _ev(2.0, "CP", state="C"),
                       _ev(2.5, "CP", state="C", duty=53.3)])
    assert line.at(1.5) == 53.3 and math.isnan(line.at(2.2) or 0.0) and line.at(3) == 53.3


def test_display_spans_merge_repeated_readings():
    spans = ts.display([_ev(1, "display", text="230.0"), _ev(2, "display", text="ERR OVP"),
                        _ev(2.1, "display", text="ERR OVP"), _ev(5, "display", text="230.0")],
                       end=9.0)
    assert [(s.start, s.end, s.text) for s in spans] == [
        (1, 2, "230.0"), (2, 5, "ERR OVP"), (5, 9.0, "230.0")]


def test_a_phase_set_alone_draws_three_phase_lines():
    lines = ts.source_volts([_ev(0, "source V", volts=230.0, phase=None), _ev(0, "source V",
                                                                            on=True),
                             _ev(1, "source V", volts=0.0, phase=2)])
    assert set(lines) == {"L1", "L2", "L3"}
    assert (lines["L1"].at(2), lines["L2"].at(2)) == (230.0, 0.0)


def test_trace_json_round_trip():
    t = Trace()
    t.add(1.0, "CP", "B 53%", 9.0, data={"state": "B", "duty": 53.3})
    assert Trace.from_json(t.to_json()).events == t.events


# -- the picture ----------------------------------------------------------------------------
def _texts_fit(fig) -> list[str]:
    """Every visible text inside the page and clear of the others in its axes."""
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    problems = []
    for ax in fig.get_axes():
        boxes = []
        for text in ax.texts:
            if not text.get_visible() or not text.get_text():
                continue
            box = text.get_window_extent(renderer)
            if not (page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0
                    and box.y1 <= page.y1):
                problems.append(f"cut: {text.get_text()!r}")
            frame = ax.get_window_extent(renderer)
            if box.x0 < frame.x0 - 1 or box.x1 > frame.x1 + 1:
                problems.append(f"outside its panel: {text.get_text()!r}")
            problems += [f"overlap: {text.get_text()!r} / {other}" for other, b in boxes
                         if box.overlaps(b)]
            boxes.append((text.get_text(), box))
    return problems


SKIPPED = {"evnet-s": {}, "evplus-22c": {"pp_rating": "skipped", "lock_actuator": "skipped"}}


@pytest.fixture(scope="module", params=list(SKIPPED))
def drawn(request, tmp_path_factory):
    """A recorded run's trace drawn once: (name, figures, folder with trace.svg/.pdf)."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    figs = list(trace_plot.figures(_trace(name), f"EOL {name}", SKIPPED[name]))
    trace_output.render(_trace(name), f"EOL {name}", folder / "trace.svg",
                        folder / "trace.pdf", SKIPPED[name])
    return name, figs, folder


def test_picture_is_one_a4_landscape_page_with_nothing_cut_or_overprinted(drawn):
    name, figs, folder = drawn
    assert len(figs) == 1
    for fig in figs:
        fig.canvas.draw()
        assert _texts_fit(fig) == []
    reader = PdfReader(folder / "trace.pdf")
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_PT, abs=1)
    text = " ".join(reader.pages[0].extract_text().split())  # titles wrap in their column
    for shown in ("CP state", "PWM duty", "AC source", "Load", "Contactor", "Main light",
                  "Charging session and metering", "Residual current trip, DC"):
        assert shown in text, shown
    assert ("Display" in text) == (name == "evplus-22c")
    if name == "evplus-22c":
        assert "ERR OVP" in text and "Skipped (not run on this unit): 4. Cable rating" in text
    root = ET.fromstring((folder / "trace.svg").read_text(encoding="utf-8"))
    assert root.get("width", "").endswith("pt")


def test_more_steps_than_a_page_holds_continue_on_the_next_page(tmp_path):
    t = Trace()
    for n in range(30):
        t.add(n * 2.0, "step", f"step_{n}")
        t.add(n * 2.0 + 0.5, "CP", "EV → B", data={"state": "B"})
    pages = trace_output.render(t, "regression", tmp_path / "t.svg", tmp_path / "t.pdf")
    assert len(pages) == len(PdfReader(tmp_path / "t.pdf").pages) == 3
    svg = (tmp_path / "t.svg").read_text(encoding="utf-8")
    ET.fromstring(svg)
    assert svg.count("<svg") == 4  # the outer picture and a page each


def test_trace_svg_keeps_its_old_entry_point():
    picture = trace_output.svg(_trace("evnet-s").window(0, 10), "trace of a test <&>")
    ET.fromstring(picture)


# -- looked at in a browser ----------------------------------------------------------------
def test_trace_in_headless_chromium_fits_an_a4_landscape_width(drawn):
    name, _, folder = drawn
    with browser(1123, 794) as driver:  # A4 landscape at 96 px per inch
        shot = screenshot(driver, folder / "trace.svg", f"trace-{name}")
    assert shot["scroll_width"] <= 1123, "the trace scrolls sideways"
    assert shot["height"] <= 800
    assert ink(shot["path"]) > 0.03  # drawn, not a blank page
