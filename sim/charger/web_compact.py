"""The twin web client's COMPACT pages and controls (004 §4.2), admin only. Each is
served only where the unit's profile lists the block (``web_client`` table), and the
Locker tab only on a variant with an actuator lock ("All COMPACT models with socket
connections ... the 'Locker Configuration' tab is available"):

- ``/locker.html`` Locker Configuration: Locker Status (Status, Error Code), Locker
  Control (POST ``/locker/lock``, ``/locker/unlock``: LOCK / UNLOCK), Locker
  Configuration (POST ``/locker/config``: Locker Activate/Deactivate = c_LockerDisengage,
  Unlock Connector On Charging Session End Enable/Disable);
- Time & Charge Times Configuration (``/datetime.html``, with the Date & Time block):
  Charge Off Period 1 and 2 (POST ``/chargeoff``: period, enable/disable, start, end
  → c_ChargeOffPeriod1/2) and Max Delayed Start Time (POST ``/maxdelay`` →
  c_MaxStartDelay);
- Configuration of External Devices: Phases Number (POST ``/phases``) and RS485 Bus
  Device (POST ``/rs485``: none / meter / ct);
- Device Control on the status page: Unlock Connector (POST ``/control/unlock``), Set
  Available (``/control/available``), Clear Reservation (``/control/unreserve``);
- Charge Point Diagnostics: Offline Messages Information.

Our readings where 004 is silent (also in the profile's notes): Locker Status's Error
Code is the actuator's RTM bits (0x0020/0x0040) while set, else 0; LOCK/UNLOCK with
the locker deactivated are refused; Set Available is ChangeAvailability Operative for
the connector (Scheduled while a transaction runs is not needed: Operative never waits);
Clear Reservation cancels the connector's reservation whatever its id; RAM Used Size is
the number of messages the charger holds for the backend.
"""

from __future__ import annotations

from typing import Any

Block = tuple[str, list[tuple[str, str]]]
LOCK_BITS = 0x0020 | 0x0040  # 004 §6 VendorID2 actuator lock / unlock malfunction
RAM_QUEUE = 1000  # 004 §4.2 Offline Messages Information: RAM Queue Size 1000
NVM_QUEUE, NVM_FREE, NVM_ERASES = 208895, 204799, 25  # as 004's screenshot prints them
PATHS = ("/locker/lock", "/locker/unlock", "/locker/config", "/chargeoff", "/maxdelay",
         "/phases", "/rs485", "/control/unlock", "/control/available", "/control/unreserve")


def form(action: str, fields: str, button: str) -> str:
    return (f"<form method=\"post\" action=\"{action}\">{fields}"
            f"<button type=\"submit\">{button}</button></form>")


def _radios(name: str, choices: tuple[tuple[str, str], ...], checked: str) -> str:
    return "".join(
        f"<label><input type=\"radio\" name=\"{name}\" value=\"{value}\""
        f"{' checked' if value == checked else ''}> {label}</label> "
        for value, label in choices)


def has(twin: Any, block: str) -> bool:
    return block in twin.profile.web_client


def has_locker(twin: Any) -> bool:
    return has(twin, "locker_status") and bool(twin.variant.actuator_lock)


# -- Locker Configuration ------------------------------------------------------------------
def locker(twin: Any, fw: Any) -> tuple[str, list[Block], str]:
    active = fw.config.bool("c_LockerDisengage", True)
    on_end = unlock_on_session_end(twin)
    status = [("Status", "Locked" if twin.actuator.locked else "Unlocked"),
              ("Error Code", str(fw.rtm_seen & LOCK_BITS))]
    settings = [("Locker", "Activate" if active else "Deactivate"),
                ("Unlock Connector On Charging Session End", "Enable" if on_end else "Disable")]
    extra = ("<h3>Locker Control</h3><p>Used to manually lock or unlock the connector</p>"
             + form("/locker/lock", "<span>Lock Connector</span> ", "LOCK")
             + form("/locker/unlock", "<span>Unlock Connector</span> ", "UNLOCK")
             + "<h3>Change Locker Configuration</h3>"
             + form("/locker/config",
                    _radios("locker", (("deactivate", "Deactivate"), ("activate", "Activate")),
                            "activate" if active else "deactivate")
                    + _radios("unlock_on_end", (("disable", "Disable"), ("enable", "Enable")),
                              "enable" if on_end else "disable"), "APPLY"))
    return ("Locker Configuration",
            [("Locker Status", status), ("Locker Configuration", settings)], extra)


def unlock_on_session_end(twin: Any) -> bool:
    """Unlock Connector On Charging Session End (004 §4.2; default Enable)."""
    value = twin.nvm.unlock_on_session_end
    return True if value is None else bool(value)


# -- Time & Charge Times Configuration -----------------------------------------------------
def charge_times(fw: Any) -> list[Block]:
    """Charge Off Period 1/2 (start and end as 004 prints them, 12-hour) and Max Delayed
    Start Time. A disabled period prints its times too: the page keeps them."""
    rules = fw.profile.charge_times
    if rules is None:
        return []
    from evrig.sim.charger.charge_times import parse_period

    blocks: list[Block] = []
    for n, key in enumerate(rules.period_keys, start=1):
        period = parse_period(",".join(fw.config.csl(key)))
        rows = [("Start time", "--:--"), ("End time", "--:--"), ("Status", "Invalid")]
        if period is not None:
            enabled, start, end = period
            rows = [("Start time", start.strftime("%I:%M %p")),
                    ("End time", end.strftime("%I:%M %p")),
                    ("Status", "Enabled" if enabled else "Disabled")]
        blocks.append((f"Charge Off Period {n}", rows))
    blocks.append(("Max Delayed Start Time", [("sec.", str(fw.config.int(rules.max_delay_key,
                                                                         0)))]))
    return blocks


def charge_times_form(fw: Any) -> str:
    if fw.profile.charge_times is None:
        return ""
    period = ("<select name=\"period\"><option>1</option><option>2</option></select> "
              + _radios("mode", (("enable", "Enable"), ("disable", "Disable")), "enable")
              + "<label>Start time <input name=\"start\" placeholder=\"HH:MM\"></label> "
                "<label>End time <input name=\"end\" placeholder=\"HH:MM\"></label> ")
    return ("<p>*Charge off periods (peak hours) are valid for week days.</p>"
            + form("/chargeoff", period, "APPLY")
            + form("/maxdelay", "<label><input name=\"seconds\"> sec.</label> ", "Submit"))


# -- Configuration of External Devices: Phases Number and RS485 Bus Device -----------------
RS485_CHOICES = (("none", "Not Set"), ("meter", "Energy Meter"), ("ct", "CT/Clamp"))


def external_blocks(twin: Any) -> list[Block]:
    blocks: list[Block] = []
    if has(twin, "phases_configuration"):
        blocks.append(("Phases Configuration",
                       [("Phases Number", str(twin.phases_configured()))]))
    return blocks  # the RS485 Bus Device is the checked choice of its form


def external_forms(twin: Any) -> str:
    parts = []
    if has(twin, "phases_configuration"):
        parts.append(form("/phases", _radios("phases", (("1", "1"), ("3", "3")),
                                             str(twin.phases_configured())), "SET")
                     + "<p>Required: defines the phase configuration of the device. "
                       "Incorrect setting will result in a fault state!</p>")
    if has(twin, "rs485_bus_device"):
        parts.append(form("/rs485", _radios("device", RS485_CHOICES, twin.rs485_device()),
                          "SET")
                     + "<p>For RS-485 peripherals: sets the protocol for communication to "
                       "the respective device. Incorrect setting will result in a fault "
                       "state!</p>")
    return "".join(parts)


# -- Device Control and diagnostics --------------------------------------------------------
def control_rows(twin: Any) -> str:
    """The COMPACT's Device Control buttons after Clear Faults."""
    if "Unlock Connector" not in getattr(twin.profile.web_client.get("device_control"),
                                         "fields", ()):
        return ""
    return "".join(
        f"<tr><td>{label}</td><td><form method=\"post\" action=\"{action}\">"
        f"<button type=\"submit\">{button}</button></form></td></tr>"
        for label, action, button in (("Unlock Connector", "/control/unlock", "UNLOCK"),
                                      ("Set Available", "/control/available", "SET"),
                                      ("Clear Reservation", "/control/unreserve", "CLEAR")))


def offline_messages(twin: Any) -> list[Block]:
    if not has(twin, "offline_messages"):
        return []
    held = len(twin.nvm.outbox)
    return [("Offline Messages Information", [
        ("RAM Queue Size", str(RAM_QUEUE)), ("RAM Used Size", str(min(held, RAM_QUEUE))),
        ("NVM Operational", "Yes"), ("NVM Active", "Yes" if held > RAM_QUEUE else "No"),
        ("NVM Queue Size", str(NVM_QUEUE)), ("NVM Used Size", str(max(0, held - RAM_QUEUE))),
        ("NVM Free Size", str(NVM_FREE)), ("NVM Page Erase Cnt", str(NVM_ERASES))])]


# -- actions -------------------------------------------------------------------------------
def act(twin: Any, fw: Any, path: str, data: dict[str, str]) -> tuple[str | None, str]:
    """A COMPACT page's POST: (error or None, the page to show next)."""
    if path.startswith("/locker/"):
        return _locker_act(twin, fw, path, data), "/locker.html"
    if path == "/chargeoff":
        return _charge_off(fw, data), "/datetime.html"
    if path == "/maxdelay":
        rules = fw.profile.charge_times
        seconds = data.get("seconds", "").strip()
        if rules is None or not seconds.isdigit():
            return "seconds as a whole number", "/datetime.html"
        return _change(fw, rules.max_delay_key, seconds), "/datetime.html"
    if path == "/phases":
        if data.get("phases") not in ("1", "3"):
            return "choose 1 or 3", "/external.html"
        return twin.set_phases(int(data["phases"])), "/external.html"
    if path == "/rs485":
        if data.get("device") not in dict(RS485_CHOICES):
            return "choose Not Set, Energy Meter or CT/Clamp", "/external.html"
        twin.set_rs485_device(data["device"])
        return None, "/external.html"
    return _control(fw, path), "/index.html"


def _change(fw: Any, key: str, value: str) -> str | None:
    status = fw.config.change(key, value)
    return None if status == "Accepted" else f"{key} {value!r}: {status}"


def _charge_off(fw: Any, data: dict[str, str]) -> str | None:
    from evrig.sim.charger.charge_times import parse_period

    rules = fw.profile.charge_times
    if rules is None or data.get("period") not in ("1", "2"):
        return "choose period 1 or 2"
    value = ",".join((data.get("mode", ""), data.get("start", "").strip(),
                      data.get("end", "").strip()))
    if parse_period(value) is None:
        return "enable or disable, start and end as HH:MM"
    return _change(fw, rules.period_keys[int(data["period"]) - 1], value)


def _locker_act(twin: Any, fw: Any, path: str, data: dict[str, str]) -> str | None:
    if not has_locker(twin):
        return "this unit has no locker"
    if path == "/locker/config":
        locker, on_end = data.get("locker"), data.get("unlock_on_end")
        if locker not in ("activate", "deactivate") or on_end not in ("enable", "disable"):
            return "choose Activate or Deactivate, Enable or Disable"
        error = _change(fw, "c_LockerDisengage", "true" if locker == "activate" else "false")
        if error is None:
            twin.nvm.unlock_on_session_end = on_end == "enable"
        return error
    if not fw.config.bool("c_LockerDisengage", True):
        return "the locker is deactivated"
    lock = path == "/locker/lock"
    if not twin.actuator.operate(lock=lock):
        fw.raise_fault("lock_failed" if lock else "unlock_failed")  # 004 §6 0x0020/0x0040
        return "the actuator did not " + ("lock" if lock else "unlock")
    return None


def _control(fw: Any, path: str) -> str | None:
    if path == "/control/unlock":
        status = fw.web_unlock()
        return None if status == "Unlocked" else f"Unlock Connector: {status}"
    if path == "/control/available":
        answer, _ = fw.on_change_availability({"connectorId": 1, "type": "Operative"})
        return None if answer["status"] == "Accepted" else f"Set Available: {answer['status']}"
    if path == "/control/unreserve":
        res = fw.reservation
        if res is None:
            return "no reservation"
        answer, _ = fw.on_cancel_reservation({"reservationId": res.reservation_id})
        return None if answer["status"] == "Accepted" else "Clear Reservation: Rejected"
    return "no such action"
