"""Charging profiles (OCPP 1.6 §3.13, Smart Charging profile).

Stacks ChargePointMaxProfile, TxDefaultProfile and TxProfile by stack level and
turns them into a current limit at an instant and into a composite schedule.
Installed ChargePointMax and TxDefault profiles survive reboots; TxProfiles end
with their transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from evrig.sim.charger.auth import parse_time

MAX, TX_DEFAULT, TX = "ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"


@dataclass
class Installed:
    connector_id: int
    profile: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.profile["chargingProfileId"])

    @property
    def purpose(self) -> str:
        return str(self.profile["chargingProfilePurpose"])

    @property
    def stack_level(self) -> int:
        return int(self.profile["stackLevel"])


@dataclass
class TxContext:
    transaction_id: int | None
    start: datetime


class SmartCharging:
    def __init__(self, volts: float, phases: int) -> None:
        self.profiles: list[Installed] = []
        self._amps_per_watt = 1.0 / (volts * phases)
        self.phases = phases

    # -- SetChargingProfile / ClearChargingProfile -----------------------------
    def install(
        self, connector_id: int, profile: dict[str, Any], tx: TxContext | None,
        max_stack: int, max_periods: int, units: list[str], max_installed: int | None = None,
    ) -> str:
        purpose = profile["chargingProfilePurpose"]
        schedule = profile["chargingSchedule"]
        if profile["stackLevel"] > max_stack:
            return "Rejected"
        if len(schedule["chargingSchedulePeriod"]) > max_periods:
            return "Rejected"
        if schedule["chargingRateUnit"] not in units:
            return "Rejected"
        if purpose == MAX and connector_id != 0:
            return "Rejected"
        if purpose == TX:
            # A TxProfile needs a running transaction on that connector (§5.16.2).
            if connector_id == 0 or tx is None:
                return "Rejected"
            tid = profile.get("transactionId")
            if tid is not None and tx.transaction_id is not None and tid != tx.transaction_id:
                return "Rejected"
        kept = [
            p
            for p in self.profiles
            if p.id != profile["chargingProfileId"]
            and not (
                p.purpose == purpose
                and p.stack_level == profile["stackLevel"]
                and p.connector_id == connector_id
            )
        ]
        # MaxChargingProfilesInstalled (001 App. II, OCPP 1.6 §9.4): a profile that
        # replaces one takes its place; a new one beyond the maximum is Rejected.
        if max_installed is not None and len(kept) >= max_installed:
            return "Rejected"
        self.profiles = kept
        self.profiles.append(Installed(connector_id, dict(profile)))
        return "Accepted"

    def clear(
        self, profile_id: int | None, connector_id: int | None,
        purpose: str | None, stack_level: int | None,
    ) -> str:
        def hit(p: Installed) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        keep = [p for p in self.profiles if not hit(p)]
        removed = len(keep) != len(self.profiles)
        self.profiles = keep
        return "Accepted" if removed else "Unknown"

    def end_transaction(self) -> None:
        self.profiles = [p for p in self.profiles if p.purpose != TX]

    # -- evaluation ----------------------------------------------------------
    def _limit_of(self, p: Installed, at: datetime, tx: TxContext | None) -> float | None:
        """Amps ``p`` allows at ``at``, or None when it does not apply then."""
        prof, sched = p.profile, p.profile["chargingSchedule"]
        valid_from, valid_to = parse_time(prof.get("validFrom")), parse_time(prof.get("validTo"))
        if (valid_from and at < valid_from) or (valid_to and at >= valid_to):
            return None
        kind = prof.get("chargingProfileKind")
        if kind == "Relative":
            if tx is None:
                return None
            start = tx.start
        else:
            start = parse_time(sched.get("startSchedule")) or (tx.start if tx else at)
        if kind == "Recurring":
            period = timedelta(days=7 if prof.get("recurrencyKind") == "Weekly" else 1)
            while start + period <= at:
                start += period
        elapsed = (at - start).total_seconds()
        duration = sched.get("duration")
        if elapsed < 0 or (duration is not None and elapsed >= duration):
            return None
        limit = None
        for period_ in sorted(sched["chargingSchedulePeriod"], key=lambda x: x["startPeriod"]):
            if period_["startPeriod"] <= elapsed:
                limit = float(period_["limit"])
        if limit is None:
            return None
        if sched["chargingRateUnit"] == "W":
            limit *= self._amps_per_watt
        return limit

    def _top(self, purpose: str, connectors: tuple[int, ...], at: datetime,
             tx: TxContext | None) -> float | None:
        candidates = sorted(
            (p for p in self.profiles if p.purpose == purpose and p.connector_id in connectors),
            key=lambda p: -p.stack_level,
        )
        for p in candidates:
            if purpose == TX and tx is not None:
                tid = p.profile.get("transactionId")
                if tid is not None and tx.transaction_id is not None and tid != tx.transaction_id:
                    continue
            limit = self._limit_of(p, at, tx)
            if limit is not None:
                return limit
        return None

    def limit_at(self, at: datetime, tx: TxContext | None, connector_id: int = 1) -> float | None:
        """The smart-charging current limit in A at ``at`` (None = no profile applies)."""
        limits = [self._top(MAX, (0,), at, tx)]
        tx_limit = self._top(TX, (connector_id,), at, tx) if tx else None
        if tx_limit is None:
            tx_limit = self._top(TX_DEFAULT, (connector_id, 0), at, tx)
        limits.append(tx_limit)
        present = [x for x in limits if x is not None]
        return min(present) if present else None

    def composite(
        self, now: datetime, duration: int, unit: str, tx: TxContext | None,
        device_limit_a: float, connector_id: int = 1,
    ) -> dict[str, Any]:
        """GetCompositeSchedule's chargingSchedule for [now, now + duration]."""
        edges = {0.0}
        for p in self.profiles:
            sched = p.profile["chargingSchedule"]
            bases = [parse_time(sched.get("startSchedule")), tx.start if tx else None]
            for base in bases:
                if base is None:
                    continue
                for per in sched["chargingSchedulePeriod"]:
                    edges.add((base - now).total_seconds() + per["startPeriod"])
                if sched.get("duration") is not None:
                    edges.add((base - now).total_seconds() + sched["duration"])
            for key in ("validFrom", "validTo"):
                t = parse_time(p.profile.get(key))
                if t is not None:
                    edges.add((t - now).total_seconds())
        periods: list[dict[str, Any]] = []
        # OCPP 1.6 ChargingSchedulePeriod: whole-second startPeriods, strictly increasing.
        for offset in sorted({math.ceil(e) for e in edges if 0 <= math.ceil(e) < duration}):
            amps = self.limit_at(now + timedelta(seconds=offset), tx, connector_id)
            amps = device_limit_a if amps is None else min(amps, device_limit_a)
            value = round(amps if unit == "A" else amps / self._amps_per_watt, 1)
            if periods and periods[-1]["limit"] == value:
                continue
            period: dict[str, Any] = {"startPeriod": int(offset), "limit": value}
            if self.phases != 1:
                period["numberPhases"] = self.phases
            periods.append(period)
        return {
            "duration": duration,
            "startSchedule": now.isoformat().replace("+00:00", "Z"),
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods,
        }
