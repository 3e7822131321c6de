"""OCTT module 24: Data Transfer (Core)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

UNKNOWN_VENDOR = "org.example.rig-unknown-vendor"
# Only where the profile lists DataTransfer as an operation the backend may send (EV
# PLUS: not in 003 §8.1.4).
pytestmark = pytest.mark.applies(operations=("DataTransfer",))


@pytest.mark.octt("TC_062_CS")
def test_data_transfer_to_charge_point(csms, variant):
    """DataTransfer from the backend with a vendorId the charger does not know →
    an answer (within 5 s) with status Rejected, UnknownMessageId or UnknownVendorId
    (OCPP 1.6 §5.6: an unknown vendorId is UnknownVendorId). With the charger's own
    vendorId but an unknown messageId the answer must not be Accepted."""
    assert variant.charge_point_vendor != UNKNOWN_VENDOR
    result = csms.call(call.DataTransfer(vendor_id=UNKNOWN_VENDOR, message_id="RigProbe",
                                         data="ping"), timeout=5)
    assert result.status == "UnknownVendorId"
    own = csms.call(call.DataTransfer(vendor_id=variant.charge_point_vendor,
                                      message_id="RigProbeUnknownMessage", data="ping"),
                    timeout=5)
    assert own.status in ("Rejected", "UnknownMessageId")
