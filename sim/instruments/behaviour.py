"""What the virtual AC source and AC load do with each verb: write setpoints into the
bench's :class:`~sim.electrical.Circuit`, measure what physics gives at their terminals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evrig.rig.tables.scpi_models import ModelTable
from evrig.sim.electrical import Circuit, Snapshot

Verb = Callable[[dict[str, Any]], "str | None"]
RESISTIVE_PF = 1.0  # a constant-current load at the mains frequency: in phase (our model)


def _num(value: float) -> str:
    return f"{value:.3f}"


class SourceBehaviour:
    """A programmable AC source; phase 1.. of the model drive the circuit's phases."""

    def __init__(self, model: ModelTable, circuit: Circuit) -> None:
        self.model = model
        self.circuit = circuit
        self.coupled = True
        self.selected = 1
        # A three-phase source on a one-phase charger: the extra phases are unwired.
        self.volts = list(circuit.supply.volts) + [circuit.supply.volts[0]] * max(
            0, model.phases - len(circuit.supply.volts))

    def verbs(self) -> dict[str, Verb]:
        return {
            "set_voltage": lambda p: self._set_voltage(p["value"]),
            "set_frequency": lambda p: self.circuit.update(
                lambda c: setattr(c.supply, "hz", p["value"])),
            "output_on": lambda p: self._output(True),
            "output_off": lambda p: self._output(False),
            "output_query": lambda p: "1" if self.circuit.supply.on else "0",
            "couple_phases": lambda p: setattr(self, "coupled", True),
            "decouple_phases": lambda p: setattr(self, "coupled", False),
            "select_phase": lambda p: self._select(p["phase"]),
            "measure_voltage": lambda p: _num(self._voltage()),
            "measure_current": lambda p: _num(self._current()),
            "measure_power": lambda p: _num(self._voltage() * self._current() * RESISTIVE_PF),
            "measure_power_factor": lambda p: _num(RESISTIVE_PF),
            "measure_frequency": lambda p: _num(
                self.circuit.supply.hz if self._voltage() > 0 else 0.0),
        }

    def _select(self, phase: int) -> None:
        if not 1 <= phase <= self.model.phases:
            raise ValueError(phase)
        self.selected = phase

    def _set_voltage(self, volts: float) -> None:
        targets = range(len(self.volts)) if self.coupled else [self.selected - 1]
        for i in targets:
            self.volts[i] = volts

        def apply(c: Circuit) -> None:
            c.supply.volts = self.volts[:len(c.supply.volts)]

        self.circuit.update(apply)

    def _output(self, on: bool) -> None:
        self.circuit.update(lambda c: setattr(c.supply, "on", on))

    def _voltage(self) -> float:
        phase = self.selected - 1
        if phase < len(self.circuit.supply.volts):
            return self.circuit.supply_v(phase)
        return self.volts[phase] if self.circuit.supply.on else 0.0

    def _current(self) -> float:
        phase = self.selected - 1
        return self.circuit.source_amps(phase) if phase < len(self.circuit.load_amps) else 0.0


class LoadBehaviour:
    """An AC electronic load in constant-current mode on the charger's outlet; a
    multi-phase model sets all its phases at once (coupled) or the selected one."""

    def __init__(self, model: ModelTable, circuit: Circuit) -> None:
        self.model = model
        self.circuit = circuit
        self.mode = "CC"
        self.coupled = True
        self.selected = 1

    def verbs(self) -> dict[str, Verb]:
        circuit = self.circuit
        return {
            "mode_cc": lambda p: setattr(self, "mode", "CC"),
            "couple_phases": lambda p: setattr(self, "coupled", True),
            "decouple_phases": lambda p: setattr(self, "coupled", False),
            "select_phase": lambda p: self._select(p["phase"]),
            "set_current": lambda p: self._set_current(p["value"]),
            "load_on": lambda p: circuit.update(lambda c: setattr(c, "load_enabled", True)),
            "load_off": lambda p: circuit.update(lambda c: setattr(c, "load_enabled", False)),
            "load_query": lambda p: "1" if circuit.load_enabled else "0",
            "measure_voltage": lambda p: _num(self._volts(circuit.at())),
            "measure_current": lambda p: _num(self._amps(circuit.at())),
            "measure_power": lambda p: _num(self._power(circuit.at())),
            "measure_power_factor": lambda p: _num(RESISTIVE_PF),
            "measure_frequency": lambda p: _num(
                circuit.supply.hz if circuit.outlet_v() > 0 else 0.0),
        }

    def _select(self, phase: int) -> None:
        if not 1 <= phase <= self.model.phases:
            raise ValueError(phase)
        self.selected = phase

    def _phase(self) -> int:
        """The 0-based outlet phase addressed; a one-phase model draws on L1."""
        return self.selected - 1 if self.model.phases > 1 else 0

    def _wired(self) -> bool:
        return self._phase() < len(self.circuit.load_amps)

    def _set_current(self, amps: float) -> None:
        if self.model.phases == 1:
            self.circuit.set_load(amps, 1)
        elif self.coupled:
            self.circuit.set_load(amps, None)
        elif self._wired():  # a three-phase load on a one-phase outlet: L2/L3 unwired
            self.circuit.set_load(amps, self.selected)

    def _volts(self, snap: Snapshot) -> float:
        return snap.outlet_v(self._phase()) if self._wired() else 0.0

    def _amps(self, snap: Snapshot) -> float:
        return snap.ev_amps(self._phase()) if self._wired() else 0.0

    def _power(self, snap: Snapshot) -> float:
        """Real power at the addressed phase's terminals, from one instant."""
        if not self._wired():
            return 0.0
        return snap.outlet_v(self._phase()) * snap.ev_amps(self._phase())
