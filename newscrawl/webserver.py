"""A small local web server for the offline demo, the tests and the benchmarks.

`LocalSite` serves a dict of routes on 127.0.0.1 (never any other address) on a free
port, records every request it answers, and behaves like a plain static web server:
ETag / Last-Modified, conditional GETs answered with 304, HEAD, 404 for unknown paths.

Routes map a path (with its query string when it has one) to a `Page`, or to a callable
`handler(request) -> Page` for dynamic behaviour. A `Page` can also misbehave on purpose,
so crawler tests can inject faults:

- `body` may be an iterable of chunks (`bytes`, or `Chunk(data, delay)`) sent with chunked
  transfer encoding, each after its delay: a slow, dripping body;
- `delay` holds the whole response back (a slow server);
- `close_after=N` announces the full Content-Length but closes the connection after N body
  bytes: a truncated body;
- `reset=True` aborts the connection with a TCP reset instead of answering.

    with LocalSite() as site:
        site.routes["/"] = Page(b"<html>...</html>")
        fetch(site.url + "/")
        assert site.count("/") == 1
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "127.0.0.1"
HTML = "text/html; charset=utf-8"
# Fixed default Last-Modified so responses are the same bytes on every run.
DEFAULT_LAST_MODIFIED = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed body, sent after `delay` seconds."""

    data: bytes
    delay: float = 0.0


@dataclass
class Page:
    body: bytes | Iterable[bytes | Chunk] = b""
    content_type: str = HTML
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    # Fault injection, see the module docstring.
    delay: float = 0.0
    close_after: int | None = None
    reset: bool = False

    @property
    def is_static(self) -> bool:
        return isinstance(self.body, (bytes, bytearray))

    def etag(self) -> str:
        return '"' + hashlib.sha1(bytes(self.body)).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


Handler = Callable[[Request], Page]
NOT_FOUND = Page(b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>", status=404)


def _not_modified(request: Request, page: Page, last_modified: datetime, etag: str) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since."""
    if page.status != 200 or not page.is_static:
        return False
    if_none_match = request.header("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.header("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return last_modified.replace(microsecond=0) <= since
    return False


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newscrawl-localsite/1"
    # A backstop: an idle keep-alive connection does not hold a thread forever.
    timeout = 30
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass

    def do_GET(self):
        self._answer(head=False)

    def do_HEAD(self):
        self._answer(head=True)

    def do_POST(self):
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        site = self.server.site
        request = Request(self.command, self.path, dict(self.headers.items()))
        site._record(request)
        page = site._resolve(request)
        if page.delay and site._stopping.wait(page.delay):
            self.close_connection = True
            return
        if page.reset:
            self._reset()
            return
        if page.is_static:
            self._send_static(request, page, head)
        else:
            self._send_streamed(page, head)

    def _start(self, status: int, page: Page, extra: dict[str, str]) -> None:
        self.send_response(status)
        headers = {"Content-Type": page.content_type, **extra, **page.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_static(self, request: Request, page: Page, head: bool) -> None:
        body = bytes(page.body)
        last_modified = page.last_modified or DEFAULT_LAST_MODIFIED
        etag = page.etag()  # a hash of the whole body: once per request
        validators = {}
        if page.status == 200:
            validators = {"ETag": etag, "Last-Modified": format_datetime(last_modified, usegmt=True)}
        if request.method in ("GET", "HEAD") and _not_modified(request, page, last_modified, etag):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._start(page.status, page, {"Content-Length": str(len(body)), **validators})
        if head:
            return
        if page.close_after is not None:
            self.wfile.write(body[: page.close_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _send_streamed(self, page: Page, head: bool) -> None:
        self._start(page.status, page, {"Transfer-Encoding": "chunked"})
        if head:
            return
        sent = 0
        for piece in page.body:
            chunk = piece if isinstance(piece, Chunk) else Chunk(bytes(piece))
            if chunk.delay and self.server.site._stopping.wait(chunk.delay):
                self.close_connection = True
                return
            data = chunk.data
            if page.close_after is not None and sent + len(data) >= page.close_after:
                self.wfile.write(b"%x\r\n" % len(data) + data[: page.close_after - sent])
                self.wfile.flush()
                self.close_connection = True
                return
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            sent += len(data)
        self.wfile.write(b"0\r\n\r\n")

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = False
    # Crawlers open several connections at once. Beyond socketserver's default backlog of 5
    # the kernel drops a connection's SYN, and the client only tries again a second later.
    request_queue_size = 128

    def __init__(self, site: "LocalSite"):
        self.site = site
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((HOST, 0), _RequestHandler)

    def process_request_thread(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # Clients that hang up mid-response are normal in crawler tests; stay quiet.
        pass


class LocalSite:
    """A threaded HTTP/1.1 server on 127.0.0.1 and a free port, serving `routes`."""

    def __init__(self, routes: dict[str, Page | Handler] | None = None):
        self.routes: dict[str, Page | Handler] = dict(routes or {})
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.request_times: list[float] = []  # time.monotonic() of each entry of `requests`
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "LocalSite":
        if self._server is not None:
            raise RuntimeError("LocalSite already started")
        self._stopping.clear()
        self._server = _Server(self)
        if self._server.server_address[0] != HOST:
            raise RuntimeError("LocalSite must bind 127.0.0.1 only")
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"LocalSite:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_open_connections()
        server.server_close()  # joins the connection threads (block_on_close)
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "LocalSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalSite is not running")
        return self._server.server_address[1]

    @property
    def host_port(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    # -- requests ------------------------------------------------------------------------
    def _record(self, request: Request) -> None:
        with self._requests_lock:
            self.requests.append((request.method, request.path, request.headers))
            self.request_times.append(time.monotonic())

    def requested_paths(self, method: str | None = None) -> list[str]:
        with self._requests_lock:
            return [p for m, p, _ in self.requests if method is None or m == method]

    def count(self, path: str, method: str | None = None) -> int:
        return self.requested_paths(method).count(path)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()
            self.request_times.clear()

    def _resolve(self, request: Request) -> Page:
        path = request.path
        if "://" in path:  # absolute-form request target (a proxy-style request)
            parts = urlsplit(path)
            path = parts.path + ("?" + parts.query if parts.query else "")
        route = self.routes.get(path)
        if route is None and "?" in path:
            route = self.routes.get(path.split("?", 1)[0])
        if route is None:
            return NOT_FOUND
        if callable(route):
            try:
                return route(request)
            except Exception as exc:  # a broken test handler answers 500, not a hang
                return Page(f"handler failed: {exc!r}".encode(), "text/plain; charset=utf-8", status=500)
        return route
