"""The fault-injection board: relays on the Pi's GPIO that break the charger's world.

Each relay switches one fixed part into the installation (rig file,
``instruments.faults``): a resistor from L to PE (AC leakage), a diode and resistor
(half-wave: DC leakage), a break in PE, an L/N swap, a small transformer in series
with N (N–PE voltage). A relay's value is in the rig file (``values``); two relays
of one class add their currents, so a board offers a value just inside and one just
outside a threshold. The virtual board's sources are programmable: any value.

Faults inside the charger (lock actuator, tamper switch, contactor weld) use their
relay when the rig has that wire, else the charger's service console. A fault the
rig cannot produce raises :class:`MissingWire` naming what is missing: the test skips.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from evrig.drivers.ev.gpio import Gpio
from evrig.rig.errors import InstrumentError, MissingWire

AC_WIRES = ("rcd_ac", "rcd_ac_2")
DC_WIRES = ("rcd_dc", "rcd_dc_2")
# Charger-internal faults: relay wire → service console command.
CONSOLE_FAULTS = {"lock_jam": "lockjam", "tamper": "tamper", "relay_weld": "weld",
                  "relay_stuck_open": "stuckopen", "neutral_weld": "nweld",
                  "neutral_stuck_open": "nstuckopen", "service_cover": "tamper2",
                  "pcm_missing": "pcmfail", "host_link_lost": "hostfail"}


def _close_enough(have: float, want: float) -> bool:
    """A fixed resistor gives its value within 5 % (or 0.5 mA/V, whichever is larger)."""
    return abs(have - want) <= max(0.5, 0.05 * abs(want))


class FaultBoard:
    """Safe state: every relay released (:meth:`release`)."""

    def __init__(self, gpio: Gpio | None, config: Any, *, console: Any = None,
                 programmable: Callable[[str, float], None] | None = None) -> None:
        """``config``: :class:`rig.config.FaultBoardConfig` or None (no board);
        ``console``: the charger's :class:`ServiceConsole` or None; ``programmable``:
        sets the value behind a wire (the virtual board), or None for fixed parts."""
        self._gpio = gpio
        pins = dict(config.pins) if config is not None and gpio is not None else {}
        pins.pop("mains_off", None)  # the Rig owns the mains relay (charger.power)
        self._pins: dict[str, int] = pins
        self._values: dict[str, float] = dict(config.values) if config is not None else {}
        self._console = console
        self._programmable = programmable
        self._console_on: set[str] = set()
        if gpio is not None:  # no GPIO bank: no pins either
            for pin in self._pins.values():
                gpio.setup_output(pin)
        self.release()

    # -- wiring ------------------------------------------------------------------------
    def has(self, wire: str) -> bool:
        return wire in self._pins

    def _relay(self, wire: str, closed: bool) -> None:
        assert self._gpio is not None, "relay pins exist only with a GPIO bank"
        self._gpio.write(self._pins[wire], closed)

    def _need(self, wire: str, what: str) -> None:
        if wire not in self._pins:
            raise MissingWire(f"{what} needs the fault board's {wire} relay "
                              f"(instruments.faults.pins.{wire})")

    # -- leakage -----------------------------------------------------------------------
    def leakage_values(self, dc: bool = False) -> list[float] | None:
        """Leakage currents (mA) this board can inject; None = any (programmable)."""
        wires = [w for w in (DC_WIRES if dc else AC_WIRES) if w in self._pins]
        if self._programmable is not None:
            return None if wires else []
        sums = {round(sum(self._values.get(w, 0.0) for w in combo), 3)
                for n in range(len(wires) + 1) for combo in itertools.combinations(wires, n)}
        return sorted(sums)

    def leakage(self, ma: float, dc: bool = False) -> None:
        """Inject ``ma`` of leakage from L to PE, AC (the 30 mA class) or smooth DC
        (the 6 mA class); 0 removes it."""
        kind = "DC" if dc else "AC"
        wires = [w for w in (DC_WIRES if dc else AC_WIRES) if w in self._pins]
        if not wires:
            first = DC_WIRES[0] if dc else AC_WIRES[0]
            raise MissingWire(f"{kind} leakage needs the fault board's {first} relay "
                              f"(instruments.faults.pins.{first})")
        if ma < 0:
            raise ValueError(f"leakage must be >= 0 mA, got {ma}")
        if ma == 0:
            chosen: tuple[str, ...] = ()
        elif self._programmable is not None:
            self._programmable(wires[0], ma)
            chosen = (wires[0],)
        else:
            chosen = self._combination(wires, ma, kind)
        for wire in wires:
            if wire not in chosen:
                self._relay(wire, False)
        for wire in chosen:
            self._relay(wire, True)

    def _combination(self, wires: list[str], ma: float, kind: str) -> tuple[str, ...]:
        best: tuple[str, ...] | None = None
        for n in range(1, len(wires) + 1):
            for combo in itertools.combinations(wires, n):
                total = sum(self._values.get(w, 0.0) for w in combo)
                if _close_enough(total, ma) and (
                        best is None or abs(total - ma) <
                        abs(sum(self._values.get(w, 0.0) for w in best) - ma)):
                    best = combo
        if best is None:
            offered = ", ".join(f"{v:g}" for v in self.leakage_values(kind == "DC") or [])
            raise MissingWire(f"{kind} leakage of {ma:g} mA: this board's resistors give "
                              f"{offered} mA (instruments.faults.values)")
        return best

    # -- installation faults -----------------------------------------------------------
    def pe_open(self, on: bool) -> None:
        """Break protective earth between the supply and the charger."""
        self._need("pe_open", "opening PE")
        self._relay("pe_open", on)

    def swap_ln(self, on: bool) -> None:
        """Swap line and neutral at the charger's terminals."""
        self._need("swap_ln", "swapping L and N")
        self._relay("swap_ln", on)

    def neutral_voltage(self, v: float) -> None:
        """Put ``v`` volts between N and PE (0 removes it)."""
        self._need("n_pe_voltage", "an N–PE voltage")
        if v == 0:
            self._relay("n_pe_voltage", False)
            return
        if self._programmable is not None:
            self._programmable("n_pe_voltage", v)
        elif not _close_enough(self._values.get("n_pe_voltage", 0.0), v):
            raise MissingWire(f"N–PE voltage of {v:g} V: this board's source gives "
                              f"{self._values.get('n_pe_voltage', 0.0):g} V "
                              "(instruments.faults.values.n_pe_voltage)")
        self._relay("n_pe_voltage", True)

    # -- charger-internal faults -------------------------------------------------------
    def lock_jam(self, on: bool) -> None:
        """Jam the socket's lock actuator: the next lock/unlock attempt fails."""
        self._internal("lock_jam", on)

    def tamper(self, on: bool) -> None:
        """Open the enclosure's tamper switch."""
        self._internal("tamper", on)

    def relay_weld(self, on: bool) -> None:
        """Weld the charger's contactor closed."""
        self._internal("relay_weld", on)

    def relay_stuck_open(self, on: bool) -> None:
        """Keep the contactor's live contact from closing (a relay that does not pull in)."""
        self._internal("relay_stuck_open", on)

    def neutral_weld(self, on: bool) -> None:
        """Weld the contactor's neutral pole closed."""
        self._internal("neutral_weld", on)

    def neutral_stuck_open(self, on: bool) -> None:
        """Keep the contactor's neutral pole from closing."""
        self._internal("neutral_stuck_open", on)

    def service_cover(self, open_: bool) -> None:
        """Open the service cover (the second tamper switch, 001 0x200000)."""
        self._internal("service_cover", open_)

    def pcm_missing(self, on: bool) -> None:
        """Disconnect the PCM module (actuator and NFC board, 001 0x0060)."""
        self._internal("pcm_missing", on)

    def host_link_lost(self, on: bool) -> None:
        """Break the RTM–application-processor link (001 0x0400)."""
        self._internal("host_link_lost", on)

    def _internal(self, wire: str, on: bool) -> None:
        if wire in self._pins:
            self._relay(wire, on)
            return
        command = f"{CONSOLE_FAULTS[wire]} {'on' if on else 'off'}"
        if self._console is None:
            raise MissingWire(f"{wire} needs the fault board's {wire} relay "
                              f"(instruments.faults.pins.{wire}) or the charger's service "
                              "console (charger.console)")
        try:
            self._console.command(command)
        except InstrumentError as exc:
            raise MissingWire(f"{wire}: no relay (instruments.faults.pins.{wire}) and the "
                              f"service console cannot do it: {exc}") from None
        if on:
            self._console_on.add(wire)
        else:
            self._console_on.discard(wire)

    # -- safe state --------------------------------------------------------------------
    def release(self) -> None:
        """Release every relay and undo console faults: the installation is healthy.

        A console fault the charger cannot take back now (it is powered off) stays
        pending and is undone by the next release; the keeper releases again once
        the charger is back up."""
        errors: list[str] = []
        for wire in self._pins:
            try:
                self._relay(wire, False)
            except Exception as exc:  # keep releasing the others
                errors.append(f"{wire}: {exc}")
        for wire in list(self._console_on):
            with contextlib.suppress(MissingWire):  # console unreachable: still pending
                self._internal(wire, False)
        if errors:
            raise InstrumentError("fault board", "GPIO", "release failed: " + "; ".join(errors))

    safe_state = release
