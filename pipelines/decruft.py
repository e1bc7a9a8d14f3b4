"""Decruft stage: removes what the extractor keeps but is not the article.

Three layers, each counting what it removed by category:

1. outlet rules: `Outlet.drop_selectors` (DOM, before extraction) and
   `Outlet.drop_patterns` (text, after);
2. generic rules (`pipelines/rules/*.toml`, the engine in pipelines/cruft_rules.py): DOM
   blocks whose links go to app stores, social profiles or share intents, forms, store
   badges, link-dense "related" and "latest" lists, ad slots (the DOM walker,
   pipelines/dom_walker.py); then text rules on the extracted blocks (`clean_blocks`);
3. learned per-outlet boilerplate (pipelines/learner.py): blocks that recur across many
   of an outlet's pages, with counts kept in the state store across runs, removed where
   they behave like a template, never more than a third of an article's words.

Layers 1 and 2 are pure functions of their input, run in the worker pool: on the page's
tree during extraction (`preclean_dom`, called by the extract stage before the body is
extracted) and on the extracted blocks (`decruft_rules`). Layer 3 (`LearnedLayer`) runs
where the outlet's counts are: in a crawl the pipeline class, `DecruftPipeline`. This
module is the stage: its pure function, its learned layer and its Scrapy adapter.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from pipelines.cruft_rules import REMOVED, blocks_to_text, pre_learning_clean
from pipelines.dom_walker import audit_entry
from pipelines.learner import BoilerplateLearner, learner_from_settings, mark_for_learning
from pipelines.work import WORK, Work, work_of

logger = logging.getLogger(__name__)



# --------------------------------------------------------------------------- the stage


def decruft_rules(record: dict, outlet) -> dict:
    """The decruft stage's rules, as a pure function (run in a worker): every rule that
    needs no learned state, over the extracted blocks (record[WORK].blocks): the repeated
    headline, then `clean_blocks`. Each removed block is marked with its category
    (REMOVED); each kept one with what the learned layer reads of it (`mark_for_learning`)."""
    blocks = work_of(record).blocks
    kept, _ = pre_learning_clean(record, blocks, outlet)
    for block in kept:
        mark_for_learning(block)
    return record


def kept_blocks(record: dict) -> list[dict]:
    """The record's blocks that no layer has removed, in order."""
    return [b for b in work_of(record).blocks if not b.get(REMOVED)]


def _page_id(item: dict) -> str:
    return item.get("canonical_url") or item.get("url") or ""


class LearnedLayer:
    """The decruft stage's learned layer over one outlet's records, in the order they come:
    the one form of it, which a crawl (DecruftPipeline), a batch (`learned_in_order`) and
    `newscrawl clean` (pipelines/clean.py) all use.

    `arrive` counts a record's kept blocks towards the outlet's learned boilerplate and
    says whether the record is to wait: until the outlet has `warmup` pages counted (over
    all runs), so that the first articles of a first crawl are cleaned with what the
    warm-up taught. `finish` removes the learned boilerplate (`split_learned`), sets the
    record's `text` from the blocks left and counts what every layer removed in
    `cleaning.removed` (with `audit`, the removed texts in `cleaning.removed_text`; with an
    `audit_log`, a line in the run's cruft file). Without `learn` (`newscrawl clean`) the
    counts are read, never updated, and nothing waits; without a learner only the rules'
    removals apply."""

    def __init__(self, learner: "BoilerplateLearner | None", *, warmup: int = 0, learn: bool = True,
                 audit: bool = False, audit_log: "CruftAuditLog | None" = None):
        self.learner = learner
        self.warmup = warmup
        self.learn = learn and learner is not None
        self.audit = audit
        self.audit_log = audit_log

    def arrive(self, record: dict, fallback_id: str) -> bool:
        """Counts the record's page (once per page id); True while the warm-up is not
        complete and the record is to wait for it."""
        if not self.learn:
            return False
        self.learner.observe(_page_id(record) or fallback_id, kept_blocks(record))
        return self.warmup > 0 and self.learner.pages < self.warmup

    def finish(self, record: dict) -> dict:
        if self.learner is not None:
            self.learner.filter(kept_blocks(record))  # marks what it removes
        if self.audit_log is not None:
            self.audit_log.write(record, removed_texts(record))
        return apply_cleaning(record, audit=self.audit)


class LearnedOrder:
    """The learned layer over one outlet's records as they come, one at a time or in
    batches, as a crawl would see them: a record that arrives before the warm-up is
    complete waits until it is (`push` gives it back, finished, with the record that
    completes it), or until `drain`. Each record travels with a tag of the caller's."""

    def __init__(self, layer: LearnedLayer):
        self.layer = layer
        self.held: list[tuple[object, dict]] = []

    def push(self, record: dict, tag: object = None, fallback_id: str = "") -> list[tuple[object, dict]]:
        """(tag, finished record) for each record now done, in arrival order: none while
        this one waits, else the ones held and this one."""
        if self.layer.arrive(record, fallback_id or f"#{id(record)}"):
            self.held.append((tag, record))
            return []
        return self.drain() + [(tag, self.layer.finish(record))]

    def drain(self) -> list[tuple[object, dict]]:
        """(tag, finished record) for each record held."""
        held, self.held = self.held, []
        return [(tag, self.layer.finish(record)) for tag, record in held]


def learned_in_order(records: list[dict], layer: LearnedLayer) -> list[dict]:
    """The learned layer over a batch of one outlet's records (through `decruft_rules`), as
    a crawl would see them (`LearnedOrder`), in the batch's order."""
    order = LearnedOrder(layer)
    done = [pair for i, record in enumerate(records) for pair in order.push(record, i, f"#{i}")]
    return [record for _, record in sorted(done + order.drain(), key=lambda pair: pair[0])]


def decruft_in_order(items: list[dict], outlet, learner: "BoilerplateLearner", *, warmup: int = 12,
                     audit: bool = False) -> list[dict]:
    """The whole decruft stage over a batch of one outlet's extracted records, in this
    process, in order (`learned_in_order`): for benchmarks and tests."""
    return learned_in_order([decruft_rules(item, outlet) for item in items],
                            LearnedLayer(learner, warmup=warmup, audit=audit))


def removed_texts(item: dict) -> list[dict]:
    """What the stage removed from one article, as {category, text} (each text capped at
    AUDIT_MAX_CHARS): the DOM blocks removed before extraction, in page order, then the
    extracted blocks removed after it, in page order."""
    work = work_of(item)
    return work.dom_removed + [audit_entry(b[REMOVED], b["text"]) for b in work.blocks if b.get(REMOVED)]


def apply_cleaning(item: dict, *, audit: bool = False) -> dict:
    """The end of the stage: `text` from the blocks no layer removed, the removals counted
    by category into `cleaning.removed` (and, when auditing, their texts listed in
    `cleaning.removed_text`). The record's Work is done with: it goes, but for the note on
    a short body, which the validate stage says with a rejection's reasons."""
    work = work_of(item)
    item["text"] = blocks_to_text([b for b in work.blocks if not b.get(REMOVED)])
    cleaning = item.setdefault("cleaning", {})
    counts = Counter(cleaning.get("removed") or {})
    counts.update(b[REMOVED] for b in work.blocks if b.get(REMOVED))
    cleaning["removed"] = dict(counts)
    if audit:
        cleaning["removed_text"] = removed_texts(item)
    del item[WORK]
    if work.body_note:
        item[WORK] = Work(body_note=work.body_note)
    return item


class CruftAuditLog:
    """The run's audit of removed cruft: parts in `output/<outlet>/cruft/<YYYY-MM-DD>/` (UTC
    day of the fetch), one line per article that lost anything:
    {"url", "fetched_at", "removed": [{"category", "text"}, ...]}."""

    def __init__(self, settings):
        from pipelines.parts import WriterSet, writer_settings

        self.writers = WriterSet(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output", **writer_settings(settings))

    def write(self, item: dict, removed: list[dict]) -> None:
        from pipelines.parts import CRUFT, utc_day

        if not removed:
            return
        outlet = item.get("outlet") or "_global"
        line = {"url": item.get("url"), "fetched_at": item.get("fetched_at"), "removed": removed}
        try:
            self.writers.writer(outlet, CRUFT, utc_day(item.get("fetched_at")), compression="").write(line)
        except (OSError, ValueError) as exc:  # the audit must never cost the article
            logger.warning("decruft: cannot write the cruft audit for %s: %s", item.get("url"), exc)

    def close(self) -> None:
        self.writers.close()


# --------------------------------------------------------------------------- the adapter


class DecruftPipeline:
    """The decruft stage's adapter: its rules in the worker pool (`decruft_rules`, through
    pipelines/runner.py), then the learned layer here, where the outlet's counts are
    (`LearnedLayer`), and the stage's stats: `newscrawl/cruft/<category>` for what every
    layer removed. NEWSCRAWL_AUDIT_CRUFT lists the removed texts in each record's
    `cleaning.removed_text`; NEWSCRAWL_AUDIT_CRUFT_FILE writes the run's removed texts, by
    article, in `output/<outlet>/cruft/<YYYY-MM-DD>/` (`CruftAuditLog`).

    Until an outlet has NEWSCRAWL_BOILERPLATE_WARMUP pages counted (over all runs), its
    articles are held, so the first ones of a first crawl are cleaned with what the
    warm-up taught. Held articles are released when the warm-up is complete, when the
    crawl has nothing else moving (fewer articles than the warm-up; or the crawl closing,
    or backing out for memory), when the spider closes, or after
    NEWSCRAWL_BOILERPLATE_MAX_HOLD seconds: never lost.
    """

    WATCH_INTERVAL = 0.5

    def __init__(self, crawler):
        from pipelines.runner import runner_for

        self.crawler = crawler
        self.runner = runner_for(crawler)
        settings = crawler.settings
        self.warmup = settings.getint("NEWSCRAWL_BOILERPLATE_WARMUP", 12)
        self.max_hold = settings.getfloat("NEWSCRAWL_BOILERPLATE_MAX_HOLD", 300.0)
        self.audit = settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False)
        self.audit_log = CruftAuditLog(settings) if settings.getbool("NEWSCRAWL_AUDIT_CRUFT_FILE", False) else None
        self.store = None
        self.layers: dict[str, LearnedLayer] = {}
        self._held: list = []  # Deferreds of held articles, in arrival order
        self._held_since: float | None = None
        self._stalled_ticks = 0
        self._moved = False  # anything happened in the crawl since the last tick
        self._downloading = 0  # requests in the downloader
        self._watch = None
        self._connect_signals()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- state

    def _store(self):
        if self.store is None:
            from newscrawl.faults import crawl_state

            # The outlet's store of the crawl, which its ledger uses too (closed when
            # the engine stops, after this stage's close_spider).
            outlet = getattr(self.crawler.spider, "outlet", None)
            self.store = crawl_state(self.crawler, getattr(outlet, "name", None) or "_global")
        return self.store

    def layer(self, outlet_name: str) -> LearnedLayer:
        if outlet_name not in self.layers:
            learner = learner_from_settings(self._store(), outlet_name, self.crawler.settings)
            self.layers[outlet_name] = LearnedLayer(learner, warmup=self.warmup, audit=self.audit,
                                                    audit_log=self.audit_log)
        return self.layers[outlet_name]

    # -- lifecycle

    def open_spider(self, spider=None):
        from scrapy.utils.asyncio import create_looping_call

        self._watch = create_looping_call(self._check_stalled)
        self._watch.start(self.WATCH_INTERVAL, now=False)

    def close_spider(self, spider=None):
        self.release("close")
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        if self.audit_log is not None:
            self.audit_log.close()
        from newscrawl.faults import Fault

        try:
            for layer in self.layers.values():
                layer.learner.prune()
        except Fault:
            pass  # the store failed (reported): the learned rows are pruned next run
        self.store = None

    # -- holding

    def release(self, reason: str) -> None:
        held, self._held = self._held, []
        self._held_since = None
        if held:
            logger.info("decruft: releasing %d held articles (%s)", len(held), reason)
            if self.crawler.stats:
                self.crawler.stats.inc_value(f"newscrawl/cruft_hold/released_{reason}", len(held))
        for d in held:
            if not d.called:
                d.callback(None)

    # -- is anything but the held articles still moving? (Scrapy's public signals)

    def _connect_signals(self) -> None:
        from scrapy import signals

        signals_ = self.crawler.signals
        for signal in (signals.request_scheduled, signals.response_received, signals.item_scraped,
                       signals.item_dropped, signals.item_error, signals.request_dropped):
            signals_.connect(self._activity, signal=signal)
        signals_.connect(self._reached_downloader, signal=signals.request_reached_downloader)
        signals_.connect(self._left_downloader, signal=signals.request_left_downloader)

    def _activity(self, **kwargs) -> None:
        self._moved = True

    def _reached_downloader(self, **kwargs) -> None:
        self._downloading += 1
        self._moved = True

    def _left_downloader(self, **kwargs) -> None:
        self._downloading = max(0, self._downloading - 1)
        self._moved = True

    def _check_stalled(self) -> None:
        """The watchdog. Scrapy counts held articles as items in flight, so it never
        calls the spider idle while any is held (no `spider_idle` to wait for): the
        articles are released when nothing else has moved for two ticks (no download in
        flight, no request scheduled, no response received, no item finished or arrived).
        That is the crawl gone idle, or closing, or backing out for memory: in each case
        no more pages will come before the held ones are let go."""
        moved, self._moved = self._moved, False
        if not self._held:
            self._stalled_ticks = 0
            return
        if self._held_since is not None and time.monotonic() - self._held_since > self.max_hold:
            return self.release("timeout")
        self._stalled_ticks = 0 if moved or self._downloading else self._stalled_ticks + 1
        if self._stalled_ticks >= 2:
            self._stalled_ticks = 0
            self.release("idle")

    async def _hold(self) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import Deferred

        d: Deferred = Deferred()
        self._held.append(d)
        if self._held_since is None:
            self._held_since = time.monotonic()
        await maybe_deferred_to_future(d)

    # -- items

    async def process_item(self, item, spider=None):
        self._moved = True
        outlet = getattr(self.crawler.spider, "outlet", None)
        record = await self.runner.run(decruft_rules, dict(item), outlet)
        layer = self.layer(record.get("outlet") or getattr(outlet, "name", None) or "_global")
        if layer.arrive(record, str(id(record))):
            await self._hold()
        elif self._held:
            self.release("warmup")
        record = layer.finish(record)
        stats = getattr(self.crawler, "stats", None)
        if stats is not None:
            for category, n in record["cleaning"]["removed"].items():
                stats.inc_value(f"newscrawl/cruft/{category}", n)
        return record
