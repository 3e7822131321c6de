"""The trace's files: ``trace.svg`` (every page, one below the other, in one picture)
and ``trace.pdf`` (one A4-landscape page each), drawn by rig/trace_plot.py, each
written whole or not at all (a temporary file, then os.replace): a reader never
sees half a picture, even when the run is killed while it is written.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from evrig.rig.trace import Trace
from evrig.rig.trace_plot import PAGE_IN, figures, style

_ROOT = re.compile(r"<svg\b[^>]*>")


def _svg_text(fig: Figure) -> str:
    out = io.StringIO()
    with style():
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _stack(pages: list[str]) -> str:
    """Pages of SVG one below the other in one picture (nested <svg> elements)."""
    if len(pages) == 1:
        return pages[0]
    w, h = (72 * PAGE_IN[0], 72 * PAGE_IN[1])
    inner = []
    for i, page in enumerate(pages):
        body = page[page.index("<svg"):]
        root = _ROOT.search(body)
        assert root is not None  # matplotlib's SVG has a root element
        tag = re.sub(r'\s(width|height)="[^"]*"', "", root.group(0)).replace(
            "<svg", f'<svg x="0" y="{i * h:.2f}" width="{w:.2f}" height="{h:.2f}"', 1)
        inner.append(tag + body[root.end():])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
            f' width="{w:.2f}pt" height="{h * len(pages):.2f}pt" '
            f'viewBox="0 0 {w:.2f} {h * len(pages):.2f}">\n' + "\n".join(inner) + "</svg>\n")


def svg(trace: Trace, title: str = "", outcomes: Mapping[str, str] | None = None) -> str:
    return _stack([_svg_text(fig) for fig in figures(trace, title, outcomes)])


def render(trace: Trace, title: str, svg_path: str | Path | None = None,
           pdf_path: str | Path | None = None,
           outcomes: Mapping[str, str] | None = None) -> list[str]:
    """The SVG of each page; all pages in one SVG to ``svg_path`` and one PDF (a page
    per A4-landscape page) to ``pdf_path`` when given, each written whole or not at all
    (a temporary file, then os.replace)."""
    figs = list(figures(trace, title, outcomes))
    pages = [_svg_text(fig) for fig in figs]
    if svg_path is not None:
        _replace(Path(svg_path), lambda tmp: tmp.write_text(_stack(pages), encoding="utf-8"))
    if pdf_path is not None:
        def save(tmp: Path) -> None:
            with style(), PdfPages(tmp, metadata={
                    "Title": title, "Creator": "evrig trace", "CreationDate": None}) as pdf:
                for fig in figs:
                    pdf.savefig(fig)

        _replace(Path(pdf_path), save)
    return pages


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
