"""Faults of the machine, not of the site: the state store unreachable or lost, the output
or state folder unwritable or full.

Each is named in one line (the thing and the cause) with its own exit code:

  newscrawl: dawn: state store redis://127.0.0.1:1/0 unreachable: Connection refused (exit 7)
  newscrawl: dawn: output folder /srv/output/dawn full: No space left on device (ENOSPC) (exit 8)

The line is logged at ERROR with the full traceback (the log file), printed alone on
stdout when the crawl runs under `newscrawl crawl` (which passes it on to its stderr),
and kept in the stats (`newscrawl/fault`, `newscrawl/fault_code`) for the run report.

- At start (`FaultCheck`, an extension built before the lock and the pipelines): the
  output and state folders take a small probe file, and a Redis store answers a PING.
  A failure closes the spider at once with the fault's reason; nothing is opened.
- Mid-crawl: the crawl's state stores are wrapped (`open_crawl_state`) so that a lost
  store (a Redis connection error) or a full or read-only state folder (SQLite) is
  reported the moment it happens; the write stages report their own OSError. The spider
  is then closed through `engine.close_spider_async(reason=...)` with the fault's
  reason; `runreport.exit_status` maps the fault to its code.

Nothing is settled that was not written: the ledger records an article only after its
line is published (newscrawl/ledger.py), a write that failed publishes nothing, and once a
store has failed the wrapper refuses every further call instead of half-applying it. The
next run, with the fault fixed, fetches and writes those articles exactly once.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from newscrawl import exitcodes

logger = logging.getLogger(__name__)

STORE_REASON = "state_store_failed"
STORAGE_REASON = "storage_failed"
FAULT_REASONS = {STORE_REASON: exitcodes.STORE, STORAGE_REASON: exitcodes.STORAGE}
FAULT_PREFIX = "newscrawl-fault: "  # the line on stdout, for `newscrawl crawl`

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# SQLite's words for a folder it cannot write (sqlite3.OperationalError has no errno).
SQLITE_STORAGE_ERRORS = ("database or disk is full", "readonly database", "unable to open database file",
                         "disk i/o error")


class Fault(Exception):
    code = exitcodes.ERROR
    reason = ""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def line(self, outlet: str) -> str:
        return f"newscrawl: {outlet}: {self.message} (exit {self.code})"


class StoreFault(Fault):
    """The state store (Redis) is unreachable, or was lost mid-crawl."""
    code = exitcodes.STORE
    reason = STORE_REASON


class StorageFault(Fault):
    """The output or state folder is unwritable or full."""
    code = exitcodes.STORAGE
    reason = STORAGE_REASON


# --------------------------------------------------------------------------- naming


def safe_url(url: str) -> str:
    """The URL without its password (user names stay)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


def os_cause(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    return f"{text} ({name})" if name else text


def store_cause(exc: BaseException) -> str:
    """The root cause of a store error: the socket's error when there is one."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(exc).strip().rstrip(".") or type(exc).__name__


def storage_fault(what: str, folder: str | Path, exc: OSError) -> StorageFault:
    state = "full" if exc.errno in FULL_ERRNOS else "unwritable"
    return StorageFault(f"{what} {folder} {state}: {os_cause(exc)}")


def is_storage_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return any(words in str(exc).lower() for words in SQLITE_STORAGE_ERRORS)
    return isinstance(exc, OSError) and exc.errno is not None


def is_store_error(exc: BaseException) -> bool:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis comes with the [redis] extra
        return False
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


def fault_from(exc: BaseException, where, *, started: bool = True) -> Fault | None:
    """The fault an exception of a state store at `where` (a Redis URL or an SQLite file)
    stands for; None when it is not one (a bug stays a bug)."""
    if isinstance(exc, Fault):
        return exc
    if is_store_error(exc):
        verb = "lost mid-crawl" if started else "unreachable"
        return StoreFault(f"state store {safe_url(str(where))} {verb}: {store_cause(exc)}")
    if is_storage_error(exc):
        folder = Path(where).parent if isinstance(where, Path) else where
        if isinstance(exc, OSError):
            return storage_fault("state folder", folder, exc)
        words = str(exc).lower()
        state = "full" if "full" in words else "unwritable"
        return StorageFault(f"state folder {folder} {state}: {exc}")
    return None


# --------------------------------------------------------------------------- reporting


def fault_of(crawler) -> Fault | None:
    return getattr(crawler, "newscrawl_fault", None)


def outlet_name(crawler) -> str:
    spider = getattr(crawler, "spider", None)
    return getattr(getattr(spider, "outlet", None), "name", None) or getattr(spider, "name", None) or "?"


def report(crawler, fault: Fault, *, exc_info=None, close: bool = True) -> Fault:
    """Records the crawl's fault (the first one wins), says it once, and closes the spider
    with the fault's reason."""
    known = fault_of(crawler)
    if known is not None:
        return known
    crawler.newscrawl_fault = fault
    line = fault.line(outlet_name(crawler))
    crawler.stats.set_value("newscrawl/fault", fault.message)
    crawler.stats.set_value("newscrawl/fault_code", fault.code)
    logger.error("%s%s", FAULT_PREFIX, line, exc_info=exc_info, extra={"spider": crawler.spider})
    if crawler.settings.get("NEWSCRAWL_RUN_LOG"):  # under `newscrawl crawl`: the line for its stderr
        try:
            sys.stdout.write(FAULT_PREFIX + line + "\n")
            sys.stdout.flush()
        except OSError:
            pass
    if close:
        close_spider(crawler, fault.reason)
    return fault


def report_output_fault(crawler, exc: OSError, folder: Path, *, close: bool = True) -> Fault:
    """A write to the output failed (the folder is full or read-only): reported, naming
    the folder of the file that failed (else `folder`); the spider closed unless `close`
    is False."""
    where = Path(exc.filename).parent if getattr(exc, "filename", None) else folder
    return report(crawler, storage_fault("output folder", where, exc), exc_info=(type(exc), exc, exc.__traceback__),
                  close=close)


def close_spider(crawler, reason: str) -> None:
    """Asks the engine to close the spider (it finishes the items in flight); a no-op
    when the spider is not open or already closing."""
    engine = getattr(crawler, "engine", None)
    if engine is None or getattr(engine, "spider", None) is None:
        return
    from scrapy.utils.defer import deferred_from_coro

    def closed_already(failure):
        failure.trap(RuntimeError)  # "Spider not opened": it closed meanwhile

    deferred_from_coro(engine.close_spider_async(reason=reason)).addErrback(closed_already)


# --------------------------------------------------------------------------- start-up checks


def probe_writable(folder: Path) -> None:
    """Creates the folder and writes, syncs and removes a small file in it; raises the
    OSError when it cannot (read-only, no permission, full)."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".newscrawl-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        try:
            probe.unlink()
        except FileNotFoundError:
            pass


def ping_store(url: str, timeout: float = 5.0) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                  retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    finally:
        client.close()


def start_fault(settings, outlet: str, crawler=None) -> tuple[Fault, BaseException] | None:
    """The first fault the start-up checks find: the outlet's output folder, then what
    every outlet of the process shares (shared_start_fault). With a crawler, the shared
    checks run once for all the crawlers of the process (newscrawl/shared.py): a fleet of
    hundreds of outlets probes its state folder and pings its store once, not once per
    outlet on the reactor's thread, and every outlet reports what was found."""
    output = Path(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output") / outlet
    try:
        probe_writable(output)
    except OSError as exc:
        return storage_fault("output folder", output, exc), exc
    if crawler is None:
        return shared_start_fault(settings)
    from newscrawl.shared import SHARED
    from newscrawl.state import state_location

    key = ("start checks", settings.get("NEWSCRAWL_STATE_DIR") or "state", str(state_location(settings, "_global")))
    return SHARED.acquire(crawler, key, lambda: shared_start_fault(settings))


def shared_start_fault(settings) -> tuple[Fault, BaseException] | None:
    """The start-up checks of what the outlets share: the state folder (where the locks
    live, even with Redis), the folder of the SQLite state files, or the Redis store."""
    from newscrawl.state import state_location

    state_dir = Path(settings.get("NEWSCRAWL_STATE_DIR") or "state")
    where = state_location(settings, "_global")  # every outlet's file is in the same folder
    folders = [("state folder", state_dir)]
    if isinstance(where, Path) and where.parent != state_dir:
        folders.append(("state folder", where.parent))
    for what, folder in folders:
        try:
            probe_writable(folder)
        except OSError as exc:
            return storage_fault(what, folder, exc), exc
    if not isinstance(where, Path):
        try:
            ping_store(where)
        except Exception as exc:  # noqa: BLE001 - every reason the store does not answer
            fault = fault_from(exc, where, started=False) or StoreFault(
                f"state store {safe_url(where)} unreachable: {store_cause(exc)}")
            return fault, exc
    return None


class FaultCheck:
    """Extension, built first: runs the start-up checks. On a fault nothing else opens
    (the lock is not taken, the worker pool not started, the pipelines open nothing) and
    the spider is closed as soon as it opens, with the fault's reason."""

    def __init__(self, crawler):
        self.crawler = crawler
        outlet = getattr(getattr(crawler.spider, "outlet", None), "name", None)
        if outlet is None or not crawler.settings.getbool("NEWSCRAWL_START_CHECKS", True):
            return
        if fault_of(crawler) is not None:
            return  # found by a component built before (the outlet's log file), which closes the spider
        found = start_fault(crawler.settings, outlet, crawler)
        if found is not None:
            fault, exc = found
            report(crawler, fault, exc_info=(type(exc), exc, exc.__traceback__), close=False)
            self.close_at_open(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def close_at_open(crawler) -> None:
        """The spider of a crawl with a start-up fault closes as soon as it opens."""
        from scrapy import signals
        from scrapy.exceptions import CloseSpider

        def spider_opened(spider):  # the crawler from the spider: a closure over it would keep it alive
            raise CloseSpider(fault_of(spider.crawler).reason)

        crawler.signals.connect(spider_opened, signal=signals.spider_opened, weak=False)


# --------------------------------------------------------------------------- stores


class GuardedStore:
    """A crawl's state store: a store error that is a fault (connection lost, folder full
    or read-only) is reported at once and raised as the Fault; after it, every call fails
    at once without touching the store, so nothing is half-applied. `owned`: closing the
    wrapper closes the store (False for a store the crawlers of the process share, which
    newscrawl/shared.py closes with its last holder)."""

    def __init__(self, store, crawler, where, *, owned: bool = True):
        self._store = store
        self._crawler = crawler
        self._where = where
        self._fault: Fault | None = None
        self._owned = owned

    def _failed(self, exc: BaseException) -> BaseException:
        fault = fault_from(exc, self._where)
        if fault is None:
            return exc
        self._fault = fault
        report(self._crawler, fault, exc_info=(type(exc), exc, exc.__traceback__))
        return fault

    def _call(self, name, *args, **kwargs):
        if self._fault is not None:
            raise self._fault
        try:
            result = getattr(self._store, name)(*args, **kwargs)
            if name == "items":
                result = iter(list(result))  # read it all here, where errors are caught
            return result
        except Exception as exc:
            failed = self._failed(exc)
            if failed is exc:
                raise
            raise failed from exc

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if name == "batch" or not callable(attr):
            return attr if name != "batch" else self._batch
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)

    @contextmanager
    def _batch(self):
        if self._fault is not None:
            raise self._fault
        try:
            with self._store.batch():
                yield self
        except Fault:
            raise
        except Exception as exc:
            failed = self._failed(exc)
            if failed is exc:
                raise
            raise failed from exc

    def close(self):
        if not self._owned:
            return
        try:
            self._store.close()
        except Exception:  # noqa: BLE001 - closing a lost store
            if self._fault is None:
                raise


def open_crawl_state(crawler, scope: str, *, shared: bool = False):
    """open_state for a crawl: the store wrapped in a GuardedStore. Opening itself can
    fail (an SQLite file in a read-only folder): reported, then raised as the Fault.
    `shared`: one connection for every crawler of the process (the global dedupe state,
    which every outlet's crawler uses): opened by the first, closed with the last
    (newscrawl/shared.py), where one connection per crawler cost each its own page cache
    of the same file."""
    from newscrawl.state import open_state, state_location

    where = state_location(crawler.settings, scope)
    try:
        if shared:
            from newscrawl.shared import SHARED

            store = SHARED.acquire(crawler, ("state store", str(where)),
                                   lambda: open_state(crawler.settings, scope), lambda store: store.close())
        else:
            store = open_state(crawler.settings, scope)
    except Exception as exc:
        fault = fault_from(exc, where)
        if fault is None:
            raise
        report(crawler, fault, exc_info=(type(exc), exc, exc.__traceback__))
        raise fault from exc
    return GuardedStore(store, crawler, where, owned=not shared)


def crawl_state(crawler, scope: str):
    """The crawl's store for `scope` (its outlet), opened by the first of its components
    that asks (open_crawl_state) and shared by all of them (the ledger, the learned
    boilerplate): one connection per outlet, where each component's own connection cost
    a second page cache of the same file. Closed when the engine stops, after every
    component's close_spider."""
    stores = getattr(crawler, "newscrawl_states", None)
    if stores is None:
        from scrapy import signals

        stores = crawler.newscrawl_states = {}

        def close(**_kwargs) -> None:
            opened = dict(stores)
            stores.clear()
            for store in opened.values():
                store.close()

        crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    if scope not in stores:
        stores[scope] = open_crawl_state(crawler, scope)
    return stores[scope]
