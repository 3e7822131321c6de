"""The twin's front panel as the Cabur EV PLUS shows it (003 §7.1): the character
display (AREA1), the LED belt around the housing and the four indicator LEDs (AREA2),
as one :class:`~evrig.sim.instruments.panel_render.PanelState` per instant — what the
virtual bench's camera films.

Two parts, as the LED ring (led_ring.py):

- :func:`panel_at`, the rules, pure: from :class:`PanelFacts` (the firmware's state at
  one evaluation) and the profile, what is lit at spec time ``t``. Blink phase and the
  display's rotation are functions of ``t``, so a camera sees them wherever it samples.
- :class:`FrontPanel`: the facts read from the twin after each evaluation of its
  firmware (the twin's ``on_evaluated`` listeners) and every ``REFRESH_S`` (refresh.py), kept as
  immutable snapshots stamped with the spec time of each change, so a camera server's
  thread asks :meth:`FrontPanel.state_at` without walking the firmware's structures
  while the bench loop changes them.

Every colour, blink rate, format, rotation period and string is the profile's
(``lights``, ``display``, ``faults``, ``upgrade``); the code holds only which row of a
table a firmware state selects, each rule citing 003 or the profile note it follows.

What the firmware does not expose, the panel cannot show (it shows nothing invented):
- the WiFi module: no mode, no AP clients, no module fault. The twin talks OCPP, which
  003 allows only in WiFi CLIENT mode (§8.1.3, §8.1.4), over a network that is always
  there: the WiFi indicator shows ``ClientConnected`` (:data:`WIFI_ROW`);
- a web-app upgrade (003 §12, issue 13 item 4): nothing says one ran or how it ended.
  :attr:`PanelFacts.upgrade_result` (a word of the profile's ``upgrade.results``)
  selects the string; the twin leaves it None until its firmware records an outcome;
- the supply frequency: the firmware's meter (metering.MeterReading) has none, so the
  panel reads the frequency at the board's supply terminals (the firmware's circuit).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from evrig.rig.clock import Clock
from evrig.rig.profile import Led, LedRow, Profile
from evrig.rig.profile_vocabulary import OCPP_STATUSES
from evrig.sim.charger.fw_base import FirmwareBase
from evrig.sim.charger.refresh import PeriodicRefresh
from evrig.sim.charger.twin import BOOT_DELAY_S
from evrig.sim.instruments.panel_render import PanelState

MESSAGE_DEFECT_S = 5.0  # evplus_err_string_times_out (sim/defects/evplus.yaml)
HISTORY = 1024  # snapshots kept (one per evaluation while charging: minutes of history)
UNLIT = "dark_grey"  # the profiles' swatch for an unlit light
# The WiFi indicator's row (module docstring): CLIENT mode, connected (003 §7.1.3).
WIFI_ROW = "ClientConnected"
# The charging indicator's row by connector status (profile lights.charging note: steady
# while Charging, blinking while SuspendedEV or SuspendedEVSE, off otherwise).
CHARGING_ROWS = {"Charging": "Charging", "SuspendedEV": "Suspended",
                 "SuspendedEVSE": "Suspended"}
CHARGING_IDLE = "Idle"
# Each indicator's rows, for the check of a profile (FrontPanel refuses a profile
# whose tables lack a row these rules select).
INDICATOR_ROWS: dict[str, tuple[str, ...]] = {
    "wifi": (WIFI_ROW,),
    "plug": ("Connected", "Disconnected"),
    "charging": (*sorted(set(CHARGING_ROWS.values())), CHARGING_IDLE),
    "fault": ("Fault", "NoFault"),
}


@dataclass(frozen=True)
class PanelFacts:
    """What the front panel depends on, read from the firmware at one instant.
    ``faults``: the present conditions, highest rank first (profile_faults.fault_table).
    ``session_start``: spec time the transaction started, None without one.
    ``rotation_since``: spec time the display's present rotation began."""

    powered: bool = False
    self_test_until: float = -math.inf  # spec time the power-on self-test ends
    status: str = "Available"  # the connector status (OCPP 1.6)
    online: bool = False  # the backend link (the light tables' online/offline column)
    plugged: bool = False  # an EV on the pilot (CP state B, C or D)
    faults: tuple[str, ...] = ()
    session_start: float | None = None
    voltage_v: float = 0.0  # L1 (profile display.rotation.voltage_v note)
    current_a: float = 0.0  # L1 (profile display.rotation.current_a note)
    frequency_hz: float = 0.0
    energy_kwh: float = 0.0  # delivered in the session
    upgrade_result: str | None = None  # a key of the profile's upgrade.results
    rotation_since: float = -math.inf
    # Until when a fault string may show: always, but on a twin with the rig selftest
    # defect evplus_err_string_times_out (sim/defects/evplus.yaml).
    message_until: float = math.inf


OFF = PanelFacts()


# -- the rules (pure) -------------------------------------------------------------------
def colour_at(light: Led, row: LedRow, online: bool, t: float) -> str:
    """The colour ``row`` of ``light`` lights at spec time ``t``: its two patches
    identical = steady; different = the first for ``duty`` of each period of the row's
    blink class, then the second (free-running timer, as led_ring.py)."""
    first, second = row.pattern(online)
    if first == second:
        return first
    blink = light.blink_of(row.status)
    if blink is None:
        raise ValueError(f"light {light.name}: row {row.status} blinks with no blink class")
    return first if t % blink.period_s < blink.duty * blink.period_s else second


def indicator_rows(facts: PanelFacts) -> dict[str, str]:
    """The row each indicator shows (003 §7.1.3, read as the profile notes say)."""
    return {
        # 003 §7.1.3 WiFi network mode and status; §8.1.3: OCPP runs in CLIENT mode.
        "wifi": WIFI_ROW,
        # 003 §7.1.3 Plug status; profile lights.plug note: it follows the plug.
        "plug": "Connected" if facts.plugged else "Disconnected",
        # 003 §7.1.3 Charging process; profile lights.charging note.
        "charging": CHARGING_ROWS.get(facts.status, CHARGING_IDLE),
        # 003 §7.1.3 Fault indication; profile lights.fault note: any fault present.
        "fault": "Fault" if facts.faults else "NoFault",
    }


def message(profile: Profile, facts: PanelFacts) -> str | None:
    """A string that replaces the rotation, None for the rotation. An upgrade's result
    first (003 §12 step 8: read it before restarting; profile ``upgrade``), then the
    present fault ranked highest (003 §7.1.2 error codes; with several, the first in
    the profile's ``faults:`` order — the profile's choice, 003 does not say)."""
    if facts.upgrade_result is not None and profile.upgrade is not None:
        return profile.upgrade.results[facts.upgrade_result].display
    for condition in facts.faults:
        shown = profile.fault(condition).display
        if shown is not None:
            return shown
    return None


def reading(quantity: str, facts: PanelFacts, t: float) -> float:
    """A rotation item's value at ``t`` (DISPLAY_QUANTITIES). The duration counts whole
    minutes since the session started (our choice: a timer shows completed minutes;
    003 §7.1.2 gives only the 'ccc' Min format)."""
    if quantity == "duration_min":
        if facts.session_start is None:
            return 0.0
        return float(math.floor(max(0.0, t - facts.session_start) / 60.0))
    values = {"voltage_v": facts.voltage_v, "current_a": facts.current_a,
              "frequency_hz": facts.frequency_hz, "energy_kwh": facts.energy_kwh}
    return values[quantity]


def display_at(profile: Profile, facts: PanelFacts, t: float) -> tuple[str, str | None]:
    """(text, unit lit beside it) at ``t``. 003 §7.1.2: the values 'are presented in
    rotation'; the charging-only items (profile ``charging_only``) while a session is in
    progress, paused or not (003 §7.1.1: output current 'only during the charging
    process'). Each item shows ``item_s`` (profile ``display``); the rotation starts at
    its first item whenever it (re)appears — after the self-test, when a session starts
    or ends, when a fault string goes (our choice, 003 is silent)."""
    shown = message(profile, facts)
    if shown is not None and t < facts.message_until:
        return shown, None
    display = profile.display
    if display is None:
        return "", None
    items = display.items(facts.session_start is not None)
    start = max(facts.rotation_since, facts.self_test_until)
    item = items[int(max(0.0, t - start) // display.item_s) % len(items)]
    # 003 §7.1.2 Unit column: the unit lit beside the digits (profile display note).
    return item.render(reading(item.quantity, facts, t)), item.unit


def panel_at(profile: Profile, facts: PanelFacts, t: float) -> PanelState:
    """The panel at spec time ``t`` (every light of the profile named; dark_grey =
    unlit). Off: all dark. Power-on self-test (003 §7.1.1 LED Belt: white, no blinking):
    the belt's power-up row alone, the display blank (our choice: 003 gives no
    self-test text, and the 'welcome message' of §12 step 8 has none either)."""
    lights = dict.fromkeys(profile.lights, UNLIT)
    if not facts.powered:
        return PanelState("", lights, None)
    belt = profile.led
    if t < facts.self_test_until:
        if belt.powerup is None:
            raise ValueError(f"lights.{belt.name}: no power-up row to show the self-test")
        lights[belt.name] = colour_at(belt, belt.powerup, facts.online, t)
        return PanelState("", lights, None)
    # 003 §7.1.1 LED Belt table, one row per connector status (profile lights.belt
    # note: Stand-By = Available, setup = Preparing, Charging, pause = Suspended*,
    # error = Faulted; the rest the profile's choice).
    lights[belt.name] = colour_at(belt, belt.row(facts.status), facts.online, t)
    for name, row in indicator_rows(facts).items():
        light = profile.lights.get(name)
        if light is not None:
            lights[name] = colour_at(light, light.row(row), facts.online, t)
    text, unit = display_at(profile, facts, t)
    return PanelState(text, lights, unit)


def check_profile(profile: Profile) -> None:
    """ValueError unless the profile has what these rules select: a display, a belt
    row for every connector status and the power-up, each indicator's rows, a blink
    class for every blinking row."""
    where = f"{profile.file or profile.model}:"
    if profile.display is None:
        raise ValueError(f"{where} no `display:` table; the front panel shows a display")
    belt = profile.led
    if belt.powerup is None:
        raise ValueError(f"{where} lights.{belt.name}: no `powerup:` row (the self-test)")
    needed = [(belt, status) for status in [*sorted(OCPP_STATUSES), belt.powerup.status]]
    for name, light in profile.lights.items():
        if light.kind != "indicator":
            continue
        if name not in INDICATOR_ROWS:
            raise ValueError(f"{where} lights.{name}: an indicator the twin's front panel "
                             f"has no rule for (it knows {', '.join(INDICATOR_ROWS)})")
        needed += [(light, row) for row in INDICATOR_ROWS[name]]
    for light, status in needed:
        try:
            row = light.row(status)
        except KeyError as exc:
            raise ValueError(f"{where} lights.{light.name}: no row {status}") from exc
        if (row.blinking(True) or row.blinking(False)) and light.blink_of(status) is None:
            raise ValueError(f"{where} lights.{light.name}.rows.{status}: blinks with no "
                             "blink class")


# -- the twin's panel: snapshots --------------------------------------------------------
class PanelSource(Protocol):
    """What the panel reads of a twin (twin.ChargerTwin, or a test's stand-in)."""

    @property
    def powered(self) -> bool: ...

    @property
    def powered_at(self) -> float | None: ...

    @property
    def fw(self) -> FirmwareBase | None: ...


class FrontPanel:
    """The front panel of one twin. ``twin`` is read lazily (the bench builds the panel
    and the twin in either order)."""

    def __init__(self, profile: Profile, clock: Clock,
                 twin: Callable[[], PanelSource | None]) -> None:
        check_profile(profile)
        self._profile = profile
        self._clock = clock
        self._twin = twin
        self.facts = OFF
        # (spec time, facts) of each change, newest last.
        self._changes: deque[tuple[float, PanelFacts]] = deque([(-math.inf, OFF)],
                                                               maxlen=HISTORY)
        self._lock = threading.Lock()
        self._periodic = PeriodicRefresh(clock, self.refresh)

    # -- state -------------------------------------------------------------------------
    def refresh(self) -> PanelFacts:
        """Take a new snapshot from the twin (call on the bench loop: the twin's
        ``on_evaluated`` listener). A change is stamped with the spec time it is seen."""
        now = self._clock.now()
        facts = self._read(now)
        facts = replace(facts, rotation_since=self._rotation_since(facts, now),
                        message_until=self._message_until(facts, now))
        if facts != self.facts:
            with self._lock:
                self._changes.append((now, facts))
            self.facts = facts
        return self.facts

    def facts_at(self, t: float) -> PanelFacts:
        """The facts in force at spec time ``t`` (thread-safe)."""
        with self._lock:
            changes = list(self._changes)
        i = bisect.bisect_right([stamp for stamp, _ in changes], t)
        return changes[i - 1][1] if i else OFF

    def state_at(self, t: float) -> PanelState:
        """What the panel showed at spec time ``t`` (thread-safe)."""
        return panel_at(self._profile, self.facts_at(t), t)

    def state(self) -> PanelState:
        return self.state_at(self._clock.now())

    def _rotation_since(self, facts: PanelFacts, now: float) -> float:
        """The previous rotation goes on if the panel was on since the same power-on,
        showed the rotation and still does, for the same kind of session."""
        before = self.facts
        same = (before.powered and facts.powered
                and before.self_test_until == facts.self_test_until
                and (before.session_start is None) == (facts.session_start is None)
                and message(self._profile, before) is None
                and message(self._profile, facts) is None)
        return before.rotation_since if same else now

    def _message_until(self, facts: PanelFacts, now: float) -> float:
        """rig selftest defect evplus_err_string_times_out: the display task drops a
        fault string MESSAGE_DEFECT_S after it appeared (the fault stays latched)."""
        twin = self._twin()
        fw = twin.fw if twin is not None else None
        if fw is None or not fw.defect("evplus_err_string_times_out") \
                or message(self._profile, facts) is None:
            return math.inf
        if message(self._profile, self.facts) is None or self.facts.message_until == math.inf:
            return now + MESSAGE_DEFECT_S
        return self.facts.message_until

    def _read(self, now: float) -> PanelFacts:
        twin = self._twin()
        fw = twin.fw if twin is not None else None
        if twin is None or fw is None or not twin.powered:
            return OFF
        conditions = self._profile.conditions
        tx = fw.tx
        session_start, energy_kwh = None, 0.0
        if tx is not None:
            # The charger's own clock (tx.start) mapped onto the spec axis, to the ms.
            session_start = round(now - (fw.utc() - tx.start).total_seconds(), 3)
            energy_kwh = max(0.0, fw.meter.energy_wh - tx.meter_start) / 1000.0
        # The firmware starts BOOT_DELAY_S after power-on (twin.ChargerTwin._run): until
        # then the charger is in its power-on self-test (profile lights.belt.powerup
        # note: stand-by once the tests pass, whether or not a backend answers).
        powered_at = twin.powered_at
        return PanelFacts(
            powered=True,
            self_test_until=-math.inf if powered_at is None else powered_at + BOOT_DELAY_S,
            status=fw.connector_status(),
            online=bool(fw.link.online),
            # rig selftest defect: the plug indicator driven by the relay, not the plug.
            plugged=fw.contactor if fw.defect("evplus_plug_indicator_follows_charge")
            else fw.plugged,
            faults=tuple(sorted(fw.active, key=lambda c: conditions[c].rank)),
            session_start=session_start,
            voltage_v=fw.meter.voltage_v,
            current_a=fw.meter.current_a,
            frequency_hz=fw.circuit.at(now).hz,
            energy_kwh=energy_kwh,
            upgrade_result=fw.nvm.upgrade_result,
        )

    # -- running on the bench loop (sim/charger/refresh.py) -----------------------------
    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
