"""A charger that sends garbage is a finding, never a dropped connection (issue 10 g):
each frame a fuzzer once crashed the connection handler with, the OCPP-J framing rules
(message type, unique id, action), answers to calls nobody made, and a bad answer to
a CSMS call, which must fail that call at once."""

from __future__ import annotations

import json
import random
import time

import pytest
from ocpp.v16 import call

from evrig.drivers.csms.server import CsmsViolation
from tests.test_csms import BOOT, CP, RawCp, backend  # noqa: F401 - the fixture


def _alive(cp: RawCp, uid: str = "alive", backlog: int = 0) -> None:
    """The connection still works: a good Heartbeat is answered (after at most
    ``backlog`` CALLERRORs for frames sent before it)."""
    cp.send([2, uid, "Heartbeat", {}])
    for _ in range(backlog + 1):
        answer = cp.recv()
        if answer[:2] == [3, uid]:
            assert "currentTime" in answer[2], answer
            return
        assert answer[0] == 4, answer
    raise AssertionError(f"no answer to Heartbeat {uid}")


@pytest.mark.parametrize(("frame", "error_code"), [
    ('[2, "n1", 5, {}]', "FormationViolation"),  # non-string action (TypeError before)
    ('[2, "n2", null, {}]', "FormationViolation"),  # null action (AssertionError before)
    ('[2, "n3", "Heart\\u0000beat", {}]', "FormationViolation"),  # NUL in the action
    ('[2, "n4", "\\ud800", {}]', "FormationViolation"),  # a lone surrogate
    ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', None),  # id over 36 characters
    ('[2.0, "n5", "Heartbeat", {}]', "FormationViolation"),  # message type 2.0
    ('[2, "n6", "FooBar", {}]', "NotImplemented"),  # OCPP-J: an unknown action
    ("[" * 990 + "]" * 990, None),  # nested ~990 deep (RecursionError before)
    ('[3, "never-asked", {}]', None),  # an answer to no call of ours
    ("not json", None),
])
def test_a_bad_frame_is_a_finding_and_the_connection_stays(backend, frame, error_code):  # noqa: F811
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    cp.send(frame)
    if error_code is not None:
        answer = cp.recv()
        assert answer[0] == 4 and answer[2] == error_code, answer
    _alive(cp)
    assert csms.findings, "no finding for " + frame[:60]
    assert csms.connected and not [e for e in csms.connections if e.event == "closed"]
    cp.close()


def test_a_reused_unique_id_is_a_finding(backend):  # noqa: F811
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    _alive(cp, "same")
    assert not csms.findings
    _alive(cp, "same")
    assert any("used before" in f.message for f in csms.findings)
    cp.close()


def test_a_bad_answer_fails_the_call_at_once(backend):  # noqa: F811
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)

    async def _answer_badly() -> None:
        frame = json.loads(await cp.ws.recv())
        await cp.ws.send(json.dumps([3, frame[1], {"status": 5}]))

    client.submit(_answer_badly())
    start = time.monotonic()
    with pytest.raises(CsmsViolation, match="Reset response violates the OCPP 1.6 schema"):
        csms.call(call.Reset(type="Soft"), timeout=300)
    assert time.monotonic() - start < 5
    cp.close()


def test_thousands_of_random_frames_leave_the_csms_answering(backend):  # noqa: F811
    """A seeded fuzz run: frames built from OCPP-J's parts, mangled at random."""
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    rng = random.Random(20261201)
    parts: list[object] = [2, 3, 4, 2.0, -1, None, True, "2", "", "x" * 40, "Heartbeat",
                           "BootNotification", 7, [], {}, BOOT, {"a": [1, {"b": None}]}]
    for n in range(2000):
        frame = [rng.choice(parts) for _ in range(rng.randint(0, 6))]
        text = json.dumps(frame)
        if rng.random() < 0.2:  # truncated or byte-flipped text
            cut = rng.randint(0, len(text))
            text = text[:cut] + rng.choice(["", "\x00", "}", "\\ud800", "\\"]) + text[cut:]
        cp.loop.run(cp.ws.send(text))
        if n % 500 == 0:
            _alive(cp, f"alive-{n}", backlog=500)  # drains the CALLERRORs before it
    _alive(cp, "alive-end", backlog=500)
    assert csms.connected
    assert not [e for e in csms.connections if e.event == "closed"]
    assert csms.findings
    cp.close()


def test_an_answer_the_closing_link_cannot_carry_is_no_finding(backend, monkeypatch):  # noqa: F811
    """The backend goes offline (a test's disconnect) while a CALL is being answered:
    the CALL is recorded and its waiters released; the charger did nothing wrong, so
    there is no protocol finding (it failed an innocent test on a loaded machine)."""
    from websockets.exceptions import ConnectionClosedOK
    from websockets.frames import Close

    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    session = csms.sessions[CP.strip("/")]

    async def closed(message: str, action: str | None = None) -> None:
        raise ConnectionClosedOK(Close(1000, "OK"), Close(1000, "OK"), rcvd_then_sent=False)

    monkeypatch.setattr(session, "_send_recorded", closed)
    mark = csms.mark()
    cp.send([2, "late", "StatusNotification",
              {"connectorId": 1, "errorCode": "NoError", "status": "Available"}])
    seen = csms.wait_for("StatusNotification", since=mark, timeout=5)
    assert seen["status"] == "Available" and seen.answer is None
    assert not csms.findings, csms.findings
    cp.close()
