"""What one worker call does, for each stage that hands its work to the pool.

Each job is a module-level function of picklable values (a RawArticle as a dict, the
Outlet record, a record, a text) that composes the stages' own pure functions; the
stateful parts (learned boilerplate, dedupe indexes, writing) stay in the crawl's
process.
"""

from __future__ import annotations

import multiprocessing
import os

from pipelines.decruft import BLOCK_KEY, PRE_LEARNING, block_key, pre_learning_clean
from pipelines.extract import extract_raw
from pipelines.normalise import normalise_record
from pipelines.validate import VALIDATION, check_record, public_fields



def extract_job(raw: dict, outlet, crash_marker: str | None = None) -> dict:
    """Extract stage, then the decruft rules that need no learned state. The record keeps
    all its `_blocks` (removed ones marked) and says which were kept in `_pre_learning`."""
    if crash_marker and crash_marker in (raw.get("html") or "") and multiprocessing.parent_process():
        # NEWSCRAWL_TEST_WORKER_CRASH_MARKER: how the tests kill a worker mid-call.
        os._exit(70)
    record = extract_raw(raw, outlet)
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
