"""Metering at the end of the line, as production lines verify it: the charger's
instantaneous voltage and current against the AC load's at a few load points, and a
short plausibility check of its energy register — not a window long enough for the
register's resolution to prove the meter's class (that is the type test's job, and
took 196 spec seconds a unit).

A load point is read from sampled MeterValues at OCPP's shortest interval (whole
seconds, so 1 s): every family sends them (the EV PLUS has no TriggerMessage, 003
§8.1.4), and a sample says when it was taken. OCPP 1.6 defines Voltage and
Current.Import as instantaneous values; a meter's RMS value spans a few mains cycles
(IEC 61000-4-30 aggregates 10 cycles), so the first sample stamped RMS_CYCLES after
the load settled reads the new point alone. Waiting for it is the charger's delay (it
reports no faster); the rest of the step is the bench's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from evrig.testcases.eol.steps import ZERO_A
from evrig.testcases.protection.checks import REACT_S

# MeterValueSampleInterval during the step: integer seconds in OCPP 1.6, 1 the shortest.
SAMPLE_INTERVAL_S = 1
# Mains cycles an RMS reading spans (IEC 61000-4-30's 10-cycle aggregation at 50 Hz):
# a sample stamped this long after the load settled holds nothing of the old point.
RMS_CYCLES = 10
# The energy the register check needs, in counts of the register: with one count of
# quantisation allowed, 5 counts let it catch an error above the class plus 20 % (a
# dead register, a wrong CT ratio, a phase not counted, Wh for kWh), as a plausibility
# check; proving the class from the register would take 1 / class counts (100 Wh).
PLAUSIBLE_COUNTS = 5


def load_points(spec: Any) -> list[float]:
    """The load points in amperes: the minimum current, a middle one (whole amperes)
    and the rated one (profile ratings)."""
    low = float(spec.ratings["min_current_a"].value)
    high = float(spec.ratings["max_current_a"].value)
    return sorted({low, float(round((low + high) / 2)), high})


def register_count_wh(spec: Any) -> float:
    """One count of the energy register as the backend gets it: the profile's
    resolution, at least 1 Wh (meterStart/meterStop are integer Wh, OCPP 1.6)."""
    return max(1.0, float(spec.ratings["meter_energy_resolution_wh"].value))


def register_limits(spec: Any, reference_wh: float) -> tuple[float, float]:
    """The register's advance allowed for ``reference_wh`` through the load: the
    meter's class of the reference, plus one count. meterStop − meterStart is a
    difference of two readings each cut to a whole count, so it is off by up to one
    count (just under) from what the meter counted, whatever the meter's class."""
    accuracy = float(spec.ratings["meter_accuracy_pct"].value) / 100
    tolerance = accuracy * reference_wh + register_count_wh(spec)
    return reference_wh - tolerance, reference_wh + tolerance


@dataclass
class LoadEnergy:
    """The energy through the AC load from the contactor's close: its power readings,
    trapezoids between them; a load step is vertical at the time it was set."""

    t_live: float  # spec time the outlet went live
    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, t: float, power_w: float) -> None:
        self.points.append((t, power_w))

    def wh(self, t_end: float) -> float:
        """Energy from ``t_live`` to ``t_end`` (the outlet dead again), in Wh: the
        first reading's power back to ``t_live``, the last one's on to ``t_end``."""
        if not self.points:
            return 0.0
        pts = [(self.t_live, self.points[0][1]), *self.points, (t_end, self.points[-1][1])]
        joules = sum((p0 + p1) / 2 * (t1 - t0)
                     for (t0, p0), (t1, p1) in zip(pts, pts[1:], strict=False))
        return joules / 3600


def _stamp(payload: dict[str, Any]) -> datetime | None:
    for value in payload.get("meterValue", []):
        try:
            return datetime.fromisoformat(str(value["timestamp"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return None
    return None


def read_load(ac_load: Any, clock: Any, energy: LoadEnergy) -> Any:
    """The load's reading now, added to the energy trace."""
    reading = ac_load.measure()
    energy.add(clock.now(), reading.power)
    return reading


def load_point(csms: Any, clock: Any, spec: Any, ac_load: Any, eol: Any, energy: LoadEnergy,
               tx: int, amps: float) -> tuple[dict[str, Any], Any]:
    """Set the load to ``amps`` (unless it draws that already) and read the point: the
    charger's first MeterValues sample of ``tx`` stamped RMS_CYCLES after the load
    settled, and the load's reading right after it arrived."""
    if abs(ac_load.measure().current - amps) >= ZERO_A:
        read_load(ac_load, clock, energy)  # the old point's power, up to the step
        t_set = clock.now()
        ac_load.set_current(amps)
        settled = clock.wait_until(lambda: abs(ac_load.measure().current - amps) < ZERO_A,
                                   REACT_S)
        assert settled, f"the load does not draw {amps:g} A: {ac_load.measure()}"
        energy.add(t_set, ac_load.measure().power)  # the step, vertical at t_set
    read_load(ac_load, clock, energy)
    rms_s = RMS_CYCLES / float(spec.ratings["frequency_hz"].value)
    after = clock.utcnow() + timedelta(seconds=rms_s)
    # Also sent after the load settled: a charger clock running ahead of the bench's
    # (a currentTime it has not taken yet) must not pass off an old sample as new.
    mark = csms.mark()

    def at_the_point(payload: dict[str, Any]) -> bool:
        stamp = _stamp(payload)
        return stamp is not None and stamp >= after

    with eol.charger_wait("meter sample", f"{amps:g} A: the next MeterValues (every "
                          f"{SAMPLE_INTERVAL_S} s) stamped {rms_s:g} s after the load settled"):
        values = csms.wait_for("MeterValues", since=mark, connectorId=1, transactionId=tx,
                               predicate=at_the_point,
                               timeout=2 * SAMPLE_INTERVAL_S + REACT_S)
    return values.payload, read_load(ac_load, clock, energy)
