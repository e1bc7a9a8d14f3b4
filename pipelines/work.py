"""The record in flight: its published fields, and the one internal field the stages
hand each other their work in.

From the extract stage on, an article travels as a plain dict in the published schema
(pipelines/schema/article-v1.schema.json). What a stage computes for a later stage but
that is not part of the record travels in `record[WORK]`, a `Work`, whose fields say who
sets them and who reads them. The write stage (and `newscrawl clean`) keeps only the
public fields: `public_fields` drops every field that starts with "_".

A leaf module: the stages, their worker calls and their Scrapy adapters all import it,
and it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WORK = "_work"  # the record's internal field: a Work


@dataclass
class Work:
    """What one stage hands the next, besides the record's own fields.

    blocks          extract -> decruft. The body in page order, each block a dict
                    {"kind", "text", "links", "link_chars"}. The decruft stage's rules mark
                    each block they remove with "_removed" (its category) and each block
                    they keep with what the learned layer reads of it: "_key" (its identity
                    across pages), "_promotional" and "_words" (`learner.mark_for_learning`);
                    the learned layer marks what it removes, then sets `text` from the
                    blocks left and empties this list.
    dom_removed     extract -> decruft. What the DOM pre-clean removed before extraction,
                    as {category, text}, for the audit (NEWSCRAWL_AUDIT_CRUFT).
    shingle_hashes  normalise -> dedupe. The 32-bit hashes of the normalised text's word
                    shingles, packed (`normalise.shingle_hashes`), which the dedupe stage
                    turns into a MinHash signature.
    body_note       extract -> validate (and `newscrawl clean`), through the decruft stage,
                    which keeps it when it drops the rest. Why the body is short or empty,
                    when the page had next to none to give: said with the reasons of a
                    rejection.
    """

    blocks: list[dict] = field(default_factory=list)
    dom_removed: list[dict] = field(default_factory=list)
    shingle_hashes: bytes | None = None
    body_note: str | None = None


def work_of(record: dict) -> Work:
    """The record's Work, made empty when it has none."""
    work = record.get(WORK)
    if work is None:
        work = record[WORK] = Work()
    return work


def public_fields(record: dict) -> dict:
    """The record without internal fields (those starting with "_")."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
