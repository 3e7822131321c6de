"""OCTT module 14: Power Failure — Core, OCPP 1.6 §4.9/§4.10 (StopTransaction after a
power loss, availability kept across reboots)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, start_charging

BOOT_S = 60  # spec seconds a powered-up charger may take to send BootNotification
# Spec seconds of charging before the mains cut: at the minimum 6 A x 230 V it is
# 23 Wh, far above the register's resolution of 1 Wh.
ENERGY_S = 60


@pytest.mark.octt("TC_032_2_CS")
def test_power_failure_stop_after_boot(csms, ev, charger):
    """Mains cut while charging: after the power comes back, BootNotification, SN(0)
    Available, and the interrupted transaction is stopped with StopTransaction reason
    PowerLoss (its transactionId and idTag).
    EVT also accepts reason Local or none; OCPP 1.6 §4.10 names PowerLoss for this,
    so PowerLoss is required. SN(1) after the boot: Finishing (catalogue) or
    Preparing (the cable is still in) — OCPP 1.6 does not fix which."""
    tx_id = start_charging(csms, ev, charger)
    start = csms.wait_for("StartTransaction", since=0)
    # A mains cut gives the charger no chance to close its connection: the backend
    # may see it only as silence until the charger connects again.
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=BOOT_S)
    csms.wait_for("StatusNotification", connectorId=0, status="Available", since=boot.index)
    stop = csms.wait_for("StopTransaction", since=boot.index, transactionId=tx_id)
    assert stop["reason"] == "PowerLoss"
    assert stop["idTag"] == ACCEPTED_TAG
    assert stop["meterStop"] >= start["meterStart"]
    csms.wait_for("StatusNotification", connectorId=1, since=boot.index,
                  predicate=lambda p: p["status"] in ("Finishing", "Preparing"))
    csms.forbid("StartTransaction")
    csms.assert_none("StopTransaction", 5)
    assert charger.status()["connector"] in ("Finishing", "Preparing")


def test_energy_register_never_goes_backwards_across_power_loss(csms, ev, charger, clock,
                                                               ac_load):
    """The energy register is a register (000 §2.5.1 Power Meter Measurements, a kWh
    count; 001 App. II Energy.Active.Import.Register): energy charged before a mains
    cut is still counted after the reboot — the next session's meterStart is at least
    the interrupted one's meterStop, which counted the energy drawn (OCPP 1.6 §4.10)."""
    start_charging(csms, ev, charger)
    start = csms.wait_for("StartTransaction", since=0)
    ac_load.set_current(ev.offered_current())  # the EV draws what it is offered
    ac_load.enable(True)
    clock.sleep(ENERGY_S)
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=BOOT_S)
    stop = csms.wait_for("StopTransaction", since=boot.index)
    assert stop["meterStop"] > start["meterStart"], "no energy counted while charging"
    ac_load.enable(False)
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", since=boot.index)
    mark = csms.mark()
    start_charging(csms, ev, charger)
    again = csms.wait_for("StartTransaction", since=mark)
    assert again["meterStart"] >= stop["meterStop"], (
        f"the register went back from {stop['meterStop']} Wh to {again['meterStart']} Wh")


@pytest.mark.octt("TC_034_CS")
def test_power_failure_unavailable_status(csms, charger):
    """ChangeAvailability(connector 0, Inoperative) → Accepted, SN(0) and SN(1)
    Unavailable; after a power cycle both are still Unavailable (OCPP 1.6 §5.2: the
    availability persists across reboots); ChangeAvailability(0, Operative) → Accepted
    and both report Available again."""
    result = csms.call(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=0, status="Unavailable", since=0)
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable", since=0)
    charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=BOOT_S)
    csms.wait_for("StatusNotification", connectorId=0, status="Unavailable", since=boot.index)
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable", since=boot.index)
    csms.forbid("StatusNotification", status="Available")
    csms.assert_none("StatusNotification", 5)
    csms.allow("StatusNotification")
    assert charger.status()["connector"] == "Unavailable"
    result = csms.call(call.ChangeAvailability(connector_id=0, type="Operative"))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=0, status="Available")
    csms.wait_for("StatusNotification", connectorId=1, status="Available", since=boot.index)
