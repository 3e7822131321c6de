"""``rig emulate meter``: the fake CT clamp / MID meter on its own, for a production line.

    rig emulate meter --port /dev/ttyUSB0 --model sdm630 --set voltage_l1=231.5

Answers the charger until Ctrl-C (or SIGTERM), printing one line per poll. Argument
mistakes print one line and exit 2; a port that cannot be opened exits 1. Imports
pymodbus only when run, so ``rig --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from datetime import datetime, timedelta
from types import FrameType

MODELS = ("ct", "sdm230", "sdm630")


class _ArgumentError(Exception):
    """A mistake on the command line: one line, exit 2."""


def configure_meter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", required=True,
                        help="serial port of the RS-485 adapter (or one end of a pty pair)")
    parser.add_argument("--model", default="ct", metavar="|".join(MODELS),
                        help="register map to serve (default ct)")
    parser.add_argument("--id", default=None, metavar="N",
                        help="Modbus id to answer on, 1..247 (default: the map's, 1)")
    parser.add_argument("--baud", default=None, metavar="B",
                        help="baud rate (default: the map's, 9600); always 8N1 unless "
                             "the map says otherwise")
    parser.add_argument("--map", default=None, metavar="FILE",
                        help="a register map file replacing the model's built-in one")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        dest="values", help="initial value, e.g. --set voltage_l1=231.5 "
                                            "(repeatable; names from the map)")


def run_meter(args: argparse.Namespace) -> int:
    try:
        emulator = _build(args)
    except _ArgumentError as exc:
        print(f"rig emulate meter: {exc}", file=sys.stderr)
        return 2
    return _serve(emulator)


def _int(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        raise _ArgumentError(f"{what} must be a whole number, got {text!r}") from None


def _build(args: argparse.Namespace):  # -> MeterEmulator (imported lazily)
    from evrig.drivers.meter.emulator import BAUDS, MeterEmulator
    from evrig.rig.tables.meter_maps import MapError

    if args.model not in MODELS:
        raise _ArgumentError(f"unknown model {args.model!r}; known: {', '.join(MODELS)}")
    device_id = _int(args.id, "--id")
    if device_id is not None and not 1 <= device_id <= 247:
        raise _ArgumentError(f"--id must be a Modbus id from 1 to 247, got {device_id}")
    baud = _int(args.baud, "--baud")
    if baud is not None and baud not in BAUDS:
        raise _ArgumentError(f"--baud must be one of {', '.join(map(str, BAUDS))}, "
                             f"got {baud}")
    values: dict[str, float] = {}
    for item in args.values:
        name, sep, text = item.partition("=")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise _ArgumentError(f"--set expects NAME=NUMBER (e.g. voltage_l1=231.5), "
                                 f"got {item!r}")
        values[name.strip()] = number
    try:
        emulator = MeterEmulator(args.port, args.model, device_id=device_id, baud=baud,
                                 map_file=args.map)
        emulator.set_values(**values)
    except (MapError, ValueError) as exc:
        raise _ArgumentError(str(exc)) from None
    return emulator


def _serve(emulator) -> int:
    from evrig.drivers.meter.emulator import Poll, describe_poll

    started = datetime.now().astimezone() - timedelta(seconds=emulator.clock.now())

    def show(poll: Poll) -> None:
        at = started + timedelta(seconds=poll.timestamp)
        print(f"{at:%H:%M:%S}.{at.microsecond // 1000:03d} {describe_poll(poll, emulator.map)}",
              flush=True)

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    emulator.on_poll = show
    emulator.start()  # InstrumentError (port) → one line, exit 1, from rig.cli
    previous = signal.signal(signal.SIGTERM, on_signal)
    s = emulator.map.serial
    print(f"{emulator.map.description} ({emulator.model}) answering as id "
          f"{emulator.device_id} on {emulator.port} at {emulator.baud} "
          f"{s.bytesize}{s.parity}{s.stopbits}; Ctrl-C stops", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
    print(f"stopped after {len(emulator.polls)} polls; {emulator.port} closed", flush=True)
    return 0
