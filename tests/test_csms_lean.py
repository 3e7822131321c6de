"""The mock CSMS's lean paths (issue 10 i, benchmarks/csms_capacity.py) keep their
meaning: an answer that arrives after its call timed out is recorded and never taken
for the next call's; a frame costs no instance dict; the request is still checked."""

from __future__ import annotations

import json

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from evrig.drivers.csms.history import CALL, CALLRESULT, Message
from evrig.drivers.csms.server import CsmsTimeout
from tests.test_csms import CP, RawCp, backend  # noqa: F401 - the fixture

ANSWER = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                "value": "60"}]}


def test_a_late_answer_is_recorded_and_not_taken_for_the_next_calls(backend):  # noqa: F811
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    with pytest.raises(CsmsTimeout, match="did not answer GetConfiguration"):
        csms.call(call.GetConfiguration(key=["A"]), timeout=1)
    first = cp.recv()
    cp.send([3, first[1], ANSWER])  # too late: nobody waits for it any more

    async def _answer_next() -> None:
        frame = json.loads(await cp.ws.recv())
        await cp.ws.send(json.dumps([3, frame[1], {"unknownKey": ["B"]}]))

    client.submit(_answer_next())
    result = csms.call(call.GetConfiguration(key=["B"]), timeout=5)
    assert result.unknown_key == ["B"]
    late = [m for m in csms.history if m.message_type == CALLRESULT and m.direction == "in"]
    assert [m.unique_id for m in late][0] == first[1]
    assert late[0].action == "GetConfiguration" and late[0].payload == ANSWER
    assert not csms.findings
    cp.close()


def test_a_bad_request_is_refused_before_it_is_sent(backend):  # noqa: F811
    csms, client = backend
    RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    before = len(csms.history)
    with pytest.raises(OCPPError):
        csms.call(call.ChangeConfiguration(key="k" * 51, value="1"), timeout=5)
    assert len(csms.history) == before


def test_a_recorded_frame_has_no_instance_dict(backend):  # noqa: F811
    csms, client = backend
    cp = RawCp(csms.url + CP, client)
    csms.wait_connected(2)
    cp.send([2, "hb", "Heartbeat", {}])
    assert cp.recv()[:2] == [3, "hb"]
    msg = csms.wait_for("Heartbeat", 5)
    assert isinstance(msg, Message) and msg.message_type == CALL
    assert not hasattr(msg, "__dict__")  # slots: a long test's history stays compact
    assert msg.answer is not None and msg.answer.action == "Heartbeat"
    cp.close()
