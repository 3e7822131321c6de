"""The virtual bench carries a value per phase (design §5, §9: one- and three-phase
families): the circuit's supply and load, the protection's measurements and the
charger's meter. A single-phase unit is the one-phase case of the same model."""

from __future__ import annotations

import pytest

from evrig.rig.profile import load_profile
from evrig.sim.charger.metering import MeterReading, sampled_values
from evrig.sim.charger.protection import Measurements, Protection, Settings
from evrig.sim.electrical import Circuit

PROFILE = load_profile("evnet-7kw")


def three_phase_circuit() -> Circuit:
    circuit = Circuit(3)
    circuit.command_contactor(True, None, 0.0)
    circuit.load_enabled = True
    return circuit


def test_the_load_draws_on_each_phase_and_a_single_phase_load_on_l1() -> None:
    circuit = three_phase_circuit()
    circuit.supply.volts = [230.0, 231.0, 229.0]
    circuit.set_load(16.0)
    snap = circuit.at()
    assert snap.supply_v == (230.0, 231.0, 229.0)
    assert snap.ev_amps_per_phase() == (16.0, 16.0, 16.0)
    circuit.set_load(0.0)
    circuit.set_load(10.0, phase=1)
    assert circuit.at().ev_amps_per_phase() == (10.0, 0.0, 0.0)
    assert circuit.source_amps(1) == 0.0 and circuit.source_amps(0) > 10.0  # + the board
    circuit.command_contactor(False, None, 1.0)
    assert circuit.at(1.0).ev_amps_per_phase() == (0.0, 0.0, 0.0)


def _measure(volts: tuple[float, ...], amps: tuple[float, ...], offered: float = 16.0,
             now: float = 0.0) -> Measurements:
    return Measurements(now=now, supply_v=volts, ev_a=amps, offered_a=offered,
                        temperature_c=25.0, relay_cmd=True, outlet_live=True,
                        neutral_closed=True)


def test_voltage_protection_trips_on_any_phase() -> None:
    protection = Protection(PROFILE)
    low, high = PROFILE.protections.voltage.limits(0)
    ok = (230.0, 230.0, 230.0)
    assert protection.voltage_faults(_measure(ok, (0, 0, 0)), Settings()) == set()
    over_l2 = (230.0, high + 1, 230.0)
    assert protection.voltage_faults(_measure(over_l2, (0, 0, 0)), Settings()) \
        == {"overvoltage"}
    under_l3 = (230.0, 230.0, low - 1)
    assert protection.voltage_faults(_measure(under_l3, (0, 0, 0)), Settings()) \
        == {"undervoltage"}


def test_overcurrent_follows_the_most_loaded_phase() -> None:
    protection = Protection(PROFILE)
    oc = PROFILE.protections.overcurrent
    over = 16.0 * (1 + oc.margin_pct / 100.0) + 0.5
    volts = (230.0, 230.0, 230.0)
    assert "overcurrent" not in protection.trips(
        _measure(volts, (16.0, 16.0, over), now=0.0), Settings())
    assert "overcurrent" in protection.trips(
        _measure(volts, (16.0, 16.0, over), now=oc.delay_s + 0.1), Settings())
    rated = PROFILE.ratings["max_current_a"].value
    fresh = Protection(PROFILE)
    assert "overcurrent" in fresh.trips(
        _measure(volts, (0.0, oc.hw_trip_factor * rated + 1, 0.0)), Settings())


def test_meter_values_report_each_phase() -> None:
    reading = MeterReading(voltages_v=[230.0, 231.0, 229.0], currents_a=[16.0, 15.0, 14.0])
    values = {(v["measurand"], v.get("phase")): float(v["value"]) for v in sampled_values(
        reading, ["Voltage.L1-N", "Voltage.L2-N", "Voltage.L3-N", "Current.Import.L2",
                  "Current.Import.L3", "Power.Active.Import.L3", "Power.Active.Import"],
        "Sample.Periodic")}
    assert values[("Voltage", "L2-N")] == 231.0 and values[("Voltage", "L3-N")] == 229.0
    assert values[("Current.Import", "L2")] == 15.0 and values[("Current.Import", "L3")] == 14.0
    assert values[("Power.Active.Import", "L3")] == pytest.approx(229.0 * 14.0, abs=0.1)
    assert values[("Power.Active.Import", None)] == pytest.approx(
        230 * 16 + 231 * 15 + 229 * 14, abs=0.1)
    single = MeterReading(voltages_v=[230.0], currents_a=[16.0])
    assert single.value("Voltage", "L2-N") is None  # no L2 on a single-phase meter
    assert not sampled_values(single, ["Current.Import.L3"], "Sample.Periodic")
