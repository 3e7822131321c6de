"""What a certificate says besides the unit record: the product (from the profile), the
company and instruments (from the rig file), the test procedure and its revision, and
the steps and measurements the sequence expects.

**Expected steps** are the test items this run collected (in run order), so a unit that
failed or was aborted at step 4 still lists steps 5..N as "not run". **Expected
measurements** of a step cannot be known before it runs (a step measures what its
profile has: four PP bands here, one there), so they come from the newest *passing*,
complete EOL record of the same profile and variant under the same reports folder —
preferably from the same station (:func:`reference_record`). Without one the
certificate still lists every unreached step, and says that its measurements are
unknown.

**Procedure and revision**: the id is ``EOL/<profile>/<variant>``; the revision names
the package version, the git commit of the testcases (``-modified`` when the work tree
has changes) and a fingerprint of the sequence's source files, which identifies the
sequence even where no git checkout exists (an installed wheel).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from evrig.rig.config import CompanyConfig, RigConfig
from evrig.rig.records import UnitRecord

REFERENCE_SCAN = 300  # newest records read at most while looking for a reference


@dataclass(frozen=True)
class InstrumentLine:
    role: str
    model: str
    address: str
    asset: str
    calibration: str
    overdue: bool = False


@dataclass
class CertificateContext:
    """Everything the certificate prints that the record does not hold."""

    virtual: bool = True
    company: CompanyConfig | None = None
    product: str = ""  # the profile's product name
    model: str = ""  # the variant's model code (what the unit reports at boot)
    vendor: str = ""
    procedure: str = ""
    revision: str = ""
    instruments: list[InstrumentLine] = field(default_factory=list)
    expected_steps: list[str] = field(default_factory=list)  # in run order
    reference: UnitRecord | None = None  # the passing run the measurements come from
    reference_note: str = ""
    trace_pages: list[str] = field(default_factory=list)  # SVG per A4-landscape page


def _calibration(inst: Any, virtual: bool) -> tuple[str, str, bool]:
    """asset, calibration text, overdue."""
    if virtual:
        return "—", "virtual (no calibration)", False
    asset = getattr(inst, "asset", None) or "not given"
    due: date | None = getattr(inst, "calibration_due", None)
    if due is None:
        return asset, "not given", False
    overdue = due < date.today()
    return asset, f"due {due.isoformat()}" + (" — OVERDUE" if overdue else ""), overdue


def instruments(config: RigConfig) -> list[InstrumentLine]:
    """The rig file's instruments, as a certificate lists them."""
    inst, virtual = config.instruments, config.virtual
    rows: list[tuple[str, Any, str, str]] = [
        ("EV emulator", inst.ev, "CP/PP resistor board" if inst.ev.backend == "rpi"
         else "virtual EV emulator", "GPIO (BCM)" if inst.ev.backend == "rpi" else "sim")]
    if inst.ac_source is not None:
        rows.append(("AC source", inst.ac_source, inst.ac_source.model, inst.ac_source.resource))
    if inst.ac_load is not None:
        rows.append(("AC load", inst.ac_load, inst.ac_load.model, inst.ac_load.resource))
    if inst.meter is not None:
        rows.append(("Meter emulator", inst.meter, f"{inst.meter.model} (Modbus RTU id "
                     f"{inst.meter.id})", inst.meter.port))
    if inst.led is not None:
        rows.append(("Light sensor", inst.led, "TCS34725 colour sensor",
                     f"I2C {inst.led.bus} @ 0x{inst.led.address:02X}"))
    if inst.camera is not None:
        rows.append(("Front-panel camera", inst.camera, f"camera ({inst.camera.trigger})",
                     str(inst.camera.address)))
    if inst.faults is not None:
        rows.append(("Fault-injection board", inst.faults, "relay board",
                     "GPIO (BCM)" if inst.faults.backend == "rpi" else "sim"))
    out = []
    for role, cfg, model, address in rows:
        asset, calibration, overdue = _calibration(cfg, virtual)
        out.append(InstrumentLine(role, model, address, asset, calibration, overdue))
    return out


def revision(testcases: Path | None) -> str:
    """Package version, git commit of the testcases, fingerprint of the sequence."""
    parts = []
    with contextlib.suppress(metadata.PackageNotFoundError):
        parts.append(f"ev-charger-rig {metadata.version('ev-charger-rig')}")
    if testcases is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(["git", "-C", str(testcases), "describe", "--always",
                                   "--dirty=-modified", "--abbrev=10"], capture_output=True,
                                  text=True, timeout=10, check=False)
            if done.returncode == 0 and done.stdout.strip():
                parts.append(f"git {done.stdout.strip()}")
        files = sorted((testcases / "eol").glob("*.py")) if (testcases / "eol").is_dir() \
            else []
        if files:
            digest = hashlib.sha256()
            for file in files:
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
            parts.append(f"sequence {digest.hexdigest()[:10]}")
    return " · ".join(parts) or "unknown"


def reference_record(reports_dir: Path, record: UnitRecord) -> UnitRecord | None:
    """The newest passing, complete EOL record of the record's profile and variant (not
    the record itself), from the same station if one of the newest
    :data:`REFERENCE_SCAN` records is, else from any station."""
    runs = sorted((reports_dir / "units").glob("*/*/record.json"),
                  key=lambda p: p.parent.name, reverse=True)
    fallback = None
    for path in runs[:REFERENCE_SCAN]:
        if path.parent.name == record.run_id:
            continue
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if (data.get("kind") != "eol" or data.get("outcome") != "passed"
                    or data.get("profile") != record.profile
                    or data.get("variant") != record.variant
                    or any(str(n).startswith("partial run") for n in data.get("notes", []))):
                continue
            found = UnitRecord.from_dict(data)
            if found.station == record.station:
                return found
            fallback = fallback or found
    return fallback


def build(config: RigConfig, record: UnitRecord, collected: list[str],
          testcases: Path | None) -> CertificateContext:
    """The context of ``record``'s certificate on the bench ``config`` describes."""
    from evrig.rig.profile import load_profile

    ctx = CertificateContext(virtual=config.virtual, company=config.company,
                             procedure=f"{record.kind.upper()}/{record.profile}/"
                                       f"{record.variant}",
                             revision=revision(testcases), instruments=instruments(config))
    with contextlib.suppress(Exception):  # the certificate is written whatever happened
        profile = load_profile(str(config.resolve(config.profile)) if config.profile.endswith(
            (".yaml", ".yml")) else config.profile)
        variant = profile.variants.get(record.variant)
        ctx.product = profile.name
        ctx.model = variant.charge_point_model if variant else profile.model
        ctx.vendor = variant.charge_point_vendor if variant else ""
    ctx.expected_steps = list(collected)
    if record.outcome != "passed" or len(record.steps) < len(collected):
        ctx.reference = reference_record(Path(config.reports.dir), record)
        if not collected and ctx.reference is not None:  # drawn again, after the run
            ctx.expected_steps = [s.name for s in ctx.reference.steps]
        ctx.reference_note = (
            f"measurements not reached are those of run {ctx.reference.run_id} (unit "
            f"{ctx.reference.serial}, the newest passing run of this product)"
            if ctx.reference else "no passing run of this product yet: the measurements "
            "of steps not reached are unknown")
    return ctx
