"""OCTT module 22: Remote Trigger (TriggerMessage)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

TRIGGER_WINDOW_S = 5  # OCTT: the triggered message within 5 s
# Only where the profile lists TriggerMessage (EV PLUS: not in 003 §8.1.4; its answer
# NotImplemented is testcases/ocpp/test_operation_list.py).
pytestmark = pytest.mark.applies(operations=("TriggerMessage",))


def _needs_trigger(spec) -> None:
    if "RemoteTrigger" not in spec.ocpp.feature_profiles:
        pytest.skip(f"{spec.model} does not support the RemoteTrigger profile")


def _trigger(csms, message: str, connector_id: int | None = None) -> str:
    return csms.call(call.TriggerMessage(requested_message=message,
                                         connector_id=connector_id)).status


@pytest.mark.octt("TC_054_CS")
def test_trigger_message(csms, spec):
    """TriggerMessage for MeterValues(1), Heartbeat, StatusNotification(1),
    DiagnosticsStatusNotification and FirmwareStatusNotification: each Accepted and
    the requested message follows within 5 s; the idle charger reports the
    diagnostics and firmware status Idle (OCPP 1.6 §4.4, §4.5)."""
    _needs_trigger(spec)
    cases = [
        ("MeterValues", 1, {"connectorId": 1}),
        ("Heartbeat", None, {}),
        ("StatusNotification", 1, {"connectorId": 1, "status": "Available"}),
        ("DiagnosticsStatusNotification", None, {"status": "Idle"}),
        ("FirmwareStatusNotification", None, {"status": "Idle"}),
    ]
    for message, connector, expect in cases:
        mark = csms.mark()
        assert _trigger(csms, message, connector) == "Accepted", message
        csms.wait_for(message, timeout=TRIGGER_WINDOW_S, since=mark, **expect)
    meter = csms.wait_for("MeterValues", since=0)
    contexts = {sv.get("context") for mv in meter["meterValue"] for sv in mv["sampledValue"]}
    assert contexts == {"Trigger"}, f"triggered MeterValues with contexts {contexts}"


@pytest.mark.octt("TC_055_CS")
def test_trigger_message_rejected(csms, spec):
    """TriggerMessage(MeterValues) for a connectorId the charger does not have
    (NumberOfConnectors + 1) → Rejected, and no MeterValues follow."""
    _needs_trigger(spec)
    missing = int(spec.key("NumberOfConnectors").default) + 1
    assert _trigger(csms, "MeterValues", missing) == "Rejected"
    csms.assert_none("MeterValues", TRIGGER_WINDOW_S)
