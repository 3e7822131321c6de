"""What the mock CSMS reports besides frames: its errors and the connection events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CsmsTimeout(AssertionError):
    """The charge point did not send what the test waited for in time."""


class CsmsViolation(AssertionError):
    """The charge point broke the protocol (schema, forbidden action, garbage)."""


class CsmsDisconnected(CsmsTimeout):
    """The connection dropped while a CSMS call waited for its answer."""


@dataclass(frozen=True)
class ConnectionEvent:
    """A websocket connection attempt: accepted, refused (and why), or closed."""

    timestamp: float
    charge_point_id: str
    event: str  # "connected", "closed", "refused"
    reason: str = ""
    # "closed": the close code and reason (RFC 6455 §7.4; 1006 = dropped without a
    # close frame); "connected": the negotiated subprotocol.
    code: int | None = None
    subprotocol: str | None = None


def close_of(connection: Any) -> tuple[int, str]:
    """(code, reason) of a closed websocket (RFC 6455 §7.4): the peer's close frame,
    else the one we sent (1011 "keepalive ping timeout" to a frozen peer), else 1006
    (dropped without a close frame)."""
    frame = connection.protocol.close_rcvd or connection.protocol.close_sent
    return (int(frame.code), frame.reason) if frame is not None else (1006, "")
