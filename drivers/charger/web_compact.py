"""The EV NET COMPACT's web client pages and controls (004 §4.2), as a person uses
them: Locker Configuration (status, LOCK/UNLOCK, Activate/Deactivate, Unlock Connector
On Charging Session End), the charge-off periods and Max Delayed Start Time, Phases
Number and RS485 Bus Device, Device Control (Unlock Connector, Set Available, Clear
Reservation) and the Offline Messages Information. A mixin of
:class:`~evrig.drivers.charger.web_client.WebClient`; labels from the profile's
``web_client`` table, paths from ``COMPACT_PATHS`` (the twin's: check them against a
real unit, 004 documents /index.html only)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from evrig.drivers.charger.web_config import WebPages
from evrig.rig.errors import InstrumentError

COMPACT_PATHS = {"Locker Configuration": "/locker.html"}
RS485_DEVICES = {"Not Set": "none", "Energy Meter": "meter", "CT/Clamp": "ct"}
_CHECKED = re.compile(r"<input[^>]*\bname=\"(?P<name>[^\"]+)\"[^>]*\bvalue=\"(?P<value>[^\"]*)\""
                      r"[^>]*\bchecked", re.IGNORECASE)


def checked(page: str, name: str) -> str | None:
    """The value of the checked radio button ``name`` on a page (None: none checked)."""
    for match in _CHECKED.finditer(page):
        if match["name"] == name:
            return match["value"]
    return None


class WebCompact(WebPages):

    # -- Locker Configuration (socketed units) --------------------------------------------
    def locker_status(self) -> dict[str, Any]:
        """Locker Status: {"locked": bool, "error_code": int}."""
        block = self._block("locker_status")
        return {"locked": block["Status"] == "Locked", "error_code": int(block["Error Code"], 0)}

    def locker_settings(self) -> dict[str, bool]:
        """{"active": Locker is Activate, "unlock_on_session_end": Enable}."""
        block = self._block("locker_configuration")
        return {"active": block["Locker"] == "Activate",
                "unlock_on_session_end":
                    block["Unlock Connector On Charging Session End"] == "Enable"}

    def configure_locker(self, active: bool, unlock_on_session_end: bool) -> None:
        """Locker Activate/Deactivate and Unlock Connector On Charging Session End → APPLY."""
        self._admin("/locker/config", {
            "locker": "activate" if active else "deactivate",
            "unlock_on_end": "enable" if unlock_on_session_end else "disable"})

    def lock(self) -> None:
        """Locker Control → LOCK. InstrumentError (with the page's reason) if refused."""
        self._admin("/locker/lock", {})

    def unlock(self) -> None:
        """Locker Control → UNLOCK."""
        self._admin("/locker/unlock", {})

    # -- Time & Charge Times Configuration ------------------------------------------------
    def charge_off_period(self, n: int) -> tuple[time, time]:
        """Charge Off Period ``n`` (1 or 2): (start, end) as the page prints them."""
        block = self._block(f"charge_off_period_{n}")
        return (datetime.strptime(block["Start time"], "%I:%M %p").time(),
                datetime.strptime(block["End time"], "%I:%M %p").time())

    def set_charge_off_period(self, n: int, enabled: bool, start: time, end: time) -> None:
        """Charge Off Period ``n``: enable or disable, start and end → APPLY."""
        self._admin("/chargeoff", {"period": str(n), "mode": "enable" if enabled else "disable",
                                   "start": start.strftime("%H:%M"),
                                   "end": end.strftime("%H:%M")})

    def max_delayed_start(self) -> int:
        """Max Delayed Start Time in seconds (c_MaxStartDelay)."""
        return int(self._block("max_delayed_start")["sec."])

    def set_max_delayed_start(self, seconds: int) -> None:
        self._admin("/maxdelay", {"seconds": str(int(seconds))})

    # -- Configuration of External Devices ------------------------------------------------
    def phases_number(self) -> int:
        return int(self._block("phases_configuration")["Phases Number"])

    def set_phases_number(self, phases: int) -> None:
        """Phases Number 1 / 3 → SET ("Incorrect setting will result in a fault state!")."""
        self._admin("/phases", {"phases": str(phases)})

    def rs485_bus_device(self) -> str:
        """The checked RS485 Bus Device: "none", "meter" or "ct"."""
        entry = self.pages["rs485_bus_device"]
        value = checked(self.page(entry.tab), "device")
        if value not in RS485_DEVICES.values():
            raise InstrumentError(self.name, self.url, f"no choice checked under "
                                  f"'{entry.heading}' ({', '.join(entry.fields)})")
        return str(value)

    def set_rs485_bus_device(self, device: str) -> None:
        """Not Set / Energy Meter / CT/Clamp → SET, by ``none`` / ``meter`` / ``ct``."""
        if device not in RS485_DEVICES.values():
            raise ValueError(f"device must be none, meter or ct, got {device!r}")
        self._admin("/rs485", {"device": device})

    # -- Device Control and diagnostics ---------------------------------------------------
    def unlock_connector(self) -> None:
        """Device Control → Unlock Connector (UNLOCK): a session in progress stops."""
        self._admin("/control/unlock", {})

    def set_available(self) -> None:
        """Device Control → Set Available (SET)."""
        self._admin("/control/available", {})

    def clear_reservation(self) -> None:
        """Device Control → Clear Reservation (CLEAR)."""
        self._admin("/control/unreserve", {})

    def offline_messages(self) -> dict[str, str]:
        """Offline Messages Information, by the manual's labels (RAM Used Size …)."""
        return self._block("offline_messages")
