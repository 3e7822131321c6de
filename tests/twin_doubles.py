"""Test doubles for driving the twin's firmware without a network."""

from __future__ import annotations

from collections import deque
from typing import Any

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile, load_profile
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.board import BareBoard
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.firmware import Authorization, Firmware, Nvm
from evrig.sim.charger.protection import CONTACTOR_CLOSE_S, Actuator
from evrig.sim.charger.smart_charging import SmartCharging
from evrig.sim.electrical import Circuit

EVNET = load_profile("evnet-7kw")


class RecordingLink:
    """Stands in for the OCPP link: online, records what the firmware sends, and
    answers StartTransaction with transactionId 7, Accepted."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.outbox: deque[Any] = deque()
        self.online = True

    def enqueue(self, msg: Any) -> None:
        self.sent.append((msg.action, msg.build()))
        if msg.on_result is not None and msg.action == "StartTransaction":
            msg.on_result({"transactionId": 7, "idTagInfo": {"status": "Accepted"}})


class FakeClock(Clock):
    """Spec time the test moves by hand."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self.t = 0.0

    def now(self) -> float:
        return self.t


class Bench:
    """A Firmware with its Circuit, EV relays, PP and a clock the test moves."""

    def __init__(self, variant: str = "S", profile: Profile = EVNET) -> None:
        self.relays: dict[str, bool] = {}
        self.pp: list[int | None] = [None]
        self.link = RecordingLink()
        self.clock = FakeClock()
        self.circuit = Circuit(1)
        self.board = BareBoard(Actuator(profile.protections.actuator.attempts))
        nvm = Nvm(config=ConfigStore(profile), auth=AuthStore(), smart=SmartCharging(230, 1),
                  firmware_version="t")
        self.fw = Firmware(profile=profile, variant=profile.variant(variant), clock=self.clock,
                           relays=lambda: dict(self.relays), pp_ohms=lambda: self.pp[0],
                           link_factory=lambda f: self.link,  # type: ignore[arg-type,return-value]
                           nvm=nvm, serial="T1", circuit=self.circuit, board=self.board)
        self.fw.boot_status = "Accepted"
        self.board.temperature_c = 25.0

    def step(self, dt: float = 0.0) -> int:
        self.clock.t += dt
        self.fw.evaluate()
        return self.fw.rtm

    def run(self, seconds: float, tick: float = 0.25) -> int:
        end = self.clock.t + seconds
        while self.clock.t < end - 1e-9:
            self.step(min(tick, end - self.clock.t))
        return self.fw.rtm

    def plug(self, pp: int | None = 220) -> None:
        self.pp[0] = pp
        self.relays.update(r_b=True)
        self.step()

    def authorize(self) -> None:
        self.fw.authorization = Authorization("TAG", None, deadline=self.clock.t + 90)
        self.step()

    def charge(self, amps: float = 0.0) -> None:
        """Plug, authorize, EV to C, wait for the contactor, EV draws ``amps``."""
        self.plug()
        self.authorize()
        self.relays.update(r_c=True)
        self.run(CONTACTOR_CLOSE_S + 0.25)
        assert self.fw.contactor and self.circuit.contactor_closed
        self.circuit.load_enabled = True
        self.circuit.set_load(amps)

    def unplug(self) -> int:
        """Unplug and stay unplugged past the firmware's debounce of state A."""
        self.relays.clear()
        self.pp[0] = None
        self.step()
        return self.step(0.25)

    def set_fault(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self.circuit.faults, key, value)
