"""The charger answers the OCPP 1.6 operations its manual lists and no others (profile
``ocpp.operations_csms_to_cp``; EV PLUS 003 §8.1.4 lists eleven): each operation a
backend may send that is not on the list gets CALLERROR NotImplemented (OCPP-J §4.2.3:
"Requested Action is not known by receiver"), and the charger goes on answering the
ones it has. The listed operations are exercised by the other OCPP testcases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.v16 import call

from evrig.fixtures.params import run_profile
from evrig.rig.profile_vocabulary import OCPP_OPERATIONS

pytestmark = pytest.mark.applies(unlisted_operations=True)

# A schema-valid request of every operation a backend may send (OCPP 1.6 §5).
REQUESTS: dict[str, Callable[[], Any]] = {
    "CancelReservation": lambda: call.CancelReservation(reservation_id=1),
    "ChangeAvailability": lambda: call.ChangeAvailability(connector_id=1, type="Operative"),
    "ChangeConfiguration": lambda: call.ChangeConfiguration(key="HeartbeatInterval",
                                                            value="60"),
    "ClearCache": lambda: call.ClearCache(),
    "ClearChargingProfile": lambda: call.ClearChargingProfile(),
    "DataTransfer": lambda: call.DataTransfer(vendor_id="evrig"),
    "GetCompositeSchedule": lambda: call.GetCompositeSchedule(connector_id=1, duration=60),
    "GetConfiguration": lambda: call.GetConfiguration(),
    "GetDiagnostics": lambda: call.GetDiagnostics(location="ftp://127.0.0.1/diag"),
    "GetLocalListVersion": lambda: call.GetLocalListVersion(),
    "RemoteStartTransaction": lambda: call.RemoteStartTransaction(id_tag="EVRIG-UNUSED"),
    "RemoteStopTransaction": lambda: call.RemoteStopTransaction(transaction_id=999999),
    "ReserveNow": lambda: call.ReserveNow(connector_id=1, expiry_date="2000-01-01T00:00:00Z",
                                          id_tag="EVRIG-UNUSED", reservation_id=1),
    "Reset": lambda: call.Reset(type="Soft"),
    "SendLocalList": lambda: call.SendLocalList(list_version=1, update_type="Full"),
    "SetChargingProfile": lambda: call.SetChargingProfile(connector_id=1, cs_charging_profiles={
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative", "chargingSchedule": {
            "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                 "limit": 16.0}]}}),
    "TriggerMessage": lambda: call.TriggerMessage(requested_message="Heartbeat"),
    "UnlockConnector": lambda: call.UnlockConnector(connector_id=1),
    "UpdateFirmware": lambda: call.UpdateFirmware(location="ftp://127.0.0.1/fw.bin",
                                                  retrieve_date="2000-01-01T00:00:00Z"),
}
assert set(REQUESTS) == set(OCPP_OPERATIONS), "a request for every OCPP 1.6 operation"


def unlisted(spec: Any) -> list[str]:
    return sorted(set(OCPP_OPERATIONS) - set(spec.ocpp.operations_csms_to_cp))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "action" in metafunc.fixturenames:
        metafunc.parametrize("action", unlisted(run_profile(metafunc.config)))


def test_an_unlisted_operation_is_not_implemented(csms, spec, action):
    """``action`` is not in the manual's list: CALLERROR NotImplemented; the charger
    still answers GetConfiguration (on every list) afterwards."""
    assert action not in spec.ocpp.operations_csms_to_cp
    with pytest.raises(OcppNotImplemented):
        csms.call(REQUESTS[action]())
    assert csms.call(call.GetConfiguration(key=["HeartbeatInterval"])) is not None
