"""The outlet ledger: what an outlet's output holds, kept in its state store.

The output files are the source of truth for what was emitted; the ledger is derived
from them and never runs ahead of them:

1. a part file holding the records is published (written, synced, renamed into its day
   folder: see pipelines/write.py); it is complete from then on, and never changes;
2. listeners of RECORD_WRITTEN remember the records (the dedupe stage's global content
   hashes);
3. one transaction records the articles here and the part in the checkpoint: the set of
   parts whose records are reflected in state.

A process killed between 1 and 3 leaves a part that is not in the checkpoint; at the next
open, `reconcile` reads every such part and applies it (steps 2 and 3 again; both are
idempotent). A process killed before 1 leaves no trace but a temporary file, removed:
the article was never written, so it is not known, and the next run fetches it again.
That is also why articles held by the decruft warm-up are safe: nothing marks them
before they are written.

Sealed days. A crawl writes to the day folder of its fetch time, so no crawl writes to a
day once it is over. At the end of `reconcile`, every day up to SEAL_LAG_DAYS before the
crawl's clock (newscrawl/clock.py) is sealed: all its parts are in state by then, its
checkpoint entries are dropped, and `sealed` remembers the last such day. The next
`reconcile` reads only the days after it, so a crawl's start-up and the checkpoint stay
the same size after a year of hourly runs as after one (they grew with every part ever
written). Two days of lag, not one: a crawl running over midnight, or a clock set back a
little, still writes to an open day. A part replaced by hand in a sealed day is no longer
noticed; `newscrawl reset` or a lost state unseals everything.

`compact` merges a day's parts into one part (see there for how a crash mid-way leaves
no duplicate and loses nothing).

Namespaces in the outlet's store (state/<outlet>.sqlite by default):

  articles    record url -> {"id", "r" revision, "h" content hash, "s" status, "t" written
              epoch, "m" sitemap lastmod, "e" ETag, "l" Last-Modified, "c" checked epoch}
              status "written", or why it was settled without output ("duplicate",
              "rejected"): settled articles are not fetched again unless they change.
              "c" is when the page was last fetched (or a conditional GET answered 304):
              a sitemap lastmod is compared with it (see `decide`).
  requests    request url -> record url, where a redirect made them differ
  checkpoint  part "<YYYY-MM-DD>/<part file name>" -> its size in bytes, once its records
              are reflected in state (the parts of open days only)
  sealed      "through" -> the last sealed day, YYYY-MM-DD: every part of it and of the
              days before is reflected in state
"""

from __future__ import annotations

import json
import logging
import os
import weakref
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path

from newscrawl import clock as crawl_clock
from newscrawl.discovery import entry_datetime
from newscrawl.state import StateStore
from pipelines.parts import (CRUFT, DAY_RE, PART_RE, REJECTS, TEMPORARY_GLOB, compression_of, day_parts, fsync_folder,
                             merged_chunks, output_folder, part_key, part_name, publish, read_records,
                             remove_stale_temporaries, run_tag)

logger = logging.getLogger(__name__)

RECORD_WRITTEN = object()  # signal: records=[dict], replayed=bool; sent after the part is published

NS_ARTICLES, NS_REQUESTS, NS_CHECKPOINT, NS_SEALED = "articles", "requests", "checkpoint", "sealed"
SEALED_THROUGH = "through"
SEAL_LAG_DAYS = 2
WRITTEN = "written"

# What the incremental skip decides for a discovered URL.
NEW, SKIP, CHANGED, RECHECK = "new", "skip", "changed", "recheck"

# A compaction under way: `.compact-<day>-<merged part's stem>.json` in the outlet's folder
# (hidden, and no reader's `*.jsonl*` glob matches it), found there whatever day it
# compacts. Before sealed days, an intent was in the day's folder, with no day in its name.
_INTENT_PREFIX = ".compact-"


def output_files(output_dir: str | Path, outlet: str) -> list[Path]:
    """An outlet's article parts (not rejects, not run reports), oldest first."""
    return day_parts(Path(output_dir) / outlet)


def day_folders(root: Path, after: str | None = None) -> list[Path]:
    """root's day folders (root/<YYYY-MM-DD>) of days after `after` (all: None), in order."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if DAY_RE.match(p.name) and (after is None or p.name > after)
                  and p.is_dir())


class OutletLedger:
    def __init__(self, store: StateStore, outlet: str, output_dir: str | Path, *, clock=crawl_clock.time):
        self.store = store
        self.outlet = outlet
        self.output_dir = Path(output_dir)
        self.clock = clock
        # Facts about a fetch (request url, lastmod, validators), by record url, waiting
        # for the record to be written or dropped; committed with it, never before.
        self.pending: dict[str, dict] = {}
        # Whether the compactions a crash interrupted were ended since this ledger opened:
        # after that, an intent can only be one of this ledger's own compactions, which
        # ends its own (`newscrawl compact` compacts day after day with one ledger).
        self._interrupted_compactions_ended = False

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

    def commit(self, part: str, records: list[dict], size: int) -> None:
        """The records of a published part (`part_key`, `size` bytes), in one transaction."""
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
                # A live commit gets the fetch time from the pending facts below. A record
                # replayed from the output has none: its fetched_at is the fetch time, and
                # the replay's own time would hide a lastmod between the two.
                fetched = entry_datetime(record.get("fetched_at"))
                entry["c"] = max(int(entry.get("c") or 0), int(fetched.timestamp()) if fetched else now)
                self._merge_facts(entry, url)
                self._put(NS_ARTICLES, url, entry)
            self.store.put(NS_CHECKPOINT, part, str(size))

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

    def checked(self, url: str, lastmod: str | None = None) -> None:
        """A conditional GET answered 304: the article is unchanged as of now, and so is
        the sitemap lastmod that led to it (remembered, or it would ask again each run)."""
        entry = self._get(NS_ARTICLES, url)
        if entry:
            entry["c"] = int(self.clock())
            if lastmod:
                entry["m"] = lastmod
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
        """NEW (never settled), CHANGED (the sitemap's lastmod is later than the fetch that
        settled it), RECHECK (due for a conditional GET) or SKIP; with the settled record
        url and entry.

        An article found first by the homepage or a feed has no lastmod in its entry when
        a sitemap lists it later. Most article pages answer no conditional GET, so asking
        the server would download it in full: the lastmod is compared with the fetch
        instead, whichever source found it first."""
        url, entry = self.lookup(request_url)
        if entry is None:
            return NEW, None, None
        if lastmod and lastmod != entry.get("m"):
            if self._modified_since_fetch(lastmod, entry):
                return CHANGED, url, entry
            # Already reflected by the fetch: kept, so the next run compares with it and
            # writes nothing while the sitemap says the same.
            entry["m"] = lastmod
            self._put(NS_ARTICLES, url, entry)
        if recheck_after > 0 and self.clock() - float(entry.get("c") or 0) >= recheck_after:
            return RECHECK, url, entry
        return SKIP, url, entry

    @staticmethod
    def _modified_since_fetch(lastmod: str, entry: dict) -> bool:
        """Whether a sitemap lastmod (other than the one last seen) is later than the last
        fetch of the page. "c" is that fetch's time (the response's arrival, or a 304),
        not "t": the record reaches the output later (batches, the boilerplate warm-up's
        hold), and a change made between fetch and write would be missed.

        A W3C datetime without a zone is read as UTC; a date alone as the start of that
        day, so a lastmod of the fetch's own day is not later (the fetch may have seen
        that change) and one of any later day is. An unreadable lastmod cannot be ordered:
        a change of its text from the one last seen counts, as before; the first one seen
        does not (garbage must not refetch on every run)."""
        when = entry_datetime(lastmod)
        fetched = entry.get("c") or entry.get("t")
        if when is None or not fetched:
            return bool(entry.get("m"))
        return when.timestamp() > float(fetched)

    def written(self) -> dict[str, dict]:
        return {k: e for k, v in self.store.items(NS_ARTICLES) if (e := json.loads(v)).get("s") == WRITTEN}

    def reflected(self, part: str) -> int | None:
        """The size of a part whose records are in state, as it was when they were recorded;
        None for a part that is not."""
        value = self.store.get(NS_CHECKPOINT, part)
        return None if value is None else int(value)

    # -- recovery

    def sealed_through(self) -> str | None:
        """The last sealed day (YYYY-MM-DD), or None."""
        return self.store.get(NS_SEALED, SEALED_THROUGH)

    def open_day(self, day: str) -> None:
        """Called before a part is first published to `day` in a run: a sealed day is
        unsealed (the seal moved back to the day before, the parts of the days it no longer
        covers put in the checkpoint), so that a part of it not yet recorded when a crash
        comes is found by the next `reconcile`. Only a clock set back by more than
        SEAL_LAG_DAYS writes to a sealed day; the tests' records, dated in the past, do."""
        sealed = self.sealed_through()
        if sealed is None or day > sealed or not DAY_RE.match(day):
            return
        before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
        with self._batch():
            for folder in day_folders(self.output_dir / self.outlet, before):
                if folder.name > sealed:
                    break
                for path in folder.glob("part-*.jsonl*"):
                    if PART_RE.match(path.name) and path.is_file():
                        self.store.put(NS_CHECKPOINT, part_key(path), str(path.stat().st_size))
            self.store.put(NS_SEALED, SEALED_THROUGH, before)

    def is_reflected(self, part: str) -> bool:
        """Whether the records of a part (`part_key`) are in state: its day is sealed, or
        it is in the checkpoint."""
        sealed = self.sealed_through()
        return (sealed is not None and part.split("/", 1)[0] <= sealed) or self.store.get(NS_CHECKPOINT, part) is not None

    def reconcile(self, on_records=None) -> int:
        """Brings the state up to the output: ends a compaction a crash interrupted, removes
        what killed publishes left, applies every part of the open days not in the
        checkpoint, in the order the parts were published, then seals the days no crawl
        writes to any more. Only the days after the last sealed one are read.
        `on_records(records)` runs before each part's commit (listeners that keep their own
        state). Returns the number of records applied."""
        sealed = self.sealed_through()
        self.finish_compactions()
        root = self.output_dir / self.outlet
        days = day_folders(root, sealed)
        # rejects and the cruft audit have day folders too
        for folder in [*days, *day_folders(root / REJECTS, sealed), *day_folders(root / CRUFT, sealed)]:
            remove_stale_temporaries(folder)
        parts = sorted(p for folder in days for p in folder.glob("part-*.jsonl*") if PART_RE.match(p.name) and p.is_file())
        known = self.store.get_many(NS_CHECKPOINT, [part_key(p) for p in parts])
        applied = 0
        for path in parts:
            key, size = part_key(path), path.stat().st_size
            if key in known:
                if int(known[key]) == size:
                    continue
                # Parts never change: this one was replaced by hand. Applying it again is
                # harmless (idempotent); leaving it out could lose its records.
                logger.warning("%s changed since it was recorded (%s -> %d bytes): applying it again",
                               path, known[key], size)
            records = list(read_records(path, skip_unreadable=True))
            if records and on_records is not None:
                on_records(records)
            self.commit(key, records, size)
            applied += len(records)
        if applied:
            logger.info("ledger: %d written records of %s were not yet in state; applied", applied, self.outlet)
        self._seal(sealed, parts)
        return applied

    def _seal(self, sealed: str | None, parts: list[Path]) -> None:
        """Seals the days up to SEAL_LAG_DAYS before now, once `reconcile` has applied their
        `parts`: their checkpoint entries go, in the transaction that moves the seal."""
        through = (crawl_clock.now().date() - timedelta(days=SEAL_LAG_DAYS)).isoformat()
        if sealed is not None and through <= sealed:
            return
        with self._batch():
            for path in parts:
                if path.parent.name <= through:
                    self.store.delete(NS_CHECKPOINT, part_key(path))
            self.store.put(NS_SEALED, SEALED_THROUGH, through)

    # -- compaction

    def compact(self, day: str, compression: str | None = None) -> tuple[Path | None, int, int]:
        """Merges the day's parts that are reflected in state into one part (of
        `compression`; by default that of the newest of them), published like any part,
        then removes them. Returns (the merged part or None, parts merged, parts left
        alone because their records are not in state yet: the next crawl applies them).
        Call it with the outlet's lock held: no crawl may write or reconcile meanwhile.

        Crash safety: the merged part is written under a temporary name and synced; then
        an intent file naming the day, it and the parts it replaces is written and synced
        in the outlet's folder; the merged part's records are already in state (through the
        parts, or the day is sealed), so it enters the checkpoint of an open day; only then
        is it renamed into place, and the parts
        and their checkpoints removed, and the intent last. Until the rename, the merged
        part is invisible and the parts stand: a crash there is rolled back. After it,
        the intent says which parts are copies: a crash there is rolled forward. Either
        happens at the next open (`finish_compactions`, from `reconcile`, `compact` and
        `reset`), so no record is lost and none is left in two parts. The intent is a
        synced file, not a state entry, so that it holds whatever the store keeps after
        a crash (a lost state, a power cut before its last commit reached the disk)."""
        if not self._interrupted_compactions_ended:
            self.finish_compactions()
        folder = output_folder(self.output_dir, self.outlet, day)
        if not DAY_RE.match(day) or not folder.is_dir():
            return None, 0, 0
        remove_stale_temporaries(folder)
        parts = sorted(p for p in folder.iterdir() if PART_RE.match(p.name) and p.is_file())
        sealed = self.sealed_through()
        day_sealed = sealed is not None and day <= sealed
        if day_sealed:
            merging = parts  # every part of a sealed day is in state
        else:
            known = self.store.get_many(NS_CHECKPOINT, [part_key(p) for p in parts])
            merging = [p for p in parts if known.get(part_key(p)) == str(p.stat().st_size)]
        left = len(parts) - len(merging)
        if len(merging) < 2:
            return None, 0, left
        compression = compression_of(merging[-1]) if compression is None else compression
        name = part_name(run_tag(), 1, compression)
        root = folder.parent
        intent = root / f"{_INTENT_PREFIX}{day}-{name.split('.', 1)[0]}.json"

        def before_rename(tmp: Path) -> None:
            with open(intent, "xb") as out:  # torn by a crash, it is read as "not renamed yet"
                out.write(json.dumps({"day": day, "merged": name, "parts": [p.name for p in merging]}).encode())
                out.flush()
                os.fsync(out.fileno())
            fsync_folder(root)
            if not day_sealed:
                self.store.put(NS_CHECKPOINT, f"{day}/{name}", str(tmp.stat().st_size))

        try:
            merged = publish(folder, name, merged_chunks(merging, compression), before_rename=before_rename)
        except BaseException:
            self.finish_compactions()  # rolled back: the merged part never appeared
            raise
        self._drop_replaced(folder, intent, [p.name for p in merging])
        logger.info("compacted %d parts of %s/%s into %s", len(merging), self.outlet, day, merged.name)
        return merged, len(merging), left

    def finish_compactions(self) -> int:
        """Ends each compaction a crash interrupted: forward when its merged part was
        published (the parts it replaces go), back when it was not. Returns how many."""
        self._interrupted_compactions_ended = True
        root = self.output_dir / self.outlet
        intents = []  # (intent, its day's folder)
        for intent in sorted(root.glob(f"{_INTENT_PREFIX}*.json")):
            day = intent.name[len(_INTENT_PREFIX):][:10]
            if DAY_RE.match(day):
                intents.append((intent, root / day))
        for folder in day_folders(root, self.sealed_through()):  # where an older version put them
            intents += [(intent, folder) for intent in sorted(folder.glob(f"{_INTENT_PREFIX}*.json"))]
        for intent, folder in intents:
            try:
                plan = json.loads(intent.read_bytes())
                merged, replaced = plan["merged"], [n for n in plan["parts"] if PART_RE.match(n)]
            except (ValueError, KeyError, TypeError):
                merged, replaced = None, []  # a torn intent: its sync, so the rename, never came
            if merged and PART_RE.match(merged) and (folder / merged).is_file():
                logger.warning("%s: finishing the compaction into %s", folder, merged)
                if not self.is_reflected(f"{folder.name}/{merged}"):
                    # The store lost the merged part's entry (a lost state, a power cut):
                    # the next reconcile applies the part, idempotently.
                    logger.warning("%s/%s is not in state: it is applied again", folder.name, merged)
                self._drop_replaced(folder, intent, replaced)
            else:
                logger.warning("%s: rolling back an unfinished compaction", folder)
                if merged:
                    self.store.delete(NS_CHECKPOINT, f"{folder.name}/{merged}")
                if folder.is_dir():
                    remove_stale_temporaries(folder)  # the merged part, never renamed
                intent.unlink()
                fsync_folder(intent.parent)
        return len(intents)

    def _drop_replaced(self, folder: Path, intent: Path, replaced: list[str]) -> None:
        for name in replaced:
            (folder / name).unlink(missing_ok=True)
        fsync_folder(folder)  # the parts are gone for good before the intent goes
        with self._batch():
            for name in replaced:
                self.store.delete(NS_CHECKPOINT, f"{folder.name}/{name}")
        intent.unlink()
        fsync_folder(intent.parent)

    def reset(self, *, keep_output: bool = True) -> None:
        """Forgets what was emitted. With `keep_output`, the existing output is marked as
        already reflected (sealed, or in the checkpoint), so the next crawl starts from
        nothing instead of replaying it; without, the next crawl replays what is left."""
        self.finish_compactions()
        with self._batch():
            for ns in (NS_ARTICLES, NS_REQUESTS, NS_CHECKPOINT, NS_SEALED):
                self.store.clear(ns)
            if keep_output:
                parts = output_files(self.output_dir, self.outlet)
                for path in parts:
                    self.store.put(NS_CHECKPOINT, part_key(path), str(path.stat().st_size))
                self._seal(None, parts)


def delete_output(output_dir: str | Path, outlet: str) -> int:
    """Deletes an outlet's articles and rejects (not its run reports, nor the cruft audit),
    with what killed writers or compactions left and the day folders once empty. Call it
    with the outlet's lock held. Returns the number of parts deleted."""
    root = Path(output_dir) / outlet
    parts = output_files(output_dir, outlet) + day_parts(root / REJECTS)
    for path in parts:
        path.unlink()
    for intent in root.glob(f"{_INTENT_PREFIX}*.json"):
        intent.unlink()
    for folder in [*root.glob("*/"), *(root / REJECTS).glob("*/")]:
        if not DAY_RE.match(folder.name):
            continue
        for leftover in [*folder.glob(TEMPORARY_GLOB), *folder.glob(f"{_INTENT_PREFIX}*.json")]:
            leftover.unlink()
        try:
            folder.rmdir()
        except OSError:  # something else was put there: left as it is
            pass
    return len(parts)


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
    without an outlet. Opened on first use, over the outlet's store of the crawl
    (`faults.crawl_state`, closed when the engine stops)."""
    ledger = getattr(crawler, "newscrawl_ledger", None)
    if ledger is not None:
        return ledger
    outlet = getattr(getattr(crawler, "spider", None), "outlet", None)
    if outlet is None:
        return None
    from scrapy import signals

    from newscrawl.faults import crawl_state

    settings = crawler.settings
    store = crawl_state(crawler, outlet.name)
    ledger = OutletLedger(store, outlet.name, settings.get("NEWSCRAWL_OUTPUT_DIR") or "output")
    crawler.newscrawl_ledger = ledger

    # The receivers outlive the crawl (weak=False, in a registry of the process): they hold
    # the ledger and the crawler weakly, or a process running crawl after crawl keeps them all.
    opened, opened_by = weakref.ref(ledger), weakref.ref(crawler)

    def dropped(item, exception, **kw):
        from pipelines.drops import status_of

        url = dict(item).get("url") if item is not None else None
        if url and (held := opened()) is not None:
            held.settle(url, status_of(exception))  # "rejected", "duplicate" (pipelines/drops.py)

    def close(**kw):
        # The store is the crawl's (faults.crawl_state), closed when the engine stops.
        if (holder := opened_by()) is not None:
            holder.newscrawl_ledger = None

    crawler.signals.connect(dropped, signal=signals.item_dropped, weak=False)
    crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return ledger
