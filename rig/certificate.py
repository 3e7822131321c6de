"""The unit's test certificate: one self-contained HTML page beside its record,
printable, with every measurement, its limits and verdict, and the run's trace."""

from __future__ import annotations

import html
from pathlib import Path

from evrig.rig.records import UnitRecord, write_atomic

_CSS = """
body{font-family:sans-serif;margin:2em;color:#222}
h1{margin-bottom:0}.verdict{font-size:2.4em;font-weight:bold;padding:.2em .6em;display:inline-block}
.passed{background:#d4edda;color:#155724}.failed,.error{background:#f8d7da;color:#721c24}
.aborted{background:#fff3cd;color:#856404}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:.9em}
th{background:#f1f3f4;text-align:left}
tr.FAIL td{background:#f8d7da}tr.MARGINAL td{background:#fff3cd}
.meta td:first-child{font-weight:bold}
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def render(record: UnitRecord, trace_svg: str | None = None) -> str:
    meta = [("Serial", record.serial), ("Charger serial", record.charger_serial),
            ("Firmware", record.firmware), ("Profile", f"{record.profile} {record.variant}"),
            ("Station", record.station), ("Operator", record.operator),
            ("Rig file", record.rig_file), ("Run", record.run_id),
            ("Start", record.start), ("End", record.end),
            ("Spec time", f"{record.spec_time_s:.1f} s" if record.spec_time_s else "-"),
            ("Charger's delays", f"{record.delay_sum_s:.1f} s")]
    rows = "".join(
        f'<tr class="{_esc(m.outcome)}"><td>{_esc(m.step)}</td><td>{_esc(m.name)}</td>'
        f"<td>{_esc(m.value_text())}</td><td>{_esc(m.limits_text())}</td>"
        f"<td>{_esc(m.outcome)}</td></tr>" for m in record.measurements)
    steps = "".join(
        f"<tr><td>{_esc(s.name)}</td><td>{_esc(s.outcome)}</td><td>{s.duration_s:.2f}</td>"
        f"<td>{_esc(s.message[:300])}</td></tr>" for s in record.steps)
    notes = "".join(f"<li>{_esc(n)}</li>" for n in record.notes)
    prompts = "".join(f"<li>{_esc(p['question'])} → {_esc(p['answer'])}"
                      f"{' (auto)' if p.get('auto') else ''}</li>" for p in record.prompts)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>EOL certificate {_esc(record.serial)}</title>
<style>{_CSS}</style></head><body>
<h1>End-of-line test certificate</h1>
<p class="verdict {_esc(record.outcome)}">{_esc(record.outcome.upper())}</p>
<table class="meta">{''.join(f'<tr><td>{k}</td><td>{_esc(v)}</td></tr>' for k, v in meta)}</table>
<h2>Measurements ({len(record.measurements)})</h2>
<table><tr><th>step</th><th>measurement</th><th>value</th><th>limits</th><th>verdict</th></tr>
{rows}</table>
<h2>Steps</h2>
<table><tr><th>step</th><th>outcome</th><th>spec s</th><th>message</th></tr>{steps}</table>
{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}
{f'<h2>Operator</h2><ul>{prompts}</ul>' if prompts else ''}
{f'<h2>Trace</h2>{trace_svg}' if trace_svg else ''}
</body></html>
"""


def write(record: UnitRecord, folder: str | Path, trace_svg: str | None = None) -> Path:
    return write_atomic(Path(folder) / "certificate.html", render(record, trace_svg))
