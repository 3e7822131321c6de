"""The certificate a customer accepts (rig/certificate.py, rig/cert_context.py,
rig/readable.py, rig/pdf.py): human names and rounded limits, every expected step
and measurement with "not run" for those a failed unit never reached, the rig file's
company and instruments, the VIRTUAL BENCH banner — printed to PDF by headless
Chromium (A4 pages) and looked at in it (screenshots in reports/screenshots/)."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from evrig.rig import (
    cert_context,
    certificate,
    eol_documents,
    pdf,
    readable,
    records,
    trace_output,
)
from evrig.rig.config import load_rig
from evrig.rig.config_rules import notes
from evrig.rig.errors import RigFileError
from evrig.rig.records import MeasurementRecord, StepRecord, UnitRecord
from evrig.rig.trace import Trace
from tests.browser import A4_PX, browser, chromium_or_skip, ink, screenshot

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "eol"
A4_PT = (595.3, 841.9)


def _passed() -> UnitRecord:
    return records.read_record(DATA / "evnet-s.record.json")


def _failed_at_pp() -> UnitRecord:
    """The passing run cut at step 4: a cable-rating reading out of limits; steps 5..11
    never ran."""
    rec = copy.deepcopy(_passed())
    rec.run_id, rec.serial, rec.outcome = records.new_run_id(), "SN-FAIL-1", "failed"
    names = [s.name for s in rec.steps]
    keep = names[:names.index("pp_rating") + 1]
    rec.steps = [s for s in rec.steps if s.name in keep]
    rec.steps[-1] = StepRecord("pp_rating", "failed", 1.2, "measurement pp_680ohm_offered_a = "
                               "16.2 A (FAIL, limits [19.7, 20.3] A): out of limits")
    pp = [m for m in rec.measurements if m.step == "pp_rating"][:1]
    rec.measurements = [m for m in rec.measurements if m.step in keep[:-1]] + pp + [
        MeasurementRecord("pp_680ohm_offered_a", 16.2, "A", 19.7, 20.3, "FAIL", "pp_rating")]
    rec.message = ""
    return rec


def _context(tmp_path: Path, rec: UnitRecord, rig: str = "rigs/sim.yaml"
             ) -> cert_context.CertificateContext:
    """The context as a run builds it, the passing run filed under tmp_path/reports."""
    reports = tmp_path / "reports"
    ref = _passed()
    records.write_record(ref, records.run_dir(reports, ref.serial, ref.run_id))
    config = load_rig(ROOT / rig)
    config = dataclasses.replace(config, reports=dataclasses.replace(config.reports,
                                                                     dir=str(reports)))
    collected = [s.name for s in _passed().steps]
    return cert_context.build(config, rec, collected, ROOT / "testcases")


# -- names and numbers ----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "title"), [
    ("pp_1500ohm_offered_a", "Offered current at PP 1500 Ω"),
    ("pwm_duty_32a_pct", "PWM duty cycle offering 32 A"),
    ("overvoltage_trip_s", "Overvoltage trip time"),
    ("cp_b_high_v", "CP level in state B"),
    ("some_new_thing_s", "Some new thing")])  # no title yet: still readable
def test_measurement_titles(name, title):
    assert readable.measurement_title(name) == title


@pytest.mark.parametrize(("name", "value", "low", "high", "unit", "shown", "limits"), [
    ("pwm_duty_32a_pct", 53.3, 52.833333333333336, 53.833333333333336, "%", "53.3 %",
     "[52.8, 53.8] %"),
    ("pwm_freq_hz", 1000.04, 980.0, 1020.0, "Hz", "1000 Hz", "[980, 1020] Hz"),
    ("meter_current_6a_error_pct", -0.0432, -1.0, 1.0, "%", "-0.04 %", "[-1, 1] %"),
    ("rcd_dc_trip_s", 0.019999999999999574, None, 10.0, "s", "0.02 s", "≤ 10 s"),
    ("boot_notification_s", 2.0934, None, 60.0, "s", "2.1 s", "≤ 60 s"),
    ("meter_values_in_tx", 4, 3, None, "messages", "4 messages", "≥ 3 messages"),
    ("tamper_cover_rtm_code", 1048576, 1048576, 1048576, None, "0x100000", "= 0x100000"),
    ("powerup_beep", 1.0, 1, 1, None, "yes", "yes"),
    ("display_fault_string", 0.0, 0, 0, None, "no", "no")])
def test_values_and_limits_rounded_to_the_limits_resolution(name, value, low, high, unit,
                                                            shown, limits):
    assert readable.value_text(name, value, low, high, unit) == shown
    assert readable.limits_text(name, low, high, unit) == limits


def _eol_names() -> set[str]:
    """Measurement and step names the EOL testcases write as literals (``measure("x"``,
    helpers given a name) — f-string names with their fields as a sample value."""
    names: set[str] = set()
    for file in (ROOT / "testcases" / "eol").glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            args = node.args[:1] if getattr(node.func, "id", "") == "measure" else node.args
            for arg in args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and \
                        re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*_(s|v|a|pct|hz|wh|code|"
                                     r"latched|cleared|engaged|released|beep|string|label|tx)",
                                     arg.value):
                    names.add(arg.value)
    return names


def test_every_eol_measurement_and_step_has_a_title():
    missing = sorted(n for n in _eol_names() if not readable.has_title(n, "measurement"))
    recorded = {m.name for f in DATA.glob("*.record.json")
                for m in records.read_record(f).measurements}
    missing += sorted(n for n in recorded if not readable.has_title(n, "measurement"))
    steps = {s.name for f in DATA.glob("*.record.json") for s in records.read_record(f).steps}
    missing += sorted(n for n in steps if not readable.has_title(n, "step"))
    assert not missing, f"add to rig/tables/names/eol.yaml: {missing}"


# -- what the certificate lists ------------------------------------------------------------
def test_a_failed_unit_lists_what_it_never_reached_as_not_run(tmp_path):
    rec = _failed_at_pp()
    ctx = _context(tmp_path, rec)
    assert ctx.reference is not None and ctx.reference.serial == _passed().serial
    rows = certificate.steps_and_rows(rec, ctx)
    assert [name for name, _, _ in rows] == [s.name for s in _passed().steps]
    by_step = {name: (step, r) for name, step, r in rows}
    step, pp = by_step["pp_rating"]
    assert step is not None and step.outcome == "failed"
    assert [r.verdict for r in pp].count("FAIL") == 1 and "NOT RUN" in [r.verdict for r in pp]
    step, metering = by_step["transaction_metering"]
    assert step is None and metering and {r.verdict for r in metering} == {"NOT RUN"}
    assert all(r.value == "—" for r in metering)


def test_without_a_passing_run_the_unreached_steps_are_still_listed(tmp_path):
    rec = _failed_at_pp()
    config = load_rig(ROOT / "rigs" / "sim.yaml")
    config = dataclasses.replace(config, reports=dataclasses.replace(
        config.reports, dir=str(tmp_path / "empty")))
    ctx = cert_context.build(config, rec, [s.name for s in _passed().steps], None)
    page = certificate.render(rec, None, ctx)
    assert ctx.reference is None and "measurements are unknown" in page
    assert "11. Main light colours" in page


def test_real_bench_lists_company_assets_and_flags_an_overdue_calibration(tmp_path):
    text = (ROOT / "rigs" / "lab-example.yaml").read_text(encoding="utf-8")
    past = (date.today() - timedelta(days=1)).isoformat()
    rig = tmp_path / "lab.yaml"
    rig.write_text(text.replace("calibration_due: 2027-06-30", f"calibration_due: {past}", 1),
                   encoding="utf-8")
    config = load_rig(rig)
    assert config.company is not None and config.company.name == "EV NET Ltd."
    lines = {i.role: i for i in cert_context.instruments(config)}
    assert lines["AC source"].overdue and "OVERDUE" in lines["AC source"].calibration
    assert lines["AC load"].calibration == "due 2027-06-30" and not lines["AC load"].overdue
    assert lines["Light sensor"].calibration == "not given"
    assert f"calibration overdue: ac_source (due {past})" in notes(config)


def test_calibration_due_must_be_a_date(tmp_path):
    rig = tmp_path / "bad.yaml"
    rig.write_text((ROOT / "rigs" / "lab-example.yaml").read_text(encoding="utf-8").replace(
        "calibration_due: 2027-06-30", "calibration_due: 30.06.2027", 1), encoding="utf-8")
    with pytest.raises(RigFileError, match=r"instruments.ac_source.calibration_due: expected "
                                           r"a date written YYYY-MM-DD"):
        load_rig(rig)


def test_no_pdf_without_chromium_is_a_note_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setenv(pdf.ENV, str(tmp_path / "no-such-browser"))
    rec = _passed()
    rec.notes = []
    eol_documents.write(rec, tmp_path, Trace.from_json(
        (DATA / "evnet-s.trace.json").read_text(encoding="utf-8")),
        load_rig(ROOT / "rigs" / "sim.yaml"), [s.name for s in rec.steps], None)
    assert (tmp_path / "certificate.html").exists() and not (tmp_path / "certificate.pdf").exists()
    assert "certificate_pdf" not in rec.files and rec.files["trace_pdf"] == "trace.pdf"
    assert any(n.startswith("certificate.pdf not written: no Chromium found") for n in rec.notes)


def test_an_interrupted_run_ends_promptly_and_draws_later(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(pdf.ENV, str(tmp_path / "no-such-browser"))
    rec = _failed_at_pp()
    rec.outcome, rec.notes = "aborted", []
    trace = Trace.from_json((DATA / "evnet-s.trace.json").read_text(encoding="utf-8"))
    config = load_rig(ROOT / "rigs" / "sim.yaml")
    eol_documents.write(rec, tmp_path, trace, config, [s.name for s in _passed().steps], None)
    assert (tmp_path / "certificate.html").exists() and not (tmp_path / "trace.svg").exists()
    assert any("not drawn: the run was interrupted" in n for n in rec.notes)
    records.write_record(rec, tmp_path)
    assert eol_documents.main([str(tmp_path), "--rig", str(ROOT / "rigs" / "sim.yaml")]) == 0
    assert (tmp_path / "trace.svg").exists() and (tmp_path / "trace.pdf").exists()
    assert "ABORTED" in (tmp_path / "certificate.html").read_text(encoding="utf-8")
    assert "certificate.pdf not written: no Chromium found" in capsys.readouterr().out


def test_a_serial_cannot_break_out_of_the_page(tmp_path):
    rec = _passed()
    rec.serial = '</style><script>alert(1)</script>"'
    page = certificate.render(rec, None, cert_context.CertificateContext())
    assert "<script>" not in page


# -- printed and looked at -----------------------------------------------------------------
def _print(tmp_path: Path, rec: UnitRecord, ctx: cert_context.CertificateContext,
           name: str) -> tuple[Path, PdfReader, str]:
    chromium_or_skip()
    folder = tmp_path / name
    folder.mkdir()
    ctx.trace_pages = [trace_output.svg(Trace.from_json(
        (DATA / "evnet-s.trace.json").read_text(encoding="utf-8")), "EOL")]
    page = certificate.write(rec, folder, None, ctx)
    assert pdf.html_to_pdf(page, folder / "certificate.pdf") is None
    reader = PdfReader(folder / "certificate.pdf")
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    return page, reader, unicodedata.normalize("NFKC", text)  # the "ff" ligature: two letters


def test_failed_virtual_certificate_prints_on_a4_with_banner_names_and_not_run(tmp_path):
    rec = _failed_at_pp()
    page, reader, text = _print(tmp_path, rec, _context(tmp_path, rec), "failed")
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    portrait = [s for s in sizes if s[0] < s[1]]
    assert sizes[:len(portrait)] == [pytest.approx(A4_PT, abs=1)] * len(portrait)
    assert sizes[-1] == pytest.approx(A4_PT[::-1], abs=1)  # the trace: A4 landscape
    for shown in ("EV NET 7 kW single-phase charger", "EVNET-7KW-S-1PH", "SN-FAIL-1",
                  "VIRTUAL BENCH — NOT A PRODUCT RESULT", "FAILED", "EOL/evnet-7kw/S",
                  "Offered current at PP 680 Ω", "16.2 A", "[19.7, 20.3] A", "not run",
                  "Energy register advance", "Light shows Charging after", "chroma-61800",
                  "virtual (no calibration)", "Tested by (operator)", f"Page 1 of {len(sizes)}",
                  f"document {rec.run_id}"):
        assert shown in text, shown
    assert "pp_680ohm_offered_a" not in text  # human names only
    with browser(*A4_PX) as driver:
        screen = screenshot(driver, page, "certificate-failed")
        printed = screenshot(driver, page, "certificate-failed-print", media="print")
    assert screen["scroll_width"] <= A4_PX[0], "the certificate scrolls sideways"
    assert "not run" in screen["text"] and "VIRTUAL BENCH" in screen["text"]
    assert ink(screen["path"]) > 0.02 and ink(printed["path"]) > 0.02


def test_real_bench_certificate_has_company_and_no_virtual_banner(tmp_path):
    rec = _passed()
    rec.rig_file, rec.station = "rigs/lab-example.yaml", "lab-bench-1"
    ctx = _context(tmp_path, rec, "rigs/lab-example.yaml")
    page, reader, text = _print(tmp_path, rec, ctx, "real")
    assert "VIRTUAL" not in text
    for shown in ("EV NET Ltd.", "Example Town", "CH61500-001234", "due 2027-06-30",
                  "Quality inspector", "PASSED"):
        assert shown in text, shown
    with browser(*A4_PX) as driver:
        shot = screenshot(driver, page, "certificate-real-bench")
    assert shot["scroll_width"] <= A4_PX[0]
