"""The backend's file server: what a CSMS operator puts behind the URLs of
UpdateFirmware (the charger downloads an image) and GetDiagnostics (the charger
uploads its log by HTTP PUT to ``location + "/" + fileName``).

A small threaded ``http.server`` on 127.0.0.1, port 0 (any free port). A test puts
files into :attr:`FileServer.files`, reads uploads from :attr:`FileServer.uploads`
and every request from :attr:`FileServer.requests`. Unknown paths answer 404, so a
"download failed" case just names a path nobody serves. Bodies and the request log
are bounded; :meth:`stop` closes the socket and joins the thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1 << 20  # bytes accepted in one PUT
MAX_REQUESTS = 1000  # requests kept in the log
SOCKET_TIMEOUT_S = 10.0  # wall seconds a slow client may hold a handler thread


@dataclass(frozen=True)
class FileRequest:
    """One request the server saw: method, path, HTTP status answered, body size."""

    method: str
    path: str
    status: int
    size: int = 0


class FileServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.requests: list[FileRequest] = []
        self.accept_uploads = True
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> FileServer:
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="file-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what a test uses --------------------------------------------------------------
    def url(self, path: str = "") -> str:
        """``http://127.0.0.1:<port>/<path>``."""
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def requested(self, method: str) -> list[FileRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def _record(self, req: FileRequest) -> None:
        with self._lock:
            if len(self.requests) < MAX_REQUESTS:
                self.requests.append(req)


def _handler_for(owner: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT_S

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the request log is owner.requests, not stderr

        def _path(self) -> str:
            return self.path.split("?", 1)[0].lstrip("/")

        def _answer(self, status: HTTPStatus, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            body = owner.files.get(self._path())
            status = HTTPStatus.OK if body is not None else HTTPStatus.NOT_FOUND
            owner._record(FileRequest("GET", self._path(), status, len(body or b"")))
            self._answer(status, body or b"")

        def do_PUT(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                owner._record(FileRequest("PUT", self._path(), 413, length))
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                return
            data = self.rfile.read(length) if length else b""
            if not owner.accept_uploads:
                owner._record(FileRequest("PUT", self._path(), 403, len(data)))
                self._answer(HTTPStatus.FORBIDDEN)
                return
            with owner._lock:
                owner.uploads[self._path()] = data
            owner._record(FileRequest("PUT", self._path(), 201, len(data)))
            self._answer(HTTPStatus.CREATED)

    return Handler
