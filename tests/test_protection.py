"""The twin's protection firmware (sim/charger/protection.py) driven through a
Firmware and its Circuit: thresholds just inside and outside, timers on a fake
clock, and each profile recovery rule."""

from __future__ import annotations

import pytest

from evrig.rig.profile import load_profile
from evrig.sim.charger.protection import (
    CONTACTOR_CLOSE_S,
    CONTACTOR_OPEN_S,
    Actuator,
    BoardSupply,
    pwm_duty,
)
from tests.twin_doubles import Bench

PROFILE = load_profile("evnet-7kw")
CODE = {r.name: r.code for r in PROFILE.rtm_codes.values()}


# -- PWM and the offered current ------------------------------------------------------
@pytest.mark.parametrize(("amps", "duty"), [
    (5.9, None), (6, 10.0), (13, 21.7), (32, 53.3), (51, 85.0), (60, 88.0), (80, 96.0)])
def test_pwm_duty_follows_iec_61851(amps, duty):
    assert pwm_duty(amps, PROFILE.ratings["min_current_a"].value) == duty


def test_no_pwm_before_authorization_then_offered_current():
    b = Bench()
    b.plug(pp=220)
    assert b.fw.pwm_duty() is None  # x1: steady +12 V until authorized
    b.authorize()
    assert b.fw.tx is not None and b.fw.pwm_duty() == 53.3


def test_pp_cable_rating_limits_the_offer():
    b = Bench()
    b.plug(pp=680)
    b.authorize()
    assert b.fw.offered_current() == 20 and b.fw.limit_reason == "ProximityPilotLimit"
    assert b.fw.pwm_duty() == 33.3


def test_missing_pp_on_a_socket_is_0x0200_and_no_session():
    b = Bench("S")
    b.plug(pp=None)
    b.authorize()
    assert b.fw.rtm == CODE["EVSE_FAULT_PP_UNPRESENT"] and b.fw.tx is None
    assert b.fw.error_code() == ("OtherError", "0x0200")
    assert b.unplug() == 0  # recovery: unplug


def test_pp_outside_every_band_counts_as_missing():
    b = Bench("S")
    b.plug(pp=50)
    b.authorize()
    assert b.fw.rtm == CODE["EVSE_FAULT_PP_UNPRESENT"]


def test_tethered_unit_ignores_pp():
    b = Bench("T2")
    b.plug(pp=None)
    b.authorize()
    assert b.fw.rtm == 0 and b.fw.tx is not None
    assert b.fw.limit_reason == "DeviceCurrentLimit"


def test_offered_current_is_the_minimum_of_the_evse_limits():
    b = Bench()
    b.plug(pp=220)
    b.fw.config.change("c_DeviceLimit_I", "250")
    assert (b.fw.offered_current(), b.fw.limit_reason) == (25.0, "DeviceCurrentLimit")
    b.board.ct_a = 18.0
    assert (b.fw.offered_current(), b.fw.limit_reason) == (18.0, "ExtTransformerCurrentLimit")
    b.fw.config.change("c_MainFuseLimit", "200")  # a 20 A breaker: 16 A (000 Table 1)
    assert (b.fw.offered_current(), b.fw.limit_reason) == (16.0, "FuseLimit")
    b.board.temperature_c = 77
    assert (b.fw.offered_current(), b.fw.limit_reason) == (16.0, "FuseLimit")
    b.board.temperature_c = 78
    assert (b.fw.offered_current(), b.fw.limit_reason) == (12.0, "DeviceTemperatureLimit")


def test_twin_pilot_output_is_pwm_only_while_offering():
    from evrig.sim.charger.twin import ChargerTwin

    b = Bench()
    twin = ChargerTwin(profile=PROFILE, variant="S", clock=b.clock, relays=lambda: dict(b.relays),
                       pp_ohms=lambda: b.pp[0], csms_url=lambda: "", charge_point_id="X")
    assert twin.pilot_output() == (0.0, 0.0, 0.0, 0.0)  # board off: CP dead
    twin.powered, twin.fw = True, b.fw
    assert twin.pilot_output() == (100.0, 0.0, 12.0, 12.0)  # state A: steady +12 V
    b.plug(pp=220)
    duty, freq, high, low = twin.pilot_output()
    assert (duty, freq, low) == (100.0, 0.0, high) and 8.0 <= high <= 10.0  # x1
    b.authorize()
    duty, freq, high, low = twin.pilot_output()
    assert (duty, freq, low) == (53.3, 1000.0, -12.0) and 8.0 <= high <= 10.0  # x2


# -- contactor timing -----------------------------------------------------------------
def test_contactor_delays_are_real_and_inside_the_profile_bounds():
    assert 0 < CONTACTOR_OPEN_S <= PROFILE.timing.contactor_open_max_s
    assert 0 < CONTACTOR_CLOSE_S <= PROFILE.timing.contactor_close_max_s
    b = Bench()
    b.plug()
    b.authorize()
    b.relays.update(r_c=True)
    b.step()
    b.step(CONTACTOR_CLOSE_S - 0.01)
    assert not b.circuit.contactor_closed  # still closing
    b.step(0.01)
    assert b.circuit.contactor_closed
    assert b.fw.connector_status() == "Charging"
    b.relays["r_c"] = False  # C → B
    b.step()
    b.step(CONTACTOR_OPEN_S - 0.01)
    assert b.circuit.contactor_closed
    b.step(0.01)
    assert not b.circuit.contactor_closed


def test_firmware_wakes_for_a_pending_switch():
    b = Bench()
    b.charge()
    b.relays["r_c"] = False
    b.step()
    assert b.fw._wait_s() == pytest.approx(CONTACTOR_OPEN_S)


# -- RCD ------------------------------------------------------------------------------
def test_rcd_ac_trips_at_30_ma_and_needs_web_clear_or_power_cycle():
    b = Bench()
    b.charge()
    b.set_fault(leakage_ac_ma=29.9)
    assert b.step() == 0
    b.set_fault(leakage_ac_ma=30.0)
    assert b.step() == CODE["EVSE_FAULT_RCD"]
    assert b.fw.error_code() == ("GroundFailure", "0x0001")
    b.run(CONTACTOR_OPEN_S + 0.1)
    assert not b.circuit.contactor_closed
    b.set_fault(leakage_ac_ma=0.0)
    assert b.unplug() == CODE["EVSE_FAULT_RCD"]  # not cleared by unplugging
    b.fw.clear_faults()
    assert b.step() == 0


def test_rcd_dc_6_ma_sets_0x0008_and_0x0001():
    b = Bench()
    b.charge()
    b.set_fault(leakage_dc_ma=5.9)
    assert b.step() == 0
    b.set_fault(leakage_dc_ma=6.0)
    assert b.step() == CODE["EVSE_FAULT_RCD_DC"] | CODE["EVSE_FAULT_RCD"]


def test_rcd_type_2_ignores_dc():
    b = Bench()
    b.fw.config.change(PROFILE.protections.rcd.type_key, "2")
    b.charge()
    b.set_fault(leakage_dc_ma=10.0)
    assert b.step() == 0
    b.set_fault(leakage_ac_ma=30.0)
    assert b.step() == CODE["EVSE_FAULT_RCD"]


# -- neutral --------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [{"n_pe_v": 70.1}, {"ln_swapped": True}, {"pe_open": True}])
def test_neutral_faults_are_0x0002(fault):
    b = Bench()
    b.set_fault(n_pe_v=70.0)
    assert b.step() == 0
    b.set_fault(**fault)
    assert b.step() == CODE["EVSE_FAULT_NEUTRAL"]
    b.set_fault(n_pe_v=0.0, ln_swapped=False, pe_open=False)
    assert b.step() == CODE["EVSE_FAULT_NEUTRAL"]  # latched (web_clear, power_cycle)
    b.fw.clear_faults()
    assert b.step() == 0


def test_clearing_with_the_cause_present_trips_again():
    b = Bench()
    b.set_fault(ln_swapped=True)
    b.step()
    b.fw.clear_faults()
    assert b.step() == CODE["EVSE_FAULT_NEUTRAL"]


# -- overcurrent ----------------------------------------------------------------------
def test_overcurrent_needs_more_than_110_percent_for_more_than_6_s():
    b = Bench()
    b.charge(amps=35.2)  # exactly 110 % of 32 A: inside
    assert b.run(10) == 0
    b.circuit.set_load(35.3)
    assert b.run(5.9) == 0
    b.circuit.set_load(30.0)  # the EV follows: the timer restarts
    b.step(0.25)
    b.circuit.set_load(35.3)
    assert b.run(6.0) == 0
    assert b.run(0.5) == CODE["EVSE_FAULT_OVERCURRENT"]
    assert b.fw.error_code()[0] == "OverCurrentFailure"
    b.circuit.load_enabled = False
    assert b.unplug() == 0  # recovery: unplug


def test_overcurrent_is_against_the_present_offered_current():
    b = Bench()
    b.charge(amps=20.0)
    b.board.temperature_c = 77  # derated to 17 A: 20 A > 18.7 A
    assert b.run(6.0) == 0
    assert b.run(0.5) == CODE["EVSE_FAULT_OVERCURRENT"]


def test_hardware_overcurrent_trip_is_immediate():
    b = Bench()
    b.charge(amps=38.4)  # 1.2 × 32 A: not above
    assert b.step() == 0
    b.circuit.set_load(38.5)
    assert b.step(0.01) == CODE["EVSE_FAULT_OVERCURRENT"]


# -- temperature ----------------------------------------------------------------------
def test_temperature_derating_then_fault_above_79():
    b = Bench()
    b.charge()
    for temp, amps in ((71.9, 32.0), (72, 31.8), (75.5, 20.8), (79, 6.0)):
        b.board.temperature_c = temp
        assert b.step() == 0
        assert b.fw.offered_current() == amps
    assert b.fw.limit_reason == "DeviceTemperatureLimit"
    b.board.temperature_c = 79.1
    assert b.step() == CODE["EVSE_FAULT_TEMPERATURE"]
    assert b.fw.error_code()[0] == "HighTemperature"
    b.board.temperature_c = 25
    assert b.step() == CODE["EVSE_FAULT_TEMPERATURE"]  # no auto recovery
    b.fw.clear_faults()
    assert b.step() == 0


# -- voltage --------------------------------------------------------------------------
def _volts(b: Bench, v: float) -> int:
    b.circuit.supply.volts[0] = v
    return b.step()


def test_voltage_faults_auto_recover_with_the_0x4000_flag():
    b = Bench()
    under = CODE["EVSE_FAULT_UNDERVOLTAGE"] | CODE["EVSE_FAULTS_AUTO_RECOVERY"]
    over = CODE["EVSE_FAULT_OVERVOLTAGE"] | CODE["EVSE_FAULTS_AUTO_RECOVERY"]
    assert _volts(b, 207) == 0 and _volts(b, 253) == 0
    assert _volts(b, 206.9) == under
    assert b.fw.error_code() == ("UnderVoltage", "0x6000")
    assert _volts(b, 230) == 0
    assert _volts(b, 253.1) == over
    assert _volts(b, 230) == 0


def test_voltage_offset_widens_both_thresholds():
    b = Bench()
    b.fw.config.change(PROFILE.protections.voltage.offset_key, "23")
    assert _volts(b, 184) == 0 and _volts(b, 276) == 0
    assert _volts(b, 183.9) & CODE["EVSE_FAULT_UNDERVOLTAGE"]


def test_voltage_fault_suspends_and_resumes_the_session():
    b = Bench()
    b.charge()
    _volts(b, 260)
    b.run(0.25)
    assert not b.circuit.contactor_closed and b.fw.tx is not None
    _volts(b, 230)
    b.run(CONTACTOR_CLOSE_S + 0.25)
    assert b.circuit.contactor_closed


def test_auto_flag_stays_while_another_auto_fault_is_set():
    b = Bench()
    meter = CODE["EVSE_FAULT_MISSING_EXT_EMETER"]
    b.fw.raise_fault("meter_missing")  # detected by the RS-485 master
    b.board.meter_missing = True  # the RS-485 master still misses the meter
    _volts(b, 260)
    assert _volts(b, 230) == meter | CODE["EVSE_FAULTS_AUTO_RECOVERY"]


def test_board_supply_hardware_shutdown():
    s = BoardSupply(PROFILE.protections.voltage)
    assert not s.board_on(114.9) and s.board_on(115) and s.board_on(300)
    assert not s.board_on(300.1)
    assert not s.board_on(230)  # stays off
    assert not s.board_on(0) and s.board_on(230)  # mains off and on: boots


# -- relay, tamper, calibration, actuator ---------------------------------------------
def test_welded_relay_is_0x0010_with_the_live_contact_code():
    b = Bench()
    b.set_fault(relay_welded=True)
    code = b.step()
    assert code == CODE["EVSE_FAULTS_POWER_RELAY"] | CODE["EVSE_FAULT_VL_OUT_OPEN"]
    assert b.fw.error_code() == ("PowerSwitchFailure", "0x40010")


def test_welded_relay_found_when_the_session_ends():
    b = Bench()
    b.charge()
    b.set_fault(relay_welded=True)
    assert b.step() == 0  # closed as commanded: nothing to see
    b.relays["r_c"] = False
    b.run(CONTACTOR_OPEN_S + 0.5)
    assert b.fw.rtm & CODE["EVSE_FAULTS_POWER_RELAY"]


def test_tamper_latches_until_cleared():
    b = Bench()
    b.board.tamper = True
    assert b.step() == CODE["EVSE_TAMPER_EVENT"]
    b.board.tamper = False
    assert b.step() == CODE["EVSE_TAMPER_EVENT"]
    b.fw.clear_faults()
    assert b.step() == 0


def test_calibration_fault_is_not_cleared_by_web_clear_or_unplug():
    b = Bench()
    b.fw.raise_fault("calibration_lost")  # what the twin does at boot with calfail on
    b.fw.clear_faults()
    b.plug()
    assert b.unplug() == CODE["EVSE_FAULT_CAL"]


def test_actuator_gives_up_after_the_profile_attempts():
    attempts = PROFILE.protections.actuator.attempts
    a = Actuator(attempts)
    a.jam(attempts - 1)
    assert a.operate() and a.last_attempts == attempts
    a.jam(attempts)
    assert not a.operate()
    assert a.operate()  # the jam was used up by the failed operation


def test_lock_failure_is_0x0020_and_unlock_failure_at_session_end_0x0040():
    b = Bench()
    b.board.actuator.jam()
    b.plug()
    b.authorize()
    assert b.fw.rtm == CODE["EVSE_FAULT_ACT_LOCK_FAULT"] and b.fw.tx is None
    assert b.unplug() == 0
    b.board.actuator.jam(0)
    b.charge()
    b.board.actuator.jam()
    b.fw.stop_transaction("Local")
    assert b.fw.rtm & CODE["EVSE_FAULT_ACT_UNLOCK_FAULT"]
    assert b.unplug() & CODE["EVSE_FAULT_ACT_UNLOCK_FAULT"]  # the plug is held


def test_faulted_status_carries_the_profile_error_code():
    b = Bench()
    b.charge()
    b.set_fault(leakage_dc_ma=6.0)
    b.step()
    sent = [p for a, p in b.link.sent if a == "StatusNotification" and p["status"] == "Faulted"]
    assert sent[-1]["errorCode"] == "GroundFailure" and sent[-1]["vendorErrorCode"] == "0x0009"


# -- through the service console on the virtual bench ----------------------------------
def test_console_overrides_reach_the_protections(rig):
    charger, clock = rig.charger, rig.clock
    rtm = CODE["EVSE_FAULT_TEMPERATURE"]
    tamper = CODE["EVSE_TAMPER_EVENT"]

    def status() -> dict[str, str]:
        try:
            return charger.status()
        except Exception:  # powered off or booting
            return {}

    try:
        assert clock.wait_until(lambda: status().get("connector"), 60), "charger never up"
        charger.set_temperature(78)
        assert clock.wait_until(lambda: status().get("limit") == "DeviceTemperatureLimit", 5)
        assert float(status()["offered"]) == 12.0 and status()["temp"] == "78.0"
        charger.set_temperature(80)
        assert clock.wait_until(lambda: charger.rtm_code() & rtm, 5)
        charger.set_temperature(None)
        clock.sleep(1)
        assert charger.rtm_code() & rtm  # latched
        charger.clear_faults()
        assert clock.wait_until(lambda: charger.rtm_code() == 0, 5)
        charger.tamper(True)
        assert clock.wait_until(lambda: charger.rtm_code() == tamper, 5)
        charger.tamper(False)
        charger.clear_faults()
        assert clock.wait_until(lambda: charger.rtm_code() == 0, 5)
    finally:
        charger.set_temperature(None)
        charger.tamper(False)
        if charger.rtm_code():
            charger.clear_faults()
        rig.safe_state()
