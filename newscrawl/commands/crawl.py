"""`scrapy crawl` with newscrawl's exit codes (see newscrawl/exitcodes.py), for one outlet
or many in one process (one crawler each, side by side in one reactor, sharing one
worker pool: newscrawl/shared.py).

Scrapy's own crawl command exits 0 whatever happened to the crawl. This one takes the
code the RunReport extension decided (`newscrawl/exit_code` in the stats), so
`scrapy crawl dawn` and `newscrawl crawl dawn` behave the same under cron.

SIGTERM and SIGINT stop the crawl gracefully (newscrawl/stop.py), within
NEWSCRAWL_STOP_TIMEOUT; the exit code is then INTERRUPTED (9).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from newscrawl import clock, exitcodes
from newscrawl.outlets import OutletConfigError
from newscrawl.stop import CrawlStop, stop_timeout

logger = logging.getLogger(__name__)


class Command(ScrapyCrawl):
    def syntax(self):
        return "[options] <outlet> [<outlet> ...]"

    def short_desc(self):
        return "Crawl one or more outlets in this process (one crawler each)"

    def run(self, args, opts):
        if not args:
            raise UsageError("give one or more outlets: scrapy crawl <outlet> [<outlet> ...]")
        if len(args) > 1 and opts.spargs:
            raise UsageError("spider arguments (-a) apply to one spider: give one outlet with -a")
        try:
            stop = CrawlStop(stop_timeout(self.settings))
            clock.offset()  # a bad NEWSCRAWL_CLOCK_OFFSET is said here, not in the middle of a crawl
        except exitcodes.ConfigError as exc:
            logger.error("newscrawl: bad configuration: %s", exc)
            self.exitcode = exitcodes.CONFIG
            return
        # Installed before the crawlers are built (a signal while they start stops them
        # too) and kept to the end.
        stop.install()
        try:
            codes = self._crawl(list(dict.fromkeys(args)), opts, stop)
        finally:
            from newscrawl.shared import SHARED

            SHARED.close_all()  # whatever a crawler that never opened its spider left
        self.exitcode = exitcodes.INTERRUPTED if stop.stopping else exitcodes.combined(codes)

    def _crawl(self, names: list[str], opts, stop: CrawlStop) -> list[int]:
        """Crawls the outlets side by side, one crawler each, in this process's reactor;
        with NEWSCRAWL_FLEET_REPORT, says each outlet's end on stdout as it comes
        (`newscrawl crawl` reads it). Returns each outlet's exit code.

        An outlet's exit code is taken when its crawl ends, and its crawler is let go
        then: what the crawler held (its components, stats, spider) is freed while the
        other outlets go on, not kept to the end of the fleet."""
        report_each = self.settings.getbool("NEWSCRAWL_FLEET_REPORT")
        codes: list[int] = []
        ended: dict[str, int] = {}
        for name in names:
            crawler, code = self._crawler_for(name)
            if crawler is None:
                codes.append(code)
                if report_each:
                    _say_outlet(name, code, f"{exitcodes.NAMES.get(code, code)}: no crawl", None)
                continue
            outcome = self.crawler_process.crawl(crawler, **opts.spargs)
            stop.watch(crawler)
            ended[name] = exitcodes.ERROR  # until its crawl ends
            _when_done(outcome, partial(self._ended, name, crawler, outcome, ended, stop, report_each))
        if ended:
            self.crawler_process.start(install_signal_handlers=False)
        return codes + list(ended.values())

    def _ended(self, name: str, crawler, outcome, ended: dict, stop: CrawlStop, report_each: bool) -> None:
        ended[name] = code = self._exit_code(crawler, outcome)
        stop.forget(crawler)
        if report_each:
            _say_outlet(name, code, _summary(crawler), crawler.settings.get("NEWSCRAWL_RUN_LOG"))

    def _crawler_for(self, name: str):
        """(crawler, None), or (None, exit code) for an outlet that cannot be crawled."""
        try:
            crawler = self.crawler_process.create_crawler(name)
        except KeyError as exc:
            if problems := _invalid_record(name):
                logger.error("newscrawl: bad configuration: the outlet record of %r is invalid, no crawl:\n%s",
                             name, "\n".join(map(str, problems)))
                return None, exitcodes.CONFIG
            raise UsageError(f"no spider or outlet named {name!r} (see `scrapy list`)") from exc
        log = run_log_path(self.settings, name)
        if log is not None:  # under `newscrawl crawl`: the outlet's own log file (newscrawl/runlog.py)
            crawler.settings.set("NEWSCRAWL_RUN_LOG", str(log), priority="cmdline")
        return crawler, None

    def _exit_code(self, crawler, outcome) -> int:
        failure = _failure_of(outcome)
        fault = getattr(crawler, "newscrawl_fault", None)
        if fault is not None:  # the machine's fault (newscrawl.faults), already said in one line
            return fault.code
        if isinstance(failure, (OutletConfigError, exitcodes.ConfigError)):
            logger.error("newscrawl: bad configuration: %s", failure)
            return exitcodes.CONFIG
        if failure is not None or self.crawler_process.bootstrap_failed:
            return exitcodes.ERROR
        return int(crawler.stats.get_value("newscrawl/exit_code", exitcodes.ERROR))


def run_log_path(settings, outlet: str) -> Path | None:
    """<NEWSCRAWL_LOG_DIR>/<outlet>/<NEWSCRAWL_RUN_STAMP>.log, the outlet's log under
    `newscrawl crawl`; None without a run stamp (a crawl not started by it)."""
    stamp = settings.get("NEWSCRAWL_RUN_STAMP")
    if not stamp:
        return None
    return Path(settings.get("NEWSCRAWL_LOG_DIR") or "logs") / outlet / f"{stamp}.log"


FLEET_PREFIX = "newscrawl-outlet: "


def _say_outlet(name: str, code: int, summary: str, log: str | None) -> None:
    """One outlet's end, as one JSON line on stdout, for `newscrawl crawl`."""
    import json
    import sys

    line = json.dumps({"outlet": name, "exit": code, "summary": summary, "log": log}, ensure_ascii=False)
    try:
        sys.stdout.write(FLEET_PREFIX + line + "\n")
        sys.stdout.flush()
    except OSError:
        pass


def _summary(crawler) -> str:
    from newscrawl.runreport import RunReport

    try:
        report = crawler.get_extension(RunReport)
    except RuntimeError:  # the crawler failed before its extensions were built
        return ""
    return report.summary if report is not None else ""


def _when_done(outcome, fn) -> None:
    """fn() once the crawl task or Deferred has ended, however it ended."""
    if hasattr(outcome, "add_done_callback"):  # asyncio.Task
        outcome.add_done_callback(lambda _task: fn())
    else:
        outcome.addBoth(lambda result: (fn(), result)[1])


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
