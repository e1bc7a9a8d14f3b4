"""The archive (newscrawl/archive.py): every article response of a crawl as WARC 1.1
request and response records, read back with warcio and checked with `warcio check`;
rotation; torn tails cut after a kill; and, through real crawls of local sites, that
every article written has its response archived, also across a SIGKILL."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import subprocess
import zlib
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

from newscrawl import exitcodes
from newscrawl.archive import (ARTICLE, OPEN_INDEX, OPEN_SUFFIX, OTHER, PAGE_HEADER, Capture, WarcFiles, complete_length,
                               fetch_records, recover, warcinfo_record)
from newscrawl.demo import demo_spec, fixture_web_spec, serve_outlet
from newscrawl.ledger import NS_ARTICLES
from newscrawl.outlets import Outlet
from newscrawl.state import SQLiteStateStore
from newscrawl.webserver import Chunk, LocalSite, Page
from tests.crawling import crawl, run_scrapy, write_outlets

STAMP = "20260102T030405Z"


def sha1_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def exchange(url: str, body: bytes = b"<html><body><p>story</p></body></html>", status: int = 200,
             headers: tuple = ((b"Content-Type", b"text/html; charset=utf-8"),), **kw) -> Capture:
    return Capture(url=url, status=status, protocol="HTTP/1.1", headers=headers, body=body,
                   date=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc), ip="127.0.0.1", method="GET",
                   request_headers=((b"User-Agent", b"newscrawl/test"), (b"Accept-Encoding", b"gzip")),
                   request_body=b"", **kw)


def records_of(data: bytes) -> list:
    """Each record of a WARC as (type, WARC headers, HTTP headers, raw payload, decoded payload)."""
    out = []
    for record in ArchiveIterator(io.BytesIO(data)):
        raw = record.raw_stream.read()
        out.append(SimpleNamespace(type=record.rec_type, warc=record.rec_headers, http=record.http_headers, raw=raw))
    return out


def warcio_checks(paths: list[Path]) -> int:
    """`warcio check`'s verdict (0: every record whole, every digest right), in this process."""
    return Checker(SimpleNamespace(inputs=[str(p) for p in paths], verbose=False)).process_all()


# --------------------------------------------------------------------------- records


def test_a_fetch_is_its_redirects_then_its_request_and_response_as_received():
    html = "<html><body><p>Caf\u00e9 story</p></body></html>".encode()
    encoded = gzip.compress(html)
    moved = exchange("http://news.test/old", b"", status=301, headers=((b"Location", b"/new"),))
    final = exchange("http://news.test/new?x=1", encoded, headers=(
        (b"Content-Type", b"text/html; charset=utf-8"), (b"Content-Encoding", b"gzip"),
        (b"Transfer-Encoding", b"chunked"), (b"X-Note", b"caf\xe9"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")))
    final = replace(final, request_headers=final.request_headers + ((b"Authorization", b"Basic c2VjcmV0"),))
    data = fetch_records([moved, final], ARTICLE)
    records = records_of(data)

    assert [r.type for r in records] == ["request", "response", "request", "response"]
    assert [r.warc.get_header("WARC-Target-URI") for r in records] == ["http://news.test/old"] * 2 + \
        ["http://news.test/new?x=1"] * 2
    for request, response in (records[:2], records[2:]):
        assert request.warc.get_header("WARC-Concurrent-To") == response.warc.get_header("WARC-Record-ID")
        assert request.warc.get_header("WARC-Date") == response.warc.get_header("WARC-Date") == \
            "2026-01-02T03:04:05.678901Z"
        assert response.warc.get_header("WARC-IP-Address") == "127.0.0.1"
        assert response.warc.get_header("WARC-Payload-Digest") == sha1_digest(response.raw)
        assert request.warc.protocol == "WARC/1.1"
    assert records[1].warc.get_header(PAGE_HEADER) is None and records[3].warc.get_header(PAGE_HEADER) == ARTICLE
    assert records[1].http.statusline == "301 Moved Permanently" and records[1].http.get_header("Location") == "/new"

    request, response = records[2:]
    assert request.http.protocol == "GET" and request.http.statusline == "/new?x=1 HTTP/1.1"
    assert request.http.get_header("Host") == "news.test" and request.http.get_header("User-Agent") == "newscrawl/test"
    assert request.http.get_header("Authorization") is None, "credentials are not archived"
    # The body as it came: gzip-encoded, with its header; the digest is of those bytes.
    assert response.raw == encoded and response.warc.get_header("WARC-Payload-Digest") == sha1_digest(encoded)
    assert response.http.get_header("Content-Encoding") == "gzip"
    assert response.http.get_header("Transfer-Encoding") is None, "the chunks are already joined"
    assert [v for k, v in response.http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    # Header bytes as received, not percent-encoded.
    assert b"\r\nX-Note: caf\xe9\r\n" in gzip.decompress(data)
    decoded = [r.content_stream().read() for r in ArchiveIterator(io.BytesIO(data)) if r.rec_type == "response"]
    assert decoded == [b"", html]  # readers get the page itself


def test_every_record_is_a_gzip_member_of_its_own(tmp_path):
    data = fetch_records([exchange("http://news.test/a")], ARTICLE)
    members, rest = 0, data
    while rest:
        d = zlib.decompressobj(31)
        d.decompress(rest)
        assert d.eof
        rest, members = d.unused_data, members + 1
    assert members == 2
    path = tmp_path / "one.warc.gz"
    path.write_bytes(warcinfo_record(path.name, {"software": "test"}) + data)
    assert warcio_checks([path]) == 0


# --------------------------------------------------------------------------- files


def write_fetches(files: WarcFiles, count: int, size: int = 3000) -> list[str]:
    urls = []
    for n in range(count):
        url = f"http://news.test/story/{n}"
        body = b"".join(hashlib.sha256(f"{n}/{i}".encode()).digest() for i in range(size // 32))  # incompressible
        files.write(fetch_records([exchange(url, body)], ARTICLE))
        urls.append(url)
    return urls


def responses(paths: list[Path]) -> list[str]:
    return [r.warc.get_header("WARC-Target-URI") for p in paths for r in records_of(p.read_bytes())
            if r.type == "response"]


def test_files_rotate_before_they_grow_past_the_limit(tmp_path):
    files = WarcFiles(tmp_path / "o", STAMP, max_bytes=12_000, info={"outlet": "o"})
    urls = write_fetches(files, 12)
    assert list((tmp_path / "o").glob(f"*{OPEN_SUFFIX}")) == [files.open_path]
    files.close()
    paths = sorted((tmp_path / "o").glob("*.warc.gz*"))  # not the index of open files
    assert [p.name for p in paths] == [f"{STAMP}-{n:05d}.warc.gz" for n in range(1, len(paths) + 1)]
    assert len(paths) >= 3 and all(p.stat().st_size <= 12_000 for p in paths)
    assert warcio_checks(paths) == 0
    assert responses(paths) == urls  # each once, in order
    for path in paths:  # each file starts with its own warcinfo record
        first = records_of(path.read_bytes())[0]
        assert first.type == "warcinfo" and first.warc.get_header("WARC-Filename") == path.name


def test_a_fetch_larger_than_the_limit_has_a_file_of_its_own(tmp_path):
    files = WarcFiles(tmp_path, STAMP, max_bytes=2_000)
    urls = write_fetches(files, 3, size=6000)
    files.close()
    paths = sorted(tmp_path.glob("*.warc.gz"))
    assert len(paths) == 3 and responses(paths) == urls and warcio_checks(paths) == 0


def test_a_second_run_with_the_same_stamp_goes_on_with_the_sequence(tmp_path):
    for _ in range(2):
        files = WarcFiles(tmp_path, STAMP)
        write_fetches(files, 1)
        files.close()
    (tmp_path / f"{STAMP}-00003.warc.gz.open").write_bytes(b"")  # left by a killed crawl
    files = WarcFiles(tmp_path, STAMP)
    write_fetches(files, 1)
    assert files.open_path.name == f"{STAMP}-00004.warc.gz.open"
    files.close()


# --------------------------------------------------------------------------- after a kill


def test_a_killed_crawls_file_is_cut_to_its_last_whole_fetch_and_finished(tmp_path):
    whole = warcinfo_record(f"{STAMP}-00001.warc.gz", {"outlet": "o"}) + b"".join(
        fetch_records([exchange(f"http://news.test/{n}")], ARTICLE) for n in range(3))
    torn = fetch_records([exchange("http://news.test/moved", b"", status=302, headers=((b"Location", b"/x"),)),
                          exchange("http://news.test/x", b"<p>" + b"words " * 2000 + b"</p>")], ARTICLE)
    boundaries = [i for i in range(1, len(torn)) if torn[i:i + 3] == b"\x1f\x8b\x08"]
    assert len(boundaries) == 3  # four records: the cut may fall between any two of them
    cuts = sorted({*boundaries, *range(0, len(torn), max(1, len(torn) // 40)), len(torn) - 1})
    for cut in cuts:
        folder = tmp_path / str(cut)
        folder.mkdir()
        left = folder / f"{STAMP}-00001.warc.gz{OPEN_SUFFIX}"
        left.write_bytes(whole + torn[:cut])
        assert complete_length(left) == len(whole)
        assert recover(folder) == [folder / f"{STAMP}-00001.warc.gz"]
        finished = folder / f"{STAMP}-00001.warc.gz"
        assert finished.read_bytes() == whole and not left.exists()
        assert warcio_checks([finished]) == 0
    # A whole last fetch is kept; garbage after it is not.
    left = tmp_path / f"{STAMP}-00002.warc.gz{OPEN_SUFFIX}"
    left.write_bytes(whole + torn + b"\x00" * 100)
    recover(tmp_path)
    assert (tmp_path / f"{STAMP}-00002.warc.gz").read_bytes() == whole + torn


def test_the_next_crawl_finds_the_open_files_by_their_index_not_by_listing_the_folder(tmp_path):
    files = WarcFiles(tmp_path, STAMP)
    write_fetches(files, 2)
    left_open = files.open_path  # the crawl is killed here: the file is never finished
    assert [p.name for p in (tmp_path / OPEN_INDEX).iterdir()] == [left_open.name]
    # A file left open but not indexed (put there by hand) is not looked for.
    stray = tmp_path / f"{STAMP}-00009.warc.gz{OPEN_SUFFIX}"
    stray.write_bytes(left_open.read_bytes())
    assert recover(tmp_path) == [tmp_path / f"{STAMP}-00001.warc.gz"]
    assert not left_open.exists() and stray.exists()
    assert list((tmp_path / OPEN_INDEX).iterdir()) == []
    # A folder written before there was an index is listed once, and then has one.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    stray.rename(legacy / stray.name)
    assert recover(legacy) == [legacy / f"{STAMP}-00009.warc.gz"]
    assert (legacy / OPEN_INDEX).is_dir()


def test_a_file_killed_before_its_warcinfo_was_whole_is_removed(tmp_path):
    info = warcinfo_record("x", {"outlet": "o"})
    (tmp_path / f"{STAMP}-00001.warc.gz{OPEN_SUFFIX}").write_bytes(info[:-5])
    assert recover(tmp_path) == [] and not list(tmp_path.glob("*.warc.gz*"))


# --------------------------------------------------------------------------- real crawls

REGIONAL, PAPER, URDU = fixture_web_spec()


def archive_files(tmp: Path, outlet: str) -> list[Path]:
    return sorted((tmp / "archive" / outlet).glob("*.warc.gz*"))  # not the index of open files


def archived(tmp: Path, outlet: str, *, whole_part_of_open_files: bool = False) -> list[SimpleNamespace]:
    """The response records of an outlet's archive, in order, each with its file. With
    `whole_part_of_open_files`, also what a reader gets from the files a killed crawl left
    open (their whole part: a reader skips a torn tail)."""
    out = []
    for path in archive_files(tmp, outlet):
        if path.name.endswith(OPEN_SUFFIX):
            assert whole_part_of_open_files, f"{path} left open"
            data = path.read_bytes()[:complete_length(path)]
        else:
            data = path.read_bytes()
        for record in records_of(data):
            if record.type == "response":
                out.append(SimpleNamespace(url=record.warc.get_header("WARC-Target-URI"), file=path.name,
                                           page=record.warc.get_header(PAGE_HEADER), raw=record.raw,
                                           digest=record.warc.get_header("WARC-Payload-Digest"),
                                           status=record.http.get_statuscode()))
    return out


def warcio_check_cli(paths: list[Path]) -> subprocess.CompletedProcess:
    """`warcio check`, the command-line tool of the warcio package."""
    return subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def served_body(served, url: str) -> bytes:
    return bytes(served.site.routes[url[len(served.build.base_url):]].body)


def assert_articles_archived(tmp: Path, served, records: list[dict]) -> dict[str, list]:
    """Every written record's response is archived, whole, as an article page, with the
    record's URL as its target and the digest of the bytes the site sent."""
    by_url: dict[str, list] = {}
    for fetch in archived(tmp, served.spec.name):
        by_url.setdefault(fetch.url, []).append(fetch)
    for record in records:
        fetches = [f for f in by_url.get(record["url"], ()) if f.page == ARTICLE]
        assert fetches, f"not archived: {record['url']}"
        body = served_body(served, record["url"])
        for fetch in fetches:
            assert fetch.status == "200" and fetch.raw == body and fetch.digest == sha1_digest(body)
    return by_url


@pytest.mark.e2e
def test_every_article_response_of_a_crawl_is_archived_and_warcio_check_passes(tmp_path):
    with serve_outlet(REGIONAL) as served:
        run = crawl(served.outlet, tmp_path)
    name = REGIONAL.name
    records = run.records(name)
    assert len(records) == len(served.build.all_articles)
    by_url = assert_articles_archived(tmp_path, served, records)
    fetches = archived(tmp_path, name)
    # Article pages only, each once: what passed the article gate.
    assert all(f.page == ARTICLE for f in fetches) and len(by_url) == len(fetches)
    assert len(fetches) == run.stat("newscrawl/gate/article") == run.stat("newscrawl/archive/article")
    paths = archive_files(tmp_path, name)
    assert [p.name for p in paths] == [paths[0].name[:-len("00001.warc.gz")] + "00001.warc.gz"]
    checked = warcio_check_cli(paths)
    assert checked.returncode == 0 and checked.stdout == "", checked.stdout + checked.stderr
    assert run.stat("newscrawl/archive/files") == 1


@pytest.mark.e2e
def test_small_files_rotate_and_every_one_is_valid(tmp_path):
    with serve_outlet(REGIONAL) as served:
        run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_ARCHIVE_MAX_BYTES": "12000"})
    paths = archive_files(tmp_path, REGIONAL.name)
    assert len(paths) >= 3 and all(p.name.endswith(".warc.gz") for p in paths)
    assert warcio_check_cli(paths).returncode == 0
    records = run.records(REGIONAL.name)
    by_url = assert_articles_archived(tmp_path, served, records)
    assert all(len(fetches) == 1 for fetches in by_url.values())
    assert run.stat("newscrawl/archive/files") == len(paths)


@pytest.mark.e2e
def test_archive_off_writes_nothing(tmp_path):
    with serve_outlet(URDU) as served:
        run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_ARCHIVE": "False"})
    assert len(run.records(URDU.name)) == len(served.build.all_articles)
    assert not (tmp_path / "archive").exists()
    assert run.stat("newscrawl/archive/fetches") == 0


@pytest.mark.e2e
def test_archive_all_keeps_robots_sitemaps_feeds_and_pages_too(tmp_path):
    with serve_outlet(URDU) as served:
        run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_ARCHIVE_ALL": "True"})
    fetches = archived(tmp_path, URDU.name)
    pages = {f.url[len(served.build.base_url):]: f.page for f in fetches}
    assert pages["/robots.txt"] == OTHER
    assert {p for p in pages if p.endswith(".xml")} >= {p for p in served.site.routes if p.endswith(".xml")
                                                          and served.site.count(p)}
    assert any("rss" in p or "feed" in p for p in pages) and pages["/"] == OTHER
    assert {u for u, page in pages.items() if page == ARTICLE} == \
        {u[len(served.build.base_url):] for u in served.build.all_articles}
    assert len(fetches) == run.stat("newscrawl/archive/fetches")
    for fetch in fetches:
        assert fetch.raw == served_body(served, fetch.url)
    assert warcio_check_cli(archive_files(tmp_path, URDU.name)).returncode == 0


def english_article(title: str) -> bytes:
    from tests.faults import english_html

    return english_html(title)


@pytest.mark.e2e
def test_what_came_over_the_wire_is_what_is_archived(tmp_path):
    """A gzip-encoded page, a redirect, a chunked body, a retried 503 and a header in
    Latin-1, through a real crawl."""
    from tests.faults import once_then, redirect, urlset

    with LocalSite() as site:
        base = site.url
        pages = {path: english_article(f"Story {path}") for path in
                 ("/news/plain", "/news/gzipped", "/news/landed", "/news/chunked", "/news/retried")}
        site.routes.update({
            "/robots.txt": Page(f"User-agent: *\nAllow: /\nSitemap: {site.url}/sitemap.xml\n".encode(),
                                content_type="text/plain"),
            "/": Page(b"<html><body><h1>Home</h1></body></html>"),
            "/sitemap.xml": Page(urlset([site.url + p for p in ("/news/plain", "/news/gzipped", "/news/moved",
                                                                 "/news/chunked", "/news/retried")]),
                                 content_type="application/xml"),
            "/news/plain": Page(pages["/news/plain"], headers={"X-Note": "caf\u00e9"}),
            "/news/gzipped": Page(gzip.compress(pages["/news/gzipped"], mtime=0), headers={"Content-Encoding": "gzip"}),
            "/news/moved": redirect(site.url + "/news/landed", status=301),
            "/news/landed": Page(pages["/news/landed"]),
            "/news/chunked": Page([Chunk(pages["/news/chunked"][:500]), Chunk(pages["/news/chunked"][500:])]),
            "/news/retried": once_then(Page(b"busy", status=503, headers={"Retry-After": "0"}),
                                       Page(pages["/news/retried"])),
        })
        outlet = Outlet(name="wire-outlet", display_name="W", domains=(site.host_port,), homepage=site.url + "/")
        run = run_scrapy(["crawl", outlet.name], tmp_path, write_outlets(tmp_path / "outlets", [outlet]))
        assert run.returncode == 0, run.log[-3000:]
    assert len(run.records(outlet.name)) == 5
    paths = archive_files(tmp_path, outlet.name)
    assert warcio_check_cli(paths).returncode == 0
    records = [r for p in paths for r in records_of(p.read_bytes()) if r.type == "response"]
    by_path = {r.warc.get_header("WARC-Target-URI")[len(base):]: r for r in records}
    assert set(by_path) == {"/news/plain", "/news/gzipped", "/news/moved", "/news/landed", "/news/chunked",
                            "/news/retried"}, "the 503 before the retry is not archived"
    assert b"\r\nX-Note: caf\xe9\r\n" in gzip.decompress(paths[0].read_bytes())
    gzipped = by_path["/news/gzipped"]
    assert gzipped.raw == gzip.compress(pages["/news/gzipped"], mtime=0) and gzipped.http.get_header("Content-Encoding") == "gzip"
    assert by_path["/news/moved"].http.get_statuscode() == "301" and by_path["/news/moved"].warc.get_header(PAGE_HEADER) is None
    assert by_path["/news/landed"].warc.get_header(PAGE_HEADER) == ARTICLE
    chunked = by_path["/news/chunked"]
    assert chunked.raw == pages["/news/chunked"] and chunked.http.get_header("Transfer-Encoding") is None
    for path in ("/news/plain", "/news/landed", "/news/retried"):
        assert by_path[path].raw == pages[path] and by_path[path].warc.get_header("WARC-Payload-Digest") == \
            sha1_digest(pages[path])


@pytest.mark.e2e
def test_sigkill_loses_no_archived_response_and_leaves_no_torn_record(tmp_path):
    from tests.test_cron import (article_requests, assert_exactly_once, kill, output_lines, slow_articles, start_crawl,
                                 wait_for)

    with serve_outlet(demo_spec()) as served:
        slow_articles(served, 0.15)
        name = served.spec.name
        small_batches = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
        written = lambda: len(output_lines(tmp_path, name))
        proc = start_crawl(served.outlet, tmp_path, small_batches)
        wait_for(lambda: written() >= 3, proc)
        kill(proc)
        # At the kill: every article the state has settled (written, or dropped as a
        # duplicate or reject) has its whole response in the archive.
        store = SQLiteStateStore(tmp_path / "state" / f"{name}.sqlite")
        try:
            settled = {url for url, _ in store.items(NS_ARTICLES)}
        finally:
            store.close()
        in_archive = {f.url for f in archived(tmp_path, name, whole_part_of_open_files=True) if f.page == ARTICLE}
        assert settled and settled <= in_archive
        # A kill inside a write leaves a torn fetch at the end of the open file.
        left_open = [p for p in archive_files(tmp_path, name) if p.name.endswith(OPEN_SUFFIX)]
        assert len(left_open) == 1
        torn = fetch_records([Capture(url=served.build.base_url + "/torn", status=200, protocol="HTTP/1.1",
                                      headers=(), body=b"x" * 5000, date=datetime.now(timezone.utc), ip=None,
                                      method="GET", request_headers=(), request_body=b"")], ARTICLE)
        with open(left_open[0], "ab") as fh:
            fh.write(torn[: len(torn) - 700])
        # Part way through the rest, then the same command again, to the end.
        before = len(article_requests(served))
        proc = start_crawl(served.outlet, tmp_path, small_batches)
        wait_for(lambda: len(article_requests(served)) >= before + 4, proc)
        kill(proc)
        run = crawl(served.outlet, tmp_path, small_batches)
    records = assert_exactly_once(tmp_path, served)
    paths = archive_files(tmp_path, name)
    assert paths and not [p for p in paths if not p.name.endswith(".warc.gz")]
    checked = warcio_check_cli(paths)
    assert checked.returncode == 0 and checked.stdout == "", checked.stdout
    by_url = assert_articles_archived(tmp_path, served, records)
    assert "/torn" not in {u[len(served.build.base_url):] for u in by_url}
    assert run.stat("newscrawl/archive/article") > 0


@pytest.mark.e2e
def test_unwritable_archive_folder_exits_8_before_fetching(tmp_path):
    from tests.test_faults import assert_fault, crawl_with_read_only

    folder = tmp_path / "archive"
    proc = crawl_with_read_only(tmp_path, folder)
    assert_fault(proc, exitcodes.STORAGE, f"newscrawl: {URDU.name}: archive folder {folder / URDU.name} "
                                          f"unwritable: Read-only file system (EROFS) (exit 8)")


@pytest.mark.e2e
def test_full_archive_folder_exits_8_and_the_next_run_archives_and_writes_each_article_once(tmp_path):
    from tests.crawling import ROOT, scrapy_env
    from tests.test_cron import assert_exactly_once, output_lines, slow_articles, wait_for
    from tests.test_faults import assert_fault, crawl_command, fill, newscrawl_crawl, tmpfs

    name = REGIONAL.name
    # Articles are written two at a time from the first (none held by the boilerplate warm-up).
    settings = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2", "NEWSCRAWL_BOILERPLATE_WARMUP": "0"}
    with tmpfs(tmp_path / "archive", "1m") as folder, serve_outlet(REGIONAL) as served:
        slow_articles(served, 1.0)
        proc = subprocess.Popen(crawl_command(tmp_path, served.outlet, settings), cwd=ROOT, env=scrapy_env(None),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: len(output_lines(tmp_path, name)) >= 2, proc)
        filler = fill(folder)  # the archive folder is full from now on
        out, err = proc.communicate(timeout=300)
        assert_fault(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), exitcodes.STORAGE,
                     f"newscrawl: {name}: archive folder {folder / name} full: No space left on device (ENOSPC) "
                     f"(exit 8)")
        partial = output_lines(tmp_path, name)
        assert 2 <= len(partial) < len(served.build.all_articles), len(partial)
        assert_articles_archived(tmp_path, served, partial)  # what was written was archived first
        filler.unlink()
        proc = newscrawl_crawl(tmp_path, served.outlet, settings)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        records = assert_exactly_once(tmp_path, served)
        assert_articles_archived(tmp_path, served, records)
        assert warcio_check_cli(archive_files(tmp_path, name)).returncode == 0


def test_reset_keeps_the_archive_unless_told_to_delete_it(tmp_path, capsys):
    from newscrawl.cli import main

    folder = tmp_path / "archive" / "dawn"
    folder.mkdir(parents=True)
    warcs = [folder / f"{STAMP}-00001.warc.gz", folder / f"{STAMP}-00002.warc.gz{OPEN_SUFFIX}"]
    for path in warcs:
        path.write_bytes(warcinfo_record(path.name, {"outlet": "dawn"}))
    (folder / "notes.txt").write_text("not ours")
    settings = [arg for key in ("OUTPUT", "STATE", "ARCHIVE")
                for arg in ("-s", f"NEWSCRAWL_{key}_DIR={tmp_path / key.lower()}")]
    assert main(["reset", "dawn", "--delete-output", *settings]) == 0
    assert all(path.exists() for path in warcs)
    assert main(["reset", "dawn", "--delete-archive", *settings]) == 0
    assert not any(path.exists() for path in warcs) and (folder / "notes.txt").exists()
    assert capsys.readouterr().out.splitlines()[-1].startswith("newscrawl reset: dawn: state cleared (0 shared "
                                                               "dedupe entries removed, archive deleted)")
