"""The archive: every response a crawl receives for an article page, kept as WARC 1.1.

    <NEWSCRAWL_ARCHIVE_DIR>/<outlet>/<UTC run stamp>-<seq>.warc.gz

Settings: NEWSCRAWL_ARCHIVE (on), NEWSCRAWL_ARCHIVE_DIR ("archive"), NEWSCRAWL_ARCHIVE_ALL
(off: with it, every response handed to the spider is archived, sitemaps, feeds, homepage
and section pages included, and the robots.txt responses Scrapy's robots middleware
fetches), NEWSCRAWL_ARCHIVE_MAX_BYTES (10**9: a new file is
started before a fetch's records would take a file past it; a larger fetch has a file of
its own).

What a file holds. A `warcinfo` record first (software, format, outlet, run). Then, for
each archived response, a `request` record and a `response` record (WARC-Target-URI,
WARC-Date: when the response came in, WARC-IP-Address, WARC-Payload-Digest and
WARC-Block-Digest, WARC-Concurrent-To from the request to its response), preceded by the
same pair for each redirect (3xx) that led to it. The last response record of each fetch
says what the page was: `Newscrawl-Page: article` (it passed the article gate) or `other`
(NEWSCRAWL_ARCHIVE_ALL); an article's also says how it was found
(`Newscrawl-Discovered-Via`, `Newscrawl-Discovered-From`) and what its sitemap or feed
said of it (`Newscrawl-Hints`, JSON), which the extract stage reads besides the page, so
that `newscrawl reclean` cleans the page as the crawl did. Each record is its own gzip
member, written with warcio.

The HTTP message is stored as received: the status line (protocol, status, and the
standard reason phrase, which Scrapy does not keep), the response headers as they came
(names in Scrapy's capitalisation), and the body as it came off the connection, before
Scrapy's decompression and newscrawl's charset repair, so a `Content-Encoding: gzip` body
is stored gzip-encoded, with its header, and the payload digest is the digest of those
bytes. Only `Transfer-Encoding` is left out: the HTTP client has already taken the chunks
apart, and the body is stored whole. The request record holds the request line, `Host`,
and the headers Scrapy sent (User-Agent, Accept-Encoding, conditional-GET validators,
cookies), less `Authorization` and `Proxy-Authorization`.

A page of an outlet with `render` (newscrawl/render.py) is archived as its fetch, as
above, followed by the page as the browser built it: a pair whose response record says
`Newscrawl-Rendered: chromium` and holds the browser's serialised page, with the headers
the browser was given.

Crash safety: like the output, the archive is never behind what the state says.
- The file being written is `<name>.warc.gz.open`. At rotation and at the end of the
  crawl it is synced and renamed to `<name>.warc.gz` (the folder synced after). A crawl
  killed mid-way leaves its `.open` file; the next crawl of the outlet (holding the
  outlet's lock, so no other crawl writes there) cuts a torn tail back to the end of the
  last complete fetch (request, response and any redirects before them: never half of
  one) and renames it. So `*.warc.gz` files are always whole, and `warcio check` passes
  on each of them. The files being written are also named in a small index, the folder's
  `.open-files/` (an empty file per name, made before the file and removed after its rename):
  the next crawl reads the index, not a folder that holds a file per run (8,760 a year
  under an hourly cron). A folder without an index (written before it existed) is
  listed once, and then has one.
- An article's item goes on to the item pipelines only once its fetch is in the file
  and synced (fsync): the pipelines are where an article is written to the output or
  dropped (duplicate, reject), and the ledger settles it only after that, so it never
  settles an article whose response is not archived, even across a power cut. A fetch
  archived by a crawl that is then killed before the article is settled stays in the
  archive; the next crawl fetches the article again, and archives that second fetch as
  a record of its own (a WARC holds fetches: the two have their own dates and ids).

Where it happens, per crawler (each outlet of a fleet has its own files and writer):
- `ArchiveCapture`, a downloader middleware (650) that a response meets on its way back
  before the redirect middleware (600, which follows a 3xx) and the decompression one
  (590), keeps what came off the connection (status, headers, raw body, time, address,
  and the request as sent) in the request's meta; a redirect's capture is carried over
  to the request it leads to.
- `ArchiveArticles`, a spider middleware next to the spider (850), sees what the spider
  yields for a response. The article gate runs in the spider's `parse_page` (in the
  worker pool), so an article page is known exactly when the spider yields its
  RawArticle item: the middleware archives the response then, waits until the writer has
  synced it, and only then passes the item on. Other responses are archived (with
  NEWSCRAWL_ARCHIVE_ALL) once the spider is done with them, and nothing waits on them.
- `Archive`, one per crawler: a writer thread that builds the records (warcio), gzips
  them, appends them to the file and syncs it, several fetches per sync when they come
  together; the reactor never waits on a disk. A folder that cannot be written (full,
  read-only) is the crawl's storage fault (exit 8): the article is not passed on, so it
  is not settled, and the next run fetches it again.
"""

from __future__ import annotations

import io
import logging
import os
import queue
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from newscrawl import clock
from newscrawl.outlets import NAME_RE
from newscrawl.retention import STAMP_FORMAT
from pipelines.parts import compress_whole, fsync_folder

logger = logging.getLogger(__name__)

META_CAPTURES = "newscrawl_archive"  # request meta: the captures of a fetch, redirects first
PAGE_HEADER = "Newscrawl-Page"
VIA_HEADER, FROM_HEADER, HINTS_HEADER = "Newscrawl-Discovered-Via", "Newscrawl-Discovered-From", "Newscrawl-Hints"
# On the response record of a page a browser rendered: its body is the page as the browser
# built it, serialised, and its headers are those the browser received, less Content-Encoding.
RENDERED_HEADER = "Newscrawl-Rendered"
ARTICLE, OTHER = "article", "other"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
OPEN_INDEX = ".open-files"  # <outlet folder>/.open-files/: the files being written, by name (see recover)
DEFAULT_MAX_BYTES = 1_000_000_000
REDIRECTS = frozenset({301, 302, 303, 307, 308})
LEFT_OUT_RESPONSE_HEADERS = frozenset({b"transfer-encoding"})
LEFT_OUT_REQUEST_HEADERS = frozenset({b"authorization", b"proxy-authorization"})


# --------------------------------------------------------------------------- captures


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange as it went over the wire (the body as read, chunks joined)."""

    url: str
    status: int
    protocol: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    date: datetime
    ip: str | None
    method: str
    request_headers: tuple[tuple[bytes, bytes], ...]
    request_body: bytes
    # The page as a browser built it (newscrawl/render.py), not as it came off the wire.
    rendered: bool = False


def _pairs(headers) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name, value) for name, values in headers.items() for value in values)


def capture(request, response, *, decoded: bool = False) -> Capture:
    """The exchange of `request` and `response`. `decoded`: the response is Scrapy's
    decompressed one (no raw capture was made), so the headers that described the
    encoded body are left out."""
    headers = _pairs(response.headers)
    if decoded:
        stale = {b"content-encoding", b"content-length"}
        headers = tuple((n, v) for n, v in headers if n.lower() not in stale)
    ip = getattr(response, "ip_address", None)
    return Capture(
        url=response.url, status=response.status, protocol=getattr(response, "protocol", None) or "HTTP/1.1",
        headers=headers, body=response.body, date=clock.now(), ip=str(ip) if ip else None,
        method=request.method, request_headers=_pairs(request.headers), request_body=request.body or b"",
        rendered="playwright" in response.flags,
    )


def captures_for(response) -> list[Capture]:
    """The exchanges of the fetch that gave `response`: its redirects, then its own."""
    kept = list(response.meta.get(META_CAPTURES) or ())
    if kept and kept[-1].url == response.url and kept[-1].status == response.status:
        return kept
    return [c for c in kept if c.status in REDIRECTS] + [capture(response.request, response, decoded=True)]


# --------------------------------------------------------------------------- records


def _raw_headers_class():
    from warcio.statusandheaders import StatusAndHeaders

    class RawHeaders(StatusAndHeaders):
        """HTTP headers written back as the bytes they were read as (a latin-1 round
        trip), where warcio would percent-encode a non-ASCII value."""

        def compute_headers_buffer(self, header_filter=None):
            self.headers_buff = self.to_bytes(header_filter, "latin-1")

    return RawHeaders


_RAW_HEADERS = None


def _headers(statusline: str, pairs, left_out: frozenset, **kwargs):
    global _RAW_HEADERS
    if _RAW_HEADERS is None:
        _RAW_HEADERS = _raw_headers_class()
    text = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs if n.lower() not in left_out]
    return _RAW_HEADERS(statusline, text, **kwargs)


def warc_date(when: datetime) -> str:
    from warcio.timeutils import datetime_to_iso_date

    return datetime_to_iso_date(when.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True)


def _member(writer_class, record) -> bytes:
    buffer = io.BytesIO()
    writer_class(buffer, gzip=False, warc_version="1.1").write_record(record)
    return compress_whole(buffer.getvalue(), "gzip")  # one gzip member per record, as readers expect


def article_headers(item) -> dict[str, str]:
    """What the spider knew of an article page besides its response, for the WARC headers
    of its last response record: how it was found and the sitemap or feed's hints (its
    title, dates), which `newscrawl reclean` hands the extract stage as the crawl did.
    Values on one line: the hints as JSON, in ASCII."""
    import json

    headers = {}
    if item.get("discovered_via"):
        headers[VIA_HEADER] = _one_line(str(item["discovered_via"]))
    if item.get("discovered_from"):
        headers[FROM_HEADER] = _one_line(str(item["discovered_from"]))
    hints = {k: v for k, v in (item.get("hints") or {}).items() if isinstance(v, str) and v}
    if hints:
        headers[HINTS_HEADER] = json.dumps(hints, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return headers


def _one_line(value: str) -> str:
    return " ".join(value.split())


def fetch_records(captures: list[Capture], page: str, extra: dict[str, str] | None = None) -> bytes:
    """The gzip members of one fetch: for each exchange a request record then its
    response record; the last response record says what the page was (`page`), with the
    `extra` WARC headers (`article_headers`)."""
    from warcio.recordbuilder import RecordBuilder
    from warcio.statusandheaders import StatusAndHeadersParser
    from warcio.warcwriter import WARCWriter

    builder = RecordBuilder(warc_version="1.1")
    out = bytearray()
    for i, cap in enumerate(captures):
        date, response_id = warc_date(cap.date), StatusAndHeadersParser.make_warc_id()
        warc = {"WARC-Type": "response", "WARC-Record-ID": response_id, "WARC-Date": date,
                "WARC-Target-URI": cap.url}
        if cap.ip:
            warc["WARC-IP-Address"] = cap.ip
        if i == len(captures) - 1:
            warc[PAGE_HEADER] = page
            warc.update(extra or {})
        if cap.rendered:
            warc[RENDERED_HEADER] = "chromium"
        try:
            reason = HTTPStatus(cap.status).phrase
        except ValueError:
            reason = ""
        response = builder.create_warc_record(
            cap.url, "response", payload=io.BytesIO(cap.body), length=len(cap.body), warc_headers_dict=warc,
            http_headers=_headers(f"{cap.status} {reason}".rstrip(), cap.headers, LEFT_OUT_RESPONSE_HEADERS,
                                  protocol=cap.protocol))
        parts = urlsplit(cap.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = [(b"Host", parts.netloc.encode("latin-1")), *cap.request_headers]
        request = builder.create_warc_record(
            cap.url, "request", payload=io.BytesIO(cap.request_body), length=len(cap.request_body),
            warc_headers_dict={"WARC-Type": "request", "WARC-Record-ID": StatusAndHeadersParser.make_warc_id(),
                               "WARC-Date": date, "WARC-Target-URI": cap.url, "WARC-Concurrent-To": response_id},
            http_headers=_headers(f"{cap.method} {target} {cap.protocol}", sent, LEFT_OUT_REQUEST_HEADERS,
                                  is_http_request=True))
        out += _member(WARCWriter, request)
        out += _member(WARCWriter, response)
    return bytes(out)


def warcinfo_record(filename: str, info: dict) -> bytes:
    from warcio.recordbuilder import RecordBuilder
    from warcio.warcwriter import WARCWriter

    record = RecordBuilder(warc_version="1.1").create_warcinfo_record(filename, info)
    return _member(WARCWriter, record)


# --------------------------------------------------------------------------- files


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _ends_fetch(head: bytes) -> bool:
    """Whether a record (the start of its decompressed member) ends a fetch: the
    warcinfo record, or a response record with the page header (its fetch's last)."""
    block = head.split(b"\r\n\r\n", 1)[0]
    return b"\r\nWARC-Type: warcinfo\r\n" in block or f"\r\n{PAGE_HEADER}: ".encode() in block


def complete_length(path: Path, chunk_size: int = 1 << 20) -> int:
    """The length of the part of a WARC file written by this module that ends with its
    last complete fetch (a torn gzip member, or a fetch missing its last records, is
    left out). Reads the file once, member by member."""
    good = offset = 0
    decomp = zlib.decompressobj(31)
    head = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            data = chunk
            while data:
                try:
                    out = decomp.decompress(data)
                except zlib.error:  # garbage: nothing past here is kept
                    return good
                if len(head) < 65536:
                    head += out[:65536 - len(head)]
                if not decomp.eof:
                    offset += len(data)
                    break
                end = offset + len(data) - len(decomp.unused_data)
                if _ends_fetch(head):
                    good = end
                offset, data = end, decomp.unused_data
                decomp, head = zlib.decompressobj(31), b""
    return good


def archive_files(archive_dir: str | Path, outlet: str) -> list[Path]:
    """An outlet's WARC files, finished and left open, oldest first."""
    folder = Path(archive_dir) / outlet
    return sorted(p for p in folder.glob(f"*{SUFFIX}*") if p.name.endswith((SUFFIX, SUFFIX + OPEN_SUFFIX)))


def recover(folder: Path) -> list[Path]:
    """Finishes the files a killed crawl left open in `folder`: each is cut back to its
    last complete fetch, synced and renamed to its final name (removed when not even
    its warcinfo record is whole). Returns the finished files. Only under the outlet's
    lock: then no crawl is writing there. The open files are those its index names
    (OPEN_INDEX); without an index, those a listing of the folder finds, and the index is
    made."""
    index = folder / OPEN_INDEX
    if index.is_dir():
        entries = sorted(index.iterdir())
        left = [folder / entry.name for entry in entries if entry.name.endswith(SUFFIX + OPEN_SUFFIX)]
    else:
        entries, left = [], sorted(folder.glob(f"*{SUFFIX}{OPEN_SUFFIX}"))
    finished = []
    for path in left:
        if not path.is_file():
            continue  # indexed, then killed before the file was made
        size = path.stat().st_size
        good = complete_length(path)
        if good < size:
            logger.warning("archive: %s: cutting %d bytes of an incomplete last fetch", path, size - good)
        if good == 0:
            path.unlink()
            continue
        with open(path, "r+b") as fh:
            if good < size:
                fh.truncate(good)
            os.fsync(fh.fileno())
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        os.replace(path, final)
        finished.append(final)
    if finished:
        fsync_folder(folder)
        logger.info("archive: finished %d file(s) a killed crawl left open in %s", len(finished), folder)
    for entry in entries:
        entry.unlink(missing_ok=True)
    if folder.is_dir() and not index.is_dir():  # every open file is finished: from now on, the index says
        index.mkdir()
        fsync_folder(folder)
    return finished


class WarcFiles:
    """The WARC files of one outlet's run: appended in order, rotated before a fetch
    would take the file past `max_bytes`. Not thread-safe: one writer."""

    def __init__(self, folder: Path, stamp: str, max_bytes: int = DEFAULT_MAX_BYTES, info: dict | None = None):
        self.folder = Path(folder)
        self.stamp = stamp
        self.max_bytes = max(1, int(max_bytes))
        self.info = info or {}
        self.files: list[Path] = []  # finished
        self.path: Path | None = None  # final name of the file being written
        self.size = self._start_size = 0
        self._fd = -1
        self._seq = 0

    @property
    def open_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + OPEN_SUFFIX)

    def _start(self) -> None:
        """Opens the next file: the first sequence number after this writer's last whose
        name is free (a second run with the same stamp goes on after the first's files),
        found by trying names rather than by listing a folder of a year's files."""
        index = self.folder / OPEN_INDEX
        if not index.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            index.mkdir(exist_ok=True)
            fsync_folder(self.folder)
        self._seq += 1
        while True:
            path = self.folder / f"{self.stamp}-{self._seq:05d}{SUFFIX}"
            open_path = path.with_name(path.name + OPEN_SUFFIX)
            if path.exists() or open_path.exists():
                self._seq += 1
                continue
            entry = index / open_path.name  # indexed before it exists: a kill never leaves it unnamed
            entry.touch()
            fsync_folder(index)
            try:
                fd = os.open(open_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
                break
            except FileExistsError:
                entry.unlink(missing_ok=True)
                self._seq += 1
        self._fd, self.path, self.size = fd, path, 0
        try:
            self._append(warcinfo_record(path.name, self.info))
            fsync_folder(self.folder)  # the new name survives a power cut before the first sync
        except OSError:
            self._fd, self.path = -1, None
            os.close(fd)
            open_path.unlink(missing_ok=True)
            entry.unlink(missing_ok=True)
            raise
        self._start_size = self.size

    def _append(self, data: bytes) -> None:
        try:
            _write_all(self._fd, data)
        except OSError:
            try:  # a partial write (a full disk): the file ends at its last whole fetch again
                os.ftruncate(self._fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(data)

    def write(self, data: bytes) -> tuple[str, int]:
        """Appends one fetch's records; (file name, offset) where they start."""
        if self._fd >= 0 and self.size > self._start_size and self.size + len(data) > self.max_bytes:
            self._finish()
        if self._fd < 0:
            self._start()
        offset = self.size
        self._append(data)
        return self.path.name, offset

    def sync(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def _finish(self) -> None:
        fd, self._fd = self._fd, -1
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        open_path = self.open_path
        os.replace(open_path, self.path)
        fsync_folder(self.folder)
        (self.folder / OPEN_INDEX / open_path.name).unlink(missing_ok=True)  # a stale entry is harmless
        self.files.append(self.path)
        self.path = None

    def close(self) -> None:
        if self._fd >= 0:
            self._finish()


# --------------------------------------------------------------------------- the writer thread


class ArchiveUnavailable(Exception):
    """A fetch to archive while the archive is not open: a bug."""


class _Writer:
    """A thread that owns one outlet's WarcFiles. Fetches are queued with a Deferred,
    fired in the reactor's thread once the fetch is in the file and synced (one sync
    for all the fetches that came together)."""

    _CLOSE = object()

    def __init__(self, files: WarcFiles, recover_folder: Path | None, name: str):
        from twisted.internet import reactor

        self.files = files
        self.reactor = reactor
        self.failed: BaseException | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._recover = recover_folder
        self._thread = threading.Thread(target=self._run, name=f"newscrawl-archive-{name}", daemon=True)
        self._thread.start()

    def submit(self, captures: list[Capture], page: str, extra: dict[str, str] | None = None):
        from twisted.internet.defer import Deferred

        d = Deferred()
        self._queue.put((captures, (page, extra), d))
        return d

    def close(self):
        from twisted.internet.defer import Deferred

        d = Deferred()
        self._queue.put((self._CLOSE, None, d))
        return d

    def _fire(self, d, result) -> None:
        if isinstance(result, BaseException):
            self.reactor.callFromThread(d.errback, result)
        else:
            self.reactor.callFromThread(d.callback, result)

    def _run(self) -> None:
        if self._recover is not None:
            try:
                recover(self._recover)
            except Exception as exc:  # noqa: BLE001 - every later fetch fails with it
                self.failed = exc
        while True:
            jobs = [self._queue.get()]
            while True:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            written, closing = [], None
            for captures, what, d in jobs:  # what: (page, extra headers)
                if captures is self._CLOSE:
                    closing = d
                    continue
                if self.failed is not None:  # the folder failed: nothing more is written
                    self._fire(d, self.failed)
                    continue
                try:
                    data = fetch_records(captures, *what)
                    name, offset = self.files.write(data)
                except OSError as exc:
                    self.failed = exc
                    self._fire(d, exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - a bug: the awaiting side raises it
                    self._fire(d, exc)
                    continue
                written.append((d, (name, offset, len(data))))
            if written:
                try:
                    self.files.sync()
                except OSError as exc:
                    self.failed = exc
                    written = [(d, exc) for d, _ in written]
            for d, result in written:
                self._fire(d, result)
            if closing is not None:
                try:
                    self.files.close()
                    self._fire(closing, None)
                except OSError as exc:
                    self._fire(closing, exc)
                return


# --------------------------------------------------------------------------- per crawler


class Archive:
    """One crawler's archive: its folder, its writer thread, its faults and stats."""

    def __init__(self, crawler, outlet: str):
        from importlib.metadata import version

        from newscrawl import __version__
        from newscrawl.faults import FaultCheck, fault_of, probe_writable, report, storage_fault

        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive_all = settings.getbool("NEWSCRAWL_ARCHIVE_ALL", False)
        self.folder = Path(settings.get("NEWSCRAWL_ARCHIVE_DIR") or "archive") / outlet
        stamp = settings.get("NEWSCRAWL_RUN_STAMP") or clock.now().strftime(STAMP_FORMAT)
        info = {"software": f"newscrawl/{__version__} (warcio/{version('warcio')})",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "outlet": outlet, "run": stamp,
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "archived": "every response" if self.archive_all else "article pages"}
        self.files = WarcFiles(self.folder, stamp, settings.getint("NEWSCRAWL_ARCHIVE_MAX_BYTES", DEFAULT_MAX_BYTES),
                               info)
        self._writer: _Writer | None = None
        if fault_of(crawler) is None and settings.getbool("NEWSCRAWL_START_CHECKS", True):
            try:
                probe_writable(self.folder)
            except OSError as exc:  # the crawl does not start without its archive
                report(crawler, storage_fault("archive folder", self.folder, exc),
                       exc_info=(type(exc), exc, exc.__traceback__), close=False)
                FaultCheck.close_at_open(crawler)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_opened(self, spider):
        from newscrawl.faults import fault_of
        from newscrawl.lock import crawl_lock_held

        if fault_of(self.crawler) is not None or not crawl_lock_held(self.crawler):
            return  # a crawl that will not fetch: touches no file
        self._writer = _Writer(self.files, self.folder, self.folder.name)

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def spider_closed(self, spider, reason):
        from scrapy.utils.defer import maybe_deferred_to_future

        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            await maybe_deferred_to_future(writer.close())
        except OSError as exc:
            self._fault(exc)
        self.stats.set_value("newscrawl/archive/files", len(self.files.files))

    def _fault(self, exc: OSError) -> None:
        from newscrawl import faults

        faults.report(self.crawler, faults.storage_fault("archive folder", self.folder, exc),
                      exc_info=(type(exc), exc, exc.__traceback__))

    def store(self, response, page: str, extra: dict[str, str] | None = None):
        """Queues the fetch that gave `response`; a Deferred that fires with (file name,
        offset, length) once it is in the file and synced."""
        captures = captures_for(response)
        response.meta.pop(META_CAPTURES, None)
        return self.store_captures(captures, page, extra)

    def store_captures(self, captures: list[Capture], page: str, extra: dict[str, str] | None = None):
        from twisted.internet.defer import fail

        if self._writer is None:
            return fail(ArchiveUnavailable("the archive is not open"))
        d = self._writer.submit(captures, page, extra)

        def stored(result):
            self.stats.inc_value("newscrawl/archive/fetches")
            self.stats.inc_value(f"newscrawl/archive/{page}")
            self.stats.inc_value("newscrawl/archive/bytes", result[2])
            return result

        def failed(failure):
            if failure.check(OSError):
                self._fault(failure.value)
            return failure

        return d.addCallbacks(stored, failed)


def archive_for(crawler) -> Archive:
    """The crawler's archive, built by the first of its components that asks; raises
    NotConfigured when archiving is off or the spider has no outlet."""
    archive = getattr(crawler, "newscrawl_archive", None)
    if archive is not None:
        return archive
    if not crawler.settings.getbool("NEWSCRAWL_ARCHIVE", True):
        raise NotConfigured("NEWSCRAWL_ARCHIVE is off")
    outlet = getattr(getattr(getattr(crawler, "spider", None), "outlet", None), "name", None)
    if not outlet or not NAME_RE.match(outlet):
        raise NotConfigured("no outlet to archive for")
    crawler.newscrawl_archive = Archive(crawler, outlet)
    return crawler.newscrawl_archive


class ArchiveCapture:
    """Downloader middleware: keeps each exchange as it came off the connection (see the
    module's docstring), for ArchiveArticles."""

    def __init__(self, archive: Archive):
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler):
        return cls(archive_for(crawler))

    def process_response(self, request, response):
        from scrapy.http.request import NO_CALLBACK

        earlier = request.meta.get(META_CAPTURES) or ()
        latest = capture(request, response)
        # Before a page a browser rendered: the fetch it rendered (newscrawl/render.py).
        captures = (*(c for c in earlier if c.status in REDIRECTS or latest.rendered), latest)
        request.meta[META_CAPTURES] = captures
        if (request.callback is NO_CALLBACK and response.status not in REDIRECTS and self.archive.archive_all
                and self.archive.is_open):
            # Fetched by Scrapy itself (robots.txt, for its robots middleware): the spider
            # never gets it, so with NEWSCRAWL_ARCHIVE_ALL it is archived here.
            self.archive.store_captures(list(captures), OTHER).addErrback(_unwaited)
        return response


class ArchiveArticles:
    """Spider middleware: archives the response of each article page before its item
    goes on (and, with NEWSCRAWL_ARCHIVE_ALL, every other response the spider gets)."""

    def __init__(self, crawler, archive: Archive):
        self.crawler = crawler
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, archive_for(crawler))

    async def process_spider_output(self, response, result):
        from scrapy.utils.defer import maybe_deferred_to_future

        from newscrawl.items import RawArticle

        archived = False
        try:
            async for item in result:
                if isinstance(item, RawArticle) and not archived:
                    archived = True
                    try:
                        await maybe_deferred_to_future(self.archive.store(response, ARTICLE, article_headers(item)))
                    except OSError:
                        # Not archived, so not passed on: never written nor settled, it
                        # is fetched again by the next run. The fault stops the crawl.
                        self.crawler.stats.inc_value("newscrawl/unarchived")
                        continue
                yield item
        finally:
            if self.archive.archive_all and not archived and self.archive.is_open:  # nothing waits on it
                self.archive.store(response, OTHER).addErrback(_unwaited)


def _unwaited(failure) -> None:
    if not failure.check(OSError):  # a storage fault is reported by Archive.store
        logger.error("archive: a response could not be archived", exc_info=(failure.type, failure.value, failure.tb))
