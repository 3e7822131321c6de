"""The station's web application (FastAPI): the page, its commands, its live feed.

- ``GET /`` the page; ``/static/…`` its script and style (rig/station_static, shipped
  in the package: the line's machines are offline, nothing comes from a CDN).
- ``GET /api/state`` the picture (rig/station_state.py) once; ``WS /ws`` the picture
  now and at every change. The page reconnects by itself (a station restarted, a
  cable pulled) and then simply shows the picture it is sent.
- ``GET /units/<run id>/<name>`` the unit's certificate or trace (HTML/SVG, PDF), for
  the run on the page only (Station.document): the operator prints or shows it.
- ``POST /api/start`` ``{"serial": …}``, ``POST /api/answer`` ``{"id": N, "answer":
  "y"}``, ``POST /api/abort``: 200 ``{"ok": true}`` or 409 ``{"error": why}`` (the
  page shows why; a command never half-happens).

Commands come from this machine only (the line's screen beside the bench): served on
the line's network (``--host 0.0.0.0``) the page watches from elsewhere — state and
documents — and a command from another address gets 403 saying so. Whoever stands at
another screen cannot start or abort a unit on a bench they cannot see.

Commands are ``async`` on purpose: they run on the event loop's thread, the one a
child run must be started from (rig/station_hub.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from evrig.rig.station_hub import Station

STATIC = Path(__file__).resolve().parent / "station_static"


class StartBody(BaseModel):
    serial: str = Field(max_length=200)


class AnswerBody(BaseModel):
    id: int
    answer: str = Field(max_length=8)


WATCH_ONLY = ("this page only watches: start, answer and abort on the station's own "
              "screen (the machine the bench is at)")


def may_command(client_host: str | None) -> bool:
    """Whether a request from ``client_host`` may command the station: this machine
    only (a loopback address)."""
    try:
        return client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


def _host(conn: Request | WebSocket) -> str | None:
    return conn.client.host if conn.client is not None else None


def _reply(error: str | None) -> JSONResponse:
    if error:
        return JSONResponse({"ok": False, "error": error}, status_code=409)
    return JSONResponse({"ok": True})


def build(station: Station) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        station.loop = asyncio.get_running_loop()
        yield

    app = FastAPI(title=f"rig station {station.info['station']}", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def commands_from_this_machine(request: Request,
                                         call_next: Callable[[Request], Awaitable[Response]]
                                         ) -> Response:
        # Every POST is a command (start, answer, abort): one check for all of them.
        if request.method == "POST" and not may_command(_host(request)):
            return JSONResponse({"ok": False, "error": WATCH_ONLY}, status_code=403)
        return await call_next(request)

    @app.get("/")
    async def page() -> FileResponse:
        # no-cache: a station updated in place serves its new page at the next reload
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/state")
    async def state(request: Request) -> dict[str, Any]:
        return {**station.snapshot(), "control": may_command(_host(request))}

    @app.get("/units/{run_id}/{name}")
    async def document(run_id: str, name: str) -> Response:
        path = station.document(run_id, name)
        if path is None:
            return PlainTextResponse(f"no {name} of run {run_id} on this station's page",
                                     status_code=404)
        return FileResponse(path, headers={"Cache-Control": "no-store"})

    @app.post("/api/start")
    async def start(body: StartBody) -> JSONResponse:
        return _reply(station.start(body.serial))

    @app.post("/api/answer")
    async def answer(body: AnswerBody) -> JSONResponse:
        return _reply(station.answer(body.id, body.answer.strip().lower()[:1]))

    @app.post("/api/abort")
    async def abort() -> JSONResponse:
        return _reply(station.abort())

    @app.websocket("/ws")
    async def feed(ws: WebSocket) -> None:
        await ws.accept()
        queue = station.subscribe()
        closed = asyncio.ensure_future(_until_closed(ws))
        control = {"control": may_command(_host(ws))}
        try:
            await ws.send_json({**station.snapshot(), **control})
            while not closed.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, closed},
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                await ws.send_json({**getter.result(), **control})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page went away (or the server is stopping)
        finally:
            station.unsubscribe(queue)
            closed.cancel()

    return app


async def _until_closed(ws: WebSocket) -> None:
    """The page sends nothing but pings; this ends when it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
