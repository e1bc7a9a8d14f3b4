"""The outlet ledger: what an outlet's output holds, kept in its state store.

The output files are the source of truth for what was emitted; the ledger is derived
from them and never runs ahead of them:

1. a record's line reaches the output file (one append, see pipelines/write.py);
2. listeners of RECORD_WRITTEN remember it (the dedupe stage's global content hashes);
3. one transaction records the article here and moves the file's checkpoint (the byte
   offset up to which the file is reflected in state) past the line.

A process killed between 1 and 3 leaves lines past the checkpoint; at the next open,
`reconcile` cuts a torn last line, reads every line past the checkpoint and applies it
(steps 2 and 3 again; both are idempotent). A process killed before 1 leaves no trace:
the article was never written, so it is not known, and the next run fetches it again.
That is also why articles held by the decruft warm-up are safe: nothing marks them
before they are written.

Namespaces in the outlet's store (state/<outlet>.sqlite by default):

  articles    record url -> {"id", "r" revision, "h" content hash, "s" status, "t" written
              epoch, "m" sitemap lastmod, "e" ETag, "l" Last-Modified, "c" checked epoch}
              status "written", or why it was settled without output ("duplicate",
              "rejected"): settled articles are not fetched again unless they change.
  requests    request url -> record url, where a redirect made them differ
  checkpoint  output file name -> byte offset reflected in state
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from pathlib import Path

from newscrawl.state import StateStore, open_state
from pipelines.write import complete_length, complete_part, compression_of

logger = logging.getLogger(__name__)

RECORD_WRITTEN = object()  # signal: records=[dict], replayed=bool; sent after the lines are in the file

NS_ARTICLES, NS_REQUESTS, NS_CHECKPOINT = "articles", "requests", "checkpoint"
WRITTEN = "written"

# What the incremental skip decides for a discovered URL.
NEW, SKIP, CHANGED, RECHECK = "new", "skip", "changed", "recheck"


def output_files(output_dir: str | Path, outlet: str) -> list[Path]:
    """An outlet's article files (not rejects, not run reports), oldest first."""
    folder = Path(output_dir) / outlet
    return sorted(p for p in folder.glob("[0-9]*.jsonl*") if p.is_file())


def read_from(path: Path, offset: int) -> tuple[list[dict], int]:
    """The complete records of `path` after byte `offset`, and the offset where the
    complete part ends (a torn last line or member is not included)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data, length = complete_part(fh.read(), compression_of(path))
    records = []
    for line in data.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                logger.warning("%s: unreadable line skipped during reconcile", path)
    return records, offset + length


class OutletLedger:
    def __init__(self, store: StateStore, outlet: str, output_dir: str | Path, *, clock=time.time):
        self.store = store
        self.outlet = outlet
        self.output_dir = Path(output_dir)
        self.clock = clock
        # Facts about a fetch (request url, lastmod, validators), by record url, waiting
        # for the record to be written or dropped; committed with it, never before.
        self.pending: dict[str, dict] = {}

    # -- storage helpers

    def _batch(self):
        batch = getattr(self.store, "batch", None)
        return batch() if batch else nullcontext()

    def _get(self, ns: str, key: str) -> dict | None:
        value = self.store.get(ns, key)
        return json.loads(value) if value else None

    def _put(self, ns: str, key: str, value: dict) -> None:
        self.store.put(ns, key, json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def _merge_facts(self, entry: dict, url: str) -> None:
        facts = self.pending.pop(url, None)
        if not facts:
            return
        request_url = facts.pop("req", None)
        entry.update({k: v for k, v in facts.items() if v is not None})
        if request_url and request_url != url:
            self.store.put(NS_REQUESTS, request_url, url)

    # -- recording

    def commit(self, filename: str, records: list[dict], end_offset: int) -> None:
        """Records that are in `filename` up to `end_offset`, in one transaction."""
        now = int(self.clock())
        with self._batch():
            for record in records:
                url = record.get("url")
                if not url:
                    continue
                entry = self._get(NS_ARTICLES, url) or {}
                revision = max(int(record.get("revision") or 1), int(entry.get("r") or 0))
                if entry.get("s") == WRITTEN and revision == entry.get("r") and entry.get("h") != record.get("content_hash"):
                    revision = entry["r"]  # an old line replayed after a newer one: keep the newer
                entry.update({"id": record.get("id"), "r": revision, "h": record.get("content_hash"),
                              "s": WRITTEN, "t": now})
                entry.setdefault("c", now)
                self._merge_facts(entry, url)
                self._put(NS_ARTICLES, url, entry)
            self.store.put(NS_CHECKPOINT, filename, str(end_offset))

    def settle(self, url: str, reason: str) -> None:
        """An article dropped without output (a duplicate, a reject): remembered with its
        fetch facts so an unchanged copy is not fetched again. A written article keeps its
        status and only gets the new facts (it was refetched and found unchanged)."""
        if not url:
            return
        with self._batch():
            entry = self._get(NS_ARTICLES, url) or {"s": reason}
            entry["c"] = int(self.clock())
            self._merge_facts(entry, url)
            self._put(NS_ARTICLES, url, entry)

    def checked(self, url: str) -> None:
        """A conditional GET answered 304: the article is unchanged as of now."""
        entry = self._get(NS_ARTICLES, url)
        if entry:
            entry["c"] = int(self.clock())
            self._put(NS_ARTICLES, url, entry)

    # -- reading

    def lookup(self, request_url: str) -> tuple[str, dict] | tuple[None, None]:
        entry = self._get(NS_ARTICLES, request_url)
        if entry:
            return request_url, entry
        target = self.store.get(NS_REQUESTS, request_url)
        if target and (entry := self._get(NS_ARTICLES, target)):
            return target, entry
        return None, None

    def decide(self, request_url: str, lastmod: str | None, recheck_after: float) -> tuple[str, str | None, dict | None]:
        """NEW (never settled), CHANGED (the sitemap's lastmod moved), RECHECK (due for a
        conditional GET) or SKIP; with the settled record url and entry."""
        url, entry = self.lookup(request_url)
        if entry is None:
            return NEW, None, None
        if lastmod and entry.get("m") and lastmod != entry["m"]:
            return CHANGED, url, entry
        if lastmod and not entry.get("m"):
            return RECHECK, url, entry  # first lastmod we see for it: cannot compare, ask the server
        if recheck_after > 0 and self.clock() - float(entry.get("c") or 0) >= recheck_after:
            return RECHECK, url, entry
        return SKIP, url, entry

    def written(self) -> dict[str, dict]:
        return {k: e for k, v in self.store.items(NS_ARTICLES) if (e := json.loads(v)).get("s") == WRITTEN}

    def checkpoint(self, filename: str) -> int:
        return int(self.store.get(NS_CHECKPOINT, filename) or 0)

    # -- recovery

    def reconcile(self, on_records=None) -> int:
        """Brings the state up to the output: cuts torn tails, applies every line past
        each file's checkpoint. `on_records(records)` runs before each file's commit
        (listeners that keep their own state). Returns the number of lines applied."""
        applied = 0
        for path in output_files(self.output_dir, self.outlet):
            size = path.stat().st_size
            offset = self.checkpoint(path.name)
            if offset > size:
                logger.warning("%s is shorter than its checkpoint (%d > %d): replaying it whole",
                               path, offset, size)
                offset = 0
            records, end = read_from(path, offset)
            if end < size:
                logger.warning("%s: cutting %d bytes of an incomplete last record", path, size - end)
                with open(path, "r+b") as fh:
                    fh.truncate(end)
            if end == offset:
                continue
            if records and on_records is not None:
                on_records(records)
            self.commit(path.name, records, end)
            applied += len(records)
        if applied:
            logger.info("ledger: %d written records of %s were not yet in state; applied", applied, self.outlet)
        return applied

    def reset(self, *, keep_output: bool = True) -> None:
        """Forgets what was emitted. The existing output is marked as already reflected,
        so the next crawl starts from nothing instead of replaying it."""
        with self._batch():
            for ns in (NS_ARTICLES, NS_REQUESTS, NS_CHECKPOINT):
                self.store.clear(ns)
            if keep_output:
                for path in output_files(self.output_dir, self.outlet):
                    self.store.put(NS_CHECKPOINT, path.name, str(complete_length(path)))


def forget_outlet_globally(store: StateStore, outlet: str) -> int:
    """Removes an outlet's entries from the global dedupe state (url, hash, minhash)."""
    removed = 0
    for ns in ("url", "hash", "minhash"):
        for key, value in list(store.items(ns)):
            try:
                owner = json.loads(value).get("o")
            except ValueError:
                continue
            if owner == outlet:
                store.delete(ns, key)
                removed += 1
    return removed


def ledger_for(crawler) -> OutletLedger | None:
    """The crawl's ledger, shared by the components that use it; None for a spider
    without an outlet. Opened on first use, closed when the engine stops."""
    ledger = getattr(crawler, "newscrawl_ledger", None)
    if ledger is not None:
        return ledger
    outlet = getattr(getattr(crawler, "spider", None), "outlet", None)
    if outlet is None:
        return None
    from scrapy import signals

    from newscrawl.faults import open_crawl_state

    settings = crawler.settings
    store = open_crawl_state(crawler, outlet.name)
    ledger = OutletLedger(store, outlet.name, settings.get("NEWSCRAWL_OUTPUT_DIR") or "output")
    crawler.newscrawl_ledger = ledger

    def dropped(item, exception, **kw):
        from pipelines.drops import status_of

        url = dict(item).get("url") if item is not None else None
        if url:
            ledger.settle(url, status_of(exception))  # "rejected", "duplicate" (pipelines/drops.py)

    def close(**kw):
        store.close()
        crawler.newscrawl_ledger = None

    crawler.signals.connect(dropped, signal=signals.item_dropped, weak=False)
    crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return ledger
