"""The rig file: which bench, which charger, which instruments on which wires.

One YAML file describes a bench — the virtual one (``rigs/sim.yaml``) or a real
one (``rigs/lab-example.yaml``). Swapping fake for real is a change of this file
only. :func:`load_rig` turns it into frozen dataclasses and refuses anything
doubtful with one line naming the file, the key path and the fix: a bench that
starts with a misread setting can leave mains voltage on an open connector.

Type and range mistakes are caught while converting (:mod:`rig.typed_yaml`);
rules that span keys (real bench vs ``sim``, a GPIO pin wired twice, security
profile vs credentials, the profile and its variant) are checked afterwards, in
:mod:`rig.config_rules`, which also checks what a run needs besides the file
(secrets in environment variables, TLS and LED calibration files).

**What a real bench must give** (``bench: real``; :data:`REAL_BENCH_REQUIRED`):

- ``station`` — every unit record carries it; the default ``sim-1`` would mislabel them.
- ``charger.charge_point_id`` — the identity the real unit connects with; the default
  is the twin's, and a bench waiting for the wrong identity just times out.
- ``csms.host``, ``csms.port``, ``csms.security_profile`` — the backend URL and the
  security the charger is configured with. The virtual bench's defaults (127.0.0.1,
  any free port, no security) are unreachable by, or wrong for, a real charger; so
  port 0 and a loopback host are refused on a real bench too.
- ``instruments.ev`` — the EV emulator board: without it no session starts, and most
  testcases and the whole EOL sequence are charging sessions.

**For the certificate** (optional, any bench): ``company`` (name, address, the
approver's role) and, per instrument, ``asset`` and ``calibration_due``
(rig/config_instruments.py). Absent, the certificate leaves the company out and
prints "not given" for a real instrument's asset and calibration.

Every other instrument (``ac_source``, ``ac_load``, ``meter``, ``dlm``, ``led``, ``faults``) and
``charger.web``/``charger.console`` is optional: absent means not on this bench, and a
testcase that needs it skips, naming it (``rig check`` lists them). The virtual bench
may leave out everything above; the loader records what it defaulted
(:attr:`RigConfig.defaulted`) and ``rig check`` and the pytest header say so.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

# The instruments' schema, re-exported: rig files and their rules read it from here.
from evrig.rig.config_instruments import (  # noqa: F401
    VISA_EXAMPLE,
    Backend,
    CameraConfig,
    DlmBusConfig,
    EvEmulatorConfig,
    EvPins,
    FaultBoardConfig,
    Instruments,
    LedSensorConfig,
    MeterConfig,
    Pin,
    Timeout,
    VisaInstrumentConfig,
    is_visa_resource,
)
from evrig.rig.errors import RigFileError
from evrig.rig.typed_yaml import NOT_IN_FILE, Check, between, from_data, load_yaml, shown

# --- value checks -------------------------------------------------------------------------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CP_ID = re.compile(r"[A-Za-z0-9._-]{1,20}")

def _env_name(what: str) -> Check:
    # Never echo the value: someone may have written the secret itself here.
    return Check.where(lambda v: bool(_ENV_NAME.fullmatch(v)),
                       f"the NAME of an environment variable holding {what} "
                       "(letters, digits, _), not the secret itself", echo=False)


def _nonempty(what: str) -> Check:
    return Check.where(lambda v: bool(v.strip()), what)


IdTagStatus = Literal["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"]

# Checked types live here, not inline in the classes: the annotations are evaluated
# later by typing.get_type_hints, where a lambda would not see this module's names.
Speed = Annotated[float, Check.where(lambda v: 0 < v <= 200,
                                     "a number > 0 and <= 200 (times real time)")]
WebUrl = Annotated[str, Check.where(
    lambda v: v == "sim" or v.startswith(("http://", "https://")),
    "a URL starting with http:// or https:// ('sim' on the virtual bench)")]
UrlPath = Annotated[str, Check.where(lambda v: v.startswith("/") and v.endswith("/"),
                                     "a URL path that starts and ends with '/'")]
ChargePointId = Annotated[str, Check.where(
    lambda v: bool(_CP_ID.fullmatch(v)),
    "1 to 20 characters from A-Z a-z 0-9 . _ - (the OCPP identity)")]


def _database_url(value: str) -> bool:
    return value.startswith("sqlite:///") or bool(re.match(r"postgresql(\+\w+)?://", value))


DatabaseUrl = Annotated[str, Check.where(_database_url,
                                         "a sqlite:///path or postgresql://... URL")]


# --- schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimConfig:
    """The virtual bench: how fast its twin's timers run, and its random seed."""

    speed: Speed = 20.0
    seed: int = 1
    # Defects injected into the twin (sim/defects, `rig selftest`): names from the
    # catalogue. Only a virtual bench takes them; a real rig refuses the key.
    defects: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    """The charger's web client, used for diagnostics and configuration."""

    _rejected_keys: ClassVar[dict[str, str]] = {
        "admin_pin": "never write the admin PIN in a rig file; put it in an environment "
                     "variable and give that variable's name in admin_pin_env",
    }

    # "sim" only on the virtual bench: the bench serves the twin's web client and
    # hands the rig its real URL.
    url: WebUrl
    admin_pin_env: Annotated[str, _env_name("the admin PIN")] = "EVNET_ADMIN_PIN"
    verify_tls: bool = False
    timeout_s: Timeout = 5.0


@dataclass(frozen=True)
class SerialPortConfig:
    """A serial port, e.g. the charger's service console."""

    port: Annotated[str, _nonempty("a serial port such as /dev/ttyUSB1")]
    baud: Annotated[int, between(1, 10_000_000, "a positive baud rate")] = 115200


@dataclass(frozen=True)
class ChargerConfig:
    """The unit under test: its OCPP identity and its diagnostic ports."""

    charge_point_id: ChargePointId = "EVNET-SIM-0001"
    web: WebConfig | None = None
    console: SerialPortConfig | None = None


@dataclass(frozen=True)
class TlsConfig:
    """Server certificate of the mock CSMS (security profile 2). Paths are relative to
    the rig file; see :meth:`RigConfig.resolve`."""

    cert: Annotated[str, _nonempty("a path to a PEM certificate")]
    key: Annotated[str, _nonempty("a path to a PEM private key")]
    ca: str | None = None


def _default_id_tags() -> dict[str, IdTagStatus]:
    return {"TAG-ACCEPTED-01": "Accepted", "TAG-BLOCKED-01": "Blocked",
            "TAG-EXPIRED-01": "Expired", "TAG-INVALID-01": "Invalid"}


@dataclass(frozen=True)
class CsmsConfig:
    """The mock backend the charger connects to (OCPP 1.6J over WebSocket)."""

    _rejected_keys: ClassVar[dict[str, str]] = {
        "basic_auth_password": "never write the password in a rig file; put it in an "
                               "environment variable and give its name in "
                               "basic_auth_password_env",
    }

    host: Annotated[str, _nonempty("an address to listen on, e.g. 0.0.0.0")] = "127.0.0.1"
    port: Annotated[int, between(0, 65535, "a TCP port from 0 to 65535 (0 = any free)")] = 0
    path: UrlPath = "/ocpp/"
    security_profile: Literal[0, 1, 2] = 0
    basic_auth_password_env: Annotated[str, _env_name("the Basic Auth password")] | None = None
    tls: TlsConfig | None = None
    heartbeat_interval: Annotated[int, between(0, 86400, "seconds from 0 to 86400")] = 60
    # CSMS-side websocket pings (s): a charger that stops answering them (frozen
    # firmware) is disconnected with close code 1011. Off by default: OCPP 1.6 leaves
    # pinging to the charger (WebSocketPingInterval).
    ping_interval_s: Annotated[float, between(1, 3600, "seconds from 1 to 3600")] | None = None
    id_tags: dict[str, IdTagStatus] = field(default_factory=_default_id_tags)


@dataclass(frozen=True)
class ReportsConfig:
    """Where runs write their reports and unit records."""

    dir: Annotated[str, _nonempty("a directory for reports")] = "reports"
    database: DatabaseUrl = "sqlite:///reports/results.sqlite"


@dataclass(frozen=True)
class CompanyConfig:
    """Who issues this station's test certificates (rig/certificate.py prints it in the
    certificate's head). Optional: without it the head names the station only."""

    name: Annotated[str, _nonempty("the company's name, e.g. EV NET Ltd.")]
    address: str = ""  # one line, or several (YAML ``|``), printed under the name
    approver: str = ""  # the role that signs beside the operator, e.g. Quality inspector


@dataclass(frozen=True)
class RigConfig:
    """A whole rig file. ``path`` is set by :func:`load_rig`, never by the file."""

    profile: Annotated[str, _nonempty("a charger profile name, e.g. evnet-7kw")]
    station: Annotated[str, _nonempty("a station name")] = "sim-1"
    variant: str = "S"
    bench: Literal["virtual", "real"] = "virtual"
    sim: SimConfig = field(default_factory=SimConfig)
    charger: ChargerConfig = field(default_factory=ChargerConfig)
    csms: CsmsConfig = field(default_factory=CsmsConfig)
    instruments: Instruments = field(default_factory=Instruments)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    company: CompanyConfig | None = None
    path: str = field(default="", metadata=NOT_IN_FILE)
    # Key paths of REAL_BENCH_REQUIRED the file left out (set by load_rig): defaulted on
    # the virtual bench, refused on a real one.
    defaulted: tuple[str, ...] = field(default=(), metadata=NOT_IN_FILE)

    @property
    def virtual(self) -> bool:
        """True on the virtual bench: instruments are served by the twin."""
        return self.bench == "virtual"

    def resolve(self, relative: str) -> Path:
        """A path written in the rig file (TLS cert, calibration, profile file), taken
        relative to the rig file's folder so the bench works from any directory."""
        base = Path(self.path).parent if self.path else Path()
        return base / relative


# --- loading ------------------------------------------------------------------------------

# What a real bench must give (the virtual bench may leave these out: the twin's
# defaults are right there). Key path → what to write, for the message.
REAL_BENCH_REQUIRED: dict[str, str] = {
    "station": "the station's name, e.g. lab-bench-1: every unit record carries it",
    "charger.charge_point_id": "the OCPP identity the unit under test connects with, "
                               "e.g. EVNET-LAB-0001",
    "csms.host": "the address the mock CSMS listens on, e.g. 0.0.0.0 for every interface",
    "csms.port": "the fixed port of the backend URL the charger is configured with, "
                 "e.g. 9000",
    "csms.security_profile": "0, 1 or 2, as configured in the charger",
    "instruments.ev": "the EV emulator board, e.g. ev: {backend: rpi} (pins default to "
                      "the README's board)",
}


def load_rig(path: str | Path) -> RigConfig:
    """Read, convert and check a rig file; raise RigFileError with one line otherwise."""
    file = str(path)
    data = load_yaml(path)
    if data is None:
        raise RigFileError(file, "", "the file is empty; expected at least 'profile: <name>'")
    if not isinstance(data, dict):
        pool = (" — a list of benches is a pool file: pytest --rig-pool FILE"
                if isinstance(data, list) else "")
        raise RigFileError(file, "", "expected a mapping of keys at the top level "
                                     f"(profile: ..., bench: ...), got {shown(data)}{pool}")
    converted = from_data(RigConfig, data, file=file)
    config = dataclasses.replace(converted, path=file, defaulted=_left_out(data))
    from evrig.rig.config_rules import check_rig  # the rules import this module's schema

    check_rig(config)
    return config


def _left_out(data: dict[str, Any]) -> tuple[str, ...]:
    """The key paths of :data:`REAL_BENCH_REQUIRED` the file does not give, each at its
    shallowest level ("csms", not its three keys, when the whole section is missing)."""
    left: list[str] = []
    for key in REAL_BENCH_REQUIRED:
        section, _, name = key.partition(".")
        if section not in data:
            if section not in left:
                left.append(section)
        elif name and name not in data[section]:
            left.append(key)
    return tuple(left)

