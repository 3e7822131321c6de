"""Transactions feature: a session starts when an authorized EV is plugged (the plug
locked first on a socketed unit), ends by card, EV, remote stop, unlock or reset; its
messages live in NV memory until the backend has them (OCPP 1.6 §3.16, §5.18)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import ClassVar

from evrig.sim.charger.fw_base import Authorization, FirmwareBase, Reply, Transaction, iso
from evrig.sim.charger.metering import sampled_values
from evrig.sim.charger.ocpp_link import Payload

# EV PLUS History (profile web_client.history note): the Stop Mode of an OCPP stop
# reason; any other reason is printed as it is.
STOP_MODES = {"Local": "RFID", "Remote": "OCPP", "EVDisconnected": "EV"}
MAX_RECORDS = 100  # the Charging Records the EV PLUS keeps (our choice: 003 says none)

class Transactions(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "RemoteStopTransaction": "on_remote_stop",
        "UnlockConnector": "on_unlock_connector",
    }

    def _drive_plugin_session(self) -> None:
        """000 §1.2 "offline plug-in charge mode" (§2.5.1 Offline Mode Configuration,
        002): with the backend unreachable and Plug & Charge enabled, plugging in an EV
        starts charging at the maximum permissible current — no card, no app. Our
        reading of "works as a simple EVSE": no OCPP transaction is opened or queued
        (a simple EVSE has none); the session runs until the EV is unplugged, also if
        the backend comes back meanwhile."""
        mode = self.profile.offline_mode
        now = self.now()
        if self.link.online:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = now
        if self.plugin_session:
            if not self.plugged:
                self.plugin_session = False
                if self._locker() and self._unlock_at_end("EVDisconnected") and \
                        not self.board.actuator.operate(lock=False):
                    self.raise_fault("unlock_failed")
            return
        offline = (mode is not None and self._offline_since is not None
                   and now - self._offline_since >= mode.after_s)
        if (offline and self.plug_and_charge() and self.plugged and self.tx is None
                and self.authorization is None and not self.faulted and not self.finishing
                and not self._inoperative()):
            if self.variant.pp_required and self.cable_amps() is None:
                self.raise_fault("pp_missing")
                return
            if self._locker() and not self.board.actuator.operate(lock=True):
                self.raise_fault("lock_failed")
                return
            self.plugin_session = True

    def plug_and_charge(self) -> bool:
        """The Offline Mode setting: the web client's choice, else the factory's."""
        mode = self.profile.offline_mode
        if self.nvm.plug_and_charge is not None:
            return self.nvm.plug_and_charge
        return mode is not None and mode.plug_and_charge

    def _drive_transaction(self) -> None:
        self._lock_follows_faults()
        self._drive_plugin_session()
        if self.plugin_session:
            return
        auth = self.authorization
        if self.tx is None:
            if self.finishing and not self.plugged and self._pp_removed():
                self.finishing = False
            if auth is not None and self.plugged and not self.faulted and not self.finishing:
                if self.variant.pp_required and self.cable_amps() is None:
                    # 001 VendorID2 0x0200: no (valid) PP resistor on a socketed unit —
                    # the session does not start. A PP outside every band counts as
                    # missing (our choice). The authorization is dropped as for 0x0020.
                    self.raise_fault("pp_missing")
                    self.authorization = None
                    return
                if self._locker() and not self.board.actuator.operate(lock=True):
                    # 002 §2.4: the plug cannot be locked after the profile's attempts
                    # → fault state, no session (0x0020).
                    self.raise_fault("lock_failed")
                    self.authorization = None
                    return
                self._start_transaction(auth)
            return
        tx = self.tx
        if not self.plugged and self.pilot.state == "A":
            if self.config.bool("StopTransactionOnEVSideDisconnect", True):
                self.stop_transaction("EVDisconnected")
            else:
                tx.ev_disconnected = True

    def _lock_follows_faults(self) -> None:
        """EV PLUS Case B (003 §9): "When charging is completed or a fault occurs, the
        electronic lock will automatically unlock" (profile protections.actuator
        unlock_on_fault) — once the relay is open; the session stays open until the
        user unplugs. A fault that goes by itself (ERR MET) lets the session go on:
        the plug is locked again before the relay closes. A lock that will not move is
        ERR ELK (unlock_failed / lock_failed), tried once per fault."""
        actuator = self.board.actuator
        if not (self._locker() and self.profile.protections.actuator.unlock_on_fault):
            return
        # rig selftest defect: the lock follows the relay, released while the EV pauses.
        paused = self.defect("evplus_lock_released_in_pause") and self.tx is not None \
            and self.pilot.state == "B"
        release = (self.faulted or paused) and not self.contactor and actuator.locked
        relock = self.tx is not None and not self.faulted and not paused and self.plugged \
            and not actuator.locked
        if release and "unlock_failed" not in self.active \
                and not actuator.operate(lock=False):
            self.raise_fault("unlock_failed")
        elif relock and "lock_failed" not in self.active and not actuator.operate(lock=True):
            self.raise_fault("lock_failed")

    def _pp_removed(self) -> bool:
        # A socketed charger is "finishing" until the cable leaves the socket.
        return not self.variant.pp_required or self._pp_ohms() is None

    def _start_transaction(self, auth: Authorization) -> None:
        self.authorization = None
        res = self.reservation
        self.reservation = None
        tx = Transaction(
            local_id=next(self.nvm.local_ids),
            id_tag=auth.id_tag,
            parent_id_tag=auth.parent_id_tag,
            meter_start=int(self.meter.energy_wh),
            start=self.utc(),
            reservation_id=res.reservation_id if res else None,
            remote=auth.remote,
        )
        self.tx = tx
        self.nvm.open_tx = tx
        if auth.charging_profile is not None:
            self.nvm.smart.install(1, auth.charging_profile, self.tx_context(), 10**6, 10**6,
                                   ["A", "W"])
        self._next_sample = self.now() + self.config.int("MeterValueSampleInterval", 60)

        def build() -> Payload:
            p: Payload = {"connectorId": 1, "idTag": tx.id_tag, "meterStart": tx.meter_start,
                          "timestamp": iso(tx.start)}
            if tx.reservation_id is not None:
                p["reservationId"] = tx.reservation_id
            return p

        def on_result(result: Payload | None) -> None:
            if result is None:
                return
            tx.transaction_id = int(result["transactionId"])
            status = result["idTagInfo"]["status"]
            if self.config.bool("AuthorizationCacheEnabled", True):
                self.nvm.auth.remember(tx.id_tag, result["idTagInfo"])
            if status != "Accepted" and self.tx is tx:
                if self.config.bool("StopTransactionOnInvalidId", True):
                    self.stop_transaction("DeAuthorized")
                else:
                    tx.suspended_by_auth = True
            self.kick()

        self.send("StartTransaction", build, persistent=True, on_result=on_result)
        self.kick()

    def stop_transaction(self, reason: str) -> None:
        tx = self.tx
        if tx is None:
            return
        self.tx = None
        self.nvm.open_tx = None
        self.contactor = False
        self.meter.currents_a = [0.0] * len(self.meter.currents_a)
        self.nvm.smart.end_transaction()
        self.finishing = self.plugged or not self._pp_removed()
        if self._locker() and self._unlock_at_end(reason) and \
                not self.board.actuator.operate(lock=False):
            # 002 §2.4: the plug cannot be unlocked after the attempts → fault (0x0040).
            self.raise_fault("unlock_failed")
        self._send_stop(tx, reason, self.meter.energy_wh)
        self.nvm.availability.update(self.scheduled_availability)  # §5.2 "Scheduled"
        self.scheduled_availability.clear()
        self.kick()

    def _send_stop(self, tx: Transaction, reason: str, energy_wh: float,
                   stop_time: datetime | None = None) -> None:
        stop_time = stop_time or self.utc()
        self._record(tx, reason, energy_wh, stop_time)
        meter_stop = int(energy_wh)
        data_keys = self.config.csl("StopTxnSampledData")
        reading = dataclasses.replace(self.meter, energy_wh=energy_wh,
                                      voltages_v=list(self.meter.voltages_v),
                                      currents_a=list(self.meter.currents_a))

        def build() -> Payload:
            p: Payload = {
                "transactionId": tx.transaction_id if tx.transaction_id is not None else -1,
                "meterStop": meter_stop,
                "timestamp": iso(stop_time),
                "reason": reason,
                "idTag": tx.stop_id_tag or tx.id_tag,
            }
            if data_keys:
                p["transactionData"] = [{
                    "timestamp": iso(stop_time),
                    "sampledValue": sampled_values(reading, data_keys, "Transaction.End"),
                }]
            return p

        self.send("StopTransaction", build, persistent=True)

    def _record(self, tx: Transaction, reason: str, energy_wh: float, end: datetime) -> None:
        """The EV PLUS History page's Charging Record of a session that ended (003
        §8.1.2 step 7), in the page's columns (profile web_client.history, whose note
        gives our readings of the modes and the Id). Other families keep none."""
        page = self.profile.web_client.get("history")
        if page is None:
            return
        records = self.nvm.charge_records
        number = int(records[-1][page.fields[0]]) + 1 if records else 1
        values = (str(number), tx.start.strftime("%Y-%m-%d %H:%M:%S"),
                  end.strftime("%H:%M:%S"), "OCPP" if tx.remote else "RFID",
                  STOP_MODES.get(reason, reason),
                  f"{max(0.0, energy_wh - tx.meter_start) / 1000:.3f}kWh",
                  str(tx.transaction_id or 0))
        records.append(dict(zip(page.fields, values, strict=True)))
        del records[:-MAX_RECORDS]

    # -- answers ----------------------------------------------------------------------
    def on_remote_stop(self, p: Payload) -> Reply:
        tx = self.tx
        if tx is None or tx.transaction_id != p["transactionId"]:
            return {"status": "Rejected"}, None
        return {"status": "Accepted"}, lambda: self.stop_transaction("Remote")

    def _locker(self) -> bool:
        """The socket's lock is in use: a variant with an actuator whose locker is
        enabled (001 App. II / 004 §4.2 c_LockerDisengage; true = enabled, as the
        profile's note reads it). Disabled, no lock or unlock is ever attempted, so a
        jammed actuator can neither fault the charger nor block a session."""
        return self.variant.actuator_lock and self.config.bool("c_LockerDisengage", True)

    def _unlock_at_end(self, reason: str) -> bool:
        """Whether the plug is unlocked when a session ends. 004 §4.2 Unlock Connector On
        Charging Session End: Disable keeps it locked (a cord meant to stay affixed,
        unlocked by hand). 001 App. II UnlockConnectorOnEVSideDisconnect (OCPP 1.6
        §9.1): FALSE keeps it locked when the cable was pulled at the EV. Either way
        UnlockConnector (OCPP, web client) frees it."""
        if self.nvm.unlock_on_session_end is False:
            return False
        return not (reason == "EVDisconnected"
                    and not self.config.bool("UnlockConnectorOnEVSideDisconnect", True))

    def web_unlock(self) -> str:
        """The web client's Device Control → Unlock Connector (004 §4.2): as OCPP's
        UnlockConnector (§5.18) — the session, if any, stops as "Local" (a local
        action, not the backend's UnlockCommand: our reading)."""
        reply, _ = self.on_unlock_connector({"connectorId": 1}, stop_reason="Local")
        return str(reply["status"])

    def lock_state(self) -> str:
        """locked / unlocked, or none without a lock in use (service console)."""
        if not self._locker():
            return "none"
        return "locked" if self.board.actuator.locked else "unlocked"

    def on_unlock_connector(self, p: Payload, stop_reason: str = "UnlockCommand") -> Reply:
        # With the locker disabled the charger has no lock in use: NotSupported
        # ("no connector lock", OCPP 1.6 §7.41), our reading.
        if p["connectorId"] != 1 or not self._locker():
            return {"status": "NotSupported"}, None
        if not self.board.actuator.operate(lock=False):
            # 002 §2.4: the actuator cannot unlock after the profile's attempts → fault
            # state (0x0040); OCPP 1.6 §5.18.
            self.raise_fault("unlock_failed")
            self.kick()
            return {"status": "UnlockFailed"}, None
        if stop_reason == "Local" and self.tx is not None:
            self.stop_transaction(stop_reason)  # no answer to send first: at once
            return {"status": "Unlocked"}, None
        after = (lambda: self.stop_transaction(stop_reason)) if self.tx is not None else None
        return {"status": "Unlocked"}, after
