"""The crawl's cleaning stages over saved pages, outside a crawl.

`newscrawl clean` uses it, so that what a user debugs on a saved page is exactly what the
crawl does to it: the same extract, decruft (with the outlet's learned boilerplate, read
but not updated) and normalise stages. Over many files the pure stages run in the worker
pool, as in a crawl; the learned boilerplate is applied here, in order.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from pipelines.decruft import PRE_LEARNING, apply_cleaning, learner_from_settings
from pipelines.jobs import extract_job, normalise_job
from pipelines.pool import WorkerCrash, WorkerPool
from pipelines.validate import public_fields


def raw_page(html: str, url: str, outlet) -> dict:
    """A saved page as the spider would have handed it on (provenance fields empty)."""
    return {
        "url": url, "final_url": url, "html": html, "outlet": outlet.name, "http_status": None,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "discovered_via": None, "discovered_from": None, "hints": {},
    }


def _learned_clean(record: dict, store, settings) -> dict:
    blocks = record.pop("_blocks", None) or []
    done = record.pop(PRE_LEARNING)
    kept, removed = [blocks[i] for i in done["kept"]], Counter(done["removed"])
    if store is not None:
        kept, learned = learner_from_settings(store, record["outlet"], settings).filter(kept)
        removed.update(learned)
    return apply_cleaning(record, blocks, kept, removed, audit=settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False))


def clean_pages(pages: list[tuple[str, str, object]], *, settings, stores: dict, pool: WorkerPool,
                crash_marker: str | None = None) -> list:
    """(html, url, outlet) for each page -> (record, warnings) for each, in order, or a
    WorkerCrash where a page killed its worker twice. `stores` maps outlet names to the
    store holding their learned boilerplate (or None)."""
    extracted = pool.map(extract_job, [(raw_page(html, url, outlet), outlet, crash_marker)
                                       for html, url, outlet in pages])
    cleaned = [r if isinstance(r, WorkerCrash) else _learned_clean(r, stores.get(outlet.name), settings)
               for r, (_, _, outlet) in zip(extracted, pages)]
    todo = [(i, (r, pages[i][2])) for i, r in enumerate(cleaned) if not isinstance(r, WorkerCrash)]
    normalised = pool.map(normalise_job, [args for _, args in todo])
    out = list(cleaned)
    for (i, _), result in zip(todo, normalised):
        out[i] = result if isinstance(result, WorkerCrash) else (public_fields(result[0]), result[1])
    return out


def clean_page(html: str, url: str, outlet, *, settings, store=None) -> tuple[dict, list[str]]:
    """The record the crawl would write for this page (provenance fields empty) and the
    normalisation warnings. `store` holds the outlet's learned boilerplate, if any."""
    [result] = clean_pages([(html, url, outlet)], settings=settings, stores={outlet.name: store},
                           pool=WorkerPool(0))
    return result
