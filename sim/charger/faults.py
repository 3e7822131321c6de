"""Protection and faults feature: the pilot's fault levels, the board's conditions, the
protection functions (protection.py) — each a vendor-neutral condition (design §5) —
and their recovery rules as the profile gives them (EV NET: 000/001 App. I,
VendorID2), the web client's Clear Faults and the OCPP errorCode."""

from __future__ import annotations

from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.protection import Measurements, Settings

# An undefined CP level must last this long (spec s) before it is fault 0x0080, and
# state A this long before it counts as an unplug that clears faults. The
# manuals give no figure; 0.1 s is well above relay bounce (≈10 ms) and well below
# any human-visible delay.
CP_DEBOUNCE_S = 0.1


class Faults(FirmwareBase):
    def _check_faults(self) -> None:
        active = set(self.active)
        if self.pilot.state == "A":
            # Faults that unplugging clears (000 App. I: the diode fault is
            # "cleared by removing the plug") — once A has lasted the debounce time: a
            # glitch through A while relays switch is not an unplug.
            if self._a_since is None:
                self._a_since = self.now()
            if self.now() - self._a_since >= CP_DEBOUNCE_S:
                active = {c for c in active if not self.profile.conditions[c].clears_on("unplug")}
        elif self.pilot.state in ("B", "C", "D") and self.pwm_duty() is not None \
                and self.pilot.low_v > -10.0:
            # The diode shows only on the negative half of an oscillating pilot
            # (design §8, IEC 61851-1 Annex A): at a steady +12 V (x1, before the
            # charger offers current) there is no negative half to look at.
            active.add("ev_diode_missing")
        elif self.pilot.state in ("E", "?"):
            # A level seen while relays switch is not a fault: it must persist.
            if self._odd_pilot_since is None:
                self._odd_pilot_since = self.now()
            elif self.now() - self._odd_pilot_since >= CP_DEBOUNCE_S:
                active.add("cp_level_invalid")
        if self.pilot.state not in ("E", "?"):
            self._odd_pilot_since = None
        if self.pilot.state != "A":
            self._a_since = None
        # Conditions inside the board the firmware detects directly (module missing,
        # host link lost, service cover): latched until their recovery rule.
        events = set(self.board.board_faults()) | ({"tamper_cover"} if self.board.cover_open()
                                                     else set())
        new = events - self._events_seen
        if self.defect("compact_tamper2_reported_once"):
            new -= self.active  # a repeat while the bit is still latched goes unreported
        if new:
            self.fault_events += 1  # a new occurrence: reported even if still latched
        self._events_seen = events
        for name in self.board.board_faults():
            if not (self.profile.fault(name).socket_only and not self.variant.actuator_lock):
                active.add(name)
        # 001 VendorID2 0x400000: the configured external meter does not answer;
        # present while it is missing, gone with its first answer (recovery auto).
        if self.board.external_meter_missing() and \
                not self.defect("compact_mid_meter_loss_unreported"):
            active.add("meter_missing")
        else:
            active.discard("meter_missing")
        # 004 §4.2 RS485 Bus Device CT/Clamp "Incorrect setting will result in a fault
        # state!": the clamp configured and silent (profile faults.ct_missing, auto).
        if self.board.external_ct_missing():
            active.add("ct_missing")
        else:
            active.discard("ct_missing")
        # 004 §4.2 "Incorrect setting will result in a fault state!": a wired phase
        # beyond the Phases Number carries mains voltage the firmware does not expect
        # (fewer phases wired than configured is the undervoltage above). Present while
        # the setting is wrong (recovery auto).
        active.discard("phase_config_mismatch")
        if self._unexpected_phase():
            active.add("phase_config_mismatch")
        active = self.protection.apply(active, self._measure(), self._settings())
        # What this charger does not detect, it cannot show (its profile lists it).
        self.active = {c for c in active if c in self.profile.conditions}

    def _measure(self) -> Measurements:
        # One instant for every quantity (Circuit.at): reading the command and each
        # pole at different times could latch a false relay fault (0x10010).
        snap = self.circuit.at(self.now())
        f = self.circuit.faults
        # The firmware measures the phases it is configured for (004 §4.2 Phases
        # Number): a configured phase that is not wired reads 0 V (an undervoltage).
        configured = self.phases_configured()
        supply_v = (tuple(snap.supply_v) + (0.0,) * configured)[:configured]
        ev_a = (snap.ev_amps_per_phase() + (0.0,) * configured)[:configured]
        return Measurements(
            now=snap.t, supply_v=supply_v, ev_a=ev_a,
            offered_a=self.offered_current() if self.pwm_duty() is not None else 0.0,
            temperature_c=self.board.sensor_temperature_c(), leakage_ac_ma=f.leakage_ac_ma,
            leakage_dc_ma=f.leakage_dc_ma, pe_open=f.pe_open, ln_swapped=f.ln_swapped,
            n_pe_v=f.n_pe_v, relay_cmd=snap.relay_cmd,
            outlet_live=snap.live_closed and snap.supply_v[0] > 0,
            neutral_closed=snap.neutral_closed, tamper=self.board.cover_open(),
            connector_temperature_c=self.board.sensors.connector_temperature_c,
            fan_blocked=self.board.sensors.fan_blocked)

    def _unexpected_phase(self) -> bool:
        volts = self.circuit.at(self.now()).supply_v
        present = self.profile.protections.voltage.hw_undervoltage_v
        return any(v >= present for v in volts[self.phases_configured():])

    def _settings(self) -> Settings:
        p = self.profile.protections
        return Settings(voltage_offset_v=self.config.int(p.voltage.offset_key, 0),
                        rcd_type=self.config.int(p.rcd.type_key, 0))

    def kept_through_reset(self) -> set[str]:
        """The present trips a reset the backend asks for must not clear: a charger
        whose protections are never reclosed remotely (profile protections.reclosing,
        remote false; EV PLUS 003 §5, IEC 61851-1) keeps them latched through the
        reboot (twin.reset). Empty for a charger without that rule (EV NET: a reset is
        a power cycle and clears them)."""
        rule = self.profile.protections.reclosing
        if rule is None or rule.remote:
            return set()
        return self.active & set(rule.conditions)

    def clear_faults(self) -> None:
        """The web client's Clear Faults (000 §2.5.1 Device Control): clears the
        conditions whose recovery includes web_clear; a cause still present trips
        again at the next evaluation (000 §2.6.2 c)."""
        self.active = {c for c in self.active
                       if not self.profile.conditions[c].clears_on("web_clear")}
        self.protection.reset_timers()
        self.kick()

    def error_code(self) -> tuple[str, str | None]:
        """(OCPP errorCode, vendorErrorCode) of the highest-ranked present condition
        (profile_faults.fault_table). EV NET's vendorErrorCode is the whole RTM
        register (001 VendorID2); another vendor's is its profile's, if any."""
        if not self.active:
            return "NoError", None
        named = min((self.profile.conditions[c] for c in self.active), key=lambda f: f.rank)
        vendor = f"0x{self.rtm:04X}" if named.rtm is not None else named.vendor_error_code
        return named.ocpp_error_code, vendor
