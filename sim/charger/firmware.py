"""The charger twin's firmware core: connector state machine, authorization and
transactions, timers, faults — the behaviour of OCPP 1.6 and of the EVNET manuals.

Inputs arrive as they do on the real board: the pilot and proximity circuit
(relays of the EV emulator on the pin bank), the service console (a tag held to
the reader), and the backend's CALLs. Outputs leave the same way: OCPP messages,
the contactor, the diagnostics the web client and console show.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile, Variant
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.board import BareBoard, Board
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.metering import MeterReading, sampled_values, split_measurand
from evrig.sim.charger.ocpp_link import OcppLink, Outgoing, Payload
from evrig.sim.charger.pilot import PilotReading, read_pilot
from evrig.sim.charger.protection import (
    Actuator,
    Contactor,
    Measurements,
    Protection,
    Settings,
    pwm_duty,
    web_clearable,
)
from evrig.sim.charger.smart_charging import SmartCharging, TxContext
from evrig.sim.electrical import Circuit

TICK_S = 0.25  # spec seconds between evaluations when nothing wakes the firmware
# An undefined CP level must last this long (spec s) before it is fault 0x0080, and
# state A this long before it counts as an unplug that clears faults. The
# manuals give no figure; 0.1 s is well above relay bounce (≈10 ms) and well below
# any human-visible delay.
CP_DEBOUNCE_S = 0.1


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Transaction:
    local_id: int
    id_tag: str
    parent_id_tag: str | None
    meter_start: int
    start: datetime
    reservation_id: int | None = None
    transaction_id: int | None = None  # assigned by the backend
    ev_disconnected: bool = False
    suspended_by_auth: bool = False
    stop_id_tag: str | None = None  # card that stopped it (OCPP 1.6 §6.49 StopTransaction idTag)


@dataclass
class Authorization:
    id_tag: str
    parent_id_tag: str | None
    deadline: float  # spec time by which the EV must be plugged (ConnectionTimeOut)
    remote: bool = False
    charging_profile: dict[str, Any] | None = None


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


@dataclass
class Nvm:
    """What the charger keeps across power cycles and resets."""

    config: ConfigStore
    auth: AuthStore
    smart: SmartCharging
    firmware_version: str
    outbox: deque[Outgoing] = field(default_factory=deque)
    availability: dict[int, str] = field(default_factory=lambda: {0: "Operative", 1: "Operative"})
    open_tx: Transaction | None = None
    energy_wh: float = 0.0
    local_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    reset_reason: int = 1  # VendorID3 code for the next boot: CC_RST_POWERON
    pending_stop_reason: str = "PowerLoss"
    last_alive: datetime | None = None  # the RTC time the board last ran (power-loss stop)


class Firmware:
    """One connector, one transaction at a time (the EVNET has one outlet)."""

    def __init__(
        self,
        *,
        profile: Profile,
        variant: Variant,
        clock: Clock,
        relays: Callable[[], dict[str, bool]],
        pp_ohms: Callable[[], float | None],
        link_factory: Callable[[Firmware], OcppLink],
        nvm: Nvm,
        serial: str,
        circuit: Circuit | None = None,
        on_evaluated: Callable[[], None] = lambda: None,
        board: Board | None = None,
    ) -> None:
        self.profile = profile
        # Called at the end of each evaluation, before anything it queued is sent: the
        # lights take the new status first, so a StatusNotification never announces a
        # status the ring does not show yet.
        self._on_evaluated = on_evaluated
        self.variant = variant
        self.clock = clock
        self._relays = relays
        self._pp_ohms = pp_ohms
        self.nvm = nvm
        self.serial = serial
        self.config = nvm.config
        self.circuit = circuit or Circuit(int(profile.ratings["phases"].value))
        # The board around the firmware: sensors, actuator, RS-485, board-level actions.
        self.board: Board = board or BareBoard(Actuator(profile.protections.actuator.attempts))
        self.link = link_factory(self)
        self.meter = MeterReading(energy_wh=nvm.energy_wh)
        self.wake = asyncio.Event()
        # volatile state (lost on power off)
        self.scheduled_availability: dict[int, str] = {}
        self._odd_pilot_since: float | None = None
        self._a_since: float | None = None
        self.boot_status: str | None = None  # None until the first BootNotification answer
        self.tx: Transaction | None = None
        self.authorization: Authorization | None = None
        self.reservation: Reservation | None = None
        self.finishing = False
        self.rtm: int = 0
        self.contactor = False
        self.pilot = PilotReading("A", 12.0, -12.0)
        self.reported: dict[int, tuple[str, str, str | None]] = {}
        self._next_boot = 0.0
        self._next_heartbeat = 0.0
        self._next_sample = 0.0
        self._next_aligned: datetime | None = None
        self._last_energy_t = clock.now()
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.limit_reason = "DeviceCurrentLimit"
        self.protection = Protection(profile)
        self.relay = Contactor(profile.timing)
        self.min_a = profile.ratings["min_current_a"].value

    # -- small helpers ------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def utc(self) -> datetime:
        return self.clock.utcnow()

    def kick(self) -> None:
        self.wake.set()

    def send(self, action: str, build: Callable[[], Payload], persistent: bool = False,
             on_result: Callable[[Payload | None], None] | None = None) -> None:
        self.link.enqueue(Outgoing(action, build, persistent, on_result))

    @property
    def plugged(self) -> bool:
        return self.pilot.state in ("B", "C", "D")

    def tx_context(self) -> TxContext | None:
        return TxContext(self.tx.transaction_id, self.tx.start) if self.tx else None

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
            self.nvm.open_tx = self.tx
            self.nvm.energy_wh = self.meter.energy_wh

    def _wait_s(self) -> float:
        # Wake for a pending contactor switch, so its delay is kept to the tick.
        due = self.relay.due_in(self.now())
        return TICK_S if due is None else min(TICK_S, max(due, 0.001))

    def may_send(self, msg: Outgoing) -> bool:
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
        self.boot_status = result["status"]
        interval = int(result.get("interval", 0))
        if self.boot_status == "Accepted":
            if interval > 0:
                self.config.set_local("HeartbeatInterval", str(interval))
            self._next_heartbeat = self.now() + self.config.int("HeartbeatInterval", 60)
            self._after_boot()
        else:
            self._next_boot = self.now() + (interval if interval > 0 else 60)
        self.kick()

    def _after_boot(self) -> None:
        reason = self.nvm.reset_reason
        self.nvm.reset_reason = 1
        self.reported.clear()
        vendor_id = self.profile.ocpp.vendor_ids["reset_reason"]
        self._report(0, self.connector0_status(), vendor=(vendor_id, str(reason)))
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
        if self.boot_status == "Accepted" and self.link.online:
            # OCPP 1.6 §5.2: a change of availability of connector 0 is reported too.
            self._report(0, self.connector0_status())
            self._report(1, self.connector_status())
        elif self.boot_status != "Accepted" and self.link.online and now >= self._next_boot \
                and not any(m.action == "BootNotification" for m in self.link.outbox):
            self._send_boot()
        self._on_evaluated()

    def _update_meter(self, now: float) -> None:
        """The charger's own meter: voltage at its supply, current through its outlet."""
        dt = max(0.0, now - self._last_energy_t)
        self._last_energy_t = now
        self.meter.energy_wh += self.meter.voltage_v * self.meter.current_a * dt / 3600.0
        snap = self.circuit.at(now)
        self.meter.voltage_v = snap.supply_v[0]
        self.meter.current_a = snap.ev_amps()
        self.meter.offered_a = self.offered_current()
        self.meter.power_w = None
        ext = self.board.external_meter()
        if ext is not None:
            # 004 §3.6: with a MID meter the charger takes voltage, current, power (L1)
            # and the energy register (Total Import kWh) from it.
            m = self.meter
            m.voltage_v = ext.voltage_v[0] if ext.voltage_v else m.voltage_v
            m.current_a = ext.current_a[0] if ext.current_a else m.current_a
            m.power_w = ext.power_w[0] if ext.power_w else None
            m.energy_wh = m.energy_wh if ext.import_kwh is None else ext.import_kwh * 1000.0

    def _check_faults(self) -> None:
        code = self.rtm
        diode = self.profile.rtm("EVSE_FAULT_DIODE_UNPRESENT").code
        cp_state = self.profile.rtm("EVSE_FAULT_CP_STATE").code
        if self.pilot.state == "A":
            # Faults that unplugging clears (000 App. I: the diode fault is
            # "cleared by removing the plug") — once A has lasted the debounce time: a
            # glitch through A while relays switch is not an unplug.
            if self._a_since is None:
                self._a_since = self.now()
            if self.now() - self._a_since >= CP_DEBOUNCE_S:
                # Bits of a set code that unplugging does not clear stay, even where
                # they overlap an unplug-clearable one (0x0060 = 0x0020 | 0x0040).
                keep = self._held_bits("unplug", code)
                for rtm in self.profile.rtm_codes.values():
                    if code & rtm.code and "unplug" in rtm.recovery:
                        code &= ~(rtm.code & ~keep)
        elif self.pilot.state in ("B", "C", "D") and self.pilot.low_v > -10.0:
            code |= diode
        elif self.pilot.state in ("E", "?"):
            # A level seen while relays switch is not a fault: it must persist.
            if self._odd_pilot_since is None:
                self._odd_pilot_since = self.now()
            elif self.now() - self._odd_pilot_since >= CP_DEBOUNCE_S:
                code |= cp_state
        if self.pilot.state not in ("E", "?"):
            self._odd_pilot_since = None
        if self.pilot.state != "A":
            self._a_since = None
        # Conditions inside the board the firmware detects directly (module missing,
        # host link lost, service cover): the bit latches until its recovery rule.
        for name in self.board.board_faults():
            rtm = self.profile.rtm(name)
            if not (rtm.socket_only and not self.variant.actuator_lock):
                code |= rtm.code
        # 001 VendorID2 0x400000: the configured external meter does not answer; set
        # while it is missing, gone with its first answer (profile recovery auto).
        missing = self.profile.rtm("EVSE_FAULT_MISSING_EXT_EMETER").code
        code = (code | missing) if self.board.external_meter_missing() else (code & ~missing)
        self.rtm = self.protection.apply(code, self._measure(), self._settings())

    def _measure(self) -> Measurements:
        # One instant for every quantity (Circuit.at): reading the command and each
        # pole at different times could latch a false relay fault (0x10010).
        snap = self.circuit.at(self.now())
        f = self.circuit.faults
        return Measurements(
            now=snap.t, supply_v=snap.supply_v[0], ev_a=snap.ev_amps(),
            offered_a=self.offered_current() if self.pwm_duty() is not None else 0.0,
            temperature_c=self.board.sensor_temperature_c(), leakage_ac_ma=f.leakage_ac_ma,
            leakage_dc_ma=f.leakage_dc_ma, pe_open=f.pe_open, ln_swapped=f.ln_swapped,
            n_pe_v=f.n_pe_v, relay_cmd=snap.relay_cmd,
            outlet_live=snap.live_closed and snap.supply_v[0] > 0,
            neutral_closed=snap.neutral_closed, tamper=self.board.cover_open())

    def _settings(self) -> Settings:
        p = self.profile.protections
        return Settings(voltage_offset_v=self.config.int(p.voltage.offset_key, 0),
                        rcd_type=self.config.int(p.rcd.type_key, 0))

    def _held_bits(self, recovery: str, rtm_value: int | None = None) -> int:
        """Bits of the codes fully set in ``rtm_value`` that ``recovery`` does not
        clear: they stay even where they overlap a code it clears (0x0060 = 0x0020 |
        0x0040, the PCM module missing, clears only by a power cycle)."""
        value = self.rtm if rtm_value is None else rtm_value
        held = 0
        for rtm in self.profile.rtm_codes.values():
            if rtm.code and value & rtm.code == rtm.code and recovery not in rtm.recovery:
                held |= rtm.code
        return held

    def clear_faults(self) -> None:
        """The web client's Clear Faults (000 §2.5.1 Device Control): resets the codes
        whose profile recovery includes web_clear; a cause still present trips again."""
        self.rtm &= ~(web_clearable(self.profile) & ~self._held_bits("web_clear"))
        self.protection.reset_timers()
        self.kick()

    def _check_timers(self, now: float) -> None:
        auth = self.authorization
        if auth is not None and self.tx is None and not self.plugged and now >= auth.deadline:
            self.authorization = None  # ConnectionTimeOut: the driver never plugged in
        res = self.reservation
        if res is not None and self.utc() >= res.expiry:
            self.reservation = None
        if self.boot_status != "Accepted":
            return
        hb = self.config.int("HeartbeatInterval", 0)
        if hb > 0 and now >= self._next_heartbeat:
            self._next_heartbeat = now + hb
            self.send("Heartbeat", lambda: {})
        interval = self.config.int("MeterValueSampleInterval", 0)
        if self.tx is not None and interval > 0 and now >= self._next_sample:
            self._next_sample = now + interval
            self._send_meter_values("Sample.Periodic", "MeterValuesSampledData")
        aligned = self.config.int("ClockAlignedDataInterval", 0)
        if aligned > 0:
            utc = self.utc()
            if self._next_aligned is None:
                self._next_aligned = _next_aligned(utc, aligned)
            elif utc >= self._next_aligned:
                boundary, self._next_aligned = self._next_aligned, _next_aligned(utc, aligned)
                # OCPP 1.6 §9.1.7: an aligned interval is identified by its clock time
                self._send_meter_values("Sample.Clock", "MeterValuesAlignedData", at=boundary)
        else:
            self._next_aligned = None

    # -- offered current --------------------------------------------------------------
    def offered_current(self) -> float:
        """Minimum of the EVSE limits (VendorID1); the winner is the limit reason."""
        # Listed in VendorID1 code order: on a tie the lower code is the reason.
        rated = self.profile.ratings["max_current_a"].value
        thermal = self.profile.derated_current(self.board.sensor_temperature_c())
        candidates: list[tuple[float | None, int]] = [
            (self.config.int("c_DeviceLimit_I", int(rated * 10)) / 10.0, 0),
            (self.cable_amps(), 1),  # tethered units ignore PP: None
            (0.0 if thermal is None else thermal, 2),  # above the table: fault 0x0800
            (self.board.ct_limit_a(), 3),
            (self.nvm.smart.limit_at(self.utc(), self.tx_context()), 4),
            (self.board.fuse_limit_a(), 5),
        ]
        limits = [(float(a), code) for a, code in candidates if a is not None]
        amps, code = min(limits, key=lambda x: x[0])
        self.limit_reason = self.profile.evse_limits[code].name
        return amps

    def cable_amps(self) -> float | None:
        """The cable's ampacity from PP (profile pp_bands); None on a tethered unit
        (case C, the charger knows its own cable) or with no valid PP resistor."""
        if not self.variant.pp_required:
            return None
        ohms = self._pp_ohms()
        amps = self.profile.pp_amps(ohms) if ohms is not None else None
        return None if amps is None else float(amps)

    def pwm_duty(self) -> float | None:
        """Duty (%) of the 1 kHz PWM on CP, None for no PWM. The charger offers
        current (IEC 61851-1 state x2) only during an authorized session that may
        charge: plugged, no fault, not suspended, at least the minimum current. In
        every other case CP is a steady +12 V (state x1, "not ready") — also when
        Faulted: our choice instead of state F (−12 V), so the firmware still sees
        the EV unplug (recovery `unplug`)."""
        tx = self.tx
        if tx is None or self.finishing or self.rtm or tx.suspended_by_auth \
                or not self.plugged:
            return None
        return pwm_duty(self.offered_current(), self.min_a)

    def _update_contactor(self) -> None:
        # State D (ventilation required) only with c_ChargingVentilatedEnabled (001 App. II).
        ventilated = self.config.bool("c_ChargingVentilatedEnabled")
        allowed_states = ("C", "D") if ventilated else ("C",)
        want = self.pwm_duty() is not None and self.pilot.state in allowed_states
        # IEC 61851-1 timing (profile timing): the relay switches after its delay.
        now = self.now()
        self.contactor = self.relay.update(want, now)
        # The contacts follow a started switch on time in spec seconds (electrical.py).
        due = self.relay.due_in(now)
        self.circuit.now = self.clock.now
        self.circuit.command_contactor(self.contactor,
                                       None if due is None else (now + due, want), now)

    # -- status ----------------------------------------------------------------------
    def connector0_status(self) -> str:
        return "Unavailable" if self.nvm.availability[0] == "Inoperative" else "Available"

    def connector_status(self) -> str:
        if self.rtm:
            return "Faulted"
        tx = self.tx
        if tx is not None:
            if not self.plugged:
                return "SuspendedEV"
            if tx.suspended_by_auth or self.offered_current() < self.min_a:
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

    def error_code(self) -> tuple[str, str | None]:
        """(OCPP errorCode, vendorErrorCode) for the highest-priority RTM bit."""
        if not self.rtm:
            return "NoError", None
        # A code made of several bits (0x0060 = PCM missing) names the fault when all
        # its bits are set; otherwise the lowest code set does.
        # A flag (0x4000 auto-recovery) names the fault only when seen alone: its
        # companion may be a higher bit (0x400000 missing meter).
        flags = self.protection.all_flags
        for code in sorted(self.profile.rtm_codes,
                           key=lambda c: (bool(c & flags), -c.bit_count(), c)):
            if code and self.rtm & code == code:
                return self.profile.rtm_codes[code].ocpp_error_code, f"0x{self.rtm:04X}"
        return "OtherError", f"0x{self.rtm:04X}"

    def _report(self, connector: int, status: str,
                vendor: tuple[str, str] | None = None) -> None:
        error, vendor_code = self.error_code() if connector == 1 else ("NoError", None)
        key = (status, error, vendor_code)
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

    # -- authorization ------------------------------------------------------------------
    def present_tag(self, id_tag: str) -> None:
        """A card held to the reader (service console ``tag`` on the twin)."""
        asyncio.get_running_loop().create_task(self._present_tag(id_tag))

    async def _present_tag(self, id_tag: str) -> None:
        tx = self.tx
        if tx is not None:
            if id_tag == tx.id_tag:
                self.stop_transaction("Local")
                return
            info = await self.authorize(id_tag)
            if (info and info.get("status") == "Accepted" and tx.parent_id_tag
                    and info.get("parentIdTag") == tx.parent_id_tag):
                tx.stop_id_tag = id_tag  # OCPP 1.6 §6.49: idTag = the identifier that stopped it
                self.stop_transaction("Local")
            return
        if self.rtm or self._inoperative():
            return
        info = await self.authorize(id_tag)
        if info is None or info.get("status") != "Accepted":
            return
        res = self.reservation
        if res is not None and id_tag != res.id_tag and not (
            res.parent_id_tag and info.get("parentIdTag") == res.parent_id_tag
        ):
            return  # the connector is reserved for someone else
        self.authorization = Authorization(
            id_tag, info.get("parentIdTag"), self.now() + self.config.int("ConnectionTimeOut", 90)
        )
        self.kick()

    async def authorize(self, id_tag: str) -> dict[str, Any] | None:
        """IdTagInfo for a tag: local list / cache first when allowed, else the backend."""
        cfg = self.config
        use_list = cfg.bool("LocalAuthListEnabled")
        use_cache = cfg.bool("AuthorizationCacheEnabled", True)
        local = self.nvm.auth.lookup(id_tag, self.utc(), use_list, use_cache)
        if self.link.online and self.boot_status == "Accepted":
            if local is not None and local.get("status") == "Accepted" and cfg.bool(
                "LocalPreAuthorize"
            ):
                return local
            result = await self.link.request("Authorize", {"idTag": id_tag})
            if result is not None:
                info = result["idTagInfo"]
                if use_cache:
                    self.nvm.auth.remember(id_tag, info)
                return info
        # Offline (§3.5.3).
        if local is not None and cfg.bool("LocalAuthorizeOffline", True):
            return local
        if local is None and cfg.bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return local or {"status": "Invalid"}

    # -- transactions --------------------------------------------------------------------
    def _drive_transaction(self) -> None:
        auth = self.authorization
        if self.tx is None:
            if self.finishing and not self.plugged and self._pp_removed():
                self.finishing = False
            if auth is not None and self.plugged and not self.rtm and not self.finishing:
                if self.variant.pp_required and self.cable_amps() is None:
                    # 001 VendorID2 0x0200: no (valid) PP resistor on a socketed unit —
                    # the session does not start. A PP outside every band counts as
                    # missing (our choice). The authorization is dropped as for 0x0020.
                    self.rtm |= self.profile.rtm("EVSE_FAULT_PP_UNPRESENT").code
                    self.authorization = None
                    return
                if self.variant.actuator_lock and not self.board.actuator.operate():
                    # 002 §2.4: the plug cannot be locked after the profile's attempts
                    # → fault state, no session (0x0020).
                    self.rtm |= self.profile.rtm("EVSE_FAULT_ACT_LOCK_FAULT").code
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
        self.meter.current_a = 0.0
        self.nvm.smart.end_transaction()
        self.finishing = self.plugged or not self._pp_removed()
        if self.variant.actuator_lock and not self.board.actuator.operate():
            # 002 §2.4: the plug cannot be unlocked after the attempts → fault (0x0040).
            self.rtm |= self.profile.rtm("EVSE_FAULT_ACT_UNLOCK_FAULT").code
        self._send_stop(tx, reason, self.meter.energy_wh)
        self.nvm.availability.update(self.scheduled_availability)  # §5.2 "Scheduled"
        self.scheduled_availability.clear()
        self.kick()

    def _send_stop(self, tx: Transaction, reason: str, energy_wh: float,
                   stop_time: datetime | None = None) -> None:
        stop_time = stop_time or self.utc()
        meter_stop = int(energy_wh)
        data_keys = self.config.csl("StopTxnSampledData")
        reading = MeterReading(**{**self.meter.__dict__, "energy_wh": energy_wh})

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

    def _send_meter_values(self, context: str, key: str, at: datetime | None = None) -> None:
        tx = self.tx
        entries = self.config.csl(key)
        if not entries:
            return
        values = sampled_values(self.meter, entries, context)
        stamp = iso(at or self.utc())

        def build() -> Payload:
            p: Payload = {"connectorId": 1, "meterValue": [{"timestamp": stamp,
                                                             "sampledValue": values}]}
            if tx is not None and tx.transaction_id is not None:
                p["transactionId"] = tx.transaction_id
            return p

        self.send("MeterValues", build, persistent=tx is not None)

    def valid_measurands(self, value: str) -> bool:
        supported = {m.measurand for m in self.profile.meter_measurands}
        items = [x.strip() for x in value.split(",") if x.strip()]
        return all(split_measurand(x)[0] in supported for x in items)


def _next_aligned(utc: datetime, interval: int) -> datetime:
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (utc - midnight).total_seconds()
    return midnight + timedelta(seconds=(int(elapsed // interval) + 1) * interval)
