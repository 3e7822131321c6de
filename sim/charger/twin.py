"""The EVNET charger twin: firmware plus the parts of the board around it.

Power on starts the firmware (boot, connect); power off cancels it with what the
charger keeps in NV memory intact. Resets, firmware updates and diagnostics
uploads are board-level actions the firmware asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
from collections.abc import Callable
from datetime import datetime

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.firmware import Firmware, FirmwareBase, Nvm
from evrig.sim.charger.maintenance import http_get, http_put
from evrig.sim.charger.modbus_master import MeterData, ModbusMaster
from evrig.sim.charger.ocpp_link import OcppLink
from evrig.sim.charger.pilot import cp_levels
from evrig.sim.charger.power_management import installation_limit_a, metering_meter
from evrig.sim.charger.protection import AMBIENT_C, PWM_FREQ_HZ, Actuator, BoardSensors, BoardSupply
from evrig.sim.charger.smart_charging import SmartCharging
from evrig.sim.defects.injection import NONE as NO_DEFECTS
from evrig.sim.defects.injection import Injected
from evrig.sim.electrical import Circuit

log = logging.getLogger(__name__)
BOOT_DELAY_S = 2.0  # spec seconds from power-on to the first connection attempt
RESET_OFF_S = {"Soft": 1.0, "Hard": 3.0}  # how long each reset keeps the board down


class ChargerTwin:
    def __init__(
        self,
        *,
        profile: Profile,
        variant: str,
        clock: Clock,
        relays: Callable[[], dict[str, bool]],
        pp_ohms: Callable[[], float | None],
        csms_url: Callable[[], str],
        charge_point_id: str,
        serial: str = "EVN7S-000001",
        firmware_version: str = "1.5.7.000014",
        password: Callable[[], str | None] = lambda: None,
        ssl_context: ssl.SSLContext | None = None,
        circuit: Circuit | None = None,
        rs485_port: str | None = None,
        defects: Injected = NO_DEFECTS,
    ) -> None:
        self.profile = profile
        self.defects = defects  # rig selftest: `"name" in self.defects` where code has a hook
        self.variant = profile.variant(variant)
        self.clock = clock
        self._relays = relays
        self._pp_ohms = pp_ohms
        self._csms_url = csms_url
        self.charge_point_id = charge_point_id
        self.serial = serial
        self._password = password
        self._ssl = ssl_context
        self.circuit = circuit or Circuit(self.variant.phases)
        self.nvm = self._fresh_nvm(firmware_version)
        self.fw: Firmware | None = None
        self._task: asyncio.Task[None] | None = None
        self.powered = False
        self.powered_at: float | None = None  # spec time of the last power-on (self-test)
        # The board's parts that outlive the firmware (hardware, NV, environment).
        self.actuator = Actuator(profile.protections.actuator.attempts)
        self.sensors = BoardSensors()  # connector temperature, fan (consoles ctemp, fan)
        self.temperature_c = AMBIENT_C  # both sensors (service console ``temp``)
        self.tamper_open = False  # main cover switch
        # Board-internal fault conditions (service console `tamper2`, `pcmfail`,
        # `hostfail`): what no outside instrument can cause.
        self.board_conditions: set[str] = set()
        self.calibration_unreadable = False  # NV calibration data (console ``calfail``)
        self.board_supply = BoardSupply(profile.protections.voltage)
        # RS-485 channel 1 (modbus_master.py): the serial port, the NV setting "a MID
        # meter is connected" (console ``rs485``), and the poller while powered.
        self.rs485_port = rs485_port
        self.rs485_meter = False
        self.rs485: ModbusMaster | None = None
        self._rs485_task: asyncio.Task[None] | None = None
        # What shows the firmware's state (the light): refreshed after each evaluation.
        self.on_evaluated: list[Callable[[], object]] = []  # return values ignored

    @property
    def lock_jammed(self) -> bool:
        return self.actuator.jammed

    @lock_jammed.setter
    def lock_jammed(self, on: bool) -> None:
        self.actuator.jam(math.inf if on else 0)

    def set_main_fuse(self, amps: float) -> str | None:
        """The web client's Change Main Fuse Rating (000 §2.5.1), stored as
        c_MainFuseLimit in the key's unit (tenths of an ampere). Returns why the value
        was refused, or None."""
        key = self.profile.key("c_MainFuseLimit")
        value = str(round(amps * (10 if key.unit == "0.1 A" else 1)))
        reason = key.check(value)
        if reason is None:
            self.nvm.config.set_local(key.name, value)
        return reason

    def phases_configured(self) -> int:
        return self.nvm.phases or self.variant.phases

    def set_phases(self, phases: int) -> str | None:
        """Phases Number (004 §4.2); why it is refused, or None. A unit rated for one
        phase has no such setting."""
        rated = int(self.profile.ratings["phases"].value)
        if phases > rated:
            return f"{self.profile.model} has {rated} phase(s); no Phases Number {phases}"
        self.nvm.phases = phases
        return None

    def supply_ok(self, supply_v: float) -> bool:
        """Whether the board runs at this supply voltage (hardware shutdown levels)."""
        return self.board_supply.board_on(supply_v)

    def pilot_output(self) -> tuple[float, float, float, float]:
        """What the charger puts on CP, as the EV's CP sense sees it:
        (duty_pct, freq_hz, high_v, low_v). The levels come from the resistor network
        (pilot.py) loaded by the EV's relays. With PWM: duty from the offered current
        (IEC 61851-1), 1 kHz, high/low of the square wave. Without PWM (no session,
        Faulted, suspended): a steady +12 V source — duty 100 %, 0 Hz, low = high.
        Board off: CP dead, all zero."""
        if not self.powered or self.fw is None:
            return 0.0, 0.0, 0.0, 0.0
        high, low = cp_levels(self._relays())
        duty = self.fw.pwm_duty()
        if duty is None:
            return 100.0, 0.0, high, high
        return duty, PWM_FREQ_HZ, high, low

    def _fresh_nvm(self, firmware_version: str) -> Nvm:
        ratings = self.profile.ratings
        return Nvm(
            config=ConfigStore(self.profile),
            auth=AuthStore(),
            smart=SmartCharging(ratings["nominal_voltage_v"].value, self.variant.phases),
            firmware_version=firmware_version,
        )

    def csms_address(self) -> str:
        """The backend address as commissioned (the rig's CSMS)."""
        return self._csms_url()

    def reconnect(self) -> None:
        """The Backend Configuration changed: drop the link; it connects again with
        the new UID and address (web_config.act)."""
        fw = self.fw
        if fw is not None:
            fw.link.cp_id = self.nvm.uid or self.charge_point_id
            asyncio.get_running_loop().create_task(fw.link.close())

    def _make_link(self, fw: FirmwareBase) -> OcppLink:
        return OcppLink(
            clock=self.clock,
            url=lambda: self.nvm.server_address or self._csms_url(),
            charge_point_id=self.nvm.uid or self.charge_point_id,
            handlers=fw.answers(),
            outbox=self.nvm.outbox,
            on_connected=fw.on_connected,
            on_disconnected=fw.on_disconnected,
            password=self._password,
            ssl_context=self._ssl,
            may_send=fw.may_send,
        )

    # -- power ------------------------------------------------------------------------
    async def power_on(self) -> None:
        if self.powered:
            return
        self.powered = True
        self.powered_at = self.clock.now()
        # An EV PLUS web-app upgrade result shows until the next power-on (003 §12).
        self.nvm.upgrade_result = None
        fw = Firmware(
            profile=self.profile, variant=self.variant, clock=self.clock,
            relays=self._relays, pp_ohms=self._pp_ohms, link_factory=self._make_link,
            nvm=self.nvm, serial=self.serial, circuit=self.circuit,
            on_evaluated=self._evaluated, board=self,
        )
        self.fw = fw
        if self.calibration_unreadable:
            # 001 VendorID2 0x8000: calibration data unreadable from NV at boot.
            fw.raise_fault("calibration_lost")
        self._task = asyncio.get_running_loop().create_task(self._run(fw))
        self._task.add_done_callback(_firmware_ended)
        self._start_rs485(fw)
        self._evaluated()  # the lights follow the power at once

    def _evaluated(self) -> None:
        for listener in self.on_evaluated:
            try:
                listener()
            except Exception:  # what shows the state must never stop the firmware
                log.exception("twin: a state listener failed")

    def set_rs485_device(self, device: str) -> None:
        """RS485 Bus Device Connected Configuration (004 §4.2): ``none`` (Not Set),
        ``meter`` (Energy Meter) or ``ct`` (CT/Clamp, = c_CTClamp true)."""
        self.rs485_meter = device == "meter"
        ct = "true" if device == "ct" else "false"
        if self.nvm.config.str("c_CTClamp") != ct:
            self.nvm.config.set_local("c_CTClamp", ct)

    def rs485_device(self) -> str:
        """What the charger expects on RS-485 channel 1: "ct" when c_CTClamp is true,
        else "meter" when a MID meter is set up on the charger, else "none" (profile
        rs485 note)."""
        if self.nvm.config.bool("c_CTClamp"):
            return "ct"
        return "meter" if self.rs485_meter else "none"

    # -- the board as the firmware sees it (board.Board) -----------------------------------
    def sensor_temperature_c(self) -> float:
        return self.temperature_c

    def cover_open(self) -> bool:
        return self.tamper_open

    def board_faults(self) -> set[str]:
        return self.board_conditions

    def ct_limit_a(self) -> float | None:
        """CT clamp vs main fuse, or external meter vs contracted power (003 §10)."""
        return installation_limit_a(self.profile, self.rs485, self.fw)

    def external_meter(self) -> MeterData | None:
        return metering_meter(self.profile, self.rs485)

    def external_meter_missing(self) -> bool:
        return self.rs485.meter_missing if self.rs485 is not None else False

    def external_ct_missing(self) -> bool:
        return self.rs485.ct_missing if self.rs485 is not None else False

    def _start_rs485(self, fw: Firmware) -> None:
        settings = self.profile.rs485
        if self.rs485_port is None or settings is None:
            return
        phases = self.variant.phases
        master = ModbusMaster(port=self.rs485_port, clock=self.clock, settings=settings,
                              phases=phases, device=self.rs485_device, on_update=fw.kick)
        self.rs485 = master
        self._rs485_task = asyncio.get_running_loop().create_task(master.run())

    def rs485_task_state(self) -> str:
        """running / done / failed:<exception> — a dead poller leaves the bench deaf."""
        task = getattr(self, "_rs485_task", None)
        if task is None:
            return "none"
        if not task.done():
            return "running"
        if task.cancelled():
            return "cancelled"
        exc = task.exception()
        return f"failed:{type(exc).__name__}" if exc is not None else "done"

    async def _run(self, fw: Firmware) -> None:
        await self.clock.asleep(BOOT_DELAY_S)
        await fw.run()

    async def power_off(self) -> None:
        if not self.powered:
            return
        self.powered = False
        if self.fw is not None:
            self.fw.link.abort()
        # The relay coil loses its drive with the board: the contactor drops out.
        def drop_out(c: Circuit) -> None:
            c.contactor_cmd, c.contactor_pending = False, None

        self.circuit.update(drop_out)
        if "locker_configuration" in self.profile.web_client and \
                self.nvm.unlock_on_session_end is not False:
            # 004 §4.2: with Unlock Connector On Charging Session End enabled "the
            # locker automatically disengages if the charger loses power".
            self.actuator.locked = False
        self._evaluated()  # the lights go dark with the board
        # Take both tasks before the first await: the supply follower may power the
        # board on again meanwhile, and its new tasks are not ours to cancel.
        rs485, self._rs485_task = self._rs485_task, None
        task, self._task = self._task, None
        for t in (rs485, task):
            if t is not None:
                t.cancel()
        for t in (rs485, task):
            if t is not None:
                with contextlib.suppress(BaseException):
                    await t
        if self.fw is not None:
            # Volatile messages die with the RAM; transaction messages stay in NVM.
            keep = [m for m in self.nvm.outbox if m.persistent]
            self.nvm.outbox.clear()
            self.nvm.outbox.extend(keep)

    async def reset(self, kind: str, stop_reason: str | None = None,
                    cause: str | None = None) -> None:
        """Soft/Hard reset (§5.14): stop the transaction with the reason, then reboot.
        ``stop_reason``: a local reboot (the web client's RESTART) stops it as "Reboot"."""
        fw = self.fw
        if fw is None:
            return
        reason = stop_reason or ("SoftReset" if kind == "Soft" else "HardReset")
        if fw.tx is not None:
            fw.stop_transaction(reason)
            # Give the StopTransaction its chance to go out before the board goes down.
            for _ in range(40):
                if not any(m.action == "StopTransaction" for m in self.nvm.outbox):
                    break
                await self.clock.asleep(0.25)
        # The reason reported at the next boot (profile reset_reasons[].after).
        self.nvm.reset_reason = self.profile.reset_reason_after(
            cause or ("ocpp_soft_reset" if kind == "Soft" else "ocpp_hard_reset"))
        self.nvm.pending_stop_reason = reason
        kept = fw.kept_through_reset()  # trips not remotely reclosed (003 §5)
        await fw.link.close()
        await self.power_off()
        await self.clock.asleep(RESET_OFF_S.get(kind, 1.0))
        await self.power_on()
        if self.fw is not None:
            self.fw.active |= kept

    # -- firmware management ------------------------------------------------------------
    async def update_firmware(self, location: str, retrieve: datetime | None) -> None:
        fw = self.fw
        assert fw is not None
        if retrieve is not None:
            wait = (retrieve - self.clock.utcnow()).total_seconds()
            await self.clock.asleep(wait)

        status = fw.firmware_status_is
        status("Downloading")
        try:
            image = await asyncio.to_thread(http_get, location,
                                            max(1.0, self.clock.wall(30)))
        except Exception:
            status("DownloadFailed")
            return
        status("Downloaded")
        await self.clock.asleep(1)
        status("Installing")
        await self.clock.asleep(2)
        image_spec = self.profile.firmware_image  # None: the profile knows no image format
        header = image_spec.header.encode() if image_spec is not None else None
        if header is None or not image.startswith(header):
            status("InstallationFailed")
            return
        version = image[len(header):].split(b"\n", 1)[0].decode().strip()
        status("Installed")
        await self.clock.asleep(1)
        self.nvm.firmware_version = version
        self.nvm.reset_reason = self.profile.reset_reason_after("firmware_update")
        if fw.tx is not None:
            fw.stop_transaction("Reboot")
        await fw.link.close()
        await self.power_off()
        await self.clock.asleep(RESET_OFF_S["Soft"])
        await self.power_on()

    async def upload_diagnostics(self, location: str, name: str) -> None:
        fw = self.fw
        assert fw is not None

        status = fw.diagnostics_status_is
        status("Uploading")
        body = (f"serial={self.serial}\nfirmware={self.nvm.firmware_version}\n"
                f"rtm=0x{fw.rtm:04X}\n").encode()
        url = location.rstrip("/") + "/" + name
        try:
            await asyncio.to_thread(http_put, url, body,
                                    max(1.0, self.clock.wall(30)))
        except Exception:
            status("UploadFailed")
            return
        status("Uploaded")


def _firmware_ended(task: asyncio.Task[None]) -> None:
    """A firmware that dies (a profile table it cannot use) says so at once: otherwise
    the twin just stops answering and the bench looks hung."""
    if not task.cancelled() and task.exception() is not None:
        log.error("twin: the charger firmware stopped", exc_info=task.exception())
