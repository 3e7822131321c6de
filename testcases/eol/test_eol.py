"""The end-of-line sequence (issue 6, design §6): every unit off the line runs it.

Steps in file order (``rig run eol`` runs them so, one bench, no xdist); each step
stands alone (the bench keeper resets between them), so ``make test`` may also
spread them over workers. Every value goes through ``measure`` with limits from the
profile (``spec``) or IEC 61851-1 (testcases.pilot.iec61851).

Order for the least spec time: the power-up is the only boot (the bench starts with
the unit dark: ``powered_off``, fixtures/bench_reset.py); the CP walk and the
PP check need no contactor (state B, authorised); one transaction carries the
contactor timing, the metering at three load points, the energy register and the
normal stop; the trips follow, each on the shortest session that makes the outlet
live.
"""

from __future__ import annotations

import pytest

from evrig.testcases.eol.metering import (
    PLAUSIBLE_COUNTS,
    SAMPLE_INTERVAL_S,
    LoadEnergy,
    load_point,
    load_points,
    read_load,
    register_count_wh,
    register_limits,
)
from evrig.testcases.eol.steps import (
    authorised_in_b,
    error_pct,
    indicator_window,
    led_seen,
    live,
    powerup_window,
    sampled,
    time_until_outlet,
    until_down,
)
from evrig.testcases.eol.unit_faults import fault_strings
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import cap_offer, wait_cp, wait_offered
from evrig.testcases.protection.checks import REACT_S

pytestmark = pytest.mark.eol

BOOT_MAX_S = 60.0  # the protection testcases' boot budget (testcases.protection.checks)


def _level(measure, name: str, reading, state: str) -> None:
    nominal = iec.CP_NOMINAL_V[state]
    measure(name, reading.high_v, low=nominal - iec.CP_TOLERANCE_V,
            high=nominal + iec.CP_TOLERANCE_V, unit="V")


# -- 1. power-up self-test and OCPP boot ------------------------------------------------
@pytest.mark.powered_off  # the bench starts dark: this boot is the run's only one
def test_power_up_and_boot(rig, csms, ev, charger, clock, spec, variant, measure, eol):
    """Mains on with the unit down: it beeps and shows the power-up colour (operator on
    a real rig; the LED observer where fitted), boots and sends BootNotification with
    the variant's vendor and model; the backend accepts it. The charger's delay is its
    boot up to Available; the light is looked at meanwhile (only a look that outlasts
    the boot adds to it). A unit the bench has not fed since before the run (its first
    step) is powered up at once; one fed since is seen to go down first (its pilot
    gone: steps.until_down)."""
    eol.prompt(f"EOL harness connected to unit {eol.scanned_serial or '(no serial)'}? [y]")
    if rig.mains_on:
        charger.power(False)
    if rig.mains_off_at > float("-inf"):
        until_down(clock, ev, eol, rig.mains_off_at)
    mark = csms.mark()
    t_on = clock.now()
    charger.power(True)
    led = getattr(rig, "led", None)
    t_looked = t_on
    if led is not None and spec.led.powerup is not None:
        led_seen(led, clock, spec, measure, eol, spec.led.powerup.status, "led_powerup_s",
                 online=False, window=powerup_window(spec), record=False)
        t_looked = clock.now()
    elif led is not None:
        eol.note("power-up colour not observed: the profile's light has no power-up row")
    else:
        eol.note("power-up colour not observed: this rig has no LED observer (rig.led)")
    heard = eol.prompt("Did the unit beep at power-up? [y/n]")
    measure("powerup_beep", 1.0 if heard.lower().startswith("y") else 0.0, low=1, high=1)
    boot = csms.wait_for("BootNotification", since=mark, timeout=BOOT_MAX_S)
    boot_s = boot.timestamp - t_on
    measure("boot_notification_s", boot_s, high=BOOT_MAX_S, unit="s")
    assert boot["chargePointVendor"] == variant.charge_point_vendor
    assert boot["chargePointModel"] == variant.charge_point_model
    eol.fact("boot_firmware", boot.get("firmwareVersion"))
    eol.fact("boot_serial", boot.get("chargePointSerialNumber"))
    up = csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                       timeout=REACT_S)
    assert clock.wait_until(lambda: charger.status().get("boot") == "Accepted", REACT_S)
    eol.delay("boot", up.timestamp - t_on, "mains on to StatusNotification Available")
    if t_looked > up.timestamp:
        eol.delay("led observation", t_looked - up.timestamp,
                  "the power-up light's look, past the boot")


# -- 2. firmware, serial, fault-free -----------------------------------------------------
def test_identity_and_rtm(rig, csms, charger, spec, measure, eol):
    """Firmware and serial from the service console; they match what the unit told
    the backend at boot; the scanned serial matches on a real rig; no fault shown —
    the RTM register clean where the profile has one (EV NET), no fault string on the
    display and the fault indicator off where the unit has them (EV PLUS, 003 §7.1)."""
    firmware, serial = charger.firmware, charger.serial
    eol.fact("firmware", firmware)
    eol.fact("charger_serial", serial)
    scanned = eol.scanned_serial
    if scanned and not rig.config.virtual:
        measure("serial_matches_label", float(serial == scanned), low=1, high=1)
    elif scanned:
        eol.note(f"virtual bench: the twin's serial {serial} is not the scanned {scanned}")
    if spec.rtm_codes:
        measure("rtm_code", charger.rtm_code(), low=0, high=0)
    display = getattr(rig, "display", None)
    if display is not None:
        text = display.text()
        eol.fact("display", text)
        measure("display_fault_string", float(text in fault_strings(spec)), low=0, high=0)
    indicators = getattr(rig, "indicators", None)
    if indicators is not None and "fault" in indicators.names:
        window = indicator_window(spec, "fault")
        with eol.charger_wait("led observation", f"fault indicator off, a {window:g} s look"):
            indicators.wait_for("fault", "NoFault", timeout=REACT_S, window=window)
    status = charger.status()
    assert status["connector"] == "Available", status


# -- 3. CP state walk and PWM duty -----------------------------------------------------
def test_cp_walk_and_pwm(csms, ev, charger, clock, spec, measure, eol):
    """A → B → C → B → A with IEC 61851-1 levels; authorised in B the duty offers each
    current from the rated one down to the minimum (capped by c_DeviceLimit_I, or a
    ChargePointMaxProfile where the unit has no such key) at 980–1020 Hz."""
    _level(measure, "cp_a_high_v", wait_cp(clock, ev, lambda r: r.state == "A", "A"), "A")
    authorised_in_b(csms, ev, charger, eol=eol)
    with eol.charger_wait("response", "authorised: PWM on CP"):
        reading = wait_cp(clock, ev, lambda r: r.state == "B" and r.freq_hz > 0, "B with PWM")
    _level(measure, "cp_b_high_v", reading, "B")
    measure("cp_low_v", reading.low_v, low=iec.CP_LOW_V - iec.CP_TOLERANCE_V,
            high=iec.CP_LOW_V + iec.CP_TOLERANCE_V, unit="V")
    measure("pwm_freq_hz", reading.freq_hz, low=iec.PWM_FREQ_MIN_HZ,
            high=iec.PWM_FREQ_MAX_HZ, unit="Hz")
    rated = float(spec.ratings["max_current_a"].value)
    for amps in (rated, 16.0, 10.0, float(spec.ratings["min_current_a"].value)):
        duty = iec.duty_for_amps(amps)
        with eol.charger_wait("response", f"offer capped at {amps:g} A: PWM duty"):
            cap_offer(csms, spec, amps)
            wait_offered(clock, charger, amps)
            reading = wait_cp(clock, ev, lambda r, d=duty: abs(r.duty_pct - d) < 5,
                              f"{amps} A")
        measure(f"pwm_duty_{amps:g}a_pct", reading.duty_pct, low=duty - iec.DUTY_TOLERANCE_PCT,
                high=duty + iec.DUTY_TOLERANCE_PCT, unit="%")
    ev.set_state("C")
    _level(measure, "cp_c_high_v", wait_cp(clock, ev, lambda r: r.state == "C", "C"), "C")
    ev.set_state("B")
    wait_cp(clock, ev, lambda r: r.state == "B", "back to B")
    ev.unplug()
    with eol.charger_wait("response", "unplugged: StopTransaction"):
        csms.wait_for("StopTransaction")


# -- 4. PP rating (socketed) -----------------------------------------------------------
@pytest.mark.socketed
def test_pp_rating(csms, ev, charger, clock, spec, measure, eol):
    """Each band's nominal resistor: the charger offers min(cable, rated) on CP."""
    rated = float(spec.ratings["max_current_a"].value)
    for band in spec.pp_bands:
        ev.set_pp(band.nominal_ohm)
        ev.set_state("B")
        amps = min(float(band.amps), rated)
        with eol.charger_wait("response", f"{band.nominal_ohm:g} ohm: Preparing"):
            csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        charger.present_tag(ACCEPTED_TAG)
        with eol.charger_wait("response", f"{band.nominal_ohm:g} ohm: card to {amps:g} A"):
            csms.wait_for("StartTransaction", connectorId=1)
            wait_offered(clock, charger, amps)
        tol = iec.amps_tolerance(amps)
        measure(f"pp_{band.nominal_ohm:g}ohm_offered_a", ev.offered_current(),
                low=amps - tol, high=amps + tol, unit="A")
        ev.unplug()
        with eol.charger_wait("response", f"{band.nominal_ohm:g} ohm: unplugged"):
            csms.wait_for("StopTransaction")
            csms.wait_for("StatusNotification", connectorId=1, status="Available")


# -- 5. one transaction: contactor timing, metering at load points, the register -----
def test_transaction_metering(rig, csms, ev, charger, clock, spec, variant, ac_load, measure,
                              eol):
    """One transaction: the contactor's close time; at each load point (minimum,
    middle, rated current) the charger's voltage and current in MeterValues against
    the AC load within the meter's class; at the rated current on a unit wired for
    more than one phase each phase against the load's (the web client's Power Meter
    Measurements, 004 §4.2: MeterValues carry L1 only); the contactor's open time;
    then the energy register's plausibility: meterStop − meterStart against the energy
    through the load, within the class plus one count of the register (metering.py)."""
    accuracy = float(spec.ratings["meter_accuracy_pct"].value)
    marginal = 0.8 * accuracy
    points = load_points(spec)
    configure(csms, MeterValueSampleInterval=SAMPLE_INTERVAL_S)
    tx = authorised_in_b(csms, ev, charger, eol=eol)
    meter_start = int(next(iter(csms.history.calls("StartTransaction")))["meterStart"])
    energy = LoadEnergy(live(clock, ev, ac_load, spec, measure, eol, points[0],
                             "contactor_close_s"))
    with eol.charger_wait("response", "contactor closed: StatusNotification Charging"):
        csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    for amps in points:
        values, load = load_point(csms, clock, spec, ac_load, eol, energy, tx, amps)
        v = sampled(values, "Voltage", "L1-N")
        i = sampled(values, "Current.Import")
        assert v is not None and i is not None, f"MeterValues without voltage/current: {values}"
        for what, value, ref in (("voltage", v, load.voltage), ("current", i, load.current)):
            measure(f"meter_{what}_{amps:g}a_error_pct", error_pct(value, ref), low=-accuracy,
                    high=accuracy, unit="%", marginal_low=-marginal, marginal_high=marginal)
    _per_phase(rig, variant, ac_load, measure, eol, accuracy, marginal)
    count = register_count_wh(spec)
    short_wh = PLAUSIBLE_COUNTS * count - energy.wh(clock.now())
    if short_wh > 0:  # the points were quicker than the register check needs: top up
        clock.sleep(short_wh * 3600 / max(ac_load.measure().power, 1.0))
        read_load(ac_load, clock, energy)
    # C → B: the contactor opens; the energy stops where the load stops drawing.
    t0 = ev.set_state("B")
    open_max = spec.timing.contactor_open_max_s
    opened = time_until_outlet(ev, t0, live=False, timeout=max(1.0, 10 * open_max))
    measure("contactor_open_s", opened, high=open_max, unit="s")
    eol.delay("contactor open", opened, "contactor_open_s")
    reference_wh = energy.wh(t0 + opened)
    ac_load.enable(False)
    ev.unplug()
    with eol.charger_wait("response", "unplugged: StopTransaction"):
        stop = csms.wait_for("StopTransaction", transactionId=tx)
    low, high = register_limits(spec, reference_wh)
    charged_wh = int(stop["meterStop"]) - meter_start
    measure("meter_energy_register_wh", charged_wh, low=round(low, 2), high=round(high, 2),
            unit="Wh")
    n_values = len([m for m in csms.history.calls("MeterValues")
                    if m.payload.get("transactionId") == tx])
    measure("meter_values_in_tx", n_values, low=len(points), unit="messages")
    eol.note(f"metering proven: voltage and current within ±{accuracy:g} % (class, profile "
             f"meter_accuracy_pct) at {', '.join(f'{a:g}' for a in points)} A; the energy "
             f"register plausible only (advanced {charged_wh} Wh for {reference_wh:.2f} Wh "
             f"through the load, allowed {low:.2f}-{high:.2f} Wh: the class and one "
             f"{count:g} Wh count), not its class")


def _per_phase(rig, variant, ac_load, measure, eol, accuracy: float, marginal: float) -> None:
    """Each wired phase's voltage and current as the charger measures them (web client)
    against the AC load's phase, within the meter's class."""
    if variant.phases < 2:
        return
    web = getattr(rig, "web", None)
    if web is None or "measurements" not in rig.profile.web_client:
        # The EV PLUS web app's State page shows L1 only (003 §8.1.2 step 3).
        eol.note("per-phase metering not checked: this rig has no charger web client "
                 "with the Power Meter Measurements")
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
