"""EVSE current limits (001 VendorID1: EVSE Limits; profile ``evse_limits``): the
charger offers the minimum of its limits and names the winning one (console
``limit``, the web client's Charger Limit) where its profile names them (EV PLUS: no
such table, only the offer is checked). Stimuli: c_DeviceLimit_I by
ChangeConfiguration (where the profile has the key), the cable's PP resistor, a
TxDefaultProfile from the backend, the temperature sensors (where the profile has a
derating table).
"""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import configure
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import (
    assert_pwm,
    charge_with_pp,
    device_limit_amps,
    device_limit_value,
    limit_names,
    set_tx_default,
    wait_offered,
)

DEVICE, PP, TEMP, OCPP = ("DeviceCurrentLimit", "ProximityPilotLimit",
                          "DeviceTemperatureLimit", "OCPPGridLimit")


def _pp_ohms(spec, cable_amps: int) -> float:
    return next(b.nominal_ohm for b in spec.pp_bands if b.amps == cable_amps)


def _check_offer(csms, ev, charger, clock, spec, amps: float, reason: str) -> None:
    status = wait_offered(clock, charger, amps)
    names = limit_names(spec, reason)
    assert not names or status["limit"] in names, \
        f"limit {status['limit']} at {amps} A, expected {reason}"
    reading = ev.read_cp()
    assert_pwm(reading, amps)
    assert abs(ev.offered_current() - amps) <= iec.amps_tolerance(amps)


@pytest.mark.applies(keys=("c_DeviceLimit_I",))
def test_device_limit(csms, ev, charger, clock, spec):
    """c_DeviceLimit_I below the rated current and the cable → offer = that limit,
    reason DeviceCurrentLimit; raised again while charging, the offer follows."""
    amps = 16.0
    configure(csms, c_DeviceLimit_I=device_limit_value(spec, amps))
    charge_with_pp(csms, ev, charger, _pp_ohms(spec, 32))
    _check_offer(csms, ev, charger, clock, spec, amps, DEVICE)
    configure(csms, c_DeviceLimit_I=device_limit_value(spec, 20.0))
    _check_offer(csms, ev, charger, clock, spec, 20.0, DEVICE)


@pytest.mark.socketed
def test_pp_limit(csms, ev, charger, clock, spec):
    """A 20 A cable on a 32 A charger → offer 20 A, reason ProximityPilotLimit."""
    assert device_limit_amps(spec) > 20
    charge_with_pp(csms, ev, charger, _pp_ohms(spec, 20))
    _check_offer(csms, ev, charger, clock, spec, 20.0, PP)


def test_ocpp_profile_limit(csms, ev, charger, clock, spec):
    """A TxDefaultProfile of 10 A → offer 10 A, reason OCPPGridLimit."""
    set_tx_default(csms, 10.0)
    charge_with_pp(csms, ev, charger, _pp_ohms(spec, 32))
    _check_offer(csms, ev, charger, clock, spec, 10.0, OCPP)


# Several limits at once (A; cable = PP ampacity, temperature in °C → the profile's
# derated current); each case has a single lowest limit. A case whose winner the unit
# does not have is deselected: the device limit where the profile has no
# c_DeviceLimit_I, the temperature where it has no derating rows (EV PLUS); without
# the key the other cases set no device limit (the charger's own cap is the rated
# current, above every stimulus).
CASES = {
    "device-wins": dict(device=10.0, cable=20, ocpp=16.0, temp_c=None),
    "pp-wins": dict(device=20.0, cable=13, ocpp=16.0, temp_c=None),
    "ocpp-wins": dict(device=20.0, cable=32, ocpp=8.0, temp_c=76.0),
    "temperature-wins": dict(device=30.0, cable=32, ocpp=20.0, temp_c=78.0),
}
_NEEDS = {"device-wins": pytest.mark.applies(keys=("c_DeviceLimit_I",)),
          "temperature-wins": pytest.mark.applies(tables=("temperature_derating.rows",))}


@pytest.mark.parametrize("case", [
    pytest.param(case, id=name, marks=[_NEEDS[name]] if name in _NEEDS else [])
    for name, case in CASES.items()])
def test_minimum_wins(csms, ev, charger, clock, spec, variant, case):
    """Device limit, cable, backend profile and temperature together: the offer is
    the lowest, and the console names it. A tethered unit has no PP limit."""
    device_key = "c_DeviceLimit_I" in spec.config_keys
    limits = {DEVICE: case["device"] if device_key else device_limit_amps(spec),
              OCPP: case["ocpp"]}
    if variant.pp_required:
        limits[PP] = float(case["cable"])
    if case["temp_c"] is not None:
        derated = spec.derated_current(case["temp_c"])
        assert derated is not None, "stimulus temperature must not fault"
        limits[TEMP] = derated
    amps = min(limits.values())
    winners = [name for name, a in limits.items() if a == amps]
    assert len(winners) == 1, f"stimulus has a tie: {limits}"

    if device_key:
        configure(csms, c_DeviceLimit_I=device_limit_value(spec, case["device"]))
    set_tx_default(csms, case["ocpp"])
    charge_with_pp(csms, ev, charger, _pp_ohms(spec, case["cable"]))
    if case["temp_c"] is not None:
        charger.set_temperature(case["temp_c"])
    _check_offer(csms, ev, charger, clock, spec, amps, winners[0])
