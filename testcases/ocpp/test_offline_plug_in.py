"""Offline plug-in charge (EV NET 000 §1.2 "offline plug-in charge mode", §2.5.1
Offline Mode Configuration, §2.6.1; 002; profile ``offline_mode``): with the backend
unreachable and Plug & Charge enabled, an EV plugged in charges at the maximum
permissible current with no card and no app; disabled, it does not charge offline
without authorization. The setting is the web client's (Network Configuration), and
Device Status shows it."""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import without_charge_times
from evrig.testcases.pilot import iec61851 as iec

SETTLE_S = 10.0  # spec seconds for the charger to react to plug-in and state C


def _offline(csms, charger, clock, spec) -> None:
    without_charge_times(csms, spec)  # not what this tests (test_charge_times.py is)
    csms.disconnect(refuse_reconnect=True)
    csms.wait_disconnected(10)
    assert clock.wait_until(lambda: charger.status()["backend"] == "offline", 10)
    clock.sleep(spec.offline_mode.after_s)  # from now on the charger counts as offline


def _permissible_a(spec, cable_amps: int, variant) -> float:
    """The maximum permissible current: the rating, the cable (PP) on a socket."""
    rated = float(spec.ratings["max_current_a"].value)
    return min(rated, float(cable_amps)) if variant.pp_required else rated


# Only where the profile has an offline plug-in charge mode (EV NET, 000 §2.5.1).
pytestmark = pytest.mark.applies(tables=("offline_mode",))


@pytest.fixture
def offline_mode(spec):
    if spec.offline_mode is None:
        pytest.skip(f"{spec.model} has no offline plug-in charge mode")
    return spec.offline_mode


def test_plugged_in_offline_charges_at_the_maximum(csms, ev, charger, clock, web, spec,
                                                  variant, offline_mode):
    assert offline_mode.plug_and_charge, "Enabled at the factory (profile note)"
    assert web.plug_and_charge()
    assert web.device_status()["Plug&Charge"] == "Enabled"
    _offline(csms, charger, clock, spec)
    ev.plug(cable_amps=32)
    ev.set_state("C")
    assert clock.wait_until(lambda: charger.status()["connector"] == "Charging", SETTLE_S,
                            poll=0.25), charger.status()
    amps = _permissible_a(spec, 32, variant)
    assert abs(ev.offered_current() - amps) <= iec.amps_tolerance(amps)
    ev.unplug()
    assert clock.wait_until(lambda: charger.status()["connector"] == "Available", SETTLE_S,
                            poll=0.25), charger.status()
    csms.reconnect_allowed()
    csms.wait_connected(60)
    # A simple EVSE: no transaction was opened, so none is delivered afterwards.
    csms.assert_none("StartTransaction", 5)
    assert not [m for m in csms.history if m.action == "StartTransaction" and m.is_call]


def test_disabled_it_does_not_charge_offline_without_authorization(
        csms, ev, charger, clock, web, spec, offline_mode):
    web.set_plug_and_charge(False)
    assert not web.plug_and_charge()
    assert web.device_status()["Plug&Charge"] == "Disabled"
    _offline(csms, charger, clock, spec)
    ev.plug(cable_amps=32)
    ev.set_state("C")
    assert not clock.wait_until(lambda: charger.status()["connector"] == "Charging",
                                SETTLE_S, poll=0.25)
    assert charger.status()["connector"] == "Preparing"
    assert ev.read_cp().freq_hz == 0, "no PWM: nothing offered without authorization"
