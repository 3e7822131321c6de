"""Protection and faults feature: the pilot's fault levels, the board's conditions, the
protection functions (protection.py) and the RTM code with its recovery rules
(000/001 App. I, VendorID2), the web client's Clear Faults and the OCPP errorCode."""

from __future__ import annotations

from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.protection import Measurements, Settings, web_clearable

# An undefined CP level must last this long (spec s) before it is fault 0x0080, and
# state A this long before it counts as an unplug that clears faults. The
# manuals give no figure; 0.1 s is well above relay bounce (≈10 ms) and well below
# any human-visible delay.
CP_DEBOUNCE_S = 0.1


class Faults(FirmwareBase):
    def _check_faults(self) -> None:
        code = self.rtm
        diode = self.profile.fault_code("ev_diode_missing")
        cp_state = self.profile.fault_code("cp_level_invalid")
        if self.pilot.state == "A":
            # Faults that unplugging clears (000 App. I: the diode fault is
            # "cleared by removing the plug") — once A has lasted the debounce time: a
            # glitch through A while relays switch is not an unplug.
            if self._a_since is None:
                self._a_since = self.now()
            if self.now() - self._a_since >= CP_DEBOUNCE_S:
                # Bits of a set code that unplugging does not clear stay, even where
                # they overlap an unplug-clearable one (0x0060 = 0x0020 | 0x0040).
                keep = self._held_bits("unplug", code)
                for rtm in self.profile.rtm_codes.values():
                    if code & rtm.code and "unplug" in rtm.recovery:
                        code &= ~(rtm.code & ~keep)
        elif self.pilot.state in ("B", "C", "D") and self.pilot.low_v > -10.0:
            code |= diode
        elif self.pilot.state in ("E", "?"):
            # A level seen while relays switch is not a fault: it must persist.
            if self._odd_pilot_since is None:
                self._odd_pilot_since = self.now()
            elif self.now() - self._odd_pilot_since >= CP_DEBOUNCE_S:
                code |= cp_state
        if self.pilot.state not in ("E", "?"):
            self._odd_pilot_since = None
        if self.pilot.state != "A":
            self._a_since = None
        # Conditions inside the board the firmware detects directly (module missing,
        # host link lost, service cover): the bit latches until its recovery rule.
        for name in self.board.board_faults():
            rtm = self.profile.fault(name)
            if not (rtm.socket_only and not self.variant.actuator_lock):
                code |= rtm.code
        # 001 VendorID2 0x400000: the configured external meter does not answer; set
        # while it is missing, gone with its first answer (profile recovery auto).
        missing = self.profile.fault_code("meter_missing")
        code = (code | missing) if self.board.external_meter_missing() else (code & ~missing)
        self.rtm = self.protection.apply(code, self._measure(), self._settings())

    def _measure(self) -> Measurements:
        # One instant for every quantity (Circuit.at): reading the command and each
        # pole at different times could latch a false relay fault (0x10010).
        snap = self.circuit.at(self.now())
        f = self.circuit.faults
        return Measurements(
            now=snap.t, supply_v=snap.supply_v, ev_a=snap.ev_amps_per_phase(),
            offered_a=self.offered_current() if self.pwm_duty() is not None else 0.0,
            temperature_c=self.board.sensor_temperature_c(), leakage_ac_ma=f.leakage_ac_ma,
            leakage_dc_ma=f.leakage_dc_ma, pe_open=f.pe_open, ln_swapped=f.ln_swapped,
            n_pe_v=f.n_pe_v, relay_cmd=snap.relay_cmd,
            outlet_live=snap.live_closed and snap.supply_v[0] > 0,
            neutral_closed=snap.neutral_closed, tamper=self.board.cover_open())

    def _settings(self) -> Settings:
        p = self.profile.protections
        return Settings(voltage_offset_v=self.config.int(p.voltage.offset_key, 0),
                        rcd_type=self.config.int(p.rcd.type_key, 0))

    def _held_bits(self, recovery: str, rtm_value: int | None = None) -> int:
        """Bits of the codes fully set in ``rtm_value`` that ``recovery`` does not
        clear: they stay even where they overlap a code it clears (0x0060 = 0x0020 |
        0x0040, the PCM module missing, clears only by a power cycle)."""
        value = self.rtm if rtm_value is None else rtm_value
        held = 0
        for rtm in self.profile.rtm_codes.values():
            if rtm.code and value & rtm.code == rtm.code and recovery not in rtm.recovery:
                held |= rtm.code
        return held

    def clear_faults(self) -> None:
        """The web client's Clear Faults (000 §2.5.1 Device Control): resets the codes
        whose profile recovery includes web_clear; a cause still present trips again."""
        self.rtm &= ~(web_clearable(self.profile) & ~self._held_bits("web_clear"))
        self.protection.reset_timers()
        self.kick()

    def error_code(self) -> tuple[str, str | None]:
        """(OCPP errorCode, vendorErrorCode) for the highest-priority RTM bit."""
        if not self.rtm:
            return "NoError", None
        # A code made of several bits (0x0060 = PCM missing) names the fault when all
        # its bits are set; otherwise the lowest code set does.
        # A flag (0x4000 auto-recovery) names the fault only when seen alone: its
        # companion may be a higher bit (0x400000 missing meter).
        flags = self.protection.all_flags
        for code in sorted(self.profile.rtm_codes,
                           key=lambda c: (bool(c & flags), -c.bit_count(), c)):
            if code and self.rtm & code == code:
                return self.profile.rtm_codes[code].ocpp_error_code, f"0x{self.rtm:04X}"
        return "OtherError", f"0x{self.rtm:04X}"
