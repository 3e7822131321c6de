"""The unit under test, as the rig sees it beyond OCPP: its service console and
its mains supply."""

from __future__ import annotations

from collections.abc import Callable

from drivers.charger.console import ServiceConsole
from rig.clock import Clock
from rig.errors import MissingWire


class Charger:
    def __init__(self, console: ServiceConsole, clock: Clock,
                 mains: Callable[[bool], None] | None = None) -> None:
        self.console = console
        self.clock = clock
        self._mains = mains

    def present_tag(self, id_tag: str) -> None:
        """Hold an RFID/NFC card with ``id_tag`` to the reader."""
        self.console.command(f"tag {id_tag}")

    def status(self) -> dict[str, str]:
        """The charger's own view: connector status, backend, rtm, limit, offered."""
        fields = self.console.command("status").split()
        return dict(f.split("=", 1) for f in fields if "=" in f)

    def lock_jam(self, on: bool) -> None:
        """Jam (or free) the socket's actuator lock: service console ``lockjam on|off``.
        The next lock or unlock attempt fails as a stuck actuator would."""
        self.console.command(f"lockjam {'on' if on else 'off'}")

    def lock_jam_attempts(self, attempts: int) -> None:
        """Make the next ``attempts`` lock/unlock tries fail, then work again (service
        console ``lockjam <n>``): checks the actuator's number of attempts (002 §2.4)."""
        if attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {attempts}")
        self.console.command(f"lockjam {attempts}")

    def set_temperature(self, celsius: float | None) -> None:
        """Override both temperature sensors (service console ``temp``); None = the
        sensors read the real (ambient) temperature again."""
        self.console.command("temp off" if celsius is None else f"temp {celsius:g}")

    def tamper(self, on: bool) -> None:
        """Open (or close) the main cover's tamper switch: service console ``tamper``."""
        self.console.command(f"tamper {'on' if on else 'off'}")

    def calibration_fail(self, on: bool) -> None:
        """Make the NV calibration data unreadable (``calfail``); seen at the next boot."""
        self.console.command(f"calfail {'on' if on else 'off'}")

    def clear_faults(self) -> None:
        """The web client's Clear Faults (000 §2.5.1): resets the codes whose recovery
        includes web_clear; the service console's ``clear`` does the same."""
        self.console.command("clear")

    def rtm_code(self) -> int:
        return int(self.console.command("rtm"), 16)

    @property
    def serial(self) -> str:
        return self.console.command("serial")

    @property
    def firmware(self) -> str:
        return self.console.command("version")

    @property
    def has_mains(self) -> bool:
        return self._mains is not None

    def power(self, on: bool) -> None:
        if self._mains is None:
            raise MissingWire("this rig cannot switch the charger's mains "
                              "(instruments.faults.pins.mains_off or an AC source)")
        self._mains(on)

    def power_cycle(self, off_s: float = 5.0) -> None:
        """Mains off for ``off_s`` spec seconds, then on again."""
        self.power(False)
        self.clock.sleep(off_s)
        self.power(True)
