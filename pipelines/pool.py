"""The worker pool: the CPU-heavy stages (extraction, rule-based decruft, normalisation,
MinHash signatures) run in worker processes, off the reactor thread, so that downloads
never wait on them and every core of the machine extracts.

One pool per process, shared by its crawlers (`pool_for(crawler)`; a fleet crawl runs
one crawler per outlet), sized by NEWSCRAWL_WORKERS (default: the number of CPUs; 0 runs
every call inline, in this process). Pipeline stages `await
pool.run(fn, *args)` with a module-level function and picklable arguments.

- Backpressure: at most NEWSCRAWL_WORKER_QUEUE calls (default 2 per worker) are in the
  pool at once; the others wait on a semaphore, and Scrapy's scraper stops taking new
  responses while its items wait (SCRAPER_SLOT_MAX_ACTIVE_SIZE), so memory stays bounded.
- Shutdown: Scrapy closes the item pipelines only once every item in flight is done; the
  pool is shut down (waiting for its workers) when the last crawler using it has closed
  its spider (newscrawl/shared.py).
- A worker that dies (BrokenProcessPool) is counted as `newscrawl/errors/worker-crash`,
  the pool is rebuilt and the call tried once more; a second crash raises WorkerCrash,
  which the stage turns into a counted rejection. Nothing waits forever on a dead worker.

Workers start from a fork server that has imported the stages and loaded their rules
once, so each worker starts warm; each builds its own language detector
(pipelines/pool_warmup.py says why).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

logger = logging.getLogger(__name__)

# Imported by the fork server before it forks workers (see pipelines/pool_warmup.py).
WARMUP_MODULE = "pipelines.pool_warmup"


try:
    from scrapy.exceptions import DropItem as _Rejected
except ImportError:  # the pool serves `newscrawl clean` too
    _Rejected = RuntimeError


class WorkerCrash(_Rejected):
    """A call whose worker died twice. In a crawl it drops the item (Scrapy counts the
    drop; the pool counts `newscrawl/rejected/worker-crash`)."""


def worker_count(settings) -> int:
    value = settings.get("NEWSCRAWL_WORKERS")
    if value is None or str(value).strip() == "":
        return os.cpu_count() or 1
    workers = int(value)
    if workers < 0:
        raise ValueError(f"NEWSCRAWL_WORKERS must be 0 or more, not {workers}")
    return workers


def _context():
    # Forking a process that runs Twisted (threads, the reactor's file descriptors) is
    # unsafe; a fork server is a clean, single-threaded process to fork from.
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([WARMUP_MODULE])
        return ctx
    return multiprocessing.get_context("spawn")


def _warm_worker(crawl_pid: int | None = None, crawl_started: float | None = None) -> None:
    import importlib

    importlib.import_module(WARMUP_MODULE).in_worker()
    if crawl_pid is not None:
        exit_with(crawl_pid, crawl_started)


def exit_with(pid: int, started: float | None, interval: float = 1.0) -> None:
    """Ends this worker once the crawl process `pid` (started at `started`) is gone.

    A crawl killed with SIGKILL cannot shut its pool down. Its workers, children of the
    fork server, would wait on their task queue for good, and they hold the fork server's
    liveness pipe open, so it stays too: under cron every killed crawl would leave ~300 MB
    of orphans behind. The start time tells the crawl from a later process given its pid.
    """
    import time

    import psutil

    def crawl_alive() -> bool:
        try:
            return started is None or abs(psutil.Process(pid).create_time() - started) < 1e-3
        except psutil.Error:
            return False

    def watch() -> None:
        while crawl_alive():
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="newscrawl-crawl-watch", daemon=True).start()


class WorkerPool:
    """A process pool that pipeline stages await, with bounded work in flight and
    crashes counted rather than hung on."""

    def __init__(self, workers: int, *, max_in_flight: int | None = None):
        self.workers = workers
        self.max_in_flight = max(1, max_in_flight or 2 * max(workers, 1))
        self._executor: ProcessPoolExecutor | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._generation = 0
        self._started_generation = 0
        self._starter: threading.Thread | None = None
        self.closed = False

    @property
    def inline(self) -> bool:
        return self.workers == 0

    @staticmethod
    def _inc(key: str, stats=None) -> None:
        """Counts in `stats`: the calling crawler's (the pool serves several crawlers)."""
        if stats is not None:
            stats.inc_value(key)

    def _pool(self) -> ProcessPoolExecutor:
        if self.closed:
            raise RuntimeError("the worker pool is closed")
        if self._executor is None:
            import psutil

            me = psutil.Process()
            self._executor = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_warm_worker,
                                                 initargs=(me.pid, me.create_time()))
            self._generation += 1
        return self._executor

    def start(self, stats=None) -> None:
        """Starts the workers now rather than at the first call, and without waiting for
        them: the fork server's imports and each worker's language models then load on
        the idle cores while this process builds the engine and fetches robots.txt and
        the sitemap. The processes are spawned from a thread because spawning the first
        one waits until the fork server has finished its imports (about half a second).
        Starting twice starts once."""
        if self.inline or self.closed:
            return
        executor = self._pool()
        if stats is not None:
            stats.set_value("newscrawl/workers/started", self.workers)
        if self._started_generation == self._generation:
            return
        self._started_generation = self._generation

        def spawn() -> None:
            try:
                for _ in range(self.workers):  # the executor starts a worker per call waiting
                    executor.submit(os.getpid)
            except (BrokenProcessPool, RuntimeError):  # closed or broken meanwhile: the
                pass  # next call rebuilds the pool, or there is none

        self._starter = threading.Thread(target=spawn, name="newscrawl-pool-start", daemon=True)
        self._starter.start()

    def _crashed(self, fn, generation: int, attempt: int, stats=None) -> None:
        """Counts a dead worker and replaces the broken executor: once per breakage,
        however many calls in flight saw it."""
        if self._executor is None or generation != self._generation:
            return
        self._inc("newscrawl/errors/worker-crash", stats)
        logger.error("a worker process died running %s (attempt %d)", getattr(fn, "__name__", fn), attempt)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    async def run(self, fn, *args, stats=None):
        """fn(*args) in a worker; inline when the pool has no workers. `stats`: where a
        crash is counted (the calling crawler's)."""
        if self.inline:
            return fn(*args)
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_in_flight)
            self._retrying = asyncio.Lock()
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            try:
                return await self._call(loop, fn, args, 1, stats)
            except BrokenProcessPool:
                pass
            # Every call in flight sees a worker's death; retries go one at a time, so
            # only the call that kills its worker fails again, not its neighbours.
            async with self._retrying:
                try:
                    return await self._call(loop, fn, args, 2, stats)
                except BrokenProcessPool:
                    pass
        raise self._gave_up(fn, stats)

    def _gave_up(self, fn, stats=None) -> "WorkerCrash":
        """A call that killed its worker twice: counted, and its error."""
        self._inc("newscrawl/rejected/worker-crash", stats)
        return WorkerCrash(f"worker died twice running {getattr(fn, '__name__', fn)}")

    async def _call(self, loop, fn, args, attempt: int, stats=None):
        executor = self._pool()
        generation = self._generation
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            self._crashed(fn, generation, attempt, stats)
            raise

    def map(self, fn, argument_tuples: list[tuple]) -> list:
        """fn(*args) for each tuple, in order, outside a reactor (`newscrawl clean`).
        A call whose worker dies twice gives a WorkerCrash in its place in the result."""
        if self.inline:
            return [fn(*args) for args in argument_tuples]
        executor = self._pool()
        generation = self._generation
        futures = [executor.submit(fn, *args) for args in argument_tuples]
        results: list = []
        for args, future in zip(argument_tuples, futures):
            try:
                results.append(future.result())
                continue
            except BrokenProcessPool:
                self._crashed(fn, generation, 1)
            # Calls caught in a breakage are retried one at a time, so that only the one
            # that kills its worker fails again.
            try:
                results.append(self._pool().submit(fn, *args).result())
            except BrokenProcessPool:
                self._crashed(fn, self._generation, 2)
                results.append(self._gave_up(fn))
        return results

    def close(self, *_args, **_kwargs) -> None:
        self.closed = True
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def pool_from_settings(settings) -> WorkerPool:
    workers = worker_count(settings)
    queue = settings.getint("NEWSCRAWL_WORKER_QUEUE", 0) or None
    return WorkerPool(workers, max_in_flight=queue)


class CrawlerPool:
    """One crawler's use of the process's pool: its calls' crashes count in its stats."""

    def __init__(self, pool: WorkerPool, stats):
        self.pool = pool
        self.stats = stats

    async def run(self, fn, *args):
        return await self.pool.run(fn, *args, stats=self.stats)

    def start(self) -> None:
        self.pool.start(self.stats)

    def close(self) -> None:
        self.pool.close()


def pool_for(crawler) -> CrawlerPool:
    """The process's pool, as `crawler` uses it: built by the first crawler that asks,
    started by StartWorkerPool as a crawler is set up (or at the latest when its spider
    opens), shut down when the last crawler holding it has closed its spider (after its
    item pipelines have finished every item)."""
    from newscrawl.shared import SHARED

    settings = crawler.settings
    key = ("worker pool", worker_count(settings), settings.getint("NEWSCRAWL_WORKER_QUEUE", 0))
    first_use = not SHARED.holds(crawler, key)
    pool = SHARED.acquire(crawler, key, lambda: pool_from_settings(settings), WorkerPool.close)
    if first_use:
        from scrapy import signals

        # The crawler from the spider: a receiver kept with weak=False that held the crawler
        # would keep it alive in a process that runs crawl after crawl.
        crawler.signals.connect(lambda spider: start_unless_locked_out(spider.crawler), signal=signals.spider_opened,
                                weak=False)
    return CrawlerPool(pool, crawler.stats)


def start_unless_locked_out(crawler) -> None:
    """Starts the crawler's pool, unless another crawl of its outlet holds the lock: such
    a run closes at once (newscrawl.lock) and has no page for a worker."""
    from newscrawl.lock import crawl_lock_held

    if crawl_lock_held(crawler):
        pool_for(crawler).start()


class StartWorkerPool:
    """Extension: starts the crawler's worker pool while the crawler is being set up.
    Extensions are built before the engine, its middlewares and pipelines, so the workers
    come up while this process builds those (a start at spider_opened came half a second
    later, with a core idle until then). Its priority puts it after the lock extension,
    which by then has taken the outlet's lock or found it held."""

    def __init__(self, crawler):
        start_unless_locked_out(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)
