"""The twin's protection firmware: pure rules fed with measurements and the profile.

Every threshold comes from the charger profile (``profile.protections``,
``temperature_derating``, ``timing``, the fault conditions); what a rule does with it is
the manual's text, cited at each rule. The rules detect vendor-neutral conditions
(design §5; profile_faults); the firmware keeps the set of present ones (faults.py)
and the profile says what the charger shows for each (EV NET: an RTM code).

Recovery (profile ``Fault.recovery``):
  auto        — the fault follows its condition (present while it is, gone when it goes);
                EV NET shows the 0x4000 flag with it (``sets_also``, fw_base.rtm);
  unplug      — the firmware clears it on CP state A (faults._check_faults);
  power_cycle — the fault set is volatile: a new Firmware starts with none;
  web_clear   — ``Faults.clear_faults()`` (web client "Clear Faults", 000 §2.5.1);
  otherwise latched. A latched fault whose cause is still present trips again on the
  next evaluation (000 §2.6.2 c: "clearing a fault without removing the underlying
  problem will result in the EVNET to enter the same fault state").
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass

from evrig.rig.profile import Profile, Timing, VoltageProtection

# IEC 61851-1 (design.md §8): the PWM the charger puts on CP is 1 kHz.
PWM_FREQ_HZ = 1000.0
# The relay's own switching times, inside the IEC 61851-1 bounds the profile gives
# (timing.contactor_open_max_s 0.1 s, contactor_close_max_s 3 s). The manuals give
# no figures: 20 ms to open (a power relay's drop-out time; the firmware's own
# reaction comes on top) and 1 s to close (the charger's pre-charge checks), so a
# timing testcase measures a delay that exists rather than zero. 20 ms rather than
# more leaves the virtual bench's measurement (polling the load at speed 20, a few
# ms of wall time = tens of spec ms) room inside the 100 ms bound.
CONTACTOR_OPEN_S = 0.02
CONTACTOR_CLOSE_S = 1.0
# The temperature the sensors read when no override is set (service console
# ``temp``); our choice, a room-temperature bench.
AMBIENT_C = 25.0


def pwm_duty(amps: float, min_a: float) -> float | None:
    """Duty cycle (%) that offers ``amps`` (IEC 61851-1 Table A.8, EVSE side):
    6–51 A: duty = I / 0.6; 51–80 A: duty = I / 2.5 + 64. None below ``min_a``
    (no PWM: the charger offers nothing). Rounded to 0.1 % (a timer's resolution);
    above 80 A capped at 96 % (not reachable on a 32 A charger)."""
    if amps < min_a:
        return None
    if amps <= 51.0:
        return round(amps / 0.6, 1)
    return round(min(amps, 80.0) / 2.5 + 64.0, 1)


@dataclass(frozen=True)
class Measurements:
    """What the board measures at one evaluation (spec time ``now``)."""

    now: float
    supply_v: tuple[float, ...]  # per phase, L–N at the charger's terminals
    ev_a: tuple[float, ...]  # per phase, current through the outlet (the meter's CTs)
    offered_a: float  # the present offered current (0 when no PWM)
    temperature_c: float
    leakage_ac_ma: float = 0.0
    leakage_dc_ma: float = 0.0
    pe_open: bool = False
    ln_swapped: bool = False
    n_pe_v: float = 0.0
    relay_cmd: bool = False  # what the firmware drives the relay to
    outlet_live: bool = False  # voltage on the outlet side of the relay's live pole
    neutral_closed: bool = False  # the relay's neutral pole, as its sense circuit reads it
    tamper: bool = False  # main cover switch open
    connector_temperature_c: float = AMBIENT_C  # the socket's / plug's own sensor (EV PLUS)
    fan_blocked: bool = False  # the fan's tachometer reads no rotation while driven


@dataclass(frozen=True)
class Settings:
    """The configuration keys the protections read (profile names the keys)."""

    voltage_offset_v: int = 0  # protections.voltage.offset_key
    rcd_type: int = 0  # protections.rcd.type_key: 0 = AC + DC, 2 = AC only


class Protection:
    """The conditions of the electrical protections, as functions of measurements."""

    # The auto-recovering conditions this module owns (others, e.g. the external
    # meter's meter_missing, are set and cleared by whoever detects them).
    OWNED_AUTO = frozenset({"overvoltage", "undervoltage", "phase_missing"})

    def __init__(self, profile: Profile, defects: Container[str] = frozenset()) -> None:
        self.profile = profile
        self.defects = defects  # rig selftest hooks (sim/defects); empty when healthy
        p = profile.protections
        self.voltage, self.neutral, self.oc, self.rcd = p.voltage, p.neutral, p.overcurrent, p.rcd
        self.rated_a = profile.ratings["max_current_a"].value
        self._over_since: float | None = None

    def reset_timers(self) -> None:
        self._over_since = None

    # -- auto-recovering faults -------------------------------------------------------
    def voltage_faults(self, m: Measurements, s: Settings) -> set[str]:
        """001 App. II c_VoltageProtectionOffset, 001 VendorID2 0x1000/0x2000: a supply
        strictly outside [low - offset, high + offset] (000 App. I "by more than 10 %")
        suspends charging; the bit goes when the voltage is back (recovery auto). No
        hysteresis: the manuals give none."""
        low, high = self.voltage.limits(s.voltage_offset_v)
        if "overvoltage_ignores_offset" in self.defects:
            high = self.voltage.limits(0)[1]
        # Each phase on its own (a three-phase unit trips on its worst phase).
        if any(v > high for v in m.supply_v):
            return {"overvoltage"}
        # A charger that tells a missing phase from a low one (EV PLUS 003 §7.1.2 ERR
        # MIS): a phase below the level at which a supply counts as absent is missing
        # (profile faults.phase_missing note); elsewhere it is an undervoltage.
        if "phase_missing" in self.profile.conditions and len(m.supply_v) > 1 and \
                any(v < self.voltage.hw_undervoltage_v for v in m.supply_v) and \
                "evplus_missing_phase_shown_as_lvp" not in self.defects:
            return {"phase_missing"}
        under = m.supply_v
        if "compact_undervoltage_ignores_offset" in self.defects:
            low = self.voltage.limits(0)[0]
        if "compact_missing_phase_undetected" in self.defects:
            under = m.supply_v[:1]  # L1 only: a lost L2/L3 goes unnoticed
        if any(v < low for v in under):
            return {"undervoltage"}
        return set()

    # -- latched faults ---------------------------------------------------------------
    def trips(self, m: Measurements, s: Settings) -> set[str]:
        """The latched faults whose condition is present now."""
        found: set[str] = set()
        # RCD (000 §2.1.3.1: Type A 30 mA AC + 6 mA DC; 001 Technical specification).
        # Residual current flows only through an energised outlet, so the sensor is
        # read while the outlet is live. The twin trips at the rated value (≥); a
        # real RCD trips somewhere between 50 and 100 % of it.
        if m.outlet_live:
            if m.leakage_ac_ma >= self.rcd.ac_ma:
                found.add("leakage_ac")
            # 001 App. II c_RCDProtectionType: 0 = AC + DC, 2 = AC only.
            if s.rcd_type != 2 and m.leakage_dc_ma >= self.rcd.dc_ma:
                found.add("leakage_dc")  # EV NET shows 0x0001 with it (sets_also)
        # Neutral / PEN (001 Technical specification: V_N-PE > 70 Vrms; 001 VendorID2
        # 0x0002: L and N swapped, N–PE voltage, increased PE resistance = PE open).
        if m.ln_swapped or m.pe_open or m.n_pe_v > self.neutral.n_pe_max_v:
            found.add("neutral_fault")
        if self._overcurrent(m):
            found.add("overcurrent")
        # Temperature (001 Appendix I thresholds, 000 App. I 0x0800: "more than 79").
        if self.profile.derated_current(m.temperature_c) is None:
            found.add("overtemperature")
        # Stuck relay (001 VendorID2 0x0010 and 0x40000/0x80000). The circuit measures
        # the live conductor at the outlet, so a welded relay is the live contact
        # closed when it should be open (0x40000); 0x0010 "did not change position as
        # expected" is set with it (our choice: the manuals do not say whether the
        # contact-level code comes alone).
        # The neutral pole the same way (0x10000 closed when expected open, 0x20000
        # open when expected closed).
        if m.supply_v[0] > 0:  # the relay's sense reads the L1 pole and N
            for closed, welded, stuck_open in (
                (m.outlet_live, "relay_live_welded", "relay_live_stuck_open"),
                (m.neutral_closed, "relay_neutral_welded", "relay_neutral_stuck_open"),
            ):
                if closed != m.relay_cmd:
                    pole = stuck_open if m.relay_cmd else welded
                    found |= {"relay_fault", pole}
        # Tamper (001 VendorID2 0x100000; 004 §4.5). The EVNET documents do not say
        # whether it stops charging (004 calls it a soft fault on the COMPACT): the
        # twin treats it as any RTM fault — the contactor opens — a cover open on a
        # live unit being a safety event.
        if m.tamper:
            found.add("tamper_cover")
        # EV PLUS (003 §5 'Socket or plug over temperature protection', ERR OCT; §7.1.2
        # ERR FAN): the connector's own sensor above its profile limit; the fan read
        # blocked while the board drives it — while the relay is closed (profile
        # faults.fan_failed note).
        plug = self.profile.protections.connector_temperature
        if plug is not None and m.connector_temperature_c > plug.fault_above_c:
            found.add("connector_overtemperature")
        if m.fan_blocked and m.relay_cmd:
            found.add("fan_failed")
        return found

    def _overcurrent(self, m: Measurements) -> bool:
        """001 VendorID2 0x0004 / 000 App. I: more than 10 % above the PRESENT offered
        current for more than 6 s; 001 Technical specification: hardware trip when
        I_L > 1.2 × I_max, immediately (the documents give no delay)."""
        worst = max(m.ev_a, default=0.0)  # per phase: the most loaded phase decides
        if worst > self.oc.hw_trip_factor * self.rated_a:
            return True
        # rig selftest: the margin of the maximum current, not the present offer.
        present = self.rated_a if "overcurrent_margin_of_maximum" in self.defects else m.offered_a
        if worst > present * (1 + self.oc.margin_pct / 100.0) and worst > 0:
            if self._over_since is None:
                self._over_since = m.now
            elif m.now - self._over_since > self.oc.delay_s:
                return True
        else:
            self._over_since = None
        return False

    # -- the fault set ----------------------------------------------------------------
    def apply(self, active: set[str], m: Measurements, s: Settings) -> set[str]:
        """The present conditions after one evaluation: the voltage faults follow the
        supply, the latched ones add to what is there."""
        # A voltage fault whose profile lists no "auto" recovery latches like a trip:
        # 003 §5 (EV PLUS) "not automatically reclosed" — it stays until its rule.
        follows = {c for c in self.OWNED_AUTO
                   if c not in self.profile.conditions or self.profile.fault(c).auto_recovery}
        if "overtemperature_auto_recovers" in self.defects:
            follows = follows | {"overtemperature"}  # cleared as soon as it cools down
        return (active - follows) | self.voltage_faults(m, s) | self.trips(m, s)


class Contactor:
    """The main relay with its switching delay: closes CONTACTOR_CLOSE_S after the
    firmware decides to charge, opens CONTACTOR_OPEN_S after it decides to stop
    (both inside the profile's IEC 61851-1 bounds, checked here)."""

    def __init__(self, timing: Timing, open_s: float = CONTACTOR_OPEN_S,
                 close_s: float = CONTACTOR_CLOSE_S) -> None:
        if not (open_s <= timing.contactor_open_max_s and close_s <= timing.contactor_close_max_s):
            raise ValueError("contactor delays outside the profile's timing bounds")
        self.open_s, self.close_s = open_s, close_s
        self.closed = False
        self._since: float | None = None

    def update(self, want: bool, now: float) -> bool:
        if want == self.closed:
            self._since = None
            return self.closed
        if self._since is None:
            self._since = now
        # The firmware wakes at the deadline itself (a spec-time timer): a rounding
        # error of the subtraction must not push the switch to the next tick.
        if now - self._since >= (self.close_s if want else self.open_s) - 1e-9:
            self.closed, self._since = want, None
        return self.closed

    def due_in(self, now: float) -> float | None:
        """Spec seconds until a pending switch happens (None: nothing pending)."""
        if self._since is None:
            return None
        delay = self.open_s if self.closed else self.close_s
        return max(0.0, self._since + delay - now)


@dataclass
class BoardSensors:
    """Board inputs beyond the relay's temperature (EV PLUS 003 §5, §7.1.2): the
    socket's or tethered plug's temperature sensor and the fan's tachometer. The bench
    sets them through the service console (sensor overrides, as ``temp``)."""

    connector_temperature_c: float = AMBIENT_C
    fan_blocked: bool = False


class Actuator:
    """The socket's lock actuator (002 §2.4): up to ``attempts`` tries to lock or
    unlock, then the charger faults. ``jam(n)`` makes the next n tries fail
    (math.inf = until freed). The manual gives no time per attempt: the twin makes
    them back to back."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self.jammed_for: float = 0
        self.last_attempts = 0  # tries the last operation took (for diagnostics/tests)
        self.locked = False  # the pin's position (a jammed operation leaves it as it was)

    def jam(self, attempts: float = math.inf) -> None:
        self.jammed_for = attempts

    @property
    def jammed(self) -> bool:
        return self.jammed_for > 0

    def operate(self, lock: bool | None = None) -> bool:
        """One lock (``lock=True``) or unlock operation: True when one of the attempts
        succeeded, and the pin is then where it was sent."""
        for attempt in range(1, self.attempts + 1):
            self.last_attempts = attempt
            if self.jammed_for > 0:
                self.jammed_for -= 1
                continue
            if lock is not None:
                self.locked = lock
            return True
        return False


class BoardSupply:
    """The board's own supply protection (001 Technical specification: undervoltage
    shutdown at 115 Vrms, overvoltage at 300 Vrms, both ±10 V — the twin uses the
    nominal values). Below 115 V the board is off and boots when the voltage is
    back. Above 300 V it shuts down and stays off (latched) until the supply falls
    below the undervoltage level, i.e. the mains is switched off and on: our choice,
    the manuals do not say how the shutdown recovers."""

    def __init__(self, voltage: VoltageProtection) -> None:
        self.voltage = voltage
        self.over_latched = False

    def board_on(self, supply_v: float) -> bool:
        if supply_v > self.voltage.hw_overvoltage_v:
            self.over_latched = True
        elif supply_v < self.voltage.hw_undervoltage_v:
            self.over_latched = False
            return False
        return not self.over_latched
