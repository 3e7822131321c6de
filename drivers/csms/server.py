"""The mock CSMS: an OCPP 1.6J backend a test drives from plain ``def`` code.

The websocket server runs on a :class:`rig.loop.LoopThread`; everything public
here is called from the test thread and bounded by spec-second timeouts.
Security profiles: 0 (plain ws), 1 (HTTP Basic auth), 2 (Basic auth over TLS).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import ssl
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from evrig.drivers.csms.events import (
    ConnectionEvent,
    CsmsTimeout,
    CsmsViolation,
    close_of,
)
from evrig.drivers.csms.history import Finding, History, Message, subset_match
from evrig.drivers.csms.responders import (
    DEFAULT_RESPONDERS,
    BackendState,
    CallErrorReply,
    Payload,
    Script,
    answer_of,
    script_for,
)
from evrig.drivers.csms.session import CsmsSession
from evrig.rig.clock import Clock
from evrig.rig.loop import LoopThread
from evrig.rig.redaction import redacting_logger

# Wall bounds around spec-time waits: a loaded machine runs spec time slower than
# nominal; only a wedged loop should ever reach WALL_SLACK x the nominal wall time.
WALL_SLACK = 10

SUBPROTOCOL = "ocpp1.6"


WS_LOGGER = redacting_logger("evrig.csms.websockets")

class MockCsms:
    """The backend side of the rig. One instance serves any number of charge points;
    ``charge_point_id`` is the unit under test (others are refused unless
    ``accept_any``)."""

    def __init__(
        self,
        *,
        loop: LoopThread,
        clock: Clock,
        charge_point_id: str,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/ocpp/",
        id_tags: dict[str, str] | None = None,
        heartbeat_interval: int = 60,
        basic_auth_password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        accept_any: bool = False,
        ping_interval_s: float | None = None,
    ) -> None:
        self.loop = loop
        self.clock = clock
        self.charge_point_id = charge_point_id
        self.host = host
        self.port = port
        self.path = path
        self.accept_any = accept_any
        self.basic_auth_password = basic_auth_password
        self.ssl_context = ssl_context
        # CSMS-side websocket pings (spec s; None: off, the charger's
        # WebSocketPingInterval drives pings): a frozen charge point that stops
        # answering them is closed with code 1011 and shows in ``connections``.
        self.ping_interval_s = ping_interval_s
        self.state = BackendState(
            id_tags=dict(id_tags or {}),
            heartbeat_interval=heartbeat_interval,
            utcnow=clock.utcnow,
        )
        self.history = History()
        self.connections: list[ConnectionEvent] = []
        self.sessions: dict[str, CsmsSession] = {}
        self._scripts: dict[str, Script] = {}
        # Answers a test's script gave since the last reset: what they told the charger
        # (an interval, a clock, an idTagInfo) no default answer undoes (the keeper's cue).
        self.scripted_answers = 0
        self._forbidden: dict[str, dict[str, Any]] = {}
        self._refusing = False
        self._cursor = 0
        self._server: Server | None = None

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> MockCsms:
        self._server = self.loop.run(self._start(), timeout=10)
        return self

    async def _start(self) -> Server:
        server = await serve(
            self._handle,
            self.host,
            self.port,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            process_request=self._process_request,
            ssl=self.ssl_context,
            ping_interval=self._wall(self.ping_interval_s),
            ping_timeout=self._wall(self.ping_interval_s),
            # A frozen peer answers no close frame either: do not wait 10 s for one.
            close_timeout=self._wall(self.ping_interval_s) or 10,
            # Loopback and LAN benches: deflating every frame costs CPU and gains nothing.
            compression=None,
            max_size=2**20,
            logger=WS_LOGGER,  # redacts the charger's Authorization header at DEBUG
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _wall(self, spec_s: float | None) -> float | None:
        return None if spec_s is None else self.clock.wall(spec_s)

    def stop(self) -> None:
        if self._server is not None and self.loop.alive:
            server = self._server
            self._server = None

            async def _close() -> None:
                server.close()
                await server.wait_closed()

            with contextlib.suppress(TimeoutError, RuntimeError):
                self.loop.run(_close(), timeout=5)

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://{self.host}:{self.port}{self.path}"

    # -- connection admission ------------------------------------------------
    def _refuse(self, cp_id: str, reason: str) -> None:
        self.connections.append(ConnectionEvent(self.clock.now(), cp_id, "refused", reason))
        self.history.notify()

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        cp_id = path[len(self.path):] if path.startswith(self.path) else ""
        if not cp_id or "/" in cp_id:
            self._refuse(path, "path does not name a charge point under " + self.path)
            return conn.respond(HTTPStatus.NOT_FOUND, "unknown path\n")
        if not self.accept_any and cp_id != self.charge_point_id:
            self._refuse(cp_id, "unknown charge point id")
            return conn.respond(HTTPStatus.NOT_FOUND, "unknown charge point\n")
        if self._refusing:
            self._refuse(cp_id, "backend offline (test disconnected it)")
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "offline\n")
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
            self._refuse(cp_id, f"subprotocol {SUBPROTOCOL} not offered (got '{offered}')")
            return conn.respond(HTTPStatus.BAD_REQUEST, "ocpp1.6 subprotocol required\n")
        if self.basic_auth_password is not None and not self._authorized(cp_id, request):
            self._refuse(cp_id, "HTTP Basic auth failed")
            response = conn.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
            return response
        return None

    def _authorized(self, cp_id: str, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        assert self.basic_auth_password is not None
        return user == cp_id and hmac.compare_digest(password, self.basic_auth_password)

    async def _handle(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        cp_id = conn.request.path.split("?", 1)[0][len(self.path):]
        session = CsmsSession(cp_id, conn, self)
        self.sessions[cp_id] = session
        self.connections.append(ConnectionEvent(self.clock.now(), cp_id, "connected",
                                                subprotocol=conn.subprotocol))
        self.history.notify()
        try:
            await session.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            session.end()
            if self.sessions.get(cp_id) is session:
                del self.sessions[cp_id]
            code, reason = close_of(conn)
            self.connections.append(ConnectionEvent(self.clock.now(), cp_id, "closed", reason,
                                                    code=code))
            self.history.notify()

    # -- answering the charge point -----------------------------------------
    def response_for(self, msg: Message) -> Payload | CallErrorReply:
        assert msg.action is not None
        rule = self._forbidden.get(msg.action)
        if rule is not None and subset_match(msg.payload, rule):
            self.add_finding("forbidden", f"{msg.action} was forbidden by the test", msg.raw)
        script = self._scripts.get(msg.action)
        self.scripted_answers += script is not None
        if isinstance(script, CallErrorReply | dict):
            return script
        if script is not None:
            return answer_of(msg.action, script(msg.payload))
        responder = DEFAULT_RESPONDERS.get(msg.action)
        if responder is None:
            return CallErrorReply("NotImplemented", f"{msg.action} is not a 1.6 CP action")
        return responder(msg.payload, self.state)

    def add_finding(self, kind: str, message: str, frame: str) -> None:
        self.history.add_finding(Finding(kind, message, frame, self.clock.now()))

    # -- the test author's API ------------------------------------------------
    @property
    def findings(self) -> list[Finding]:
        return list(self.history.findings)

    @property
    def connected(self) -> bool:
        return self.charge_point_id in self.sessions

    def respond(self, action: str, answer: Any) -> None:
        """Script the answer to ``action``: an ``ocpp.v16.call_result`` object (e.g.
        ``call_result.Authorize(id_tag_info={"status": "Blocked"})``), a payload dict,
        a function of the request payload returning either, or a
        :class:`CallErrorReply`. ``None`` restores the default. Anything else raises
        TypeError here, naming what it takes."""
        if answer is None:
            self._scripts.pop(action, None)
        else:
            self._scripts[action] = script_for(action, answer)

    def forbid(self, action: str, **match: Any) -> None:
        """Any ``action`` (matching ``match``) from now on is a finding that fails the test."""
        self._forbidden[action] = match

    def allow(self, action: str) -> None:
        self._forbidden.pop(action, None)

    def mark(self) -> int:
        """Index of the next frame: pass as ``since=`` to look only at what follows."""
        return len(self.history)

    def _raise_findings(self) -> None:
        if self.history.findings:
            raise CsmsViolation(
                "charge point broke the protocol:\n"
                + "\n".join(str(f) for f in self.history.findings)
            )

    def wait_for(
        self,
        action: str,
        timeout: float = 30.0,
        *,
        since: int | None = None,
        direction: str = "in",
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        **match: Any,
    ) -> Message:
        """The first ``action`` CALL after the cursor whose payload contains ``match``.

        Scans history first, then waits up to ``timeout`` spec seconds. The cursor
        moves past each match, so consecutive ``wait_for`` calls assert order;
        ``since=0`` (or ``since=csms.mark()``) scans from elsewhere without moving
        the cursor back: a later wait without ``since`` still starts after the
        latest frame any wait returned.
        """
        start = self._cursor if since is None else since

        def matches(payload: dict[str, Any]) -> bool:
            return subset_match(payload, match) and (predicate is None or predicate(payload))

        def ready() -> Message | bool | None:
            if self.history.findings:
                return True
            return self.history.find(start, action, direction, matches)

        result = self.history.wait(ready, self.clock, timeout)
        self._raise_findings()
        if not isinstance(result, Message):
            want = ", ".join(f"{k}={v!r}" for k, v in match.items()) or "any payload"
            raise CsmsTimeout(
                f"no {action} ({want}) from {self.charge_point_id} within {timeout:g} s; "
                f"connected={self.connected}; last frames:\n{self.history.dump()}"
            )
        self._cursor = max(self._cursor, result.index + 1)
        return result

    def assert_none(self, action: str, duration: float, **match: Any) -> None:
        """Fail if ``action`` (matching) arrives within ``duration`` spec seconds."""
        start = self.mark()
        found = self.history.wait(
            lambda: self.history.findings
            or self.history.find(start, action, "in", lambda p: subset_match(p, match)),
            self.clock, duration,
        )
        self._raise_findings()
        if isinstance(found, Message):
            raise AssertionError(f"unexpected {action}: {found.brief()}")

    def wait_connected(self, timeout: float = 30.0) -> None:
        if not self.history.wait(lambda: self.connected, self.clock, timeout):
            refused = [c for c in self.connections if c.event == "refused"][-3:]
            raise CsmsTimeout(
                f"{self.charge_point_id} did not connect to {self.url} within {timeout:g} s"
                + (f"; refused: {refused}" if refused else "")
            )

    def wait_disconnected(self, timeout: float = 30.0) -> None:
        if not self.history.wait(lambda: not self.connected, self.clock, timeout):
            raise CsmsTimeout(f"{self.charge_point_id} still connected after {timeout:g} s")

    def call(self, payload: Any, timeout: float = 30.0) -> Any:
        """Send a CSMS-initiated 1.6 CALL (an ``ocpp.v16.call`` dataclass) and
        return the charger's answer (the matching ``ocpp.v16.call_result``).

        A CALLERROR answer raises ``ocpp.exceptions.OCPPError``; a malformed answer
        fails the test with the frame."""
        session = self.sessions.get(self.charge_point_id)
        if session is None:
            raise CsmsTimeout(f"cannot send {type(payload).__name__}: "
                              f"{self.charge_point_id} is not connected")
        # The spec-time timeout decides; the wall bounds only keep a wedged loop from
        # hanging the test (spec time may run slower than nominal on a busy machine).
        wall_bound = self.clock.wall(timeout) * WALL_SLACK + 5
        session._response_timeout = wall_bound
        try:
            result = self.loop.run(session.call_raced(payload, self.clock, timeout),
                                   timeout=wall_bound + 5)
        except TimeoutError:
            raise CsmsTimeout(
                f"{self.charge_point_id} did not answer {type(payload).__name__} "
                f"within {timeout:g} s"
            ) from None
        except Exception:
            self._raise_findings()
            raise
        self._raise_findings()
        return result

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol negotiated with the connected charge point (ocpp1.6)."""
        session = self.sessions.get(self.charge_point_id)
        return session._connection.subprotocol if session is not None else None

    def disconnect(self, refuse_reconnect: bool = True) -> None:
        """Drop the charger's connection (and refuse new ones: the backend is 'offline')."""
        self._refusing = refuse_reconnect

        async def _close() -> None:
            for s in list(self.sessions.values()):
                await s._connection.close()

        self.loop.run(_close(), timeout=5)

    def reconnect_allowed(self, allowed: bool = True) -> None:
        self._refusing = not allowed

    def reset(self) -> None:
        """Between tests: default responders, nothing forbidden, fresh history."""
        self._scripts.clear()
        self.scripted_answers = 0
        self._forbidden.clear()
        self._refusing = False
        self.history.clear()
        self.connections.clear()
        self._cursor = 0
