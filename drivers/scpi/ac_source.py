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
        if phase is not None:
            self._select(phase)
        elif self.model.has("couple_phases"):
            self.send("couple_phases")
        self.send("set_voltage", value=volts)

    def _select(self, phase: int) -> None:
        if not 1 <= phase <= self.model.phases or not self.model.has("select_phase"):
            raise ValueError(f"{self.model.model}: phase {phase} does not exist (the model has "
                             f"{self.model.phases} phase(s), {self.model.file})")
        if self.model.has("decouple_phases"):
            self.send("decouple_phases")
        self.send("select_phase", phase=phase)

    def set_frequency(self, hz: float) -> None:
        self.model.check_range("frequency", hz, "Hz")
        self.send("set_frequency", value=hz)

    def output(self, on: bool) -> None:
        self.send("output_on" if on else "output_off")

    def output_state(self) -> bool:
        return self.ask_bool("output_query")

    def measure(self) -> Reading:
        """What the source measures at its output (phase 1 on a multi-phase source),
        with the reading's time window (Reading.t_start)."""
        return self.timed(self._measure)

    def _measure(self) -> Reading:
        phases: tuple[float, ...] = ()
        if self.model.phases > 1 and self.model.has("select_phase"):
            volts = []
            for phase in range(self.model.phases, 0, -1):  # ends on phase 1 selected
                self.send("select_phase", phase=phase)
                volts.append(self.ask_float("measure_voltage"))
            phases = tuple(reversed(volts))
        voltage = self.ask_float("measure_voltage")
        return Reading(voltage=voltage, current=self.ask_float("measure_current"),
                       power=self.ask_float("measure_power"),
                       power_factor=self.ask_optional("measure_power_factor"),
                       frequency=self.ask_optional("measure_frequency"),
                       phase_voltages=phases or (voltage,))

    def safe_state(self) -> None:
        """Output off: no voltage on the charger's terminals."""
        self.output(False)
