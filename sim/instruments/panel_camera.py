"""The virtual bench's camera on the charger's front panel: the twin's panel
(sim/charger/front_panel.py) rendered (panel_render.py) as a slightly defocused camera
sees it (camera_optics.py) and served as JPEG snapshots over HTTP (camera_server.py) —
the transport of an IP camera's snapshot URL, read by drivers/camera/snapshot.py.

A panel has few distinct looks (a blink alternates two; the display rotates a few
values), so each look is rendered once and kept: a frame costs a JPEG encoding, not a
drawing. The frame shows the panel at the spec instant of the request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile
from evrig.rig.tables.panel_layout import load_panel
from evrig.sim.charger.front_panel import FrontPanel, PanelSource
from evrig.sim.instruments.camera_optics import Optics
from evrig.sim.instruments.camera_server import CameraServer
from evrig.sim.instruments.panel_render import PanelRenderer, PanelState

LOOKS_KEPT = 256  # rendered looks cached (a blink's two phases x a rotation's values)
# A camera a hand's width from the panel, focused by hand: a little soft. No sensor
# noise: it would make every frame a new look (tests/test_camera_reader.py measures
# the readers with noise).
OPTICS = Optics(blur_sigma=0.7)

Key = tuple[str, tuple[tuple[str, str], ...], str | None]


class PanelCamera:
    """The twin's front panel (``panel``, refreshed after each firmware evaluation: the
    bench appends :meth:`FrontPanel.refresh` to the twin's listeners) and the camera
    server filming it; :attr:`url` is the snapshot address once started."""

    def __init__(self, profile: Profile, clock: Clock,
                 twin: Callable[[], PanelSource | None]) -> None:
        self.panel = FrontPanel(profile, clock, twin)
        self._renderer = PanelRenderer(load_panel(profile.model))
        self._clock = clock
        self._looks: OrderedDict[Key, NDArray[np.uint8]] = OrderedDict()
        self._lock = threading.Lock()  # the server renders in a worker thread
        self.server = CameraServer(self.frame, now=clock.now)

    @property
    def url(self) -> str:
        return self.server.snapshot_url

    def frame(self) -> NDArray[np.uint8]:
        """The panel now, as the camera sees it."""
        state = self.panel.state_at(self._clock.now())
        key: Key = (state.display, tuple(sorted(state.lights.items())), state.unit)
        with self._lock:
            look = self._looks.get(key)
            if look is None:
                look = OPTICS.apply(self._renderer.render(state))
                self._looks[key] = look
                if len(self._looks) > LOOKS_KEPT:
                    self._looks.popitem(last=False)
            else:
                self._looks.move_to_end(key)
            return look

    def state(self) -> PanelState:
        return self.panel.state()

    async def start(self) -> None:
        await self.panel.start()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.panel.stop()
