"""What ``rig report`` reads from the results store: the runs its filters select, each
with the measurements of its record, for the statistics of rig/report_stats.py.

The store (rig/store_sql.py) keeps a run's measurements in its row's ``record_json``
(the record.json it was written from), so a report over many runs reads and parses
those; the filters go into the SQL, so only the selected rows are read. Read through
the store's own table and engine, without the schema check of ``open_store``: a report
only reads, and must neither create a schema in an empty database nor refuse one that
a newer release upgraded (the columns read here are those of revision 0001).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evrig.rig.report_stats import Run, Series, SeriesKey
from evrig.rig.store_sql import SqlStore, engine_url, errors, units

# A run that did not pass without a failed measurement: its steps with these outcomes
# are its causes (rig/report_stats.py, Pareto).
STEP_FAILURES = ("failed", "error", "aborted")
NUMBERS = (int, float)  # by exact type: True and False are ints too


@dataclass(frozen=True)
class Filters:
    """Which runs a report covers: start dates in UTC, both ends included; each list
    any of its values (empty: all)."""

    since: date | None = None
    until: date | None = None
    stations: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    firmwares: tuple[str, ...] = ()

    def text(self) -> str:
        parts = []
        if self.since or self.until:
            parts.append(f"{self.since or '…'} to {self.until or '…'} (UTC)")
        for what, values in (("station", self.stations), ("profile", self.profiles),
                             ("firmware", self.firmwares)):
            if values:
                parts.append(f"{what} {', '.join(values)}")
        return "; ".join(parts) or "all runs"

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions. ``start`` is ISO 8601 UTC text, which sorts as time: a
        date string compares below every start of that day and above every earlier
        one, so the day after ``until`` bounds it."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.since:
            conditions.append(units.c.start >= self.since.isoformat())
        if self.until:
            conditions.append(units.c.start < (self.until + timedelta(days=1)).isoformat())
        for column, values in ((units.c.station, self.stations),
                               (units.c.profile, self.profiles),
                               (units.c.firmware, self.firmwares)):
            if values:
                conditions.append(column.in_(values))
        return conditions


@dataclass
class Selection:
    """The selected runs of every kind in time order, and the EOL runs' measurements."""

    where: str  # the database, its password redacted
    runs: list[Run] = field(default_factory=list)
    series: dict[SeriesKey, Series] = field(default_factory=dict)
    note: str = ""  # why there is nothing, when there is nothing

    @property
    def eol(self) -> list[Run]:
        return [run for run in self.runs if run.kind == "eol"]


COLUMNS = (units.c.run_id, units.c.serial, units.c.kind, units.c.station, units.c.profile,
           units.c.firmware, units.c.start, units.c.outcome, units.c.n_measurements,
           units.c.n_failed, units.c.record_path, units.c.record_json)


def select(database: str, filters: Filters, base: str | Path = ".") -> Selection:
    """The runs of ``database`` (``reports.database``) that ``filters`` select."""
    target = engine_url(database, base)
    if isinstance(target, sa.URL) and not Path(str(target.database)).exists():
        # SQLite would create the file: a report must not leave an empty database
        return Selection(database, note=f"no results database at {target.database}")
    store = SqlStore(database, base)
    try:
        selection = Selection(store.where)
        with errors(store.where), store.engine.connect() as conn:
            if not sa.inspect(conn).has_table(units.name):
                selection.note = f"{store.where} has no unit records yet"
                return selection
            query = (sa.select(*COLUMNS).where(*filters.where())
                     .order_by(units.c.start, units.c.run_id))
            seen: dict[tuple[Any, ...], Series] = {}
            for row in conn.execute(query):
                selection.runs.append(_run(row._mapping, selection.series, seen))
        if not selection.runs:
            selection.note = f"no runs in {store.where} match {filters.text()}"
        return selection
    finally:
        store.close()


def _run(row: Any, series: dict[SeriesKey, Series], seen: dict[tuple[Any, ...], Series]
         ) -> Run:
    """The row as a Run; an EOL run's measurements are added to ``series`` (the rows
    come in time order, so each series is too). The loop runs once per measured value
    (400,000 in 10,000 units), so it is written for speed: a series is found by the
    record's raw fields in ``seen`` (making a SeriesKey per value took a third of a
    big report's time) and its SeriesKey is made once, by :func:`_series`."""
    try:
        record: dict[str, Any] = json.loads(row["record_json"] or "{}")
    except ValueError:
        record = {}  # a row whose JSON is damaged still counts as a run
    eol = row["kind"] == "eol"
    profile = str(row["profile"] or "")
    failed: list[str] = []
    find = seen.get
    for m in record.get("measurements") or ():
        bad = m.get("outcome") == "FAIL"
        if bad and str(m.get("name")) not in failed:
            failed.append(str(m.get("name")))
        if not eol:
            continue
        raw = (profile, m.get("name"), m.get("unit"), m.get("low"), m.get("high"))
        entry = find(raw) or _series(series, seen, raw)
        entry.checked += 1
        entry.failed += bad
        value = m.get("value")
        # numbers only: True/False (a yes/no check) and text have no distribution
        if type(value) in NUMBERS and math.isfinite(value):
            entry.values.append(value)
    return Run(run_id=str(row["run_id"]), serial=str(row["serial"] or ""),
               start=str(row["start"] or ""), outcome=str(row["outcome"] or ""),
               kind=str(row["kind"] or ""), station=str(row["station"] or ""),
               profile=profile, firmware=str(row["firmware"] or ""),
               n_measurements=int(row["n_measurements"] or 0),
               n_failed=int(row["n_failed"] or 0), record_path=str(row["record_path"] or ""),
               causes=() if row["outcome"] == "passed" else _causes(record, failed,
                                                                    str(row["outcome"])))


def _series(series: dict[SeriesKey, Series], seen: dict[tuple[Any, ...], Series],
            raw: tuple[Any, ...]) -> Series:
    key = SeriesKey(raw[0], str(raw[1]), str(raw[2] or ""), _limit(raw[3]), _limit(raw[4]))
    entry = series.get(key)
    if entry is None:
        entry = series[key] = Series(key)
    seen[raw] = entry
    return entry


def _limit(value: Any) -> float | None:
    if type(value) in NUMBERS:  # not True/False, not text: then there is no limit
        return float(value)
    return None


def _causes(record: dict[str, Any], failed: list[str], outcome: str) -> tuple[str, ...]:
    if failed:
        return tuple(failed)
    steps = [f"step {s.get('name')} ({s.get('outcome')})" for s in record.get("steps") or ()
             if s.get("outcome") in STEP_FAILURES]
    return tuple(steps) or (f"run {outcome}",)
