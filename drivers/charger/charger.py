"""The unit under test, as the rig sees it beyond OCPP: its service console, its web
client (diagnostics, where the rig file configures charger.web) and its mains supply."""

from __future__ import annotations

from collections.abc import Callable

from evrig.drivers.charger.console import ServiceConsole
from evrig.drivers.charger.web_client import WebClient
from evrig.rig.clock import Clock
from evrig.rig.errors import MissingWire


class Charger:
    def __init__(self, console: ServiceConsole, clock: Clock,
                 mains: Callable[[bool], None] | None = None,
                 web: WebClient | None = None) -> None:
        self.console = console
        self.clock = clock
        self._mains = mains
        # Diagnostics read where a person reads them (Device Status, RTM Err Code, Clear
        # Faults); else the console — also beside a web app without those pages (the
        # EV PLUS's, 003 §8.1.2: drivers/charger/web_evplus.py).
        self.web = web if web is not None and "device_status" in web.pages else None
        # Settings stored through the console (``fuse``: c_MainFuseLimit) that the bench
        # keeper does not restore by itself: its cue to read the configuration back.
        self.console_settings = 0

    def present_tag(self, id_tag: str) -> None:
        """Hold an RFID/NFC card with ``id_tag`` to the reader."""
        self.console.command(f"tag {id_tag}")

    def status(self) -> dict[str, str]:
        """The charger's own view: connector status, backend, rtm, limit, offered.

        With a web client: connector (EVSE Status: the live state; OCPP Status is the
        last one reported to the backend), backend (Backend Status: online / offline),
        rtm (RTM Err Code) and limit (Charger Limit) from its pages; what the pages do
        not show (boot, offered, temp …) from the service console."""
        fields = self.console.command("status").split()
        status = dict(f.split("=", 1) for f in fields if "=" in f)
        if self.web is not None:
            page = self.web.device_status()
            status.update({
                "connector": page.get("EVSE Status", status.get("connector", "")),
                "backend": "online" if page.get("Backend Status") == "Connected"
                           else "offline",
                "limit": page.get("Charger Limit", "").split(" (")[0],
                "rtm": f"0x{self.web.rtm_code():04X}",
            })
        return status

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

    def set_connector_temperature(self, celsius: float | None) -> None:
        """Override the socket's / tethered plug's own temperature sensor (EV PLUS 003
        §5, ERR OCT; service console ``ctemp``); None = it reads ambient again."""
        self.console.command("ctemp off" if celsius is None else f"ctemp {celsius:g}")

    def fan_blocked(self, on: bool) -> None:
        """Hold the cooling fan's rotor (or free it): its tachometer reads no rotation
        while driven (EV PLUS 003 §7.1.2 ERR FAN; service console ``fan``)."""
        self.console.command(f"fan {'blocked' if on else 'ok'}")

    def sensors_normal(self) -> None:
        """The connector's temperature sensor and the fan read the real thing again
        (``ctemp off``, ``fan ok``): the bench keeper's undo of both overrides."""
        self.set_connector_temperature(None)
        self.fan_blocked(False)

    def tamper(self, on: bool) -> None:
        """Open (or close) the main cover's tamper switch: service console ``tamper``."""
        self.console.command(f"tamper {'on' if on else 'off'}")

    def calibration_fail(self, on: bool) -> None:
        """Make the NV calibration data unreadable (``calfail``); seen at the next boot."""
        self.console.command(f"calfail {'on' if on else 'off'}")

    def clear_faults(self) -> None:
        """The web client's Clear Faults (000 §2.5.1): resets the codes whose recovery
        includes web_clear; the service console's ``clear`` does the same."""
        if self.web is not None:
            self.web.clear_faults()
        else:
            self.console.command("clear")

    def rs485_device(self, device: str) -> None:
        """What the charger expects on RS-485 channel 1: ``none``, ``meter`` (a MID
        meter) or ``ct`` (CT clamp, = c_CTClamp true) — the web client's RS485 bus
        setting, service console ``rs485`` (profile rs485 note)."""
        if device not in ("none", "meter", "ct"):
            raise ValueError(f"device must be none, meter or ct, got {device!r}")
        self.console.command(f"rs485 {device}")

    def configure_phases(self, phases: int) -> None:
        """Configuration of External Devices → Phases Number (004 §4.2), service console
        ``phases``; ``status()["phases"]`` shows it. A setting that does not match the
        wiring is a fault (the profile's phase_config_mismatch / undervoltage)."""
        if phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, got {phases!r}")
        self.console.command(f"phases {phases}")

    def set_main_fuse(self, amps: float) -> None:
        """The web client's Change Main Fuse Rating (000 §2.5.1; c_MainFuseLimit); the
        service console's ``fuse <amps>`` on a rig without the web client."""
        if self.web is not None:
            self.web.set_main_fuse(amps)
        else:
            self.console_settings += 1
            self.console.command(f"fuse {amps:g}")

    def main_fuse(self) -> tuple[float, float]:
        """(Main Fuse Limit, Main Fuse Reading) in A, as the web client shows them."""
        status = self.status()
        return float(status["fuse_limit"]), float(status["fuse_reading"])

    def rtm_code(self) -> int:
        """The RTM Err Code: the web client's diagnostics page, else the console."""
        if self.web is not None:
            return self.web.rtm_code()
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
