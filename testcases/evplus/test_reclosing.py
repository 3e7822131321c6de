"""No automatic or remote reclosing (003 §5: "The integrated protections are not
automatically or remotely reclosed as prescribed by the IEC 61851-1"; profile
``protections.reclosing``).

For each protection trip a bench can cause through its instruments: the charger faults
with the profile row's errorCode (and display string, 003 §7.1.2), the relay opens, and
when the cause is gone the session does NOT resume; the backend's RemoteStart and Reset
do not clear it; each local act of the row's ``recovery`` does, and a new card (after
unplugging) or the card again (after a supply power cycle) charges again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from ocpp.v16 import call

from evrig.fixtures.params import run_profile
from evrig.testcases.evplus.steps import (
    drawn_a,
    expect_dead,
    expect_faulted,
    expect_still_faulted,
    recover,
    recovery_params,
)
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, start_charging
from evrig.testcases.protection.checks import REACT_S, VOLT_MARGIN_V, ZERO_A

pytestmark = pytest.mark.applies(tables=("protections.reclosing",))
DRAW_A = 8.0  # what the EV draws before the trip (above the 6 A minimum, any unit)
BOOT_S = 60.0  # spec seconds for a reboot (Reset) to reach the backend again


@dataclass
class Unit:
    """The fixtures a trip needs, in one object."""

    csms: Any
    ev: Any
    charger: Any
    clock: Any
    spec: Any
    ac_source: Any
    ac_load: Any
    faults: Any


@dataclass(frozen=True)
class Trip:
    condition: str
    cause: Callable[[Unit], None]
    remove: Callable[[Unit], None]
    phases: int | None = None  # only a unit wired for this many phases


def _nominal(r: Unit, phase: int | None = None) -> None:
    r.ac_source.set_voltage(float(r.spec.protections.voltage.nominal_v), phase=phase)


def _overcurrent(r: Unit) -> None:
    rated = float(r.spec.ratings["max_current_a"].value)
    r.ac_load.set_current(r.spec.protections.overcurrent.hw_trip_factor * rated + 1.0)


def _volts(which: str) -> Callable[[Unit], None]:
    def cause(r: Unit) -> None:
        v = r.spec.protections.voltage
        r.ac_source.set_voltage(v.high_v + VOLT_MARGIN_V if which == "high"
                                else v.low_v - VOLT_MARGIN_V)
    return cause


def _connector_hot(r: Unit) -> None:
    r.charger.set_connector_temperature(
        r.spec.protections.connector_temperature.fault_above_c + 1.0)


def _welded(wire: str) -> Callable[[Unit], None]:
    """A pole welds during the session; it shows when the relay is told to open: the
    EV stops asking (C → B)."""
    def cause(r: Unit) -> None:
        getattr(r.faults, wire)(True)
        r.ev.set_state("B")
    return cause


TRIPS = (
    Trip("overcurrent", _overcurrent, lambda r: r.ac_load.set_current(DRAW_A)),
    Trip("overvoltage", _volts("high"), _nominal),
    Trip("undervoltage", _volts("low"), _nominal),
    Trip("phase_missing", lambda r: r.ac_source.set_voltage(0.0, phase=2),
         lambda r: _nominal(r, phase=2), phases=3),
    Trip("leakage_dc", lambda r: r.faults.leakage(r.spec.protections.rcd.dc_ma, dc=True),
         lambda r: r.faults.leakage(0, dc=True)),
    Trip("neutral_fault", lambda r: r.faults.pe_open(True), lambda r: r.faults.pe_open(False)),
    Trip("connector_overtemperature", _connector_hot,
         lambda r: r.charger.set_connector_temperature(None)),
    Trip("overtemperature", lambda r: r.charger.set_temperature(
        r.spec.temperature_derating.fault_above_c + 1.0),
         lambda r: r.charger.set_temperature(None)),
    Trip("relay_live_welded", _welded("relay_weld"), lambda r: r.faults.relay_weld(False)),
    Trip("relay_neutral_welded", _welded("neutral_weld"),
         lambda r: r.faults.neutral_weld(False)),
    Trip("cp_level_invalid", lambda r: r.ev.set_state("E"), lambda r: r.ev.set_state("C")),
    Trip("ev_diode_missing", lambda r: r.ev.diode(False), lambda r: r.ev.diode(True)),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``trip, rule``: every trip of this run's profile with each local act of its
    row's recovery; ``trip, other_rule``: with each local act NOT in it. A trip of a
    condition the unit cannot show, or of a wiring it lacks, is deselected."""
    if "trip" not in metafunc.fixturenames:
        return
    wanted = "rule" in metafunc.fixturenames
    cases = recovery_params(run_profile(metafunc.config), TRIPS, wanted, lambda trip: (
        pytest.mark.applies(tables=("protections.reclosing",), conditions=(trip.condition,),
                            **({"phases": trip.phases} if trip.phases else {}))))
    metafunc.parametrize(("trip", "rule" if wanted else "other_rule"), cases)


@pytest.fixture
def rig_(csms, ev, charger, clock, spec, ac_source, ac_load, faults) -> Unit:
    return Unit(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
               ac_source=ac_source, ac_load=ac_load, faults=faults)


def _charging(r: Unit) -> int:
    tx = start_charging(r.csms, r.ev, r.charger, ACCEPTED_TAG)
    r.ac_load.set_current(DRAW_A)
    r.ac_load.enable(True)
    assert r.clock.wait_until(lambda: abs(drawn_a(r.ac_load) - DRAW_A) < ZERO_A, REACT_S)
    return tx


def _trip(r: Unit, trip: Trip, display: Any) -> None:
    """Charging, the cause, the fault as the profile shows it, the relay open, the
    cause gone: still faulted (not reclosed automatically)."""
    assert r.spec.protections.reclosing is not None
    assert trip.condition in r.spec.protections.reclosing.conditions
    _charging(r)
    mark = r.csms.mark()
    trip.cause(r)
    expect_faulted(r.csms, r.spec, trip.condition, display, since=mark)
    expect_dead(r.clock, r.ac_load)
    trip.remove(r)
    expect_still_faulted(r.csms, r.charger, r.clock)


def _charge_again(r: Unit, rule: str, since: int) -> None:
    """After the recovery: unplugged → plug and a new card; power cycled with the EV
    still connected → the card again. Charging either way."""
    if rule == "unplug":
        start_charging(r.csms, r.ev, r.charger, ACCEPTED_TAG)
        return
    r.csms.wait_for("StatusNotification", since=since, connectorId=1, status="Preparing",
                    errorCode="NoError", timeout=REACT_S)
    r.charger.present_tag(ACCEPTED_TAG)
    r.csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    r.ev.set_state("C")  # a stimulus may have left the EV in B
    r.csms.wait_for("StatusNotification", connectorId=1, status="Charging")


def test_a_trip_is_cleared_only_by_its_recovery(rig_: Unit, display, trip: Trip, rule: str):
    """Not reclosed when the cause goes; the row's recovery clears it; charging again."""
    r = rig_
    _trip(r, trip, display)
    r.ac_load.enable(False)
    mark = r.csms.mark()
    recover(rule, r.ev, r.charger, r.clock, r.csms, r.spec)
    sn = r.csms.wait_for("StatusNotification", since=mark, connectorId=1, errorCode="NoError",
                         timeout=REACT_S if rule == "unplug" else BOOT_S)
    assert sn["status"] != "Faulted"
    _charge_again(r, rule, mark)


def test_an_act_outside_the_recovery_does_not_clear_it(rig_: Unit, display, trip: Trip,
                                                       other_rule: str):
    """A trip whose row has no ``unplug``: unplugging leaves it (003 §5; the row)."""
    r = rig_
    _trip(r, trip, display)
    r.ac_load.enable(False)
    recover(other_rule, r.ev, r.charger, r.clock, r.csms, r.spec)
    expect_still_faulted(r.csms, r.charger, r.clock)


@pytest.mark.applies(tables=("protections.reclosing",), conditions=("overcurrent",))
def test_remote_start_and_reset_do_not_reclose(rig_: Unit, display):
    """The backend cannot reclose (profile reclosing.remote false): RemoteStart is
    Rejected while Faulted, and after a Reset the charger boots Faulted again; the
    user's unplug then clears it."""
    r = rig_
    assert not r.spec.protections.reclosing.remote
    _trip(r, TRIPS[0], display)
    result = r.csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Rejected"
    mark = r.csms.mark()
    assert r.csms.call(call.Reset(type="Soft")).status == "Accepted"
    r.csms.wait_for("BootNotification", since=mark, timeout=BOOT_S)
    expect_faulted(r.csms, r.spec, "overcurrent", display, since=mark, timeout=BOOT_S)
    expect_still_faulted(r.csms, r.charger, r.clock)
    r.ac_load.enable(False)
    mark = r.csms.mark()
    recover("unplug", r.ev, r.charger, r.clock, r.csms, r.spec)
    r.csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                    errorCode="NoError", timeout=REACT_S)
