"""How CPU-heavy work reaches the worker pool: one mechanism, for every stage.

Each stage's Scrapy adapter, and the spider for the article gate, `await
runner_for(crawler).run(fn, *args)`; `newscrawl clean` calls `StageRunner(pool).map(fn,
calls)` over many saved pages. `fn` is a stage's pure function, defined at module level,
and its arguments are picklable (a record, the Outlet record, a number); it runs in a
worker of the crawler's pool (pipelines/pool.py), or inline when the pool has none.

A call whose worker dies is tried once more by the pool; a second death raises
`WorkerCrash`, which `run` turns into the stage's drop (`pipelines.drops.WorkerLost`, a
rejection the ledger settles). `map` leaves the WorkerCrash in the call's place.

NEWSCRAWL_TEST_WORKER_CRASH_MARKER (tests only): a call whose first argument is a page
whose HTML holds the marker kills its worker, as a page that crashes lxml would.
"""

from __future__ import annotations

import multiprocessing
import os

from pipelines.pool import CrawlerPool, WorkerCrash, WorkerPool, pool_for


class _CrashOn:
    """fn, except that a page holding `marker` kills the worker process it runs in."""

    def __init__(self, fn, marker: str):
        self.fn = fn
        self.marker = marker
        self.__name__ = getattr(fn, "__name__", repr(fn))

    def __call__(self, *args):
        page = args[0] if args else None
        html = page.get("html") if isinstance(page, dict) else None
        if html and self.marker in html and multiprocessing.parent_process():
            os._exit(70)
        return self.fn(*args)


class StageRunner:
    """Runs stage functions in a worker pool: `run` from the reactor, `map` outside one.
    `pool`: a WorkerPool (`newscrawl clean`), or a crawler's use of the process's pool
    (`pool_for(crawler)`, whose `run` counts crashes in that crawler's stats)."""

    def __init__(self, pool: "WorkerPool | CrawlerPool", crash_marker: str | None = None):
        self.pool = pool
        self.crash_marker = crash_marker or None

    def _callable(self, fn):
        return _CrashOn(fn, self.crash_marker) if self.crash_marker else fn

    async def run(self, fn, *args):
        """fn(*args) in a worker. A call that killed its worker twice raises WorkerLost."""
        try:
            return await self.pool.run(self._callable(fn), *args)
        except WorkerCrash as exc:
            from pipelines.drops import WorkerLost

            raise WorkerLost(str(exc)) from exc

    def map(self, fn, calls: list[tuple]) -> list:
        """fn(*args) for each tuple of arguments, in order; a WorkerCrash in the place of
        a call that killed its worker twice."""
        return self.pool.map(self._callable(fn), calls)


def runner_for(crawler) -> StageRunner:
    """The crawler's stage runner, over its worker pool (`pipelines.pool.pool_for`). Kept
    on the crawler: in a module-level WeakKeyDictionary, the runner (through the pool's
    stats, which hold the crawler) kept its own key alive, and a process running crawl
    after crawl kept every crawler."""
    runner = getattr(crawler, "newscrawl_stage_runner", None)
    if runner is None:
        marker = crawler.settings.get("NEWSCRAWL_TEST_WORKER_CRASH_MARKER") or None
        runner = crawler.newscrawl_stage_runner = StageRunner(pool_for(crawler), marker)
    return runner
