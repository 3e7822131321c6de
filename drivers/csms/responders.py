"""Default answers of the mock CSMS to every charge-point-initiated OCPP 1.6 action.

A testcase replaces any of them with ``csms.respond(action, payload_or_handler)``.
Each responder takes the request payload (camelCase dict, as on the wire) and the
backend's state, and returns the response payload.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
