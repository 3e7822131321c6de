"""The twin's answers to CSMS-initiated OCPP 1.6 CALLs.

Each handler takes the request payload and returns (response payload, what to do
after the response has gone out). Side effects that send messages or reboot run
"after", so the backend always sees the answer first — and no handler ever waits
on a CALL of its own (that would deadlock the receive loop).
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evrig.sim.charger.auth import parse_time
from evrig.sim.charger.firmware import Authorization, Reservation, iso
from evrig.sim.charger.ocpp_link import Handler, Payload

if TYPE_CHECKING:
    from evrig.sim.charger.firmware import Firmware
    from evrig.sim.charger.twin import ChargerTwin

Reply = tuple[Payload, Callable[[], None] | None]



_RUNNING: set[asyncio.Task[Any]] = set()  # board-level actions in flight (reset, update)


def build_handlers(twin: ChargerTwin, fw: Firmware) -> dict[str, Handler]:
    cfg = fw.config

    def spawn(coro: Any) -> Callable[[], None]:
        # The loop keeps only a weak reference to a task: hold it until done, or a
        # reset in flight can be garbage-collected halfway (board never comes back).
        def start() -> None:
            task = asyncio.get_running_loop().create_task(coro)
            _RUNNING.add(task)
            task.add_done_callback(_RUNNING.discard)

        return start

    def valid_connector(cid: int, allow_zero: bool = True) -> bool:
        return cid == 1 or (allow_zero and cid == 0)

    # -- Core ----------------------------------------------------------------------
    def change_availability(p: Payload) -> Reply:
        cid, kind = p["connectorId"], p["type"]
        if not valid_connector(cid):
            return {"status": "Rejected"}, None
        if fw.tx is not None and kind == "Inoperative":
            # OCPP 1.6 §5.2: during a transaction the change waits for its end.
            fw.scheduled_availability[cid] = kind
            return {"status": "Scheduled"}, None
        fw.nvm.availability[cid] = kind
        fw.kick()
        return {"status": "Accepted"}, None

    def change_configuration(p: Payload) -> Reply:
        key, value = p["key"], p["value"]
        if key in ("MeterValuesSampledData", "MeterValuesAlignedData", "StopTxnSampledData",
                   "StopTxnAlignedData") and cfg.known(key) and not fw.valid_measurands(value):
            return {"status": "Rejected"}, None
        status = cfg.change(key, value)
        if status == "Accepted" and key == "HeartbeatInterval":
            fw._next_heartbeat = fw.now() + cfg.int("HeartbeatInterval", 60)
        fw.kick()
        return {"status": status}, None

    def get_configuration(p: Payload) -> Reply:
        keys = p.get("key")
        limit = cfg.int("GetConfigurationMaxKeys", 5)
        found, unknown = cfg.get(keys)
        if keys and len(keys) > limit:
            found = found[:limit]
        result: Payload = {"configurationKey": found}
        if unknown:
            result["unknownKey"] = unknown
        return result, None

    def clear_cache(p: Payload) -> Reply:
        if not cfg.bool("AuthorizationCacheEnabled", True):
            return {"status": "Rejected"}, None
        fw.nvm.auth.cache.clear()
        return {"status": "Accepted"}, None

    def data_transfer(p: Payload) -> Reply:
        if p["vendorId"] != fw.variant.charge_point_vendor:
            return {"status": "UnknownVendorId"}, None
        return {"status": "UnknownMessageId"}, None

    def remote_start(p: Payload) -> Reply:
        cid = p.get("connectorId", 1)
        profile = p.get("chargingProfile")
        if (cid != 1 or fw.tx is not None or fw.rtm or fw._inoperative()
                or (profile is not None and profile["chargingProfilePurpose"] != "TxProfile")):
            return {"status": "Rejected"}, None
        id_tag = p["idTag"]
        res = fw.reservation
        # OCPP 1.6 §5.13: another idTag may use the reservation if its parentIdTag matches.
        by_parent = res is not None and id_tag != res.id_tag
        required_parent = res.parent_id_tag if res is not None else None
        if by_parent and not required_parent:
            return {"status": "Rejected"}, None

        async def start() -> None:
            parent = None
            if cfg.bool("AuthorizeRemoteTxRequests") or by_parent:
                info = await fw.authorize(id_tag)
                if not info or info.get("status") != "Accepted":
                    return
                parent = info.get("parentIdTag")
                if by_parent and parent != required_parent:
                    return  # §5.13: reserved for another group
            fw.authorization = Authorization(
                id_tag, parent, fw.now() + cfg.int("ConnectionTimeOut", 90), remote=True,
                charging_profile=profile,
            )
            fw.kick()

        return {"status": "Accepted"}, spawn(start())

    def remote_stop(p: Payload) -> Reply:
        tx = fw.tx
        if tx is None or tx.transaction_id != p["transactionId"]:
            return {"status": "Rejected"}, None
        return {"status": "Accepted"}, lambda: fw.stop_transaction("Remote")

    def reset(p: Payload) -> Reply:
        kind = p["type"]
        return {"status": "Accepted"}, spawn(twin.reset(kind))

    def unlock_connector(p: Payload) -> Reply:
        if p["connectorId"] != 1 or not fw.variant.actuator_lock:
            return {"status": "NotSupported"}, None
        if not twin.actuator.operate():
            # 002 §2.4: the actuator cannot unlock after the profile's attempts → fault
            # state (0x0040); OCPP 1.6 §5.18.
            fw.rtm |= twin.profile.rtm("EVSE_FAULT_ACT_UNLOCK_FAULT").code
            fw.kick()
            return {"status": "UnlockFailed"}, None
        after = (lambda: fw.stop_transaction("UnlockCommand")) if fw.tx is not None else None
        return {"status": "Unlocked"}, after

    # -- Firmware Management --------------------------------------------------------------
    def get_diagnostics(p: Payload) -> Reply:
        name = f"diagnostics-{fw.serial}.log"
        return {"fileName": name}, spawn(twin.upload_diagnostics(p["location"], name))

    def update_firmware(p: Payload) -> Reply:
        when = parse_time(p["retrieveDate"])
        return {}, spawn(twin.update_firmware(p["location"], when))

    # -- Local Auth List Management ---------------------------------------------------------
    def get_local_list_version(p: Payload) -> Reply:
        if not cfg.bool("LocalAuthListEnabled"):
            return {"listVersion": -1}, None
        return {"listVersion": fw.nvm.auth.list_version}, None

    def send_local_list(p: Payload) -> Reply:
        if not cfg.bool("LocalAuthListEnabled"):
            return {"status": "NotSupported"}, None
        entries = p.get("localAuthorizationList", [])
        if len(entries) > cfg.int("SendLocalListMaxLength", 0):
            return {"status": "Failed"}, None
        status = fw.nvm.auth.send_local_list(
            p["listVersion"], p["updateType"], entries, cfg.int("LocalAuthListMaxLength", 0)
        )
        return {"status": status}, None

    # -- Reservation ---------------------------------------------------------------------
    def reserve_now(p: Payload) -> Reply:
        cid = p["connectorId"]
        if cid == 0 and not cfg.bool("ReserveConnectorZeroSupported"):
            return {"status": "Rejected"}, None
        if not valid_connector(cid):
            return {"status": "Rejected"}, None
        status = fw.connector_status()
        res = fw.reservation
        if status == "Faulted":
            return {"status": "Faulted"}, None
        if status == "Unavailable":
            return {"status": "Unavailable"}, None
        if res is not None and res.reservation_id == p["reservationId"]:
            pass  # replaces the existing reservation (§5.13)
        elif status != "Available":
            return {"status": "Occupied"}, None
        expiry = parse_time(p["expiryDate"])
        assert expiry is not None
        fw.reservation = Reservation(p["reservationId"], cid, p["idTag"],
                                     p.get("parentIdTag"), expiry)
        fw.kick()
        return {"status": "Accepted"}, None

    def cancel_reservation(p: Payload) -> Reply:
        res = fw.reservation
        if res is None or res.reservation_id != p["reservationId"]:
            return {"status": "Rejected"}, None
        fw.reservation = None
        fw.kick()
        return {"status": "Accepted"}, None

    # -- Remote Trigger ------------------------------------------------------------------
    def trigger_message(p: Payload) -> Reply:
        what, cid = p["requestedMessage"], p.get("connectorId")
        if cid is not None and not valid_connector(cid, allow_zero=False):
            return {"status": "Rejected"}, None
        senders: dict[str, Callable[[], None]] = {
            "BootNotification": fw._send_boot,
            "Heartbeat": lambda: fw.send("Heartbeat", lambda: {}),
            "StatusNotification": lambda: _trigger_status(fw, cid),
            "MeterValues": lambda: _trigger_meter(fw),
            # OCPP 1.6 §7 FirmwareStatus/DiagnosticsStatus "Idle": triggered and not busy.
            "FirmwareStatusNotification": lambda: fw.send(
                "FirmwareStatusNotification", lambda: {"status": fw.firmware_status if (
                    fw.firmware_status in ("Downloading", "Downloaded", "Installing"))
                    else "Idle"}),
            "DiagnosticsStatusNotification": lambda: fw.send(
                "DiagnosticsStatusNotification", lambda: {"status": fw.diagnostics_status if (
                    fw.diagnostics_status == "Uploading") else "Idle"}),
        }
        sender = senders.get(what)
        if sender is None:
            return {"status": "NotImplemented"}, None
        return {"status": "Accepted"}, sender

    # -- Smart Charging -------------------------------------------------------------------
    def set_charging_profile(p: Payload) -> Reply:
        cid = p["connectorId"]
        if not valid_connector(cid):
            return {"status": "Rejected"}, None
        status = fw.nvm.smart.install(
            cid, p["csChargingProfiles"], fw.tx_context(),
            cfg.int("ChargeProfileMaxStackLevel", 100),
            cfg.int("ChargingScheduleMaxPeriods", 60),
            cfg.csl("ChargingScheduleAllowedChargingRateUnit"),
        )
        fw.kick()
        return {"status": status}, None

    def clear_charging_profile(p: Payload) -> Reply:
        status = fw.nvm.smart.clear(p.get("id"), p.get("connectorId"),
                                    p.get("chargingProfilePurpose"), p.get("stackLevel"))
        fw.kick()
        return {"status": status}, None

    def get_composite_schedule(p: Payload) -> Reply:
        cid = p["connectorId"]
        unit = p.get("chargingRateUnit", "A")
        if not valid_connector(cid) or unit not in cfg.csl(
            "ChargingScheduleAllowedChargingRateUnit"
        ):
            return {"status": "Rejected"}, None
        now = fw.utc()  # OCPP 1.6 GetCompositeSchedule.conf: schedule starts now, not before
        schedule = fw.nvm.smart.composite(
            now, p["duration"], unit, fw.tx_context(), cfg.int("c_DeviceLimit_I", 320) / 10.0,
        )
        return {"status": "Accepted", "connectorId": cid, "scheduleStart": iso(now),
                "chargingSchedule": schedule}, None

    handlers = {
        "ChangeAvailability": change_availability,
        "ChangeConfiguration": change_configuration,
        "GetConfiguration": get_configuration,
        "ClearCache": clear_cache,
        "DataTransfer": data_transfer,
        "RemoteStartTransaction": remote_start,
        "RemoteStopTransaction": remote_stop,
        "Reset": reset,
        "UnlockConnector": unlock_connector,
        "GetDiagnostics": get_diagnostics,
        "UpdateFirmware": update_firmware,
        "GetLocalListVersion": get_local_list_version,
        "SendLocalList": send_local_list,
        "ReserveNow": reserve_now,
        "CancelReservation": cancel_reservation,
        "TriggerMessage": trigger_message,
        "SetChargingProfile": set_charging_profile,
        "ClearChargingProfile": clear_charging_profile,
        "GetCompositeSchedule": get_composite_schedule,
    }
    # Only what the profile says the charger supports; the rest gets NotImplemented.
    supported = set(twin.profile.ocpp.operations_csms_to_cp)
    return {k: v for k, v in handlers.items() if k in supported}


def _trigger_status(fw: Any, cid: int | None) -> None:
    for c in ([cid] if cid is not None else [0, 1]):
        fw.reported.pop(c, None)
        fw._report(c, fw.connector0_status() if c == 0 else fw.connector_status())


def _trigger_meter(fw: Any) -> None:
    fw._send_meter_values("Trigger", "MeterValuesSampledData")


def http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (test backend URL)
        return bytes(r.read())


def http_put(url: str, data: bytes, timeout: float) -> None:
    req = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(req, timeout=timeout):  # noqa: S310
        pass

