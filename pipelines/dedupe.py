"""Dedupe stage: the same URL, the same text, and near-identical text across outlets.

State lives in the "_global" StateStore, so it holds across runs and across outlets:

  url      record id -> {"h": content hash, "r": revision, "o": outlet, "t": epoch, "d": root or null}
  hash     content hash -> {"id": record id, "o": outlet}
  minhash  record id -> {"t": epoch, "o": outlet, "s": base64 of 128 uint32 MinHash values}

Decisions:
- A known URL (same id) with the same text is dropped. With changed text it is a new
  revision (revision + 1) and is kept, unless NEWSCRAWL_KEEP_REVISIONS is False.
- The same text under another URL of the same outlet is the same article reachable twice
  (print and web paths, tracking variants the canonical link did not remove): dropped.
- The same text at another outlet is wire copy: kept and marked with duplicate_of, the id
  of the earliest article with that text (or dropped with NEWSCRAWL_DROP_NEAR_DUPLICATES).
- Near-identical text (MinHash LSH over word 5-shingles, Jaccard >= threshold): marked or
  dropped the same way. duplicate_of always names the root of a chain, never a copy.
- Near-duplicate signatures older than NEWSCRAWL_NEAR_DUP_RETENTION_DAYS are forgotten
  at open; URL and hash entries are small and kept.
- In a crawl (`defer=True`) a kept record is remembered only once its line is in the
  output (the RECORD_WRITTEN signal, see newscrawl/ledger.py): a crawl killed before the
  write leaves no trace here, so the rerun does not drop the article as already seen.
  Until then the decision lives in memory, so the rest of the run sees it.
"""

from __future__ import annotations

import base64
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from newscrawl import clock as crawl_clock
from newscrawl.state import StateStore
from pipelines.drops import Duplicate
from pipelines.minhash import NUM_PERM, NearDuplicateIndex, similarity
from pipelines.minhash import signature as signature_of
from pipelines.normalise import shingle_hashes
from pipelines.work import WORK

logger = logging.getLogger(__name__)


def minhash(text: str, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signature of the word 5-shingles of a normalised text."""
    return signature_of(shingle_hashes(text), num_perm)


def encode_signature(sig: np.ndarray) -> str:
    return base64.b64encode(np.asarray(sig, dtype="<u4").tobytes()).decode("ascii")


def decode_signature(data: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(data), dtype="<u4").astype(np.uint32)


@dataclass
class Verdict:
    keep: bool
    reason: str | None  # stats key suffix: url, content, wire_exact, near, or None
    record: dict


def load_signatures(store: StateStore, threshold: float, num_perm: int, retention_days: float,
                    clock=crawl_clock.time) -> NearDuplicateIndex:
    """The near-duplicate index of the signatures the store remembers; those older than
    the retention are deleted from the store instead."""
    index = NearDuplicateIndex(threshold, num_perm)
    oldest = clock() - retention_days * 86400
    expired = []
    for key, value in store.items("minhash"):
        entry = json.loads(value)
        if entry["t"] < oldest:
            expired.append(key)
            continue
        sig = decode_signature(entry["s"])
        if len(sig) != num_perm:
            continue  # written with another num_perm setting: not comparable
        index.add(key, sig)
    for key in expired:
        store.delete("minhash", key)
    logger.info("dedupe: %d near-duplicate signatures loaded, %d expired", len(index), len(expired))
    return index


class Deduplicator:
    """Explicit dedupe state over a StateStore; `check` decides one record at a time."""

    def __init__(self, store: StateStore, *, threshold: float = 0.8, num_perm: int = NUM_PERM,
                 retention_days: float = 30, drop_near: bool = False, keep_revisions: bool = True,
                 clock=crawl_clock.time, defer: bool = False, signatures: NearDuplicateIndex | None = None):
        self.store = store
        self.threshold = threshold
        self.num_perm = num_perm
        self.retention_days = retention_days
        self.drop_near = drop_near
        self.keep_revisions = keep_revisions
        self.clock = clock
        self.defer = defer
        self._unwritten: dict[tuple[str, str], str] = {}  # (ns, key) -> value, kept records not yet written
        # `signatures`: an index already loaded from this store, shared with the other
        # crawlers of the process (DedupePipeline); else loaded here.
        self.signatures = signatures if signatures is not None else load_signatures(
            store, threshold, num_perm, retention_days, clock)

    def _get(self, ns: str, key: str) -> dict | None:
        value = self._unwritten.get((ns, key)) or self.store.get(ns, key)
        return json.loads(value) if value else None

    def _put(self, ns: str, key: str, value: str, kept: bool) -> None:
        if kept and self.defer:
            self._unwritten[(ns, key)] = value
        else:
            self.store.put(ns, key, value)

    def remember_all(self, records: list[dict]) -> None:
        """`remember` for each record, in one transaction where the store has them (an
        SQLite transaction, a Redis MULTI/EXEC): a crawl killed or a store lost midway
        stores none of them, and the records' replay at the next open stores them all."""
        batch = getattr(self.store, "batch", None)
        with batch() if batch is not None else nullcontext():
            for record in records:
                self.remember(record)

    def remember(self, record: dict) -> None:
        """Stores what `check` decided for a kept record, now that it is written (or
        replayed from the output at open). Idempotent."""
        rec_id = record["id"]
        pending = [(ns, key, self._unwritten.pop((ns, key), None))
                   for ns, key in (("url", rec_id), ("hash", record["content_hash"]), ("minhash", rec_id))]
        if pending[0][2] is not None and pending[2][2] is not None:
            # Decided by check() in this run: store its entries as they are (the signature
            # is in the index already) rather than build them again.
            for ns, key, value in pending:
                if value is None:
                    continue
                if ns == "hash":  # the first text's owner stays, when two crawls store it at once
                    self.store.put_if_absent(ns, key, value)
                else:
                    self.store.put(ns, key, value)
            return
        # Replayed from the output at open: nothing pending, so build the entries.
        now = self.clock()
        self._remember_url(rec_id, record["content_hash"], record.get("revision") or 1, record["outlet"], now,
                           record.get("duplicate_of"))
        self.store.put_if_absent("hash", record["content_hash"], json.dumps({"id": rec_id, "o": record["outlet"]}))
        sig = self.signatures.get(rec_id)
        if sig is None:
            sig = minhash(record["text"], self.num_perm)
        self._remember_signature(rec_id, sig, record["outlet"], now)

    def root_of(self, rec_id: str) -> str:
        entry = self._get("url", rec_id)
        return (entry or {}).get("d") or rec_id

    def nearest(self, sig: np.ndarray, exclude: str) -> tuple[str | None, float]:
        """The most similar remembered article at or above the threshold, and its similarity."""
        best, best_sim = None, 0.0
        for key in self.signatures.candidates(sig):
            if key == exclude:
                continue
            sim = similarity(sig, self.signatures.get(key))
            if sim >= self.threshold and (sim > best_sim or (sim == best_sim and key < best)):
                best, best_sim = key, sim
        return best, best_sim

    def check(self, record: dict, signature: np.ndarray | None = None) -> Verdict:
        """`signature`: the MinHash of record["text"], when computed elsewhere (a worker)."""
        rec = dict(record)
        rec_id, chash, outlet = rec["id"], rec["content_hash"], rec["outlet"]
        now = self.clock()
        known = self._get("url", rec_id)
        if known:
            if known["h"] == chash or not self.keep_revisions:
                return Verdict(False, "url", rec)
            rec["revision"] = int(known.get("r", 1)) + 1

        reason = None
        same_text = self._get("hash", chash)
        if same_text and same_text["id"] != rec_id:
            if same_text["o"] == outlet:
                self._remember_url(rec_id, chash, rec.get("revision", 1), outlet, now, same_text["id"])
                return Verdict(False, "content", rec)
            rec["duplicate_of"] = self.root_of(same_text["id"])
            reason = "wire_exact"

        sig = signature if signature is not None else minhash(rec["text"], self.num_perm)
        if not rec.get("duplicate_of"):
            match, similarity = self.nearest(sig, exclude=rec_id)
            if match:
                rec["duplicate_of"] = self.root_of(match)
                reason = "near"
                logger.info("%s near-duplicate of %s (%.2f)", rec.get("url"), match, similarity)
        if rec.get("duplicate_of") == rec_id:
            rec["duplicate_of"] = None  # an article is never a copy of itself
            reason = None

        if reason and self.drop_near:
            self._remember_url(rec_id, chash, rec.get("revision", 1), outlet, now, rec.get("duplicate_of"))
            return Verdict(False, reason, rec)
        self._remember_url(rec_id, chash, rec.get("revision", 1), outlet, now, rec.get("duplicate_of"), kept=True)
        if not same_text:
            self._put("hash", chash, json.dumps({"id": rec_id, "o": outlet}), kept=True)
        self._remember_signature(rec_id, sig, outlet, now, kept=True)
        return Verdict(True, reason, rec)

    def _remember_url(self, rec_id, chash, revision, outlet, now, duplicate_of, kept: bool = False) -> None:
        entry = {"h": chash, "r": revision, "o": outlet, "t": int(now), "d": duplicate_of}
        self._put("url", rec_id, json.dumps(entry, separators=(",", ":")), kept)

    def _remember_signature(self, rec_id: str, sig: np.ndarray, outlet: str, now: float, kept: bool = False) -> None:
        self.signatures.add(rec_id, sig)  # a new revision replaces the old text's signature
        entry = {"t": int(now), "o": outlet, "s": encode_signature(sig)}
        self._put("minhash", rec_id, json.dumps(entry, separators=(",", ":")), kept)


def deduplicator_from_settings(settings, store: StateStore, defer: bool = False,
                               signatures: NearDuplicateIndex | None = None) -> Deduplicator:
    return Deduplicator(
        store,
        defer=defer,
        signatures=signatures,
        threshold=settings.getfloat("NEWSCRAWL_NEAR_DUP_THRESHOLD", 0.8),
        retention_days=settings.getfloat("NEWSCRAWL_NEAR_DUP_RETENTION_DAYS", 30),
        drop_near=settings.getbool("NEWSCRAWL_DROP_NEAR_DUPLICATES", False),
        keep_revisions=settings.getbool("NEWSCRAWL_KEEP_REVISIONS", True),
    )


def dedupe_record(dedup: Deduplicator, record: dict) -> Verdict:
    """The dedupe stage on one record (its internal fields go): the verdict, whose record
    is the one to write when kept."""
    # The shingles were hashed by the normalise stage's worker; applying the
    # permutations here is cheap (numpy), and keeps numpy out of the workers.
    work = record.pop(WORK, None)
    hashes = work.shingle_hashes if work is not None else None
    signature = signature_of(hashes, dedup.num_perm) if hashes is not None else None
    verdict = dedup.check(record, signature)
    if verdict.keep and verdict.record.get("revision", 1) > 1:
        # A revision is a change we saw; when the page gives no modified date, the
        # fetch time is the latest it can have changed.
        verdict.record["modified_at"] = verdict.record.get("modified_at") or verdict.record.get("fetched_at")
    return verdict


class DedupePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.store: StateStore | None = None
        self.dedup: Deduplicator | None = None

    @classmethod
    def from_crawler(cls, crawler):
        from newscrawl.ledger import RECORD_WRITTEN

        from scrapy import signals

        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.records_written, signal=RECORD_WRITTEN)
        # The store stays open until the spider is closed: the write stage publishes its
        # last batch in its own close_spider, and those records are remembered here.
        crawler.signals.connect(pipeline.close_store, signal=signals.spider_closed)
        return pipeline

    def open_spider(self):
        from newscrawl.faults import fault_of, open_crawl_state

        if fault_of(self.crawler) is not None:
            return  # a start-up fault: the spider closes at once, nothing is opened
        from newscrawl.shared import SHARED
        from newscrawl.state import state_location

        settings = self.crawler.settings
        # Every crawler of the process (one per outlet in a fleet crawl) uses one
        # connection to the global store and one index, loaded once: memory for the
        # signatures and the store's page cache is held once, and an outlet's article is
        # compared with those the others wrote in this run.
        self.store = open_crawl_state(self.crawler, "_global", shared=True)
        threshold = settings.getfloat("NEWSCRAWL_NEAR_DUP_THRESHOLD", 0.8)
        retention = settings.getfloat("NEWSCRAWL_NEAR_DUP_RETENTION_DAYS", 30)
        key = ("near-duplicate index", str(state_location(settings, "_global")), threshold, NUM_PERM, retention)
        index = SHARED.acquire(self.crawler, key,
                               lambda: load_signatures(self.store, threshold, NUM_PERM, retention))
        self.dedup = deduplicator_from_settings(settings, self.store, defer=True, signatures=index)

    def records_written(self, records, replayed=False, **kwargs):
        self.dedup.remember_all(records)

    def process_item(self, item):
        verdict = dedupe_record(self.dedup, dict(item))
        if verdict.reason:
            self.stats.inc_value(f"newscrawl/duplicates/{verdict.reason}")
        if verdict.record.get("revision", 1) > 1 and verdict.keep:
            self.stats.inc_value("newscrawl/revisions")
        if not verdict.keep:
            # A duplicate is routine (a revisit, a second path to the same story): counted
            # in the stats, logged at INFO rather than as a warning.
            raise Duplicate(f"duplicate ({verdict.reason}): {verdict.record.get('url')}")
        return verdict.record

    def close_store(self, **kwargs):
        if self.store is not None:
            self.store.close()
            self.store = None
