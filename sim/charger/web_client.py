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

from evrig.sim.charger import web_compact, web_config, web_pages
from evrig.sim.charger.web_pages import login_form as _login_form
from evrig.sim.charger.web_pages import page as _page

SESSION_COOKIE = "evnet_session"
MAX_BODY = 4096
READ_TIMEOUT_S = 5.0
PUBLIC = {"/", "/index.html", "/admin.html"}

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
    holds it in the process environment, never in a file). The EV PLUS web app
    (web_evplus.py) is a subclass with its own pages on the same machinery."""

    max_body = MAX_BODY  # the largest request body served (larger: dropped unanswered)

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
            request = await asyncio.wait_for(_read_request(reader, self.max_body),
                                             READ_TIMEOUT_S)
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
        admin = self._is_admin(headers)
        if method == "GET":
            render = self._pages().get(path)
            if render is None:
                return Reply(404, _page("Not Found", [], "<p>No such page.</p>", admin))
            if path not in PUBLIC and not admin:
                return self._login_required(admin)
            return Reply(200, render(fw, admin))
        if method != "POST":
            return Reply(405, _page("Method Not Allowed", [], "", admin), {"Allow": "GET, POST"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if path == "/login":
            return self._login(form)
        if path == "/logout":
            self._logout(headers)
            return _see_other("/index.html")
        if path not in ("/clear", "/restart", "/fuse", *web_config.PATHS, *web_compact.PATHS):
            return Reply(404, _page("Not Found", [], "<p>No such action.</p>", admin))
        if not admin:
            return self._login_required(admin)
        if path == "/clear":
            fw.clear_faults()
            return _see_other("/index.html")
        if path == "/restart":
            if self._restart is not None:
                # Answer first, then go down: the browser sees the page, then nothing.
                asyncio.get_running_loop().call_later(0.05, self._spawn_restart)
            return Reply(200, _page("Device Status and Control", [],
                                    "<p id=\"restart\">Restarting&hellip;</p>", admin))
        if path == "/fuse":
            # Change Main Fuse Rating → SET (000 §2.5.1 Configuration of External Devices).
            try:
                error = self.twin.set_main_fuse(float(form.get("fuse", "")))
            except ValueError:
                error = "not a number"
            next_page = "/external.html"
        elif path in web_config.PATHS:
            error, next_page = web_config.act(self.twin, fw, path, form)
        else:
            error, next_page = web_compact.act(self.twin, fw, path, form)
        if error is not None:
            return Reply(400, _page("Configuration", [],
                                    f"<p id=\"error\">{html.escape(error)}</p>", admin))
        fw.kick()
        return _see_other(next_page)

    def _pages(self) -> dict[str, Callable[[Any, bool], str]]:
        """Path → page renderer: the pages this unit's web client has."""
        twin = self.twin

        def framed(render: Callable[[Any], tuple[str, list[Any], str]],
                   ) -> Callable[[Any, bool], str]:
            return lambda fw, admin: _page(*render(fw), admin)

        def bound(render: Callable[[Any, Any, bool], str]) -> Callable[[Any, bool], str]:
            return lambda fw, admin: render(twin, fw, admin)

        pages = {"/": bound(web_pages.index), "/index.html": bound(web_pages.index),
                 "/admin.html": bound(web_pages.admin_page),
                 "/diagnostics.html": bound(web_pages.diagnostics),
                 "/external.html": bound(web_pages.external),
                 "/device.html": bound(web_pages.device),
                 "/network.html": framed(web_config.network),
                 "/nfc.html": framed(web_config.nfc),
                 "/backend.html": framed(web_config.backend(twin)),
                 "/datetime.html": framed(web_config.date_time)}
        if web_compact.has_locker(twin):
            pages["/locker.html"] = framed(lambda fw: web_compact.locker(twin, fw))
        return pages

    def _spawn_restart(self) -> None:
        assert self._restart is not None
        self._restart_task = asyncio.ensure_future(self._restart())

    def _login(self, form: dict[str, str]) -> Reply:
        if not self._pin_ok(form.get("pin", "")):
            return Reply(403, _page("Admin Panel", [], _login_form(
                "<p class=\"error\" id=\"login-error\">Login failed: wrong PIN.</p>"), False))
        return self._session(form.get("next", "/admin.html"), "/admin.html")

    # -- admin sessions (shared with the EV PLUS web app) ------------------------------
    def _is_admin(self, headers: dict[str, str]) -> bool:
        return _cookie(headers.get("cookie", ""), SESSION_COOKIE) in self._sessions

    def _logout(self, headers: dict[str, str]) -> None:
        self._sessions.discard(_cookie(headers.get("cookie", ""), SESSION_COOKIE) or "")

    def _pin_ok(self, given: str) -> bool:
        """Whether ``given`` is the PIN (constant time; neither is ever logged)."""
        return bool(given) and hmac.compare_digest(given.encode(), self._pin().encode())

    def _session(self, target: str, default: str) -> Reply:
        """A new admin session: its cookie, and on to ``target`` (a local path only)."""
        token = secrets.token_hex(16)
        self._sessions.add(token)
        if not target.startswith("/") or target.startswith("//"):
            target = default
        return _see_other(target, {"Set-Cookie": f"{SESSION_COOKIE}={token}; Path=/; HttpOnly"})

    def _login_required(self, admin: bool) -> Reply:
        return Reply(403, _page("Admin Panel", [], _login_form(
            "<p class=\"error\" id=\"login-required\">Admin login required.</p>"), admin))


# -- HTML and HTTP helpers -------------------------------------------------------------------

def _see_other(location: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(303, "", {"Location": location, **(headers or {})})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _read_request(reader: asyncio.StreamReader, max_body: int = MAX_BODY,
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
    if length > max_body:
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
