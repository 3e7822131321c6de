"""Assembling a rig from its config: clock, mock CSMS, instruments, and — on the
virtual bench — the twin behind the same transports."""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.charger.charger import Charger
from drivers.charger.console import ServiceConsole
from drivers.csms.server import MockCsms
from drivers.ev.emulator import EvEmulator
from drivers.ev.gpio import Gpio, RpiGpio, SimGpio
from rig.clock import Clock
from rig.errors import RigError
from rig.loop import LoopThread
from rig.profile import Profile, load_profile


def _profile_for(config: Any) -> Profile:
    name = config.profile
    if name.endswith((".yaml", ".yml")) and config.path:
        candidate = Path(config.path).parent / name
        if candidate.exists():
            name = str(candidate)
    return load_profile(name)


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


class Rig:
    """Everything a test touches. Build it with :meth:`open`, end it with :meth:`close`."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.profile = _profile_for(config)
        self.variant = self.profile.variant(config.variant)
        self.clock = Clock(config.sim.speed if config.virtual else 1.0)
        self.loop = LoopThread("rig")
        self.bench: Any = None
        self.mains_on = True
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
        ).start()
        gpio: Gpio
        if cfg.virtual:
            from sim.bench import VirtualBench  # the virtual bench only where configured

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
        else:
            gpio = RpiGpio()
            console = cfg.charger.console
            console_port = console.port if console else None
        mains = self._mains_switch(gpio)
        self.ev = EvEmulator(gpio, cfg.instruments.ev.pins, self.clock)
        self.charger = (Charger(ServiceConsole(console_port), self.clock, mains)
                        if console_port else None)
        if mains is not None:
            mains(True)

    def _mains_switch(self, gpio: Gpio) -> Callable[[bool], None] | None:
        """The fault board's mains relay (normally closed: energised = charger off)."""
        faults = self.config.instruments.faults
        pin = faults.pins.get("mains_off") if faults is not None else None
        if pin is None:
            return None
        gpio.setup_output(pin)

        def mains(on: bool) -> None:
            gpio.write(pin, not on)
            self.mains_on = on

        return mains

    def safe_state(self) -> None:
        """Leave nothing live: EV in state A with its diode, no cable. (The mains relay
        is not a hazard: it only ever removes power.)"""
        ev = getattr(self, "ev", None)
        if ev is not None:
            with contextlib.suppress(Exception):
                ev.safe_state()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.safe_state()
        if getattr(self, "charger", None) is not None:
            self.charger.console.close()
        if self.bench is not None:
            self.bench.close()
        if getattr(self, "csms", None) is not None:
            self.csms.stop()
        self.loop.stop()
