"""Reading WARC and ARC files that anyone wrote: newscrawl's own archive
(newscrawl/archive.py), a CC-NEWS file, another crawler's archive. `newscrawl reclean` and
`newscrawl import-warc` read them in two passes, each streaming, so that a file of any size
is read in bounded memory:

- `scan` reads every record's headers, and the first bytes of each response's payload
  (to tell an HTML page), and yields a `Found` per response record: its place (offset),
  target URI, date, status, content type, and, in newscrawl's own archive, what the page
  was (`Newscrawl-Page`) and the outlet its file is for. No payload is kept.
- `read_page` goes back to one response by its offset, reads its payload, checks its
  digests, undoes its Content-Encoding (gzip, deflate, br, zstd), within DOWNLOAD_MAXSIZE
  as a download is, and gives the page's bytes as the server sent them once decoded.

Warcio parses the records (WARC 1.0 and 1.1, ARC, each record its own gzip member or an
uncompressed file). Damage is a `Problem` with its place and kind, and never hides what is
readable around it:

- `truncated`: the file ends inside a record (an interrupted download, a crawl killed
  mid-write); every record before it is read.
- `damaged`: a record that cannot be parsed, or a gzip member cut short or garbled in the
  middle of the file; reading goes on from the next place where a record parses (the next
  gzip member, or the next `WARC/1.` header line of an uncompressed file).
- `digest`: a record whose WARC-Payload-Digest or WARC-Block-Digest does not match its
  bytes (checked by `read_page`, for the records a command takes); in an uncompressed
  file, a record whose bytes run into the next record's header is `damaged` instead, and
  the records it overran are read.
- `too-large`: a payload over DOWNLOAD_MAXSIZE once decoded (a decompression bomb too).
- `bad-encoding`: a Content-Encoding that does not decode.
- `unreadable`: no record at all (not a WARC or ARC file), or one gzip stream over many
  records, which no reader can seek in (`warcio recompress` makes a readable copy).
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from newscrawl.archive import FROM_HEADER, HINTS_HEADER, PAGE_HEADER, VIA_HEADER

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_LINE = b"WARC/1."
SNIFF_SIZE = 1024
SEARCH_CHUNK = 1 << 20
KEPT_HEADERS = ("Content-Type", "Last-Modified", "ETag", "Date", "Content-Language")  # as the spider keeps them

TRUNCATED, DAMAGED, DIGEST, TOO_LARGE, BAD_ENCODING, UNREADABLE = (
    "truncated", "damaged", "digest", "too-large", "bad-encoding", "unreadable")


@dataclass(frozen=True)
class Problem:
    """Something in a file that could not be read as a record, and where."""

    path: Path
    offset: int
    kind: str
    detail: str

    def line(self) -> str:
        return f"{self.path}: offset {self.offset}: {self.kind}: {self.detail}"


class UnreadableRecord(Exception):
    """`read_page` could not give the page; `problem` says why."""

    def __init__(self, problem: Problem):
        super().__init__(problem.line())
        self.problem = problem


@dataclass(frozen=True)
class Found:
    """A response record, as `scan` found it."""

    offset: int
    url: str
    date: datetime | None
    status: int | None
    content_type: str
    html: bool  # the payload's first bytes (and its type) say HTML, as the crawl's routing would
    page: str | None  # newscrawl's own archive: "article" or "other" (Newscrawl-Page)
    file_outlet: str | None  # newscrawl's own archive: the outlet its warcinfo record names


@dataclass
class Page:
    """A response `read_page` read whole: its payload decoded (`body`), the headers the
    spider keeps, and, from newscrawl's own archive, what the spider knew of the page
    (how it was found, its sitemap or feed hints: newscrawl.archive.article_headers)."""

    url: str
    date: datetime | None
    status: int | None
    headers: dict[str, str]
    body: bytes
    page: str | None
    discovered_via: str | None = None
    discovered_from: str | None = None
    hints: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- headers


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    from warcio.timeutils import iso_date_to_datetime

    try:
        when = iso_date_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _status(record) -> int | None:
    try:
        return int(record.http_headers.get_statuscode()) if record.http_headers else None
    except (TypeError, ValueError):
        return None


def _header(record, name: str) -> str:
    return (record.http_headers.get_header(name) or "") if record.http_headers else ""


def _warcinfo_outlet(record) -> str | None:
    """The `outlet:` field of a warcinfo record written by newscrawl/archive.py."""
    try:
        text = record.content_stream().read(65536).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a warcinfo record we cannot read names no outlet
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "outlet" and value.strip():
            return value.strip()
    return None


# --------------------------------------------------------------------------- payloads


class _TooLarge(Exception):
    pass


def _bounded(chunks: Iterator[bytes], max_bytes: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if max_bytes and len(out) > max_bytes:
            raise _TooLarge(f"more than {max_bytes} bytes once decoded")
    return bytes(out)


def _zlib_chunks(data: bytes, wbits: int, limit: int) -> Iterator[bytes]:
    while data:
        decomp = zlib.decompressobj(wbits)
        chunk = decomp.decompress(data, limit)
        yield chunk
        while decomp.unconsumed_tail:
            yield decomp.decompress(decomp.unconsumed_tail, limit)
        yield decomp.flush()
        # gzip may hold several members, one after the other
        data = decomp.unused_data if wbits == 31 and decomp.eof else b""


def _brotli_chunks(data: bytes, limit: int) -> Iterator[bytes]:
    import brotli

    decomp = brotli.Decompressor()
    yield decomp.process(data, output_buffer_limit=limit)
    while not decomp.is_finished():
        chunk = decomp.process(b"", output_buffer_limit=limit)
        if not chunk:
            break
        yield chunk


def _zstd_chunks(data: bytes, limit: int) -> Iterator[bytes]:
    import zstandard

    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as reader:
        while chunk := reader.read(limit):
            yield chunk


def decode_content(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body with its Content-Encoding undone (each coding of a list, last first), at
    most `max_bytes` of it (0: no limit); _TooLarge past that, ValueError for a coding
    that does not decode."""
    limit = 1 << 16
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        try:
            if coding in ("identity", "none"):
                continue
            if coding in ("gzip", "x-gzip"):
                body = _bounded(_zlib_chunks(body, 31, limit), max_bytes)
            elif coding == "deflate":
                try:
                    body = _bounded(_zlib_chunks(body, 15, limit), max_bytes)
                except zlib.error:  # raw deflate, as some servers send it
                    body = _bounded(_zlib_chunks(body, -15, limit), max_bytes)
            elif coding == "br":
                body = _bounded(_brotli_chunks(body, limit), max_bytes)
            elif coding == "zstd":
                body = _bounded(_zstd_chunks(body, limit), max_bytes)
            else:
                raise ValueError(f"unknown Content-Encoding {coding!r}")
        except _TooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - zlib, brotli and zstandard each raise their own
            raise ValueError(f"Content-Encoding {coding} does not decode: {exc}") from None
    if max_bytes and len(body) > max_bytes:
        raise _TooLarge(f"{len(body)} bytes")
    return body


def _payload(record, max_bytes: int) -> bytes:
    """The record's HTTP payload as stored, its chunks joined, bounded by `max_bytes`."""
    stream = record.raw_stream
    if _header(record, "Transfer-Encoding").strip().lower() == "chunked":
        from warcio.bufferedreaders import ChunkedDataReader

        stream = ChunkedDataReader(stream)
    data = stream.read(max_bytes + 1 if max_bytes else -1)
    if max_bytes and len(data) > max_bytes:
        raise _TooLarge(f"more than {max_bytes} bytes")
    return data


def _sniff_head(record) -> bytes:
    """The first bytes of the payload, decoded when they can be, for telling HTML."""
    try:
        return record.content_stream().read(SNIFF_SIZE)
    except Exception:  # noqa: BLE001 - a payload that will not decode is not read here
        return b""


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Layout:
    """How a file is laid out: gzip members or not, WARC or ARC records."""

    gzip: bool
    format: str  # "warc" or "arc"

    def head(self, fh, pos: int, size: int = 64) -> bytes | None:
        """The first bytes of what starts at `pos` (inflated in a gzip file), or None
        where no gzip member starts there."""
        fh.seek(pos)
        data = fh.read(4096)
        if not self.gzip:
            return data[:size]
        try:
            return zlib.decompressobj(31).decompress(data, size)
        except zlib.error:
            return None

    def starts_record(self, fh, pos: int) -> bool:
        head = self.head(fh, pos)
        return head is not None and _looks_like(head) == self.format


def _looks_like(head: bytes) -> str | None:
    """"warc" or "arc" for the first bytes of a record of that format, else None."""
    if head.startswith(b"WARC/"):
        return "warc"
    first = head.split(b"\n", 1)[0].split(b" ")
    if first[0].startswith(b"filedesc://") or (b"://" in first[0] and len(first) >= 5):
        return "arc"
    return None


def _layout(path: Path) -> _Layout | None:
    """The file's layout, told by its first record; None for a file that is neither."""
    with open(path, "rb") as fh:
        gzip = fh.read(3) == GZIP_MAGIC
        head = _Layout(gzip, "").head(fh, 0)
    fmt = _looks_like(head or b"")
    return _Layout(gzip, fmt) if fmt else None


def _iterator(fh, layout: _Layout, *, check_digests: bool = False):
    from warcio.archiveiterator import ArchiveIterator

    iterator = ArchiveIterator(fh, arc2warc=True, check_digests=check_digests)
    iterator.known_format = layout.format  # parse only as the file's format: garbage is no record
    return iterator


def _next_start(fh, after: int, layout: _Layout, end: int) -> int | None:
    """The next offset after `after` (and before `end`) where a record starts: a gzip
    member, or a `WARC/1.` line of an uncompressed WARC file, that reads as a record's
    first bytes. An uncompressed ARC file has no mark to look for."""
    if not layout.gzip and layout.format != "warc":
        return None
    marker = GZIP_MAGIC if layout.gzip else WARC_LINE
    pos = after
    while pos < end:
        fh.seek(pos)
        chunk = fh.read(min(SEARCH_CHUNK, end - pos) + len(marker) - 1)
        found = chunk.find(marker)
        if found >= 0:
            if layout.starts_record(fh, pos + found):
                return pos + found
            pos += found + 1
            continue
        if len(chunk) < len(marker):
            return None
        pos += len(chunk) - len(marker) + 1
    return None


def _leftover_is_blank(fh, start: int, size: int) -> bool:
    fh.seek(start)
    return not fh.read(min(size - start, 4096)).strip()


class _Overrun(Exception):
    """An uncompressed record whose bytes run into the next record's header."""

    def __init__(self, next_start: int):
        super().__init__("the record's length runs into the next record")
        self.next_start = next_start


def _records(fh, pos: int, layout: _Layout, size: int, info: dict) -> Iterator[tuple[int, object, bool]]:
    """(offset, record, False) for each record from `pos` on, then, once the record is read
    to its end and found whole, (offset, record, True); raises at the first that cannot be
    read, with `info["at"]` its offset."""
    from warcio.exceptions import ArchiveLoadFailed

    iterator = _iterator(fh, layout, check_digests=not layout.gzip)
    records = iter(iterator)
    while True:
        info["at"] = iterator.offset
        try:
            record = next(records)
        except StopIteration:
            end = iterator.offset
            if end < size and not _leftover_is_blank(fh, end, size):
                info["at"] = end
                raise EOFError("the file ends inside a record") from None
            return
        start = info["at"] = iterator.offset
        if layout.format == "warc" and not (record.rec_headers.get_header("Content-Length") or "").strip().isdigit():
            # Content-Length is mandatory: without it, the headers were cut short (the
            # next record's may follow them), and the record's end is unknown.
            raise ArchiveLoadFailed("a record without a Content-Length: its headers are cut short")
        yield start, record, False
        length = iterator.get_record_length()  # reads what the caller left of the record
        missing = getattr(record.raw_stream, "limit", 0)
        if missing > 0:
            raise EOFError(f"the file ends {missing} bytes before the record does")
        if not layout.gzip and record.digest_checker.passed is False:
            reading = fh.tell()
            overrun = _next_start(fh, start + 1, layout, start + length)
            if overrun is not None:
                raise _Overrun(overrun)
            fh.seek(reading)  # where warcio goes on reading
        yield start, record, True


def scan(path: Path, report: Callable[[Problem], None]) -> Iterator[Found]:
    """Every response record of the file, in order (see the module's docstring); each
    problem met is passed to `report`, once per damaged stretch. A record is yielded once
    it was read to its end and found whole."""
    from warcio.exceptions import ArchiveLoadFailed

    from newscrawl.discovery import sniff

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return
    layout = _layout(path)
    if layout is None:
        report(Problem(path, 0, UNREADABLE, "not a WARC or ARC file: its first bytes are no WARC or ARC record"))
        return
    file_outlet: str | None = None
    info: dict = {}
    pos, in_damage = 0, False
    with open(path, "rb") as fh:
        while pos < size:
            fh.seek(pos)
            found = None
            try:
                for start, record, whole in _records(fh, pos, layout, size, info):
                    if whole:
                        in_damage = False
                        if found is not None:
                            yield found
                        continue
                    found = None
                    if record.rec_type == "warcinfo":
                        file_outlet = _warcinfo_outlet(record) or file_outlet
                    elif record.rec_type == "response":
                        content_type = _header(record, "Content-Type")
                        found = Found(
                            offset=start, url=record.rec_headers.get_header("WARC-Target-URI") or "",
                            date=_date(record.rec_headers.get_header("WARC-Date")), status=_status(record),
                            content_type=content_type, html=sniff(_sniff_head(record), content_type) == "html",
                            page=record.rec_headers.get_header(PAGE_HEADER), file_outlet=file_outlet)
                return
            except _Overrun as exc:
                report(Problem(path, info["at"], DAMAGED, str(exc)))
                in_damage, pos = False, exc.next_start
            except (ArchiveLoadFailed, EOFError, zlib.error, ValueError, OSError) as exc:
                if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                    raise  # the disk, not the file's content
                at, text = min(max(int(info.get("at") or 0), 0), size), " ".join(str(exc).split())
                if "non-chunked gzip" in text:
                    report(Problem(path, at, UNREADABLE, "one gzip stream over many records, not a gzip member "
                                                         "per record: `warcio recompress` makes a readable copy"))
                    return
                nxt = _next_start(fh, at + 1, layout, size)
                if not in_damage:
                    kind = DAMAGED if nxt is not None else TRUNCATED
                    if layout.gzip and isinstance(exc, (ArchiveLoadFailed, zlib.error)):
                        text = f"a gzip member that holds no whole record: cut short or garbled ({text[:120]})"
                    report(Problem(path, at, kind, text[:300] or type(exc).__name__))
                    in_damage = True
                if nxt is None:
                    return
                pos = nxt


def read_page(fh, path: Path, offset: int, max_bytes: int) -> Page:
    """The response record at `offset` of the open file `fh`, read whole (see the module's
    docstring); UnreadableRecord when it cannot be read, or fails its digests."""
    from warcio.exceptions import ArchiveLoadFailed

    layout = _layout(path)
    if layout is None:
        raise UnreadableRecord(Problem(path, offset, UNREADABLE, "not a WARC or ARC file"))
    fh.seek(offset)
    iterator = _iterator(fh, layout, check_digests=True)
    try:
        record = next(iter(iterator))
        headers = {name: value for name in KEPT_HEADERS if (value := _header(record, name))}
        problem = None
        try:
            body = decode_content(_payload(record, max_bytes), _header(record, "Content-Encoding"), max_bytes)
        except _TooLarge as exc:
            problem, body = (TOO_LARGE, str(exc)), b""
        except ValueError as exc:
            problem, body = (BAD_ENCODING, str(exc)), b""
        iterator.get_record_length()  # to the record's end: its digests are checked there
        if getattr(record.raw_stream, "limit", 0) > 0:
            raise EOFError("the file ends before the record does")
        if record.digest_checker.passed is False:
            problem = (DIGEST, "; ".join(record.digest_checker.problems))
    except (ArchiveLoadFailed, EOFError, StopIteration, zlib.error) as exc:
        raise UnreadableRecord(Problem(path, offset, DAMAGED, " ".join(str(exc).split())[:300]
                                       or type(exc).__name__)) from None
    if problem is not None:
        raise UnreadableRecord(Problem(path, offset, *problem))
    warc = record.rec_headers
    return Page(url=warc.get_header("WARC-Target-URI") or "", date=_date(warc.get_header("WARC-Date")),
                status=_status(record), headers=headers, body=body, page=warc.get_header(PAGE_HEADER),
                discovered_via=warc.get_header(VIA_HEADER), discovered_from=warc.get_header(FROM_HEADER),
                hints=_hints(warc.get_header(HINTS_HEADER)))


def _hints(value: str | None) -> dict[str, str]:
    """The hints of a `Newscrawl-Hints` header: a JSON object of strings, or nothing."""
    import json

    try:
        hints = json.loads(value) if value else {}
    except ValueError:
        return {}
    return {k: v for k, v in hints.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(hints, dict) else {}


def open_archives(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The files that can be read, and a line for each that cannot (missing, a folder,
    no permission)."""
    readable, problems = [], []
    for path in paths:
        try:
            with open(path, "rb"):  # a folder raises IsADirectoryError
                readable.append(Path(path))
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
    return readable, problems
