"""A fleet of outlets in one crawl process (`newscrawl crawl`): each outlet keeps its own
politeness though they share a host, one pool serves them all, an outlet that fails
ends alone, and a SIGKILL mid-fleet loses and duplicates nothing."""

from __future__ import annotations

import json
import re
import socket
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
from newscrawl.outlets import Outlet
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets
from tests.test_cron import (assert_exactly_once, dead_outlet, output_lines, slow_articles,
                             wait_for)

pytestmark = pytest.mark.e2e  # real crawls of local sites, as cron runs them

SPECS = fixture_web_spec()


def fleet_command(tmp: Path, outlets_dir: Path, settings: dict | None = None, *args: str) -> list[str]:
    merged = {**FAST, "NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
              "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp / "archive", **(settings or {})}
    command = [sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--outlets-dir", str(outlets_dir), *args]
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    return command


def crawl_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    """The `scrapy crawl` processes under `newscrawl crawl`."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if "scrapy" in child.cmdline() and "crawl" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_outlets_sharing_a_host_each_keep_their_own_politeness_in_one_process(tmp_path):
    """Three outlets on 127.0.0.1 (different ports), a 0.5 s delay each: each outlet's
    requests are at least the delay apart, while the three outlets' waits overlap, so
    the fleet takes about as long as its busiest outlet, not as all three in a row. One
    crawl process, one pool of two workers, serves them."""
    delay = 0.5
    politeness = {"DOWNLOAD_DELAY": delay, "DOWNLOAD_DELAY_JITTER": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 4}
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in SPECS]
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served])
        proc = subprocess.Popen(fleet_command(tmp_path, outlets_dir, politeness), cwd=ROOT, env=scrapy_env(None),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen_processes = 0
        while proc.poll() is None:
            seen_processes = max(seen_processes, len(crawl_processes(proc)))
            time.sleep(0.2)
        out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    assert seen_processes == 1
    spans = {}
    for s in served:
        times = sorted(s.site.request_times)
        # Scrapy holds each request until `delay` after the previous one began; the
        # server notes a request when its thread gets to it, which on a busy machine can
        # be a few tenths of a second late. So any k requests in a row span at least
        # (k - 1) delays, less that lateness: a crawl without its delay fails at once.
        lateness = 0.45
        shortest = min(times[j] - times[i] - (j - i) * delay for i in range(len(times))
                       for j in range(i + 1, len(times)))
        assert shortest >= -lateness, (s.spec.name, shortest)
        spans[s.spec.name] = (times[0], times[-1], len(times))
        assert_exactly_once(tmp_path, s)
    busiest = max(n for _, _, n in spans.values())
    first = min(a for a, _, _ in spans.values())
    last = max(b for _, b, _ in spans.values())
    serial = sum(n - 1 for _, _, n in spans.values()) * delay
    assert last - first < serial * 0.6, (last - first, serial)  # the waits overlapped
    assert last - first >= (busiest - 1) * delay - 0.1
    for line in out.splitlines()[:-1]:
        assert " exit=0 " in line, out


def warning_count(log: str) -> int:
    """log_count/WARNING in the stats dumped at the end of an outlet's log."""
    found = re.findall(r"'log_count/WARNING': (\d+)", log)
    return int(found[-1]) if found else 0


def test_an_outlet_that_fails_ends_alone_and_the_others_finish(tmp_path):
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in SPECS[1:]]
        down = dead_outlet("down-outlet")
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served] + [down])
        proc = subprocess.run(fleet_command(tmp_path, outlets_dir, {"RETRY_TIMES": 0}), cwd=ROOT,
                              env=scrapy_env(None), capture_output=True, text=True, timeout=300)
    assert proc.returncode == exitcodes.FAILED, proc.stdout + proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()[:-1]}
    assert "exit=4" in lines["down-outlet"]
    down_log = next((tmp_path / "logs" / "down-outlet").glob("*.log")).read_text()
    failures = down_log.count("] WARNING: fetch failed")
    assert failures >= 2
    # Each outlet's stats count its own log lines, not the other outlets'.
    assert warning_count(down_log) >= failures
    for s in served:
        assert "exit=0" in lines[s.spec.name]
        assert_exactly_once(tmp_path, s)
        log = next((tmp_path / "logs" / s.spec.name).glob("*.log")).read_text()
        assert f"newscrawl-summary: outlet={s.spec.name} " in log
        assert "down-outlet" not in log  # an outlet's log holds its own lines
        assert warning_count(log) < failures
    assert proc.stdout.splitlines()[-1] == "newscrawl: 3 outlets: 1 failed, 2 ok; exit=4"


def test_a_fleet_killed_mid_crawl_gives_every_article_of_every_outlet_once(tmp_path):
    """SIGKILL to the crawl process while every outlet is part way, then the same command
    again: every article of every outlet is in the output exactly once, and each outlet's
    state agrees with its output (assert_exactly_once)."""
    settings = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": 2}
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in SPECS]
        for s in served:
            slow_articles(s, 0.5)
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served])
        proc = subprocess.Popen(fleet_command(tmp_path, outlets_dir, settings), cwd=ROOT, env=scrapy_env(None),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        wait_for(lambda: sum(len(output_lines(tmp_path, s.spec.name)) for s in served) >= 2, proc)
        crawler = crawl_processes(proc)
        assert len(crawler) == 1
        pool = crawler[0].children(recursive=True)
        crawler[0].kill()  # as the OOM killer would
        out, err = proc.communicate(timeout=60)
        _, alive = psutil.wait_procs(pool, timeout=15)
        assert not alive, f"left behind by the killed crawl: {[p.pid for p in alive]}"
        assert proc.returncode == exitcodes.FAILED, out + err
        assert all("exit=4" in line and "killed by SIGKILL" in line for line in out.splitlines()[:-1]), out
        partial = sum(len(output_lines(tmp_path, s.spec.name)) for s in served)
        again = subprocess.run(fleet_command(tmp_path, outlets_dir, settings), cwd=ROOT, env=scrapy_env(None),
                               capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert 0 < partial < sum(len(s.build.all_articles) for s in served)
    from tests.test_archive import archive_files, assert_articles_archived, warcio_check_cli

    for s in served:
        records = assert_exactly_once(tmp_path, s)
        # Each outlet's archive holds its own article pages, every one written archived, whole.
        archived = assert_articles_archived(tmp_path, s, records)
        assert all(url.startswith(s.build.base_url + "/") for url in archived)
        assert warcio_check_cli(archive_files(tmp_path, s.spec.name)).returncode == 0


@contextmanager
def hanging_outlet(name: str):
    """An outlet whose server accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            held.append(conn)

    threading.Thread(target=accept, name="hanging-server", daemon=True).start()
    host = f"127.0.0.1:{server.getsockname()[1]}"
    try:
        yield Outlet(name=name, display_name=name, domains=(host,), homepage=f"http://{host}/"), held
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_an_outlet_that_hangs_is_closed_by_its_time_limit_and_the_others_finish(tmp_path):
    """A site that accepts connections and never answers, in a fleet with a DOWNLOAD_TIMEOUT
    of an hour: its outlet is closed by its CLOSESPIDER_TIMEOUT, its downloads in flight
    given up with it (Scrapy alone waits for them, each up to DOWNLOAD_TIMEOUT: this test
    would time out), and it ends with exit 4 (no usable answer) while the other outlets
    write every article once; the fleet's code is then 4."""
    # The limit is every outlet's: long enough for the others to finish on a busy machine.
    settings = {"CLOSESPIDER_TIMEOUT": 45, "DOWNLOAD_TIMEOUT": 3600}
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in SPECS[:2]]
        hang, connections = stack.enter_context(hanging_outlet("hanging-outlet"))
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served] + [hang])
        proc = subprocess.run(fleet_command(tmp_path, outlets_dir, settings), cwd=ROOT, env=scrapy_env(None),
                              capture_output=True, text=True, timeout=300)
        assert connections, "the crawl never reached the hanging site"
    assert proc.returncode == exitcodes.FAILED, proc.stdout + proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()[:-1]}
    assert "exit=4" in lines["hanging-outlet"] and "within the time limit" in lines["hanging-outlet"]
    report = json.loads(next((tmp_path / "output" / "hanging-outlet" / "runs").glob("*.json")).read_text())
    assert report["finish_reason"] == "closespider_timeout"
    assert report["exit_code"] == exitcodes.FAILED
    for s in served:
        assert "exit=0" in lines[s.spec.name]
        assert json.loads(next((tmp_path / "output" / s.spec.name / "runs").glob("*.json")).read_text())[
            "finish_reason"] == "finished"
        assert_exactly_once(tmp_path, s)
    assert proc.stdout.splitlines()[-1] == "newscrawl: 3 outlets: 1 failed, 2 ok; exit=4"


def sqlite_files_open(process: psutil.Process) -> dict[str, int]:
    """How many times the process has each state file open (one per SQLite connection)."""
    counts: dict[str, int] = {}
    try:
        for f in process.open_files():
            if f.path.endswith(".sqlite"):
                counts[f.path] = counts.get(f.path, 0) + 1
    except psutil.Error:
        pass
    return counts


def test_a_fleet_holds_one_connection_per_state_file(tmp_path):
    """Each outlet's components (its ledger, its learned boilerplate) share one connection
    to its state file, and every outlet's crawler one connection to the global dedupe
    state: a fleet of N outlets holds N + 1, where it held three per outlet."""
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in SPECS]
        for s in served:
            slow_articles(s, 0.3)
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served])
        proc = subprocess.Popen(fleet_command(tmp_path, outlets_dir), cwd=ROOT, env=scrapy_env(None),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        most: dict[str, int] = {}
        while proc.poll() is None:
            for crawler in crawl_processes(proc):
                for path, n in sqlite_files_open(crawler).items():
                    most[path] = max(n, most.get(path, 0))
            time.sleep(0.05)
        out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    names = {Path(p).stem for p in most}
    assert names == {s.spec.name for s in served} | {"_global"}, most
    assert set(most.values()) == {1}, most
    for s in served:
        assert_exactly_once(tmp_path, s)
