"""The twin's web client: the pages of 000 §2.5.1 (004 §4.2 on the COMPACT) over HTTP.

A real EVNET serves its web client at https://192.168.4.1/index.html; the twin serves
the same pages, with the labels of the manual (and of the profile's ``web_client``
table), on 127.0.0.1 — plain HTML any browser opens, no JavaScript. It runs on the
virtual bench's loop and reads the twin as the real web client reads its firmware.

Pages (the paths other than /index.html are not documented; drivers/charger/
web_client.py keeps them in one table):

- ``/index.html`` Device Status and Control: Device Status, Power Meter Measurements,
  Device Control (Clear Faults) — public, as on the device;
- ``/admin.html`` Admin Access: the PIN form (POST ``/login``);
- ``/diagnostics.html`` Charge Point Diagnostics: RTM Information (OPB, PRT, RTM Err
  Code), Network Information, Log Over Network, Firmware Update Control — admin;
- ``/external.html`` Configuration of External Devices: Main Fuse Configuration — admin;
- ``/device.html`` Device Configuration: Firmware Update Control (004 §4.2) — admin;
- the configuration pages of web_config.py (Network, NFC, Backend, Date & Time) — admin;
- POST ``/clear`` (Clear Faults) and POST ``/restart`` (RESTART) — admin.

While the board is off (or rebooting) the server drops every connection unanswered:
a real web client is simply gone then. Admin sessions live in RAM: a reboot ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from evrig.sim.charger import web_config
from evrig.sim.charger.web_measurements import printed

SESSION_COOKIE = "evnet_session"
MAX_BODY = 4096
READ_TIMEOUT_S = 5.0
NAV = (("/index.html", "Device Status and Control"),
       ("/network.html", "Network Configuration"),
       ("/backend.html", "Backend Configuration"),
       ("/nfc.html", "NFC Configuration"),
       ("/datetime.html", "Date & Time"),
       ("/admin.html", "Admin Panel"),
       ("/external.html", "Configuration of External Devices"),
       ("/device.html", "Device Configuration"),
       ("/diagnostics.html", "Charge Point Diagnostics"))
PUBLIC = {"/", "/index.html", "/admin.html"}
EV_STATUS = {"A": "Disconnected", "B": "Connected", "C": "Charging", "D": "Charging",
             "E": "Error", "F": "Error"}


class Reply:
    def __init__(self, status: int, body: str = "", headers: dict[str, str] | None = None,
                 ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


class WebClientServer:
    """HTTP server of the twin's web client. ``pin`` is asked for each login (the bench
    holds it in the process environment, never in a file)."""

    def __init__(self, twin: Any, pin: Callable[[], str], *,
                 restart: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.twin = twin
        self._pin = pin
        self._restart = restart
        self._restart_task: asyncio.Future[Any] | None = None
        self._server: asyncio.Server | None = None
        self._sessions: set[str] = set()
        self._sessions_fw: Any = None  # the firmware run the sessions belong to
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    # -- HTTP ------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            fw = self._firmware()
            if request is None or fw is None:
                return  # malformed, or the board is off: no answer, as a dead device
            try:
                reply = self._handle(fw, *request)
            except Exception as exc:  # a page that cannot render is a 500, not a hang
                reply = Reply(500, _page("Error", [], f"<p>{html.escape(repr(exc))}</p>",
                                         False))
            writer.write(_encode(reply))
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _firmware(self) -> Any:
        fw = self.twin.fw if self.twin.powered else None
        if fw is not self._sessions_fw:
            self._sessions.clear()  # a reboot ends every admin session
            self._sessions_fw = fw
        return fw

    def _handle(self, fw: Any, method: str, path: str, headers: dict[str, str],
                body: bytes) -> Reply:
        path = path.split("?", 1)[0]
        admin = _cookie(headers.get("cookie", ""), SESSION_COOKIE) in self._sessions
        if method == "GET":
            pages: dict[str, Callable[[Any, bool], str]] = {
                "/": self._index, "/index.html": self._index, "/admin.html": self._admin,
                "/diagnostics.html": self._diagnostics, "/external.html": self._external,
                "/device.html": self._device,
                **{path: self._config_page(page) for path, page in (
                    ("/network.html", web_config.network), ("/nfc.html", web_config.nfc),
                    ("/backend.html", web_config.backend(self.twin)),
                    ("/datetime.html", web_config.date_time))}}
            page = pages.get(path)
            if page is None:
                return Reply(404, _page("Not Found", [], "<p>No such page.</p>", admin))
            if path not in PUBLIC and not admin:
                return self._login_required(admin)
            return Reply(200, page(fw, admin))
        if method != "POST":
            return Reply(405, _page("Method Not Allowed", [], "", admin), {"Allow": "GET, POST"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if path == "/login":
            return self._login(form)
        if path == "/logout":
            self._sessions.discard(_cookie(headers.get("cookie", ""), SESSION_COOKIE) or "")
            return _see_other("/index.html")
        if path not in ("/clear", "/restart", "/fuse", *web_config.PATHS):
            return Reply(404, _page("Not Found", [], "<p>No such action.</p>", admin))
        if not admin:
            return self._login_required(admin)
        if path == "/clear":
            fw.clear_faults()
            return _see_other("/index.html")
        if path in web_config.PATHS:
            error, next_page = web_config.act(self.twin, fw, path, form)
            if error is not None:
                return Reply(400, _page("Configuration", [],
                                        f"<p id=\"error\">{html.escape(error)}</p>", admin))
            fw.kick()
            return _see_other(next_page)
        if path == "/fuse":
            # Change Main Fuse Rating → SET (000 §2.5.1 Configuration of External Devices).
            try:
                refused = self.twin.set_main_fuse(float(form.get("fuse", "")))
            except ValueError:
                refused = "not a number"
            if refused is not None:
                return Reply(400, _page("Configuration of External Devices", [],
                                        f"<p id=\"error\">{html.escape(refused)}</p>", admin))
            fw.kick()
            return _see_other("/external.html")
        if self._restart is not None:
            # Answer first, then go down: the browser sees the page, then nothing.
            asyncio.get_running_loop().call_later(0.05, self._spawn_restart)
        return Reply(200, _page("Device Status and Control", [],
                                "<p id=\"restart\">Restarting&hellip;</p>", admin))

    def _spawn_restart(self) -> None:
        assert self._restart is not None
        self._restart_task = asyncio.ensure_future(self._restart())

    def _login(self, form: dict[str, str]) -> Reply:
        given = form.get("pin", "")
        if not given or not hmac.compare_digest(given.encode(), self._pin().encode()):
            return Reply(403, _page("Admin Panel", [], _login_form(
                "<p class=\"error\" id=\"login-error\">Login failed: wrong PIN.</p>"), False))
        token = secrets.token_hex(16)
        self._sessions.add(token)
        target = form.get("next", "/admin.html")
        if not target.startswith("/") or target.startswith("//"):
            target = "/admin.html"
        return _see_other(target, {"Set-Cookie": f"{SESSION_COOKIE}={token}; Path=/; HttpOnly"})

    def _login_required(self, admin: bool) -> Reply:
        return Reply(403, _page("Admin Panel", [], _login_form(
            "<p class=\"error\" id=\"login-required\">Admin login required.</p>"), admin))

    # -- pages -----------------------------------------------------------------------------
    def _index(self, fw: Any, admin: bool) -> str:
        twin = self.twin
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
            "<button type=\"submit\">CLEAR</button></form></td></tr></table>")
        return _page("Device Status and Control",
                     [("Device Status", status), ("Power Meter Measurements", measurements)],
                     control, admin)

    def _admin(self, fw: Any, admin: bool) -> str:
        if admin:
            return _page("Admin Panel", [], "<p id=\"logged-in\">Logged in as admin.</p>"
                         "<form method=\"post\" action=\"/logout\"><button>LOGOUT</button>"
                         "</form>", admin)
        return _page("Admin Panel", [], _login_form(""), admin)

    def _diagnostics(self, fw: Any, admin: bool) -> str:
        rtm = [("OPB Code", "1"), ("PRT Code", "1"), ("RTM Err Code", f"0x{fw.rtm_seen:04X}")]
        network = [("IPv4", "127.0.0.1"), ("WiFi MAC", "02:00:00:00:00:01"),
                   ("ETH MAC", "02:00:00:00:00:02")]
        log = [("Status", "Inactive"), ("IPv4", "0.0.0.0"), ("Port", "Not Set")]
        return _page("Charge Point Diagnostics",
                     [("RTM Information", rtm), ("Network Information", network),
                      ("Log Over Network", log), ("Firmware Update Control", _update(fw))],
                     "", admin)

    def _device(self, fw: Any, admin: bool) -> str:
        """Device Configuration (004 §4.2, COMPACT): Firmware Update Control with the
        Device Version; the EV NET shows the same block on its diagnostics page."""
        update = [("Device Version", self.twin.nvm.firmware_version), *_update(fw)]
        return _page("Device Configuration", [("Firmware Update Control", update)], "", admin)

    def _config_page(self, page: web_config.Page) -> Callable[[Any, bool], str]:
        def render(fw: Any, admin: bool) -> str:
            return _page(*page(fw), admin)
        return render

    def _external(self, fw: Any, admin: bool) -> str:
        key = self.twin.profile.key("c_MainFuseLimit")
        per_amp = 10 if key.unit == "0.1 A" else 1
        limit = fw.config.int(key.name, int(key.default)) / per_amp
        rs485 = getattr(self.twin, "rs485", None)
        reading = rs485.fuse_reading() if rs485 is not None else 0.0
        fuse = [("Main Fuse Limit", f"{limit:.1f} A"), ("Main Fuse Reading", f"{reading:.1f} A")]
        form = ("<h3>Change Main Fuse Rating</h3><form method=\"post\" action=\"/fuse\">"
                "<label>Main Fuse Rating <input name=\"fuse\"></label> "
                "<button type=\"submit\">SET</button></form>")
        return _page("Configuration of External Devices", [("Main Fuse Configuration", fuse)],
                     form, admin)


def _update(fw: Any) -> list[tuple[str, str]]:
    return [("Status", fw.firmware_status), ("Progress", "0%"),
            ("Custom vendor err", "0x0000"), ("Internal vendor err", "0x0000"),
            ("Update finish err", "0x0000")]


# -- HTML and HTTP helpers -------------------------------------------------------------------

def _page(title: str, blocks: list[tuple[str, list[tuple[str, str]]]], extra: str,
          admin: bool) -> str:
    nav = "".join(f"<li><a href=\"{href}\">{html.escape(name)}</a></li>" for href, name in NAV)
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>EVNET - "
             f"{html.escape(title)}</title></head><body>",
             f"<nav><ul>{nav}</ul></nav><main><h1>{html.escape(title)}</h1>",
             "<form method=\"post\" action=\"/restart\" style=\"display:inline\">"
             "<button type=\"submit\">RESTART</button></form> "
             "<a href=\"\">REFRESH</a>"]
    for heading, rows in blocks:
        parts.append(f"<h2>{html.escape(heading)}</h2><table>")
        parts.extend(f"<tr><td>{html.escape(label)}:</td><td>{html.escape(value)}</td></tr>"
                     for label, value in rows)
        parts.append("</table>")
    parts.append(extra)
    parts.append(f"<p><small>{'admin' if admin else 'guest'}</small></p></main></body></html>\n")
    return "".join(parts)


def _login_form(message: str) -> str:
    return (f"<h2>Admin Access</h2>{message}<form method=\"post\" action=\"/login\">"
            "<label>PIN <input type=\"password\" name=\"pin\" inputmode=\"numeric\"></label>"
            "<button type=\"submit\">LOGIN</button></form>")


def _see_other(location: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(303, "", {"Location": location, **(headers or {})})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _read_request(reader: asyncio.StreamReader,
                        ) -> tuple[str, str, dict[str, str], bytes] | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_BODY:
        return None
    body = await reader.readexactly(length) if length else b""
    return parts[0].upper(), parts[1], headers, body


def _encode(reply: Reply) -> bytes:
    body = reply.body.encode("utf-8")
    head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Error')}",
            "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(body)}",
            "Cache-Control: no-store", "Connection: close"]
    head += [f"{k}: {v}" for k, v in reply.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def session_pin(env_name: str) -> str:
    """The twin's admin PIN for this session, in the process environment under
    ``env_name`` (the rig file's charger.web.admin_pin_env) — never in a file. A value
    already set is kept (export one to log in from a browser); otherwise a random
    6-digit PIN is chosen and exported, so the rig's driver reads it like on a real bench."""
    pin = os.environ.get(env_name)
    if not pin:
        pin = f"{secrets.randbelow(10**6):06d}"
        os.environ[env_name] = pin
    return pin
