"""The mock CSMS against a raw websocket client playing a (mis)behaving charge point."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import websockets
from websockets.asyncio.client import connect

from evrig.drivers.csms.events import CsmsDisconnected
from evrig.drivers.csms.history import History, subset_match
from evrig.drivers.csms.server import CsmsTimeout, CsmsViolation, MockCsms
from evrig.rig.clock import Clock
from evrig.rig.loop import LoopThread

CP = "CP-UNDER-TEST"


@pytest.fixture
def backend() -> Iterator[tuple[MockCsms, LoopThread]]:
    loop, client_loop = LoopThread("csms-test"), LoopThread("client")
    csms = MockCsms(loop=loop, clock=Clock(10.0), charge_point_id=CP,
                    id_tags={"GOOD": "Accepted"}).start()
    yield csms, client_loop
    csms.stop()
    loop.stop()
    client_loop.stop()


class RawCp:
    """A charge point written by hand: sends exactly the frames a test gives it."""

    def __init__(self, url: str, loop: LoopThread, headers: dict[str, str] | None = None,
                 subprotocols: list[str] | None = None) -> None:
        self.loop = loop
        async def _open() -> object:
            return await connect(url, subprotocols=subprotocols or ["ocpp1.6"],
                                 additional_headers=headers or {})

        self.ws = loop.run(_open())

    def send(self, frame: object) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        self.loop.run(self.ws.send(text))

    def recv(self) -> list:
        return json.loads(self.loop.run(self.ws.recv(), timeout=5))

    def close(self) -> None:
        self.loop.run(self.ws.close())


BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


def test_answers_boot_and_records_both_directions(backend):
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    cp.send([2, "1", "BootNotification", BOOT])
    answer = cp.recv()
    assert answer[0] == 3 and answer[2]["status"] == "Accepted"
    msg = csms.wait_for("BootNotification", timeout=5, chargePointModel="M")
    assert msg.direction == "in" and msg.unique_id == "1"
    out = [m for m in csms.history if m.direction == "out"]
    assert out[0].action == "BootNotification" and out[0].payload["status"] == "Accepted"
    cp.close()


def test_schema_violation_fails_wait_for_promptly_with_the_frame(backend):
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    bad = [2, "7", "StatusNotification", {"connectorId": 1, "status": "Charging"}]  # no errorCode
    cp.send(bad)
    assert cp.recv()[0] == 4  # a strict backend answers CALLERROR
    started = time.monotonic()
    with pytest.raises(CsmsViolation) as err:
        csms.wait_for("Heartbeat", timeout=60)  # 6 s wall at speed 10: must not wait that long
    assert time.monotonic() - started < 1.0
    assert '"status": "Charging"' in str(err.value) or '"status":"Charging"' in str(err.value)
    assert "StatusNotification" in str(err.value)
    cp.close()


def test_garbage_is_a_finding_not_a_crash(backend):
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    cp.send("this is not json")
    cp.send([2, "2", "Heartbeat", {}])
    assert cp.recv()[0] == 3  # still serving after the garbage
    assert [f.kind for f in csms.findings] == ["unparsable"]
    assert "this is not json" in csms.findings[0].frame
    cp.close()


def test_unknown_charge_point_id_is_refused_and_recorded(backend):
    csms, client = backend
    with pytest.raises(websockets.InvalidStatus):
        RawCp(csms.url + "SOMEONE-ELSE", client)
    assert csms.connections[-1].event == "refused"
    assert csms.connections[-1].charge_point_id == "SOMEONE-ELSE"


def test_missing_subprotocol_is_refused(backend):
    csms, client = backend
    with pytest.raises(websockets.InvalidStatus):
        RawCp(csms.url + CP, client, subprotocols=["ocpp2.0.1"])
    assert "subprotocol" in csms.connections[-1].reason


def test_basic_auth_security_profile_1():
    loop, client = LoopThread("csms-auth"), LoopThread("client")
    csms = MockCsms(loop=loop, clock=Clock(10.0), charge_point_id=CP,
                    basic_auth_password="s3cret-pass-0123").start()
    try:
        with pytest.raises(websockets.InvalidStatus):
            RawCp(csms.url + CP, client)
        token = base64.b64encode(f"{CP}:s3cret-pass-0123".encode()).decode()
        cp = RawCp(csms.url + CP, client, headers={"Authorization": f"Basic {token}"})
        csms.wait_connected(5)
        cp.close()
    finally:
        csms.stop()
        loop.stop()
        client.stop()


def test_scripted_response_and_forbid(backend):
    csms, client = backend
    csms.respond("Authorize", {"idTagInfo": {"status": "Blocked"}})
    cp = RawCp(csms.url + CP, client)
    cp.send([2, "3", "Authorize", {"idTag": "GOOD"}])
    assert cp.recv()[2]["idTagInfo"]["status"] == "Blocked"
    csms.forbid("Heartbeat")
    cp.send([2, "4", "Heartbeat", {}])
    cp.recv()
    with pytest.raises(CsmsViolation, match="forbidden"):
        csms.wait_for("Authorize", timeout=1, since=0)
    cp.close()


def test_respond_takes_the_ocpp_librarys_call_result(backend):
    """What a test author writes first (issue 10 a): the library's own answer object."""
    from ocpp.v16 import call_result

    csms, client = backend
    csms.respond("Authorize", call_result.Authorize(id_tag_info={"status": "Blocked"}))
    cp = RawCp(csms.url + CP, client)
    cp.send([2, "1", "Authorize", {"idTag": "GOOD"}])
    assert cp.recv()[2] == {"idTagInfo": {"status": "Blocked"}}
    csms.respond("StartTransaction", lambda req: call_result.StartTransaction(
        transaction_id=42, id_tag_info={"status": "Accepted", "parentIdTag": None}))
    cp.send([2, "2", "StartTransaction", {"connectorId": 1, "idTag": "GOOD", "meterStart": 0,
                                          "timestamp": "2026-12-01T00:00:00Z"}])
    assert cp.recv()[2] == {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
    cp.close()


@pytest.mark.parametrize("answer", [
    "Accepted", 42, ["status"], "call_result.StartTransaction"])
def test_respond_refuses_what_it_cannot_send(backend, answer):
    from ocpp.v16 import call, call_result

    csms, _ = backend
    if answer == "call_result.StartTransaction":
        answer = call_result.StartTransaction(transaction_id=1, id_tag_info={})
    with pytest.raises(TypeError, match="takes an ocpp.v16.call_result object|is "
                                        "call_result.Authorize"):
        csms.respond("Authorize", answer)
    with pytest.raises(TypeError, match="call_result"):
        csms.respond("Authorize", call.Authorize(id_tag="GOOD"))  # the request, not an answer


def test_wait_for_returns_a_call_once_checked_and_answered(backend):
    """Issue 10 b: the returned CALL carries the CSMS's answer (the transactionId
    given); a CALL not yet answered is not returned."""
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    cp.send([2, "s1", "StartTransaction", {"connectorId": 1, "idTag": "GOOD", "meterStart": 0,
                                           "timestamp": "2026-12-01T00:00:00Z"}])
    given = cp.recv()[2]["transactionId"]
    start = csms.wait_for("StartTransaction", timeout=2)
    assert start.answer is not None and start.answer["transactionId"] == given
    cp.close()


def test_each_call_carries_its_own_answer(backend):
    """Two Heartbeats in a row, the first answered by a script, the second by the
    default: each CALL wait_for returns carries the answer sent for it (same unique
    id, same payload as on the wire), not a neighbour's."""
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.respond("Heartbeat", {"currentTime": "2030-01-01T00:00:00Z"})
    cp.send([2, "h1", "Heartbeat", {}])
    first_wire = cp.recv()
    csms.respond("Heartbeat", None)
    cp.send([2, "h2", "Heartbeat", {}])
    second_wire = cp.recv()
    first, second = csms.wait_for("Heartbeat", timeout=2), csms.wait_for("Heartbeat", timeout=2)
    assert first_wire[2] == {"currentTime": "2030-01-01T00:00:00Z"}
    assert second_wire[2] != first_wire[2]
    for call, wire in ((first, first_wire), (second, second_wire)):
        assert call.answer is not None
        assert call.answer.unique_id == call.unique_id == wire[1]
        assert call.answer.payload == wire[2] and call.answer.index > call.index
    cp.close()


def test_history_hides_a_call_until_it_is_settled():
    history = History()
    call = history.append(settled=False, direction="in", timestamp=0.0, message_type=2,
                          unique_id="1", action="Heartbeat", payload={}, raw="[]")
    assert history.find(0, "Heartbeat", "in", lambda p: True) is None
    answer = history.append(direction="out", timestamp=0.0, message_type=3, unique_id="1",
                            action=history.action_of("in", "1"), payload={}, raw="[]")
    history.settle(call, answer)
    found = history.find(0, "Heartbeat", "in", lambda p: True)
    assert found is call and found.answer is answer and answer.action == "Heartbeat"


def test_wait_for_times_out_with_context(backend):
    csms, _ = backend
    with pytest.raises(CsmsTimeout, match="no Heartbeat"):
        csms.wait_for("Heartbeat", timeout=1)


def test_wait_for_cursor_asserts_order(backend):
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    for uid, status in (("a", "Preparing"), ("b", "Charging")):
        cp.send([2, uid, "StatusNotification",
                 {"connectorId": 1, "errorCode": "NoError", "status": status}])
        cp.recv()
    csms.wait_for("StatusNotification", status="Charging", timeout=2)
    with pytest.raises(CsmsTimeout):  # Preparing came before: not after the cursor
        csms.wait_for("StatusNotification", status="Preparing", timeout=0.5)
    assert csms.wait_for("StatusNotification", status="Preparing", since=0).unique_id == "a"
    with pytest.raises(CsmsTimeout):  # looking back did not move the cursor back
        csms.wait_for("StatusNotification", status="Charging", timeout=0.5)
    cp.close()


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        ({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}}, True),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
        ({"v": [{"m": "Voltage"}, {"m": "Energy"}]}, {"v": [{"m": "Energy"}]}, True),
        ({"v": [{"m": "Voltage"}]}, {"v": [{"m": "Energy"}]}, False),
        ({"n": 5}, {"n": lambda v: v > 3}, True),
        ({"n": 5}, {"n": lambda v: v.missing}, False),  # a failing predicate is no match
        ({"s": "x"}, {"s": ["x"]}, False),
    ],
)
def test_subset_match(actual, expected, result):
    assert subset_match(actual, expected) is result


def test_call_to_disconnected_charger_fails_fast(backend):
    csms, _ = backend
    from ocpp.v16 import call

    with pytest.raises(CsmsTimeout, match="not connected"):
        csms.call(call.Reset(type="Soft"))


def test_a_call_in_flight_fails_at_once_when_the_connection_drops(backend):
    """Issue 10 c: not a 30 s wait ending in "did not answer"."""
    from ocpp.v16 import call

    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    assert csms.subprotocol == "ocpp1.6"

    async def _drop_on_the_call() -> None:
        await cp.ws.recv()
        await cp.ws.close(1001, "rebooting")

    client.submit(_drop_on_the_call())
    start = time.monotonic()
    with pytest.raises(CsmsDisconnected, match=f"{CP} disconnected while Reset waited.*"
                                               "close code 1001 'rebooting'"):
        csms.call(call.Reset(type="Soft"), timeout=300)
    assert time.monotonic() - start < 5
    closed = [e for e in csms.connections if e.event == "closed"]
    assert (closed[-1].code, closed[-1].reason) == (1001, "rebooting")
    assert [e.subprotocol for e in csms.connections if e.event == "connected"] == ["ocpp1.6"]


def test_a_callerror_answer_raises_the_ocpp_error_of_its_code(backend):
    """What the README promises (issue 10 f)."""
    from ocpp.exceptions import NotImplementedError as OcppNotImplemented
    from ocpp.v16 import call

    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)

    async def _refuse() -> None:
        frame = json.loads(await cp.ws.recv())
        await cp.ws.send(json.dumps([4, frame[1], "NotImplemented", "no resets here", {}]))

    client.submit(_refuse())
    with pytest.raises(OcppNotImplemented, match="no resets here"):
        csms.call(call.Reset(type="Soft"), timeout=5)
    cp.close()


def test_csms_pings_find_a_frozen_charge_point():
    """Issue 10 e: with ping_interval_s a charge point that stops answering pings
    (frozen firmware) is closed with 1011 and the event says so."""
    loop, client = LoopThread("csms-ping"), LoopThread("frozen")
    csms = MockCsms(loop=loop, clock=Clock(10.0), charge_point_id=CP,
                    ping_interval_s=2.0).start()  # 0.2 s wall
    try:
        async def _frozen() -> object:
            ws = await connect(csms.url + CP, subprotocols=["ocpp1.6"], ping_interval=None)
            ws.transport.pause_reading()  # reads nothing more: no pong, no close frame
            return ws

        ws = client.run(_frozen())
        csms.wait_connected(2)
        csms.wait_disconnected(30)
        closed = [e for e in csms.connections if e.event == "closed"][-1]
        assert closed.code == 1011 and "ping" in closed.reason, closed
        del ws
    finally:
        csms.stop()
        loop.stop()
        client.stop()


def test_disconnect_refuses_reconnect_until_allowed(backend):
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    csms.disconnect()
    with pytest.raises(websockets.ConnectionClosed):
        client.run(cp.ws.recv(), timeout=5)
    with pytest.raises(websockets.InvalidStatus):
        RawCp(csms.url + CP, client)
    csms.reconnect_allowed()
    RawCp(csms.url + CP, client).close()
