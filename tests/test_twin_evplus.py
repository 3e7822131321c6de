"""The twin as the Cabur EV PLUS manual (003) says it behaves — the rules, on the
firmware alone (tests/twin_doubles.Bench with the evplus profile, spec time moved by
hand): the Case B lock (§9), power management's arithmetic (§10), ERR MIS on a
three-phase unit, no reclosing through a reset (§5), and a twin condition behind every
display string of §7.1.2 (or the profile's note why the bench cannot raise it).
tests/test_twin_evplus_bench.py drives the same through the virtual bench's
transports. Expected values come from the profile.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from evrig.rig.profile import Profile, load_profile
from evrig.sim.charger.modbus_master import MeterData
from evrig.sim.charger.power_management import (
    contracted_power_limit,
    installation_power_w,
)
from evrig.sim.electrical import Circuit
from tests.twin_doubles import EVNET, Bench

SPEC: Profile = load_profile("evplus")
COMPACT: Profile = load_profile("evnet-compact")
NOMINAL_V = float(SPEC.ratings["nominal_voltage_v"].value)
RATED_A = float(SPEC.ratings["max_current_a"].value)


def three_phase(variant: str = "22C", profile: Profile = SPEC) -> Bench:
    """A firmware double wired for three phases (twin_doubles.Bench has one)."""
    bench = Bench(variant, profile)
    bench.circuit = bench.fw.circuit = Circuit(3)
    return bench


def supply(bench: Bench, volts: list[float]) -> None:
    bench.circuit.update(lambda c: setattr(c.supply, "volts", list(volts)))


def trip_overcurrent(bench: Bench) -> None:
    """Above the hardware factor x the rated current: the trip is at once."""
    bench.circuit.set_load(SPEC.protections.overcurrent.hw_trip_factor * RATED_A + 1)
    bench.step(0.25)


# -- §10 in numbers ------------------------------------------------------------------
def test_section_10_example() -> None:
    """16 A contracted (3.7 kW), 2 kW of other loads: the charger gets 1.7 kW (§10)."""
    own_w = 230.0 * 5.0  # the charger's own draw is in the meter's reading too
    amps = contracted_power_limit(16, NOMINAL_V, 1, 2000.0 + own_w, own_w)
    assert amps * NOMINAL_V == pytest.approx(16 * NOMINAL_V - 2000.0)
    assert round(amps * NOMINAL_V / 1000, 1) == 1.7  # "3.7 - 2 = 1.7 KW", 003 rounds
    # Three phases: the contracted power is three phases' worth, shared by them.
    assert contracted_power_limit(RATED_A, NOMINAL_V, 3, 2000.0, 0.0) == \
        pytest.approx(RATED_A - 2000.0 / (3 * NOMINAL_V))
    assert contracted_power_limit(16, NOMINAL_V, 1, 9000.0, 0.0) == 0.0  # loads first
    assert contracted_power_limit(16, NOMINAL_V, 1, 100.0, 500.0) == 16.0  # own > meter


def test_installation_power_is_the_total_register_else_the_phases() -> None:
    three = MeterData(power_w=[100.0, 200.0, 300.0], total_power_w=650.0)
    assert installation_power_w(three, 3) == 650.0
    assert installation_power_w(MeterData(power_w=[100.0, 200.0, 300.0]), 3) == 600.0
    # A single-phase meter (SDM230) has no total register: what it answers there is not
    # the installation's power.
    assert installation_power_w(MeterData(power_w=[900.0], total_power_w=0.0), 1) == 900.0
    assert installation_power_w(MeterData(), 1) is None


# -- ERR MIS (three-phase) ------------------------------------------------------------
def test_a_missing_phase_is_err_mis_and_is_not_reclosed() -> None:
    bench = three_phase()
    bench.charge(amps=16)
    supply(bench, [NOMINAL_V, 0.0, NOMINAL_V])
    bench.run(0.5)
    fault = SPEC.fault("phase_missing")
    assert bench.fw.active == {"phase_missing"} and fault.display == "ERR MIS"
    assert bench.fw.error_code() == (fault.ocpp_error_code, None)
    assert bench.fw.connector_status() == "Faulted" and not bench.fw.contactor
    supply(bench, [NOMINAL_V] * 3)  # the phase is back: not reclosed (003 §5)
    bench.run(10)
    assert bench.fw.active == {"phase_missing"}
    assert "unplug" in fault.recovery
    bench.unplug()
    assert not bench.fw.active and bench.fw.connector_status() == "Available"


def test_a_low_phase_is_err_lvp_not_err_mis() -> None:
    bench = three_phase()
    low = SPEC.protections.voltage.hw_undervoltage_v + 10  # present, below the band
    supply(bench, [NOMINAL_V, low, NOMINAL_V])
    bench.step(0.25)
    assert bench.fw.active == {"undervoltage"}


def test_the_compact_still_calls_a_dead_phase_undervoltage() -> None:
    """No ERR MIS in the COMPACT's profile: its missing phase stays an undervoltage."""
    variant = next(v for v, spec in COMPACT.variants.items() if spec.phases == 3)
    bench = three_phase(variant, COMPACT)
    supply(bench, [230.0, 0.0, 230.0])
    bench.step(0.25)
    assert bench.fw.active == {"undervoltage"}


# -- Case B lock (§9) -----------------------------------------------------------------
def test_the_lock_holds_while_charging_and_releases_on_a_fault() -> None:
    bench = Bench("7S", SPEC)
    bench.charge(amps=16)
    assert bench.board.actuator.locked  # "The plug cannot be disconnected"
    trip_overcurrent(bench)
    bench.run(0.5)
    assert bench.fw.connector_status() == "Faulted"
    assert not bench.board.actuator.locked and bench.fw.tx is not None
    bench.unplug()
    stops = [p for a, p in bench.link.sent if a == "StopTransaction"]
    assert [p["reason"] for p in stops] == ["EVDisconnected"] and bench.fw.tx is None


def test_the_lock_relocks_when_a_fault_goes_by_itself() -> None:
    """ERR MET goes when the meter answers (auto): the session goes on, locked again."""
    bench = Bench("7S", SPEC)
    bench.charge(amps=8)
    bench.board.meter_missing = True
    bench.run(1.0)  # the relay opens, then the lock releases
    assert bench.fw.connector_status() == "Faulted" and not bench.board.actuator.locked
    bench.board.meter_missing = False
    bench.run(0.5)
    assert bench.board.actuator.locked and bench.fw.tx is not None
    bench.run(1.5)
    assert bench.fw.connector_status() == "Charging"


def test_ev_net_keeps_its_lock_on_a_fault() -> None:
    """EV NET's manuals do not release the lock on a fault: unchanged."""
    bench = Bench("S", EVNET)
    bench.charge(amps=16)
    bench.circuit.set_load(EVNET.protections.overcurrent.hw_trip_factor * 32 + 1)
    bench.run(0.5)
    assert bench.fw.connector_status() == "Faulted" and bench.board.actuator.locked


# -- every display string of §7.1.2 -------------------------------------------------------
def _charging(amps: float = 8.0) -> Callable[[Bench], None]:
    def go(bench: Bench) -> None:
        bench.charge(amps=amps)
    return go


def _then(*steps: Callable[[Bench], None]) -> Callable[[Bench], None]:
    def go(bench: Bench) -> None:
        for step in steps:
            step(bench)
    return go


def _stop_jammed(bench: Bench) -> None:
    bench.board.actuator.jam(math.inf)
    bench.fw.stop_transaction("Local")


def _jammed_before_the_card(bench: Bench) -> None:
    bench.plug()
    bench.board.actuator.jam(math.inf)
    bench.authorize()


def _plug_without_pp(bench: Bench) -> None:
    bench.plug(pp=None)
    bench.authorize()


def _cp_short(bench: Bench) -> None:
    bench.plug()
    bench.relays.update(cp_short=True)
    bench.run(0.5)


def _no_diode(bench: Bench) -> None:
    bench.relays.update(diode_short=True)


def _board(**values: object) -> Callable[[Bench], None]:
    def go(bench: Bench) -> None:
        for key, value in values.items():
            target = bench.board.sensors if hasattr(bench.board.sensors, key) else bench.board
            setattr(target, key, value)
    return go


def _volts(*volts: float) -> Callable[[Bench], None]:
    return lambda bench: supply(bench, list(volts))


def _circuit_fault(**values: object) -> Callable[[Bench], None]:
    return lambda bench: bench.set_fault(**values)


VOLTS = SPEC.protections.voltage
# condition → (variant, stimulus): what raises it on the firmware.
STIMULI: dict[str, tuple[str, Callable[[Bench], None]]] = {
    "overcurrent": ("7S", _then(_charging(), trip_overcurrent)),
    "overvoltage": ("7S", _volts(VOLTS.high_v + 5)),
    "undervoltage": ("7S", _volts(VOLTS.low_v - 5)),
    "meter_missing": ("7S", _board(meter_missing=True)),
    "neutral_fault": ("7S", _circuit_fault(pe_open=True)),
    "cp_level_invalid": ("7S", _cp_short),
    "ev_diode_missing": ("7S", _then(_charging(), _no_diode)),
    "relay_live_welded": ("7S", _circuit_fault(relay_welded=True)),
    "relay_neutral_welded": ("7S", _circuit_fault(neutral_welded=True)),
    "overtemperature": ("7S", _board(temperature_c=SPEC.temperature_derating.fault_above_c + 1)),
    "lock_failed": ("7S", _jammed_before_the_card),
    "unlock_failed": ("7S", _then(_charging(), _stop_jammed)),
    "connector_overtemperature": ("7C", _board(connector_temperature_c=(
        SPEC.protections.connector_temperature.fault_above_c + 1
        if SPEC.protections.connector_temperature else 0.0))),
    "leakage_dc": ("7S", _then(_charging(), _circuit_fault(
        leakage_dc_ma=SPEC.protections.rcd.dc_ma))),
    "fan_failed": ("7S", _then(_charging(), _board(fan_blocked=True))),
    "pp_missing": ("7S", _plug_without_pp),
    "phase_missing": ("22C", _volts(NOMINAL_V, 0.0, NOMINAL_V)),
}
NOT_ON_THE_BENCH = "NOT RAISED ON THE VIRTUAL BENCH"


@pytest.mark.parametrize("condition", list(SPEC.faults))
def test_every_fault_string_has_a_condition_that_raises_it(condition: str) -> None:
    row = SPEC.faults[condition]
    if condition not in STIMULI:
        assert NOT_ON_THE_BENCH in (row.note or ""), \
            f"{row.display}: no twin condition raises {condition} and no note says why"
        return
    variant, stimulus = STIMULI[condition]
    bench = three_phase(variant) if SPEC.variant(variant).phases == 3 else Bench(variant, SPEC)
    stimulus(bench)
    bench.run(1.0)
    assert condition in bench.fw.active, (row.display, bench.fw.active)
    named = min(bench.fw.active, key=lambda c: SPEC.fault(c).rank)
    assert SPEC.fault(named).display == row.display or named == condition
    assert bench.fw.connector_status() == "Faulted" or not row.stops_charging


def test_fan_is_read_only_while_it_runs() -> None:
    """A fan blocked at rest is seen when the relay closes (profile fan_failed note)."""
    bench = Bench("7S", SPEC)
    bench.board.sensors.fan_blocked = True
    bench.plug()
    bench.run(1.0)
    assert "fan_failed" not in bench.fw.active
    bench.authorize()
    bench.relays.update(r_c=True)
    bench.run(2.0)
    assert "fan_failed" in bench.fw.active


def test_only_a_no_reclosing_charger_keeps_trips_through_a_reset() -> None:
    plus = Bench("7S", SPEC)
    plus.charge(amps=8)
    trip_overcurrent(plus)
    plus.board.meter_missing = True
    plus.step(0.25)
    assert plus.fw.kept_through_reset() == {"overcurrent"}  # ERR MET is no protection
    net = Bench("S", EVNET)
    net.charge(amps=8)
    net.circuit.set_load(EVNET.protections.overcurrent.hw_trip_factor * 32 + 1)
    net.step(0.25)
    assert "overcurrent" in net.fw.active and net.fw.kept_through_reset() == set()
