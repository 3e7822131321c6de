"""The end-of-line sequence (issue 6, design §6): every unit off the line runs it.

Steps in file order (``rig run eol`` runs them so, one bench, no xdist); each step
stands alone (the bench keeper resets between them), so ``make test`` may also
spread them over workers. Every value goes through ``measure`` with limits from the
profile (``spec``) or IEC 61851-1 (testcases.pilot.iec61851).

Order for the least spec time: the power-up is the only boot; the CP walk and the
PP check need no contactor (state B, authorised); one transaction carries the
contactor timing, the metering window, MeterValues and the normal stop; the trips
follow, each on the shortest session that makes the outlet live.
"""

from __future__ import annotations

import pytest

from evrig.testcases.eol.steps import (
    ZERO_A,
    energy_window_s,
    error_pct,
    sampled,
    time_until_outlet,
)
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure, transaction_id_of
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import device_limit_value, wait_cp, wait_offered
from evrig.testcases.protection.checks import REACT_S, VOLT_MARGIN_V

pytestmark = pytest.mark.eol

OFF_S = 1.0  # spec seconds the charger stays unpowered at the power-up step (our choice)
BOOT_MAX_S = 60.0  # the protection testcases' boot budget (testcases.protection.checks)
RCD_AC, RCD_DC = 0x0001, 0x0008
OVERVOLTAGE, UNDERVOLTAGE = 0x1000, 0x2000


def _level(measure, name: str, reading, state: str) -> None:
    nominal = iec.CP_NOMINAL_V[state]
    measure(name, reading.high_v, low=nominal - iec.CP_TOLERANCE_V,
            high=nominal + iec.CP_TOLERANCE_V, unit="V")


def _authorised_in_b(csms, ev, charger, cable_amps: int = 32) -> int:
    """Cable in, EV in B, card: the session starts (no contactor yet)."""
    ev.plug(cable_amps=cable_amps)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing", errorCode="NoError")
    charger.present_tag(ACCEPTED_TAG)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    return transaction_id_of(csms, start)


def _live(clock, ev, ac_load, spec, measure, eol, amps: float, name: str) -> float:
    """State C with the load drawing ``amps``: the contactor's close time, measured."""
    ac_load.set_current(amps)
    ac_load.enable(True)
    t0 = ev.set_state("C")
    close_max = spec.timing.contactor_close_max_s
    closed = time_until_outlet(ev, t0, live=True, timeout=2 * close_max)
    measure(name, closed, high=close_max, unit="s")
    eol.delay("contactor close", closed, name)
    return closed


def _led_window(spec) -> float:
    """Spec seconds to tell steady from blinking: one blink period of the profile."""
    return spec.led.slowest_blink_s or 1.0


def _led_seen(led, clock, spec, measure, eol, status: str, name: str,
              online: bool = True) -> None:
    """The ring shows the profile's pattern for ``status``: the time it took, within
    the reaction budget plus one observation window."""
    window = _led_window(spec)
    t0 = clock.now()
    led.wait_for(status, online=online, timeout=REACT_S, window=window)
    measure(name, clock.now() - t0, high=REACT_S + window, unit="s")
    eol.delay("led observation", window,
              "one blink period (profile lights: the slowest blink class)")


# -- 1. power-up self-test and OCPP boot ------------------------------------------------
def test_power_up_and_boot(rig, csms, charger, clock, spec, variant, measure, eol):
    """Mains off and on: the unit beeps and shows the power-up colour (operator on a
    real rig; the LED observer where fitted), boots and sends BootNotification with
    the variant's vendor and model; the backend accepts it."""
    eol.prompt(f"EOL harness connected to unit {eol.scanned_serial or '(no serial)'}? [y]")
    charger.power(False)
    clock.sleep(OFF_S)
    mark = csms.mark()
    t_on = clock.now()
    charger.power(True)
    led = getattr(rig, "led", None)
    if led is not None and spec.led.powerup is not None:
        _led_seen(led, clock, spec, measure, eol, spec.led.powerup.status, "led_powerup_s",
                  online=False)
    elif led is not None:
        eol.note("power-up colour not observed: the profile's light has no power-up row")
    else:
        eol.note("power-up colour not observed: this rig has no LED observer (rig.led)")
    heard = eol.prompt("Did the unit beep at power-up? [y/n]")
    measure("powerup_beep", 1.0 if heard.lower().startswith("y") else 0.0, low=1, high=1)
    boot = csms.wait_for("BootNotification", since=mark, timeout=BOOT_MAX_S)
    boot_s = boot.timestamp - t_on
    measure("boot_notification_s", boot_s, high=BOOT_MAX_S, unit="s")
    eol.delay("boot", boot_s, "mains on to BootNotification")
    assert boot["chargePointVendor"] == variant.charge_point_vendor
    assert boot["chargePointModel"] == variant.charge_point_model
    eol.fact("boot_firmware", boot.get("firmwareVersion"))
    eol.fact("boot_serial", boot.get("chargePointSerialNumber"))
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                  timeout=REACT_S)
    assert clock.wait_until(lambda: charger.status().get("boot") == "Accepted", REACT_S)


# -- 2. firmware, serial, RTM ----------------------------------------------------------
def test_identity_and_rtm(rig, csms, charger, spec, measure, eol):
    """Firmware and serial from the service console; they match what the unit told
    the backend at boot; the scanned serial matches on a real rig; RTM code clean."""
    firmware, serial = charger.firmware, charger.serial
    eol.fact("firmware", firmware)
    eol.fact("charger_serial", serial)
    scanned = eol.scanned_serial
    if scanned and not rig.config.virtual:
        measure("serial_matches_label", float(serial == scanned), low=1, high=1)
    elif scanned:
        eol.note(f"virtual bench: the twin's serial {serial} is not the scanned {scanned}")
    rtm = charger.rtm_code()
    measure("rtm_code", rtm, low=0, high=0)
    status = charger.status()
    assert status["connector"] == "Available", status


# -- 3. CP state walk and PWM duty -----------------------------------------------------
def test_cp_walk_and_pwm(csms, ev, charger, clock, spec, measure):
    """A → B → C → B → A with IEC 61851-1 levels; authorised in B the duty offers each
    current from the rated one down to the minimum (c_DeviceLimit_I) at 980–1020 Hz."""
    _level(measure, "cp_a_high_v", wait_cp(clock, ev, lambda r: r.state == "A", "A"), "A")
    _authorised_in_b(csms, ev, charger)
    reading = wait_cp(clock, ev, lambda r: r.state == "B" and r.freq_hz > 0, "B with PWM")
    _level(measure, "cp_b_high_v", reading, "B")
    measure("cp_low_v", reading.low_v, low=iec.CP_LOW_V - iec.CP_TOLERANCE_V,
            high=iec.CP_LOW_V + iec.CP_TOLERANCE_V, unit="V")
    measure("pwm_freq_hz", reading.freq_hz, low=iec.PWM_FREQ_MIN_HZ,
            high=iec.PWM_FREQ_MAX_HZ, unit="Hz")
    rated = float(spec.ratings["max_current_a"].value)
    for amps in (rated, 16.0, 10.0, float(spec.ratings["min_current_a"].value)):
        configure(csms, c_DeviceLimit_I=device_limit_value(spec, amps))
        wait_offered(clock, charger, amps)
        duty = iec.duty_for_amps(amps)
        reading = wait_cp(clock, ev, lambda r, d=duty: abs(r.duty_pct - d) < 5, f"{amps} A")
        measure(f"pwm_duty_{amps:g}a_pct", reading.duty_pct, low=duty - iec.DUTY_TOLERANCE_PCT,
                high=duty + iec.DUTY_TOLERANCE_PCT, unit="%")
    ev.set_state("C")
    _level(measure, "cp_c_high_v", wait_cp(clock, ev, lambda r: r.state == "C", "C"), "C")
    ev.set_state("B")
    wait_cp(clock, ev, lambda r: r.state == "B", "back to B")
    ev.unplug()
    csms.wait_for("StopTransaction")


# -- 4. PP rating (socketed) -----------------------------------------------------------
@pytest.mark.socketed
def test_pp_rating(csms, ev, charger, clock, spec, measure):
    """Each band's nominal resistor: the charger offers min(cable, rated) on CP."""
    rated = float(spec.ratings["max_current_a"].value)
    for band in spec.pp_bands:
        ev.set_pp(band.nominal_ohm)
        ev.set_state("B")
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        charger.present_tag(ACCEPTED_TAG)
        csms.wait_for("StartTransaction", connectorId=1)
        amps = min(float(band.amps), rated)
        wait_offered(clock, charger, amps)
        tol = iec.amps_tolerance(amps)
        measure(f"pp_{band.nominal_ohm:g}ohm_offered_a", ev.offered_current(),
                low=amps - tol, high=amps + tol, unit="A")
        ev.unplug()
        csms.wait_for("StopTransaction")
        csms.wait_for("StatusNotification", connectorId=1, status="Available")


# -- 5. one transaction: contactor timing, metering, MeterValues -----------------------
def test_transaction_metering(rig, csms, ev, charger, clock, spec, variant, ac_load, measure,
                              eol):
    """A complete transaction at the rated current: contactor close time; the
    charger's voltage, current (MeterValues) and energy (meterStop − meterStart)
    against the AC load within the meter's class; on a unit wired for more than one
    phase each phase's voltage and current (the web client's Power Meter
    Measurements, 004 §4.2: MeterValues carry L1 only) against the load's phase;
    contactor open time; the stop."""
    rated = float(spec.ratings["max_current_a"].value)
    accuracy = float(spec.ratings["meter_accuracy_pct"].value)
    marginal = 0.8 * accuracy
    nominal_v = float(spec.ratings["nominal_voltage_v"].value)
    window = energy_window_s(spec, nominal_v * rated)
    configure(csms, MeterValueSampleInterval=max(1, int(window / 4)))
    tx = _authorised_in_b(csms, ev, charger)
    start = next(m for m in csms.history.calls("StartTransaction"))
    meter_start = int(start["meterStart"])
    _live(clock, ev, ac_load, spec, measure, eol, rated, "contactor_close_s")
    t_closed = clock.now()
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    # The metering window: integrate the load's power (trapezoids on the rig clock).
    energy_ws, last_t, last_p = 0.0, t_closed, ac_load.measure().power
    while clock.now() - t_closed < window:
        clock.sleep(min(1.0, window / 20))
        reading, now = ac_load.measure(), clock.now()
        energy_ws += (reading.power + last_p) / 2 * (now - last_t)
        last_t, last_p = now, reading.power
    eol.delay("metering window", clock.now() - t_closed,
              "energy register resolution vs meter class (profile ratings)")
    values = csms.wait_for("MeterValues", connectorId=1, transactionId=tx, since=0)
    load = ac_load.measure()
    v = sampled(values.payload, "Voltage", "L1-N")
    i = sampled(values.payload, "Current.Import")
    assert v is not None and i is not None, f"MeterValues without voltage/current: {values}"
    for name, value, ref in (("meter_voltage_error_pct", v, load.voltage),
                             ("meter_current_error_pct", i, load.current)):
        measure(name, error_pct(value, ref), low=-accuracy, high=accuracy, unit="%",
                marginal_low=-marginal, marginal_high=marginal)
    _per_phase(rig, variant, ac_load, measure, eol, accuracy, marginal)
    # C → B: the contactor opens; the energy stops where the load stops drawing.
    t0 = ev.set_state("B")
    open_max = spec.timing.contactor_open_max_s
    opened = time_until_outlet(ev, t0, live=False, timeout=max(1.0, 10 * open_max))
    energy_ws += last_p * (t0 + opened - last_t)
    measure("contactor_open_s", opened, high=open_max, unit="s")
    ac_load.enable(False)
    ev.unplug()
    stop = csms.wait_for("StopTransaction", transactionId=tx)
    charged_wh = int(stop["meterStop"]) - meter_start
    measure("meter_energy_error_pct", error_pct(charged_wh, energy_ws / 3600), low=-accuracy,
            high=accuracy, unit="%", marginal_low=-marginal, marginal_high=marginal)
    n_values = len([m for m in csms.history.calls("MeterValues")
                    if m.payload.get("transactionId") == tx])
    measure("meter_values_in_tx", n_values, low=1, unit="messages")


def _per_phase(rig, variant, ac_load, measure, eol, accuracy: float, marginal: float) -> None:
    """Each wired phase's voltage and current as the charger measures them (web client)
    against the AC load's phase, within the meter's class."""
    if variant.phases < 2:
        return
    web = getattr(rig, "web", None)
    if web is None:
        eol.note("per-phase metering not checked: this rig has no charger web client")
        return
    shown, load = web.measurements(), ac_load.measure()
    if len(load.phase_voltages) < variant.phases:
        eol.note(f"per-phase metering not checked: the AC load measures "
                 f"{len(load.phase_voltages)} phase(s)")
        return
    for n in range(1, variant.phases + 1):
        suffix = "" if n == 1 else f"_l{n}"  # web_client keys: L1 is voltage_v, current_a
        for what, unit, ref in (("voltage", "v", load.phase_voltages[n - 1]),
                                ("current", "a", load.phase_currents[n - 1])):
            measure(f"meter_{what}_l{n}_error_pct", error_pct(shown[f"{what}{suffix}_{unit}"],
                                                              ref),
                    low=-accuracy, high=accuracy, unit="%", marginal_low=-marginal,
                    marginal_high=marginal)


# -- 6. residual current: AC and DC trip times ------------------------------------------
@pytest.mark.parametrize("dc", [False, True], ids=["ac", "dc"])
def test_rcd_trip(csms, ev, charger, clock, spec, ac_load, faults, measure, eol, dc):
    """Leakage at the rated residual current while charging at the minimum current:
    the outlet goes dead within the trip time, RTM shows the code; cleared by the
    web client's Clear Faults (profile recovery)."""
    rcd = spec.protections.rcd
    ma, code = (rcd.dc_ma, RCD_DC) if dc else (rcd.ac_ma, RCD_AC)
    kind = "dc" if dc else "ac"
    trip_max = float(spec.ratings[f"rcd_{kind}_trip_max_s"].value)
    _authorised_in_b(csms, ev, charger)
    _live(clock, ev, ac_load, spec, measure, eol, float(spec.ratings["min_current_a"].value),
          f"rcd_{kind}_contactor_close_s")
    t0 = clock.now()
    faults.leakage(ma, dc=dc)
    tripped = time_until_outlet(ev, t0, live=False, timeout=2 * trip_max)
    measure(f"rcd_{kind}_trip_s", tripped, high=trip_max, unit="s")
    eol.delay("rcd trip", tripped, kind)
    assert clock.wait_until(lambda: charger.rtm_code() & code, REACT_S)
    measure(f"rcd_{kind}_rtm_code", charger.rtm_code() & code, low=code, high=code)
    faults.leakage(0, dc=dc)
    assert "web_clear" in spec.rtm(code).recovery
    charger.clear_faults()
    assert clock.wait_until(lambda: charger.rtm_code() & code == 0, REACT_S)


# -- 7. over/undervoltage: trip and automatic recovery ---------------------------------
def test_voltage_trip_and_recovery(csms, ev, charger, clock, spec, ac_source, ac_load,
                                   measure, eol):
    """Charging; the supply just outside the software band (above, then below): the
    outlet goes dead, the RTM code is set; back at nominal the charger recovers by
    itself (recovery auto) and the load draws again."""
    volt = spec.protections.voltage
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    amps = float(spec.ratings["min_current_a"].value)
    _authorised_in_b(csms, ev, charger)
    _live(clock, ev, ac_load, spec, measure, eol, amps, "voltage_contactor_close_s")
    for side, volts, code in (("over", volt.high_v + VOLT_MARGIN_V, OVERVOLTAGE),
                              ("under", volt.low_v - VOLT_MARGIN_V, UNDERVOLTAGE)):
        assert spec.rtm(code).auto_recovery
        t0 = clock.now()
        ac_source.set_voltage(volts)
        tripped = time_until_outlet(ev, t0, live=False, timeout=REACT_S)
        measure(f"{side}voltage_trip_s", tripped, high=REACT_S, unit="s")
        eol.delay(f"{side}voltage trip", tripped)
        assert clock.wait_until(lambda c=code: charger.rtm_code() & c, REACT_S)
        t0 = clock.now()
        ac_source.set_voltage(nominal)
        back = time_until_outlet(ev, t0, live=True, timeout=2 * REACT_S)
        measure(f"{side}voltage_recovery_s", back, high=REACT_S, unit="s")
        eol.delay(f"{side}voltage recovery", back, "auto recovery incl. contactor close")
        assert charger.rtm_code() & code == 0
    assert ac_load.measure().current > ZERO_A


# -- 8. LED colours: Available, Charging, Faulted ---------------------------------------
def test_led_colours(csms, ev, charger, clock, spec, ac_source, ac_load, led_observer,
                     measure, eol):
    """The ring shows the profile's online pattern for Available, Charging and
    Faulted (an overvoltage, which recovers by itself)."""
    def seen(status: str, name: str) -> None:
        _led_seen(led_observer, clock, spec, measure, eol, status, name)

    seen("Available", "led_available_s")
    _authorised_in_b(csms, ev, charger)
    _live(clock, ev, ac_load, spec, measure, eol, float(spec.ratings["min_current_a"].value),
          "led_contactor_close_s")
    seen("Charging", "led_charging_s")
    ac_source.set_voltage(spec.protections.voltage.high_v + VOLT_MARGIN_V)
    seen("Faulted", "led_faulted_s")
    ac_source.set_voltage(float(spec.ratings["nominal_voltage_v"].value))
    seen("Charging", "led_charging_again_s")
