"""Faults of the machine, end to end through `newscrawl crawl` as cron runs it: the state
store unreachable or lost mid-crawl (exit 7), the output or state folder full or read-only
(exit 8); each one line on stderr naming the thing and the cause, no traceback on the
terminal, and the next run, with the fault gone, writes every article exactly once.

Only 127.0.0.1 is contacted. The full disk is a small tmpfs (skipped where mounting is
not permitted); the lost store is a real redis-server started here on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newscrawl import exitcodes
from newscrawl.demo import fixture_web_spec, serve_outlet
from newscrawl.ledger import OutletLedger
from newscrawl.state import RedisStateStore
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets
from tests.test_cron import article_requests, assert_exactly_once, free_port, output_lines, slow_articles

pytestmark = pytest.mark.e2e  # real crawls, child processes and local servers

REGIONAL, PAPER, URDU = fixture_web_spec()


def crawl_command(tmp: Path, outlet, settings: dict | None = None) -> list[str]:
    outlets_dir = write_outlets(tmp / "outlets", [outlet])
    merged = {**FAST, "NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
              "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp / "archive", **(settings or {})}
    command = [sys.executable, "-m", "newscrawl.cli", "crawl", outlet.name, "--outlets-dir", str(outlets_dir)]
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    return command


def newscrawl_crawl(tmp: Path, outlet, settings: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(crawl_command(tmp, outlet, settings), cwd=ROOT, env=scrapy_env(None),
                          capture_output=True, text=True, timeout=300)


def last_log(tmp: Path, outlet: str) -> str:
    return sorted((tmp / "logs" / outlet).glob("*.log"))[-1].read_text()


def assert_fault(proc: subprocess.CompletedProcess, code: int, line: str) -> None:
    """Exit code, the one line on stderr, no traceback on the terminal."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [line], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].endswith(f"exit={code}"), proc.stdout


# --------------------------------------------------------------------------- a small file system


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs to stand in for a full disk: {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fills the file system of `folder`, leaving about `leave` bytes free."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while (free := shutil.disk_usage(folder).free) > leave:
            try:
                os.write(fd, b"\0" * min(64 * 1024, max(512, free - leave)))
            except OSError:
                break
    finally:
        os.close(fd)
    return filler

# --------------------------------------------------------------------------- the state store


def test_unreachable_store_exits_7_with_one_line_naming_it(tmp_path):
    port = free_port()  # nothing listens there
    with serve_outlet(URDU) as served:
        proc = newscrawl_crawl(tmp_path, served.outlet, {"NEWSCRAWL_STATE_URL": f"redis://:secret@127.0.0.1:{port}/0"})
        assert not served.site.requests, "a crawl without its store fetched pages"
    assert_fault(proc, exitcodes.STORE,
                 f"newscrawl: {URDU.name}: state store redis://127.0.0.1:{port}/0 unreachable: Connection refused (exit 7)")
    assert "secret" not in proc.stdout + proc.stderr
    log = last_log(tmp_path, URDU.name)
    assert "Traceback" in log and "ConnectionRefusedError" in log  # the full story is in the log
    assert "AssertionError" not in log and "never awaited" not in log
    assert "exit=7 (store: state store" in log
    assert not list((tmp_path / "output" / URDU.name).glob("runs/*.json")), "a run that crawled nothing reported"


@contextlib.contextmanager
def redis_server(port: int):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


def test_store_lost_mid_crawl_exits_7_and_the_next_run_loses_nothing(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    # One page at a time, each slow: the store goes while most articles are still to come.
    settings = {"NEWSCRAWL_STATE_URL": url, "NEWSCRAWL_OUTPUT_BATCH_RECORDS": "1", "CONCURRENT_REQUESTS": "1",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
    name = REGIONAL.name
    written = lambda: sum(len(p.read_bytes().splitlines()) for p in (tmp_path / "output" / name).glob("*/*.jsonl"))
    with serve_outlet(REGIONAL) as served:
        slow_articles(served, 0.3)
        with redis_server(port) as server:
            proc = subprocess.Popen(crawl_command(tmp_path, served.outlet, settings), cwd=ROOT, env=scrapy_env(None),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 120
            while written() < 2:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "no article written"
                time.sleep(0.02)
            server.terminate()  # the store goes away mid-crawl (its data with it: --save '')
            server.wait(timeout=20)
            stdout, stderr = proc.communicate(timeout=120)
        lost = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        # The open connection breaks ("closed by server", "reset by peer"), or the next one
        # is refused: which one depends on where the crawl was when the store went.
        causes = ("Connection closed by server", "Connection reset by peer", "Connection refused")
        cause = next((c for c in causes if c in stderr), causes[-1])
        assert_fault(lost, exitcodes.STORE, f"newscrawl: {name}: state store {url} lost mid-crawl: {cause} (exit 7)")
        partial = written()
        assert 2 <= partial < len(served.build.all_articles), partial
        assert "Traceback" in last_log(tmp_path, name)
        # The store is back (empty: it kept nothing); the next run rebuilds the ledger from
        # the output and writes the rest, each article once.
        with redis_server(port):
            again = newscrawl_crawl(tmp_path, served.outlet, settings)
            assert again.returncode == 0, again.stdout + again.stderr + last_log(tmp_path, name)[-3000:]
            store = RedisStateStore(url, prefix=f"newscrawl:{name}")
            try:
                ledger = {u: e["r"] for u, e in OutletLedger(store, name, tmp_path / "output").written().items()}
            finally:
                store.close()
    records = output_lines(tmp_path, name)
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), "an article was written twice"
    assert set(urls) == served.build.all_articles
    assert ledger == {u: 1 for u in urls}


# --------------------------------------------------------------------------- the output and state folders


def test_full_output_folder_exits_8_and_the_next_run_writes_each_article_once(tmp_path):
    name = REGIONAL.name
    out_dir = tmp_path / "output" / name
    settings = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
    with tmpfs(tmp_path / "output", "256k") as output, serve_outlet(REGIONAL) as served:
        # 1. Full before the crawl starts: nothing is fetched.
        filler = fill(output)
        proc = newscrawl_crawl(tmp_path, served.outlet, settings)
        assert_fault(proc, exitcodes.STORAGE,
                     f"newscrawl: {name}: output folder {out_dir} full: No space left on device (ENOSPC) (exit 8)")
        assert not article_requests(served)
        # 2. Full part way through: the crawl stops, what was published stays.
        filler.unlink()
        filler = fill(output, leave=48 * 1024)
        proc = newscrawl_crawl(tmp_path, served.outlet, settings)
        assert_fault(proc, exitcodes.STORAGE,
                     f"newscrawl: {name}: output folder {out_dir} full: No space left on device (ENOSPC) (exit 8)")
        partial = output_lines(tmp_path, name)
        assert 0 < len(partial) < len(served.build.all_articles), len(partial)
        assert not list(out_dir.rglob(".*.tmp")), "a failed publish left its temporary file"
        log = last_log(tmp_path, name)
        assert "Traceback" in log and "Scraper close failure" not in log
        # 3. Space again: every article exactly once, the state agreeing with the output.
        filler.unlink()
        served.site.clear_requests()
        proc = newscrawl_crawl(tmp_path, served.outlet, settings)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stderr == ""
        assert_exactly_once(tmp_path, served)
        fetched_again = set(article_requests(served))
        assert not fetched_again & {r["url"][len(served.build.base_url):] for r in partial}, \
            "an article written before the fault was fetched again"


def crawl_with_read_only(tmp: Path, folder: Path) -> subprocess.CompletedProcess:
    """`newscrawl crawl` of an outlet with `folder` on a read-only file system: it fetches
    nothing."""
    with tmpfs(folder, "64k"):
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with serve_outlet(URDU) as served:
            proc = newscrawl_crawl(tmp, served.outlet)
            assert not served.site.requests
    return proc


def test_read_only_state_folder_exits_8_naming_it(tmp_path):
    state = tmp_path / "state"
    proc = crawl_with_read_only(tmp_path, state)
    assert_fault(proc, exitcodes.STORAGE,
                 f"newscrawl: {URDU.name}: state folder {state} unwritable: Read-only file system (EROFS) (exit 8)")


def test_read_only_log_folder_exits_8_naming_it(tmp_path):
    logs = tmp_path / "logs"
    proc = crawl_with_read_only(tmp_path, logs)
    assert proc.returncode == exitcodes.STORAGE, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"newscrawl: {URDU.name}: log folder {logs / URDU.name} unwritable: ")
    assert proc.stderr.rstrip().endswith("(exit 8)") and "Traceback" not in proc.stderr
