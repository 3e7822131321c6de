"""A network camera of the virtual bench: frames over HTTP, as an IP camera serves them.

``GET /video`` is an MJPEG stream (``multipart/x-mixed-replace``, one JPEG per part,
``fps`` parts a second of wall time — a camera's frame rate is its own, not the
bench's); ``GET /snapshot`` one JPEG. That is what OpenCV's FFmpeg backend opens
by URL on a real bench, so the camera driver (drivers/camera/capture.py) runs the
same code against this server and a real camera. Each part carries ``X-Spec-Time``,
the spec time it was rendered at (for a person or a client that reads part headers;
OpenCV does not hand them over, the driver stamps frames on arrival).

Frames come from ``source()``, called once per frame in a worker thread (rendering
and JPEG encoding take milliseconds, the bench loop must not wait for them). Serves
on 127.0.0.1, port 0 by default: the bench reads the port back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

BOUNDARY = "evrigframe"
READ_TIMEOUT_S = 5.0  # wall seconds for a client to send its request
MAX_HEADER_LINES = 100
ENCODED_KEPT = 64  # JPEGs kept for frames the source hands out again


class CameraServer:
    """An MJPEG camera on HTTP. ``source`` returns the current BGR frame; ``now`` the
    spec time to stamp it with (None: no stamp)."""

    def __init__(self, source: Callable[[], NDArray[np.uint8]], *, fps: float = 10.0,
                 quality: int = 85, now: Callable[[], float] | None = None) -> None:
        if fps <= 0 or not 1 <= quality <= 100:
            raise ValueError(f"camera server: fps > 0 and quality 1..100; got {fps}, {quality}")
        self._source = source
        self.fps = fps
        self.quality = quality
        self._now = now
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.port = 0
        self.frames_sent = 0
        # JPEGs of the frames the source returned lately, by object: a source that
        # keeps its frames (one per look of the panel) is encoded once per look. The
        # frame is held with its JPEG, so its id is not reused while it is here.
        self._encoded: dict[int, tuple[NDArray[np.uint8], bytes]] = {}

    @property
    def url(self) -> str:
        """The stream, as a camera's address is written in a rig file."""
        return f"http://127.0.0.1:{self.port}/video"

    @property
    def snapshot_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/snapshot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Close the socket and end every stream (a stream never ends by itself)."""
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    # -- frames ----------------------------------------------------------------------------
    def _encode(self, frame: NDArray[np.uint8]) -> bytes:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        jpeg = data.tobytes()
        if len(self._encoded) >= ENCODED_KEPT:
            self._encoded.pop(next(iter(self._encoded)))
        self._encoded[id(frame)] = (frame, jpeg)
        return jpeg

    async def _jpeg(self) -> tuple[bytes, float | None]:
        """The source's frame now as JPEG, and its spec-time stamp; encoded in a worker
        thread (it takes milliseconds) unless this frame was encoded before."""
        stamp = self._now() if self._now is not None else None
        frame = self._source()
        known = self._encoded.get(id(frame))
        if known is not None and known[0] is frame:
            return known[1], stamp
        return await asyncio.to_thread(self._encode, frame), stamp

    @staticmethod
    def _headers(jpeg: bytes, stamp: float | None) -> bytes:
        lines = ["Content-Type: image/jpeg", f"Content-Length: {len(jpeg)}"]
        if stamp is not None:
            lines.append(f"X-Spec-Time: {stamp:.4f}")
        return ("\r\n".join(lines) + "\r\n").encode("ascii")

    # -- HTTP ------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            if request is None:
                return
            method, path = request
            if method != "GET":
                await _reply(writer, "405 Method Not Allowed", b"GET only\n", "Allow: GET\r\n")
            elif path == "/video":
                await self._stream(writer)
            elif path in ("/snapshot", "/snapshot.jpg"):
                await self._snapshot(writer)
            else:
                await _reply(writer, "404 Not Found", b"/video (MJPEG) or /snapshot (JPEG)\n")
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _snapshot(self, writer: asyncio.StreamWriter) -> None:
        try:
            jpeg, stamp = await self._jpeg()
        except Exception as exc:  # a frame that cannot render is a 500, not a hang
            await _reply(writer, "500 Internal Server Error", f"{exc!r}\n".encode())
            return
        writer.write(b"HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                     + self._headers(jpeg, stamp) + b"\r\n" + jpeg)
        await writer.drain()
        self.frames_sent += 1

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
                     b"Content-Type: multipart/x-mixed-replace; boundary=" + BOUNDARY.encode()
                     + b"\r\n\r\n")
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps
        due = loop.time()
        while True:
            jpeg, stamp = await self._jpeg()
            writer.write(f"--{BOUNDARY}\r\n".encode() + self._headers(jpeg, stamp) + b"\r\n"
                         + jpeg + b"\r\n")
            await writer.drain()
            self.frames_sent += 1
            # Frames on a fixed wall-time grid; a slow frame is not made up for.
            due = max(due + period, loop.time())
            await asyncio.sleep(due - loop.time())


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, path without query) of an HTTP request; None if malformed."""
    parts = (await reader.readline()).decode("latin-1").split()
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    return parts[0].upper(), parts[1].split("?", 1)[0]


async def _reply(writer: asyncio.StreamWriter, status: str, body: bytes,
                 extra: str = "") -> None:
    writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: "
                 f"{len(body)}\r\nConnection: close\r\n{extra}\r\n".encode() + body)
    await writer.drain()
