"""The output's part files, read and written: layout, names, atomic publish, compression,
the writers that batch records into parts, and reading parts back (whole members only).

The write stage (pipelines/write.py), the validate stage's rejects, the ledger's
checkpoint and replay (newscrawl/ledger.py) and `newscrawl compact` all use these; the
module imports none of them, so storage has one place and no import cycle.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import clock

logger = logging.getLogger(__name__)

SUFFIXES = {"": ".jsonl", "gzip": ".jsonl.gz", "zstd": ".jsonl.zst"}
REJECTS, CRUFT = "rejects", "cruft"  # folders of an outlet's rejects and cruft audit
_SAFE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DAY_RE = re.compile(r"^\d{4}-\d\d-\d\d$")
PART_RE = re.compile(r"^part-[0-9A-Za-z_-]+\.jsonl(\.gz|\.zst)?$")
TEMPORARY_GLOB = ".part-*.tmp"  # a part being written, or left by a killed publish


class OutputPathError(ValueError):
    """An outlet name or folder name that would lead outside the output folder."""


def output_folder(output_dir: str | Path, outlet: str, *subfolders: str) -> Path:
    """output_dir/outlet/subfolder/..., refusing any name that is not a plain lower-case
    name (an outlet name, a day, `rejects`), so nothing resolves outside output_dir."""
    for name in (outlet, *subfolders):
        if not _SAFE_NAME_RE.match(name or ""):
            raise OutputPathError(f"unsafe name {name!r} in an output path")
    return Path(output_dir).resolve().joinpath(outlet, *subfolders)


def utc_day(timestamp) -> str:
    """YYYY-MM-DD (UTC) of an ISO 8601 timestamp; today when it is missing or unreadable."""
    try:
        dt = datetime.fromisoformat(str(timestamp))
        dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        dt = clock.now()
    return dt.astimezone(timezone.utc).date().isoformat()


def run_tag() -> str:
    """A run's part of part names: its UTC start to the millisecond, so names sort by it,
    and a random tag, so two runs never share one."""
    now = clock.now()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def part_name(run: str, seq: int, compression: str = "") -> str:
    return f"part-{run}-{seq:06d}{SUFFIXES[compression]}"


def encode_record(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def part_key(path: Path) -> str:
    """How the ledger names a part: `<YYYY-MM-DD>/<part name>`."""
    return f"{path.parent.name}/{path.name}"


def day_parts(root: str | Path) -> list[Path]:
    """The parts in root's day folders (root/<YYYY-MM-DD>/part-*), oldest day first and,
    within a day, in the order they were published."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/part-*.jsonl*")
                  if DAY_RE.match(p.parent.name) and PART_RE.match(p.name) and p.is_file())


def read_parts(root: str | Path) -> Iterator[dict]:
    """Every record of root's day folders (an outlet's articles, or its rejects), in order."""
    for path in day_parts(root):
        yield from read_records(path)


def remove_stale_temporaries(folder: Path) -> None:
    """Removes what a writer killed while publishing left in `folder`: its part was never
    published, and so never recorded, and the next run fetches those articles again.
    Only for a folder no writer is using (the outlet lock says so)."""
    for stale in folder.glob(TEMPORARY_GLOB):
        stale.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Makes a rename, creation or removal in `folder` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_folder(folder: Path) -> None:
    """mkdir -p, each new folder's entry synced in its parent."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_folder(new.parent)


# ---------------------------------------------------------------------------------------
# Compressed members: split a file into its complete members.


def _zstd_decompressor():
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def _decompressor(compression: str):
    if compression == "gzip":
        return zlib.decompressobj(wbits=31)
    return _zstd_decompressor()


def complete_members(data: bytes, compression: str) -> tuple[list[bytes], int]:
    """Decompressed content of each complete member in `data`, and the byte length of the
    complete part (a trailing partial member is not counted)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        decomp = _decompressor(compression)
        try:
            content = decomp.decompress(data[pos:])
        except Exception:  # zlib.error / zstd.ZstdError: a torn tail, or garbage
            break
        if not decomp.eof:
            break
        pos = len(data) - len(decomp.unused_data)
        out.append(content)
    return out, pos


def compression_of(path: Path) -> str:
    """"", "gzip" or "zstd", from the file name."""
    return next((c for c, s in SUFFIXES.items() if c and path.name.endswith(s)), "")


def complete_part(data: bytes, compression: str) -> tuple[bytes, int]:
    """The JSONL text of the complete lines or members in `data`, and the byte length of
    that complete part (a torn last line or member is left out)."""
    if compression:
        members, length = complete_members(data, compression)
        return b"".join(members), length
    length = data.rfind(b"\n") + 1
    return data[:length], length


def read_lines(path: Path) -> bytes:
    """The JSONL text of a file: its complete lines, or its complete members decompressed."""
    return complete_part(path.read_bytes(), compression_of(path))[0]


def read_records(path: str | Path, *, skip_unreadable: bool = False) -> Iterator[dict]:
    """Records of one output file, any of the three formats (a torn last line or member of
    a file written some other way is left out). `skip_unreadable`: a line that is not JSON
    (a file changed by hand) is logged and skipped instead of raising."""
    for line in read_lines(Path(path)).splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            if not skip_unreadable:
                raise
            logger.warning("%s: unreadable line skipped", path)


class _Compressor:
    """One gzip member or zstd frame, fed piece by piece."""

    def __init__(self, compression: str):
        if compression == "gzip":
            self._comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        else:
            import zstandard

            self._comp = zstandard.ZstdCompressor(level=3).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._comp.compress(data)

    def flush(self) -> bytes:
        return self._comp.flush()


def compress_whole(data: bytes, compression: str) -> bytes:
    """`data` as one gzip member or zstd frame (gzip at level 6: warcio's writer uses 9,
    which costs about twice the CPU for a few per cent less disk)."""
    if compression == "zstd":  # with its size in the header, as one call gives it
        import zstandard

        return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(data)
    comp = _Compressor(compression)
    return comp.compress(data) + comp.flush()


def publish(folder: Path, name: str, chunks: Iterable[bytes], before_rename=None) -> Path:
    """Writes the part folder/name whole: under a temporary name first, synced, then
    renamed; `before_rename(temporary path)` runs in between. On an error (a full or
    read-only folder) nothing is published and the temporary file goes."""
    tmp = folder / f".{name.split('.', 1)[0]}.tmp"  # no `.jsonl` in it: no reader's glob matches
    path = folder / name
    try:
        with open(tmp, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if before_rename is not None:
            before_rename(tmp)
        os.rename(tmp, path)
        fsync_folder(folder)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    return path


def _jsonl_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The JSONL text of a whole output file (every member of a compressed one), in pieces
    of about `size` bytes: a merged day can be larger than memory should hold."""
    compression = compression_of(path)
    with open(path, "rb") as fh:
        if compression == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
            yield from iter(lambda: reader.read(size), b"")
            return
        decomp = zlib.decompressobj(wbits=31) if compression else None
        for chunk in iter(lambda: fh.read(size), b""):
            while decomp is not None and chunk:
                yield decomp.decompress(chunk)
                chunk = decomp.unused_data if decomp.eof else b""
                if decomp.eof:  # the next gzip member starts here
                    decomp = zlib.decompressobj(wbits=31)
            if decomp is None:
                yield chunk


def merged_chunks(paths: Iterable[Path], compression: str) -> Iterator[bytes]:
    """The content of several output files as one file of `compression` (one gzip member
    or zstd frame for a compressed one), streamed."""
    comp = _Compressor(compression) if compression else None
    for path in paths:
        for chunk in _jsonl_chunks(path):
            yield comp.compress(chunk) if comp else chunk
    if comp:
        yield comp.flush()


# ---------------------------------------------------------------------------------------


class PartWriter:
    """Publishes records to one folder as immutable part files, plain or one gzip member /
    zstd frame each: a part per `batch_records` records, `batch_bytes` bytes of JSON or
    `batch_seconds` seconds, and one at close."""

    def __init__(self, folder: str | Path, compression: str = "", *, run: str | None = None,
                 batch_records: int = 100, batch_bytes: int = 8 << 20, batch_seconds: float = 10.0,
                 on_commit=None):
        if compression not in SUFFIXES:
            raise ValueError(f"compression must be one of {sorted(SUFFIXES)}, not {compression!r}")
        self.folder = Path(folder)
        self.compression = compression
        self.run = run or run_tag()
        self.batch_records = max(1, int(batch_records))
        self.batch_bytes = max(1, int(batch_bytes))
        self.batch_seconds = float(batch_seconds)
        self._pending: list[bytes] = []
        self._pending_records: list[dict] = []
        self._pending_bytes = 0
        # on_commit(path, records): called once the records are published in the part `path`.
        self.on_commit = on_commit
        self._pending_since = time.monotonic()
        self._seq = 0
        self.parts: list[Path] = []  # published by this writer, in order
        self.written = 0
        self._closed = False
        make_folder(self.folder)
        remove_stale_temporaries(self.folder)

    def discard(self) -> int:
        """Forgets the records not yet published (the crawl stops on a storage fault; they
        were never written, so nothing remembers them and the next run fetches them
        again). Returns how many."""
        dropped = len(self._pending)
        self._pending, self._pending_records, self._pending_bytes = [], [], 0
        self._closed = True
        return dropped

    def write(self, record: dict) -> None:
        if self._closed:
            raise ValueError(f"{self.folder}: writer is closed")
        if not self._pending:
            self._pending_since = time.monotonic()
        line = encode_record(record)
        self._pending.append(line)
        self._pending_records.append(record)
        self._pending_bytes += len(line)
        self.written += 1
        if len(self._pending) >= self.batch_records or self._pending_bytes >= self.batch_bytes:
            self.flush()
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        if self._pending and time.monotonic() - self._pending_since >= self.batch_seconds:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._seq += 1  # a failed publish leaves a gap, never a name used twice
        path = publish(self.folder, part_name(self.run, self._seq, self.compression),
                       [compress_whole(data, self.compression) if self.compression else data])
        self.parts.append(path)
        records, self._pending, self._pending_records, self._pending_bytes = self._pending_records, [], [], 0
        if self.on_commit:
            self.on_commit(path, records)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class WriterSet:
    """One open PartWriter per output folder (outlet and day), opened on first use; all of
    one run, so their parts share its tag."""

    def __init__(self, output_dir: str | Path, compression: str = "", *, on_commit=None, **batch):
        self.output_dir = Path(output_dir)
        self.compression = compression
        self.batch = batch
        self.run = run_tag()
        self.on_commit = on_commit  # on_commit(path, records)
        self._writers: dict[tuple[str, ...], PartWriter] = {}

    def writer(self, outlet: str, *subfolders: str, compression: str | None = None) -> PartWriter:
        """The writer of output/<outlet>/<subfolders...>: a day, or `rejects` and a day."""
        key = (outlet, *subfolders)
        known = self._writers.get(key)
        if known is not None:
            return known
        folder = output_folder(self.output_dir, outlet, *subfolders)  # the name check, once per folder
        comp = self.compression if compression is None else compression
        writer = PartWriter(folder, comp, run=self.run, on_commit=self.on_commit, **self.batch)
        self._writers[key] = writer
        return writer

    def flush_due(self) -> None:
        for writer in self._writers.values():
            writer.flush_if_due()

    def discard(self) -> int:
        dropped = sum(writer.discard() for writer in self._writers.values())
        self._writers.clear()
        return dropped

    def close(self) -> None:
        errors = []
        for writer in self._writers.values():
            try:
                writer.close()
            except OSError as exc:  # close the others all the same
                errors.append(exc)
        self._writers.clear()
        if errors:
            raise errors[0]


def writer_settings(settings) -> dict:
    return {
        "batch_records": settings.getint("NEWSCRAWL_OUTPUT_BATCH_RECORDS", 100),
        "batch_bytes": settings.getint("NEWSCRAWL_OUTPUT_BATCH_BYTES", 8 << 20),
        "batch_seconds": settings.getfloat("NEWSCRAWL_OUTPUT_BATCH_SECONDS", 10.0),
    }
