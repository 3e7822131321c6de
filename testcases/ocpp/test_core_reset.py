"""OCTT module 06: Resetting (Happy Flow) — Core, OCPP 1.6 §5.14 Reset."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, start_charging

BOOT_S = 60  # spec seconds a reset charger may take to come back with a BootNotification


def _reset_keeps_unavailable(csms, spec, kind: str) -> None:
    """The common sequence of TC_013/TC_014: availability survives a reset; connector
    0's first status after the boot names the reset reason the profile gives for this
    kind of reset (EV NET: VendorID3, 001; the profile's note says why Hard is
    CC_RST_EXT)."""
    result = csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable")
    assert csms.call(call.Reset(type=kind)).status == "Accepted"
    boot = csms.wait_for("BootNotification", timeout=BOOT_S)
    sn0 = csms.wait_for("StatusNotification", connectorId=0, status="Available",
                        since=boot.index)
    reason = spec.reset_reason_after("ocpp_soft_reset" if kind == "Soft" else "ocpp_hard_reset")
    if reason is not None:
        assert (sn0.get("vendorId"), sn0.get("vendorErrorCode")) == \
            (spec.ocpp.vendor_ids["reset_reason"], str(reason))
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable", since=boot.index)
    csms.forbid("StatusNotification", connectorId=1, status="Available")
    csms.assert_none("StatusNotification", 5, connectorId=1)
    csms.allow("StatusNotification")
    result = csms.call(call.ChangeAvailability(connector_id=1, type="Operative"))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")


@pytest.mark.octt("TC_013_CS")
def test_hard_reset_without_transaction(csms, spec):
    """Connector 1 set Inoperative, then Reset(Hard): Accepted, the charger reboots
    (BootNotification), reports connector 0 Available and connector 1 still
    Unavailable (availability persists, OCPP 1.6 §5.2); Operative makes it Available."""
    _reset_keeps_unavailable(csms, spec, "Hard")


@pytest.mark.octt("TC_014_CS")
def test_soft_reset_without_transaction(csms, spec):
    """As TC_013 with Reset(Soft). EVT treats the BootNotification after a soft reset
    as optional, PNA expects it; OCPP 1.6 §5.14 says the charge point reboots on either
    reset, and a reboot sends BootNotification (§4.2), so it is required here."""
    _reset_keeps_unavailable(csms, spec, "Soft")


def _reset_stops_transaction(csms, ev, charger, kind: str, reason: str) -> None:
    tx_id = start_charging(csms, ev, charger)
    start = csms.wait_for("StartTransaction", since=0)
    reset = csms.mark()
    assert csms.call(call.Reset(type=kind)).status == "Accepted"
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, timeout=30)
    assert stop["reason"] == reason
    assert stop["idTag"] == ACCEPTED_TAG
    assert stop["meterStop"] >= start["meterStart"]
    # The stop goes out before the charger goes down: it precedes the new boot. The
    # boot is searched from the Reset on (not from the cursor, which is already past
    # the stop), so a boot sent before the stop fails the order check.
    boot = csms.wait_for("BootNotification", timeout=BOOT_S, since=reset)
    assert boot.index > stop.index
    csms.wait_for("StatusNotification", connectorId=0, status="Available", since=boot.index)
    # The cable is still in: the connector is not free (PNA: Preparing; Finishing is
    # the other status OCPP 1.6 §4.9 allows for a plugged connector after a stop).
    csms.wait_for("StatusNotification", connectorId=1, since=boot.index,
                  predicate=lambda p: p["status"] in ("Preparing", "Finishing"))
    # Exactly one StopTransaction for the transaction, no second one after the boot.
    csms.assert_none("StopTransaction", 5)
    stops = [m for m in csms.history if m.is_call and m.direction == "in"
             and m.action == "StopTransaction"]
    assert len(stops) == 1, [m.brief() for m in stops]
    assert charger.status()["connector"] != "Charging"


@pytest.mark.octt("TC_015_CS")
def test_hard_reset_with_transaction(csms, ev, charger):
    """Reset(Hard) while charging: Accepted, StopTransaction reason HardReset with the
    transaction's idTag before the reboot, then BootNotification (OCPP 1.6 §5.14)."""
    _reset_stops_transaction(csms, ev, charger, "Hard", "HardReset")


@pytest.mark.octt("TC_016_CS")
def test_soft_reset_with_transaction(csms, ev, charger):
    """Reset(Soft) while charging: Accepted, StopTransaction reason SoftReset with the
    transaction's idTag, then the reboot's BootNotification (OCPP 1.6 §5.14)."""
    _reset_stops_transaction(csms, ev, charger, "Soft", "SoftReset")
