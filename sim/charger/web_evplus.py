"""The Cabur EV PLUS web app (003 §8.1.2, §12) as the twin serves it: the pages of the
charger's internal web server at http://192.168.1.1, with the labels of the profile's
``web_client`` table, on the machinery of the EV NET web client (web_client.py:
HTTP, admin sessions, a board that is off answers nothing).

003 documents only the home page's URL; the other paths are the twin's
(drivers/charger/web_evplus.py keeps them in one table — check them on a real unit):

- ``/``, ``/index.html`` home (step 1-4): Using Card (the session's state), Charge
  State, Configuration — public;
- ``/state.html`` Charger state (step 3) — public, as the manual reaches it without
  the password;
- ``/login.html`` the login window: Verification (step 4), POST ``/login``;
- admin, behind the password, with the buttons WIFI, State, Setting, History, Upgrade
  on top (the Report page's content is not in 003: not served):
  ``/config.html`` System parameter settings (step 4), POST ``/config`` (Apply);
  ``/wifi.html`` the networks seen for CLIENT mode (step 5; none on the bench);
  ``/setting.html`` Setting (step 6); ``/network.html`` Networking parameter: OCPP
  Address (step 10), POST ``/network`` (Confirm); ``/rfid.html`` RFID (step 11), POST
  ``/rfid/read`` (Read), ``/rfid/write`` and ``/rfid/delete`` (``slot`` 1-3: Write
  Card x; Delete, our addition); ``/history.html`` Charging Record (step 7);
  ``/upgrade.html`` System upgrade (§12), POST ``/upgrade`` (multipart: ``file``,
  Upgrade file checksum; Continue).

Form fields are named by the manual's labels ("Max Current", "OCPP Address",
"Verification" …), so a driver needs no second table of names. A refused request
answers 400 with the reason in ``<p id="error">``. What each action does, and our
readings where 003 is silent, are in web_evplus_actions.py and web_evplus_upgrade.py.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from evrig.sim.charger import web_evplus_actions as actions
from evrig.sim.charger.web_client import Reply, WebClientServer, _see_other
from evrig.sim.charger.web_evplus_upgrade import Upgrader, form_parts
from evrig.sim.charger.web_pages import blocks_html

PUBLIC = {"/", "/index.html", "/state.html", "/login.html"}
NAV = (("/wifi.html", "WIFI"), ("/state.html", "State"), ("/setting.html", "Setting"),
       ("/history.html", "History"), ("/upgrade.html", "Upgrade"))
MAX_UPLOAD = 4 * 1024 * 1024  # the largest .bin the twin takes (003 gives no size)
EMPTY = "-"  # an empty card slot, no card read
Block = tuple[str, list[tuple[str, str]]]


def serves(profile: Any) -> bool:
    """Whether a profile's web client is this web app (its Charger state page)."""
    return "charger_state" in profile.web_client


class WebAppServer(WebClientServer):
    """HTTP server of the EV PLUS web app; ``pin`` gives the password (Verification)."""

    max_body = MAX_UPLOAD

    def __init__(self, twin: Any, pin: Callable[[], str], *,
                 restart: Callable[[], Awaitable[Any]] | None = None) -> None:
        super().__init__(twin, pin, restart=restart)
        self.upgrader = Upgrader(twin)

    def _handle(self, fw: Any, method: str, path: str, headers: dict[str, str],
                body: bytes) -> Reply:
        path = path.split("?", 1)[0]
        admin = self._is_admin(headers)
        if method == "GET":
            render = self._app_pages().get(path)
            if render is None:
                return Reply(404, frame("Not Found", "<p>No such page.</p>"))
            if path not in PUBLIC and not admin:
                return self._verification_required()
            return Reply(200, render(fw))
        if method != "POST":
            return Reply(405, frame("Method Not Allowed", ""), {"Allow": "GET, POST"})
        if path == "/upgrade":  # a form with a file: multipart/form-data
            parts = form_parts(headers.get("content-type", ""), body)
            form = {k: data.decode("utf-8", "replace") for k, (name, data) in parts.items()
                    if name is None}
            image = parts.get("file")
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            image = None
        if path == "/login":
            if not self._pin_ok(form.get("Verification", "")):
                return Reply(403, frame("Verification", login_form(
                    "<p class=\"error\" id=\"error\">Verification failed: wrong password."
                    "</p>")))
            return self._session("/config.html", "/config.html")
        if path == "/logout":
            self._logout(headers)
            return _see_other("/index.html")
        act = self._actions(fw, form, image).get(path)
        if act is None:
            return Reply(404, frame("Not Found", "<p>No such action.</p>"))
        if not admin:
            return self._verification_required()
        error, next_page = act()
        if error is not None:
            return Reply(400, frame("Configuration",
                                    f"<p id=\"error\">{html.escape(error)}</p>", True))
        fw.kick()
        return _see_other(next_page)

    def _verification_required(self) -> Reply:
        """A configuration page without a session: the login window (403, as the EV NET
        web client answers, so a driver knows to log in)."""
        return Reply(403, frame("Verification", login_form(
            "<p class=\"error\" id=\"login-required\">Verification required.</p>")))

    def _actions(self, fw: Any, form: dict[str, str], image: tuple[str | None, bytes] | None
                 ) -> dict[str, Callable[[], tuple[str | None, str]]]:
        """Path → the POST's action: (why refused or None, the page to show next)."""
        twin = self.twin

        def upgrade() -> tuple[str | None, str]:
            if image is None:
                return "choose the upgrade file (.bin)", "/upgrade.html"
            return (self.upgrader.start(image[1], form.get("Upgrade file checksum", "")),
                    "/upgrade.html")

        return {
            "/config": lambda: (actions.set_system_parameters(twin, form), "/config.html"),
            "/network": lambda: (actions.set_ocpp_address(twin, form.get("OCPP Address", "")),
                                 "/network.html"),
            "/rfid/read": lambda: (actions.read_card(twin, fw), "/rfid.html"),
            "/rfid/write": lambda: (actions.write_card(twin, fw, form.get("slot", "")),
                                    "/rfid.html"),
            "/rfid/delete": lambda: (actions.delete_card(twin, form.get("slot", "")),
                                     "/rfid.html"),
            "/upgrade": upgrade,
        }

    def _app_pages(self) -> dict[str, Callable[[Any], str]]:
        twin = self.twin
        return {"/": lambda fw: home(fw), "/index.html": lambda fw: home(fw),
                "/state.html": lambda fw: state_page(twin, fw),
                "/login.html": lambda fw: frame("Verification", login_form("")),
                "/config.html": lambda fw: config_page(twin),
                "/wifi.html": lambda fw: wifi_page(twin),
                "/setting.html": lambda fw: setting_page(),
                "/network.html": lambda fw: network_page(twin),
                "/rfid.html": lambda fw: rfid_page(twin, fw),
                "/history.html": lambda fw: history_page(twin),
                "/upgrade.html": lambda fw: upgrade_page(twin, self.upgrader)}


# -- the pages ---------------------------------------------------------------------------------

def _entry(twin: Any, name: str) -> Any:
    return twin.profile.web_client[name]


def _rows(twin: Any, name: str, values: dict[str, str]) -> Block:
    """The profile's block ``name``: its heading and its labels in its order."""
    entry = _entry(twin, name)
    return entry.heading, [(label, values.get(label, "N/A")) for label in entry.fields]


def home(fw: Any) -> str:
    """Step 2-4: Using Card says the charger is not charging and a card starts it
    (our reading: Charging while a session runs)."""
    using = "Charging" if fw.tx is not None else "Using card"
    return frame("EV PLUS", f"<p id=\"using-card\"><button disabled>{using}</button></p>"
                 "<p><a href=\"/state.html\">Charge State</a></p>"
                 "<p><a href=\"/config.html\">Configuration</a></p>")


def state_page(twin: Any, fw: Any) -> str:
    """Charger state (step 3), read from the twin; the formats of 003's screenshot."""
    meter = fw.meter
    tx = fw.tx
    minutes = int((fw.utc() - tx.start).total_seconds() // 60) if tx is not None else 0
    fan = ("Blocked" if "fan_failed" in fw.active else "Run" if fw.contactor else "Stop")
    values = {
        "Serial Number": twin.serial,
        "Software Version": twin.nvm.firmware_version,
        "Grid Voltage": f"{meter.voltages_v[0] if meter.voltages_v else 0.0:.2f}V",
        "Grid Frequency": f"{fw.circuit.at().hz:.2f}Hz",
        "Output Current": f"{meter.currents_a[0] if meter.currents_a else 0.0:.2f}A",
        "Active Power": f"{meter.total_power_w() / 1000:.3f}kW",
        "Charging Duration": f"{minutes} Min",
        "System Time": fw.utc().strftime("%H:%M:%S"),
        "Relay Temperature": f"{twin.temperature_c:.0f} Degree",
        "Environment Temperature": f"{twin.temperature_c:.0f} Degree",
        "CP Voltage": f"{fw.pilot.high_v:.2f}V",
        "Fan Status": fan,
    }
    return frame("Charger state", blocks_html([_rows(twin, "charger_state", values)]), True)


def login_form(message: str) -> str:
    """The login window of step 4: the password goes into Verification."""
    return (f"<h2>Verification</h2>{message}<form method=\"post\" action=\"/login\">"
            "<label>Verification <input type=\"password\" name=\"Verification\" "
            "inputmode=\"numeric\"></label> <button type=\"submit\">OK</button></form>")


def config_page(twin: Any) -> str:
    """System parameter settings (step 4): the settings, then their buttons and Apply."""
    entry = _entry(twin, "system_parameters")
    values = actions.system_parameters(twin)
    shown = dict(values, **{actions.MAX_CURRENT: f"{values[actions.MAX_CURRENT]} A"})
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>" + "".join(
            f"<label><input type=\"radio\" name=\"{html.escape(label)}\" "
            f"value=\"{html.escape(option)}\"{' checked' if option == values[label] else ''}>"
            f" {html.escape(option)}</label> " for option in options) + "</td></tr>"
        for label, options in entry.choices.items())
    rows += (f"<tr><td>{actions.MAX_CURRENT}</td><td><input name=\"{actions.MAX_CURRENT}\" "
             f"value=\"{html.escape(values[actions.MAX_CURRENT])}\"> A</td></tr>")
    form = (f"<h3>Change</h3><form method=\"post\" action=\"/config\"><table>{rows}</table>"
            "<button type=\"submit\">Apply</button></form>")
    return frame("Configuration", blocks_html([_rows(twin, "system_parameters", shown)]) + form,
                 True)


def wifi_page(twin: Any) -> str:
    """Step 5: the networks for CLIENT mode. The bench's charger sees none (the twin's
    backend link needs no WiFi network)."""
    entry = _entry(twin, "wifi")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in entry.fields[:3])
    return frame(entry.heading, f"<h2>{html.escape(entry.heading)}</h2><table><tr>{head}</tr>"
                 "</table><p>Password: <input type=\"password\" disabled> "
                 "<button disabled>Connect</button></p>", True)


def setting_page() -> str:
    """Step 6: the Setting menu (Load Balance and System Time are not served yet)."""
    return frame("Setting", "<ul><li><a href=\"/network.html\">Networking parameter</a></li>"
                 "<li><a href=\"/rfid.html\">RFID</a></li><li>Load Balance</li>"
                 "<li>System Time</li></ul>", True)


def network_page(twin: Any) -> str:
    """Networking parameter (step 10): the OCPP Address and Confirm."""
    form = ("<h3>Change</h3><form method=\"post\" action=\"/network\"><label>OCPP Address "
            "<input name=\"OCPP Address\"></label> <button type=\"submit\">Confirm</button>"
            "</form>")
    block = _rows(twin, "ocpp_address", {"OCPP Address": actions.ocpp_address(twin)})
    return frame("Setting", blocks_html([block]) + form, True)


def rfid_page(twin: Any, fw: Any) -> str:
    """RFID (step 11): Card No. 1-3 on top, Read RFID, Read and Write Card x."""
    slots = actions.cards(twin)
    # An empty slot prints EMPTY (our choice: a blank cell would read as no value).
    values = {f"Card No. {i}": card or EMPTY for i, card in enumerate(slots, start=1)}
    values["Read RFID"] = fw.last_card or EMPTY
    buttons = "<h3>Pairing</h3>" + _post("/rfid/read", "", "Read") + "".join(
        _post("/rfid/write", f"<input type=\"hidden\" name=\"slot\" value=\"{i}\">",
              f"Write Card {i}")
        + _post("/rfid/delete", f"<input type=\"hidden\" name=\"slot\" value=\"{i}\">",
                f"Delete Card {i}") for i in range(1, len(slots) + 1))
    return frame("Setting", blocks_html([_rows(twin, "rfid_cards", values)]) + buttons, True)


def history_page(twin: Any) -> str:
    """Charging Record (step 7): one row per session, newest first."""
    entry = _entry(twin, "history")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in entry.fields)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(record.get(c, ''))}</td>"
                                    for c in entry.fields) + "</tr>"
                   for record in reversed(twin.nvm.charge_records))
    return frame("History", f"<h2>{html.escape(entry.heading)}</h2>"
                 f"<table id=\"records\"><tr>{head}</tr>{rows}</table>", True)


def upgrade_page(twin: Any, upgrader: Upgrader) -> str:
    """System upgrade (§12 steps 3-7): the .bin file, Upgrade file checksum, Continue;
    Status (our addition) shows the result the display shows."""
    spec = twin.profile.upgrade
    block = _rows(twin, "upgrade", {"Upgrade file checksum": "", "Status": upgrader.status()})
    form = ("<h3>Upgrade</h3><p>Make sure not to disconnect during the upgrade process.</p>"
            "<form method=\"post\" action=\"/upgrade\" enctype=\"multipart/form-data\">"
            f"<input type=\"file\" name=\"file\" accept=\"{html.escape(spec.file_type)}\"> "
            "<label>Upgrade file checksum <input name=\"Upgrade file checksum\"></label> "
            "<button type=\"submit\">Continue</button></form>")
    return frame("Upgrade", blocks_html([block]) + form, True)


def _post(action: str, fields: str, button: str) -> str:
    return (f"<form method=\"post\" action=\"{action}\" style=\"display:inline\">{fields}"
            f"<button type=\"submit\">{button}</button></form> ")


def frame(title: str, body: str, nav: bool = False) -> str:
    """The page around ``body``; ``nav``: the buttons on top of the configuration pages."""
    buttons = "".join(f"<a href=\"{href}\">{name}</a> " for href, name in NAV) if nav else ""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>EV PLUS - "
            f"{html.escape(title)}</title></head><body><nav>{buttons}</nav><main>"
            f"<h1>{html.escape(title)}</h1>{body}<p><a href=\"/index.html\">Return</a></p>"
            "</main></body></html>\n")
