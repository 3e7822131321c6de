"""What a run writes beside its record: ``trace.json`` (the events, to draw again),
``trace.svg`` and ``trace.pdf`` (rig/trace_output.py), ``certificate.html`` and
``certificate.pdf`` (rig/certificate.py, printed by rig/pdf.py).

None of it may cost the unit its record: a picture or a PDF that cannot be made is a
note in the record (and the files it names are the ones written), never an error of
the run. An interrupted run (Ctrl-C, SIGTERM: outcome ``aborted``) must end promptly,
so it writes ``trace.json`` and the HTML certificate only; the pictures and PDFs are
drawn later from the run's folder::

    python -m evrig.rig.eol_documents reports/units/SN-1/<run-id> --rig rigs/sim.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evrig.rig import cert_context, certificate, pdf
from evrig.rig.config import RigConfig
from evrig.rig.records import UnitRecord, write_atomic
from evrig.rig.trace import Trace


class StepList:
    """Pytest plugin (name ``rig-eol-steps``): the steps the run collected, in run order,
    named as the EOL collector names them (fixtures/eol_collection.py ``_gather``), so
    the certificate lists those a failed or aborted unit never reached."""

    name = "rig-eol-steps"

    def __init__(self, full_names: bool) -> None:
        self.full_names = full_names
        self.names: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.names = [item.nodeid.removeprefix("testcases/") if self.full_names
                      else item.name.removeprefix("test_") for item in session.items]


def _note(record: UnitRecord, what: str, exc: BaseException | str) -> None:
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    record.notes.append(f"{what} not written: {str(text).splitlines()[0][:200]}")


def write(record: UnitRecord, folder: Path, trace: Trace, config: RigConfig,
          collected: list[str], testcases: Path | None, draw: bool | None = None) -> None:
    """Every file of the run but the record and junit.xml; sets ``record.files``.
    ``draw``: the trace's pictures and the PDFs too (default: unless interrupted)."""
    files = {"junit": "junit.xml"}
    title = f"{record.kind.upper()} {record.serial} · run {record.run_id}"
    try:
        write_atomic(folder / "trace.json", trace.to_json())
        files["trace_events"] = "trace.json"
    except Exception as exc:  # whatever it is, the record comes first
        _note(record, "trace.json", exc)
    pages: list[str] = []
    later = record.outcome == "aborted" if draw is None else not draw  # seconds of
    # drawing would delay the stop the operator asked for
    if later:
        record.notes.append("trace.svg/.pdf and certificate.pdf not drawn: the run was "
                            "interrupted (python -m evrig.rig.eol_documents FOLDER --rig "
                            "FILE draws them)")
    try:
        if later:
            raise _Later
        from evrig.rig import trace_output

        pages = trace_output.render(trace, title, folder / "trace.svg", folder / "trace.pdf",
                                    outcomes={s.name: s.outcome for s in record.steps})
        files.update(trace="trace.svg", trace_pdf="trace.pdf")
    except _Later:
        pass
    except Exception as exc:
        _note(record, "trace.svg/trace.pdf", exc)
    context: Any = None
    try:
        context = cert_context.build(config, record, collected, testcases)
        context.trace_pages = pages
    except Exception as exc:
        _note(record, "certificate context (product, instruments, expected steps)", exc)
    # The PDF's absence is known only after printing: the HTML cannot carry that note.
    record.files = files
    try:
        certificate.write(record, folder, None, context)
        files["certificate"] = "certificate.html"
    except Exception as exc:
        _note(record, "certificate.html", exc)
        return
    if later:
        return
    try:
        reason = pdf.html_to_pdf(folder / "certificate.html", folder / "certificate.pdf")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    if reason is None:
        files["certificate_pdf"] = "certificate.pdf"
    else:
        _note(record, "certificate.pdf", reason)


class _Later(Exception):
    """The trace is drawn later (an interrupted run)."""


def main(argv: list[str] | None = None) -> int:
    """Draw a run's trace and print its certificate again from its folder (its
    record.json and trace.json), e.g. after an interrupted run; the record is kept."""
    import argparse

    from evrig.rig.config import load_rig
    from evrig.rig.records import read_record

    parser = argparse.ArgumentParser(prog="python -m evrig.rig.eol_documents")
    parser.add_argument("folder", type=Path, help="reports/units/<serial>/<run-id>")
    parser.add_argument("--rig", required=True, help="the rig file the run used")
    args = parser.parse_args(argv)
    record = read_record(args.folder)
    record.notes = [n for n in record.notes if "not drawn" not in n and "not written" not in n]
    kept = len(record.notes)
    trace = Trace.from_json((args.folder / "trace.json").read_text(encoding="utf-8"))
    # No collection here: the expected steps come from the reference run (cert_context).
    write(record, args.folder, trace, load_rig(args.rig), [], None, draw=True)
    for line in [*record.notes[kept:], *(str(args.folder / f) for f in record.files.values())]:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
