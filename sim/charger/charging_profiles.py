"""Smart charging feature: SetChargingProfile, ClearChargingProfile and
GetCompositeSchedule (OCPP 1.6 §3.13, §5.5, §5.7, §5.16) over the NV profile store
(smart_charging.py)."""

from __future__ import annotations

from typing import ClassVar

from evrig.sim.charger.fw_base import FirmwareBase, Reply, iso
from evrig.sim.charger.ocpp_link import Payload


class ChargingProfiles(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "SetChargingProfile": "on_set_charging_profile",
        "ClearChargingProfile": "on_clear_charging_profile",
        "GetCompositeSchedule": "on_get_composite_schedule",
    }

    def on_set_charging_profile(self, p: Payload) -> Reply:
        cid = p["connectorId"]
        if not self.valid_connector(cid):
            return {"status": "Rejected"}, None
        status = self.nvm.smart.install(
            cid, p["csChargingProfiles"], self.tx_context(),
            self.config.int("ChargeProfileMaxStackLevel", 100),
            self.config.int("ChargingScheduleMaxPeriods", 60),
            self.config.csl("ChargingScheduleAllowedChargingRateUnit"),
            max_installed=self.config.int("MaxChargingProfilesInstalled", 10),
        )
        self.kick()
        return {"status": status}, None

    def on_clear_charging_profile(self, p: Payload) -> Reply:
        status = self.nvm.smart.clear(p.get("id"), p.get("connectorId"),
                                    p.get("chargingProfilePurpose"), p.get("stackLevel"))
        self.kick()
        return {"status": status}, None

    def on_get_composite_schedule(self, p: Payload) -> Reply:
        cid = p["connectorId"]
        unit = p.get("chargingRateUnit", "A")
        if not self.valid_connector(cid) or unit not in self.config.csl(
            "ChargingScheduleAllowedChargingRateUnit"
        ):
            return {"status": "Rejected"}, None
        now = self.utc()  # OCPP 1.6 GetCompositeSchedule.conf: schedule starts now, not before
        device_a = self.config.int("c_DeviceLimit_I", 320) / 10.0
        schedule = self.nvm.smart.composite(now, p["duration"], unit, self.tx_context(),
                                            device_a)
        return {"status": "Accepted", "connectorId": cid, "scheduleStart": iso(now),
                "chargingSchedule": schedule}, None
