"""The EV NET COMPACT's web client as 004 §4.2 shows it (profile ``web_client``):
Locker Configuration (LOCK/UNLOCK, Activate/Deactivate, Unlock Connector On Charging
Session End and its power-loss rule), Device Control (Unlock Connector, Set
Available, Clear Reservation), Configuration of External Devices (Phases Number,
RS485 Bus Device), Time & Charge Times (the periods and Max Delayed Start Time as
configuration keys), Offline Messages Information. Each effect is observed where it
shows: the lock (service console), the backend's messages, the RTM register."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from ocpp.v16 import call

from evrig.rig.errors import InstrumentError
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, read_config, start_charging
from evrig.testcases.protection.checks import expect_phases_mismatch

SETTLE_S = 10.0  # spec seconds for the charger to react (our budget, as the web testcases)
BOOT_S = 60.0  # the protection testcases' boot budget (testcases/protection/checks.py)
locker = pytest.mark.applies(web=("locker_status", "locker_configuration"))


def _lock(charger) -> str:
    return charger.status()["lock"]


def _session_ended_by_ev(csms, ev) -> None:
    ev.set_state("B")
    ev.unplug()
    csms.wait_for("StopTransaction", timeout=SETTLE_S)


@locker
@pytest.mark.socketed
def test_lock_and_unlock_buttons_move_the_pin(web, charger, clock):
    """Locker Control LOCK / UNLOCK (004 §4.2): the pin moves, Locker Status and the
    charger's own lock sense agree."""
    assert web.locker_status() == {"locked": False, "error_code": 0}
    web.lock()
    assert web.locker_status()["locked"] and _lock(charger) == "locked"
    web.unlock()
    assert not web.locker_status()["locked"] and _lock(charger) == "unlocked"


@locker
@pytest.mark.socketed
def test_deactivated_locker_is_never_operated(csms, ev, web, charger, clock, faults):
    """Locker → Deactivate (c_LockerDisengage, 004 §4.2 'to disable the lock feature'):
    LOCK is refused and a session runs with no lock attempt — a jammed actuator
    raises no lock fault."""
    web.configure_locker(active=False, unlock_on_session_end=True)
    assert read_config(csms, "c_LockerDisengage") == "false"
    with pytest.raises(InstrumentError, match="deactivated"):
        web.lock()
    faults.lock_jam(True)
    start_charging(csms, ev, charger)
    assert _lock(charger) == "none" and charger.rtm_code() == 0


@locker
@pytest.mark.socketed
@pytest.mark.parametrize("unlock_on_end", [True, False], ids=["enable", "disable"])
def test_unlock_on_session_end(csms, ev, web, charger, clock, unlock_on_end):
    """Unlock Connector On Charging Session End (004 §4.2, C → A): Enable frees the
    plug when the session ends, Disable keeps it locked (a cord meant to stay) until
    UNLOCK."""
    web.configure_locker(active=True, unlock_on_session_end=unlock_on_end)
    assert web.locker_settings() == {"active": True, "unlock_on_session_end": unlock_on_end}
    start_charging(csms, ev, charger)
    assert _lock(charger) == "locked"
    _session_ended_by_ev(csms, ev)
    expected = "unlocked" if unlock_on_end else "locked"
    assert clock.wait_until(lambda: _lock(charger) == expected, SETTLE_S), _lock(charger)
    web.unlock()
    assert _lock(charger) == "unlocked"


@locker
@pytest.mark.socketed
@pytest.mark.parametrize("unlock_on_end", [True, False], ids=["enable", "disable"])
def test_power_loss_disengages_the_locker_only_when_enabled(csms, web, charger,
                                                             unlock_on_end):
    """004 §4.2 note: 'when enabled, the locker automatically disengages if the
    charger loses power'; disabled, a locked plug stays locked across the outage."""
    web.configure_locker(active=True, unlock_on_session_end=unlock_on_end)
    web.lock()
    mark = csms.mark()
    charger.power_cycle(off_s=2.0)
    csms.wait_for("BootNotification", since=mark, timeout=BOOT_S)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                  timeout=SETTLE_S)
    assert web.locker_status()["locked"] is not unlock_on_end


@pytest.mark.socketed
@pytest.mark.applies(web=("device_control", "locker_status"))
def test_device_control_unlock_connector_stops_the_session(csms, ev, web, charger, clock):
    """Device Control → Unlock Connector: the plug is freed and the session stops
    (as OCPP UnlockConnector, 004 §4.2; reason Local: a local action)."""
    tx = start_charging(csms, ev, charger)
    web.unlock_connector()
    stop = csms.wait_for("StopTransaction", transactionId=tx, timeout=SETTLE_S)
    assert stop["reason"] == "Local"
    assert _lock(charger) == "unlocked"


@pytest.mark.applies(web=("device_control", "locker_status"))
def test_device_control_set_available_and_clear_reservation(csms, web, clock):
    """Set Available makes an Unavailable connector Available; Clear Reservation frees
    a Reserved one (004 §4.2 Device Control; §6 Appendix I Reserved)."""
    assert csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative")).status == \
        "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable", timeout=SETTLE_S)
    mark = csms.mark()
    web.set_available()
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                  timeout=SETTLE_S)
    # An hour ahead on the backend's clock (spec time, as the charger's): the wall
    # clock lags it on the virtual bench.
    expiry = (csms.state.utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert csms.call(call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag=ACCEPTED_TAG,
                                     reservation_id=77)).status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved", timeout=SETTLE_S)
    mark = csms.mark()
    web.clear_reservation()
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                  timeout=SETTLE_S)


@pytest.mark.applies(web=("phases_configuration", "rs485_bus_device"),
                     conditions=("phase_config_mismatch",))
def test_external_devices_phases_and_rs485_bus_device(csms, web, charger, spec, variant):
    """Phases Number and RS485 Bus Device read back as set and are what the charger
    runs with (004 §4.2; Device Status 'Phases configured'); a Phases Number that does
    not match the wiring faults with the profile's errorCode ('Incorrect setting will
    result in a fault state!') and clears when put right — as the service console's
    setting does (testcases/protection/test_phases.py), here through the page."""
    assert web.phases_number() == variant.phases
    for device in ("ct", "none"):
        web.set_rs485_bus_device(device)
        assert web.rs485_bus_device() == device and charger.status()["rs485"] == device
    expect_phases_mismatch(csms, spec, variant, web.set_phases_number,
                           lambda: int(web.device_status()["Phases configured"]))


@pytest.mark.applies(web=("phases_configuration",), conditions=("phase_config_mismatch",))
def test_phases_number_survives_a_restart(csms, web, variant):
    """The Phases Number is the installer's commissioning setting (004 §4.2 'Required:
    defines the phase configuration of the device'): set to the other value and
    RESTART, the unit boots with it (Device Status 'Phases configured') and, as it
    does not match the wiring, in the fault state again; put right, it clears."""
    other = 1 if variant.phases == 3 else 3
    web.set_phases_number(other)
    try:
        assert web.phases_number() == other
        mark = csms.mark()
        web.restart()
        boot = csms.wait_for("BootNotification", since=mark, timeout=BOOT_S)
        csms.wait_for("StatusNotification", since=boot.index, connectorId=1,
                      status="Faulted", timeout=SETTLE_S)
        assert int(web.device_status()["Phases configured"]) == other
    finally:
        mark = csms.mark()
        web.set_phases_number(variant.phases)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Available",
                  errorCode="NoError", timeout=SETTLE_S)


@pytest.mark.applies(web=("charge_off_period_1", "charge_off_period_2", "max_delayed_start"))
def test_charge_times_page_sets_the_keys(csms, web, spec):
    """Charge Off Period 1/2 and Max Delayed Start Time on the Time & Charge Times tab
    are c_ChargeOffPeriod1/2 and c_MaxStartDelay (004 §4.2, App. II): what the page
    sets, GetConfiguration reads, and the page shows it back."""
    rules = spec.charge_times
    default = spec.key(rules.period_keys[0]).default.split(",")
    start, end = (datetime.strptime(t, "%H:%M").time() for t in default[1:])
    assert web.charge_off_period(1) == (start, end)
    assert web.max_delayed_start() == int(spec.key(rules.max_delay_key).default)
    web.set_charge_off_period(2, False, time(13, 30), time(14, 45))
    assert read_config(csms, rules.period_keys[1]) == "disable,13:30,14:45"
    assert web.charge_off_period(2) == (time(13, 30), time(14, 45))
    web.set_max_delayed_start(42)
    assert read_config(csms, rules.max_delay_key) == "42"
    assert web.max_delayed_start() == 42


@pytest.mark.applies(web=("offline_messages",))
def test_offline_messages_count_what_waits_for_the_backend(csms, ev, web, charger, clock):
    """Offline Messages Information (004 §4.2): a StopTransaction made while offline
    is held (RAM Used Size > 0) and delivered when the backend is back (0 again)."""
    assert web.offline_messages()["RAM Used Size"] == "0"
    start_charging(csms, ev, charger)
    csms.disconnect(refuse_reconnect=True)
    csms.wait_disconnected(SETTLE_S)
    _session_ended_offline(ev, charger, clock)
    assert int(web.offline_messages()["RAM Used Size"]) >= 1
    mark = csms.mark()
    csms.reconnect_allowed(True)
    csms.wait_for("StopTransaction", since=mark, timeout=60)
    assert clock.wait_until(lambda: web.offline_messages()["RAM Used Size"] == "0", SETTLE_S)


def _session_ended_offline(ev, charger, clock) -> None:
    ev.set_state("B")
    ev.unplug()
    assert clock.wait_until(lambda: charger.status()["connector"] == "Available", SETTLE_S)

