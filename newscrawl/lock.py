"""One crawl per outlet at a time: an exclusive lock file per outlet.

`flock` on `<NEWSCRAWL_STATE_DIR>/<outlet>.lock`. The kernel drops the lock when the
process ends however it ends (kill -9 included), so a crashed crawl never leaves a stale
lock behind for cron to trip over. The file holds the owner's pid for the message.
Different outlets lock different files and run side by side.

Crawls on several machines (`newscrawl worker`, newscrawl/cluster.py) also take the
outlet's lease in Redis when NEWSCRAWL_CLUSTER_LOCK_URL is set (newscrawl/lease.py): the
flock first, then the lease; a crawl that holds either refuses the other crawls.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import CloseSpider

logger = logging.getLogger(__name__)

LOCKED_REASON = "outlet_locked"


class LockHeld(Exception):
    """`owner`: the pid in the lock file, or (`lease`) who holds the outlet's lease."""

    def __init__(self, outlet: str, path: Path, owner: str, lease: bool = False):
        self.outlet, self.path, self.owner = outlet, path, owner
        super().__init__(f"outlet {outlet!r} is already being crawled by {owner} (lease {path})" if lease else
                         f"outlet {outlet!r} is already being crawled (pid {owner or '?'}, lock {path})")


def lock_path(state_dir: str | Path, outlet: str) -> Path:
    return Path(state_dir) / f"{outlet}.lock"


class OutletLock:
    def __init__(self, state_dir: str | Path, outlet: str):
        self.outlet = outlet
        self.path = lock_path(state_dir, outlet)
        self._fd = -1

    def acquire(self) -> "OutletLock":
        """Takes the lock or raises LockHeld at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise LockHeld(self.outlet, self.path, owner) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


@contextmanager
def outlet_locked(settings, outlet: str):
    """The outlet's locks for a command that changes its files or state while no crawl
    may (`newscrawl reset`, `newscrawl compact`): its flock and, with
    NEWSCRAWL_CLUSTER_LOCK_URL set, its lease across machines, renewed while the command
    runs. LockHeld when a crawl holds either."""
    with OutletLock(settings.get("NEWSCRAWL_STATE_DIR") or "state", outlet) as lock:
        url = settings.get("NEWSCRAWL_CLUSTER_LOCK_URL")
        if not url:
            yield lock
            return
        from newscrawl.lease import RENEWER, Lease, LeaseHeld, redis_client

        lease = Lease(redis_client(url), settings.get("NEWSCRAWL_REDIS_PREFIX") or "newscrawl", outlet,
                      float(settings.get("NEWSCRAWL_CLUSTER_LOCK_TTL") or 60))
        try:
            lease.acquire()
        except LeaseHeld as exc:
            raise LockHeld(outlet, lease.key, exc.owner, lease=True) from None
        except Exception as exc:  # noqa: BLE001 - every reason the store does not answer
            from newscrawl.faults import StoreFault, safe_url, store_cause

            raise StoreFault(f"cluster lock {safe_url(url)} unreachable: {store_cause(exc)}") from exc
        RENEWER.add(lease, lambda exc: logger.error("newscrawl: the lease of %s was lost: %s", outlet, exc))
        try:
            yield lock
        finally:
            RENEWER.remove(lease)
            lease.release()


def crawl_lock_held(crawler) -> bool:
    """True when this crawler holds its outlet's lock, or runs without the lock extension
    (then locking is the caller's business)."""
    ext = getattr(crawler, "newscrawl_lock", None)
    return ext is None or ext.lock.held


class OutletLockExtension:
    """Takes the outlet's lock when the crawler is built, before any pipeline opens its
    files or state, so a second crawl of a running outlet touches nothing. When the lock
    is held elsewhere the spider is closed at once with reason `outlet_locked` (exit code
    LOCKED). Components that change files or state check `crawl_lock_held(crawler)`."""

    def __init__(self, crawler):
        self.crawler = crawler
        outlet = crawler.spider.outlet.name
        self.lock = OutletLock(crawler.settings.get("NEWSCRAWL_STATE_DIR") or "state", outlet)
        self.refusal: LockHeld | None = None
        from newscrawl.faults import fault_of

        self.lease = None
        if fault_of(crawler) is None:  # a start-up fault (newscrawl.faults): touch nothing
            try:
                self.lock.acquire()
            except LockHeld as exc:
                self.refusal = exc
            else:
                self._take_lease(outlet)
        crawler.newscrawl_lock = self
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _take_lease(self, outlet: str) -> None:
        """The outlet's lease across machines, when the crawl runs under a cluster worker
        (NEWSCRAWL_CLUSTER_LOCK_URL); refused like a held lock, and the flock released."""
        settings = self.crawler.settings
        url = settings.get("NEWSCRAWL_CLUSTER_LOCK_URL")
        if not url:
            return
        from newscrawl.lease import RENEWER, Lease, LeaseHeld, redis_client

        try:
            lease = Lease(redis_client(url), settings.get("NEWSCRAWL_REDIS_PREFIX") or "newscrawl", outlet,
                          settings.getfloat("NEWSCRAWL_CLUSTER_LOCK_TTL", 60),
                          worker=settings.get("NEWSCRAWL_CLUSTER_WORKER") or "",
                          task=settings.get("NEWSCRAWL_CLUSTER_TASK") or "").acquire()
        except LeaseHeld as exc:
            self.lock.release()
            self.refusal = exc
            return
        except Exception as exc:  # noqa: BLE001 - every reason the store does not answer
            self.lock.release()
            self._store_fault(url, "unreachable", exc, at_open=True)
            return
        self.lease = lease
        RENEWER.add(lease, lambda exc: self._lease_lost(url, exc))

    def _store_fault(self, url: str, what: str, exc: BaseException, at_open: bool = False) -> None:
        from newscrawl.faults import FaultCheck, StoreFault, report, safe_url, store_cause

        fault = StoreFault(f"cluster lock {safe_url(url)} {what}: {store_cause(exc)}")
        report(self.crawler, fault, exc_info=(type(exc), exc, exc.__traceback__), close=not at_open)
        if at_open:
            FaultCheck.close_at_open(self.crawler)

    def _lease_lost(self, url: str, exc: BaseException) -> None:
        """From the renewal thread: another crawl may take the outlet from now on, so this
        one stops, as on a lost store (exit 7)."""
        from twisted.internet import reactor

        reactor.callFromThread(self._store_fault, url, "lost mid-crawl", exc)

    def spider_opened(self, spider):
        if self.refusal is not None:
            logger.error("newscrawl: %s; exiting", self.refusal, extra={"spider": spider})
            self.crawler.stats.set_value("newscrawl/lock_owner", self.refusal.owner)
            raise CloseSpider(LOCKED_REASON)

    def engine_stopped(self):
        if self.lease is not None:
            from newscrawl.lease import RENEWER

            RENEWER.remove(self.lease)
            try:
                self.lease.release()
            except Exception:  # noqa: BLE001 - the store is gone: the lease expires by itself
                logger.warning("newscrawl: could not release the cluster lock of %s; it expires in %gs",
                               self.lease.outlet, self.lease.ttl, exc_info=True)
        self.lock.release()
