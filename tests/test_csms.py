"""The mock CSMS against a raw websocket client playing a (mis)behaving charge point."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import websockets
from websockets.asyncio.client import connect

from evrig.drivers.csms.history import subset_match
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
