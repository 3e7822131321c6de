"""The station's look back: the last units and the shift's yield, read from the results
store ``rig run eol`` writes (``reports.database`` of the rig file, rig/store_sql.py),
rows of this station's EOL runs only (``station`` of the rig file, kind ``eol``).

**Shift.** A production line works in shifts that start at fixed times of the day
(``rig station --shift-start``, local time, default 06:00, 14:00 and 22:00: three
eight-hour shifts). The shift shown is the one running now: from the latest start at
or before now (yesterday's last one just after midnight). Not "since the station
started": a station restarted mid-shift must not reset the shift's yield.

**Yield** (as ``rig report``, rig/report.py): of the units tested in the shift, the
share whose last run in the shift passed. A unit is counted once however often it
was retested; a run that was aborted or ended in error says nothing about the unit
(the bench or the operator stopped it), so a unit with only such runs is not counted,
and those runs show in the last units only. First-pass yield beside it: units whose
first finished run in the shift passed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evrig.rig.errors import RigError

DEFAULT_SHIFTS = ("06:00", "14:00", "22:00")
LAST_UNITS = 8  # the rows of "last units": what fits beside the steps at 1280x800
FINISHED = ("passed", "failed")


def parse_shifts(text: str) -> list[time]:
    """``06:00,14:00,22:00`` → the start times, sorted; a wrong one is a one-line error."""
    starts = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            starts.append(datetime.strptime(part, "%H:%M").time())
        except ValueError:
            raise RigError(f"--shift-start {part}: a time of day as HH:MM (e.g. "
                           "06:00,14:00,22:00)") from None
    if not starts:
        raise RigError("--shift-start: at least one HH:MM")
    return sorted(set(starts))


def shift_start(starts: list[time], now: datetime) -> datetime:
    """The start of the shift running at ``now`` (an aware local time): the latest
    start at or before it, today or yesterday."""
    candidates = [datetime.combine(now.date() - timedelta(days=d), t, tzinfo=now.tzinfo)
                  for d in (0, 1) for t in starts]
    return max(c for c in candidates if c <= now)


def iso_utc(moment: datetime) -> str:
    """As records.utc_now writes ``start``: the store's rows compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Shift:
    start: str  # ISO UTC
    label: str  # "since 14:00" (local)
    units: int = 0
    passed: int = 0
    first_pass: int = 0
    runs: int = 0

    @property
    def yield_pct(self) -> float | None:
        return 100.0 * self.passed / self.units if self.units else None

    @property
    def first_pass_pct(self) -> float | None:
        return 100.0 * self.first_pass / self.units if self.units else None


@dataclass
class History:
    shift: Shift
    last: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""  # the store could not be read: why (no password in it)

    def as_dict(self) -> dict[str, Any]:
        shift = asdict(self.shift)
        shift.update(yield_pct=self.shift.yield_pct, first_pass_pct=self.shift.first_pass_pct)
        return {"shift": shift, "last": self.last, "problem": self.problem}


def summarise(rows: list[dict[str, Any]], shift: Shift) -> Shift:
    """Fill ``shift`` from this station's rows since its start, oldest first."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for row in rows:
        shift.runs += 1
        outcome = str(row["outcome"])
        if outcome in FINISHED:
            first.setdefault(str(row["serial"]), outcome)
            last[str(row["serial"])] = outcome
    shift.units = len(last)
    shift.passed = sum(1 for o in last.values() if o == "passed")
    shift.first_pass = sum(1 for o in first.values() if o == "passed")
    return shift


def read(database: str, station: str, starts: list[time], base: str | Path = ".",
         now: datetime | None = None) -> History:
    """This station's shift and last units; a store that cannot be read gives an
    empty history saying why (the station serves units all the same)."""
    moment = now or datetime.now().astimezone()
    begin = shift_start(starts, moment)
    shift = Shift(start=iso_utc(begin), label=f"since {begin:%H:%M}")
    try:
        from evrig.rig.store_sql import open_store, units

        store = open_store(database, base)
    except RigError as exc:
        return History(shift, problem=str(exc))
    try:
        mine = sa.and_(units.c.station == station, units.c.kind == "eol")
        cols = (units.c.run_id, units.c.serial, units.c.outcome, units.c.start,
                units.c.n_failed, units.c.record_path)
        with store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(*cols).where(mine, units.c.start >= shift.start)
                .order_by(units.c.start, units.c.run_id))]
            newest = [dict(r._mapping) for r in conn.execute(
                sa.select(*cols).where(mine)
                .order_by(units.c.start.desc(), units.c.run_id.desc()).limit(LAST_UNITS))]
    except sa.exc.SQLAlchemyError as exc:
        return History(shift, problem=f"results store {store.where}: "
                                      f"{type(exc).__name__}")
    finally:
        store.close()
    return History(summarise(rows, shift), [_last(r) for r in newest])


def _last(row: dict[str, Any]) -> dict[str, Any]:
    start = str(row["start"] or "")
    try:
        local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone()
        when = f"{local:%H:%M}"
    except ValueError:
        when = start[11:16]
    return {"serial": row["serial"], "outcome": row["outcome"], "time": when,
            "n_failed": row["n_failed"], "run_id": row["run_id"]}
