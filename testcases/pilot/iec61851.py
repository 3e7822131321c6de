"""IEC 61851-1 values the pilot, proximity and timing testcases expect (design §8).

The charger profile (``spec``) is the charger's manual; what the standard fixes for
every Mode 3 charger lives here, once, so that no testcase carries its own copy.
Cited as "IEC 61851-1 (design §8)" unless a line says otherwise.
"""

from __future__ import annotations

# CP levels the EVSE's +12 V / −12 V generator gives with the EV's resistors (design §8).
CP_NOMINAL_V = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0, "E": 0.0, "F": -12.0}
CP_TOLERANCE_V = 1.0  # ±1 V on every level (design §8)
CP_LOW_V = -12.0  # the negative half of the PWM, EV diode present (state F level)

# PWM (design §8): 1 kHz, 980–1020 Hz.
PWM_FREQ_MIN_HZ = 980.0
PWM_FREQ_MAX_HZ = 1020.0
# Duty accuracy of the EVSE's generator. NOT in design §8: IEC 61851-1 (Annex A,
# generator characteristics) gives the pulse width as ±5 µs, which at 1 kHz is
# ±0.5 % duty. To confirm against the standard's text; the one place to change it.
DUTY_TOLERANCE_PCT = 0.5


def duty_for_amps(amps: float) -> float:
    """Duty (%) that offers ``amps`` (design §8): 10–85 % ↔ I = duty × 0.6 (6–51 A);
    85–96 % ↔ I = (duty − 64) × 2.5 (51–80 A)."""
    if not 6.0 <= amps <= 80.0:
        raise ValueError(f"{amps} A has no PWM duty (6–80 A)")
    return amps / 0.6 if amps <= 51.0 else amps / 2.5 + 64.0


def amps_for_duty(duty_pct: float) -> float:
    """Current (A) a duty offers (design §8); 0 for no charging (< 8 % or > 97 %)."""
    if duty_pct < 8.0 or duty_pct > 97.0:
        return 0.0
    if duty_pct < 10.0:
        return 6.0
    if duty_pct <= 85.0:
        return duty_pct * 0.6
    return min((duty_pct - 64.0) * 2.5, 80.0)


def amps_tolerance(amps: float) -> float:
    """The offered-current uncertainty that DUTY_TOLERANCE_PCT gives at ``amps``."""
    return DUTY_TOLERANCE_PCT * (0.6 if amps <= 51.0 else 2.5)


# Proximity pilot bands (design §8): resistor PP→PE → cable ampacity. The charger's
# profile repeats them as ``spec.pp_bands``; the testcases take band edges from the
# profile and check here that the profile says what the standard says.
PP_BANDS_OHM = {13: (1100.0, 2460.0), 20: (400.0, 936.0), 32: (164.0, 308.0),
                63: (80.0, 140.0)}
PP_NOMINAL_OHM = {13: 1500.0, 20: 680.0, 32: 220.0, 63: 100.0}

# Timing (design §8).
CONTACTOR_OPEN_MAX_S = 0.1  # after C → B
CONTACTOR_CLOSE_MAX_S = 3.0  # after B → C
