"""Household load management with the CT clamp (001 VendorID1 3 ExtTransformerCurrentLimit,
App. II c_CTClamp / c_MainFuseLimit; 000 §2.4, §2.5.1 Main Fuse Configuration).

The CT clamp measures the whole house upstream of the main fuse; the charger offers what
the fuse leaves: c_MainFuseLimit − (household − its own current). The fake CT clamp on
RS-485 (``meter``) steps the household load up and down; the offer (console and CP duty)
follows within REACT_S and comes back when the load drops.
"""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import read_config, start_charging
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import device_limit_amps, wait_cp, wait_offered

# Spec seconds from a household step to the new offer: the charger polls every
# spec.rs485.poll_period_s (1 s, profile choice), a poll cycle takes at most one
# response_timeout_s (1 s), then one firmware evaluation (0.25 s) — 2.25 s; doubled
# for a poll that started just before the step.
REACT_S = 5.0
# The CT clamp's keys (001 App. II): a charger without them has no household load
# management by clamp (EV PLUS: its external meter manages power, 003 §10 —
# testcases/evplus/test_power_management.py).
CT_KEYS = ("c_CTClamp", "c_MainFuseLimit")
pytestmark = pytest.mark.applies(keys=CT_KEYS)
FUSE_A = 40.0  # our main fuse for the test (below the 60 A default, above the 32 A device)
STEPS_A = (20.0, 30.0, 12.0)  # household load steps: offers 20, 10, 28 A (fuse 40 A)
LOW_LOAD_A = 2.0  # the load drops: the fuse leaves more than the device limit


def _fuse_value(spec, amps: float) -> str:
    """c_MainFuseLimit's value for ``amps`` in the key's unit (0.1 A in the profile)."""
    key = spec.key("c_MainFuseLimit")
    return str(round(amps * {"0.1 A": 10, "A": 1}[key.unit]))


def _unlimited(spec) -> float:
    return min(device_limit_amps(spec), float(spec.ratings["max_current_a"].value))


def _configure(csms, **keys: str) -> None:
    for key, value in keys.items():
        result = csms.call(call.ChangeConfiguration(key=key, value=value))
        assert result.status == "Accepted", f"ChangeConfiguration {key}={value}: {result}"


def _expect_offer(clock, ev, charger, spec, amps: float, reason: str | None) -> dict:
    """Console offer = ``amps`` with ``reason`` (None: any other reason), and CP duty."""
    status = wait_offered(clock, charger, amps, timeout=REACT_S)
    ext = spec.limit_reason("ExtTransformerCurrentLimit").name
    if reason is None:
        assert status["limit"] != ext, status
    else:
        assert status["limit"] == reason, status
    wait_cp(clock, ev, lambda r: abs(r.duty_pct - iec.duty_for_amps(amps))
            <= iec.DUTY_TOLERANCE_PCT, f"duty for {amps} A", timeout=REACT_S)
    return status


@pytest.fixture
def ct_clamp(csms, meter, spec):
    """A CT clamp on RS-485 (c_CTClamp true) reading no household load yet."""
    meter.set_current(0.0)
    _configure(csms, c_CTClamp="true")
    return meter


def test_offer_follows_household_load(csms, ev, charger, clock, spec, ct_clamp):
    """c_MainFuseLimit by ChangeConfiguration; household steps up and down while
    charging → offer = fuse − household (reason ExtTransformerCurrentLimit) within
    REACT_S, Main Fuse Reading = household; load gone → the unlimited offer is back."""
    _configure(csms, c_MainFuseLimit=_fuse_value(spec, FUSE_A))
    start_charging(csms, ev, charger)
    unlimited = _unlimited(spec)
    _expect_offer(clock, ev, charger, spec, unlimited, None)
    ext = spec.limit_reason("ExtTransformerCurrentLimit").name
    for household in STEPS_A:
        ct_clamp.set_current(household)
        expected = min(unlimited, FUSE_A - household)
        status = _expect_offer(clock, ev, charger, spec, expected, ext)
        assert float(status["fuse_reading"]) == pytest.approx(household, abs=0.05)
        assert float(status["fuse_limit"]) == pytest.approx(FUSE_A)
        assert status["connector"] == "Charging", "load management is not a fault"
    ct_clamp.set_current(LOW_LOAD_A)
    _expect_offer(clock, ev, charger, spec, unlimited, None)
    assert charger.rtm_code() == 0


def test_fuse_from_web_client(csms, ev, charger, clock, spec, ct_clamp):
    """The web client's Change Main Fuse Rating (console ``fuse``) sets c_MainFuseLimit
    (tenths of an ampere) and the offer follows the new fuse."""
    fuse_a = 25.0
    household = 10.0
    charger.set_main_fuse(fuse_a)
    assert read_config(csms, "c_MainFuseLimit") == _fuse_value(spec, fuse_a)
    assert charger.main_fuse()[0] == pytest.approx(fuse_a)
    start_charging(csms, ev, charger)
    ct_clamp.set_current(household)
    _expect_offer(clock, ev, charger, spec, fuse_a - household,
                  spec.limit_reason("ExtTransformerCurrentLimit").name)
    ct_clamp.set_current(0.0)
    # An empty house: the fuse itself is the limit (below the device limit).
    _expect_offer(clock, ev, charger, spec, min(_unlimited(spec), fuse_a),
                  spec.limit_reason("ExtTransformerCurrentLimit").name
                  if fuse_a < _unlimited(spec) else None)


def test_own_current_is_not_household_load(csms, ev, charger, clock, spec, ct_clamp,
                                           ac_load):
    """The clamp sees the house including the charging EV: the charger adds its own
    current back, so an EV drawing ``ev_a`` does not lower its own offer."""
    base_a, ev_a = 20.0, 10.0
    _configure(csms, c_MainFuseLimit=_fuse_value(spec, FUSE_A))
    start_charging(csms, ev, charger)
    ct_clamp.set_current(base_a)
    _expect_offer(clock, ev, charger, spec, FUSE_A - base_a,
                  spec.limit_reason("ExtTransformerCurrentLimit").name)
    ac_load.set_current(ev_a)
    ac_load.enable(True)
    assert clock.wait_until(lambda: ac_load.measure().current > ev_a - 0.5, REACT_S)
    ct_clamp.set_current(base_a + ev_a)  # the clamp now sees the EV too
    clock.sleep(REACT_S)
    _expect_offer(clock, ev, charger, spec, FUSE_A - base_a,
                  spec.limit_reason("ExtTransformerCurrentLimit").name)


# Household load per phase (A, L1..L3) on a three-phase unit: the most loaded phase is
# not L1, and the phases summed are more than the most loaded one — a limit from L1
# alone or from the sum differs from the lowest phase's headroom.
PHASE_LOADS_A = ((0.0, 15.0, 0.0), (5.0, 12.0, 8.0))


@pytest.mark.applies(phases=3)
def test_every_phase_counts_and_the_lowest_headroom_wins(csms, ev, charger, clock, spec,
                                                        ct_clamp):
    """Three-phase unit, a clamp on each phase (004 §3.6: the L2/L3 registers are
    required for three-phase measurements): on each phase the main fuse leaves
    fuse − household (004 §1.4 'also applies per-phase for 3-phase chargers'), and
    the offer — one current for all phases (004 §6 VendorID1) — is the lowest phase's
    headroom, reason ExtTransformerCurrentLimit."""
    _configure(csms, c_MainFuseLimit=_fuse_value(spec, FUSE_A))
    start_charging(csms, ev, charger)
    unlimited = _unlimited(spec)
    ext = spec.limit_reason("ExtTransformerCurrentLimit").name
    for loads in PHASE_LOADS_A:
        for phase, amps in enumerate(loads, start=1):
            ct_clamp.set_current(amps, phase=phase)
        expected = min(unlimited, FUSE_A - max(loads))
        assert expected < unlimited, "the stimulus must limit the offer"
        _expect_offer(clock, ev, charger, spec, expected, ext)


# Spec seconds from the clamp going silent to the fault, and from its answer to the
# recovery: as the MID meter's (testcases/metering/test_mid_meter.py MISSING_S,
# RECOVER_S; the same spec.rs485 missing_after rule, profile faults.ct_missing).
MISSING_S, RECOVER_S = 20.0, 7.0


@pytest.mark.applies(conditions=("ct_missing",), keys=CT_KEYS)
def test_silent_ct_clamp_is_a_fault_and_recovers(csms, charger, clock, spec, ct_clamp):
    """RS485 Bus Device CT/Clamp and nothing answers: a fault state (004 §4.2 'Incorrect
    setting will result in a fault state!'; the profile's errorCode); the clamp
    answering again clears it as the profile's recovery says."""
    fault = spec.fault("ct_missing")
    assert charger.status()["rs485"] == "ct"
    mark = csms.mark()
    ct_clamp.silence(True)
    sn = csms.wait_for("StatusNotification", since=mark, timeout=MISSING_S, connectorId=1,
                       status="Faulted")
    assert sn["errorCode"] == fault.ocpp_error_code, sn.payload
    assert int(charger.status()["rs485_timeouts"]) >= spec.rs485.missing_after
    mark = csms.mark()
    ct_clamp.silence(False)
    assert fault.auto_recovery, "ct_missing clears when the clamp answers (profile note)"
    csms.wait_for("StatusNotification", since=mark, timeout=RECOVER_S, connectorId=1,
                  status="Available", errorCode="NoError")
