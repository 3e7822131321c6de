"""What one evaluation of the twin sees is one instant, and what it shows comes before
what it announces (issue: a false 0x10010 under load; a light behind its
StatusNotification)."""

from __future__ import annotations

from typing import Any

from evrig.rig.clock import Clock
from evrig.rig.profile import load_profile
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.firmware import Firmware, Nvm
from evrig.sim.charger.smart_charging import SmartCharging
from evrig.sim.electrical import Circuit
from tests.twin_doubles import RecordingLink

PROFILE = load_profile("evnet-7kw")


class SteppingClock:
    """A clock that moves 10 ms each time it is read: every read is another instant."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.01
        return self.t


def test_one_snapshot_sees_one_instant_of_a_switching_contactor():
    """The relay is due to close at t = 0.05 while the reads go on: the command and
    both poles come from the same instant, never 'commanded closed, contacts open'."""
    circuit = Circuit(1)
    clock = SteppingClock()
    circuit.now = clock
    circuit.command_contactor(False, (0.05, True), now=0.0)
    for _ in range(10):
        snap = circuit.at()
        assert snap.relay_cmd == snap.live_closed == snap.neutral_closed
        assert snap.outlet_live == snap.relay_cmd


def test_outlet_edges_are_stamped_when_the_contacts_move():
    circuit = Circuit(1)
    circuit.now = lambda: 3.0
    circuit.command_contactor(True, None, now=2.5)
    circuit.command_contactor(False, None, now=4.25)
    assert list(circuit.outlet_edges) == [(2.5, True), (4.25, False)]


class LoggingLink(RecordingLink):
    def __init__(self, log: list[tuple[str, str]]) -> None:
        super().__init__()
        self.log = log

    def enqueue(self, msg: Any) -> None:
        super().enqueue(msg)
        action, payload = self.sent[-1]
        if action == "StatusNotification" and payload["connectorId"] == 1:
            self.log.append(("announced", payload["status"]))


def test_the_light_shows_a_status_before_its_status_notification():
    """Each StatusNotification is queued after the light took the status it announces."""
    relays: dict[str, bool] = {}
    pp: list[int | None] = [None]
    log: list[tuple[str, str]] = []
    link = LoggingLink(log)
    nvm = Nvm(config=ConfigStore(PROFILE), auth=AuthStore(), smart=SmartCharging(230, 1),
              firmware_version="t")
    fw: Any = None

    def light() -> None:
        log.append(("shown", fw.connector_status()))

    fw = Firmware(profile=PROFILE, variant=PROFILE.variant("S"), clock=Clock(1000),
                  relays=lambda: dict(relays), pp_ohms=lambda: pp[0],
                  link_factory=lambda f: link, nvm=nvm, serial="T1",  # type: ignore[arg-type,return-value]
                  on_evaluated=light)
    fw.boot_status = "Accepted"
    fw.evaluate()
    pp[0], relays["r_b"] = 220, True
    fw.evaluate()
    announced = [i for i, (kind, _) in enumerate(log) if kind == "announced"]
    assert [log[i][1] for i in announced] == ["Available", "Preparing"]
    for i in announced:
        last_shown = [status for kind, status in log[:i] if kind == "shown"][-1:]
        assert last_shown == [log[i][1]], log
