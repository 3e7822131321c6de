"""A results store of generated production, for the tests of ``rig report`` and
benchmarks/report_bench.py: units of two profiles on four stations over 30 days, with
realistic distributions, retests and failures.

Each unit has its own true value of every measurement (part-to-part spread); each run
measures it with some repeatability noise, so a retest of a unit near a limit may pass
and a retest of a defective unit fails again. What the production looks like:

- normal measurements (CP levels, PWM duty, PP current, meter errors) centred with a
  Cpk between ~0.9 and ~2; station eol-3's PWM generator reads +5 Hz (a worse Cpk
  there); the meter's energy error is the weak one (~0.5 % of runs fail it);
- times (contactor, trips, boot, LED) skewed, an offset plus a log-normal tail, with an
  upper limit only;
- exact-value checks (RTM codes, tamper codes, lock yes/no): a rare defect fails them
  on every run of that unit;
- 0.5 % of runs aborted by the operator part-way, 0.3 % end in an error before any
  measurement; a unit that did not pass is retested (90 %) up to three runs in all;
- firmware 1.5.6.000210 for the first 12 days, then 1.5.7.000014.

Records are built as the dict ``UnitRecord.to_dict()`` gives and stored as rows of the
store's ``units`` table in one transaction (:func:`row` makes the row a station makes:
a test compares it with rig/store_sql.py's own): building UnitRecord objects and adding
them one transaction each would take a minute for 10,000 units.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from evrig.rig.store_sql import open_store, units, write_transaction

# name, unit, low, high, kind, a, b, step. Kinds: n = normal(mean a, sd b); t = a +
# log-normal(median b, shape 0.35); x = exact value (low), a defect rate a giving b;
# c = a count around a, rarely b.
EVNET_7KW: list[tuple[str, str | None, float | None, float | None, str, float, float, str]] = [
    ("led_powerup_s", "s", None, 4.0, "t", 0.8, 0.3, "power_up_and_boot"),
    ("powerup_beep", None, 1, 1, "x", 0.0004, 0, "power_up_and_boot"),
    ("boot_notification_s", "s", None, 60.0, "t", 1.5, 4.0, "power_up_and_boot"),
    ("rtm_code", None, 0, 0, "x", 0.0008, 16, "identity_and_rtm"),
    ("cp_a_high_v", "V", 11.0, 13.0, "n", 12.02, 0.12, "cp_walk_and_pwm"),
    ("cp_b_high_v", "V", 8.0, 10.0, "n", 8.97, 0.15, "cp_walk_and_pwm"),
    ("cp_low_v", "V", -13.0, -11.0, "n", -12.0, 0.12, "cp_walk_and_pwm"),
    ("pwm_freq_hz", "Hz", 980.0, 1020.0, "n", 1000.0, 3.2, "cp_walk_and_pwm"),
    ("pwm_duty_32a_pct", "%", 52.833333333333336, 53.833333333333336, "n", 53.3, 0.11,
     "cp_walk_and_pwm"),
    ("pwm_duty_16a_pct", "%", 26.166666666666668, 27.166666666666668, "n", 26.68, 0.1,
     "cp_walk_and_pwm"),
    ("pwm_duty_10a_pct", "%", 16.166666666666668, 17.166666666666668, "n", 16.66, 0.1,
     "cp_walk_and_pwm"),
    ("pwm_duty_6a_pct", "%", 9.5, 10.5, "n", 10.02, 0.1, "cp_walk_and_pwm"),
    ("cp_c_high_v", "V", 5.0, 7.0, "n", 5.99, 0.13, "cp_walk_and_pwm"),
    ("pp_1500ohm_offered_a", "A", 12.7, 13.3, "n", 13.02, 0.07, "pp_rating"),
    ("pp_680ohm_offered_a", "A", 19.7, 20.3, "n", 19.98, 0.07, "pp_rating"),
    ("pp_220ohm_offered_a", "A", 31.7, 32.3, "n", 32.0, 0.06, "pp_rating"),
    ("pp_100ohm_offered_a", "A", 31.7, 32.3, "n", 32.01, 0.06, "pp_rating"),
    ("contactor_close_s", "s", None, 3.0, "t", 0.6, 0.35, "transaction_metering"),
    ("meter_voltage_error_pct", "%", -1.0, 1.0, "n", 0.05, 0.17, "transaction_metering"),
    ("meter_current_error_pct", "%", -1.0, 1.0, "n", -0.1, 0.2, "transaction_metering"),
    ("contactor_open_s", "s", None, 0.1, "t", 0.012, 0.02, "transaction_metering"),
    ("meter_energy_error_pct", "%", -1.0, 1.0, "n", 0.2, 0.3, "transaction_metering"),
    ("meter_values_in_tx", "messages", 1, None, "c", 4, 0, "transaction_metering"),
    ("lock_engaged", None, 1, 1, "x", 0.0015, 0, "lock_actuator"),
    ("lock_released", None, 1, 1, "x", 0.0008, 0, "lock_actuator"),
    ("tamper_panel_rtm_code", None, 2097152, 2097152, "x", 0.001, 0, "tamper_sensors"),
    ("tamper_cover_rtm_code", None, 1048576, 1048576, "x", 0.0012, 0, "tamper_sensors"),
    ("rcd_ac_trip_s", "s", None, 0.3, "t", 0.015, 0.025, "rcd_trip[ac]"),
    ("rcd_ac_rtm_code", None, 1, 1, "x", 0.0004, 0, "rcd_trip[ac]"),
    ("rcd_dc_trip_s", "s", None, 10.0, "t", 0.5, 1.6, "rcd_trip[dc]"),
    ("rcd_dc_rtm_code", None, 8, 8, "x", 0.0004, 0, "rcd_trip[dc]"),
    ("overvoltage_trip_s", "s", None, 3.0, "t", 0.1, 0.45, "voltage_trip_and_recovery"),
    ("overvoltage_recovery_s", "s", None, 3.0, "t", 0.5, 0.6, "voltage_trip_and_recovery"),
    ("undervoltage_trip_s", "s", None, 3.0, "t", 0.1, 0.5, "voltage_trip_and_recovery"),
    ("undervoltage_recovery_s", "s", None, 3.0, "t", 0.5, 0.6, "voltage_trip_and_recovery"),
    ("led_available_s", "s", None, 4.0, "t", 0.6, 0.5, "led_colours"),
    ("led_charging_s", "s", None, 4.0, "t", 0.6, 0.5, "led_colours"),
    ("led_faulted_s", "s", None, 4.0, "t", 0.6, 0.55, "led_colours"),
]
# The 3-phase compact: no PP check (tethered), a meter error per phase.
EVNET_COMPACT = [s for s in EVNET_7KW if not s[0].startswith("pp_")] + [
    ("meter_l2_voltage_error_pct", "%", -1.0, 1.0, "n", -0.05, 0.16, "transaction_metering"),
    ("meter_l3_voltage_error_pct", "%", -1.0, 1.0, "n", 0.0, 0.16, "transaction_metering"),
]
PROFILES = {"evnet-7kw": ("S", "EN7", EVNET_7KW),
            "evnet-compact": ("3SLC-3PH", "ENC", EVNET_COMPACT)}
STATIONS = ("eol-1", "eol-2", "eol-3", "eol-4")
FIRMWARE = ("1.5.6.000210", "1.5.7.000014")
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _run_id(t: datetime, n: int) -> str:
    return f"{t:%Y%m%dT%H%M%S.%f}Z-{1000 + n % 7}-{n:08x}"


def _true_values(spec: list[Any], rng: np.random.Generator) -> list[Any]:
    """A unit's own value of each measurement (before a run's noise)."""
    out: list[Any] = []
    for _name, _unit, low, _high, kind, a, b, _step in spec:
        if kind == "n":
            out.append(a + rng.normal(0, b * 0.9))
        elif kind == "t":
            out.append(a + b * math.exp(rng.normal(0, 0.3)))
        elif kind == "x":
            out.append(b if rng.random() < a else low)
        else:
            out.append(a)
    return out


def _measure(spec: list[Any], truth: list[Any], station: str, run_t: float,
             rng: np.random.Generator, stop: int | None) -> list[dict[str, Any]]:
    ms = []
    for i, ((name, unit, low, high, kind, _a, b, step), true) in enumerate(
            zip(spec, truth, strict=True)):
        if stop is not None and i >= stop:
            break
        if kind == "n":
            value = true + rng.normal(0, b * 0.44) + (5.0 if name == "pwm_freq_hz"
                                                      and station == "eol-3" else 0.0)
            value = round(value, 4)
        elif kind == "t":
            value = round(true * math.exp(rng.normal(0, 0.15)), 4)
        elif kind == "x":
            value = true
        else:
            value = int(true + rng.choice((-1, 0, 0, 0, 0, 1))) if rng.random() > 0.001 else 0
        bad = (low is not None and value < low) or (high is not None and value > high)
        ms.append({"name": name, "value": value, "unit": unit, "low": low, "high": high,
                   "outcome": "FAIL" if bad else "PASS", "step": step, "t": run_t + i})
    return ms


def _record(serial: str, profile: str, station: str, start: datetime, n: int,
            truth: list[Any], rng: np.random.Generator) -> dict[str, Any]:
    variant, _, spec = PROFILES[profile]
    roll = rng.random()
    error, aborted = roll < 0.003, 0.003 <= roll < 0.008
    stop = 0 if error else int(rng.integers(3, len(spec))) if aborted else None
    ms = _measure(spec, truth, station, 0.0, rng, stop)
    order = list(dict.fromkeys(s[7] for s in spec))
    reached = list(dict.fromkeys(m["step"] for m in ms))
    steps = [{"name": step, "outcome": "failed" if any(m["outcome"] == "FAIL" for m in ms
                                                      if m["step"] == step) else "passed",
              "duration_s": 20.0, "message": ""} for step in reached]
    if error:
        steps = [{"name": order[0], "outcome": "error", "duration_s": 5.0,
                  "message": "charger did not answer on the CP line"}]
    elif aborted:
        steps[-1]["outcome"] = "aborted"
    failed = any(m["outcome"] == "FAIL" for m in ms)
    outcome = ("error" if error else "aborted" if aborted else
               "failed" if failed else "passed")
    end = start + timedelta(seconds=20.0 * len(steps) + 30)
    firmware = FIRMWARE[0] if start < DAY0 + timedelta(days=12) else FIRMWARE[1]
    return {"serial": serial, "station": station, "operator": f"op{n % 9}",
            "rig_file": f"rigs/{station}.yaml", "profile": profile, "variant": variant,
            "kind": "eol", "run_id": _run_id(start, n), "firmware": firmware,
            "charger_serial": serial, "start": _iso(start), "end": _iso(end),
            "outcome": outcome, "measurements": ms, "steps": steps, "delays": [],
            "prompts": [], "findings": [], "notes": [], "spec_time_s": 20.0 * len(steps),
            "message": "" if outcome == "passed" else f"{outcome}", "files": {}, "schema": 1}


def generate(n_units: int, seed: int = 1) -> list[dict[str, Any]]:
    """The records of ``n_units`` units (with their retests), in time order."""
    rng = np.random.default_rng(seed)
    span = DAYS * 16 * 3600  # two shifts a day, 06:00 to 22:00 UTC
    records, counter = [], 0
    for k in range(n_units):
        offset = (k + rng.random()) * span / n_units
        day, second = divmod(offset, 16 * 3600)
        start = DAY0 + timedelta(days=int(day), hours=6, seconds=second)
        profile = "evnet-7kw" if rng.random() < 0.7 else "evnet-compact"
        serial = f"{PROFILES[profile][1]}-{k:06d}"
        truth = _true_values(PROFILES[profile][2], rng)
        for _attempt in range(3):
            station = STATIONS[int(rng.integers(0, 3))] if profile == "evnet-7kw" else \
                STATIONS[2 + int(rng.integers(0, 2))]
            record = _record(serial, profile, station, start, counter, truth, rng)
            records.append(record)
            counter += 1
            if record["outcome"] == "passed" or rng.random() > 0.9:
                break
            start += timedelta(minutes=float(rng.uniform(10, 90)))
    records.sort(key=lambda r: (r["start"], r["run_id"]))
    return records


def record_path(record: dict[str, Any]) -> str:
    return f"reports/units/{record['serial']}/{record['run_id']}/record.json"


def row(record: dict[str, Any], path: str) -> dict[str, Any]:
    """The store row of ``record`` (a ``UnitRecord.to_dict()``), as
    rig/store_sql.py's ``_values`` makes it for a station's add."""
    ms = record["measurements"]
    return {"run_id": record["run_id"], "kind": record["kind"], "serial": record["serial"],
            "station": record["station"], "operator": record["operator"],
            "firmware": record["firmware"], "profile": record["profile"],
            "variant": record["variant"], "rig_file": record["rig_file"],
            "start": record["start"], "end_": record["end"], "outcome": record["outcome"],
            "n_measurements": len(ms), "n_failed": sum(m["outcome"] == "FAIL" for m in ms),
            "spec_time_s": record["spec_time_s"], "record_path": path,
            "record_json": json.dumps(record), "stored_at": record["end"]}


def write_store(url: str, records: list[dict[str, Any]]) -> None:
    """``records`` into the store at ``url`` (made at this station's schema)."""
    store = open_store(url)
    try:
        with write_transaction(store.engine) as conn:
            conn.execute(units.insert(), [row(r, record_path(r)) for r in records])
    finally:
        store.close()


def make_store(folder: Path, n_units: int, seed: int = 1) -> tuple[str, list[dict[str, Any]]]:
    """A SQLite store of ``n_units`` generated units in ``folder``: (URL, records)."""
    records = generate(n_units, seed)
    url = f"sqlite:///{folder}/results.sqlite"
    write_store(url, records)
    return url, records
