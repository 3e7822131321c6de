"""The twin web client's configuration pages (000 §2.5.1), admin only:

- ``/network.html`` Network Configuration: Offline Mode Configuration (Plug & Charge),
  POST ``/plugcharge``;
- ``/nfc.html`` NFC Configuration: the Authorization List; POST ``/nfc/learn`` (ADD
  NEW: Learn mode, the next card tapped is stored), POST ``/nfc/remove`` (REMOVE);
- ``/backend.html`` Backend Configuration: current server address and UID; POST
  ``/backend/uid`` and ``/backend/address`` (the charger reconnects with them);
- ``/datetime.html`` Date & Time: the device's clock; POST ``/datetime``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from evrig.sim.charger import web_compact

Page = Callable[[Any], tuple[str, list[tuple[str, list[tuple[str, str]]]], str]]


def _form(action: str, fields: str, button: str) -> str:
    return (f"<form method=\"post\" action=\"{action}\">{fields}"
            f"<button type=\"submit\">{button}</button></form>")


def network(fw: Any) -> tuple[str, list[tuple[str, list[tuple[str, str]]]], str]:
    on = fw.plug_and_charge()
    radios = "".join(
        f"<label><input type=\"radio\" name=\"mode\" value=\"{value}\""
        f"{' checked' if on == checked else ''}> {label}</label> "
        for value, label, checked in (("enable", "Enable", True), ("disable", "Disable", False)))
    extra = (_form("/plugcharge", radios, "APPLY") +
             "<p>Enabled – the charger is available for plug-in charging when offline. "
             "Disabled – the charger is not available to charge when offline.</p>")
    return ("Network Configuration",
            [("Offline Mode Configuration", [("Plug & Charge", "Enabled" if on else "Disabled")])],
            extra)


def nfc(fw: Any) -> tuple[str, list[tuple[str, list[tuple[str, str]]]], str]:
    rows = "".join(
        f"<tr><td>{html.escape(tag)}</td><td>Active</td><td>Main</td>"
        f"<td>{html.escape(added)}</td><td></td><td>"
        + _form("/nfc/remove", f"<input type=\"hidden\" name=\"tag\" "
                f"value=\"{html.escape(tag)}\">", "REMOVE") + "</td></tr>"
        for tag, added in sorted(fw.nvm.web_cards.items()))
    table = ("<h2>Authorization List</h2><table id=\"cards\"><tr><th>ID Tag</th>"
             "<th>Status</th><th>Type</th><th>Added On</th><th>Best By</th><th>Control</th>"
             f"</tr>{rows}</table>")
    learn = ("<p id=\"learn\">Learn mode is active. Place the new RFID card onto the "
             "reader.</p>" if fw.learning else "")
    return ("NFC Configuration", [], table + learn + _form("/nfc/learn", "", "ADD NEW"))


def backend(twin: Any) -> Callable[[Any], tuple[str, list[tuple[str, list[tuple[str, str]]]],
                                                 str]]:
    def page(fw: Any) -> tuple[str, list[tuple[str, list[tuple[str, str]]]], str]:
        address = twin.nvm.server_address or twin.csms_address()
        uid = twin.nvm.uid or twin.charge_point_id
        extra = (_form("/backend/uid", "<label>UID <input name=\"uid\"></label> ", "SUBMIT") +
                 _form("/backend/address", "<label>Web Address <input name=\"address\">"
                       "</label> ", "SUBMIT") +
                 "<p>Note: changing the UID does NOT change the device serial #, as that is "
                 "hardwired</p>")
        return ("Backend Configuration",
                [("Backend Details", [("Current server address", address),
                                      ("Current UID", uid)])], extra)
    return page


def date_time(fw: Any) -> tuple[str, list[tuple[str, list[tuple[str, str]]]], str]:
    now = fw.utc().strftime("%Y-%m-%d %H:%M:%S")
    extra = _form("/datetime", "<label>Device Date Time <input name=\"time\" "
                  "placeholder=\"YYYY-MM-DD HH:MM:SS\"></label> ", "SUBMIT")
    # The COMPACT's tab adds the charge-off periods and the RDS (004 §4.2).
    return ("Date & Time", [("Date & Time", [("Device Date Time", f"{now} GMT")]),
                            *web_compact.charge_times(fw)],
            extra + web_compact.charge_times_form(fw))


def act(twin: Any, fw: Any, path: str, form: dict[str, str]) -> tuple[str | None, str]:
    """A configuration POST: (error or None, the page to show next)."""
    if path == "/plugcharge":
        if form.get("mode") not in ("enable", "disable"):
            return "choose enable or disable", "/network.html"
        twin.nvm.plug_and_charge = form["mode"] == "enable"
        return None, "/network.html"
    if path == "/nfc/learn":
        fw.learning = True
        return None, "/nfc.html"
    if path == "/nfc/remove":
        if twin.nvm.web_cards.pop(form.get("tag", ""), None) is None:
            return "no such card", "/nfc.html"
        return None, "/nfc.html"
    if path in ("/backend/uid", "/backend/address"):
        value = form.get("uid" if path.endswith("uid") else "address", "").strip()
        if not value or any(c.isspace() for c in value):
            return "a value without spaces", "/backend.html"
        if path.endswith("uid"):
            twin.nvm.uid = value
        else:
            twin.nvm.server_address = value
        twin.reconnect()  # our choice: the link follows at once (the manual is silent)
        return None, "/backend.html"
    if path == "/datetime":
        try:
            told = datetime.fromisoformat(form.get("time", "").strip())
        except ValueError:
            return "a time as YYYY-MM-DD HH:MM:SS", "/datetime.html"
        fw.nvm.rtc_offset = told.replace(tzinfo=fw.utc().tzinfo) - fw.clock.utcnow()
        return None, "/datetime.html"
    return "no such action", "/index.html"


PATHS = ("/plugcharge", "/nfc/learn", "/nfc/remove", "/backend/uid", "/backend/address",
         "/datetime")
