"""WARC files made in the tests with warcio, shaped as the files users bring: CC-NEWS's
(a warcinfo record, then for each fetch a request, a response and a metadata record, each
its own gzip member, many hosts interleaved), and the damage a download or a disk does to
them (a file cut short, a gzip member cut short in the middle, a record whose digest does
not match its bytes)."""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.outlets import Outlet
from newscrawl.sitegen import OutletSpec, SiteBuild, build_site

FETCHED = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@dataclass
class Fetch:
    url: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    date: datetime = FETCHED
    extra: dict = field(default_factory=dict)  # more WARC headers


def _date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_warc(path: Path, fetches: list[Fetch], *, gzip_members: bool = True, cc_news: bool = True) -> Path:
    """The fetches as a WARC 1.0 file, CC-NEWS's way (with `cc_news`: a request before and
    a metadata record after each response)."""
    reasons = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip_members, warc_version="1.0")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests", "isPartOf": "CC-NEWS"}))
        for fetch in fetches:
            date = {"WARC-Date": _date(fetch.date)}
            if cc_news:
                request = StatusAndHeaders(f"GET {urlsplit(fetch.url).path or '/'} HTTP/1.1",
                                           [("User-Agent", "CCBot/2.0")], is_http_request=True)
                writer.write_record(writer.create_warc_record(fetch.url, "request", http_headers=request,
                                                              warc_headers_dict=date))
            http = StatusAndHeaders(f"{fetch.status} {reasons.get(fetch.status, 'OK')}",
                                    [("Content-Type", fetch.content_type), *fetch.headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(fetch.url, "response", payload=io.BytesIO(fetch.body),
                                                          length=len(fetch.body), http_headers=http,
                                                          warc_headers_dict={**date, **fetch.extra}))
            if cc_news:
                fields = b"fetchTimeMs: 120\r\n"
                writer.write_record(writer.create_warc_record(fetch.url, "metadata", payload=io.BytesIO(fields),
                                                              length=len(fields),
                                                              warc_content_type="application/warc-fields",
                                                              warc_headers_dict=date))
    return path


def response_offsets(path: Path) -> dict[str, tuple[int, int]]:
    """Each response record's target URI -> (offset, length) in the file."""
    out = {}
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            if record.rec_type == "response":
                url = record.rec_headers.get_header("WARC-Target-URI")
                out[url] = (iterator.get_record_offset(), iterator.get_record_length())
    return out


def cut_file(path: Path, url: str, keep: int = 300) -> None:
    """The file ends `keep` bytes into the response record of `url` (an interrupted download)."""
    offset, _ = response_offsets(path)[url]
    data = path.read_bytes()
    path.write_bytes(data[:offset + keep])


def cut_member(path: Path, url: str, keep: int = 300) -> None:
    """The gzip member of `url`'s response cut short, the rest of the file after it."""
    offset, length = response_offsets(path)[url]
    data = path.read_bytes()
    path.write_bytes(data[:offset + keep] + data[offset + length:])


def spoil_payload(path: Path, url: str, old: bytes, new: bytes) -> None:
    """`url`'s response payload changed (old -> new, the same length) under its recorded
    digests: a record whose digest does not match its bytes."""
    assert len(old) == len(new)
    offset, length = response_offsets(path)[url]
    data = path.read_bytes()
    member = data[offset:offset + length]
    plain = gzip.decompress(member) if member[:2] == b"\x1f\x8b" else member
    assert old in plain
    plain = plain.replace(old, new, 1)
    spoiled = _gzip_member(plain) if member[:2] == b"\x1f\x8b" else plain
    path.write_bytes(data[:offset] + spoiled + data[offset + length:])


def _gzip_member(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


# --------------------------------------------------------------------------- sites


@dataclass
class Site:
    """A generated news site (newscrawl/sitegen.py) at a host nothing serves: its pages go
    into WARC files, its outlet record into the registry of a test."""

    spec: OutletSpec
    build: SiteBuild
    host: str

    @property
    def outlet(self) -> Outlet:
        return Outlet(name=self.spec.name, display_name=self.spec.display_name, domains=(self.host,),
                      homepage=f"https://www.{self.host}/", timezone=self.spec.timezone,
                      languages=tuple(dict.fromkeys([self.spec.language] + [a.language for a in self.spec.articles])))

    def article_fetches(self, start: datetime = FETCHED) -> list[Fetch]:
        return [Fetch(url, bytes(self.build.routes[url[len(self.build.base_url):]].body),
                      date=start + timedelta(seconds=i))
                for i, url in enumerate(sorted(self.build.all_articles))]


def site(spec: OutletSpec, host: str) -> Site:
    return Site(spec, build_site(spec, f"https://www.{host}"), host)


def interleave(*lists: list) -> list:
    """One item of each list in turn, as a crawl of many hosts archives them."""
    out = []
    for i in range(max(map(len, lists))):
        out += [items[i] for items in lists if i < len(items)]
    return out
