"""The production report's figures computed again from the raw rows of a SQLite store,
with the standard library only (sqlite3, json, statistics) and none of rig/report_*:
what the tests compare ``rig report`` with."""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expected:
    units: int
    runs: int
    yield_: float
    first_pass_yield: float
    retests: int


def rows(db_file: str, where: str = "", params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(db_file) as con:
        con.row_factory = sqlite3.Row
        return con.execute(f"SELECT * FROM units WHERE kind = 'eol' {where} "
                           "ORDER BY start, run_id", params).fetchall()


def yields(raw: list[sqlite3.Row]) -> Expected:
    history: dict[str, list[str]] = defaultdict(list)
    for row in raw:  # in time order
        history[row["serial"]].append(row["outcome"])
    units = len(history)
    return Expected(units=units, runs=len(raw),
                    yield_=sum(h[-1] == "passed" for h in history.values()) / units,
                    first_pass_yield=sum(h[0] == "passed" for h in history.values()) / units,
                    retests=len(raw) - units)


def values(raw: list[sqlite3.Row], profile: str, name: str) -> tuple[list[float], Any, Any]:
    """The values of one measurement in time order, and its limits."""
    out, low, high = [], None, None
    for row in raw:
        if row["profile"] != profile:
            continue
        for m in json.loads(row["record_json"])["measurements"]:
            if m["name"] == name:
                out.append(float(m["value"]))
                low, high = m["low"], m["high"]
    return out, low, high


def cpk_ppk(xs: list[float], low: float | None, high: float | None) -> tuple[float, float]:
    """AIAG: Cpk over σ within = mean moving range / 1.128; Ppk over the sample σ."""
    mean = statistics.fmean(xs)
    within = statistics.fmean(abs(b - a) for a, b in zip(xs, xs[1:], strict=False)) / 1.128
    overall = statistics.stdev(xs)
    sides = [d for d in (None if high is None else high - mean,
                         None if low is None else mean - low) if d is not None]
    return min(sides) / (3 * within), min(sides) / (3 * overall)
