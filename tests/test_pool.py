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
