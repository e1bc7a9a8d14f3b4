"""Why an article left the item pipelines without a record: one DropItem subclass per
status the outlet ledger settles it with (newscrawl/ledger.py, `ledger_for`).

A settled article is not fetched again unless it changes (README, Incremental runs). Only
the crawl process imports this module (it imports Scrapy): the stages' Scrapy adapters
raise these, their pure functions never do.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

DROPPED = "dropped"  # the status of a DropItem none of ours: another project's pipeline


class Settled(DropItem):
    """An article dropped on purpose; `status` is what the ledger records for its URL."""

    status = DROPPED


class Rejected(Settled):
    """The record failed validation (its reasons are in the outlet's rejects file)."""

    status = "rejected"


class WorkerLost(Rejected):
    """The page killed its worker twice (the pool counts newscrawl/rejected/worker-crash):
    rejected, so the next run does not fetch it again unless it changes."""


class Duplicate(Settled):
    """The article is already in the output (same URL and text, or the same text under
    another URL of the outlet), or a near-copy when those are dropped. Routine: logged at
    INFO, not as a warning."""

    status = "duplicate"

    def __init__(self, message: str):
        super().__init__(message, log_level="INFO")


def status_of(exception: BaseException) -> str:
    """The ledger status of a dropped article."""
    return exception.status if isinstance(exception, Settled) else DROPPED
