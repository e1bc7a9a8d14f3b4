"""Reading WARC and ARC files anyone wrote (newscrawl/warcread.py), with files made here by
warcio: every response found and read whole, its Content-Encoding undone; and each kind of
damage one counted problem, at its place, with every other record still read."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from newscrawl.warcread import (BAD_ENCODING, DAMAGED, DIGEST, TOO_LARGE, TRUNCATED, UNREADABLE, UnreadableRecord,
                                decode_content, read_page, scan)
from tests.warcs import Fetch, cut_file, cut_member, response_offsets, spoil_payload, write_warc

HOSTS = [f"news{n}.example" for n in range(7)]


def page(n: int) -> bytes:
    return (f"<!doctype html><html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
            + "".join(f"<p>Paragraph {j} of story {n}, with words enough to be a paragraph.</p>" for j in range(8))
            + "</article></body></html>").encode()


def fetches(count: int = 21) -> list[Fetch]:
    return [Fetch(f"https://{HOSTS[n % len(HOSTS)]}/story/{n}", page(n)) for n in range(count)]


def read_all(path: Path) -> tuple[dict[str, bytes], list]:
    """What a reader gets from the file: each response's body by URL, and the problems."""
    problems, bodies = [], {}
    with open(path, "rb") as fh:
        for found in scan(path, problems.append):
            try:
                bodies[found.url] = read_page(fh, path, found.offset, 10 << 20).body
            except UnreadableRecord as exc:
                problems.append(exc.problem)
    return bodies, problems


@pytest.mark.parametrize("gzip_members", [True, False], ids=["gzip", "plain"])
def test_every_response_of_a_file_of_many_hosts_is_found_and_read(tmp_path, gzip_members):
    made = fetches()
    path = write_warc(tmp_path / "cc.warc", made, gzip_members=gzip_members)
    found = list(scan(path, pytest.fail))
    assert [f.url for f in found] == [f.url for f in made]
    assert all(f.status == 200 and f.html and f.date is not None and f.page is None for f in found)
    bodies, problems = read_all(path)
    assert problems == [] and bodies == {f.url: f.body for f in made}


def test_what_is_not_an_html_page_is_told_apart(tmp_path):
    made = [Fetch("https://a.example/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, content_type="image/png"),
            Fetch("https://a.example/gone", b"<html><body>gone</body></html>", status=404),
            Fetch("https://a.example/feed", b"<?xml version='1.0'?><rss><channel></channel></rss>",
                  content_type="application/rss+xml"),
            Fetch("https://a.example/untyped", page(1), content_type="")]
    found = {f.url: f for f in scan(write_warc(tmp_path / "x.warc.gz", made), pytest.fail)}
    assert [found[u].html for u in ("https://a.example/logo.png", "https://a.example/feed")] == [False, False]
    assert found["https://a.example/gone"].status == 404
    assert found["https://a.example/untyped"].html  # told by its first bytes, as the crawl tells it


ENCODED = [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress),
           ("deflate", lambda b: zlib.compress(b)[2:-4]), ("br", brotli.compress),
           ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)), ("gzip, br", lambda b: brotli.compress(
               gzip.compress(b))), ("identity", lambda b: b)]


@pytest.mark.parametrize("coding, encode", ENCODED, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ENCODED)])
def test_a_body_sent_encoded_is_read_decoded(tmp_path, coding, encode):
    body = page(3)
    path = write_warc(tmp_path / "x.warc.gz", [Fetch("https://a.example/s", encode(body),
                                                     headers=(("Content-Encoding", coding),))])
    bodies, problems = read_all(path)
    assert problems == [] and bodies == {"https://a.example/s": body}


def test_a_chunked_body_is_read_whole(tmp_path):
    body = page(4)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:100], body[100:])) + b"0\r\n\r\n"
    path = write_warc(tmp_path / "x.warc.gz", [Fetch("https://a.example/c", chunked,
                                                     headers=(("Transfer-Encoding", "chunked"),))])
    bodies, problems = read_all(path)
    assert problems == [] and bodies == {"https://a.example/c": body}


def test_a_decompression_bomb_and_a_body_that_will_not_decode_are_counted(tmp_path):
    bomb = gzip.compress(b"<html>" + b" " * (30 << 20))
    made = [Fetch("https://a.example/bomb", bomb, headers=(("Content-Encoding", "gzip"),)),
            Fetch("https://a.example/bad", b"not gzip at all", headers=(("Content-Encoding", "gzip"),)),
            Fetch("https://a.example/odd", page(1), headers=(("Content-Encoding", "compress"),)),
            Fetch("https://a.example/fine", page(2))]
    bodies, problems = read_all(write_warc(tmp_path / "x.warc.gz", made))
    assert bodies == {"https://a.example/fine": page(2)}
    assert [p.kind for p in problems] == [TOO_LARGE, BAD_ENCODING, BAD_ENCODING]
    with pytest.raises(Exception, match="bytes"):
        decode_content(bomb, "gzip", 1 << 20)


def _damage_case(tmp_path, gzip_members: bool, damage) -> tuple[list[Fetch], str, dict, list, int]:
    """A file of many hosts, the response of its 10th fetch damaged: what a reader gets,
    and where that response started."""
    made = fetches()
    path = write_warc(tmp_path / ("cc.warc.gz" if gzip_members else "cc.warc"), made, gzip_members=gzip_members)
    victim = made[9].url
    offset, _ = response_offsets(path)[victim]
    damage(path, victim)
    bodies, problems = read_all(path)
    return made, victim, bodies, problems, offset


@pytest.mark.parametrize("gzip_members", [True, False], ids=["gzip", "plain"])
def test_a_file_cut_short_keeps_every_record_before_the_cut(tmp_path, gzip_members):
    made, victim, bodies, problems, offset = _damage_case(tmp_path, gzip_members, cut_file)
    assert bodies == {f.url: f.body for f in made[:9]}
    assert [(p.kind, p.offset) for p in problems] == [(TRUNCATED, offset)]


def test_a_gzip_member_cut_short_mid_file_loses_only_its_record(tmp_path):
    made, victim, bodies, problems, offset = _damage_case(tmp_path, True, cut_member)
    assert bodies == {f.url: f.body for f in made if f.url != victim}
    [problem] = problems
    assert (problem.kind, problem.offset) == (DAMAGED, offset) and "gzip member" in problem.detail


def test_an_uncompressed_record_cut_short_mid_file_loses_only_its_record(tmp_path):
    made, victim, bodies, problems, offset = _damage_case(tmp_path, False, cut_member)
    assert bodies == {f.url: f.body for f in made if f.url != victim}
    assert [(p.kind, p.offset) for p in problems] == [(DAMAGED, offset)]


@pytest.mark.parametrize("gzip_members", [True, False], ids=["gzip", "plain"])
def test_a_record_whose_digest_is_wrong_is_refused_and_only_it(tmp_path, gzip_members):
    made, victim, bodies, problems, offset = _damage_case(
        tmp_path, gzip_members, lambda path, url: spoil_payload(path, url, b"Paragraph 3", b"Paragraph X"))
    assert bodies == {f.url: f.body for f in made if f.url != victim}
    [problem] = problems
    assert (problem.kind, problem.offset) == (DIGEST, offset) and "digest failed" in problem.detail


def test_garbage_between_records_is_one_problem_and_the_records_after_it_are_read(tmp_path):
    made = fetches()
    path = write_warc(tmp_path / "cc.warc.gz", made)
    offset, _ = response_offsets(path)[made[5].url]
    data = path.read_bytes()
    path.write_bytes(data[:offset] + b"\x1f\x8b\x08 not a gzip member " * 40 + data[offset:])
    bodies, problems = read_all(path)
    assert bodies == {f.url: f.body for f in made}
    assert [(p.kind, p.offset) for p in problems] == [(DAMAGED, offset)]


def test_a_file_that_is_no_warc_and_one_gzip_stream_are_said_to_be_unreadable(tmp_path):
    text = tmp_path / "notes.warc"
    text.write_text("these are notes, not an archive\n" * 20)
    assert [p.kind for p in read_all(text)[1]] == [UNREADABLE]
    plain = write_warc(tmp_path / "cc.warc", fetches(5), gzip_members=False)
    one_stream = tmp_path / "one-stream.warc.gz"
    one_stream.write_bytes(gzip.compress(plain.read_bytes()))
    bodies, problems = read_all(one_stream)
    assert [p.kind for p in problems] == [UNREADABLE] and "warcio recompress" in problems[0].detail


def arc_record(url: str, body: bytes, when: str = "20260302080000") -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    return f"{url} 192.0.2.1 {when} text/html {len(http)}\n".encode() + http + b"\n"


def test_an_arc_file_is_read_too(tmp_path):
    fields = b"1 0 Tests\nURL IP-address Archive-date Content-type Archive-length\n"
    info = b"filedesc://x.arc 0.0.0.0 20260302080000 text/plain %d\n%s\n" % (len(fields), fields)
    members = [info] + [arc_record(f"http://arc.example/{n}", page(n)) for n in range(3)]
    for name, data in (("x.arc", b"".join(members)), ("x.arc.gz", b"".join(gzip.compress(m) for m in members))):
        path = tmp_path / name
        path.write_bytes(data)
        bodies, problems = read_all(path)
        assert problems == [] and bodies == {f"http://arc.example/{n}": page(n) for n in range(3)}, name


def test_newscrawls_own_archive_says_what_the_page_was_and_its_outlet(tmp_path):
    from datetime import datetime, timezone

    from newscrawl.archive import ARTICLE, Capture, fetch_records, warcinfo_record

    capture = Capture(url="https://a.example/s", status=200, protocol="HTTP/1.1",
                      headers=((b"Content-Type", b"text/html"),), body=page(1), date=datetime.now(timezone.utc),
                      ip=None, method="GET", request_headers=(), request_body=b"")
    path = tmp_path / "a.warc.gz"
    path.write_bytes(warcinfo_record("a.warc.gz", {"outlet": "dawn"}) + fetch_records(
        [capture], ARTICLE, {"Newscrawl-Discovered-Via": "news-sitemap",
                             "Newscrawl-Hints": '{"published_at":"2026-03-01T10:00:00+00:00"}'}))
    [found] = scan(path, pytest.fail)
    assert (found.page, found.file_outlet) == (ARTICLE, "dawn")
    with open(path, "rb") as fh:
        read = read_page(fh, path, found.offset, 1 << 20)
    assert read.discovered_via == "news-sitemap" and read.hints == {"published_at": "2026-03-01T10:00:00+00:00"}


def test_an_empty_file_has_nothing_and_no_problem(tmp_path):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    assert read_all(empty) == ({}, [])


def test_offsets_found_are_where_the_records_start(tmp_path):
    path = write_warc(tmp_path / "cc.warc.gz", fetches(6))
    offsets = response_offsets(path)
    assert {f.url: f.offset for f in scan(path, pytest.fail)} == {u: o for u, (o, _) in offsets.items()}


def test_the_outlet_that_owns_a_url_is_found_by_its_host():
    from newscrawl.outlets import Outlet, OutletsByHost

    def outlet(name, *domains):
        return Outlet(name=name, display_name=name, domains=domains, homepage=f"https://{domains[0]}/")

    paper, sport, local = outlet("paper", "paper.example"), outlet("sport", "sport.paper.example"), \
        outlet("local", "127.0.0.1:8080", "local.example")
    owners = OutletsByHost([paper, sport, local])
    cases = {"https://www.paper.example/a": paper, "https://paper.example/a": paper,
             "https://live.sport.paper.example/b": sport,  # the most specific domain wins
             "http://127.0.0.1:8080/c": local, "http://127.0.0.1:9090/c": None,  # a port is matched
             "https://LOCAL.example./d": local, "https://otherpaper.example/": None, "dns:paper.example": None,
             "http://[::1/": None}
    for url, owner in cases.items():
        assert owners.owner(url) is owner, url
        assert owners.owner(url) is owner, url  # the answer kept for the host is the same
        assert owner is None or owner.owns(url)
