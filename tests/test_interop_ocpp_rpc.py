"""Interop with an OCPP 1.6J implementation that is not ours: ocpp-rpc in strict mode.

Why: the mock CSMS and the twin speak OCPP through the same Python ``ocpp`` library and
were written by the same team, so a misreading of the 1.6 JSON schemas they share
would pass every other test here. ocpp-rpc (Node.js, pinned in tests/interop/) checks
each frame, in both directions, against the OCPP 1.6 JSON schemas in strict mode and
reports each violation (tests/interop/report.js). Here:

- its charge point runs a session against our mock CSMS and answers every
  CSMS-initiated 1.6 call the mock sends: the mock records no finding, ocpp-rpc no
  violation;
- the twin runs a session against its central system and answers every
  CSMS-initiated 1.6 call ocpp-rpc sends: no violation in either direction.

tests/interop/node.py installs ocpp-rpc on first use; no node or npm: skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from evrig.drivers.csms.history import Message
from evrig.drivers.csms.server import MockCsms
from evrig.rig.assembly import Rig
from evrig.rig.clock import Clock
from evrig.rig.config import load_rig
from evrig.rig.loop import LoopThread
from tests.interop.node import NodeScript, ocpp_rpc_modules, require_node

TAG = "INTEROP-TAG-1"
JS_CP_ID = "OCPP-RPC-CP-1"
NODE_WAIT_S = 20.0  # wall bound on any one thing the other side must do
CALL_TIMEOUT_S = 10.0  # the mock CSMS's clock runs at wall speed here
# ocpp-rpc's findings; in the summary each list holds the frame and the reason.
PROBLEMS = ("violations", "badMessages", "unhandled")


@pytest.fixture(autouse=True)
def _node_on_path() -> None:
    """Skip before building a bench where node or npm is missing (the install itself,
    which may fail, runs in each test's body: a failure there fails the test)."""
    require_node()


def _problems(summary: dict[str, Any]) -> str:
    found = {key: summary[key] for key in PROBLEMS if summary.get(key)}
    return json.dumps(found, indent=1)[:6000] if found else ""


# -- (i) ocpp-rpc's charge point against the mock CSMS --------------------------------
@pytest.fixture
def mock_csms() -> Iterator[MockCsms]:
    loop = LoopThread("interop-csms")
    csms = MockCsms(loop=loop, clock=Clock(1.0), charge_point_id=JS_CP_ID,
                    id_tags={TAG: "Accepted"}).start()
    try:
        yield csms
    finally:
        csms.stop()
        loop.stop()


def _exchange(csms: MockCsms, request: Any, expect: str | None = None,
              then: str | None = None, **match: Any) -> tuple[Any, Message | None]:
    """``csms.call(request)``; the status ``expect``ed of its answer, if given; then the
    CALL the charge point sends because of it (``then`` with ``match``), if given."""
    mark = csms.mark()
    answer = csms.call(request, timeout=CALL_TIMEOUT_S)
    if expect is not None:
        assert answer.status == expect, f"{type(request).__name__}: {answer}"
    sent = csms.wait_for(then, timeout=CALL_TIMEOUT_S, since=mark, **match) if then else None
    return answer, sent


def _every_csms_call(csms: MockCsms) -> None:
    """Each CSMS-initiated OCPP 1.6 call once (TriggerMessage once per message)."""
    def later(hours: float) -> str:
        return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")

    answer, _ = _exchange(csms, call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]))
    assert answer.unknown_key == ["NoSuchKey"] and len(answer.configuration_key) == 1
    answer, _ = _exchange(csms, call.GetConfiguration())
    assert len(answer.configuration_key) > 1
    _exchange(csms, call.ChangeConfiguration(key="HeartbeatInterval", value="90"), "Accepted")
    _exchange(csms, call.ClearCache(), "Accepted")
    _exchange(csms, call.DataTransfer(vendor_id="org.example.interop", message_id="ping",
                                      data="x"), "Accepted")
    _exchange(csms, call.SendLocalList(list_version=5, update_type="Full",
                                       local_authorization_list=[
                                           {"idTag": TAG, "idTagInfo": {
                                               "status": "Accepted",
                                               "expiryDate": later(24)}}]), "Accepted")
    assert _exchange(csms, call.GetLocalListVersion())[0].list_version == 5
    _exchange(csms, call.ReserveNow(connector_id=1, expiry_date=later(1), id_tag=TAG,
                                    reservation_id=42), "Accepted", "StatusNotification",
              status="Reserved")
    _exchange(csms, call.CancelReservation(reservation_id=42), "Accepted",
              "StatusNotification", status="Available")
    profile = {"chargingProfileId": 7, "stackLevel": 0,
               "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                   {"startPeriod": 0, "limit": 16.0}]}}
    _exchange(csms, call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile),
              "Accepted")
    _exchange(csms, call.GetCompositeSchedule(connector_id=1, duration=3600,
                                              charging_rate_unit="A"), "Accepted")
    _exchange(csms, call.ClearChargingProfile(id=7), "Accepted")
    for message in ("BootNotification", "DiagnosticsStatusNotification",
                    "FirmwareStatusNotification", "Heartbeat", "MeterValues",
                    "StatusNotification"):
        _exchange(csms, call.TriggerMessage(requested_message=message, connector_id=1),
                  "Accepted", message)
    _exchange(csms, call.ChangeAvailability(connector_id=1, type="Inoperative"), "Accepted",
              "StatusNotification", status="Unavailable")
    _exchange(csms, call.ChangeAvailability(connector_id=1, type="Operative"), "Accepted",
              "StatusNotification", status="Available")
    _, started = _exchange(csms, call.RemoteStartTransaction(id_tag=TAG, connector_id=1),
                           "Accepted", "StartTransaction", idTag=TAG)
    assert started is not None and started.answer is not None
    _exchange(csms, call.RemoteStopTransaction(transaction_id=started.answer["transactionId"]),
              "Accepted", "StopTransaction", reason="Remote")
    _exchange(csms, call.UnlockConnector(connector_id=1), "Unlocked")
    answer, _ = _exchange(csms, call.GetDiagnostics(location="ftp://127.0.0.1/diag/"),
                          then="DiagnosticsStatusNotification", status="Uploaded")
    assert answer.file_name
    _exchange(csms, call.UpdateFirmware(location="http://127.0.0.1/fw.bin",
                                        retrieve_date=later(0)),
              then="FirmwareStatusNotification", status="Installed")
    _exchange(csms, call.Reset(type="Soft"), "Accepted", "BootNotification")  # it reconnects


def test_ocpp_rpc_charge_point_against_the_mock_csms(mock_csms: MockCsms,
                                                     tmp_path: Path) -> None:
    csms = mock_csms
    modules = ocpp_rpc_modules()
    args = ["--endpoint", csms.url.rstrip("/"), "--identity", JS_CP_ID, "--tag", TAG]
    with NodeScript("charge_point.js", args, modules, tmp_path / "charge_point.log") as cp:
        for action in ("BootNotification", "StatusNotification", "Authorize",
                       "StartTransaction", "MeterValues", "StopTransaction", "Heartbeat"):
            csms.wait_for(action, timeout=NODE_WAIT_S)  # in this order
        cp.wait(lambda: cp.first("session-done"), "end of its session", NODE_WAIT_S)
        _every_csms_call(csms)
        summary = cp.summary(NODE_WAIT_S)
    assert not csms.findings, "\n".join(str(f) for f in csms.findings)
    assert summary["protocol"] == "ocpp1.6"
    assert not _problems(summary), f"ocpp-rpc (strict mode) reports:\n{_problems(summary)}"
    assert summary["sessionError"] is None, summary["sessionError"]
    assert summary["followUpsFinished"] and not summary["followUpErrors"], summary
    refused = [s for s in summary["sent"] if "result" not in s]
    assert not refused, f"the mock CSMS did not answer with a CALLRESULT: {refused}"


# -- (ii) the twin against ocpp-rpc's central system ----------------------------------
# The twin alone, with the mains relay that lets the test boot it against another
# backend (the rig file has no key for that: the bench reads its csms_url at each
# connection attempt, and a power cycle makes the firmware boot afresh).
TWIN_RIG = """\
profile: evnet-7kw
variant: S
sim: {speed: 30, seed: 1}
instruments:
  faults:
    backend: sim
    pins: {mains_off: 10}
"""
# What ocpp-rpc's central system sends (tests/interop/central_system.js has the
# payloads): with the EV away, then with it plugged in.
IDLE_CALLS = ["GetConfiguration", "ChangeConfiguration", "ClearCache", "DataTransfer",
              "GetLocalListVersion", "SendLocalList", "ReserveNow", "CancelReservation",
              "SetChargingProfile", "GetCompositeSchedule", "ClearChargingProfile",
              "TriggerMessage", "ChangeAvailability", "GetDiagnostics", "UpdateFirmware"]
PLUGGED_CALLS = ["RemoteStartTransaction", "RemoteStopTransaction", "UnlockConnector",
                 "Reset"]
MUST_ACCEPT = ("ChangeConfiguration", "SendLocalList", "ReserveNow", "CancelReservation",
               "SetChargingProfile", "ClearChargingProfile", "ChangeAvailability",
               "RemoteStartTransaction", "RemoteStopTransaction", "Reset")


@pytest.fixture
def twin_rig(tmp_path: Path) -> Iterator[Rig]:
    path = tmp_path / "twin.yaml"
    path.write_text(TWIN_RIG)
    rig = Rig(load_rig(path))
    try:
        yield rig
    finally:
        rig.close()


def _run(cs: NodeScript, rig: Rig, names: list[str]) -> None:
    """Have the central system send ``names``; spec time runs while it does."""
    before = len(cs.find("ran"))
    cs.send({"run": names})
    cs.wait(lambda: len(cs.find("ran")) > before, f"end of {names}", NODE_WAIT_S, rig.clock)


def test_twin_against_an_ocpp_rpc_central_system(twin_rig: Rig, tmp_path: Path) -> None:
    rig = twin_rig
    assert rig.bench is not None and rig.charger is not None
    modules = ocpp_rpc_modules()
    log = tmp_path / "central_system.log"
    with NodeScript("central_system.js", ["--heartbeat", "20"], modules, log) as cs:
        url = cs.wait(lambda: (cs.first("listening") or {}).get("url"), "URL", NODE_WAIT_S)
        rig.bench.csms_url = url
        rig.charger.power_cycle(off_s=2)  # boots afresh, against ocpp-rpc

        def wait(method: str, since: int = 0, **params: Any) -> None:
            """A CALL of the twin's (after the ``since``-th), with these fields."""
            def found() -> list[dict[str, Any]]:
                return [c for c in cs.find("call")[since:] if c["method"] == method
                        and all(c["params"].get(k) == v for k, v in params.items())]

            cs.wait(found, f"{method} {params or ''} from the twin", NODE_WAIT_S, rig.clock)

        wait("StatusNotification", connectorId=1)
        rig.ev.plug(cable_amps=32)
        rig.charger.present_tag(TAG)
        wait("Authorize", idTag=TAG)
        rig.ev.set_state("C")
        wait("StartTransaction", idTag=TAG)
        wait("MeterValues")
        rig.charger.present_tag(TAG)
        wait("StopTransaction", reason="Local")
        wait("Heartbeat")
        mark = len(cs.find("call"))
        rig.ev.unplug()
        wait("StatusNotification", mark, connectorId=1, status="Available")
        _run(cs, rig, IDLE_CALLS)
        mark = len(cs.find("call"))
        rig.ev.plug(cable_amps=32)
        wait("StatusNotification", mark, connectorId=1, status="Preparing")
        _run(cs, rig, PLUGGED_CALLS)
        summary = cs.summary(NODE_WAIT_S, rig.clock)

    assert summary["protocol"] == "ocpp1.6"
    assert not _problems(summary), f"ocpp-rpc (strict mode) reports:\n{_problems(summary)}"
    session = ["BootNotification", "StatusNotification", "Authorize", "StartTransaction",
               "MeterValues", "StopTransaction", "Heartbeat"]
    received = iter(summary["received"])  # `in` consumes it: the session's CALLs in order
    assert all(method in received for method in session), summary["received"]
    results = summary["results"]
    failed = [r for r in results if "result" not in r or r.get("followed") is False]
    assert not failed, "the twin did not answer, or did not follow up:\n" + json.dumps(
        failed, indent=1)[:6000]
    labels = {r["label"].split("(")[0] for r in results}
    assert labels == set(IDLE_CALLS + PLUGGED_CALLS)
    refused = {r["label"]: r["result"] for r in results
               if r["label"].split("(")[0] in MUST_ACCEPT + ("TriggerMessage",)
               and r["result"].get("status") != "Accepted"}
    assert not refused, f"the twin refused: {refused}"


def test_strict_mode_reports_what_breaks_the_schema(tmp_path: Path) -> None:
    """The oracle is awake: a charge point's CALL and its answer to a CSMS call that
    break the 1.6 schemas (a StatusNotification without errorCode, a ClearCache
    answered "Perhaps") are each reported, naming the action."""
    modules = ocpp_rpc_modules()
    with NodeScript("central_system.js", [], modules, tmp_path / "central_system.log") as cs:
        url = cs.wait(lambda: (cs.first("listening") or {}).get("url"), "URL", NODE_WAIT_S)
        with connect(url + "RAW-CP", subprotocols=[Subprotocol("ocpp1.6")],
                     open_timeout=NODE_WAIT_S) as ws:
            ws.send(json.dumps([2, "1", "StatusNotification",
                                {"connectorId": 1, "status": "Available"}]))
            refused = json.loads(ws.recv(timeout=NODE_WAIT_S))
            cs.send({"run": ["ClearCache"]})
            request = json.loads(ws.recv(timeout=NODE_WAIT_S))
            ws.send(json.dumps([3, request[1], {"status": "Perhaps"}]))
            cs.wait(lambda: cs.find("ran"), "end of ClearCache", NODE_WAIT_S)
        summary = cs.summary(NODE_WAIT_S)
    assert refused[:2] == [4, "1"], refused
    reported = {(v["direction"], v["frame"], v["method"]) for v in summary["violations"]}
    assert reported == {("in", "CALL", "StatusNotification"),
                        ("in", "CALLRESULT", "ClearCache")}, summary["violations"]
