"""The worker pool: the CPU-heavy stages (extraction, rule-based decruft, normalisation,
MinHash signatures) run in worker processes, off the reactor thread, so that downloads
never wait on them and every core of the machine extracts.

One pool per process, shared by its crawlers (`pool_for(crawler)`; a fleet crawl runs
one crawler per outlet), sized by NEWSCRAWL_WORKERS (default: the number of CPUs; 0 runs
every call inline, in this process). Pipeline stages `await
pool.run(fn, *args)` with a module-level function and picklable arguments.

- Backpressure: at most NEWSCRAWL_WORKER_QUEUE calls (default 2 per worker) are in the
  pool at once; the others wait on a semaphore. While NEWSCRAWL_WORKER_BACKLOG calls
  (default 16 per worker) wait, no crawler of the process starts a new download
  (`DownloadBackpressure`), and each crawler hands its downloader at most two requests
  at a time when it has a download delay: the fetched pages waiting for a worker stay
  bounded however many outlets the process crawls. (Scrapy's own bound, SCRAPER_SLOT_MAX_ACTIVE_SIZE, is per
  crawler: with one crawler per outlet it grew with the fleet, and a fleet whose
  downloads outran the pool held thousands of pages waiting for a worker.)
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
from collections import OrderedDict, deque
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

    def __init__(self, workers: int, *, max_in_flight: int | None = None, backlog: int | None = None):
        self.workers = workers
        self.max_in_flight = max(1, max_in_flight or 2 * max(workers, 1))
        # Calls waiting for room in the pool, and how many may wait before downloads
        # are held (DownloadBackpressure).
        self.waiting = 0
        self.backlog = max(1, backlog or 16 * max(workers, 1))
        self._admitting: OrderedDict = OrderedDict()  # gates with requests to let in, in order
        self._executor: ProcessPoolExecutor | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._generation = 0
        self._started_generation = 0
        self._starter: threading.Thread | None = None
        self.closed = False

    @property
    def inline(self) -> bool:
        return self.workers == 0

    @property
    def backlogged(self) -> bool:
        """Whether NEWSCRAWL_WORKER_BACKLOG calls wait for a worker: no new download then."""
        return self.waiting >= self.backlog

    def queue_admission(self, gate: "DownloadBackpressure") -> None:
        """`gate` has requests waiting and room for them: they go in, in the order the
        gates asked, once the pool is not backlogged."""
        self._admitting[gate] = None
        self.admit_waiting()

    def admit_waiting(self) -> None:
        while self._admitting and not self.backlogged:
            gate, _ = self._admitting.popitem(last=False)
            gate.admit()

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
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
            self.admit_waiting()
        try:
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
        finally:
            self._semaphore.release()
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
    backlog = settings.getint("NEWSCRAWL_WORKER_BACKLOG", 0)
    if backlog < 0:
        from newscrawl.exitcodes import ConfigError

        raise ConfigError(f"NEWSCRAWL_WORKER_BACKLOG must be 0 or more, not {backlog}")
    return WorkerPool(workers, max_in_flight=queue, backlog=backlog or None)


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
    key = ("worker pool", worker_count(settings), settings.getint("NEWSCRAWL_WORKER_QUEUE", 0),
           settings.getint("NEWSCRAWL_WORKER_BACKLOG", 0))
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


class DownloadBackpressure:
    """Downloader middleware, the last before the downloader: holds a crawler's requests
    while the process's pool is backlogged (NEWSCRAWL_WORKER_BACKLOG calls wait for a
    worker), and lets each crawler have at most `per_outlet` requests in its downloader
    at once. Held requests go in as the pool catches up, crawler after crawler in the
    order they were held, so no outlet starves the others.

    `per_outlet`: two for a crawler with a download delay (the request being fetched and
    the next, waiting for its delay: Scrapy hands the downloader up to CONCURRENT_REQUESTS
    of them, which with a delay only queue there, and which would all be fetched while
    the pool is backlogged); CONCURRENT_REQUESTS_PER_DOMAIN without one. The fetched
    pages waiting for a worker are then at most the backlog plus `per_outlet` per
    crawler, where a fleet whose downloads outran its pool held every page it had
    fetched.

    A request held when the crawl is being stopped (SIGTERM) is not fetched (`NotFetched`),
    like the requests the downloader had queued (newscrawl/stop.py)."""

    def __init__(self, crawler, pool: WorkerPool, per_outlet: int):
        self.crawler = crawler
        self.pool = pool
        self.per_outlet = max(1, per_outlet)
        self.in_downloader: set = set()  # requests let through, their answer not yet back
        self.admitted = 0  # those, and the held ones let in that have not yet resumed
        self._held: deque = deque()  # futures of held requests, in order

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
        per_outlet = min(2, concurrency) if settings.getfloat("DOWNLOAD_DELAY", 0) > 0 else concurrency
        return cls(crawler, pool_for(crawler).pool, per_outlet)

    def _has_room(self) -> bool:
        return self.admitted < self.per_outlet

    async def process_request(self, request):
        if not self._held and self._has_room() and not self.pool.backlogged:
            self.admitted += 1
        else:
            held = asyncio.get_running_loop().create_future()
            self._held.append(held)
            if self._has_room():
                self.pool.queue_admission(self)
            try:
                await held
            except asyncio.CancelledError:
                if held.done() and not held.cancelled():
                    self._left()  # let in, then cancelled before it went
                raise
            if not self.crawler.crawling:  # stopping: see newscrawl/stop.py
                from newscrawl.stop import NotFetched

                self._left()
                raise NotFetched(f"not fetched: the crawl is stopping ({request.url})")
        self.in_downloader.add(request)
        return None

    def admit(self) -> None:
        """Lets in the held requests this crawler has room for (the pool is not backlogged)."""
        while self._held and self._has_room():
            held = self._held.popleft()
            if held.done():  # cancelled
                continue
            self.admitted += 1
            held.set_result(None)

    def _left(self) -> None:
        self.admitted -= 1
        if self._held:
            self.pool.queue_admission(self)

    def _answered(self, request) -> None:
        if request in self.in_downloader:
            self.in_downloader.discard(request)
            self._left()

    def process_response(self, request, response):
        self._answered(request)
        return response

    def process_exception(self, request, exception):
        self._answered(request)
        return None
