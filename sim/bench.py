"""The virtual bench: the charger twin and every virtual instrument, on one loop.

It stands where the real bench's hardware stands: the rig's drivers reach it
only through its transports (pin bank, pty console, the websocket the twin
opens to the mock CSMS). It runs on its own loop thread, as a separate device.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from evrig.rig.clock import Clock
from evrig.rig.loop import LoopThread
from evrig.rig.profile import Profile
from evrig.sim.charger.console import ConsolePty
from evrig.sim.charger.led_ring import LedRing
from evrig.sim.charger.protection import AMBIENT_C
from evrig.sim.charger.twin import ChargerTwin
from evrig.sim.charger.web_client import WebClientServer, session_pin
from evrig.sim.defects.injection import inject
from evrig.sim.electrical import Circuit
from evrig.sim.ev_board import VirtualCpBoard, VirtualPpResistor, twin_pilot
from evrig.sim.external_devices import external_devices_commands, external_devices_status
from evrig.sim.instruments.panel_camera import PanelCamera
from evrig.sim.instruments.tcs34725 import virtual_i2c
from evrig.sim.pins import PinBank
from evrig.sim.pty_pair import PtyPair

log = logging.getLogger(__name__)
# Fault wire → (Circuit.faults attribute, service-console command).
RELAY_CONTACT_FAULTS: dict[str, tuple[str, str]] = {
    "relay_weld": ("relay_welded", "weld"),
    "relay_stuck_open": ("relay_stuck_open", "stuckopen"),
    "neutral_weld": ("neutral_welded", "nweld"),
    "neutral_stuck_open": ("neutral_stuck_open", "nstuckopen"),
}
# Service-console command → the fault condition it stands for (001 VendorID2): the
# PCM module missing (0x0060), the RTM–host link lost (0x0400), the service cover open
# (0x200000).
BOARD_CONDITIONS: dict[str, str] = {
    "pcmfail": "module_missing",
    "hostfail": "host_link_lost",
    "tamper2": "tamper_panel",
}
EV_RELAYS = ("r_b", "r_c", "r_d", "cp_short", "diode_short")
PP_PINS = {"pp_1k5": 1500, "pp_680": 680, "pp_220": 220, "pp_100": 100}
# What each fixed-value fault relay puts on the circuit until a test programs another
# value (the virtual board's sources are programmable): mA of leakage, V N–PE.
FAULT_LEVELS = {"rcd_ac": 30.0, "rcd_ac_2": 0.0, "rcd_dc": 6.0, "rcd_dc_2": 0.0,
                "n_pe_voltage": 20.0}


class VirtualBench:
    def __init__(self, *, config: Any, profile: Profile, clock: Clock,
                 csms_url: str, csms_password: str | None = None, ssl_context: Any = None) -> None:
        self.config = config
        self.clock = clock
        # Injected defects (rig selftest): the twin and its parts get the defective
        # copy of the profile; the rig's own (what the testcases expect) is untouched.
        self.defects, profile = inject(config.sim.defects, profile, rig_file=config.path)
        self.loop = LoopThread("virtual-bench", clock)
        self.pins = PinBank()
        ev_pins = config.instruments.ev.pins
        self._relay_pins = {name: getattr(ev_pins, name) for name in EV_RELAYS}
        self._pp_pins = {getattr(ev_pins, name): ohms for name, ohms in PP_PINS.items()}
        self.csms_url = csms_url
        self.circuit = Circuit(profile.variant(config.variant).phases)
        # RS-485 channel 1: a null-modem pty pair. The charger's port (ports[1]) is
        # always there, as on the board; the rig's meter emulator opens ports[0]
        # (``meter_port``) when instruments.meter.port is 'sim' — else nothing answers.
        self.rs485 = PtyPair("virtual-rs485", loop=self.loop.loop)
        self.meter_port = self.rs485.ports[0]
        self.twin = ChargerTwin(
            profile=profile,
            variant=config.variant,
            clock=clock,
            relays=self._relays,
            pp_ohms=self._pp_ohms,
            csms_url=lambda: self.csms_url,
            charge_point_id=config.charger.charge_point_id,
            password=lambda: csms_password,
            ssl_context=ssl_context,
            circuit=self.circuit,
            rs485_port=self.rs485.ports[1],
            defects=self.defects,
        )
        self.pp_resistor = VirtualPpResistor(changed=lambda: self.loop.call_soon(self._kick))
        self.cp_board = VirtualCpBoard(clock, twin_pilot(self.twin),
                                       seed=config.sim.seed)
        self.console = ConsolePty(self._console_commands())
        self.loop.run(self._attach(), timeout=5)
        self.pins.subscribe(lambda pin, level: self.loop.call_soon(self._kick))
        faults = config.instruments.faults
        self._mains_pin = faults.pins.get("mains_off") if faults is not None else None
        self._fault_pins = {pin: wire for wire, pin in (faults.pins.items() if faults else ())
                            if wire != "mains_off"}
        self.fault_levels = dict(FAULT_LEVELS)
        # Relay-contact faults set through the service console (no wire needed):
        # wire name → on/off, for `weld`, `stuckopen`, `nweld`, `nstuckopen`.
        self._console_faults: dict[str, bool] = dict.fromkeys(RELAY_CONTACT_FAULTS, False)
        self.pins.subscribe(self._on_pin)
        # A programmable AC source powers up with its output off (the rig switches it on);
        # on a bench without one the grid feeds the charger from the start.
        self.circuit.supply.on = config.instruments.ac_source is None
        self.circuit.subscribe(lambda: self.loop.call_soon(self._follow_supply))
        self.loop.run(self._follow_supply_async(), timeout=5)
        self.resources: dict[str, str] = {}  # instrument name -> VISA resource string
        self.scpi: list[Any] = []
        self.loop.run(self._start_scpi(), timeout=5)
        self.web: WebClientServer | None = None  # the twin's web client, if url: sim
        self.web_url: str | None = None
        self.loop.run(self._start_web(), timeout=5)
        # The charger's LED ring, and the TCS34725 taped over it on a virtual I2C bus.
        self.led_ring = LedRing(profile, clock, lambda: self.twin)
        self.twin.on_evaluated.append(self.led_ring.refresh)
        self.i2c = virtual_i2c(config, self.led_ring.rgb_at, clock)
        self.loop.run(self.led_ring.start(), timeout=5)
        # A camera on the front panel (instruments.camera.address: sim), for the
        # chargers read through one (EV PLUS: display, belt, indicators).
        self.panel_camera: PanelCamera | None = None
        camera = config.instruments.camera
        if camera is not None and camera.address == "sim":
            self.panel_camera = PanelCamera(profile, clock, lambda: self.twin)
            self.twin.on_evaluated.append(self.panel_camera.panel.refresh)
            self.loop.run(self.panel_camera.start(), timeout=5)

    async def _start_web(self) -> None:
        """The twin's web client on 127.0.0.1 when the rig file says charger.web.url:
        sim; its admin PIN lives in the process environment (session_pin)."""
        web = self.config.charger.web
        if web is None or web.url != "sim":
            return
        pin = session_pin(web.admin_pin_env)
        twin = self.twin
        # The EV PLUS has a web app of its own (003 §8.1.2) on the same machinery.
        from evrig.sim.charger.web_evplus import WebAppServer, serves

        server = WebAppServer if serves(twin.profile) else WebClientServer
        self.web = server(twin, lambda: pin,
                          restart=lambda: twin.reset("Soft", stop_reason="Reboot",
                                                     cause="web_restart"))
        await self.web.start()
        self.web_url = self.web.url
        log.info("charger web client (twin): %s/index.html — admin PIN in $%s",
                 self.web_url, web.admin_pin_env)

    async def _start_scpi(self) -> None:
        """A virtual SCPI instrument on 127.0.0.1 for each AC source/load whose resource
        is 'sim'; the rig reaches it at ``self.resources[name]`` through pyvisa."""
        from evrig.rig.tables.scpi_models import ModelError, load_model
        from evrig.sim.instruments import VirtualScpiInstrument

        for name in ("ac_source", "ac_load"):
            cfg = getattr(self.config.instruments, name)
            if cfg is None or cfg.resource != "sim":
                continue
            try:
                model = load_model(cfg.model)
            except ModelError:
                continue  # the rig reports it, naming the rig file and key
            server = VirtualScpiInstrument(model, self.circuit)
            port = await server.start()
            self.scpi.append(server)
            self.resources[name] = f"TCPIP0::127.0.0.1::{port}::SOCKET"

    async def _attach(self) -> None:
        self.console.attach(self.loop.loop)

    def _on_pin(self, pin: int, level: bool) -> None:
        # The mains relay on the fault board: energised = L and N open = charger off.
        if pin == self._mains_pin:
            self.circuit.update(lambda c: setattr(c, "mains_relay_closed", not level))
        wire = self._fault_pins.get(pin)
        if wire is not None:
            self._apply_faults(wire, level)

    def set_fault_level(self, wire: str, value: float) -> None:
        """Program the virtual fault board's source behind ``wire`` (mA or V)."""
        if wire not in self.fault_levels:
            raise ValueError(f"{wire} has no programmable source; one of {list(FAULT_LEVELS)}")
        self.fault_levels[wire] = float(value)
        self._apply_faults(wire, None)

    def _apply_faults(self, wire: str, level: bool | None) -> None:
        """The fault board's relays, as the circuit sees them."""
        closed = {w for p, w in self._fault_pins.items() if self.pins.read(p)}
        levels = self.fault_levels

        def apply(c: Circuit) -> None:
            f = c.faults
            f.leakage_ac_ma = sum(levels[w] for w in ("rcd_ac", "rcd_ac_2") if w in closed)
            f.leakage_dc_ma = sum(levels[w] for w in ("rcd_dc", "rcd_dc_2") if w in closed)
            f.pe_open = "pe_open" in closed
            f.ln_swapped = "swap_ln" in closed
            f.n_pe_v = levels["n_pe_voltage"] if "n_pe_voltage" in closed else 0.0
            for wire, (attr, _) in RELAY_CONTACT_FAULTS.items():
                setattr(f, attr, wire in closed or self._console_faults[wire])

        self.circuit.update(apply)
        # Wires into the charger's own inputs: the lock actuator and the tamper switch.
        if wire == "lock_jam" and level is not None:
            self.twin.lock_jammed = level
        elif wire == "tamper" and level is not None:
            tamper = self.console.commands.get("tamper")
            if tamper is not None:
                self.loop.call_soon(lambda: tamper(["on" if level else "off"]))

    def _follow_supply(self) -> None:
        self.loop.loop.create_task(self._follow_supply_async())
        self._kick()

    async def _follow_supply_async(self) -> None:
        """The charger runs while its supply terminals carry voltage."""
        # supply_ok() sees every voltage, 0 V included: that is what releases the latch.
        supply_ok = self.twin.supply_ok(self.circuit.supply_v())
        board_on = self.circuit.powered and supply_ok
        if board_on and not self.twin.powered:
            await self.twin.power_on()
        elif not board_on and self.twin.powered:
            await self.twin.power_off()

    def _kick(self) -> None:
        if self.twin.fw is not None:
            self.twin.fw.kick()

    def _relays(self) -> dict[str, bool]:
        return {name: self.pins.read(pin) for name, pin in self._relay_pins.items()}

    def _pp_ohms(self) -> float | None:
        # Two PP relays at once would be a board fault; the lowest resistor wins.
        # The programmable resistor sits in parallel with the relays' resistors.
        closed: list[float] = [ohms for pin, ohms in self._pp_pins.items()
                               if self.pins.read(pin)]
        if self.pp_resistor.ohms is not None:
            closed.append(self.pp_resistor.ohms)
        return min(closed) if closed else None

    def _console_commands(self) -> dict[str, Any]:
        twin = self.twin

        def fw() -> Any:
            if twin.fw is None or not twin.powered:
                raise RuntimeError("charger is powered off")
            return twin.fw

        def tag(args: list[str]) -> str:
            if len(args) != 1:
                return "ERR usage: tag <idTag>"
            fw().present_tag(args[0])
            return "OK"

        def status(args: list[str]) -> str:
            f = fw()
            return (f"OK connector={f.connector_status()} boot={f.boot_status} backend="
                    f"{'online' if f.link.online else 'offline'} rtm=0x{f.rtm_seen:04X} "
                    f"limit={f.limit_reason} offered={f.offered_current():.1f} "
                    f"temp={twin.temperature_c:.1f} lock={f.lock_state()} "
                    f"{external_devices_status(twin)}")

        def clear(args: list[str]) -> str:
            fw().clear_faults()
            return "OK"

        return {
            "tag": tag,
            "status": status,
            "rtm": lambda a: f"OK 0x{fw().rtm_seen:04X}",  # the CPU's reading
            "serial": lambda a: f"OK {twin.serial}",
            "version": lambda a: f"OK {twin.nvm.firmware_version}",
            "lockjam": lambda a: self._set_lock_jam(a),
            **{command: self._contact_fault_command(wire)
               for wire, (_, command) in RELAY_CONTACT_FAULTS.items()},
            "temp": lambda a: self._set_temperature(a),
            "tamper": lambda a: self._set_flag("tamper_open", a),
            **{command: self._board_condition_command(command, name)
               for command, name in BOARD_CONDITIONS.items()},
            "calfail": lambda a: self._set_flag("calibration_unreadable", a),
            "clear": clear,
            **external_devices_commands(twin, self._kick),
        }

    def _set_lock_jam(self, args: list[str]) -> str:
        """``lockjam on|off`` or ``lockjam <n>``: the next n lock/unlock tries fail."""
        if args and args[0].isdigit():
            self.twin.actuator.jam(int(args[0]))
        else:
            self.twin.lock_jammed = bool(args and args[0] in ("1", "on", "true"))
        return "OK"

    def _set_temperature(self, args: list[str]) -> str:
        """``temp <celsius>`` overrides both sensors; ``temp off`` back to ambient."""
        if len(args) != 1:
            return "ERR usage: temp <celsius>|off"
        self.twin.temperature_c = AMBIENT_C if args[0] == "off" else float(args[0])
        self._kick()
        return "OK"

    def _set_flag(self, name: str, args: list[str]) -> str:
        """``tamper on|off`` (cover switch), ``calfail on|off`` (NV calibration
        unreadable — seen at the next boot, as on a real board)."""
        if len(args) != 1 or args[0] not in ("on", "off", "1", "0"):
            return "ERR usage: on|off"
        setattr(self.twin, name, args[0] in ("on", "1"))
        self._kick()
        return "OK"

    def _board_condition_command(self, command: str, condition: str) -> Any:
        """``<command> on|off``: a board-internal condition (001 VendorID2) on or off."""

        def run(args: list[str]) -> str:
            if len(args) != 1 or args[0] not in ("on", "off", "1", "0"):
                return f"ERR usage: {command} on|off"
            if args[0] in ("on", "1"):
                self.twin.board_conditions.add(condition)
            else:
                self.twin.board_conditions.discard(condition)
            self._kick()
            return "OK"

        return run

    def _contact_fault_command(self, wire: str) -> Any:
        """``<command> on|off``: a pole of the main relay welded or not pulling in
        (001 VendorID2 0x10000–0x80000)."""
        command = RELAY_CONTACT_FAULTS[wire][1]

        def run(args: list[str]) -> str:
            if len(args) != 1 or args[0] not in ("on", "off", "1", "0"):
                return f"ERR usage: {command} on|off"
            self._console_faults[wire] = args[0] in ("on", "1")
            self._apply_faults(wire, None)
            return "OK"

        return run

    def close(self) -> None:
        if self.loop.alive:
            with contextlib.suppress(TimeoutError, RuntimeError):
                self.loop.run(self.twin.power_off(), timeout=5)
        self.loop.run(self._detach(), timeout=5) if self.loop.alive else None
        self.loop.stop()

    async def _detach(self) -> None:
        if getattr(self, "led_ring", None) is not None:
            await self.led_ring.stop()
        camera: PanelCamera | None = getattr(self, "panel_camera", None)
        if camera is not None:
            await camera.stop()
        self.console.close()
        self.rs485.close()
        for server in getattr(self, "scpi", ()):
            await server.stop()
        web: WebClientServer | None = getattr(self, "web", None)  # None: closed mid-init
        if web is not None:
            await web.stop()
