"""Metering feature: the charger's own meter (or the RS-485 MID meter, 004 §3.6),
sampled and clock-aligned MeterValues (OCPP 1.6 §3.16.1, §9.1.7) and the measurands
the configuration may name."""

from __future__ import annotations

from datetime import datetime, timedelta

from evrig.sim.charger.fw_base import FirmwareBase, iso
from evrig.sim.charger.metering import sampled_values, split_measurand
from evrig.sim.charger.ocpp_link import Payload


class MeterValues(FirmwareBase):
    def _update_meter(self, now: float) -> None:
        """The charger's own meter: voltage at its supply, current through its outlet,
        each phase."""
        dt = max(0.0, now - self._last_energy_t)
        self._last_energy_t = now
        self.meter.energy_wh += self.meter.total_power_w() * dt / 3600.0
        phases = len(self.meter.voltages_v)
        energies = (self.meter.energies_wh + [0.0] * phases)[:phases]
        self.meter.energies_wh = [e + (self.meter.power_of(i) or 0.0) * dt / 3600.0
                                  for i, e in enumerate(energies)]
        snap = self.circuit.at(now)
        self.meter.voltages_v = list(snap.supply_v)
        self.meter.currents_a = list(snap.ev_amps_per_phase())
        if self.defect("compact_l2_current_gain") and len(self.meter.currents_a) > 1:
            self.meter.currents_a[1] *= 1.05  # L2's channel calibrated 5 % high
        if self.defect("current_calibration_3pct_high"):
            self.meter.currents_a = [a * 1.03 for a in self.meter.currents_a]
        self.meter.offered_a = self.offered_current()
        # Measured, not constants (001 App. II Temperature, Voltage.N): the board's
        # temperature sensor and the N–PE voltage its neutral monitor reads.
        self.meter.temperature_c = self.board.sensor_temperature_c()
        self.meter.neutral_v = self.circuit.faults.n_pe_v
        if self.defect("neutral_voltage_reads_zero"):
            self.meter.neutral_v = 0.0  # the N–PE monitor's channel never sampled
        self.meter.powers_w = None
        ext = self.board.external_meter()
        if ext is not None:
            # 004 §3.6: with a MID meter the charger takes voltage, current, power (per
            # phase) and the energy register (Total Import kWh) from it.
            m = self.meter
            m.voltages_v = list(ext.voltage_v) or m.voltages_v
            m.currents_a = list(ext.current_a) or m.currents_a
            m.powers_w = list(ext.power_w) or None
            m.energy_wh = m.energy_wh if ext.import_kwh is None else ext.import_kwh * 1000.0

    def _meter_timers(self, now: float) -> None:
        interval = self.config.int("MeterValueSampleInterval", 0)
        if self.tx is not None and interval > 0 and now >= self._next_sample:
            self._next_sample = now + interval
            self._send_meter_values("Sample.Periodic", "MeterValuesSampledData")
        aligned = self.config.int("ClockAlignedDataInterval", 0)
        if aligned > 0:
            utc = self.utc()
            if self._next_aligned is None:
                self._next_aligned = _next_aligned(utc, aligned)
            elif utc >= self._next_aligned:
                boundary, self._next_aligned = self._next_aligned, _next_aligned(utc, aligned)
                # OCPP 1.6 §9.1.7: an aligned interval is identified by its clock time
                self._send_meter_values("Sample.Clock", "MeterValuesAlignedData", at=boundary)
        else:
            self._next_aligned = None

    def _send_meter_values(self, context: str, key: str, at: datetime | None = None) -> None:
        tx = self.tx
        entries = self.config.csl(key)
        if not entries:
            return
        values = sampled_values(self.meter, entries, context)
        stamp = iso(at or self.utc())

        def build() -> Payload:
            p: Payload = {"connectorId": 1, "meterValue": [{"timestamp": stamp,
                                                             "sampledValue": values}]}
            if tx is not None and tx.transaction_id is not None:
                p["transactionId"] = tx.transaction_id
            return p

        self.send("MeterValues", build, persistent=tx is not None)

    def valid_measurands(self, value: str) -> bool:
        supported = {m.measurand for m in self.profile.meter_measurands}
        items = [x.strip() for x in value.split(",") if x.strip()]
        return all(split_measurand(x)[0] in supported for x in items)


def _next_aligned(utc: datetime, interval: int) -> datetime:
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (utc - midnight).total_seconds()
    return midnight + timedelta(seconds=(int(elapsed // interval) + 1) * interval)
