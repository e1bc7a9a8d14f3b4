"""SIGTERM and SIGINT, end to end: real `newscrawl crawl` and `scrapy crawl` processes
against fixture outlets on 127.0.0.1, stopped mid-crawl by a real signal. The outlets'
article pages are held back until the test lets them go, so each crawl is mid-way,
with downloads in flight, when the signal comes.

What must hold: the exit code 9, a line per outlet, no process of the crawl left once it
has stopped (its `scrapy crawl` children, their fork servers and workers), the outlet
locks free, and the next run writing every article exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil
import pytest

from newscrawl import exitcodes
from newscrawl.demo import fixture_web_spec, serve_outlet
from newscrawl.lock import OutletLock
from newscrawl.runreport import exit_status
from newscrawl.stop import stop_timeout
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets
from tests.test_cron import article_paths, article_requests, assert_exactly_once, output_lines, reports, start_crawl

pytestmark = pytest.mark.e2e  # real crawls, child processes and local servers

SPECS = fixture_web_spec()  # three outlets, crawled side by side in one crawl process
STOP_TIMEOUT = 10  # long enough for a graceful stop on a busy machine


def hold_articles(served, released: threading.Event) -> None:
    """Article pages are answered only once `released` is set."""
    for path in article_paths(served):
        page = served.site.routes[path]
        served.site.routes[path] = lambda request, page=page: (released.wait(120), page)[1]


@contextmanager
def held_fleet():
    """The three fixture outlets, their article pages held back until the Event yielded
    with them is set."""
    released = threading.Event()
    with ExitStack() as stack:
        fleet = [stack.enter_context(serve_outlet(spec)) for spec in SPECS]
        stack.callback(released.set)  # first thing on the way out, before the sites stop
        for served in fleet:
            hold_articles(served, released)
        yield {served.spec.name: served for served in fleet}, released


def crawl_command(tmp: Path, outlets_dir: Path) -> list[str]:
    settings = {**FAST, "NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
                "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp / "archive",
                "NEWSCRAWL_OUTPUT_BATCH_RECORDS": 2}
    command = [sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--outlets-dir", str(outlets_dir)]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    return command


def start_fleet(tmp: Path, served: dict, stop_timeout_s: float = STOP_TIMEOUT) -> subprocess.Popen:
    outlets_dir = write_outlets(tmp / "outlets", [s.outlet for s in served.values()])
    env = {**scrapy_env(None), "NEWSCRAWL_STOP_TIMEOUT": str(stop_timeout_s)}
    return subprocess.Popen(crawl_command(tmp, outlets_dir), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def ours(tmp: Path) -> list[psutil.Process]:
    """Every live process that belongs to this test's crawls: its command line or its
    environment names the test's folder (the children inherit NEWSCRAWL_OUTLETS_DIR, their
    fork servers and workers too)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + " ".join(f"{k}={v}" for k, v in proc.environ().items())
        except psutil.Error:
            continue
        if str(tmp) in text:
            found.append(proc)
    return found


def assert_nothing_left(tmp: Path, snapshot: list[psutil.Process]) -> None:
    """No process of the crawl is left: none of those seen while it ran, none that names
    the test's folder. (A second for init to reap those the parent did not.)"""
    _, alive = psutil.wait_procs(snapshot, timeout=3)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running: {[(p.pid, p.cmdline()[:4]) for p in alive]}"
    left = ours(tmp)
    assert not left, f"left running: {[(p.pid, p.cmdline()[:4]) for p in left]}"


def assert_locks_free(tmp: Path, names) -> None:
    for name in names:
        OutletLock(tmp / "state", name).acquire().release()  # raises LockHeld when held


def family(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []


def wait_until(condition, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the crawl ended before the signal: " + "".join(proc.communicate())
        assert time.monotonic() < deadline, "the crawls never got going"
        time.sleep(0.05)


def mid_crawl(served: dict, proc: subprocess.Popen) -> list:
    """Waits until every outlet is fetching articles and the pool is up; returns every
    process of the fleet then."""
    wait_until(lambda: all(len(article_requests(s)) >= 2 for s in served.values()), proc)
    # The crawl process, its resource tracker, its fork server, two workers: one pool
    # serves every outlet.
    wait_until(lambda: len(family(proc)) >= 5, proc)
    return family(proc)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str, str, float]:
    started = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, out, err, time.monotonic() - started


def outlet_lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("fixture-")}


def rerun_to_the_end(tmp: Path, served: dict) -> None:
    """The same command again, to the end: every outlet ends 0 and writes every article
    exactly once over both runs (none lost, none duplicated)."""
    proc = subprocess.run(crawl_command(tmp, tmp / "outlets"), cwd=ROOT, env=scrapy_env(None), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for s in served.values():
        assert_exactly_once(tmp, s)


# --------------------------------------------------------------------------- newscrawl crawl


def test_sigterm_stops_a_fleet_crawl_gracefully(tmp_path):
    with held_fleet() as (served, released):
        proc = start_fleet(tmp_path, served)
        snapshot = mid_crawl(served, proc)
        # Twice at once, as `timeout` sends it (to the process, then to its group): one stop.
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        released.set()  # the downloads in flight complete
        code, out, err, took = finish(proc, STOP_TIMEOUT + 60)
        assert code == exitcodes.INTERRUPTED, out + err
        assert took < STOP_TIMEOUT + 10, took
        assert "SIGTERM received: stopping 1 crawl process (up to" in err
        lines = outlet_lines(out)
        assert set(lines) == set(served), out
        assert all("exit=9" in line for line in lines.values()), out
        # Every outlet stopped gracefully: what was in flight was written and reported.
        for name in served:
            assert "(interrupted: stopped by a signal before the end)" in lines[name], lines[name]
            assert reports(tmp_path, name)[-1]["exit_status"] == "interrupted"
            assert len(output_lines(tmp_path, name)) >= 2  # at least the articles in flight
            log = (tmp_path / "logs" / name).glob("*.log")
            assert "newscrawl-summary: outlet=" + name in next(log).read_text()
        assert out.splitlines()[-1] == "newscrawl: 3 outlets: 3 interrupted; stopped by SIGTERM; exit=9"
        assert_nothing_left(tmp_path, snapshot)
        assert_locks_free(tmp_path, served)
        rerun_to_the_end(tmp_path, served)


def test_a_second_signal_stops_the_fleet_at_once(tmp_path):
    # The article pages in flight never come: a graceful stop would wait for them.
    with held_fleet() as (served, released):
        proc = start_fleet(tmp_path, served, stop_timeout_s=120)
        snapshot = mid_crawl(served, proc)
        proc.send_signal(signal.SIGINT)
        time.sleep(1.5)
        assert proc.poll() is None, "stopped before the second signal"
        proc.send_signal(signal.SIGINT)
        code, out, err, took = finish(proc, 60)
        assert code == exitcodes.INTERRUPTED, out + err
        assert took < 10, took
        assert "SIGINT again: killing the running crawls" in err
        lines = outlet_lines(out)
        assert set(lines) == set(served) and all("exit=9" in line for line in lines.values()), out
        for name in served:
            assert "interrupted: killed on a second SIGINT" in lines[name], lines[name]
        assert_nothing_left(tmp_path, snapshot)
        assert_locks_free(tmp_path, served)
        released.set()
        rerun_to_the_end(tmp_path, served)


def test_a_crawl_that_does_not_stop_in_time_is_killed_with_its_pool(tmp_path):
    with held_fleet() as (served, released):
        proc = start_fleet(tmp_path, served, stop_timeout_s=3)
        snapshot = mid_crawl(served, proc)
        proc.send_signal(signal.SIGTERM)
        code, out, err, took = finish(proc, 60)
        assert code == exitcodes.INTERRUPTED, out + err
        assert 3 <= took < 3 + 10, took
        lines = outlet_lines(out)
        assert set(lines) == set(served) and all("exit=9" in line for line in lines.values()), out
        assert_nothing_left(tmp_path, snapshot)
        assert_locks_free(tmp_path, served)
        released.set()
        rerun_to_the_end(tmp_path, served)  # killed, not stopped: still nothing lost or written twice


# --------------------------------------------------------------------------- scrapy crawl alone


def test_sigterm_stops_scrapy_crawl_gracefully(tmp_path):
    spec = SPECS[0]  # fixture-regional
    released = threading.Event()
    with serve_outlet(spec) as served, ExitStack() as stack:
        stack.callback(released.set)
        hold_articles(served, released)
        proc = start_crawl(served.outlet, tmp_path, {"NEWSCRAWL_STOP_TIMEOUT": STOP_TIMEOUT})
        wait_until(lambda: len(article_requests(served)) >= 3 and len(family(proc)) >= 4, proc)
        pool = family(proc)
        proc.send_signal(signal.SIGTERM)
        released.set()
        assert proc.wait(timeout=STOP_TIMEOUT + 30) == exitcodes.INTERRUPTED
        _, alive = psutil.wait_procs(pool, timeout=3)
        assert not alive, f"outlived the crawl: {[p.pid for p in alive]}"
        report = reports(tmp_path, spec.name)[-1]
        assert report["exit_status"] == "interrupted" and report["finish_reason"] == "shutdown"
        written = len(output_lines(tmp_path, spec.name))
        assert written == report["articles"]["new"] > 0  # what was in flight, held articles included
        assert_locks_free(tmp_path, [spec.name])


# --------------------------------------------------------------------------- pieces


def test_an_interrupted_crawl_reports_exit_code_9():
    stats = {"newscrawl/responses/ok": 0, "spider_exceptions/ValueError": 1}
    assert exit_status(stats, [], "shutdown") == (exitcodes.INTERRUPTED, "stopped by a signal before the end")
    assert exitcodes.combined([exitcodes.OK, exitcodes.ERROR, exitcodes.INTERRUPTED]) == exitcodes.INTERRUPTED


def test_stop_timeout_from_the_setting_the_environment_and_the_command_line(monkeypatch):
    from scrapy.settings import Settings

    monkeypatch.delenv("NEWSCRAWL_STOP_TIMEOUT", raising=False)
    project = Settings({"NEWSCRAWL_STOP_TIMEOUT": 30}, priority="project")
    assert stop_timeout(project) == 30
    monkeypatch.setenv("NEWSCRAWL_STOP_TIMEOUT", "5")
    assert stop_timeout(project) == 5
    project.set("NEWSCRAWL_STOP_TIMEOUT", "2.5", priority="cmdline")
    assert stop_timeout(project) == 2.5
    monkeypatch.setenv("NEWSCRAWL_STOP_TIMEOUT", "soon")
    with pytest.raises(exitcodes.ConfigError):
        stop_timeout(Settings({"NEWSCRAWL_STOP_TIMEOUT": 30}, priority="project"))
