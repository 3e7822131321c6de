"""FuseLimit (001 VendorID1 5): the installation's circuit breaker derates the charger
(000 §2.1.3.1 Table 1; profile ``fuse_derating``, whose note says which setting
produces it). Every row: the configured breaker rating → the row's current, on the
console and on CP during a session, with the reason FuseLimit; a rating between rows
takes the next lower row; a CT clamp makes the rating a household limit instead."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import start_charging
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import assert_pwm, device_limit_amps, wait_cp, wait_offered


def _set_fuse(csms, spec, amps: float) -> None:
    key = spec.key(spec.fuse_derating.key)
    value = int(round(amps * (10 if key.unit == "0.1 A" else 1)))
    result = csms.call(call.ChangeConfiguration(key=key.name, value=str(value)))
    assert result.status == "Accepted", result


FUSE = pytest.mark.applies(tables=("fuse_derating",))  # no table: no FuseLimit, no test


@FUSE
def test_fuse_row(csms, ev, charger, clock, spec, fuse_row):
    rated = float(spec.ratings["max_current_a"].value)
    unlimited = min(device_limit_amps(spec), rated)
    start_charging(csms, ev, charger)  # a 32 A cable: the device limit is the cap
    wait_offered(clock, charger, unlimited)
    _set_fuse(csms, spec, fuse_row.circuit_a)
    expected = min(fuse_row.limit_a, unlimited)
    status = wait_offered(clock, charger, expected)
    if fuse_row.limit_a < unlimited:
        assert status["limit"] == spec.limit_reason("FuseLimit").name, status
    reading = wait_cp(clock, ev, lambda r: abs(r.duty_pct - iec.duty_for_amps(expected))
                      <= iec.DUTY_TOLERANCE_PCT, f"duty for {expected} A")
    assert_pwm(reading, expected)
    # Between this row and the next: still this row's current (the next lower row).
    rows = spec.fuse_derating.rows
    above = [r for r in rows if r.circuit_a > fuse_row.circuit_a]
    if above:
        _set_fuse(csms, spec, (fuse_row.circuit_a + above[0].circuit_a) / 2)
        wait_offered(clock, charger, expected)


@FUSE
def test_a_ct_clamp_turns_the_fuse_into_a_household_limit(csms, charger, clock, spec):
    """With c_CTClamp true the rating is ExtTransformerCurrentLimit's household limit,
    not a FuseLimit on the charger's own current (profile fuse_derating note)."""
    table = spec.fuse_derating
    if table is None:
        pytest.skip(f"{spec.model} has no FuseLimit table")
    small = table.rows[0]
    _set_fuse(csms, spec, small.circuit_a)
    status = wait_offered(clock, charger, small.limit_a)
    assert status["limit"] == spec.limit_reason("FuseLimit").name
    assert csms.call(call.ChangeConfiguration(key="c_CTClamp", value="true")).status \
        in ("Accepted", "RebootRequired")
    assert clock.wait_until(lambda: charger.status()["limit"] != "FuseLimit", 10, poll=0.25), \
        charger.status()
