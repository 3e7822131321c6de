"""The installation's measurement on RS-485 as one EVSE limit (the offered current's
slot 3, charging.py): what the supply leaves the charger once the other loads have
theirs.

Two chargers, one structure — a device on RS-485 channel 1 (modbus_master.py)
measures the installation, the charger adds its own draw back and offers the rest:

- CT clamp (EV NET 001 VendorID1 3 ExtTransformerCurrentLimit, COMPACT 004 §4.2): per
  phase, main fuse − (household − own current); ``ext_transformer_limit``.
- External meter (EV PLUS 003 §10 "Power management with external meter interface"):
  in power, contracted − (installation − own power), the contracted power set by the
  web app's Max Current (§10 step 4 → §8.1.2 step 4); ``contracted_power_limit``. The
  loads have priority (§10 "Important note"): a limit below the IEC 61851-1 minimum
  makes the firmware pause (no PWM, SuspendedEVSE: charging.py, core.py) until the
  loads leave enough again. The profile's rs485 note gives our readings of §10.

Which one a charger has is its profile's: the c_MainFuseLimit key (CT clamp) or
``rs485.meter_use: power_management``. A power-management meter measures the
installation, not the charge: its readings never replace the charger's own meter
(``metering_meter``), unlike the EV NET's MID meter (004 §3.6).
"""

from __future__ import annotations

from collections.abc import Sequence

from evrig.rig.profile import Profile
from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.modbus_master import MeterData, ModbusMaster, ext_transformer_limit


def power_managed(profile: Profile) -> bool:
    """The charger uses its RS-485 meter for power management (EV PLUS 003 §10)."""
    return profile.rs485 is not None and profile.rs485.meter_use == "power_management"


def contracted_power_limit(contracted_a: float, nominal_v: float, phases: int,
                           installation_w: float, own_w: float) -> float:
    """003 §10: P_charger = P_contracted − P_other loads, per phase in A.

    The contracted power is ``contracted_a`` × ``nominal_v`` × ``phases`` (16 A → 3.68
    kW, §10's "3.7 KW"); the other loads are the installation's power less the charger's
    own (the meter sees both; never below 0); the rest is offered on each phase at the
    nominal voltage. §10's example: 16 A, 2 kW of other loads → (3680 − 2000) / 230 =
    7.3 A. Never below 0."""
    per_amp_w = nominal_v * phases
    other_w = max(0.0, installation_w - own_w)
    return max(0.0, contracted_a - other_w / per_amp_w)


def installation_power_w(data: MeterData, phases: int) -> float | None:
    """The installation's active power; None unread. A three-phase unit's meter is
    three-phase (SDM630): its total register (30053), else the sum of its phases. A
    one-phase unit's meter is single-phase (SDM230): its L1 power — 30053 is none of
    its registers, whatever a meter answers there (profile rs485 note)."""
    if phases > 1 and data.total_power_w is not None:
        return data.total_power_w
    if data.power_w:
        return sum(data.power_w)
    return data.total_power_w


def own_power_w(supply_v: Sequence[float], own_a: Sequence[float]) -> float:
    """The charger's own draw as its internal meter measures it: V × I per phase."""
    return sum(v * a for v, a in zip(supply_v, own_a, strict=False))


def installation_limit_a(profile: Profile, master: ModbusMaster | None,
                         fw: FirmwareBase | None) -> float | None:
    """The limit of slot 3 for this charger: CT clamp, external meter, or None (no
    device configured, no valid reading, or a family without either)."""
    if master is None or fw is None:
        return None
    snap = fw.circuit.at()
    if "c_MainFuseLimit" in profile.config_keys:
        fuse_key = profile.key("c_MainFuseLimit")
        per_amp = 10 if fuse_key.unit == "0.1 A" else 1
        fuse_a = fw.config.int(fuse_key.name, int(fuse_key.default)) / per_amp
        if fw.defect("compact_dlm_ignores_main_fuse"):
            fuse_a = int(fuse_key.default) / per_amp  # the factory 60 A, whatever is set
        own = list(snap.ev_amps_per_phase())
        limit = master.ct_limit(fuse_a, own)
        if limit is None or not fw.board.defects:
            return limit
        return _defective_ct_limit(fw, fuse_a, master.household_a or [], own, limit)
    if not power_managed(profile):
        return None
    data = master.meter_data()
    phases = fw.phases_configured()
    installation_w = installation_power_w(data, phases) if data is not None else None
    if installation_w is None:
        return None  # nothing read yet, or the meter is missing (ERR MET stops charging)
    # The web app's Max Current; not set: the rated current (web_client note).
    max_a = fw.nvm.max_current_a
    if fw.defect("evplus_pm_contracted_power_from_rating"):
        max_a = None  # rig selftest: the rated current, whatever the installer set
    contracted = float(profile.ratings["max_current_a"].value if max_a is None else max_a)
    own_w = own_power_w(snap.supply_v[:phases], snap.ev_amps_per_phase())
    if fw.defect("evplus_pm_counts_own_draw"):
        own_w = 0.0  # rig selftest: the charger's own draw counted as another load
    return contracted_power_limit(
        contracted, float(profile.ratings["nominal_voltage_v"].value), phases,
        installation_w, own_w)


def _defective_ct_limit(fw: FirmwareBase, fuse_a: float, household: list[float],
                        own: list[float], limit: float) -> float:
    """rig selftest hooks (sim/defects/compact.yaml): DLM bugs of a three-phase unit."""
    if fw.defect("compact_dlm_l1_only"):  # L2/L3 clamps never read
        return ext_transformer_limit(fuse_a, household[:1], own[:1]) or 0.0
    if fw.defect("compact_dlm_per_unit"):  # the phases summed against a per-phase fuse
        return max(0.0, fuse_a - max(0.0, sum(household) - sum(own)))
    return limit


def metering_meter(profile: Profile, master: ModbusMaster | None) -> MeterData | None:
    """The RS-485 meter whose readings replace the internal meter's (EV NET's MID
    meter, 004 §3.6); None for a power-management meter (it measures the installation)
    or without one."""
    if master is None or power_managed(profile):
        return None
    return master.meter_data()
