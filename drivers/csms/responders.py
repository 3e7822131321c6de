"""Default answers of the mock CSMS to every charge-point-initiated OCPP 1.6 action.

A testcase replaces any of them with ``csms.respond(action, payload_or_handler)``.
Each responder takes the request payload (camelCase dict, as on the wire) and the
backend's state, and returns the response payload.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocpp.charge_point import remove_nones, snake_to_camel_case
from ocpp.v16 import call_result

Payload = dict[str, Any]


@dataclass
class BackendState:
    """What a real backend would remember between calls."""

    id_tags: dict[str, str]
    heartbeat_interval: int
    utcnow: Callable[[], datetime]
    transaction_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def now_iso(self) -> str:
        return self.utcnow().isoformat().replace("+00:00", "Z")

    def id_tag_info(self, id_tag: str | None) -> Payload:
        return {"status": self.id_tags.get(id_tag or "", "Invalid")}


class CallErrorReply:
    """Script a CALLERROR answer: ``csms.respond("Authorize", CallErrorReply("InternalError"))``."""

    def __init__(self, error_code: str = "InternalError", description: str = "") -> None:
        self.error_code = error_code
        self.description = description


Responder = Callable[[Payload, BackendState], Payload]


def _boot(req: Payload, st: BackendState) -> Payload:
    return {"status": "Accepted", "currentTime": st.now_iso(), "interval": st.heartbeat_interval}


def _heartbeat(req: Payload, st: BackendState) -> Payload:
    return {"currentTime": st.now_iso()}


def _authorize(req: Payload, st: BackendState) -> Payload:
    return {"idTagInfo": st.id_tag_info(req.get("idTag"))}


def _start(req: Payload, st: BackendState) -> Payload:
    tx_id = next(st.transaction_ids)
    return {"transactionId": tx_id, "idTagInfo": st.id_tag_info(req.get("idTag"))}


def _stop(req: Payload, st: BackendState) -> Payload:
    return {"idTagInfo": st.id_tag_info(req["idTag"])} if "idTag" in req else {}


def _empty(req: Payload, st: BackendState) -> Payload:
    return {}


def _data_transfer(req: Payload, st: BackendState) -> Payload:
    return {"status": "Accepted"}


DEFAULT_RESPONDERS: dict[str, Responder] = {
    "BootNotification": _boot,
    "Heartbeat": _heartbeat,
    "Authorize": _authorize,
    "StartTransaction": _start,
    "StopTransaction": _stop,
    "MeterValues": _empty,
    "StatusNotification": _empty,
    "DataTransfer": _data_transfer,
    "DiagnosticsStatusNotification": _empty,
    "FirmwareStatusNotification": _empty,
}


# What ``csms.respond(action, x)`` takes, said the same way in its TypeError.
SCRIPT_KINDS = ("an ocpp.v16.call_result object, a payload dict, a function of the request "
                "payload returning either, a CallErrorReply, or None (the default answer)")
Script = Payload | CallErrorReply | Callable[[Payload], Any]


def script_for(action: str, answer: Any) -> Script:
    """A test's scripted answer to ``action``, checked when it is given: a wrong kind
    of object fails at ``respond()``, not as a default answer the test did not ask for."""
    if isinstance(answer, CallErrorReply | dict) or callable(answer) and not \
            dataclasses.is_dataclass(answer):
        return answer
    if _is_call_result(answer):
        return payload_of(action, answer)
    raise TypeError(f"csms.respond({action!r}, …) takes {SCRIPT_KINDS}; "
                    f"got {type(answer).__module__}.{type(answer).__qualname__}")


def answer_of(action: str, returned: Any) -> Payload | CallErrorReply:
    """What a scripted function returned, as the payload to send."""
    if isinstance(returned, CallErrorReply | dict):
        return returned
    if _is_call_result(returned):
        return payload_of(action, returned)
    raise TypeError(f"the function scripted for {action} returned "
                    f"{type(returned).__qualname__}; it must return {SCRIPT_KINDS}")


def payload_of(action: str, result: Any) -> Payload:
    """A call_result dataclass as the wire payload (camelCase, no None fields, as the
    ocpp library sends it)."""
    name = type(result).__name__.removesuffix("Payload")
    if name != action:
        raise TypeError(f"csms.respond({action!r}, …) got call_result.{name}: the answer "
                        f"to {action} is call_result.{action}")
    payload: Payload = snake_to_camel_case(remove_nones(dataclasses.asdict(result)))
    return payload


def _is_call_result(obj: Any) -> bool:
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type) and \
        type(obj).__module__ == call_result.__name__
