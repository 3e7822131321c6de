"""Assembling a rig from its config: clock, mock CSMS, instruments, and — on the
virtual bench — the twin behind the same transports."""

from __future__ import annotations

import contextlib
import math
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evrig.drivers import api
from evrig.drivers.camera import PanelObserver, open_panel
from evrig.drivers.camera.panel_views import PanelDisplay, PanelIndicators, PanelLight
from evrig.drivers.charger.charger import Charger
from evrig.drivers.charger.console import ServiceConsole
from evrig.drivers.charger.web_client import WebClient
from evrig.drivers.csms.file_server import FileServer
from evrig.drivers.csms.server import MockCsms
from evrig.drivers.ev.cp_sense import CpSense, RpiCpSense, SimCpSense
from evrig.drivers.ev.emulator import EvEmulator
from evrig.drivers.ev.gpio import Gpio, RpiGpio, SimGpio
from evrig.drivers.ev.outlet_sense import OutletSense, RpiOutletSense, SimOutletSense
from evrig.drivers.ev.pp_resistor import Ad5272PpResistor, PpResistor, SimPpResistor
from evrig.drivers.faults import FaultBoard
from evrig.drivers.led import LedObserver, open_led
from evrig.drivers.meter.emulator import MeterEmulator
from evrig.rig.bench_clock import BenchClock
from evrig.rig.clock import Clock
from evrig.rig.errors import RigError, RigFileError
from evrig.rig.loop import LoopThread
from evrig.rig.rig_files import profile_of

# The defect catalogue of the virtual bench, for `rig selftest` (the application reaches
# sim only through this root: tests/test_layers.py).
from evrig.sim.defects.catalogue import FAMILY_BENCHES as FAMILY_BENCHES
from evrig.sim.defects.catalogue import FAMILY_PROFILES as FAMILY_PROFILES
from evrig.sim.defects.catalogue import Defect as Defect
from evrig.sim.defects.catalogue import load_catalogue as load_catalogue


def _csms_ssl(config: Any) -> ssl.SSLContext | None:
    tls = config.csms.tls
    if tls is None:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(config.resolve(tls.cert), config.resolve(tls.key))
    except (OSError, ssl.SSLError) as exc:
        raise RigError(f"{config.path}: csms.tls: cannot load certificate/key ({exc})") from None
    return ctx


def _password(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise RigError(f"csms.basic_auth_password_env: environment variable {env_name} is not set")
    return value


CONSOLE_TIMEOUT_S = 2.0  # a charger's debug UART answers a line at once
# What the virtual bench's transports may take to answer, in wall seconds: they are
# served by the bench's own threads, which a busy host can hold back for a while; the
# bound still names the instrument instead of hanging (the real rig keeps its own).
VIRTUAL_IO_TIMEOUT_S = 10.0


def file_server() -> FileServer:
    """The backend's HTTP file server, started (firmware images, diagnostics uploads):
    a part of the mock CSMS a test starts when it needs one."""
    return FileServer().start()


class Rig:
    """Everything a test touches. Build it with :meth:`open`, end it with :meth:`close`."""

    def __init__(self, config: Any, *, power_on: bool = True) -> None:
        """``power_on``: switch the charger's mains on once built (False: leave the unit
        dark for a first test that powers it up itself, the EOL's)."""
        self.config = config
        self._power_on = power_on
        self.profile = profile_of(config)
        self.variant = self.profile.variant(config.variant)
        # The virtual bench produces its own spec time; a real rig runs on the wall clock.
        self.clock: Clock = BenchClock(config.sim.speed) if config.virtual else Clock(1.0)
        self.loop = LoopThread("rig", self.clock)
        # The thread that builds the rig runs the tests: spec time waits while it works.
        self.clock.attach_thread()
        self.bench: Any = None
        # Instruments as the test author's API types them (drivers/api.py); None where
        # the rig file does not configure one.
        self.ac_source: api.AcSource | None = None
        self.ac_load: api.AcLoad | None = None
        self.meter: MeterEmulator | None = None
        self.web: WebClient | None = None  # the charger's web client where configured
        # The main light: a colour sensor over the ring (instruments.led), or the
        # front-panel camera's view of it (instruments.camera: the EV PLUS belt).
        self.led: api.Led | None = None
        self._led_sensor: LedObserver | None = None
        self.panel: PanelObserver | None = None  # the front-panel camera, if any
        self.display: PanelDisplay | None = None
        self.indicators: PanelIndicators | None = None
        self.mains_on = True
        # Spec time the rig last switched the mains off; -inf: not fed since before the run
        # (a power-up that waits out an off time counts it from here).
        self.mains_off_at = -math.inf
        self._closed = False
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        cfg = self.config
        password = _password(cfg.csms.basic_auth_password_env)
        server_ssl = _csms_ssl(cfg)
        self.csms = MockCsms(
            loop=self.loop, clock=self.clock, charge_point_id=cfg.charger.charge_point_id,
            host=cfg.csms.host, port=cfg.csms.port, path=cfg.csms.path,
            id_tags=dict(cfg.csms.id_tags), heartbeat_interval=cfg.csms.heartbeat_interval,
            basic_auth_password=password, ssl_context=server_ssl,
            ping_interval_s=cfg.csms.ping_interval_s,
        ).start()
        gpio: Gpio
        if cfg.virtual:
            from evrig.sim.bench import VirtualBench  # the virtual bench only where configured

            client_ssl = None
            if server_ssl is not None:
                # The twin trusts the rig's certificate as a commissioned charger would.
                ca = cfg.resolve(cfg.csms.tls.ca or cfg.csms.tls.cert)
                client_ssl = ssl.create_default_context(cafile=str(ca))
                client_ssl.check_hostname = False
            self.bench = VirtualBench(config=cfg, profile=self.profile, clock=self.clock,
                                      csms_url=self.csms.url, csms_password=password,
                                      ssl_context=client_ssl)
            gpio = SimGpio(self.bench.pins)
            console_port = self.bench.console.port
            sense: CpSense = SimCpSense(self.bench.cp_board)
            pp: PpResistor | None = SimPpResistor(self.bench.pp_resistor)
            program: Callable[[str, float], None] | None = self.bench.set_fault_level
            outlet: OutletSense | None = SimOutletSense(self.bench.circuit)
        else:
            gpio = RpiGpio()
            console = cfg.charger.console
            console_port = console.port if console else None
            sense = RpiCpSense(cfg.instruments.ev.pins.cp_sense)
            pp = Ad5272PpResistor() if cfg.instruments.ev.pp_programmable else None
            program = None
            outlet_pin = cfg.instruments.ev.pins.outlet_sense
            outlet = None if outlet_pin is None else RpiOutletSense(outlet_pin, self.clock.now)
        self._sense = sense
        self._outlet = outlet
        self.ac_source, self.ac_load = self._scpi_instruments()
        self.meter = self._meter()
        self._led_sensor = open_led(cfg, self.clock, self.profile,
                                    self.bench.i2c if self.bench is not None else None)
        self.led = self._led_sensor
        self._panel_camera()
        mains = self._mains_switch(gpio)
        self.ev = EvEmulator(gpio, cfg.instruments.ev.pins, self.clock, sense=sense,
                             pp_resistor=pp, outlet=outlet)
        self.web = self._web_client()
        console_s = VIRTUAL_IO_TIMEOUT_S if cfg.virtual else CONSOLE_TIMEOUT_S
        self.charger = (Charger(ServiceConsole(console_port, timeout_s=console_s), self.clock,
                                mains, web=self.web)
                        if console_port else None)
        self.faults = FaultBoard(gpio, cfg.instruments.faults, programmable=program,
                                 console=self.charger.console if self.charger else None)
        if mains is not None and self._power_on:
            mains(True)
        elif mains is not None and self.ac_source is not None \
                and not self.ac_source.output_state():
            self.mains_on = False  # dark since before this run: no off time to wait for
        elif mains is not None:
            mains(False)  # fed until now (the mains relay is normally closed)

    def _panel_camera(self) -> None:
        """The front-panel camera (instruments.camera) and what reads through it: the
        display, the indicators and — where no colour sensor watches it — the main
        light (the EV PLUS belt), if the camera's calibration frames it."""
        bench_camera = self.bench.panel_camera if self.bench is not None else None
        self.panel = open_panel(self.config, self.clock, self.profile,
                                bench_camera.url if bench_camera is not None else None)
        if self.panel is None:
            return
        self.display = PanelDisplay(self.panel)
        self.indicators = PanelIndicators(self.panel, self.profile.lights)
        main = next(name for name, light in self.profile.lights.items()
                    if light.kind != "indicator")
        if self.led is None and main in self.panel.lights.lights:
            self.led = PanelLight(self.panel, main, self.profile.led)

    def _scpi_instruments(self) -> tuple[api.AcSource | None, api.AcLoad | None]:
        """AC source and AC load (None where not configured); on the virtual bench at the
        resource string of the bench's SCPI servers."""
        from evrig.drivers.scpi import AcLoad, AcSource, ModelError, load_model

        built: list[AcSource | AcLoad | None] = []
        for name, kind in (("ac_source", AcSource), ("ac_load", AcLoad)):
            cfg = getattr(self.config.instruments, name)
            if cfg is None:
                built.append(None)
                continue
            try:
                model = load_model(cfg.model)
                resource = self.bench.resources[name] if cfg.resource == "sim" else cfg.resource
                timeout = (max(cfg.timeout_s, VIRTUAL_IO_TIMEOUT_S) if cfg.resource == "sim"
                           else cfg.timeout_s)
                built.append(kind(model, resource, timeout, clock=self.clock.now))
            except (ModelError, ValueError) as exc:
                raise RigFileError(self.config.path or "<rig>", f"instruments.{name}.model",
                                   str(exc)) from None
        source, load = built
        assert not isinstance(source, AcLoad) and not isinstance(load, AcSource)
        return source, load

    def _meter(self) -> MeterEmulator | None:
        """The fake CT clamp / MID meter (a Modbus RTU slave) on instruments.meter.port;
        'sim' = the rig's end of the virtual bench's RS-485 pty pair."""
        cfg = self.config.instruments.meter
        if cfg is None:
            return None
        if cfg.port == "sim" and self.bench is None:
            raise RigFileError(self.config.path or "<rig>", "instruments.meter.port",
                               "'sim' needs the virtual bench (bench: virtual); "
                               "give the RS-485 adapter's port, e.g. /dev/ttyUSB0")
        port = self.bench.meter_port if cfg.port == "sim" else cfg.port
        base = Path(self.config.path).parent if self.config.path else None
        return MeterEmulator.from_config(cfg, port=port, map_base=base,
                                         clock=self.clock).start()

    def _web_client(self) -> WebClient | None:
        """The charger's web client (charger.web) — on the virtual bench the twin's, at
        the URL the bench serves it on ('sim'). Its admin PIN must be in the environment
        variable the rig file names (the virtual bench exports a session PIN there)."""
        web = self.config.charger.web
        if web is None:
            return None
        url = web.url
        if url == "sim":
            if self.bench is None or self.bench.web_url is None:
                raise RigFileError(self.config.path or "<rig>", "charger.web.url",
                                   "'sim' needs the virtual bench (bench: virtual)")
            url = self.bench.web_url
        if not os.environ.get(web.admin_pin_env):
            raise RigError(f"charger.web.admin_pin_env: environment variable "
                           f"{web.admin_pin_env} is not set (export the charger's admin PIN)")
        # The EV PLUS's web app (003 §8.1.2: its profile has the Charger state page)
        # has a driver of its own on the same HTTP session.
        from evrig.drivers.charger.web_evplus import WebEvPlus

        kind = WebEvPlus if "charger_state" in self.profile.web_client else WebClient
        return kind(url, self.profile.web_client, admin_pin_env=web.admin_pin_env,
                    verify_tls=web.verify_tls,
                    timeout_s=(max(web.timeout_s, VIRTUAL_IO_TIMEOUT_S)
                               if web.url == "sim" else web.timeout_s))

    def supply_nominal(self) -> None:
        """The AC source at the charger's nominal voltage and frequency, output on."""
        if self.ac_source is None:
            return
        ratings = self.profile.ratings
        self.ac_source.set_voltage(float(ratings["nominal_voltage_v"].value))
        if "frequency_hz" in ratings:
            self.ac_source.set_frequency(float(ratings["frequency_hz"].value))
        self.ac_source.output(True)
        self._switched(True)

    def _switched(self, on: bool) -> None:
        if self.mains_on and not on:
            self.mains_off_at = self.clock.now()
        self.mains_on = on

    def _mains_switch(self, gpio: Gpio) -> Callable[[bool], None] | None:
        """The charger's mains: the AC source's output where there is one (design §3),
        else the fault board's mains relay (normally closed: energised = charger off)."""
        faults = self.config.instruments.faults
        pin = faults.pins.get("mains_off") if faults is not None else None
        if pin is not None:
            gpio.setup_output(pin)
        source = self.ac_source
        if source is not None:
            if pin is not None:
                gpio.write(pin, False)  # relay closed: the source alone switches the charger

            def output(on: bool) -> None:
                source.output(on)
                self._switched(on)

            return output
        if pin is None:
            return None

        def mains(on: bool) -> None:
            gpio.write(pin, not on)
            self._switched(on)

        return mains

    def safe_state(self, *, keep_mains: bool = False) -> None:
        """Leave nothing live: EV in state A with its diode, no cable; fault relays
        released; AC load off; AC source output off (unless ``keep_mains``: the bench
        keeper between tests). One failing instrument does not stop the others. (The mains
        relay is not a hazard: it only ever removes power.)"""
        for name in ("ev", "faults", "ac_load", "meter", "ac_source"):
            part = getattr(self, name, None)
            if part is None or (keep_mains and name == "ac_source"):
                continue
            with contextlib.suppress(Exception):
                part.safe_state()
                if name == "ac_source":
                    self._switched(False)

    def safe_report(self) -> str:
        """What the instruments themselves say after :meth:`safe_state` — read back, not
        assumed, so a log shows that 230 V really went off."""
        parts = []
        checks = (("ac_source", "output", lambda i: i.output_state()),
                  ("ac_load", "input", lambda i: i.enabled()))
        for name, what, read in checks:
            inst = getattr(self, name, None)
            if inst is None:
                continue
            try:
                parts.append(f"{name} {what} {'ON' if read(inst) else 'off'}")
            except Exception as exc:  # the report must not hide the state of the others
                parts.append(f"{name} {what} unknown ({exc})")
        ev = getattr(self, "ev", None)
        if ev is not None:
            diode = "present" if ev.status.diode else "SHORTED"
            parts.append(f"EV state {ev.status.state}, diode {diode}")
        if not parts:  # closed before any instrument was built: nothing was live
            return "rig safe state: no instrument was opened"
        return "rig safe state: " + ", ".join(parts)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.safe_state()
        with contextlib.suppress(Exception):
            print(self.safe_report(), file=sys.__stderr__, flush=True)
        charger: Charger | None = getattr(self, "charger", None)  # None: closed mid-init
        if charger is not None:
            charger.console.close()
        for sense in (getattr(self, "_sense", None), getattr(self, "_outlet", None)):
            if sense is not None:
                sense.close()
        for name in ("ac_source", "ac_load"):
            if getattr(self, name, None) is not None:
                getattr(self, name).close()
        meter, led = getattr(self, "meter", None), getattr(self, "_led_sensor", None)
        if meter is not None:
            with contextlib.suppress(Exception):
                meter.stop()
        if led is not None:
            led.close()
        panel: PanelObserver | None = getattr(self, "panel", None)
        if panel is not None:
            panel.camera.close()
        if self.bench is not None:
            self.bench.close()
        if getattr(self, "csms", None) is not None:
            self.csms.stop()
        self.loop.stop()
        self.clock.close()
