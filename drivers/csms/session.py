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
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError, ValidationError
from ocpp.messages import Call, CallError, CallResult, _validate_payload, unpack
from ocpp.v16 import ChargePoint

from evrig.drivers.csms.history import CALL, CALLERROR, CALLRESULT, Message

if TYPE_CHECKING:
    from evrig.drivers.csms.server import MockCsms


class CallErrorReply:
    """Script a CALLERROR answer: ``csms.respond("Authorize", CallErrorReply("InternalError"))``."""

    def __init__(self, error_code: str = "InternalError", description: str = "") -> None:
        self.error_code = error_code
        self.description = description


def schema_problem(message_type: int, action: str, unique_id: str, payload: Any) -> str | None:
    """Why ``payload`` breaks the OCPP 1.6 schema for ``action``, or None."""
    if not isinstance(payload, dict):
        return f"payload is {type(payload).__name__}, expected a JSON object"
    msg: Call | CallResult
    if message_type == CALL:
        msg = Call(unique_id, action, json.loads(json.dumps(payload)))
    else:
        msg = CallResult(unique_id, json.loads(json.dumps(payload)), action)
    try:
        _validate_payload(msg, "1.6")
    except NotImplementedError:
        return f"'{action}' is not an OCPP 1.6 action"
    except (OCPPError, ValidationError) as exc:
        details = getattr(exc, "details", None) or {}
        cause = details.get("cause") if isinstance(details, dict) else None
        return f"{type(exc).__name__}: {cause or exc}"
    return None


class CsmsSession(ChargePoint):
    """The CSMS end of one websocket connection."""

    def __init__(self, charge_point_id: str, connection: Any, csms: MockCsms) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30)
        self._csms = csms
        self._pending_actions: dict[str, str] = {}
        # Set when the connection is closed and every frame it brought was handled.
        self.ended = asyncio.Event()

    # -- outgoing ---------------------------------------------------------
    async def _send(self, message: str) -> None:
        await self._send_recorded(message)

    async def _send_recorded(self, message: str) -> Message | None:
        parsed = json.loads(message)
        if parsed[0] == CALL:
            self._pending_actions[parsed[1]] = parsed[2]
        sent, _ = self._record("out", message, parsed)
        await self._connection.send(message)
        return sent

    # -- incoming ---------------------------------------------------------
    async def route_message(self, raw_msg: str | bytes) -> None:
        if isinstance(raw_msg, bytes):
            raw_msg = raw_msg.decode("utf-8", "replace")
        try:
            parsed = json.loads(raw_msg)
            unpack(raw_msg)  # the library's own framing checks
        except (ValueError, OCPPError) as exc:
            self._csms.add_finding("unparsable", f"not an OCPP-J frame ({exc})", raw_msg)
            return
        msg, valid = self._record("in", raw_msg, parsed)
        if msg is None:
            return
        if msg.message_type == CALL:
            answer = None
            try:
                answer = await self._answer(msg, valid)
            finally:  # answered, or the answer failed: waiters see the CALL either way
                self._csms.history.settle(msg, answer)
        else:
            self._response_queue.put_nowait(unpack(raw_msg))

    def _record(
        self, direction: str, raw: str, parsed: list[Any]
    ) -> tuple[Message | None, bool]:
        """Append the frame to history; validate what the charge point sent."""
        csms = self._csms
        try:
            mtype, unique_id = int(parsed[0]), str(parsed[1])
        except (IndexError, TypeError, ValueError):
            csms.add_finding("unparsable", "frame is not [type, id, ...]", raw)
            return None, False
        error_code = None
        if mtype == CALL:
            action, payload = parsed[2], parsed[3] if len(parsed) > 3 else {}
        elif mtype == CALLRESULT:
            action = (self._pending_actions.pop(unique_id, None) if direction == "in"
                      else csms.history.action_of("in", unique_id))
            payload = parsed[2] if len(parsed) > 2 else {}
        elif mtype == CALLERROR:
            action = (self._pending_actions.pop(unique_id, None) if direction == "in"
                      else csms.history.action_of("in", unique_id))
            error_code = str(parsed[2]) if len(parsed) > 2 else None
            payload = parsed[4] if len(parsed) > 4 and isinstance(parsed[4], dict) else {}
        else:
            csms.add_finding("unparsable", f"unknown message type {mtype}", raw)
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
                csms.add_finding("schema", f"{what} violates the OCPP 1.6 schema: {problem}", raw)
                return msg, False
        return msg, True

    async def _answer(self, msg: Message, valid: bool) -> Message | None:
        if not valid:
            # A strict backend answers a malformed request with a CALLERROR.
            err = CallError(msg.unique_id, "FormationViolation", "payload violates schema", {})
            return await self._send_recorded(err.to_json())
        reply = self._csms.response_for(msg)
        if isinstance(reply, CallErrorReply):
            err = CallError(msg.unique_id, reply.error_code, reply.description, {})
            return await self._send_recorded(err.to_json())
        return await self._send_recorded(CallResult(msg.unique_id, reply).to_json())
