"""The twin's OCPP-J connection to its backend: connect, reconnect, send in order.

One CALL at a time (OCPP-J §4.1.1). Transaction messages live in the charger's
NV memory while offline and go out in order on reconnect, so none is lost;
other messages are dropped when there is no connection, as the real charger
does (it reports its present status again on reconnect instead).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import ChargePoint, call, call_result
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from evrig.rig.clock import Clock
from evrig.rig.redaction import redacting_logger

WS_LOGGER = redacting_logger("evrig.sim.websockets")

Payload = dict[str, Any]
# A CSMS-initiated CALL handler: payload → (response payload, what to run once the
# answer has been sent)
Handler = Callable[[Payload], tuple[Payload, Callable[[], None] | None]]


@dataclass
class Outgoing:
    """A CALL waiting to be sent. ``build`` runs at send time, so a queued
    StopTransaction carries the transaction id the backend assigned meanwhile."""

    action: str
    build: Callable[[], Payload]
    persistent: bool = False
    on_result: Callable[[Payload | None], None] | None = None
    future: asyncio.Future[Payload | None] | None = field(default=None, repr=False)


class _Session(ChargePoint):
    """The library's ChargePoint with our handlers routed in. A handler answers with a
    camelCase payload; it goes back to the library as the library's own call_result
    dataclass (no patching of the library: the mock CSMS shares this process)."""

    def __init__(self, cp_id: str, ws: Any, handlers: dict[str, Handler]) -> None:
        super().__init__(cp_id, ws, response_timeout=30)
        self._afters: dict[str, Callable[[], None]] = {}
        for action, handler in handlers.items():
            self.route_map[action] = {
                "_on_action": self._wrap(action, handler),
                "_after_action": self._run_after,
                "_skip_schema_validation": False,
            }

    def _wrap(self, action: str, handler: Handler) -> Callable[..., Any]:
        answer = getattr(call_result, action)

        def on_action(call_unique_id: str, **kwargs: Any) -> Any:
            payload = snake_to_camel_case(kwargs)
            response, after = handler(payload)
            if after is not None:
                self._afters[call_unique_id] = after
            return answer(**camel_to_snake_case(response))

        return on_action

    def _run_after(self, call_unique_id: str, **kwargs: Any) -> None:
        after = self._afters.pop(call_unique_id, None)
        if after is not None:
            after()


class OcppLink:
    def __init__(
        self,
        *,
        clock: Clock,
        url: Callable[[], str],
        charge_point_id: str,
        handlers: dict[str, Handler],
        outbox: deque[Outgoing],
        on_connected: Callable[[], None],
        on_disconnected: Callable[[], None],
        password: Callable[[], str | None] = lambda: None,
        ssl_context: ssl.SSLContext | None = None,
        may_send: Callable[[Outgoing], bool] = lambda m: True,
    ) -> None:
        self.clock = clock
        self._url = url
        self.cp_id = charge_point_id
        self._handlers = handlers
        self.outbox = outbox
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._password = password
        self._ssl = ssl_context
        self._may_send = may_send
        self.session: _Session | None = None
        self.wake = asyncio.Event()
        self.failures = 0

    @property
    def online(self) -> bool:
        return self.session is not None

    def enqueue(self, msg: Outgoing) -> None:
        if not self.online and not msg.persistent:
            if msg.future is not None and not msg.future.done():
                msg.future.set_result(None)
            return
        self.outbox.append(msg)
        self.wake.set()

    async def request(self, action: str, payload: Payload) -> Payload | None:
        """Send now-ish and wait for the answer (None when offline or on error)."""
        fut: asyncio.Future[Payload | None] = asyncio.get_running_loop().create_future()
        self.enqueue(Outgoing(action, lambda: payload, future=fut))
        return await fut

    # -- connection ------------------------------------------------------------
    async def run(self) -> None:
        """Connect, serve, reconnect with back-off: until cancelled (power off)."""
        while True:
            try:
                headers = {}
                password = self._password()
                if password is not None:
                    token = base64.b64encode(f"{self.cp_id}:{password}".encode()).decode()
                    headers["Authorization"] = f"Basic {token}"
                async with connect(
                    self._url() + self.cp_id,
                    subprotocols=[Subprotocol("ocpp1.6")],
                    additional_headers=headers,
                    ssl=self._ssl if self._url().startswith("wss") else None,
                    open_timeout=max(1.0, self.clock.wall(10)),
                    ping_interval=None,
                    close_timeout=1,
                    logger=WS_LOGGER,  # redacts the Authorization header at DEBUG
                ) as ws:
                    self.failures = 0
                    await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            self.failures += 1
            # Back-off: 1, 2, 4 … 30 s (spec time) between attempts.
            await self.clock.asleep(min(30.0, 2.0 ** min(self.failures - 1, 5)))

    async def _serve(self, ws: Any) -> None:
        session = _Session(self.cp_id, ws, self._handlers)
        self.session = session
        receiver = asyncio.create_task(session.start())
        sender = asyncio.create_task(self._send_loop(session))
        self._on_connected()
        try:
            await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.session = None
            for task in (receiver, sender):
                task.cancel()
            # Bounded: the library's call() uses wait_for, which on 3.11 can swallow a
            # cancellation; a stuck sender must not keep the board from powering off.
            await asyncio.wait({receiver, sender}, timeout=1.0)
            self._drop_volatile()
            self._on_disconnected()

    def _drop_volatile(self) -> None:
        keep = [m for m in self.outbox if m.persistent]
        for m in self.outbox:
            if not m.persistent and m.future is not None and not m.future.done():
                m.future.set_result(None)
        self.outbox.clear()
        self.outbox.extend(keep)

    async def close(self) -> None:
        if self.session is not None:
            await self.session._connection.close()

    def abort(self) -> None:
        """Power loss: the TCP connection dies without a closing handshake."""
        if self.session is not None:
            self.session._connection.transport.abort()

    # -- sending ------------------------------------------------------------------
    async def _send_loop(self, session: _Session) -> None:
        while True:
            msg = next((m for m in self.outbox if self._may_send(m)), None)
            if msg is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            payload = msg.build()
            dataclass_ = getattr(call, msg.action)
            request = dataclass_(**camel_to_snake_case(payload))
            # 30 spec s, but never under 5 s of wall time: a loaded test machine must
            # not make the twin drop a healthy connection (and resend its statuses).
            session._response_timeout = max(self.clock.wall(30), 5.0)
            try:
                result = await session.call(request, suppress=False)
            except TimeoutError:
                # No answer: the connection is probably dead; keep persistent ones.
                if not msg.persistent:
                    self._finish(msg, None)
                await self.close()
                return
            except OCPPError:
                result = None
            self._finish(msg, None if result is None else
                         strip_nones(snake_to_camel_case(dataclasses.asdict(result))))

    def _finish(self, msg: Outgoing, result: Payload | None) -> None:
        with contextlib.suppress(ValueError):
            self.outbox.remove(msg)
        if msg.on_result is not None:
            msg.on_result(result)
        if msg.future is not None and not msg.future.done():
            msg.future.set_result(result)


def strip_nones(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {k: strip_nones(v) for k, v in payload.items() if v is not None}
    if isinstance(payload, list):
        return [strip_nones(v) for v in payload]
    return payload

