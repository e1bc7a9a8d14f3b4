"""The crawl's cleaning stages over pages, outside a crawl.

`newscrawl clean` (saved pages), `newscrawl reclean` (an archive's pages) and `newscrawl
import-warc` (any WARC's pages) use it, so that what they make of a page is exactly what
the crawl makes of it: the same stage functions, in the crawl's order. The pure ones run
over a batch of pages through the stage runner (pipelines/runner.py), in the worker pool,
as in a crawl, two calls a page: the extract stage and the decruft stage's rules
(`extracted`), then the normalise stage and, when asked, the validate stage (`finished`).
Between them, here, the decruft stage's learned layer, in arrival order (`LearnedOrder`:
with a learning layer, an outlet's first pages wait for its warm-up, as in a crawl).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from newscrawl import clock
from pipelines.decruft import LearnedLayer, LearnedOrder, decruft_rules
from pipelines.learner import learner_from_settings
from pipelines.extract import extract_options, extract_raw
from pipelines.normalise import normalise_stage
from pipelines.pool import WorkerCrash, WorkerPool
from pipelines.runner import StageRunner
from pipelines.validate import DEFAULT_MIN_WORDS, check_record, rejection_reasons
from pipelines.work import WORK, public_fields


def raw_page(html: str, url: str, outlet) -> dict:
    """A saved page as the spider would have handed it on (provenance fields empty)."""
    return {
        "url": url, "final_url": url, "html": html, "outlet": outlet.name, "http_status": None,
        "fetched_at": clock.now().isoformat(timespec="seconds"),
        "discovered_via": None, "discovered_from": None, "hints": {},
    }


@dataclass
class Cleaned:
    """One page through the stages. `record`: the normalised record, its internal fields
    kept (the shingle hashes the dedupe stage uses); None where a call on the page killed
    its worker twice (`crash`). `problems`: the validate stage's (code, reason) pairs,
    empty for a valid record (or when not validated)."""

    tag: object
    outlet: object
    record: dict | None
    warnings: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    crash: WorkerCrash | None = None


def extracted(raw: dict, outlet, options: dict | None = None) -> dict:
    """The extract stage, then the decruft stage's rules, on one page: one worker call.
    `options`: the extract stage's settings (`extract_options`)."""
    return decruft_rules(extract_raw(raw, outlet, options), outlet)


def finished(record: dict, outlet, min_words: int | None) -> tuple[dict, list[str], list[tuple[str, str]]]:
    """The normalise stage, then, with `min_words`, the validate stage, on one record: one
    worker call. (record, normalisation warnings, validation problems)."""
    record, warnings = normalise_stage(record, outlet)
    return record, warnings, check_record(public_fields(record), min_words) if min_words is not None else []


class CleaningStages:
    """The stages over pages, batch after batch, two worker calls a page (`extracted`,
    then `finished`) around the learned layer. `layer_for(outlet_name)` gives the learned
    layer of an outlet (built once); `min_words`: validate the records too (with
    NEWSCRAWL_MIN_WORDS), or None not to; `options`: the extract stage's settings
    (`extract_options`)."""

    def __init__(self, runner: StageRunner, layer_for: Callable[[str], LearnedLayer], *,
                 min_words: int | None = None, options: dict | None = None):
        self.runner = runner
        self.layer_for = layer_for
        self.min_words = min_words
        self.options = options
        self._orders: dict[str, LearnedOrder] = {}

    def _order(self, outlet_name: str) -> LearnedOrder:
        if outlet_name not in self._orders:
            self._orders[outlet_name] = LearnedOrder(self.layer_for(outlet_name))
        return self._orders[outlet_name]

    def clean(self, pages: list[tuple[object, dict, object]]) -> list[Cleaned]:
        """(tag, raw page, outlet) for each page -> what is done: each page not waiting for
        its outlet's warm-up, and those it released. Not in the pages' order: by tag."""
        records = self.runner.map(extracted, [(raw, outlet, self.options) for _, raw, outlet in pages])
        return self.learned([(tag, record, outlet) for (tag, _, outlet), record in zip(pages, records)])

    def learned(self, records: list[tuple[object, dict, object]]) -> list[Cleaned]:
        """The rest of `clean`, for records `extracted` made: (tag, record or the
        WorkerCrash of its call, outlet) for each."""
        done: list[Cleaned] = []
        ready: list[tuple[object, dict]] = []
        for tag, record, outlet in records:
            if isinstance(record, WorkerCrash):
                done.append(Cleaned(tag, outlet, None, crash=record))
            else:
                ready += self._order(outlet.name).push(record, (tag, outlet), record.get("url") or "")
        return done + self._finish(ready)

    def release(self, outlet_name: str | None = None) -> list[Cleaned]:
        """Every page still waiting for the warm-up (of that outlet, or of all), done."""
        names = [outlet_name] if outlet_name is not None else list(self._orders)
        return self._finish([pair for name in names if name in self._orders for pair in self._orders[name].drain()])

    def _finish(self, ready: list[tuple[object, dict]]) -> list[Cleaned]:
        results = self.runner.map(finished, [(record, outlet, self.min_words) for (_, outlet), record in ready])
        out = []
        for ((tag, outlet), _), result in zip(ready, results):
            if isinstance(result, WorkerCrash):
                out.append(Cleaned(tag, outlet, None, crash=result))
            else:
                record, warnings, problems = result
                out.append(Cleaned(tag, outlet, record, warnings=warnings, problems=problems))
        return out


def reading_layers(settings, stores: dict) -> Callable[[str], LearnedLayer]:
    """Each outlet's learned layer as `newscrawl clean` uses it: the outlet's learned
    boilerplate read, never updated (`stores` maps outlet names to the store holding it,
    or None where there is none), and nothing waits for a warm-up."""
    audit = settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False)

    def layer_for(name: str) -> LearnedLayer:
        store = stores.get(name)
        learner = learner_from_settings(store, name, settings) if store is not None else None
        return LearnedLayer(learner, learn=False, audit=audit)

    return layer_for


def clean_pages(pages: list[tuple[str, str, object]], *, settings, stores: dict, pool: WorkerPool,
                crash_marker: str | None = None) -> list:
    """(html, url, outlet) for each page -> (record, warnings) for each, in order, or a
    WorkerCrash where a page killed its worker twice. `stores` maps outlet names to the
    store holding their learned boilerplate (or None). The warnings end with the reasons
    a crawl would reject the record for (why its body is short or empty included)."""
    stages = CleaningStages(StageRunner(pool, crash_marker), reading_layers(settings, stores),
                            min_words=settings.getint("NEWSCRAWL_MIN_WORDS", DEFAULT_MIN_WORDS),
                            options=extract_options(settings))
    done = stages.clean([(i, raw_page(html, url, outlet), outlet) for i, (html, url, outlet) in enumerate(pages)])
    by_tag = {c.tag: c for c in done + stages.release()}
    return [by_tag[i].crash if by_tag[i].record is None else _with_rejection(by_tag[i]) for i in range(len(pages))]


def _with_rejection(cleaned: Cleaned) -> tuple[dict, list[str]]:
    """The public record, and its warnings with the reasons a crawl would reject it for."""
    warnings = cleaned.warnings
    if cleaned.problems:
        reasons = rejection_reasons(cleaned.problems, cleaned.record.get(WORK))
        warnings = [*warnings, "would be rejected: " + "; ".join(reasons)]
    return public_fields(cleaned.record), warnings


def clean_page(html: str, url: str, outlet, *, settings, store=None) -> tuple[dict, list[str]]:
    """The record the crawl would write for this page (provenance fields empty) and the
    normalisation warnings. `store` holds the outlet's learned boilerplate, if any."""
    [result] = clean_pages([(html, url, outlet)], settings=settings, stores={outlet.name: store},
                           pool=WorkerPool(0))
    return result
