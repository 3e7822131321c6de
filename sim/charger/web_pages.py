"""The pages of the twin's web client (000 §2.5.1; 004 §4.2 on the COMPACT), rendered
from the twin's state: Device Status and Control, Admin Panel, Charge Point Diagnostics,
Device Configuration, Configuration of External Devices, and the HTML frame every page
shares. Routing and HTTP are sim/charger/web_client.py's; the configuration pages are
web_config.py's and web_compact.py's."""

from __future__ import annotations

import html
from typing import Any

from evrig.sim.charger import web_compact
from evrig.sim.charger.web_measurements import printed

NAV = (("/index.html", "Device Status and Control"),
       ("/network.html", "Network Configuration"),
       ("/backend.html", "Backend Configuration"),
       ("/nfc.html", "NFC Configuration"),
       ("/datetime.html", "Date & Time"),
       ("/locker.html", "Locker Configuration"),
       ("/admin.html", "Admin Panel"),
       ("/external.html", "Configuration of External Devices"),
       ("/device.html", "Device Configuration"),
       ("/diagnostics.html", "Charge Point Diagnostics"))
EV_STATUS = {"A": "Disconnected", "B": "Connected", "C": "Charging", "D": "Charging",
             "E": "Error", "F": "Error"}


def index(twin: Any, fw: Any, admin: bool) -> str:
    reported = fw.reported.get(1)
    meter = fw.meter
    host_lost = "host_link_lost" in twin.board_conditions
    status = [
        ("Device Version", twin.nvm.firmware_version),
        ("RTM Status", "Offline" if host_lost else "Online"),
        ("Network Status", "Online"),
        ("Active Interface", "WiFi"),
        ("Backend Status", "Connected" if fw.link.online else "Disconnected"),
        ("EVSE Status", fw.connector_status()),
        ("EV Status", EV_STATUS.get(fw.pilot.state, "Error")),
        ("OCPP Status", reported[0] if reported else "N/A"),
        # The Offline Mode Configuration setting (not AllowOfflineTxForUnknownId,
        # which is about a presented unknown card).
        ("Plug&Charge", "Enabled" if fw.plug_and_charge() else "Disabled"),
        ("Charger Limit", fw.limit_reason),
        # 004 §4.2 (COMPACT): the hardware's e-fuse model string, printed as 004's
        # example prints it for the unit's rated phases, and the Phases Number.
        ("Device Model(efuse)", f"{int(twin.profile.ratings['phases'].value)} phases, "
                                "model 01, revision 01 (8101)"),
        ("Phases configured", str(fw.phases_configured())),
    ]
    shown = twin.profile.web_client.get("device_status")
    if shown is not None:  # the labels this family's page prints, in its order
        values = dict(status)
        status = [(label, values.get(label, "N/A")) for label in shown.fields]
    temp = twin.temperature_c
    entry = twin.profile.web_client.get("measurements")
    labels = entry.fields if entry is not None else ()
    measurements = [(label, printed(entry.keys.get(label, label), meter, (temp, temp)))
                    for label in labels if entry is not None]
    control = (
        "<h2>Device Control</h2><table>"
        "<tr><td>Stop Wifi Scan</td><td><form method=\"post\" action=\"/stopscan\">"
        "<button disabled>STOP</button></form></td></tr>"
        "<tr><td>Clear Faults</td><td><form method=\"post\" action=\"/clear\">"
        "<button type=\"submit\">CLEAR</button></form></td></tr>"
        + web_compact.control_rows(twin) + "</table>")
    return page("Device Status and Control",
                [("Device Status", status), ("Power Meter Measurements", measurements)],
                control, admin)


def admin_page(twin: Any, fw: Any, admin: bool) -> str:
    if admin:
        return page("Admin Panel", [], "<p id=\"logged-in\">Logged in as admin.</p>"
                    "<form method=\"post\" action=\"/logout\"><button>LOGOUT</button>"
                    "</form>", admin)
    return page("Admin Panel", [], login_form(""), admin)


def diagnostics(twin: Any, fw: Any, admin: bool) -> str:
    rtm = [("OPB Code", "1"), ("PRT Code", "1"), ("RTM Err Code", f"0x{fw.rtm_seen:04X}")]
    network = [("IPv4", "127.0.0.1"), ("WiFi MAC", "02:00:00:00:00:01"),
               ("ETH MAC", "02:00:00:00:00:02")]
    log = [("Status", "Inactive"), ("IPv4", "0.0.0.0"), ("Port", "Not Set")]
    return page("Charge Point Diagnostics",
                [("RTM Information", rtm), ("Network Information", network),
                 *web_compact.offline_messages(twin),
                 ("Log Over Network", log), ("Firmware Update Control", _update(fw))],
                "", admin)


def device(twin: Any, fw: Any, admin: bool) -> str:
    """Device Configuration (004 §4.2, COMPACT): Firmware Update Control with the
    Device Version; the EV NET shows the same block on its diagnostics page."""
    update = [("Device Version", twin.nvm.firmware_version), *_update(fw)]
    return page("Device Configuration", [("Firmware Update Control", update)], "", admin)


def external(twin: Any, fw: Any, admin: bool) -> str:
    key = twin.profile.key("c_MainFuseLimit")
    per_amp = 10 if key.unit == "0.1 A" else 1
    limit = fw.config.int(key.name, int(key.default)) / per_amp
    rs485 = getattr(twin, "rs485", None)
    reading = rs485.fuse_reading() if rs485 is not None else 0.0
    fuse = [("Main Fuse Limit", f"{limit:.1f} A"), ("Main Fuse Reading", f"{reading:.1f} A")]
    form = ("<h3>Change Main Fuse Rating</h3><form method=\"post\" action=\"/fuse\">"
            "<label>Main Fuse Rating <input name=\"fuse\"></label> "
            "<button type=\"submit\">SET</button></form>")
    return page("Configuration of External Devices",
                [("Main Fuse Configuration", fuse), *web_compact.external_blocks(twin)],
                form + web_compact.external_forms(twin), admin)


def _update(fw: Any) -> list[tuple[str, str]]:
    return [("Status", fw.firmware_status), ("Progress", "0%"),
            ("Custom vendor err", "0x0000"), ("Internal vendor err", "0x0000"),
            ("Update finish err", "0x0000")]


# -- HTML and HTTP helpers -------------------------------------------------------------------

def page(title: str, blocks: list[tuple[str, list[tuple[str, str]]]], extra: str,
         admin: bool) -> str:
    nav = "".join(f"<li><a href=\"{href}\">{html.escape(name)}</a></li>" for href, name in NAV)
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>EVNET - "
             f"{html.escape(title)}</title></head><body>",
             f"<nav><ul>{nav}</ul></nav><main><h1>{html.escape(title)}</h1>",
             "<form method=\"post\" action=\"/restart\" style=\"display:inline\">"
             "<button type=\"submit\">RESTART</button></form> "
             "<a href=\"\">REFRESH</a>", blocks_html(blocks)]
    parts.append(extra)
    parts.append(f"<p><small>{'admin' if admin else 'guest'}</small></p></main></body></html>\n")
    return "".join(parts)


def blocks_html(blocks: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """Each block as a heading over a table of ``label: value`` rows (the EV PLUS web
    app, web_evplus.py, prints its blocks the same way)."""
    parts = []
    for heading, rows in blocks:
        parts.append(f"<h2>{html.escape(heading)}</h2><table>")
        parts.extend(f"<tr><td>{html.escape(label)}:</td><td>{html.escape(value)}</td></tr>"
                     for label, value in rows)
        parts.append("</table>")
    return "".join(parts)


def login_form(message: str) -> str:
    return (f"<h2>Admin Access</h2>{message}<form method=\"post\" action=\"/login\">"
            "<label>PIN <input type=\"password\" name=\"pin\" inputmode=\"numeric\"></label>"
            "<button type=\"submit\">LOGIN</button></form>")
