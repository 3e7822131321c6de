"""The unit's test certificate: one self-contained HTML page beside its record that a
customer can accept — company, product, procedure and revision, instruments and their
calibration, every step and measurement of the sequence with human names, rounded
limits and verdicts (those never reached listed as "not run"), signature lines — and,
as an appendix on A4-landscape pages, the run's trace for the engineer.

Print CSS lays it out on A4 (rig/pdf.py prints it with headless Chromium); page
margin boxes carry the document id and "page X of Y" on every page. A virtual-bench
run says so on every page, in the head and as a watermark: it certifies no product.
The page's context beyond the record (product, instruments, expected steps) comes
from rig/cert_context.py; names and rounding from rig/readable.py.
"""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evrig.rig import readable
from evrig.rig.cert_context import CertificateContext
from evrig.rig.records import MeasurementRecord, StepRecord, UnitRecord, write_atomic

VIRTUAL = "VIRTUAL BENCH — NOT A PRODUCT RESULT"
VERDICT_WORD = {"passed": "PASSED", "failed": "FAILED", "aborted": "ABORTED",
                "error": "ERROR"}

_CSS = """
@page{size:A4;margin:16mm 14mm 17mm 14mm;
 @bottom-left{content:"%(doc)s";font:8pt sans-serif;color:#555}
 @bottom-right{content:"Page " counter(page) " of " counter(pages);font:8pt sans-serif;color:#555}
 %(top)s}
@page trace{size:A4 landscape;margin:9mm 9mm 12mm 9mm}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:9.5pt;color:#1a1a1a;
 max-width:190mm;margin:0 auto;padding:8mm 0;line-height:1.35}
@media print{body{max-width:none;padding:0}}
h1{font-size:17pt;margin:0}h2{font-size:11.5pt;margin:14pt 0 4pt;border-bottom:1px solid #999}
.head{display:flex;justify-content:space-between;gap:8mm;align-items:flex-start}
.company{font-size:9pt;white-space:pre-line}.company b{font-size:11pt}
.docid{text-align:right;font-size:8.5pt;color:#333}
.banner{border:2.5pt solid #b00000;color:#b00000;font-weight:bold;text-align:center;
 font-size:13pt;padding:4pt;margin:8pt 0}
.banner small{display:block;font-weight:normal;font-size:8.5pt;color:#600}
.watermark{position:fixed;top:50%%;left:50%%;transform:translate(-50%%,-50%%) rotate(-32deg);
 font-size:36pt;font-weight:bold;color:rgba(190,0,0,.11);white-space:nowrap;z-index:5;
 text-align:center;line-height:1.25;pointer-events:none}
.verdict{font-size:20pt;font-weight:bold;padding:2pt 12pt;display:inline-block;margin:6pt 0}
.passed{background:#d4edda;color:#155724}.failed,.error{background:#f8d7da;color:#721c24}
.aborted{background:#fff3cd;color:#6b5200}
table{border-collapse:collapse;width:100%%;margin:3pt 0}
td,th{border:0.6pt solid #bbb;padding:2pt 5pt;vertical-align:top;text-align:left}
th{background:#eef1f5}thead{display:table-header-group}tr{break-inside:avoid}
.kv td:first-child{width:34%%;color:#444}.cols{display:flex;gap:6mm}.cols>div{flex:1}
td.num{white-space:nowrap;text-align:right}td.lim,td.nowrap{white-space:nowrap}
td.addr{word-break:break-all}
tr.step td{background:#f3f4f6;font-weight:bold;break-after:avoid}
tr.step td span{font-weight:normal;color:#444}
.v-PASS{color:#155724}.v-FAIL{color:#b00000;font-weight:bold}.v-MARGINAL{color:#8a6100;
 font-weight:bold}.v-NOTRUN,.v-SKIPPED,.v-NOTMEASURED{color:#666;font-style:italic}
tr.FAIL td{background:#fbe3e5}tr.MARGINAL td{background:#fff6d6}
.overdue{color:#b00000;font-weight:bold}.note{font-size:8.5pt;color:#444}
.sign{display:flex;gap:10mm;margin:10pt 0 16pt;break-inside:avoid}
.sign div{flex:1;border-top:0.8pt solid #333;padding-top:3pt;margin-top:26pt;font-size:8.5pt}
.trace-page{page:trace;break-before:page}.trace-page h2{margin-top:0}
.trace-page img{width:100%%;max-height:170mm;object-fit:contain;display:block}
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _css_string(text: str) -> str:
    """Text inside a CSS string: anything but plain characters as a CSS escape, so no
    serial number can end the string or the style element."""
    return "".join(c if c.isalnum() or c in " -_.:·/" else f"\\{ord(c):x} " for c in text)


def _when(stamp: str | None) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC").split(".")[0] + " UTC" \
        if stamp and "." in stamp else (stamp or "—")


@dataclass(frozen=True)
class Row:
    step: str
    title: str
    value: str
    limits: str
    verdict: str  # PASS, MARGINAL, FAIL, NOT RUN, NOT MEASURED, SKIPPED


def _row(m: MeasurementRecord, verdict: str | None = None) -> Row:
    value = "—" if verdict else readable.value_text(m.name, m.value, m.low, m.high, m.unit)
    return Row(m.step, readable.measurement_title(m.name), value,
               readable.limits_text(m.name, m.low, m.high, m.unit), verdict or m.outcome)


def steps_and_rows(record: UnitRecord, ctx: CertificateContext
                   ) -> list[tuple[str, StepRecord | None, list[Row]]]:
    """Every expected step in order, with its measurements and those it never took."""
    ran = {s.name: s for s in record.steps}
    measured: dict[str, list[MeasurementRecord]] = defaultdict(list)
    for m in record.measurements:
        measured[m.step].append(m)
    expected: dict[str, list[MeasurementRecord]] = defaultdict(list)
    for m in ctx.reference.measurements if ctx.reference else []:
        expected[m.step].append(m)
    names = list(dict.fromkeys([*ctx.expected_steps, *ran, *measured]))
    out = []
    for name in names:
        step = ran.get(name)
        rows = [_row(m) for m in measured[name]]
        have = {m.name for m in measured[name]}
        if step is None or step.outcome != "skipped":
            missing = "NOT MEASURED" if step is not None and step.outcome == "passed" \
                else "NOT RUN"
            rows += [_row(m, missing) for m in expected[name] if m.name not in have]
        out.append((name, step, rows))
    return out


def _results(record: UnitRecord, ctx: CertificateContext) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    body = []
    for n, (name, step, rows) in enumerate(steps_and_rows(record, ctx), 1):
        state = "not run" if step is None else step.outcome
        extra = f" · {step.duration_s:.1f} s" if step is not None else ""
        body.append(f'<tr class="step"><td colspan="4">{n}. {_esc(readable.step_title(name))}'
                    f' <span>— {_esc(state.upper())}{extra}</span></td></tr>')
        # A failed measurement's own message repeats its row (with the internal name):
        # the row says it for the customer.
        said = step is not None and step.message.startswith("measurement ") and any(
            r.verdict == "FAIL" for r in rows)
        if step is not None and step.outcome in ("failed", "error", "skipped", "aborted") \
                and step.message and not said:
            body.append(f'<tr><td colspan="4" class="note">{_esc(step.message[:300])}</td></tr>')
        if not rows and step is None:
            body.append('<tr><td colspan="3" class="note">its measurements are unknown (no '
                        'passing run of this product to take them from)</td>'
                        '<td class="v-NOTRUN">not run</td></tr>')
        elif not rows and step is not None and step.outcome != "skipped":
            body.append('<tr><td colspan="4" class="note">checks without a measured value'
                        '</td></tr>')
        for r in rows:
            counts[r.verdict] += 1
            key = r.verdict.replace(" ", "")
            word = r.verdict.lower() if " " in r.verdict else r.verdict  # "not run"
            body.append(f'<tr class="{key}"><td>{_esc(r.title)}</td><td class="num">'
                        f'{_esc(r.value)}</td><td class="lim">{_esc(r.limits)}</td>'
                        f'<td class="v-{key}">{_esc(word)}</td></tr>')
    table = ('<table class="results"><thead><tr><th>Measurement</th><th>Value</th>'
             '<th>Limits</th><th>Verdict</th></tr></thead><tbody>' + "".join(body)
             + "</tbody></table>")
    return table, counts


def _kv(pairs: list[tuple[str, str]]) -> str:
    return '<table class="kv">' + "".join(
        f"<tr><td>{_esc(k)}</td><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def render(record: UnitRecord, trace_svg: str | None = None,
           context: CertificateContext | None = None) -> str:
    ctx = context or CertificateContext()  # bench unknown: marked virtual, never a product
    pages = ctx.trace_pages or ([trace_svg] if trace_svg else [])
    doc = f"{record.kind.upper()} certificate {record.serial} · document {record.run_id}"
    top = f'@top-center{{content:"{VIRTUAL}";font:bold 9pt sans-serif;color:#b00000}}' \
        if ctx.virtual else ""
    css = _CSS % {"doc": _css_string(doc), "top": top}
    company = ctx.company
    head_left = (f'<div class="company"><b>{_esc(company.name)}</b>\n'
                 f'{_esc(company.address.strip())}</div>') if company else \
        f'<div class="company"><b>Station {_esc(record.station)}</b></div>'
    banner = (f'<div class="banner">{VIRTUAL}<small>Produced on the virtual bench (a '
              f'simulated charger, rig file {_esc(record.rig_file)}): it tests the test '
              f'system and certifies no product.</small></div>'
              f'<div class="watermark">{VIRTUAL.replace(" — ", "<br>")}</div>') \
        if ctx.virtual else ""
    product = _kv([("Product", _esc(ctx.product or record.profile)),
                   ("Model", _esc(ctx.model or "—")), ("Vendor", _esc(ctx.vendor or "—")),
                   ("Variant", _esc(record.variant)), ("Serial number", _esc(record.serial)),
                   ("Serial reported", _esc(record.charger_serial or "—")),
                   ("Firmware", _esc(record.firmware or "—"))])
    test = _kv([("Procedure", _esc(ctx.procedure or record.kind.upper())),
                ("Revision", _esc(ctx.revision or "—")),
                ("Station", _esc(record.station)), ("Bench", "virtual" if ctx.virtual
                                                      else "real instruments"),
                ("Operator", _esc(record.operator)), ("Start", _esc(_when(record.start))),
                ("End", _esc(_when(record.end))),
                ("Test time", f"{record.spec_time_s:.1f} s" if record.spec_time_s else "—")])
    instruments = "".join(
        f'<tr><td>{_esc(i.role)}</td><td>{_esc(i.model)}</td><td class="addr">'
        f'{_esc(i.address)}</td><td class="nowrap">{_esc(i.asset)}</td><td class="nowrap'
        f'{" overdue" if i.overdue else ""}">{_esc(i.calibration)}</td></tr>'
        for i in ctx.instruments)
    results, counts = _results(record, ctx)
    summary = ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items()))
    notes = "".join(f"<li>{_esc(n)}</li>" for n in [*record.notes, *record.findings])
    prompts = "".join(f"<li>{_esc(p['question'])} → {_esc(p['answer'])}"
                      f"{' (auto)' if p.get('auto') else ''}</li>" for p in record.prompts)
    approver = company.approver if company and company.approver else "Approved by"
    appendix = "".join(
        f'<section class="trace-page"><h2>Appendix — instrument trace'
        f'{f" ({i} of {len(pages)})" if len(pages) > 1 else ""}</h2>'
        f'<img alt="trace of the run" src="data:image/svg+xml;base64,'
        f'{base64.b64encode(svg.encode()).decode()}"></section>'
        for i, svg in enumerate(pages, 1))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(doc)}</title><style>{css}</style></head><body>
{banner}<div class="head">{head_left}<div class="docid"><h1>Test certificate</h1>
{"End-of-line test" if record.kind == "eol" else "Regression run"} · document
<b>{_esc(record.run_id)}</b><br>issued {_esc(_when(record.end))}
</div></div>
<p class="verdict {_esc(record.outcome)}">{_esc(VERDICT_WORD.get(record.outcome,
                                                                  record.outcome.upper()))}</p>
{f'<p class="note">{_esc(record.message)}</p>' if record.message else ''}
<div class="cols"><div><h2>Product</h2>{product}</div><div><h2>Test</h2>{test}</div></div>
<h2>Instruments</h2><table><thead><tr><th>Instrument</th><th>Model</th><th>Address</th>
<th>Asset</th><th>Calibration</th></tr></thead><tbody>{instruments or
'<tr><td colspan="5">not listed</td></tr>'}</tbody></table>
<h2>Results</h2><p class="note">{_esc(summary)}. Limits are shown rounded to their
resolution; verdicts use the exact values of record {_esc(record.run_id)}.
{_esc(ctx.reference_note)}</p>
{results}
{f'<h2>Notes</h2><ul class="note">{notes}</ul>' if notes else ''}
{f'<h2>Operator answers</h2><ul class="note">{prompts}</ul>' if prompts else ''}
<div class="sign"><div>Tested by (operator): {_esc(record.operator)}<br>Signature and date
</div><div>{_esc(approver)}: name, signature and date</div></div>
{appendix}
</body></html>
"""


def write(record: UnitRecord, folder: str | Path, trace_svg: str | None = None,
          context: CertificateContext | None = None) -> Path:
    return write_atomic(Path(folder) / "certificate.html", render(record, trace_svg, context))
