"""Test doubles for driving the twin's firmware without a network."""

from __future__ import annotations

from collections import deque
from typing import Any


class RecordingLink:
    """Stands in for the OCPP link: online, records what the firmware sends, and
    answers StartTransaction with transactionId 7, Accepted."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.outbox: deque[Any] = deque()
        self.online = True

    def enqueue(self, msg: Any) -> None:
        self.sent.append((msg.action, msg.build()))
        if msg.on_result is not None and msg.action == "StartTransaction":
            msg.on_result({"transactionId": 7, "idTagInfo": {"status": "Accepted"}})
