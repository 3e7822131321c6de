"""Charging feature: what the charger offers the EV (the minimum of the EVSE limits,
001 VendorID1), the PWM duty on CP (IEC 61851-1) and the contactor."""

from __future__ import annotations

from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.protection import pwm_duty

# The limits in VendorID1 code order, by vendor-neutral names; 3 is the installation's
# measurement on RS-485 (a CT clamp, or EV PLUS's external meter: power_management.py).
NEUTRAL_LIMITS = ("device", "cable", "temperature", "external_meter", "smart_charging",
                  "fuse")


class Charging(FirmwareBase):
    # -- offered current --------------------------------------------------------------
    def offered_current(self) -> float:
        """Minimum of the EVSE limits (VendorID1); the winner is the limit reason."""
        # Listed in VendorID1 code order: on a tie the lower code is the reason.
        rated = self.profile.ratings["max_current_a"].value
        thermal = self.profile.derated_current(self.board.sensor_temperature_c())
        device = self.config.int("c_DeviceLimit_I", int(rated * 10)) / 10.0
        if self.nvm.max_current_a is not None \
                and not self.defect("evplus_max_current_not_applied"):
            # EV PLUS web app Max Current (003 §8.1.2 step 4): the unit's own cap.
            device = min(device, float(self.nvm.max_current_a))
        candidates: list[tuple[float | None, int]] = [
            (device, 0),
            (self.cable_amps(), 1),  # tethered units ignore PP: None
            (0.0 if thermal is None else thermal, 2),  # above the table: fault 0x0800
            (self.board.ct_limit_a(), 3),
            (self.nvm.smart.limit_at(self.utc(), self.tx_context()), 4),
            (self._fuse_limit_a(), 5),
        ]
        limits = [(float(a), code) for a, code in candidates if a is not None]
        amps, code = min(limits, key=lambda x: x[0])
        entry = self.profile.evse_limits.get(code)
        # A family without a VendorID1 table (EV PLUS, 003) reports the neutral name.
        self.limit_reason = entry.name if entry is not None else NEUTRAL_LIMITS[code]
        return amps

    def _fuse_limit_a(self) -> float | None:
        """VendorID1 5 FuseLimit: the configured breaker rating derated by the profile's
        table (000 §2.1.3.1 Table 1) — only without a CT clamp, which measures the
        household against the same rating instead (profile fuse_derating note)."""
        table = self.profile.fuse_derating
        if table is None or self.config.bool("c_CTClamp"):
            return None
        per_amp = 10 if self.profile.key(table.key).unit == "0.1 A" else 1
        return table.limit(self.config.int(table.key, 0) / per_amp)

    def cable_amps(self) -> float | None:
        """The cable's ampacity from PP (profile pp_bands); None on a tethered unit
        (case C, the charger knows its own cable) or with no valid PP resistor."""
        if not self.variant.pp_required:
            return None
        ohms = self._pp_ohms()
        amps = self.profile.pp_amps(ohms) if ohms is not None else None
        return None if amps is None else float(amps)

    def pwm_duty(self) -> float | None:
        """Duty (%) of the 1 kHz PWM on CP, None for no PWM. The charger offers
        current (IEC 61851-1 state x2) only during an authorized session that may
        charge: plugged, no fault, not suspended, at least the minimum current. In
        every other case CP is a steady +12 V (state x1, "not ready") — also when
        Faulted: our choice instead of state F (−12 V), so the firmware still sees
        the EV unplug (recovery `unplug`)."""
        if self.start_held():  # a charge-off period or the randomized delayed start
            return None
        if self.plugin_session and self.plugged and not self.faulted:
            return pwm_duty(self.offered_current(), self.min_a)  # offline plug-in charge
        tx = self.tx
        if tx is None or self.finishing or self.faulted or tx.suspended_by_auth \
                or not self.plugged:
            return None
        duty = pwm_duty(self.offered_current(), self.min_a)
        if duty is not None and self.defect("cp_duty_truncated"):
            duty = float(int(duty))  # the timer's compare value truncated to whole percent
        return duty

    def _update_contactor(self) -> None:
        # State D (ventilation required) only with c_ChargingVentilatedEnabled (001 App. II).
        ventilated = self.config.bool("c_ChargingVentilatedEnabled")
        allowed_states: tuple[str, ...] = ("C", "D") if ventilated else ("C",)
        if self.defect("compact_contactor_closes_in_b"):
            allowed_states += ("B",)  # the relay closes on authorization, before C
        want = self.pwm_duty() is not None and self.pilot.state in allowed_states
        # IEC 61851-1 timing (profile timing): the relay switches after its delay.
        now = self.now()
        self.contactor = self.relay.update(want, now)
        # The contacts follow a started switch on time in spec seconds (electrical.py).
        due = self.relay.due_in(now)
        self.circuit.now = self.clock.now
        self.circuit.command_contactor(self.contactor,
                                       None if due is None else (now + due, want), now)
