"""The rig file's ``instruments:`` section: what is wired to the charger (rig/config.py
loads the whole file; the rules spanning sections are in rig/config_rules.py).

Every instrument but the EV emulator is optional: absent (None) means not on this
bench, and a testcase that needs it is deselected or skips naming it.

Each instrument may also say what a test certificate lists of it (:class:`Traceable`):
``asset`` (its asset tag or serial number) and ``calibration_due`` (YYYY-MM-DD).
Both are optional — absent, the certificate prints "not given" on a real bench and
"virtual" on the virtual one — and a due date in the past is flagged by ``rig check``,
the run's header and the certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from evrig.rig.typed_yaml import Check, between, shown

_VISA_PATTERNS = [
    re.compile(r"TCPIP\d*::[^:\s]+::(?P<port>\d{1,5})::SOCKET", re.I),
    re.compile(r"TCPIP\d*::[^:\s]+(::[^:\s]+)?::INSTR", re.I),
    re.compile(r"USB\d*::(0x[0-9a-f]{1,4}|\d{1,5})::(0x[0-9a-f]{1,4}|\d{1,5})::[^:\s]+"
               r"(::\d+)?(::INSTR)?", re.I),
    re.compile(r"GPIB\d*::([0-9]|[12][0-9]|30)(::\d{1,3})?(::INSTR)?", re.I),
    re.compile(r"ASRL(\d+|/dev/[^:\s]+)::INSTR", re.I),
]
VISA_EXAMPLE = "TCPIP0::10.0.0.20::2101::SOCKET"


def is_visa_resource(text: str) -> bool:
    """Whether ``text`` is a well-formed VISA resource string of a kind a rig uses."""
    for pattern in _VISA_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            port = match.groupdict().get("port")
            return port is None or 1 <= int(port) <= 65535
    return False


def _visa_resource(value: str) -> str | None:
    if value == "sim" or is_visa_resource(value):
        return None
    return f"malformed VISA resource {value!r}; expected e.g. {VISA_EXAMPLE}"


def _nonempty(what: str) -> Check:
    return Check.where(lambda v: bool(v.strip()), what)


def _i2c_bus(value: int | str) -> str | None:
    if isinstance(value, int) and value >= 0:
        return None
    if value == "sim" or (isinstance(value, str) and re.fullmatch(r"/dev/i2c-\d+", value)):
        return None
    return f"expected an I2C bus number (e.g. 1), /dev/i2c-N or 'sim', got {shown(value)}"


Pin = Annotated[int, between(0, 27, "a BCM GPIO number from 0 to 27")]
Backend = Literal["sim", "rpi"]
FaultWire = Literal["rcd_ac", "rcd_ac_2", "rcd_dc", "rcd_dc_2", "pe_open", "swap_ln",
                    "n_pe_voltage", "lock_jam", "tamper", "relay_weld", "relay_stuck_open",
                    "neutral_weld", "neutral_stuck_open", "mains_off"]
# Fault relays that switch a fixed resistor or source: the rig file gives its value.
ValueWire = Literal["rcd_ac", "rcd_ac_2", "rcd_dc", "rcd_dc_2", "n_pe_voltage"]
FaultValue = Annotated[float, Check.where(lambda v: 0 < v <= 300,
                                          "a number > 0 and <= 300 (mA of leakage, "
                                          "V for n_pe_voltage)")]

Timeout = Annotated[float, Check.where(lambda v: 0 < v <= 60, "seconds > 0 and <= 60")]


def _camera_address(value: int | str) -> str | None:
    if isinstance(value, int):
        return None if value >= 0 else "a camera index is 0 or more"
    if value == "sim" or value.isdigit() or re.fullmatch(r"/dev/video\d+", value):
        return None
    if re.match(r"(https?|rtsp)://[^/\s]+", value):
        return None
    return (f"expected a camera index (0), /dev/videoN, an http(s):// or rtsp:// URL, or "
            f"'sim'; got {shown(value)}")


CameraAddress = Annotated[int | str, Check(_camera_address, "a camera index, /dev/videoN, "
                                                            "a URL or 'sim'")]
Fps = Annotated[float, Check.where(lambda v: 1 <= v <= 60, "frames per second, 1 to 60")]


@dataclass(frozen=True, kw_only=True)
class Traceable:
    """What a certificate lists of an instrument besides its model and address."""

    asset: Annotated[str, _nonempty("an asset tag or serial number")] | None = None
    calibration_due: date | None = None


@dataclass(frozen=True)
class EvPins:
    """BCM GPIO numbers of the EV emulator board's relays and its CP comparator."""

    r_b: Pin = 17  # 2.74 kΩ CP–PE: state B
    r_c: Pin = 27  # 1.3 kΩ in parallel: state C
    r_d: Pin = 22  # 270 Ω in parallel: state D (ventilation)
    cp_short: Pin = 23  # CP–PE short: state E
    diode_short: Pin = 24  # bypasses the EV's diode: the diode fault
    pp_open: Pin = 5
    pp_1k5: Pin = 6  # PP resistors: cable rating 13 / 20 / 32 / 63 A
    pp_680: Pin = 13
    pp_220: Pin = 19
    pp_100: Pin = 26
    cp_sense: Pin = 25  # comparator input: CP high/low and PWM
    # Opto-isolated L–N detector on the EV side (drivers/ev/outlet_sense.py): the
    # contactor's switching times. Optional on a real board; the virtual board has one.
    outlet_sense: Pin | None = None


@dataclass(frozen=True)
class EvEmulatorConfig(Traceable):
    """The EV emulator: CP/PP resistor relays driven by GPIO ("rpi") or the twin ("sim")."""

    backend: Backend = "sim"
    pins: EvPins = field(default_factory=EvPins)
    # A programmable PP resistor (digital rheostat) besides the relays: set_pp() then
    # accepts any value in ohms. The virtual board always has one.
    pp_programmable: bool = False


@dataclass(frozen=True)
class VisaInstrumentConfig(Traceable):
    """An SCPI instrument reached through pyvisa: AC source or AC load."""

    model: Annotated[str, _nonempty("an instrument model, e.g. chroma-61500")]
    resource: Annotated[str, Check(
        _visa_resource, f"a VISA resource string, e.g. {VISA_EXAMPLE} ('sim' on the "
                        "virtual bench)")]
    timeout_s: Timeout = 2.0


@dataclass(frozen=True)
class MeterConfig(Traceable):
    """The fake CT clamp / MID meter: a Modbus RTU slave on an RS-485 adapter."""

    port: Annotated[str, _nonempty("a serial port such as /dev/ttyUSB0, or 'sim'")] = "sim"
    model: Literal["ct", "sdm230", "sdm630"] = "ct"
    id: Annotated[int, between(1, 247, "a Modbus slave id from 1 to 247")] = 1
    baud: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    # A register map file (relative to the rig file) replacing the model's built-in one
    # (rig/tables/meter/<model>.yaml), e.g. for a CT hub with other registers.
    map: str | None = None


@dataclass(frozen=True)
class DlmBusConfig:
    """COMPACT RS-485 channel 2, the DLM bus (004 §3.4): reserved, nothing opened (004 has
    no protocol for it); keeps the meter off it. DLM via OCPP: tested through the CSMS."""

    port: Annotated[str, _nonempty("a serial port such as /dev/ttyUSB2, or 'none'")] = "none"


@dataclass(frozen=True)
class LedSensorConfig(Traceable):
    """The TCS34725 colour sensor taped over the charger's LED ring."""

    bus: Annotated[int | str, Check(_i2c_bus, "an I2C bus number, /dev/i2c-N or 'sim'")] = 1
    address: Annotated[int, between(0x03, 0x77, "a 7-bit I2C address (0x03..0x77)")] = 0x29
    calibration: str | None = None


@dataclass(frozen=True)
class CameraConfig(Traceable):
    """A camera facing the charger's front panel (display, light belt, indicators):
    drivers/camera/. ``trigger``: ``stream`` = the camera runs free (a USB camera, an
    MJPEG or RTSP stream) and the rig keeps its newest frame; ``snapshot`` = one JPEG
    per HTTP GET of ``address``, taken when the rig wants a frame, ``fps`` frames per
    spec second while it watches. The virtual bench's camera (``sim``) is a snapshot
    camera: at 30x speed a free-running one would have to send 300 frames per wall
    second to show a 0.5 s blink; triggered, it costs CPU only while a test looks.
    ``calibration``: the file `rig calibrate camera` wrote (relative to the rig file);
    none = the model's own table (right for the virtual bench's camera only)."""

    address: CameraAddress = "sim"
    trigger: Literal["stream", "snapshot"] = "stream"
    fps: Fps = 10.0
    calibration: str | None = None


@dataclass(frozen=True)
class FaultBoardConfig(Traceable):
    """The fault-injection relays; a wire not listed here is absent (its tests skip).

    ``values``: what each fixed-value relay injects on a real board — mA of leakage
    through the resistor of ``rcd_ac``/``rcd_dc`` (and the optional second relays
    ``rcd_ac_2``/``rcd_dc_2``: closed together the currents add, so two resistors give
    a value just inside and one just outside a trip threshold), V for ``n_pe_voltage``.
    The virtual board's sources are programmable and need no values.
    """

    backend: Backend = "sim"
    pins: dict[FaultWire, Pin] = field(default_factory=dict)
    values: dict[ValueWire, FaultValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Instruments:
    """Everything wired to the charger. Absent (None) = not on this bench."""

    ev: EvEmulatorConfig = field(default_factory=EvEmulatorConfig)
    ac_source: VisaInstrumentConfig | None = None
    ac_load: VisaInstrumentConfig | None = None
    meter: MeterConfig | None = None
    dlm: DlmBusConfig | None = None
    led: LedSensorConfig | None = None
    camera: CameraConfig | None = None
    faults: FaultBoardConfig | None = None


