"""`scrapy crawl` with newscrawl's exit codes (see newscrawl/exitcodes.py).

Scrapy's own crawl command exits 0 whatever happened to the crawl. This one takes the
code the RunReport extension decided (`newscrawl/exit_code` in the stats), so
`scrapy crawl dawn` and `newscrawl crawl dawn` behave the same under cron.

SIGTERM and SIGINT stop the crawl gracefully (newscrawl/stop.py), within
NEWSCRAWL_STOP_TIMEOUT; the exit code is then INTERRUPTED (9).
"""

from __future__ import annotations

import logging

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from newscrawl import exitcodes
from newscrawl.outlets import OutletConfigError
from newscrawl.stop import CrawlStop, stop_timeout

logger = logging.getLogger(__name__)


class Command(ScrapyCrawl):
    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("give exactly one spider: scrapy crawl <outlet>")
        try:
            stop = CrawlStop(stop_timeout(self.settings))
        except exitcodes.ConfigError as exc:
            logger.error("newscrawl: bad configuration: %s", exc)
            self.exitcode = exitcodes.CONFIG
            return
        # Installed before the crawler is built (a signal while it starts stops it too) and
        # kept to the end.
        stop.install()
        self._crawl(args[0], opts, stop)
        if stop.stopping:
            self.exitcode = exitcodes.INTERRUPTED

    def _crawl(self, name: str, opts, stop: CrawlStop) -> None:
        try:
            crawler = self.crawler_process.create_crawler(name)
        except KeyError as exc:
            if problems := _invalid_record(name):
                logger.error("newscrawl: bad configuration: the outlet record of %r is invalid, no crawl:\n%s",
                             name, "\n".join(map(str, problems)))
                self.exitcode = exitcodes.CONFIG
                return
            raise UsageError(f"no spider or outlet named {name!r} (see `scrapy list`)") from exc
        outcome = self.crawler_process.crawl(crawler, **opts.spargs)
        stop.watch(crawler)
        self.crawler_process.start(install_signal_handlers=False)
        failure = _failure_of(outcome)
        fault = getattr(crawler, "newscrawl_fault", None)
        if fault is not None:  # the machine's fault (newscrawl.faults), already said in one line
            self.exitcode = fault.code
        elif isinstance(failure, (OutletConfigError, exitcodes.ConfigError)):
            logger.error("newscrawl: bad configuration: %s", failure)
            self.exitcode = exitcodes.CONFIG
        elif failure is not None or self.crawler_process.bootstrap_failed:
            self.exitcode = exitcodes.ERROR
        else:
            self.exitcode = int(crawler.stats.get_value("newscrawl/exit_code", exitcodes.ERROR))


def _invalid_record(name: str) -> list:
    """The problems of the invalid outlet record of that name; empty when there is none."""
    from newscrawl.spiders.outlets import INVALID

    return INVALID.get(name, [])


def _failure_of(outcome) -> BaseException | None:
    """The exception a finished crawl task or Deferred ended with, if any."""
    if hasattr(outcome, "done"):  # asyncio.Task
        if outcome.done() and not outcome.cancelled():
            return outcome.exception()
        return None
    box: list = []
    outcome.addErrback(lambda f: box.append(f.value))
    return box[0] if box else None
