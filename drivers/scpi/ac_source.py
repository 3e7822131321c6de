"""The programmable AC source feeding the charger's supply terminals."""

from __future__ import annotations

from collections.abc import Callable

from evrig.drivers.scpi.instrument import Reading, Resource, ScpiInstrument
from evrig.rig.tables.scpi_models import ModelTable


class AcSource(ScpiInstrument):
    """``set_voltage``, ``set_frequency``, ``output``, ``measure`` (design §3)."""

    label = "AC source"

    def __init__(self, model: ModelTable, resource: str, timeout_s: float = 2.0, *,
                 link: Resource | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        if model.kind != "ac_source":
            raise ValueError(f"{model.model} is an {model.kind}, not an AC source ({model.file})")
        super().__init__(model, resource, timeout_s, link=link, clock=clock)

    def set_voltage(self, volts: float, phase: int | None = None) -> None:
        """L–N voltage of every phase, or of ``phase`` (1-based) alone."""
        self.model.check_range("voltage", volts, "V")
        self.address(phase)
        self.send("set_voltage", value=volts)

    def set_frequency(self, hz: float) -> None:
        self.model.check_range("frequency", hz, "Hz")
        self.send("set_frequency", value=hz)

    def output(self, on: bool) -> None:
        self.send("output_on" if on else "output_off")

    def output_state(self) -> bool:
        return self.ask_bool("output_query")

    def measure(self) -> Reading:
        """What the source measures at its output: voltage and current per phase, the
        rest on phase 1 of a multi-phase source; with the reading's time window."""
        return self.timed(self._measure)

    def _measure(self) -> Reading:
        volts, amps, watts = self.per_phase("measure_voltage", "measure_current",
                                            "measure_power")
        return Reading(voltage=volts[0], current=amps[0], power=sum(watts),
                       power_factor=self.ask_optional("measure_power_factor"),
                       frequency=self.ask_optional("measure_frequency"),
                       phase_voltages=volts, phase_currents=amps, phase_powers=watts)

    def safe_state(self) -> None:
        """Output off: no voltage on the charger's terminals."""
        self.output(False)
