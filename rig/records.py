"""Unit records (design §6): one typed record per EOL or regression run, OpenHTF's
TestRecord in our terms.

A record is written twice: as ``record.json`` in the run's own folder
(``reports/units/<serial>/<run-id>/``) — atomically, through a temporary file and
``os.replace``, so a record is either complete or absent even when the run is
killed while writing — and as a row of the results store, SQLite by default,
PostgreSQL by URL (``reports.database`` in the rig file) for a line with many
stations. The JSON file is the record of truth; the row makes runs searchable. A row
the database cannot take waits in a spool and is uploaded later (rig/spool.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from evrig.rig.errors import RigError

# The process's umask, read once at import (reading it means setting it, which is not
# safe while other threads create files): a file written atomically gets the mode an
# ordinary open() would give it (a temporary file is 0600: QA could not read the
# certificate on a share).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

OUTCOMES = ("passed", "failed", "aborted", "error")
VERDICTS = ("PASS", "MARGINAL", "FAIL")



def limits_text(low: float | None, high: float | None, unit: str | None) -> str:
    """``[low, high] unit``, ``>= low``, ``<= high`` or ``no limits``: how a limit reads
    in the terminal, the certificate and a failure message."""
    u = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"[{low:g}, {high:g}]{u}"
    if low is not None:
        return f">= {low:g}{u}"
    if high is not None:
        return f"<= {high:g}{u}"
    return "no limits"

@dataclass
class MeasurementRecord:
    """One measured value with its limits and verdict (fixtures.measurements)."""

    name: str
    value: Any
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    outcome: str = "PASS"  # PASS, MARGINAL or FAIL
    step: str = ""  # the testcase that measured it
    t: float | None = None  # spec seconds on the rig clock

    @property
    def has_limits(self) -> bool:
        return self.low is not None or self.high is not None

    def limits_text(self) -> str:
        return limits_text(self.low, self.high, self.unit)

    def value_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if isinstance(self.value, float):
            return f"{self.value:.4g}{unit}"
        return f"{self.value}{unit}"


@dataclass
class StepRecord:
    """One testcase of the run: its outcome, spec duration and, if failed, why."""

    name: str
    outcome: str  # passed, failed, skipped, error
    duration_s: float = 0.0  # spec seconds (setup + call + teardown)
    message: str = ""


@dataclass
class DelayRecord:
    """A wait the charger imposes (boot, contactor, trip …), in spec seconds."""

    name: str
    seconds: float
    why: str = ""


@dataclass
class UnitRecord:
    """Everything one run of one unit produced."""

    serial: str
    station: str
    operator: str
    rig_file: str
    profile: str
    variant: str = ""
    kind: str = "eol"  # eol or regression
    run_id: str = ""
    firmware: str | None = None
    charger_serial: str | None = None
    start: str = ""
    end: str | None = None
    outcome: str = "error"
    measurements: list[MeasurementRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    delays: list[DelayRecord] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    spec_time_s: float | None = None
    message: str = ""
    files: dict[str, str] = field(default_factory=dict)  # name -> path relative to the record

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = new_run_id()
        if not self.start:
            self.start = utc_now()

    # -- verdicts -------------------------------------------------------------------
    @property
    def failed_measurements(self) -> list[MeasurementRecord]:
        return [m for m in self.measurements if m.outcome == "FAIL"]

    @property
    def marginal_measurements(self) -> list[MeasurementRecord]:
        return [m for m in self.measurements if m.outcome == "MARGINAL"]

    @property
    def delay_sum_s(self) -> float:
        return sum(d.seconds for d in self.delays)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = 1
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitRecord:
        data = {k: v for k, v in data.items() if k != "schema"}
        data["measurements"] = [MeasurementRecord(**m) for m in data.get("measurements", [])]
        data["steps"] = [StepRecord(**s) for s in data.get("steps", [])]
        data["delays"] = [DelayRecord(**d) for d in data.get("delays", [])]
        return cls(**data)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    """Sortable by time and unique across parallel runs on one or many stations:
    UTC timestamp, process id, random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S.%f}Z-{os.getpid()}-{secrets.token_hex(4)}"


def safe_name(text: str) -> str:
    """A serial number as a folder name: no separators, no dot-only names."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text.strip()) or "_"
    return "_" + cleaned if set(cleaned) == {"."} else cleaned


def run_dir(reports_dir: str | Path, serial: str, run_id: str) -> Path:
    return Path(reports_dir) / "units" / safe_name(serial) / run_id


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new
    one, never a part: temporary file in the same folder, fsync, os.replace."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def write_record(record: UnitRecord, folder: str | Path) -> Path:
    """``record.json`` in ``folder``, atomically."""
    text = json.dumps(record.to_dict(), indent=2, default=str) + "\n"
    return write_atomic(Path(folder) / "record.json", text)


def read_record(path: str | Path) -> UnitRecord:
    file = Path(path)
    if file.is_dir():
        file = file / "record.json"
    try:
        return UnitRecord.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise RigError(f"{file}: no such record") from None
    except (ValueError, TypeError) as exc:
        raise RigError(f"{file}: not a unit record ({exc})") from None


# -- results store ---------------------------------------------------------------------
# rig/store_sql.py (the table, SQLite and PostgreSQL), rig/store_schema.py (its versions)
# and rig/spool.py (records a database could not take); imported when used, so reading
# and writing records.json needs no SQLAlchemy.


class Store(Protocol):
    def add(self, record: UnitRecord, record_path: str) -> None: ...
    def runs(self, serial: str | None = None) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


def open_store(url: str, base: str | Path = ".") -> Store:
    """``sqlite:///relative/path`` (from ``base``), ``sqlite:////absolute/path`` or
    ``postgresql://...``, its schema checked against this station's
    (rig/store_schema.py)."""
    from evrig.rig.store_sql import open_store as open_sql

    return open_sql(url, base)


def save(record: UnitRecord, folder: str | Path, database: str | None,
         base: str | Path = ".", spool: str | Path | None = None) -> Path:
    """The JSON record first (it must survive a broken database), then the row; if
    the database cannot take it, the record waits in the spool (``<reports>/spool``
    beside the run's ``units``/``regression`` folder, or ``spool``): rig/spool.py."""
    path = write_record(record, folder)
    if database:
        from evrig.rig.spool import deliver

        deliver(record, path, database, base, spool)
    return path


def measurements_from(items: Iterable[tuple[str, Iterable[Any]]]) -> list[MeasurementRecord]:
    """MeasurementRecords from (step name, fixtures.measurements.Measurement list)."""
    out = []
    for step, measured in items:
        for m in measured:
            out.append(MeasurementRecord(name=m.name, value=m.value, unit=m.unit, low=m.low,
                                         high=m.high, outcome=m.verdict, step=step, t=m.t))
    return out
