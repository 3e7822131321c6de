"""The AC electronic load standing in for the EV's on-board charger (constant current)."""

from __future__ import annotations

from collections.abc import Callable

from evrig.drivers.scpi.instrument import Reading, Resource, ScpiInstrument
from evrig.rig.tables.scpi_models import ModelTable


class AcLoad(ScpiInstrument):
    """``set_current``, ``enable``, ``measure`` (design §3). Constant-current mode is
    selected on connect: an EV draws a current, not a resistance."""

    label = "AC load"

    def __init__(self, model: ModelTable, resource: str, timeout_s: float = 2.0, *,
                 link: Resource | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        if model.kind != "ac_load":
            raise ValueError(f"{model.model} is an {model.kind}, not an AC load ({model.file})")
        super().__init__(model, resource, timeout_s, link=link, clock=clock)
        try:
            self.send("mode_cc")
        except BaseException:
            self.close()
            raise

    def set_current(self, amps: float, phase: int | None = None) -> None:
        """The EV's draw on every phase, or on ``phase`` (1-based) alone."""
        self.model.check_range("current", amps, "A")
        self.address(phase)
        self.send("set_current", value=amps)

    def enable(self, on: bool) -> None:
        self.send("load_on" if on else "load_off")

    def enabled(self) -> bool:
        return self.ask_bool("load_query")

    def measure(self) -> Reading:
        """What the load measures: voltage and current per phase, the rest on phase 1;
        with the reading's time window (Reading.t_start)."""
        return self.timed(self._measure)

    def _measure(self) -> Reading:
        volts, amps, watts = self.per_phase("measure_voltage", "measure_current",
                                            "measure_power")
        return Reading(voltage=volts[0], current=amps[0], power=sum(watts),
                       power_factor=self.ask_optional("measure_power_factor"),
                       frequency=self.ask_optional("measure_frequency"),
                       phase_voltages=volts, phase_currents=amps, phase_powers=watts)

    def safe_state(self) -> None:
        """Load off and its setpoint at zero: nothing draws when it is next enabled."""
        try:
            self.enable(False)
        finally:
            self.set_current(0.0)
