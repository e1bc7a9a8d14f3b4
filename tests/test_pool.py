"""The worker pool on its own (crawls through it are in test_crawl.py and test_cron.py)."""

import os
import time

import psutil
import pytest

from pipelines.pool import WorkerPool

pytestmark = pytest.mark.e2e  # worker processes


def _workers_alive(me: psutil.Process) -> int:
    """Processes under this one that run a task loop: the pool's workers (the fork server
    and the resource tracker are children too, but not grandchildren)."""
    return sum(1 for child in me.children() for _ in child.children())


def test_start_brings_up_every_worker_before_the_first_call():
    pool = WorkerPool(2)
    me = psutil.Process()
    try:
        pool.start()
        deadline = time.monotonic() + 60
        while _workers_alive(me) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _workers_alive(me) == 2
        assert pool.map(os.getpid, [(), ()])[0] != os.getpid()  # and they take work
    finally:
        pool.close()
    assert _workers_alive(me) == 0


def test_start_is_a_no_op_for_an_inline_pool_and_after_close():
    inline = WorkerPool(0)
    inline.start()
    assert inline.map(os.getpid, [()]) == [os.getpid()]
    closed = WorkerPool(2)
    closed.close()
    closed.start()  # a spider that opens after its crawl was stopped starts nothing
    assert _workers_alive(psutil.Process()) == 0


def test_the_extension_starts_the_workers_as_the_crawler_is_set_up():
    """Extensions are built before the engine: the workers come up while the crawl
    process builds its middlewares and pipelines, before any spider has opened."""
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    from pipelines.pool import pool_for

    settings = get_project_settings()
    extensions = {**settings.getdict("EXTENSIONS"), "newscrawl.lock.OutletLockExtension": None}
    crawler = get_crawler(settings_dict={"EXTENSIONS": extensions, "NEWSCRAWL_WORKERS": 2})
    me = psutil.Process()
    pool = pool_for(crawler)
    try:
        deadline = time.monotonic() + 60
        while _workers_alive(me) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _workers_alive(me) == 2
    finally:
        pool.close()
    assert _workers_alive(me) == 0


# --------------------------------------------------------------------------- backpressure


class _Crawl:
    """What DownloadBackpressure reads of its crawler: whether the crawl goes on."""

    crawling = True


async def _until(condition, timeout: float = 60) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


def test_downloads_wait_while_the_pool_is_backlogged_and_go_in_as_it_catches_up():
    """Calls pile up in a one-worker pool past its backlog: no crawler's request goes to
    the downloader then; as the pool catches up they go in, in the order they came, and
    a crawler never has more than its share in the downloader at once."""
    import asyncio

    from scrapy import Request

    from pipelines.pool import DownloadBackpressure

    async def scenario() -> list[str]:
        pool = WorkerPool(1, max_in_flight=1, backlog=2)
        try:
            first, second = DownloadBackpressure(_Crawl(), pool, 1), DownloadBackpressure(_Crawl(), pool, 1)
            calls = [asyncio.ensure_future(pool.run(time.sleep, 0.3)) for _ in range(4)]
            await asyncio.sleep(0)
            assert pool.waiting == 3 and pool.backlogged
            order: list[str] = []
            requests = {name: Request(f"http://127.0.0.1/{name}") for name in ("a1", "b1", "a2")}

            def let_in(gate, name):
                task = asyncio.ensure_future(gate.process_request(requests[name]))
                task.add_done_callback(lambda _task: order.append(name))
                return task

            a1, b1 = let_in(first, "a1"), let_in(second, "b1")
            await asyncio.sleep(0.05)
            assert order == []  # held while the pool is backlogged
            await _until(lambda: not pool.backlogged)
            await _until(lambda: a1.done() and b1.done())
            assert order == ["a1", "b1"]
            a2 = let_in(first, "a2")  # the pool has room, but the crawler has its share in
            await asyncio.sleep(0.05)
            assert not a2.done()
            assert first.process_response(requests["a1"], "its answer") == "its answer"
            await _until(a2.done)
            await asyncio.gather(*calls)
            assert order == ["a1", "b1", "a2"]
            return order
        finally:
            pool.close()

    asyncio.run(scenario())


def test_a_request_held_when_the_crawl_stops_is_not_fetched():
    import asyncio

    from scrapy import Request

    from newscrawl.stop import NotFetched
    from pipelines.pool import DownloadBackpressure

    async def scenario() -> None:
        pool = WorkerPool(1, max_in_flight=1, backlog=1)
        try:
            crawl = _Crawl()
            gate = DownloadBackpressure(crawl, pool, 2)
            calls = [asyncio.ensure_future(pool.run(time.sleep, 0.3)) for _ in range(2)]
            await asyncio.sleep(0)
            held = asyncio.ensure_future(gate.process_request(Request("http://127.0.0.1/held")))
            await asyncio.sleep(0.05)
            assert not held.done()
            crawl.crawling = False  # a SIGTERM: the crawl is stopping
            await asyncio.gather(*calls)
            with pytest.raises(NotFetched):
                await held
            assert gate.admitted == 0  # it took no place in the downloader
        finally:
            pool.close()

    asyncio.run(scenario())
