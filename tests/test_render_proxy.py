"""The rendering browser's proxy (newscrawl/render_proxy.py): the address guard of plain
requests, applied to every connection a rendered page makes. Driven here as Chromium
drives it (absolute-form GETs, CONNECT tunnels), against local servers; 127.0.0.2 and
127.0.0.3 stand in for the addresses a crawl may not reach."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.settings import Settings

from newscrawl.guard import DEFAULT_FORBIDDEN_NETWORKS, AddressPolicy
from newscrawl.render_proxy import GuardProxy
from newscrawl.webserver import LocalSite, Page
from tests.faults import AddressListener

pytestmark = pytest.mark.e2e  # local servers

POLICY = AddressPolicy(Settings({"NEWSCRAWL_FORBIDDEN_NETWORKS": list(DEFAULT_FORBIDDEN_NETWORKS),
                                 "NEWSCRAWL_ALLOWED_NETWORKS": ["127.0.0.1/32"]}))


@pytest.fixture
def site():
    with LocalSite() as local:
        local.routes["/page"] = Page(b"<html><body>hello</body></html>")
        local.routes["/large"] = Page(b"x" * 200_000, "application/octet-stream")
        yield local


def through_proxy(exchange, **limits):
    """Runs `exchange(proxy)` (a coroutine function) with a started proxy; the refusals it
    was told of, and the exchange's result."""
    refused: list[tuple[str, str]] = []

    async def main():
        proxy = GuardProxy(POLICY, lambda url, address: refused.append((url, address)),
                           max_bytes=limits.get("max_bytes", 10_000_000), timeout=limits.get("timeout", 10))
        await proxy.start()
        try:
            return await asyncio.wait_for(exchange(proxy), 30)
        finally:
            await proxy.close()

    return refused, asyncio.run(main())


async def send(proxy, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(data)
    await writer.drain()
    received = await reader.read()
    writer.close()
    await writer.wait_closed()
    return received


def test_a_plain_request_is_relayed_in_origin_form_one_request_a_connection(site):
    request = (f"GET {site.url_for('/page')} HTTP/1.1\r\nHost: {site.host_port}\r\n"
               "Proxy-Connection: keep-alive\r\nUser-Agent: browser\r\n\r\n").encode()
    refused, answer = through_proxy(lambda proxy: send(proxy, request))
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello</body></html>")
    [(method, path, headers)] = site.requests
    assert (method, path) == ("GET", "/page")
    assert headers["Connection"] == "close" and "Proxy-Connection" not in headers
    assert headers["User-Agent"] == "browser"
    assert refused == []


def test_a_tunnel_to_an_allowed_address_carries_the_browsers_bytes(site):
    async def exchange(proxy):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(f"CONNECT {site.host_port} HTTP/1.1\r\nHost: {site.host_port}\r\n\r\n".encode())
        established = await reader.readuntil(b"\r\n\r\n")
        writer.write(f"GET /page HTTP/1.1\r\nHost: {site.host_port}\r\nConnection: close\r\n\r\n".encode())
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        return established, answer

    refused, (established, answer) = through_proxy(exchange)
    assert established.startswith(b"HTTP/1.1 200")
    assert answer.startswith(b"HTTP/1.1 200") and b"hello" in answer
    assert refused == []


@pytest.mark.parametrize("host", ["127.0.0.2", "127.0.0.3"])
@pytest.mark.parametrize("form", ["plain", "tunnel"])
def test_a_forbidden_address_is_refused_before_any_connection(host, form):
    listener = AddressListener(host)
    target = f"{host}:{listener.port}"
    request = (f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n" if form == "tunnel"
               else f"GET http://{target}/secret HTTP/1.1\r\nHost: {target}\r\n\r\n").encode()
    refused, answer = through_proxy(lambda proxy: send(proxy, request))
    assert answer.startswith(b"HTTP/1.1 403")
    assert refused == [(f"https://{target}/" if form == "tunnel" else f"http://{target}/secret", host)]
    assert listener.connections == 0
    listener.close()


def test_a_response_longer_than_the_cap_is_cut_off(site):
    request = f"GET {site.url_for('/large')} HTTP/1.1\r\nHost: {site.host_port}\r\n\r\n".encode()
    _, answer = through_proxy(lambda proxy: send(proxy, request), max_bytes=50_000)
    assert len(answer) == 50_000


@pytest.mark.parametrize("request_bytes", [
    b"NONSENSE\r\n\r\n",
    b"GET ftp://127.0.0.1/file HTTP/1.1\r\n\r\n",
    b"GET /relative HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET http:///nohost HTTP/1.1\r\n\r\n",
])
def test_a_request_the_proxy_cannot_read_is_answered_or_closed_and_the_proxy_goes_on(site, request_bytes):
    async def exchange(proxy):
        first = await send(proxy, request_bytes)
        after = await send(proxy, f"GET {site.url_for('/page')} HTTP/1.1\r\nHost: {site.host_port}\r\n\r\n".encode())
        return first, after

    refused, (first, after) = through_proxy(exchange)
    assert first in (b"", ) or first.startswith(b"HTTP/1.1 400")
    assert after.startswith(b"HTTP/1.1 200")
    assert refused == []


def test_a_browser_connection_that_says_nothing_is_closed_after_the_timeout():
    async def exchange(proxy):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        data = await reader.read()  # the proxy closes it: EOF
        writer.close()
        await writer.wait_closed()
        return data

    _, data = through_proxy(exchange, timeout=0.5)
    assert data == b""
