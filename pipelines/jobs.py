"""What one worker call does, for each stage that hands its work to the pool.

Each job is a module-level function of picklable values (a RawArticle as a dict, the
Outlet record, a record, a text) that composes the stages' own pure functions; the
stateful parts (learned boilerplate, dedupe indexes, writing) stay in the crawl's
process. In a crawl, page_job is the one call per fetched HTML page; extract_job and
normalise_job serve `newscrawl clean` and the records page_job could not finish.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter

from newscrawl import discovery
from newscrawl.gate import classify_page
from newscrawl.html import parse_html
from pipelines.decruft import (BLOCK_KEY, LEARNED, NORMALISED_AHEAD, PRE_LEARNING, apply_cleaning, block_key,
                               pre_learning_clean, split_learned)
from pipelines.extract import extract_raw, first_pass_chars
from pipelines.normalise import normalise_record
from pipelines.validate import VALIDATION, check_record, public_fields


def extract_job(raw: dict, outlet, crash_marker: str | None = None, root=None) -> dict:
    """Extract stage, then the decruft rules that need no learned state. The record keeps
    all its `_blocks` (removed ones marked) and says which were kept in `_pre_learning`.
    `root`: the page already parsed (by page_job's gate)."""
    if crash_marker and crash_marker in (raw.get("html") or "") and multiprocessing.parent_process():
        # NEWSCRAWL_TEST_WORKER_CRASH_MARKER: how the tests kill a worker mid-call.
        os._exit(70)
    record = extract_raw(raw, outlet, root=root)
    blocks = record.get("_blocks") or []
    kept, removed = pre_learning_clean(record, blocks, outlet)
    for block in kept:  # the learned layer's look-up key, computed here rather than in the crawl
        block[BLOCK_KEY] = block_key(block["text"])
    kept_ids = {id(b) for b in kept}
    record[PRE_LEARNING] = {"kept": [i for i, b in enumerate(blocks) if id(b) in kept_ids],
                            "removed": dict(removed)}
    return record


def normalise_job(record: dict, outlet, min_words: int | None = None) -> tuple[dict, list[str]]:
    """Normalise stage, plus the hashes of the normalised text's shingles for the dedupe
    stage's MinHash and, given `min_words`, the validate stage's verdict on the normalised
    record (its problems, in `_validation`)."""
    record, warnings = normalise_record(record, outlet, with_shingle_hashes=True)
    if min_words is not None:
        record[VALIDATION] = check_record(public_fields(record), min_words)
    return record, warnings


def page_job(page: dict, outlet, options: dict) -> dict:
    """Everything the crawl does to one fetched HTML page that needs no shared state, in
    one worker call over one parse: the article gate; for a page that is not an article,
    the links the spider follows (`options["feed_links"]`, `options["page_links"]`); for
    an article, the extract stage with the rule-based decruft (extract_job), and the
    normalise stage (with validation) computed ahead for the text the outlet's learned
    boilerplate is expected to leave.

    `page`: the RawArticle's fields. `options`: min_chars (the gate's), min_words
    (validation's), learned (block keys currently learned as the outlet's boilerplate),
    audit (NEWSCRAWL_AUDIT_CRUFT: then nothing is computed ahead, as the audit wants the
    removed texts the crawl process marks), crash_marker (extract_job's). Returns {"article", "reason",
    and "record" or the links}.

    The learned boilerplate stays in the crawl process, which counts every page: it keeps
    the text computed ahead only when its own decision removes exactly the blocks that
    were expected, and otherwise sends the record to the normalise stage as before.
    """
    url = page.get("final_url") or page["url"]
    root = parse_html(page["html"])
    verdict = classify_page(root, url, outlet, min_chars=options.get("min_chars", 400), extracted=first_pass_chars)
    result = {"article": verdict.is_article, "reason": verdict.reason}
    if not verdict.is_article:
        if options.get("feed_links"):
            result["feed_links"] = discovery.feed_links(root, url)
        if options.get("page_links"):
            result["page_links"] = discovery.page_links(root, url)
        return result
    record = extract_job(page, outlet, options.get("crash_marker"), root=root)
    if not options.get("audit"):
        record[NORMALISED_AHEAD] = normalise_ahead(record, outlet, options.get("learned") or frozenset(),
                                        options.get("min_words"))
    result["record"] = record
    return result


def normalise_ahead(record: dict, outlet, learned: frozenset, min_words: int | None) -> dict:
    """normalise_job's result for the record as the decruft stage would hand it on if
    the learned boilerplate were exactly `learned`, and which blocks that removes."""
    blocks = record["_blocks"]
    done = record[PRE_LEARNING]
    kept, gone = split_learned([blocks[i] for i in done["kept"]], learned)
    removed = Counter(done["removed"])
    if gone:
        removed[LEARNED] += len(gone)
    gone_ids = {id(b) for b in gone}
    dropped = [i for i in done["kept"] if id(blocks[i]) in gone_ids]
    ahead = {k: v for k, v in record.items() if k not in ("_blocks", PRE_LEARNING)}
    ahead["cleaning"] = dict(record.get("cleaning") or {})  # apply_cleaning replaces its counts
    ahead = apply_cleaning(ahead, blocks, kept, removed)
    normalised, warnings = normalise_job(ahead, outlet, min_words)
    return {"learned": dropped, "record": normalised, "warnings": warnings}
