"""One charge point's OCPP 1.6J session on the mock CSMS.

Built on the ``ocpp`` library's ChargePoint for sending CALLs and matching their
answers, but every incoming frame passes through :meth:`route_message` here
first: it is recorded, validated against the OCPP 1.6 JSON schemas, and answered
by the responder the test scripted (or the default). A malformed frame becomes a
finding attached to the test instead of an exception in the receive loop, so a
misbehaving charger fails the test promptly and never hangs it.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError, ValidationError
from ocpp.messages import Call, CallError, CallResult, _validate_payload
from ocpp.v16 import ChargePoint
from websockets.exceptions import ConnectionClosed

from evrig.drivers.csms.events import CsmsDisconnected, CsmsViolation, close_of
from evrig.drivers.csms.history import CALL, CALLERROR, CALLRESULT, Message
from evrig.drivers.csms.responders import DEFAULT_RESPONDERS, CallErrorReply

if TYPE_CHECKING:
    from evrig.drivers.csms.server import MockCsms
    from evrig.rig.clock import Clock


def schema_problem(message_type: int, action: str, unique_id: str, payload: Any) -> str | None:
    """Why ``payload`` breaks the OCPP 1.6 schema for ``action``, or None."""
    if not isinstance(payload, dict):
        return f"payload is {type(payload).__name__}, expected a JSON object"
    # No copy: for its three Decimal actions the library rebinds ``msg.payload`` to a
    # re-parsed copy; it never changes the dict it was given (the recorded payload).
    msg: Call | CallResult
    if message_type == CALL:
        msg = Call(unique_id, action, payload)
    else:
        msg = CallResult(unique_id, payload, action)
    try:
        _validate_payload(msg, "1.6")
    except NotImplementedError:
        return f"'{action}' is not an OCPP 1.6 action"
    except (OCPPError, ValidationError) as exc:
        details = getattr(exc, "details", None) or {}
        cause = details.get("cause") if isinstance(details, dict) else None
        return f"{type(exc).__name__}: {cause or exc}"
    return None


MAX_ID_CHARS = 36  # OCPP-J 1.6 §4.1.3: the unique id is at most 36 characters
SEEN_CALL_IDS = 10_000  # unique ids remembered per connection for the reuse check


def _usable_id(parsed: list[Any]) -> bool:
    return len(parsed) > 1 and isinstance(parsed[1], str) and 0 < len(parsed[1]) <= MAX_ID_CHARS


def frame_problem(parsed: Any) -> str | None:
    """Why ``parsed`` is not an OCPP-J frame (OCPP-J 1.6 §4), or None."""
    if not isinstance(parsed, list) or not parsed:
        return "a frame is a JSON array"
    mtype = parsed[0]
    if type(mtype) is not int or mtype not in (CALL, CALLRESULT, CALLERROR):
        return f"message type {mtype!r} is not the integer 2, 3 or 4"
    if not _usable_id(parsed):
        return f"unique id must be a string of 1 to {MAX_ID_CHARS} characters"
    if mtype == CALL:
        if len(parsed) != 4:
            return "a CALL is [2, id, action, payload]"
        action = parsed[2]
        if not isinstance(action, str) or not action.isidentifier() or not action.isascii():
            return f"action {action!r} is not an action name"
        if not isinstance(parsed[3], dict):
            return "a CALL's payload is a JSON object"
    elif mtype == CALLRESULT and len(parsed) != 3:
        return "a CALLRESULT is [3, id, payload]"
    elif mtype == CALLERROR and (len(parsed) != 5 or not isinstance(parsed[2], str)):
        return "a CALLERROR is [4, id, errorCode, errorDescription, errorDetails]"
    return None


class CsmsSession(ChargePoint):
    """The CSMS end of one websocket connection."""

    def __init__(self, charge_point_id: str, connection: Any, csms: MockCsms) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30)
        self._csms = csms
        self._pending_actions: dict[str, str] = {}
        # Set when the connection is closed and every frame it brought was handled.
        self.ended = asyncio.Event()
        # Set by every finding on this connection.
        self.violation = asyncio.Event()
        # Unique ids of the latest CALLs on this connection (a reuse is a finding).
        # Bounded: a charger connected for weeks must not grow it without end, and a
        # reuse further back than this window is beyond what a test can tell apart.
        self._seen_call_ids: OrderedDict[str, None] = OrderedDict()
        # The CSMS call in flight (one at a time, _call_lock): its unique id, action
        # and the future its answer, a finding or the connection's end settles.
        self._in_flight: asyncio.Future[tuple[int, Message, list[Any]]] | None = None
        self._answer_id = ""
        self._answer_action = ""

    # -- outgoing ---------------------------------------------------------
    async def _send(self, message: str) -> None:
        await self._send_recorded(message)

    async def _send_recorded(self, message: str, action: str | None = None) -> Message | None:
        """Record ``message`` as it goes on the wire (parsed back: JSON types only),
        then send it; ``action``: of the CALL an answer answers."""
        parsed = json.loads(message)
        if parsed[0] == CALL:
            self._pending_actions[parsed[1]] = parsed[2]
        sent, _ = self._record("out", message, parsed, action)
        await self._connection.send(message)
        return sent

    async def call_raced(self, payload: Any, clock: Clock, timeout: float) -> Any:
        """A CSMS CALL and its answer, racing the connection and the charger's
        conduct: a drop ends it at once (after every frame the connection brought was
        handled — a charger that answers Reset and then closes has answered), so does
        any finding (a malformed answer is one). The request is schema-checked here,
        the answer once, as it arrives (``_record``); both on the loop, without the
        library's thread-pool hop."""
        action = type(payload).__name__
        body = remove_nones(snake_to_camel_case(serialize_as_dict(payload)))
        _validate_payload(Call("0", action, body), "1.6")  # raises the library's errors
        unique_id = str(self._unique_id_generator())
        request = Call(unique_id, action, body)
        async with self._call_lock:
            if self.ended.is_set():
                raise self._disconnected(action)
            self.violation.clear()
            answer = asyncio.get_running_loop().create_future()
            self._in_flight, self._answer_id, self._answer_action = answer, unique_id, action
            try:
                await self._send_recorded(request.to_json())
                mtype, msg, parsed = await clock.within(answer, timeout)
            finally:
                self._in_flight = None
        if mtype == CALLERROR:
            raise CallError(unique_id, msg.error_code, parsed[3] if len(parsed) > 3 else "",
                            msg.payload).to_exception()
        return getattr(self._call_result, action)(**camel_to_snake_case(msg.payload))

    def _disconnected(self, action: str) -> CsmsDisconnected:
        code, reason = close_of(self._connection)
        return CsmsDisconnected(f"{self.id} disconnected while {action} waited for its "
                                f"answer (close code {code} {reason!r})")

    def end(self) -> None:
        """The connection is closed and every frame it brought was handled."""
        self.ended.set()
        answer = self._in_flight
        if answer is not None and not answer.done():
            answer.set_exception(self._disconnected(self._answer_action))

    # -- incoming ---------------------------------------------------------
    async def route_message(self, raw_msg: str | bytes) -> None:
        """Every frame is recorded and judged; nothing a charger sends may end the
        connection (a crash here would close it with 1011 and lose the finding)."""
        text = raw_msg.decode("utf-8", "replace") if isinstance(raw_msg, bytes) else raw_msg
        try:
            await self._route(text)
        except ConnectionClosed:
            # The link closed (the test took the backend offline, the charger went
            # away) while the answer went out: the frame is recorded and settled, and
            # the charger did nothing wrong — it is the answer that could not leave.
            return
        except Exception as exc:  # noqa: BLE001 - the frame is the finding, not a crash
            self.finding("unparsable", f"frame the CSMS could not handle "
                         f"({type(exc).__name__}: {exc})", text)

    async def _route(self, text: str) -> None:
        try:
            parsed = json.loads(text)  # parsed once; the library's unpack is not used
        except (ValueError, RecursionError) as exc:
            self.finding("unparsable", f"not JSON ({type(exc).__name__}: {exc})", text)
            return
        problem = frame_problem(parsed)
        if problem is not None:
            self.finding("unparsable", f"not an OCPP-J frame: {problem}", text)
            if isinstance(parsed, list) and parsed[:1] == [CALL] and _usable_id(parsed):
                await self._send(CallError(parsed[1], "FormationViolation", problem,
                                           {}).to_json())
            return
        mtype, unique_id = parsed[0], parsed[1]
        if mtype == CALL:
            if unique_id in self._seen_call_ids:
                self.finding("unparsable", f"unique id {unique_id!r} used before on this "
                             "connection (OCPP-J §4.1.3)", text)
            self._seen_call_ids[unique_id] = None
            if len(self._seen_call_ids) > SEEN_CALL_IDS:
                self._seen_call_ids.popitem(last=False)
            msg, valid = self._record("in", text, parsed)
            answer = None
            try:
                if msg is not None:
                    answer = await self._answer(msg, valid)
            finally:  # answered, or the answer failed: waiters see the CALL either way
                if msg is not None:
                    self._csms.history.settle(msg, answer)
            return
        if unique_id not in self._pending_actions:
            self._record("in", text, parsed)
            self.finding("unexpected", f"answer to no call of ours (unique id {unique_id!r})",
                         text)
            return  # dropped: nothing waits for it, nothing queues up
        msg, valid = self._record("in", text, parsed)
        waiting = self._in_flight
        if msg is not None and valid and waiting is not None and not waiting.done() and \
                unique_id == self._answer_id:
            waiting.set_result((mtype, msg, parsed))
        # An answer to a call that already timed out is recorded, and nothing waits.

    def finding(self, kind: str, message: str, frame: str) -> None:
        self._csms.add_finding(kind, message, frame)
        self.violation.set()
        answer = self._in_flight  # a call() in flight fails at once (server.MockCsms.call)
        if answer is not None and not answer.done():
            answer.set_exception(CsmsViolation(
                f"{self.id} broke the protocol during {self._answer_action}"))

    def _record(
        self, direction: str, raw: str, parsed: list[Any], known_action: str | None = None
    ) -> tuple[Message | None, bool]:
        """Append the frame to history; validate what the charge point sent."""
        csms = self._csms
        try:
            mtype, unique_id = int(parsed[0]), str(parsed[1])
        except (IndexError, TypeError, ValueError):
            self.finding("unparsable", "frame is not [type, id, ...]", raw)
            return None, False
        error_code = None
        if mtype == CALL:
            action, payload = parsed[2], parsed[3] if len(parsed) > 3 else {}
        elif mtype == CALLRESULT:
            action = (self._pending_actions.pop(unique_id, None) if direction == "in"
                      else known_action or csms.history.action_of("in", unique_id))
            payload = parsed[2] if len(parsed) > 2 else {}
        elif mtype == CALLERROR:
            action = (self._pending_actions.pop(unique_id, None) if direction == "in"
                      else known_action or csms.history.action_of("in", unique_id))
            error_code = str(parsed[2]) if len(parsed) > 2 else None
            payload = parsed[4] if len(parsed) > 4 and isinstance(parsed[4], dict) else {}
        else:
            self.finding("unparsable", f"unknown message type {mtype}", raw)
            return None, False
        msg = csms.history.append(
            direction=direction,
            timestamp=csms.clock.now(),
            message_type=mtype,
            unique_id=unique_id,
            action=action,
            payload=payload if isinstance(payload, dict) else {"_invalid": payload},
            raw=raw,
            charge_point_id=self.id,
            error_code=error_code,
            settled=not (direction == "in" and mtype == CALL),
        )
        if direction == "in" and mtype in (CALL, CALLRESULT) and action:
            problem = schema_problem(mtype, action, unique_id, payload)
            if problem:
                what = action if mtype == CALL else f"{action} response"
                self.finding("schema", f"{what} violates the OCPP 1.6 schema: {problem}", raw)
                return msg, False
        return msg, True

    async def _answer(self, msg: Message, valid: bool) -> Message | None:
        if not valid and msg.action in DEFAULT_RESPONDERS:
            # A strict backend answers a malformed request with a CALLERROR (an action
            # it does not know gets NotImplemented from response_for, OCPP-J §4.2.3).
            return await self._send_error(msg, "FormationViolation", "payload violates schema")
        reply = self._csms.response_for(msg)
        if isinstance(reply, CallErrorReply):
            return await self._send_error(msg, reply.error_code, reply.description)
        return await self._send_recorded(CallResult(msg.unique_id, reply).to_json(),
                                          msg.action)

    async def _send_error(self, msg: Message, code: str, description: str) -> Message | None:
        err = CallError(msg.unique_id, code, description, {})
        return await self._send_recorded(err.to_json(), msg.action)
