"""The libraries only the worker processes need, and an extension that logs which of them
the crawl process has imported by the end of its crawl (tests/test_imports.py)."""

from __future__ import annotations

import json
import logging
import sys

from scrapy import signals

logger = logging.getLogger(__name__)

WORKER_LIBRARIES = ("trafilatura", "htmldate", "justext", "readability", "ftfy", "dateutil", "lingua",
                    "jsonschema", "fastjsonschema")
REPORT = "worker libraries in the crawl process:"


def imported() -> list[str]:
    """The worker-only libraries this process has imported."""
    return sorted(name for name in WORKER_LIBRARIES if name in sys.modules)


class ReportWorkerLibraries:
    """Extension: logs REPORT and imported(), as JSON, once the engine has stopped (every
    item through the pipelines, every stage closed)."""

    def __init__(self, crawler):
        crawler.signals.connect(self.report, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def report(self) -> None:
        logger.info("%s %s", REPORT, json.dumps(imported()))
