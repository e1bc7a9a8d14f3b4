"""Write stage: immutable part files, output/<outlet>/<YYYY-MM-DD>/part-<run>-<seq>.jsonl[.gz|.zst].

Records are published by whole parts: a part holds NEWSCRAWL_OUTPUT_BATCH_RECORDS records,
or NEWSCRAWL_OUTPUT_BATCH_BYTES bytes of JSON, or what came in NEWSCRAWL_OUTPUT_BATCH_SECONDS
seconds, or what is left at close. It is written under a hidden temporary name in its own
folder, synced, and renamed to its final name; then never written again. Each record is
written to disk once, so a day costs writes in proportion to its records (rewriting one
day file at every publish cost their square).

A rename is atomic: a reader that lists a day's folder at any moment of a crawl (or after
the crawl was killed) finds whole parts only, each whole lines or one whole gzip member /
zstd frame, and the temporary names (`.part-….tmp`) match no `*.jsonl*` pattern. A killed
crawl leaves at most a temporary file behind, removed by the next writer in that folder.

`<run>` is the run's UTC start to the millisecond (`20260131T093000123Z`) and a random tag,
`<seq>` counts that run's parts in the folder: sorting the names sorts the parts by when
they were written.

Rejects and the cruft audit are written the same way, under `output/<outlet>/rejects/`
and `output/<outlet>/cruft/`, where a glob of `output/*/*/*.jsonl` does not reach them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.parts import SUFFIXES, WriterSet, part_key, utc_day, writer_settings

logger = logging.getLogger(__name__)


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
        self._days: set[str] = set()  # the days this run has written to (OutletLedger.open_day)
        # Once a part's records could not be recorded, later parts wait too: the next
        # reconcile replays them all in the order they were published (later revisions last).
        self._behind = False

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
        except OSError as exc:  # a read-only or full folder (removing a killed publish's file)
            from scrapy.exceptions import CloseSpider

            fault = self._storage_fault(exc)
            raise CloseSpider(fault.reason) from exc

        # Parts are also published on a timer, so a slow crawl still shows its records
        # within NEWSCRAWL_OUTPUT_BATCH_SECONDS.
        if reactor.running:
            self._flusher = task.LoopingCall(self._flush_due)
            self._flusher.start(max(1.0, self.writers.batch["batch_seconds"] / 2), now=False)

    def process_item(self, item):
        from pipelines.work import public_fields

        from newscrawl.faults import fault_of

        if (fault := fault_of(self.crawler)) is not None:
            # The crawl is stopping on a fault: not written, so not settled either; the
            # next run fetches this article again.
            self.stats.inc_value("newscrawl/unwritten")
            raise type(fault)(fault.message)
        record = public_fields(dict(item))
        outlet = record.get("outlet") or self.crawler.spider.outlet.name
        day = utc_day(record.get("fetched_at"))
        try:
            if day not in self._days and self.ledger is not None:
                self.ledger.open_day(day)
                self._days.add(day)
            self.writers.writer(outlet, day).write(record)
        except OSError as exc:
            self.stats.inc_value("newscrawl/unwritten")
            raise self._storage_fault(exc) from exc
        self.stats.inc_value("newscrawl/written")
        return record

    def _storage_fault(self, exc: OSError, *, close: bool = True):
        """Reports the output folder's fault (full, read-only) and stops the crawl."""
        from newscrawl.faults import report_output_fault

        return report_output_fault(self.crawler, exc, Path(self.writers.output_dir) / self.crawler.spider.outlet.name,
                                   close=close)

    def _flush_due(self) -> None:
        from newscrawl.faults import Fault

        try:
            self.writers.flush_due()
        except OSError as exc:
            self._storage_fault(exc)
            self.writers.discard()
        except Fault:
            pass  # a store fault while recording: reported; reconciled at the next run

    def _announce(self, records: list[dict], replayed: bool) -> bool:
        """Tells RECORD_WRITTEN listeners (dedupe state, run report) about records now in
        the output. False when one of them failed: the ledger is then not advanced, and
        the records are replayed at the next open."""
        from twisted.python.failure import Failure

        from newscrawl.ledger import RECORD_WRITTEN

        results = self.crawler.signals.send_catch_log(RECORD_WRITTEN, records=records, replayed=replayed)
        return not any(isinstance(result, Failure) for _, result in results)

    def _committed(self, path: Path, records: list[dict]) -> None:
        if self._behind or not self._announce(records, replayed=False):
            self._behind = True
            self.stats.inc_value("newscrawl/ledger/deferred", len(records))
            return
        if self.ledger is not None and path.parent.parent.name == self.ledger.outlet:
            self.ledger.commit(part_key(path), records, path.stat().st_size)

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
