"""The guard's decisions as pure functions. Addresses here are only ever compared, never
contacted: the end-to-end refusals use 127.0.0.2 and 127.0.0.3 (tests/test_hostile.py)."""

from __future__ import annotations

from datetime import date

import pytest

from newscrawl.charset import decode_html, page_encoding
from newscrawl.guard import (
    DEFAULT_FORBIDDEN_NETWORKS, Refused, address_is_forbidden, failure_kind, looks_binary, parse_networks,
    retry_after_seconds,
)
from newscrawl.outlets import OutletConfigError, generic_outlet
from newscrawl.state import open_state
from newscrawl.traps import TrapLimits, trap_kind
from pipelines.parts import OutputPathError, output_folder
from tests.faults import PDF, PNG, URDU, article_html

FORBIDDEN = parse_networks(DEFAULT_FORBIDDEN_NETWORKS)
TEST_ALLOWED = parse_networks(["127.0.0.1/32"])


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "127.0.0.2", "169.254.169.254",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1",
    "::ffff:169.254.169.254", "::ffff:10.0.0.1", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "fe80::1%eth0",
])
def test_internal_addresses_are_forbidden(address):
    assert address_is_forbidden(address, FORBIDDEN)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1", "1.1.1.1"])
def test_public_addresses_are_not(address):
    assert not address_is_forbidden(address, FORBIDDEN)


def test_the_allow_list_opens_exactly_what_it_names():
    assert not address_is_forbidden("127.0.0.1", FORBIDDEN, TEST_ALLOWED)
    assert address_is_forbidden("127.0.0.2", FORBIDDEN, TEST_ALLOWED)
    assert address_is_forbidden("::ffff:127.0.0.2", FORBIDDEN, TEST_ALLOWED)


def test_networks_parse_from_a_setting_string():
    assert parse_networks("127.0.0.1/32, ::1/128") == parse_networks(["127.0.0.1/32", "::1/128"])


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), (b"0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), ("", None),
    ("-5", None),
])
def test_retry_after(value, expected):
    assert retry_after_seconds(value, now=1.9e9) == expected


def test_retry_after_date_in_the_future():
    assert retry_after_seconds("Thu, 01 Jan 2032 00:01:00 GMT", now=1956528000.0) == 60.0


@pytest.mark.parametrize("body", [PDF, PNG, b"\xff\xd8\xff\xe0\x00\x10JFIF", b"PK\x03\x04" + bytes(100),
                                  b"GIF89a\x01\x00", b"<html>\x00\x00\x00</html>"])
def test_binary_bodies(body):
    assert looks_binary(body)


@pytest.mark.parametrize("body", [b"<!doctype html><p>Hello</p>", b"BMW sales rose", "<p>شہر</p>".encode(),
                                  "\ufeff<p>hi</p>".encode("utf-16"), b"\x1f\x8b\x08gzip", b""])
def test_text_bodies(body):
    assert not looks_binary(body)


@pytest.mark.parametrize("url, kind", [
    ("https://x.com/a/b/c", None),
    ("https://x.com/2026/01/05/story-123", None),
    ("https://x.com/story/1234/title", None),
    ("https://x.com/news?page=201", "pagination"),
    ("https://x.com/news/page/999/", "pagination"),
    ("https://x.com/archive/2031/01/", "calendar"),
    ("https://x.com/archive/1850-01-01", "calendar"),
    ("https://x.com/events?date=2199-12-01", "calendar"),
    ("https://x.com/a/b/a/b/a/b/a/", "repeated-segment"),
    ("https://x.com/" + "/".join(str(n) for n in range(25)), "deep-path"),
])
def test_url_traps(url, kind):
    assert trap_kind(url, TrapLimits(), today=date(2026, 6, 1)) == kind


def test_failure_kinds():
    from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest

    assert failure_kind(Refused("private-address")) == ("refused", "private-address")
    assert failure_kind(DownloadTimeoutError("slow")) == ("errors", "timeout")
    assert failure_kind(IgnoreRequest("max redirections reached")) == ("errors", "redirect-loop")


def _scope_check(middleware_class, spider, url: str) -> bool:
    """Whether the offsite middleware lets a request for url through."""
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest

    middleware = middleware_class.from_crawler(spider.crawler)
    middleware.spider_opened(spider)
    try:
        middleware.process_request(Request(url))
    except IgnoreRequest:
        return False
    return True


def test_outlets_on_one_host_are_told_apart_by_port():
    """Why OutletScope replaces Scrapy's offsite middleware rather than standing beside it:
    Scrapy's rule reads allowed_domains as host names, so two outlets served from one host
    on two ports cannot be told apart; OutletScope is Scrapy's middleware with
    `Outlet.owns` as its rule."""
    from scrapy import Spider
    from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
    from scrapy.utils.test import get_crawler

    from newscrawl.guard import OutletScope
    from newscrawl.outlets import Outlet

    class PortTimes(Spider):
        name = "port-times"
        outlet = Outlet(name="port-times", display_name="Port Times", domains=("127.0.0.1:8001",),
                        homepage="http://127.0.0.1:8001/")

    own, other = "http://127.0.0.1:8001/news/a", "http://127.0.0.1:8002/news/a"
    crawler = get_crawler(PortTimes)
    crawler.spider = spider = PortTimes.from_crawler(crawler)
    assert _scope_check(OutletScope, spider, own)
    assert not _scope_check(OutletScope, spider, other)
    # Scrapy's: the host name lets the other outlet's port in; the domain as the outlet
    # writes it keeps out the outlet's own pages.
    spider.allowed_domains = ["127.0.0.1"]
    assert _scope_check(OffsiteMiddleware, spider, other)
    spider.allowed_domains = ["127.0.0.1:8001"]
    assert not _scope_check(OffsiteMiddleware, spider, own)


def test_charset_choices():
    urdu = article_html("t", URDU, meta_charset="windows-1256").encode("cp1256")
    assert page_encoding("text/html; charset=utf-8", urdu) == ("cp1256", "header-contradicted")
    assert page_encoding("text/html; charset=iso-8859-1", urdu) == ("cp1256", "header-contradicted")
    # A real UTF-8 page is not overruled by a stale meta tag.
    utf8 = article_html("t", URDU, meta_charset="windows-1256").encode("utf-8")
    assert page_encoding("text/html; charset=utf-8", utf8) == (None, "conflict-kept-header")
    assert page_encoding("text/html", "café".encode("cp1252")) == ("cp1252", "undeclared-cp1252")
    assert decode_html(b"<p>\x93quoted\x94 \x81</p>", "text/html; charset=utf-8") == "<p>“quoted” </p>"


def test_untrusted_names_never_become_paths(tmp_path):
    for name in ("../etc", "a/b", "..", "", "A", "x" * 100, "name\x00", "con/../../x"):
        with pytest.raises(OutputPathError):
            output_folder(tmp_path, name, "2026-01-01")
        with pytest.raises(ValueError):
            open_state({"NEWSCRAWL_STATE_DIR": str(tmp_path)}, name)
    with pytest.raises(OutputPathError):
        output_folder(tmp_path, "ok", "../../escape")
    with pytest.raises(OutletConfigError):
        generic_outlet("http://example.org/", name="../../tmp/x")
    # A host taken from a URL is reduced to a safe name.
    assert generic_outlet("http://..%2f..%2fetc.example/").name == "2f-2fetc-example"
    assert list(tmp_path.iterdir()) == []

