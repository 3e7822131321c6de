"""The firmware's state and what every feature module shares (firmware.py composes the
features): the NV records, the volatile state, the board, the OCPP link and the way a
feature declares the CSMS CALLs it answers (``ANSWERS``: action → method).

The features, one module each, own what they send and what they answer:
core.py (boot, status, availability, configuration, heartbeat, trigger, reset),
charging.py (offered current, PWM, contactor), authorization.py (cards, cache, local
list, remote start), transactions.py (start/stop, remote stop, unlock),
reservations.py, charging_profiles.py (smart charging), maintenance.py (firmware
update, diagnostics), meter_values.py, faults.py (protection, RTM codes).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile, Variant
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.board import BareBoard, Board
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.metering import MeterReading
from evrig.sim.charger.ocpp_link import Handler, OcppLink, Outgoing, Payload
from evrig.sim.charger.pilot import PilotReading
from evrig.sim.charger.protection import Actuator, Contactor, Protection
from evrig.sim.charger.smart_charging import SmartCharging, TxContext
from evrig.sim.electrical import Circuit

Reply = tuple[Payload, Callable[[], None] | None]
_RUNNING: set[asyncio.Task[Any]] = set()  # board-level actions in flight (reset, update)


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Transaction:
    local_id: int
    id_tag: str
    parent_id_tag: str | None
    meter_start: int
    start: datetime
    reservation_id: int | None = None
    transaction_id: int | None = None  # assigned by the backend
    ev_disconnected: bool = False
    suspended_by_auth: bool = False
    stop_id_tag: str | None = None  # card that stopped it (OCPP 1.6 §6.49 StopTransaction idTag)
    remote: bool = False  # started by RemoteStartTransaction (EV PLUS History: Start Mode)


@dataclass
class Authorization:
    id_tag: str
    parent_id_tag: str | None
    deadline: float  # spec time by which the EV must be plugged (ConnectionTimeOut)
    remote: bool = False
    charging_profile: dict[str, Any] | None = None


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


@dataclass
class Nvm:
    """What the charger keeps across power cycles and resets."""

    config: ConfigStore
    auth: AuthStore
    smart: SmartCharging
    firmware_version: str
    outbox: deque[Outgoing] = field(default_factory=deque)
    availability: dict[int, str] = field(default_factory=lambda: {0: "Operative", 1: "Operative"})
    open_tx: Transaction | None = None
    energy_wh: float = 0.0
    local_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    # The VendorID3 code for the next boot (None: a power-on, profile reset_reasons).
    reset_reason: int | None = None
    pending_stop_reason: str = "PowerLoss"
    last_alive: datetime | None = None  # the RTC time the board last ran (power-loss stop)
    # Offline Mode Configuration → Plug & Charge (000 §2.5.1, 004 §4.2): the profile's
    # factory setting until the web client changes it. Not an OCPP key.
    plug_and_charge: bool | None = None
    # The charger's clock against the bench's UTC, set from currentTime (charge_times).
    rtc_offset: timedelta = field(default_factory=timedelta)
    # The web client's NFC Configuration → Authorization List: tag → date added.
    web_cards: dict[str, str] = field(default_factory=dict)
    # Backend Configuration (000 §2.5.1): None = as commissioned (the rig's backend).
    server_address: str | None = None
    uid: str | None = None
    # Configuration of External Devices → Phases Number (004 §4.2); None = as
    # commissioned: the unit's wiring (the bench's variant).
    phases: int | None = None
    # Locker Configuration → Unlock Connector On Charging Session End (004 §4.2, web
    # only, no configuration key); None = the factory's Enable (or no such setting).
    unlock_on_session_end: bool | None = None
    # EV PLUS (003): the RFID cards paired in the web app (§8.1.2 step 11, at most
    # profile rfid.max_cards, slot i = "Card No. i+1"; None = empty slot), the charging
    # records of its History page (§8.1.2 step 7, dicts of the page's columns, oldest
    # first), and the last web-app upgrade's outcome (a key of profile upgrade.results,
    # shown on the display until the next power-on; None = none).
    rfid_cards: list[str | None] = field(default_factory=lambda: [None, None, None])
    charge_records: list[dict[str, str]] = field(default_factory=list)
    upgrade_result: str | None = None
    # EV PLUS web app System parameter settings (003 §8.1.2 step 4): label → the
    # choice (Charger Power, RFID Type, Charging Mode, CP Type), absent = the factory's
    # (sim/charger/web_evplus_actions.py); Max Current in A, None = the rated current.
    system_parameters: dict[str, str] = field(default_factory=dict)
    max_current_a: int | None = None


class FirmwareBase:
    """One connector, one transaction at a time (the EVNET has one outlet)."""

    ANSWERS: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        *,
        profile: Profile,
        variant: Variant,
        clock: Clock,
        relays: Callable[[], dict[str, bool]],
        pp_ohms: Callable[[], float | None],
        link_factory: Callable[[FirmwareBase], OcppLink],
        nvm: Nvm,
        serial: str,
        circuit: Circuit | None = None,
        on_evaluated: Callable[[], None] = lambda: None,
        board: Board | None = None,
    ) -> None:
        self.profile = profile
        # Called at the end of each evaluation, before anything it queued is sent: the
        # lights take the new status first, so a StatusNotification never announces a
        # status the ring does not show yet.
        self._on_evaluated = on_evaluated
        self.variant = variant
        self.clock = clock
        self._relays = relays
        self._pp_ohms = pp_ohms
        self.nvm = nvm
        self.serial = serial
        self.config = nvm.config
        self.circuit = circuit or Circuit(variant.phases)
        # The board around the firmware: sensors, actuator, RS-485, board-level actions.
        self.board: Board = board or BareBoard(Actuator(profile.protections.actuator.attempts))
        if self.defect("compact_phases_not_persisted"):
            nvm.phases = None  # the web client's Phases Number lost at boot (004 §4.2)
        self.link = link_factory(self)
        self.meter = MeterReading(energy_wh=0.0 if self.defect("energy_register_resets_at_boot")
                                  else nvm.energy_wh)
        self.wake = asyncio.Event()
        # volatile state (lost on power off)
        self.scheduled_availability: dict[int, str] = {}
        self._odd_pilot_since: float | None = None
        self._a_since: float | None = None
        # Tamper and other board events seen at the last evaluation, and how many
        # times one has begun: each occurrence is reported (004 §4.5 "Further tamper
        # events will be reported to the OCPP backend at every occurrence").
        self._events_seen: set[str] = set()
        self.fault_events = 0
        self.boot_status: str | None = None  # None until the first BootNotification answer
        self.tx: Transaction | None = None
        self.authorization: Authorization | None = None
        self.reservation: Reservation | None = None
        self.finishing = False
        # An offline plug-in charge (000 §1.2): the charger works as a simple EVSE.
        self.plugin_session = False
        self._offline_since: float | None = None
        self._start_after: float | None = None  # the randomized delayed start (spec s)
        self.learning = False  # NFC Configuration → ADD NEW: the next card is stored
        # The EV PLUS web app's RFID page (003 §8.1.2 step 11): the last card the reader
        # read (Read RFID), and until when (spec time) the next card is only read after
        # Read was pressed (web_evplus_actions.READ_WAIT_S).
        self.last_card: str | None = None
        self.reading_until: float | None = None
        # The fault conditions present or latched (design §5: vendor-neutral; the
        # profile says what each shows; ``rtm`` is EV NET's register view of them).
        self.active: set[str] = set()
        self.rtm_seen = 0  # the RTM register as the application CPU last read it
        self.contactor = False
        self.pilot = PilotReading("A", 12.0, -12.0)
        self.reported: dict[int, tuple[str, str, str | None, int]] = {}
        self._next_boot = 0.0
        self._next_heartbeat = 0.0
        self._next_sample = 0.0
        self._next_aligned: datetime | None = None
        self._last_energy_t = clock.now()
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.limit_reason = "DeviceCurrentLimit"
        self.protection = Protection(profile, self.board.defects)
        self.relay = Contactor(profile.timing)
        if self.defect("contactor_opens_after_300ms"):
            self.relay.open_s = 0.3  # the relay driver's release debounced 300 ms
        self.min_a = profile.ratings["min_current_a"].value

    # -- small helpers ------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def utc(self) -> datetime:
        """The charger's own clock: the bench's UTC as the backend last set it."""
        return self.clock.utcnow() + self.nvm.rtc_offset

    def kick(self) -> None:
        self.wake.set()

    def defect(self, name: str) -> bool:
        """A defect injected for ``rig selftest`` (sim/defects) is active: the switch
        of a hook. Always False on a healthy twin."""
        return name in self.board.defects

    def send(self, action: str, build: Callable[[], Payload], persistent: bool = False,
             on_result: Callable[[Payload | None], None] | None = None) -> None:
        self.link.enqueue(Outgoing(action, build, persistent, on_result))

    def phases_configured(self) -> int:
        """The Phases Number setting: the phases the firmware measures and protects."""
        if self.defect("compact_phases_setting_ignored"):
            return self.variant.phases  # stored and shown, never applied (004 §4.2)
        return self.nvm.phases or self.variant.phases

    @property
    def faulted(self) -> bool:
        """A present condition stops charging (Faulted); a "soft" one (004 §4.5
        terminal-panel tamper, profile stops_charging: false) is only reported."""
        return any(self.profile.conditions[c].stops_charging for c in self.active)

    def raise_fault(self, condition: str) -> None:
        """A condition the firmware detected; it stays until its recovery rule."""
        if condition in self.profile.conditions:  # a charger detects what its profile lists
            self.active.add(condition)

    @property
    def rtm(self) -> int:
        """The RTM register (001 VendorID2) of the present conditions: each one's code
        with the codes it sets too (0x0008 → 0x0001, auto faults → 0x4000 flag)."""
        code = 0
        for condition in self.active:
            rtm = self.profile.conditions[condition].rtm
            if rtm is not None:
                code |= rtm.code
                for other in rtm.sets_also:
                    code |= other
        if self.defect("rtm_register_16bit"):
            code &= 0xFFFF  # the register kept in a uint16: 0x10000 and up are lost
        return code

    @property
    def plugged(self) -> bool:
        return self.pilot.state in ("B", "C", "D")

    def tx_context(self) -> TxContext | None:
        return TxContext(self.tx.transaction_id, self.tx.start) if self.tx else None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> Callable[[], None]:
        """What to run after an answer: start ``coro`` as a task. The loop keeps only
        a weak reference to a task: it is held until done, or a reset in flight could
        be garbage-collected halfway (the board would never come back)."""
        def start() -> None:
            task = asyncio.get_running_loop().create_task(coro)
            _RUNNING.add(task)
            task.add_done_callback(_RUNNING.discard)

        return start

    @staticmethod
    def valid_connector(cid: int, allow_zero: bool = True) -> bool:
        return cid == 1 or (allow_zero and cid == 0)

    def answers(self) -> dict[str, Handler]:
        """The CSMS CALLs this firmware answers: every feature's ``ANSWERS``, only the
        operations the profile says the charger supports (the rest: NotImplemented)."""
        found: dict[str, Handler] = {}
        for cls in type(self).__mro__:
            for action, method in vars(cls).get("ANSWERS", {}).items():
                found.setdefault(action, getattr(self, method))
        supported = set(self.profile.ocpp.operations_csms_to_cp)
        return {action: h for action, h in found.items() if action in supported}

    if TYPE_CHECKING:  # provided by the feature modules, composed in firmware.py
        def evaluate(self) -> None: ...
        def on_connected(self) -> None: ...
        def on_disconnected(self) -> None: ...
        def may_send(self, msg: Outgoing) -> bool: ...
        def stop_transaction(self, reason: str) -> None: ...
        def _send_stop(self, tx: Transaction, reason: str, energy_wh: float,
                       stop_time: datetime | None = None) -> None: ...
        def _drive_transaction(self) -> None: ...
        def _authorization_timeout(self, now: float) -> None: ...
        def _reservation_expiry(self) -> None: ...
        def offered_current(self) -> float: ...
        def cable_amps(self) -> float | None: ...
        def pwm_duty(self) -> float | None: ...
        def _update_contactor(self) -> None: ...
        def error_code(self) -> tuple[str, str | None]: ...
        def _check_faults(self) -> None: ...
        def connector_status(self) -> str: ...
        def start_held(self) -> bool: ...
        def set_clock(self, result: Payload | None) -> None: ...
        def connector0_status(self) -> str: ...
        def _inoperative(self) -> bool: ...
        def _report(self, connector: int, status: str,
                    vendor: tuple[str, str] | None = None) -> None: ...
        def _send_boot(self) -> None: ...
        def _update_meter(self, now: float) -> None: ...
        def _meter_timers(self, now: float) -> None: ...
        def _send_meter_values(self, context: str, key: str,
                               at: datetime | None = None) -> None: ...
        def valid_measurands(self, value: str) -> bool: ...
        async def authorize(self, id_tag: str) -> dict[str, Any] | None: ...
