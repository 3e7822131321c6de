"""Charge times feature: the charger's clock (set from the backend's currentTime),
the charge-off periods and the randomized delayed start (001 App. II
c_ChargeOffPeriod1/2, c_MaxStartDelay; 004 §4.2 "Date & Charge Times Configuration":
peak periods on week days, applied offline, a random delay up to c_MaxStartDelay;
UK Smart Charge Points Regulations 2021). What the profile's ``charge_times`` note
records as our reading of the manuals."""

from __future__ import annotations

import random
from datetime import datetime, time

from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.ocpp_link import Payload

_RANDOM = random.Random()  # the delay of each start: random, as the regulation wants


def parse_period(value: str) -> tuple[bool, time, time] | None:
    """``enable,08:00,11:00`` → (enabled, start, end); None when malformed."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or parts[0] not in ("enable", "disable"):
        return None
    try:
        start, end = (datetime.strptime(p, "%H:%M").time() for p in parts[1:])
    except ValueError:
        return None
    return parts[0] == "enable", start, end


class ChargeTimes(FirmwareBase):
    def set_clock(self, result: Payload | None) -> None:
        """BootNotification.conf / Heartbeat.conf currentTime sets the charger's clock
        (OCPP 1.6 §4.2, §4.6)."""
        text = (result or {}).get("currentTime")
        if not isinstance(text, str):
            return
        try:
            told = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return
        self.nvm.rtc_offset = told - self.clock.utcnow()

    def charge_off_now(self) -> bool:
        """Inside an enabled charge-off period on a week day, while offline."""
        rules = self.profile.charge_times
        if rules is None or self.link.online:
            return False
        local = self.utc()
        if local.weekday() not in rules.weekdays and \
                not self.defect("compact_charge_off_weekends"):
            return False
        now = local.time()
        keys = rules.period_keys
        if self.defect("compact_charge_off_period2_ignored"):
            keys = keys[:1]
        for key in keys:
            period = parse_period(",".join(self.config.csl(key)))
            if period is None or not period[0]:
                continue
            _, start, end = period
            inside = start <= now < end if start <= end else (now >= start or now < end)
            if inside:
                return True
        return False

    def start_held(self) -> bool:
        """The session may not draw yet: a charge-off period, or its randomized delay
        (decided once, when a session starts offline; none when it starts online)."""
        rules = self.profile.charge_times
        session = self.plugin_session or self.tx is not None
        if not session or rules is None:
            self._start_after = None
            return False
        if self._start_after is None:
            delay = 0.0
            if not self.link.online:
                delay = _RANDOM.uniform(0, max(0, self.config.int(rules.max_delay_key, 0)))
            self._start_after = self.now() + delay
        return self.charge_off_now() or self.now() < self._start_after

