"""Core feature: the firmware's life (run, boot), the periodic evaluation, the connector
state machine and its StatusNotifications, availability, configuration, heartbeat,
TriggerMessage and Reset (OCPP 1.6 Core and Remote Trigger)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ClassVar

from evrig.sim.charger.fw_base import FirmwareBase, Reply, iso
from evrig.sim.charger.ocpp_link import Outgoing, Payload
from evrig.sim.charger.pilot import read_pilot

TICK_S = 0.25  # spec seconds between evaluations when nothing wakes the firmware


class CoreSession(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "ChangeAvailability": "on_change_availability",
        "ChangeConfiguration": "on_change_configuration",
        "GetConfiguration": "on_get_configuration",
        "DataTransfer": "on_data_transfer",
        "Reset": "on_reset",
        "TriggerMessage": "on_trigger_message",
    }

    # -- lifecycle ------------------------------------------------------------------
    async def run(self) -> None:
        """Power is on: serve the backend and the connector until cancelled."""
        link_task = asyncio.create_task(self.link.run())
        try:
            while True:
                self.evaluate()
                self.wake.clear()
                # A spec-time deadline (rig/bench_clock.py): the next evaluation falls due on
                # the bench clock, not after a wall sleep.
                await self.clock.wait_event(self.wake, self._wait_s())
        finally:
            link_task.cancel()
            with contextlib.suppress(BaseException):
                await link_task
            # rig selftest: the open transaction not kept in NV memory across power loss.
            self.nvm.open_tx = None if self.defect("transaction_lost_on_power_loss") else self.tx
            self.nvm.energy_wh = self.meter.energy_wh

    def _wait_s(self) -> float:
        # Wake for a pending contactor switch, so its delay is kept to the tick.
        due = self.relay.due_in(self.now())
        return TICK_S if due is None else min(TICK_S, max(due, 0.001))

    def may_send(self, msg: Outgoing) -> bool:
        if self.defect("offline_queue_replayed_newest_first") and msg.persistent and \
                msg is not [m for m in self.link.outbox if m.persistent][-1]:
            return False  # the stored messages sent as a stack, the newest first
        # Until the backend accepts the boot, only BootNotification goes out (§4.2).
        return self.boot_status == "Accepted" or msg.action == "BootNotification"

    def on_connected(self) -> None:
        if self.boot_status != "Accepted":
            self._send_boot()
        else:
            self.reported.clear()  # report the present status again after an outage
        self.kick()

    def on_disconnected(self) -> None:
        self.kick()

    def _send_boot(self) -> None:
        if any(m.action == "BootNotification" for m in self.link.outbox):
            return
        v = self.variant

        def build() -> Payload:
            return {
                "chargePointVendor": v.charge_point_vendor,
                "chargePointModel": v.charge_point_model,
                "chargePointSerialNumber": self.serial,
                "chargeBoxSerialNumber": self.serial,
                "firmwareVersion": self.nvm.firmware_version,
                "meterType": "EVNET internal",
            }

        self.send("BootNotification", build, on_result=self._on_boot)

    def _on_boot(self, result: Payload | None) -> None:
        if result is None:
            self._next_boot = self.now() + 10
            return
        self.set_clock(result)
        self.boot_status = result["status"]
        interval = int(result.get("interval", 0))
        if self.boot_status == "Accepted":
            if interval > 0 and not self.defect("heartbeat_interval_not_applied"):
                self.config.set_local("HeartbeatInterval", str(interval))
            self._next_heartbeat = self.now() + self.config.int("HeartbeatInterval", 60)
            self._after_boot()
        else:
            self._next_boot = self.now() + (interval if interval > 0 else 60)
        self.kick()

    def _after_boot(self) -> None:
        reason = self.nvm.reset_reason
        if reason is None:
            reason = self.profile.reset_reason_after("power_on")
        self.nvm.reset_reason = None
        self.reported.clear()
        vendor_id = self.profile.ocpp.vendor_ids.get("reset_reason")
        self._report(0, self.connector0_status(), vendor=(
            (vendor_id, str(reason)) if vendor_id is not None and reason is not None else None))
        lost = self.nvm.open_tx
        if lost is not None and self.tx is None:
            # The transaction that was running when power went away ends now (§3.16.2).
            self.nvm.open_tx = None
            # Stamped with the last moment the board was alive, not the boot time.
            self._send_stop(lost, self.nvm.pending_stop_reason, self.nvm.energy_wh,
                            self.nvm.last_alive)
        self.nvm.pending_stop_reason = "PowerLoss"

    # -- the periodic evaluation --------------------------------------------------------
    def evaluate(self) -> None:
        now = self.now()
        self.nvm.last_alive = self.utc()
        self._update_meter(now)
        self.pilot = read_pilot(self._relays())
        self._check_faults()
        self._check_timers(now)
        self._drive_transaction()
        self._update_contactor()
        # 001 VendorID2 0x0400: while the RTM–application CPU link is down the CPU
        # cannot read the RTM: it reports nothing new (the backend hears of the fault
        # once the link is back) and its pages show the last register it read.
        rtm_readable = "host_link_lost" not in self.board.board_faults()
        if rtm_readable:
            self.rtm_seen = self.rtm
        if self.boot_status == "Accepted" and self.link.online and rtm_readable:
            # OCPP 1.6 §5.2: a change of availability of connector 0 is reported too.
            self._report(0, self.connector0_status())
            self._report(1, self.connector_status())
        elif self.boot_status != "Accepted" and self.link.online and now >= self._next_boot \
                and not any(m.action == "BootNotification" for m in self.link.outbox):
            self._send_boot()
        self._on_evaluated()

    def _check_timers(self, now: float) -> None:
        self._authorization_timeout(now)
        self._reservation_expiry()
        if self.boot_status != "Accepted":
            return
        hb = self.config.int("HeartbeatInterval", 0)
        if hb > 0 and now >= self._next_heartbeat:
            self._next_heartbeat = now + hb
            self.send("Heartbeat", lambda: {}, on_result=self.set_clock)
        self._meter_timers(now)

    # -- status ----------------------------------------------------------------------
    def connector0_status(self) -> str:
        return "Unavailable" if self.nvm.availability[0] == "Inoperative" else "Available"

    def connector_status(self) -> str:
        if self.faulted:
            return "Faulted"
        held = self.start_held()  # charge-off period / randomized delay: the EVSE waits
        if self.plugin_session:  # offline plug-in charge: the EV draws, or does not yet
            return "SuspendedEVSE" if held else "Charging" if self.contactor else "SuspendedEV"
        tx = self.tx
        if tx is not None:
            if not self.plugged:
                return "SuspendedEV"
            if tx.suspended_by_auth or held or self.offered_current() < self.min_a:
                return "SuspendedEVSE"
            if self.pilot.state == "D" and not self.config.bool("c_ChargingVentilatedEnabled"):
                # The EV asks (state D) but the charger refuses without ventilation
                # (001 App. II c_ChargingVentilatedEnabled): the EVSE suspends (OCPP §4.9).
                return "SuspendedEVSE"
            return "Charging" if self.contactor else "SuspendedEV"
        if self.finishing:
            return "Finishing"
        if self._inoperative():
            return "Unavailable"
        # OCPP 1.6 §4.9 (Reserved -> Preparing): the reserved idTag, once authorized, prepares.
        if self.reservation is not None and not self.plugged and self.authorization is None:
            return "Reserved"
        if self.plugged or self.authorization is not None:
            return "Preparing"
        return "Available"

    def _inoperative(self) -> bool:
        return "Inoperative" in (self.nvm.availability[0], self.nvm.availability[1])

    def _report(self, connector: int, status: str,
                vendor: tuple[str, str] | None = None) -> None:
        error, vendor_code = self.error_code() if connector == 1 else ("NoError", None)
        key = (status, error, vendor_code, self.fault_events if connector == 1 else 0)
        if self.reported.get(connector) == key and vendor is None:
            return
        self.reported[connector] = key
        payload: Payload = {"connectorId": connector, "errorCode": error, "status": status,
                            "timestamp": iso(self.utc())}
        if vendor_code is not None:
            payload["vendorId"] = self.profile.ocpp.vendor_ids["rtm"]
            payload["vendorErrorCode"] = vendor_code
        elif vendor is not None:
            payload["vendorId"], payload["vendorErrorCode"] = vendor
        self._on_evaluated()  # the light shows it before the backend hears it
        self.send("StatusNotification", lambda: payload)

    # -- answers ----------------------------------------------------------------------
    def on_change_availability(self, p: Payload) -> Reply:
        cid, kind = p["connectorId"], p["type"]
        if not self.valid_connector(cid):
            return {"status": "Rejected"}, None
        if self.tx is not None and kind == "Inoperative":
            # OCPP 1.6 §5.2: during a transaction the change waits for its end.
            self.scheduled_availability[cid] = kind
            return {"status": "Scheduled"}, None
        self.nvm.availability[cid] = kind
        self.kick()
        return {"status": "Accepted"}, None

    def on_change_configuration(self, p: Payload) -> Reply:
        key, value = p["key"], p["value"]
        measurands = ("MeterValuesSampledData", "MeterValuesAlignedData", "StopTxnSampledData",
                      "StopTxnAlignedData")
        if key in measurands and self.config.known(key) and not self.valid_measurands(value):
            return {"status": "Rejected"}, None
        status = self.config.change(key, value)
        if status == "Accepted" and key == "HeartbeatInterval":
            self._next_heartbeat = self.now() + self.config.int("HeartbeatInterval", 60)
        self.kick()
        return {"status": status}, None

    def on_get_configuration(self, p: Payload) -> Reply:
        keys = p.get("key")
        limit = self.config.int("GetConfigurationMaxKeys", 5)
        found, unknown = self.config.get(keys)
        if keys and len(keys) > limit:
            found = found[:limit]
        result: Payload = {"configurationKey": found}
        if unknown:
            result["unknownKey"] = unknown
        return result, None

    def on_data_transfer(self, p: Payload) -> Reply:
        if p["vendorId"] != self.variant.charge_point_vendor:
            return {"status": "UnknownVendorId"}, None
        return {"status": "UnknownMessageId"}, None

    def on_reset(self, p: Payload) -> Reply:
        kind = p["type"]
        return {"status": "Accepted"}, self.spawn(self.board.reset(kind))

    def on_trigger_message(self, p: Payload) -> Reply:
        what, cid = p["requestedMessage"], p.get("connectorId")
        if cid is not None and not self.valid_connector(cid, allow_zero=False):
            return {"status": "Rejected"}, None
        senders: dict[str, Callable[[], None]] = {
            "BootNotification": self._send_boot,
            "Heartbeat": lambda: self.send("Heartbeat", lambda: {}, on_result=self.set_clock),
            "StatusNotification": lambda: self._trigger_status(cid),
            "MeterValues": self._trigger_meter,
            # OCPP 1.6 §7 FirmwareStatus/DiagnosticsStatus "Idle": triggered and not busy.
            "FirmwareStatusNotification": lambda: self.send(
                "FirmwareStatusNotification", lambda: {"status": self.firmware_status if (
                    self.firmware_status in ("Downloading", "Downloaded", "Installing"))
                    else "Idle"}),
            "DiagnosticsStatusNotification": lambda: self.send(
                "DiagnosticsStatusNotification", lambda: {"status": self.diagnostics_status if (
                    self.diagnostics_status == "Uploading") else "Idle"}),
        }
        sender = senders.get(what)
        if sender is None:
            return {"status": "NotImplemented"}, None
        return {"status": "Accepted"}, sender

    def _trigger_status(self, cid: int | None) -> None:
        for c in ([cid] if cid is not None else [0, 1]):
            self.reported.pop(c, None)
            self._report(c, self.connector0_status() if c == 0 else self.connector_status())

    def _trigger_meter(self) -> None:
        self._send_meter_values("Trigger", "MeterValuesSampledData")
