"""GPIO backends: the Pi's libraries are only imported on a real bench, and off a Pi
the rig says in one line what to do; the virtual pin bank works everywhere."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

from evrig.drivers.ev.cp_sense import RpiCpSense, SimCpSense
from evrig.drivers.ev.gpio import RpiGpio, SimGpio
from evrig.drivers.ev.pp_resistor import SimPpResistor
from evrig.rig.assembly import Rig
from evrig.rig.config import load_rig
from evrig.rig.errors import InstrumentError, RigError
from evrig.sim.ev_board import VirtualPpResistor
from evrig.sim.pins import PinBank

ON_A_PI = importlib.util.find_spec("RPi") is not None
off_pi = pytest.mark.skipif(ON_A_PI, reason="RPi.GPIO is importable: this is a Pi")

REAL_BENCH = """\
station: lab-bench-1
profile: evnet-7kw
bench: real
charger: {charge_point_id: EVNET-LAB-0001}
csms: {host: 0.0.0.0, port: PORT, security_profile: 0}
instruments:
  ev: {backend: rpi}
"""


@off_pi
def test_rpi_gpio_off_a_pi_names_the_fix():
    with pytest.raises(InstrumentError) as info:
        RpiGpio()
    message = str(info.value)
    assert "\n" not in message
    assert "pip install -e '.[pi]'" in message and "backend: sim" in message


def test_cp_sense_off_a_pi_names_the_fix():
    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is importable here")
    with pytest.raises(InstrumentError) as info:
        RpiCpSense(25)
    assert "\n" not in str(info.value) and "pip install -e '.[pi]'" in str(info.value)


@off_pi
def test_a_real_bench_off_a_pi_fails_with_one_line(tmp_path: Path):
    path = tmp_path / "bench.yaml"
    with socket.socket() as probe:  # a real bench names its port: take a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path.write_text(REAL_BENCH.replace("PORT", str(port)), encoding="utf-8")
    with pytest.raises(RigError) as info:
        Rig(load_rig(path))
    message = str(info.value)
    assert "\n" not in message and "GPIO" in message and "'.[pi]'" in message


def test_sim_gpio_writes_and_reads_the_pin_bank():
    bank = PinBank()
    seen: list[tuple[int, bool]] = []
    bank.subscribe(lambda pin, level: seen.append((pin, level)))
    gpio = SimGpio(bank)
    gpio.setup_output(17)
    gpio.setup_input(25)
    gpio.write(17, True)
    gpio.write(17, True)  # no change, no event
    assert gpio.read(17) is True and seen == [(17, True)]
    bank.drive_input(25, True)
    assert gpio.read(25) is True
    with pytest.raises(RuntimeError, match="not set up as an output"):
        gpio.write(25, False)


def test_sim_cp_sense_and_pp_resistor_delegate_to_the_virtual_board():
    class Board:
        def edges(self, window_s: float) -> list[tuple[float, bool]]:
            return [(0.0, True), (window_s, False)]

        def levels(self) -> tuple[float, float]:
            return 9.0, -12.0

    sense = SimCpSense(Board())
    assert sense.edges(0.5) == [(0.0, True), (0.5, False)]
    assert sense.levels() == (9.0, -12.0)
    changes: list[int] = []
    resistor = VirtualPpResistor(changed=lambda: changes.append(1))
    SimPpResistor(resistor).set(1100.0)
    assert resistor.ohms == 1100.0 and changes == [1]
