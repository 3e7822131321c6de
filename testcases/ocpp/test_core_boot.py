"""OCTT module 01: Cold Boot (Core)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import configure, read_config


@pytest.mark.octt("TC_001_CS")
def test_cold_boot(csms, charger, variant):
    """Power up: BootNotification with the model's identity, StatusNotification for
    connector 0 and 1 Available, then Heartbeats at HeartbeatInterval."""
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=60)
    assert boot["chargePointModel"] == variant.charge_point_model
    assert boot["chargePointVendor"] == variant.charge_point_vendor
    csms.wait_for("StatusNotification", connectorId=0, status="Available", since=boot.index)
    csms.wait_for("StatusNotification", connectorId=1, status="Available", since=boot.index)
    mark = csms.mark()  # heartbeats at the new interval: none sent before it was set
    configure(csms, HeartbeatInterval=10)
    first = csms.wait_for("Heartbeat", since=mark, timeout=30)
    second = csms.wait_for("Heartbeat", since=first.index + 1, timeout=30)
    assert second.timestamp - first.timestamp == pytest.approx(10, abs=1.5)


def test_boot_interval_sets_the_heartbeat(csms, charger):
    """The interval of an accepted BootNotification.conf is the heartbeat interval from
    then on (OCPP 1.6 §4.2 "the Charge Point SHALL adjust the heartbeat interval";
    001 App. II HeartbeatInterval): heartbeats at the backend's interval, not at the
    charger's previous one."""
    before = int(read_config(csms, "HeartbeatInterval"))
    interval = 10 if before != 10 else 15  # any interval other than the present one
    csms.respond("BootNotification", lambda p: {"status": "Accepted", "interval": interval,
                                                 "currentTime": csms.state.now_iso()})
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=60)
    first = csms.wait_for("Heartbeat", since=boot.index, timeout=3 * interval)
    second = csms.wait_for("Heartbeat", since=first.index + 1, timeout=3 * interval)
    assert second.timestamp - first.timestamp == pytest.approx(interval, abs=1.5)


@pytest.mark.octt("TC_002_CS")
def test_cold_boot_pending(csms, charger):
    """Boot answered Pending: the charger answers the backend's configuration calls,
    sends nothing else, and boots again after the interval."""
    csms.respond("BootNotification", lambda p: {"status": "Pending", "interval": 10,
                                                 "currentTime": csms.state.now_iso()})
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=60)
    csms.forbid("StatusNotification")
    csms.forbid("Heartbeat")
    keys = csms.call(call.GetConfiguration())
    assert keys.configuration_key
    assert csms.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="15")).status \
        == "Accepted"
    csms.allow("StatusNotification")
    csms.allow("Heartbeat")
    csms.respond("BootNotification", None)
    again = csms.wait_for("BootNotification", timeout=30)
    assert again.timestamp - boot.timestamp == pytest.approx(10, abs=2)
    csms.wait_for("StatusNotification", connectorId=1, status="Available")

