"""Write stage: output/<outlet>/<YYYY-MM-DD>.jsonl[.gz|.zst], safe to read during a crawl.

Records are published by whole batches (NEWSCRAWL_OUTPUT_BATCH_RECORDS records, or
NEWSCRAWL_OUTPUT_BATCH_SECONDS seconds, and at close): the batch is appended to a private
copy of the file, which is synced and then renamed over the file. A rename is atomic, so a
consumer that opens the file at any moment of a crawl (or after the crawl was killed) sees
whole lines and whole gzip members / zstd frames, never a part of one. A killed crawl
leaves at most a private temporary file behind, removed by the next writer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIXES = {"": ".jsonl", "gzip": ".jsonl.gz", "zstd": ".jsonl.zst"}
_SAFE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class OutputPathError(ValueError):
    """An outlet name or file name that would lead outside the output folder."""


def output_path(output_dir: str | Path, outlet: str, filename: str) -> Path:
    """output_dir/outlet/filename, refusing anything that resolves outside output_dir."""
    if not _SAFE_NAME_RE.match(outlet or ""):
        raise OutputPathError(f"unsafe outlet name {outlet!r}")
    root = Path(output_dir).resolve()
    path = (root / outlet / filename).resolve()
    if not path.is_relative_to(root / outlet) or path.parent != root / outlet:
        raise OutputPathError(f"{filename!r} leads outside {root / outlet}")
    return path


def utc_day(timestamp) -> str:
    """YYYY-MM-DD (UTC) of an ISO 8601 timestamp; today when it is missing or unreadable."""
    try:
        dt = datetime.fromisoformat(str(timestamp))
        dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        dt = datetime.now(timezone.utc)
    return dt.astimezone(timezone.utc).date().isoformat()


def encode_record(record: dict) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


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


def complete_length(path: Path, compression: str | None = None) -> int:
    data = path.read_bytes()
    if compression is None:
        compression = compression_of(path)
    if compression:
        return complete_members(data, compression)[1]
    return data.rfind(b"\n") + 1


def read_records(path: str | Path) -> Iterator[dict]:
    """Records of an output file, read safely while it is being written: a trailing
    incomplete line or member is left for the next read."""
    path = Path(path)
    data, _ = complete_part(path.read_bytes(), compression_of(path))
    for line in data.splitlines():
        if line.strip():
            yield json.loads(line)


# ---------------------------------------------------------------------------------------


class JsonlWriter:
    """Publishes records to one JSONL file, plain or as a sequence of gzip members / zstd
    frames (one per batch of `batch_records` records or `batch_seconds` seconds)."""

    def __init__(self, path: str | Path, compression: str = "", *, batch_records: int = 100,
                 batch_seconds: float = 10.0, on_commit=None):
        if compression not in SUFFIXES:
            raise ValueError(f"compression must be one of {sorted(SUFFIXES)}, not {compression!r}")
        self.path = Path(path)
        self.compression = compression
        self.batch_records = max(1, int(batch_records))
        self.batch_seconds = float(batch_seconds)
        self._pending: list[bytes] = []
        self._pending_records: list[dict] = []
        # on_commit(records, end_offset): called once the records are published in the file.
        self.on_commit = on_commit
        self._pending_since = time.monotonic()
        self.written = 0
        self._closed = False
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        self._cut_torn_tail()

    def _remove_stale_temporaries(self) -> None:
        # Left by a writer killed while publishing; its batch was never published, and the
        # crawl state never counted it, so the rerun fetches those articles again.
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)

    def _cut_torn_tail(self) -> None:
        # Only a file written some other way (or by hand) can end in a partial record.
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        good = complete_length(self.path, self.compression)
        if good < size:
            logger.warning("%s: cutting %d bytes of an incomplete last record", self.path, size - good)
            with open(self.path, "rb") as src, open(self._tmp, "wb") as out:
                out.write(src.read(good))
                out.flush()
                os.fsync(out.fileno())
            self._publish()

    def _publish(self) -> None:
        os.replace(self._tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)

    def _append(self, data: bytes) -> int:
        """Publishes the file plus `data`; returns the new size. On an error (a full or
        read-only folder) nothing is published and the private copy is removed."""
        try:
            if self.path.exists():
                shutil.copyfile(self.path, self._tmp)  # sendfile: stays in the kernel
            with open(self._tmp, "ab") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
                end = out.tell()
            self._publish()
        except OSError:
            try:
                self._tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise
        return end

    def discard(self) -> int:
        """Forgets the records not yet published (the crawl stops on a storage fault; they
        were never written, so nothing remembers them and the next run fetches them
        again). Returns how many."""
        dropped = len(self._pending)
        self._pending, self._pending_records = [], []
        self._closed = True
        return dropped

    def _compress(self, data: bytes) -> bytes:
        if self.compression == "gzip":
            comp = zlib.compressobj(6, zlib.DEFLATED, 31)
            return comp.compress(data) + comp.flush()
        import zstandard

        return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(data)

    def write(self, record: dict) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(encode_record(record))
        self._pending_records.append(record)
        self.written += 1
        if len(self._pending) >= self.batch_records:
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
        end = self._append(self._compress(data) if self.compression else data)
        records, self._pending, self._pending_records = self._pending_records, [], []
        if self.on_commit:
            self.on_commit(records, end)

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
    """One open JsonlWriter per output file (outlet and day), opened on first use."""

    def __init__(self, output_dir: str | Path, compression: str = "", *, on_commit=None, **batch):
        self.output_dir = Path(output_dir)
        self.compression = compression
        self.batch = batch
        self.on_commit = on_commit  # on_commit(path, records, end_offset)
        self._writers: dict[Path, JsonlWriter] = {}
        self._by_name: dict[tuple[str, str], JsonlWriter] = {}  # the path check done once per file

    def writer(self, outlet: str, filename: str, compression: str | None = None) -> JsonlWriter:
        known = self._by_name.get((outlet, filename))
        if known is not None:
            return known
        path = output_path(self.output_dir, outlet, filename)
        if path not in self._writers:
            comp = self.compression if compression is None else compression
            hook = (lambda records, end, path=path: self.on_commit(path, records, end)) if self.on_commit else None
            self._writers[path] = JsonlWriter(path, comp, on_commit=hook, **self.batch)
        self._by_name[(outlet, filename)] = self._writers[path]
        return self._writers[path]

    def flush_due(self) -> None:
        for writer in self._writers.values():
            writer.flush_if_due()

    def discard(self) -> int:
        dropped = sum(writer.discard() for writer in self._writers.values())
        self._writers.clear()
        self._by_name.clear()
        return dropped

    def close(self) -> None:
        errors = []
        for writer in self._writers.values():
            try:
                writer.close()
            except OSError as exc:  # close the others all the same
                errors.append(exc)
        self._writers.clear()
        self._by_name.clear()
        if errors:
            raise errors[0]


def writer_settings(settings) -> dict:
    return {
        "batch_records": settings.getint("NEWSCRAWL_OUTPUT_BATCH_RECORDS", 100),
        "batch_seconds": settings.getfloat("NEWSCRAWL_OUTPUT_BATCH_SECONDS", 10.0),
    }


class WritePipeline:
    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.compression = settings.get("NEWSCRAWL_OUTPUT_COMPRESSION", "") or ""
        if self.compression not in SUFFIXES:
            raise ValueError(f"NEWSCRAWL_OUTPUT_COMPRESSION must be one of {sorted(SUFFIXES)}")
        self.writers = WriterSet(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output", self.compression,
                                 on_commit=self._committed, **writer_settings(settings))
        self._flusher = None
        self.ledger = None
        self._behind: set[Path] = set()  # files whose state waits for the next reconcile

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        from twisted.internet import reactor, task

        from newscrawl.faults import Fault, fault_of
        from newscrawl.ledger import ledger_for
        from newscrawl.lock import LOCKED_REASON, crawl_lock_held

        if fault_of(self.crawler) is not None:
            return  # a start-up fault (newscrawl.faults): the spider closes at once
        if not crawl_lock_held(self.crawler):
            # Another crawl of this outlet runs: touch none of its files.
            from scrapy.exceptions import CloseSpider

            raise CloseSpider(LOCKED_REASON)
        try:
            self.ledger = ledger_for(self.crawler)
            if self.ledger is not None:
                replayed = self.ledger.reconcile(on_records=lambda records: self._announce(records, replayed=True))
                self.stats.set_value("newscrawl/ledger/replayed", replayed)
        except Fault as fault:  # the store went away since the start-up check (reported)
            from scrapy.exceptions import CloseSpider

            raise CloseSpider(fault.reason) from fault
        except OSError as exc:  # cutting a torn tail in a read-only or full folder
            from scrapy.exceptions import CloseSpider

            fault = self._storage_fault(exc)
            raise CloseSpider(fault.reason) from exc

        # Batches are also published on a timer, so a slow crawl still shows its records
        # within NEWSCRAWL_OUTPUT_BATCH_SECONDS.
        if reactor.running:
            self._flusher = task.LoopingCall(self._flush_due)
            self._flusher.start(max(1.0, self.writers.batch["batch_seconds"] / 2), now=False)

    def process_item(self, item):
        from pipelines.validate import public_fields

        from newscrawl.faults import fault_of

        if (fault := fault_of(self.crawler)) is not None:
            # The crawl is stopping on a fault: not written, so not settled either; the
            # next run fetches this article again.
            self.stats.inc_value("newscrawl/unwritten")
            raise type(fault)(fault.message)
        record = public_fields(dict(item))
        outlet = record.get("outlet") or self.crawler.spider.outlet.name
        filename = utc_day(record.get("fetched_at")) + SUFFIXES[self.compression]
        try:
            self.writers.writer(outlet, filename).write(record)
        except OSError as exc:
            self.stats.inc_value("newscrawl/unwritten")
            raise self._storage_fault(exc) from exc
        self.stats.inc_value("newscrawl/written")
        return record

    def _storage_fault(self, exc: OSError, *, close: bool = True):
        """Reports the output folder's fault (full, read-only) and stops the crawl."""
        from newscrawl import faults

        folder = Path(exc.filename).parent if getattr(exc, "filename", None) else \
            Path(self.writers.output_dir) / self.crawler.spider.outlet.name
        return faults.report(self.crawler, faults.storage_fault("output folder", folder, exc),
                             exc_info=(type(exc), exc, exc.__traceback__), close=close)

    def _flush_due(self) -> None:
        try:
            self.writers.flush_due()
        except OSError as exc:
            self._storage_fault(exc)
            self.writers.discard()
        except Exception as exc:  # noqa: BLE001 - a store fault while recording (reported)
            from newscrawl.faults import Fault

            if not isinstance(exc, Fault):
                raise

    def _announce(self, records: list[dict], replayed: bool) -> bool:
        """Tells RECORD_WRITTEN listeners (dedupe state, run report) about records now in
        the output. False when one of them failed: the ledger is then not advanced, and
        the records are replayed at the next open."""
        from twisted.python.failure import Failure

        from newscrawl.ledger import RECORD_WRITTEN

        results = self.crawler.signals.send_catch_log(RECORD_WRITTEN, records=records, replayed=replayed)
        return not any(isinstance(result, Failure) for _, result in results)

    def _committed(self, path: Path, records: list[dict], end_offset: int) -> None:
        # The checkpoint is one offset per file: once a file's records could not be
        # recorded, later ones wait too, so the next reconcile replays them all.
        if path in self._behind or not self._announce(records, replayed=False):
            self._behind.add(path)
            self.stats.inc_value("newscrawl/ledger/deferred", len(records))
            return
        if self.ledger is not None and path.parent.name == self.ledger.outlet:
            self.ledger.commit(path.name, records, end_offset)

    def close_spider(self):
        from newscrawl.faults import Fault, StorageFault, fault_of

        if self._flusher and self._flusher.running:
            self._flusher.stop()
        if isinstance(fault_of(self.crawler), StorageFault):
            dropped = self.writers.discard()  # the folder is full or read-only: nothing more is written
            if dropped:
                logger.info("%d records not written (storage fault); the next run fetches them again", dropped)
            return
        try:
            self.writers.close()
        except OSError as exc:
            self._storage_fault(exc, close=False)
            self.writers.discard()
        except Fault:
            pass  # a store fault while recording the last batch: reported; reconciled next run
