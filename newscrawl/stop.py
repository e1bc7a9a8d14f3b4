"""Stopping a crawl on SIGTERM or SIGINT (a cron timeout, `systemctl stop`, a container
stop, Ctrl-C).

- `scrapy crawl` (`CrawlStop`, installed by newscrawl/commands/crawl.py): the first signal
  starts a graceful stop: no new request (those the downloader had queued but not begun
  are dropped, `NotFetched`: nothing marks them, the next run fetches them), the
  downloads and articles in flight finish,
  articles held by the boilerplate warm-up are released, everything is written and
  checkpointed, the pool is shut down, the run report and summary say `interrupted`,
  and the process exits INTERRUPTED (9). When that takes longer than
  NEWSCRAWL_STOP_TIMEOUT seconds, or on a second signal, the crawl stops at once: its
  pool is killed and the process exits 9 without writing more. That is as safe as a
  `kill -9` (README, Crash safety): nothing is settled in the state before it is in the
  output, so the next run fetches whatever was not written.
- `newscrawl crawl` (newscrawl/cronrun.py) passes the signal on to every crawl it started
  and kills, with `kill_crawl`, whichever has not stopped within the timeout.

A repeat of the signal within REPEAT_GRACE seconds of the first counts as the same stop:
under systemd's default KillMode=control-group a crawl gets SIGTERM both from systemd and
from `newscrawl crawl`, at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from scrapy.exceptions import IgnoreRequest

from newscrawl import exitcodes

logger = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 30.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
REPEAT_GRACE = 1.0
# The multiprocessing resource tracker is spared by kill_tree: it ignores SIGTERM and
# SIGINT, ends by itself once every process of the crawl is gone, and on its way out
# removes the semaphores a killed pool leaves in /dev/shm.
RESOURCE_TRACKER = "multiprocessing.resource_tracker"


class NotFetched(IgnoreRequest):
    """A request not begun when the crawl was stopped (the downloader had queued it, or
    the worker pool's backpressure held it), or once the outlet's time limit was reached
    (newscrawl.guard.OutletTimeLimit). Nothing marks it: the next run fetches it."""


def drop_queued_requests(crawler) -> int:
    """Fails the requests waiting in the downloader's queues with NotFetched, so that a
    graceful stop waits only for the downloads in progress (Scrapy would otherwise fetch
    every request already handed to the downloader: up to CONCURRENT_REQUESTS of them,
    with the politeness delays between them). Each leaves the downloader as a download
    does, with `request_left_downloader` (what counts downloads in flight relies on it).
    Returns how many were dropped."""
    from scrapy import signals
    from twisted.python.failure import Failure

    dropped = 0
    for slot in list(getattr(crawler.engine.downloader, "slots", {}).values()):
        while slot.queue:
            request, deferred = slot.queue.popleft()
            deferred.errback(Failure(NotFetched(f"not fetched: the crawl is stopping ({request.url})")))
            crawler.signals.send_catch_log(signal=signals.request_left_downloader, request=request,
                                           spider=crawler.spider)
            dropped += 1
    return dropped


def stop_timeout(settings=None) -> float:
    """NEWSCRAWL_STOP_TIMEOUT in seconds: a `-s` setting, else the environment variable,
    else the project's setting (default 30)."""
    from scrapy.settings import SETTINGS_PRIORITIES

    value = settings.get("NEWSCRAWL_STOP_TIMEOUT") if settings is not None else None
    from_cmdline = settings is not None and (settings.getpriority("NEWSCRAWL_STOP_TIMEOUT") or 0) >= \
        SETTINGS_PRIORITIES["cmdline"]
    if not from_cmdline and os.environ.get("NEWSCRAWL_STOP_TIMEOUT", "").strip():
        value = os.environ["NEWSCRAWL_STOP_TIMEOUT"]
    if value is None or str(value).strip() == "":
        return DEFAULT_STOP_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise exitcodes.ConfigError(f"NEWSCRAWL_STOP_TIMEOUT must be a number of seconds, not {value!r}") from None
    if not seconds >= 0:
        raise exitcodes.ConfigError(f"NEWSCRAWL_STOP_TIMEOUT must be 0 or more seconds, not {value!r}")
    return seconds


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def kill_tree(pid: int, *, include_root: bool = True) -> None:
    """SIGKILL a process and all its descendants (its worker pool: the fork server and the
    workers), sparing the resource tracker (see RESOURCE_TRACKER)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + ([root] if include_root else [])
    except psutil.Error:
        return
    for proc in procs:
        try:
            if proc.pid != pid and any(RESOURCE_TRACKER in part for part in proc.cmdline()):
                continue
            proc.kill()
        except psutil.Error:
            pass


def clear_group(pgid: int, grace: float = 2.0) -> None:
    """Waits up to `grace` seconds for the process group `pgid` to empty, then SIGKILLs
    whatever is left of it."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_crawl(pid: int) -> None:
    """Kills a `scrapy crawl` child started in its own process group, with its pool."""
    kill_tree(pid)
    try:
        os.killpg(pid, signal.SIGKILL)  # one that was just being forked
    except (ProcessLookupError, PermissionError):
        pass


class CrawlStop:
    """SIGTERM / SIGINT handling of one `scrapy crawl` process, however many outlets it
    crawls (see the module docstring).

    Installed before the crawler is built, so that a signal that arrives while the crawl
    is starting stops it as soon as it runs; Scrapy's own handlers are not installed
    (`CrawlerProcess.start(install_signal_handlers=False)`)."""

    def __init__(self, timeout: float = DEFAULT_STOP_TIMEOUT):
        self.timeout = timeout
        self.crawlers: list = []
        self.signum: int | None = None
        self._first_at = 0.0
        self._previous: dict[int, object] = {}

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    def install(self) -> "CrawlStop":
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def watch(self, crawler) -> None:
        self.crawlers.append(crawler)
        if self.stopping:
            self._request_stop([crawler])

    def forget(self, crawler) -> None:
        """A crawler whose crawl has ended: nothing to stop, and not kept."""
        if crawler in self.crawlers:
            self.crawlers.remove(crawler)

    # Runs in the main thread, between two bytecodes of whatever it was doing: it only
    # sets state, starts a timer and hands the stop to the reactor (or exits at once).
    def _on_signal(self, signum: int, _frame) -> None:
        if self.signum is None:
            self.signum = signum
            self._first_at = time.monotonic()
            timer = threading.Thread(target=self._timer, name="newscrawl-stop-timeout", daemon=True)
            timer.start()
            self._request_stop()
        elif time.monotonic() - self._first_at >= REPEAT_GRACE:
            self.exit_now(f"{signal_name(signum)} again: stopping at once")

    def _request_stop(self, crawlers: list | None = None) -> None:
        crawlers = list(self.crawlers if crawlers is None else crawlers)
        if not crawlers:
            return  # watch() asks once a crawler is built
        try:
            from twisted.internet import reactor

            for crawler in crawlers:
                reactor.callFromThread(self._stop_when_running, crawler)
        except Exception:  # no reactor (yet): the crawl has not started; end now
            self.exit_now(f"{signal_name(self.signum)} before the crawl started")

    def _stop_when_running(self, crawler) -> None:
        """In the reactor: a graceful stop of the crawl, once its engine runs."""
        from scrapy.utils.defer import deferred_from_coro
        from twisted.internet import reactor

        if not crawler.crawling:
            return  # finished meanwhile
        engine = getattr(crawler, "engine", None)
        if engine is None or not engine.running:
            reactor.callLater(0.1, self._stop_when_running, crawler)  # still opening
            return
        logger.info("newscrawl: %s received: stopping gracefully (up to %gs; send it again to stop at once)",
                    signal_name(self.signum), self.timeout, extra={"spider": crawler.spider})
        deferred_from_coro(crawler.stop_async())
        try:
            dropped = drop_queued_requests(crawler)
        except Exception:  # the downloader's internals moved: its queue is then fetched
            logger.exception("newscrawl: could not drop the downloader's queued requests")
        else:
            crawler.stats.set_value("newscrawl/stop/not_fetched", dropped)

    def _timer(self) -> None:
        time.sleep(self.timeout)
        logger.error("newscrawl: the crawl did not stop within NEWSCRAWL_STOP_TIMEOUT (%gs); stopping at once",
                     self.timeout)
        self.exit_now(None)

    @staticmethod
    def exit_now(message: str | None) -> None:
        """Kills the pool and ends the process at once with INTERRUPTED. Safe to call in a
        signal handler: no logging, one write to stderr."""
        if message:
            try:
                os.write(2, f"newscrawl: {message}\n".encode())
            except OSError:
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        kill_tree(os.getpid(), include_root=False)
        os._exit(exitcodes.INTERRUPTED)
