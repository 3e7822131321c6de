"""OCTT module 24: Data Transfer — Core, OCPP 1.6 §5.6 DataTransfer (CSMS → CP)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call


@pytest.mark.octt("TC_062_CS")
def test_data_transfer_to_charge_point(csms, variant):
    """DataTransfer with a vendorId the charger does not implement → a conf within
    5 s. The OCTT accepts Rejected, UnknownMessageId or UnknownVendorId (EVT even
    Accepted); OCPP 1.6 §5.6 says a charge point without an implementation for the
    vendorId SHALL answer UnknownVendorId, so that is required."""
    vendor = "org.example.unknown-vendor"
    assert vendor != variant.charge_point_vendor
    result = csms.call(call.DataTransfer(vendor_id=vendor, message_id="TestMessage",
                                         data="payload"), timeout=5)
    assert result.status == "UnknownVendorId"
