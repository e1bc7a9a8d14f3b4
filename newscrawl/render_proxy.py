"""The rendering browser's only way out: an HTTP proxy on 127.0.0.1 that Chromium sends
all its traffic through (newscrawl/render_handler.py launches it so).

Each connection the browser asks for (a plain `GET http://host/...`, or a `CONNECT
host:443` tunnel for HTTPS and WebSockets) names a host; the proxy resolves it with the
crawl's own resolver, refuses it when the address is one a plain request may not reach
(newscrawl.guard.AddressPolicy: NEWSCRAWL_FORBIDDEN_NETWORKS less
NEWSCRAWL_ALLOWED_NETWORKS), and otherwise connects to the address it checked. Redirects,
scripts, frames, fetches and WebSockets of a rendered page all pass here, so a page can
no more reach a private address than a plain request can. Bounded: a connection idle for
`timeout` seconds is closed, and a response longer than `max_bytes` is cut off.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

HOST = "127.0.0.1"
# A request head longer than this is no browser's.
MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024
# Headers meant for the proxy, or for one hop: not passed on.
HOP_HEADERS = frozenset(("proxy-connection", "proxy-authorization", "connection", "keep-alive", "te", "trailer",
                         "upgrade"))
FORBIDDEN = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class GuardProxy:
    """An HTTP/HTTPS forward proxy on 127.0.0.1, on a port of its own (`port`, known as
    soon as it is made: the browser's launch options name it). `policy` is an
    AddressPolicy; `refused(url, address)` is told of each refusal."""

    def __init__(self, policy, refused: Callable[[str, str], None], *, max_bytes: int, timeout: float):
        self.policy = policy
        self.refused = refused
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self._socket.listen(128)
        self._socket.setblocking(False)
        self.port: int = self._socket.getsockname()[1]
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, sock=self._socket, limit=MAX_HEAD)

    async def close(self) -> None:
        if self._server is None:
            self._socket.close()
            return
        self._server.close()
        # Each open connection closed, and its relay left to end on that (a relay
        # cancelled instead would leave asyncio's stream callback a cancelled task).
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: list[asyncio.StreamWriter] = []
        try:
            await self._open(reader, writer, upstream)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            for w in (writer, *upstream):
                w.close()
            for w in (writer, *upstream):
                try:
                    await w.wait_closed()
                except OSError:
                    pass
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def _open(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    upstream_writers: list) -> None:
        """Reads the browser's request head, checks where it goes, and relays the
        connection there (its writer put in `upstream_writers`, for closing)."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
        request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method.upper() == "CONNECT":
            parts = urlsplit(f"//{target}")
            host, port, url = parts.hostname, parts.port or 443, f"https://{target}/"
        else:
            parts = urlsplit(target)
            if parts.scheme.lower() != "http":
                writer.write(BAD_REQUEST)
                return
            host, port, url = parts.hostname, parts.port or 80, target
        if not host:
            writer.write(BAD_REQUEST)
            return
        address = await self.policy.address_of(host)
        if address is None:
            writer.write(BAD_GATEWAY)
            return
        if self.policy.is_forbidden(address):
            self.refused(url, address)
            writer.write(FORBIDDEN)
            return
        up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(address, port, limit=CHUNK),
                                                     self.timeout)
        upstream_writers.append(upstream)
        if method.upper() == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        else:
            # One request a connection: the browser's next request, perhaps to another
            # host, comes on a connection of its own and is checked again.
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [line for line in header_lines if line.split(":", 1)[0].strip().lower() not in HOP_HEADERS]
            upstream.write(f"{method} {path} {version}\r\n".encode("latin-1")
                           + "".join(f"{line}\r\n" for line in kept).encode("latin-1") + b"Connection: close\r\n\r\n")
        await self._relay(reader, writer, up_reader, upstream)

    async def _relay(self, reader, writer, up_reader, upstream) -> None:
        """Bytes both ways until the server's side ends (or is cut at max_bytes, or idles
        past the timeout); the browser's side may end first (a request sent whole)."""
        to_server = asyncio.ensure_future(self._pipe(reader, upstream, None))
        to_browser = asyncio.ensure_future(self._pipe(up_reader, writer, self.max_bytes))
        try:
            done, _ = await asyncio.wait({to_server, to_browser}, return_when=asyncio.FIRST_COMPLETED)
            if to_browser not in done:
                await to_browser
        finally:
            for task in (to_server, to_browser):
                task.cancel()
            await asyncio.gather(to_server, to_browser, return_exceptions=True)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, cap: int | None) -> None:
        sent = 0
        while True:
            data = await asyncio.wait_for(source.read(CHUNK), self.timeout)
            if not data:
                if sink.can_write_eof():
                    sink.write_eof()
                return
            if cap is not None and sent + len(data) > cap:
                sink.write(data[:cap - sent])
                return  # cut off: the browser sees a connection closed before the end
            sent += len(data)
            sink.write(data)
            await sink.drain()
