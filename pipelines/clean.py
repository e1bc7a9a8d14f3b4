"""The crawl's cleaning stages over one saved page, outside a crawl.

`newscrawl clean` uses it, so that what a user debugs on a saved page is exactly what the
crawl does to it: the same extract, decruft (with the outlet's learned boilerplate, read
but not updated) and normalise stages.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pipelines.decruft import apply_cleaning, learner_from_settings, pre_learning_clean
from pipelines.extract import extract_raw
from pipelines.normalise import normalise_record
from pipelines.validate import public_fields


def clean_page(html: str, url: str, outlet, *, settings, store=None) -> tuple[dict, list[str]]:
    """The record the crawl would write for this page (provenance fields empty) and the
    normalisation warnings. `store` holds the outlet's learned boilerplate, if any."""
    raw = {
        "url": url, "final_url": url, "html": html, "outlet": outlet.name, "http_status": None,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "discovered_via": None, "discovered_from": None, "hints": {},
    }
    record = extract_raw(raw, outlet)
    blocks = record.pop("_blocks", None) or []
    kept, removed = pre_learning_clean(record, blocks, outlet)
    if store is not None:
        kept, learned = learner_from_settings(store, outlet.name, settings).filter(kept)
        removed.update(learned)
    record = apply_cleaning(record, blocks, kept, removed,
                            audit=settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False))
    record, warnings = normalise_record(record, outlet)
    return public_fields(record), warnings
