"""Cron-grade crawls, end to end through real `scrapy crawl` processes against the
fixture web: incremental re-runs, revisions, SIGKILL at several points, the outlet lock,
every exit code, run reports and the health check."""

from __future__ import annotations

import html
import json
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newscrawl import exitcodes, sitegen
from newscrawl.demo import demo_spec, fixture_web_spec, serve_outlet
from newscrawl.ledger import OutletLedger
from newscrawl.outlets import Outlet
from newscrawl.state import SQLiteStateStore
from newscrawl.webserver import LocalSite, Page
from tests.crawling import FAST, ROOT, crawl, run_scrapy, scrapy_env, write_outlets

pytestmark = pytest.mark.e2e  # real crawls, run as cron runs them

REGIONAL, PAPER, URDU = fixture_web_spec()


# --------------------------------------------------------------------------- helpers


def article_paths(served) -> set[str]:
    return {url[len(served.build.base_url):] for url in served.build.all_articles}


def article_requests(served) -> list[str]:
    paths = article_paths(served)
    return [p for p in served.site.requested_paths() if p in paths]


def slow_articles(served, delay: float) -> None:
    for path in article_paths(served):
        served.site.routes[path] = replace(served.site.routes[path], delay=delay)


def output_lines(tmp: Path, outlet: str) -> list[dict]:
    """Every line of the outlet's article files, as a reader that globs the day folders
    reads them, strictly: a torn or unreadable line fails."""
    records = []
    for path in sorted((tmp / "output" / outlet).glob("*/*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path} is empty or ends inside a line"
        records += [json.loads(line) for line in data.splitlines()]
    return records


def ledger_written(tmp: Path, outlet: str) -> dict[str, dict]:
    store = SQLiteStateStore(tmp / "state" / f"{outlet}.sqlite")
    try:
        return OutletLedger(store, outlet, tmp / "output").written()
    finally:
        store.close()


def assert_exactly_once(tmp: Path, served) -> list[dict]:
    name = served.spec.name
    records = output_lines(tmp, name)
    urls = [r["url"] for r in records]
    versions = [(r["url"], r.get("revision", 1)) for r in records]
    assert len(versions) == len(set(versions)), "an article was written twice"
    rejected = {json.loads(line)["url"] for p in (tmp / "output" / name / "rejects").glob("*/*.jsonl")
                for line in p.read_text().splitlines()}
    assert set(urls) | rejected == served.build.all_articles
    # The state agrees with the output: the same articles, the same revisions.
    latest = {}
    for url, revision in versions:
        latest[url] = max(revision, latest.get(url, 0))
    assert {u: e["r"] for u, e in ledger_written(tmp, name).items()} == latest
    return records


def start_crawl(outlet: Outlet, tmp: Path, settings: dict | None = None) -> subprocess.Popen:
    outlets_dir = write_outlets(tmp / "outlets", [outlet])
    merged = {**FAST, "NEWSCRAWL_OUTPUT_DIR": str(tmp / "output"), "NEWSCRAWL_STATE_DIR": str(tmp / "state"),
              "NEWSCRAWL_ARCHIVE_DIR": str(tmp / "archive"), **(settings or {})}
    command = [sys.executable, "-m", "scrapy", "crawl", outlet.name]
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    with open(tmp / f"{outlet.name}-{time.monotonic_ns()}.log", "wb") as log:  # the child keeps its own copy
        return subprocess.Popen(command, cwd=ROOT, env=scrapy_env(tmp / "outlets"), stdout=log,
                                stderr=subprocess.STDOUT)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the crawl ended before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.02)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the crawl; its worker pool (fork server, workers) must not outlive it."""
    import psutil

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, alive = psutil.wait_procs(descendants, timeout=15)
    assert not alive, f"left behind by a killed crawl: {[p.pid for p in alive]}"


def strip_dates(served) -> None:
    """The outlet's redesign drops every date from its pages, feeds and sitemaps."""
    patterns = [rb'<meta property="article:(published|modified)_time"[^>]*>', rb'"date(Published|Modified)": "[^"]*", ',
                rb'<time[^>]*>.*?</time>', rb'<span class="today">[^<]*</span>', rb'/20\d\d/\d\d/',
                rb'<(pubDate|published|updated|dc:date|news:publication_date|lastmod)>[^<]*</\1>',
                "© 20".encode() + rb"\d\d"]
    for path, page in list(served.site.routes.items()):
        if isinstance(page, Page) and isinstance(page.body, bytes) and not path.endswith(".gz"):
            body = page.body
            for pattern in patterns:
                body = re.sub(pattern, b"/" if pattern.startswith(rb"/") else b"", body)
            served.site.routes[path] = replace(page, body=body)


CORRECTION = " A correction was added to this story after it was first published, with new details."


def change_article(served, url: str, new_lastmod: str | None = None) -> None:
    """Adds a sentence to the story's last paragraph; with new_lastmod, also moves its lastmod
    in the sitemap that lists it."""
    path = url[len(served.build.base_url):]
    page = served.site.routes[path]
    last = html.escape(served.build.truth[url].split("\n\n")[-1], quote=False).encode()
    assert last in page.body
    served.site.routes[path] = replace(page, body=page.body.replace(last, last + CORRECTION.encode()))
    if new_lastmod:
        entry = f"<loc>{url}</loc><lastmod>".encode()
        for route, sitemap in list(served.site.routes.items()):
            if isinstance(sitemap, Page) and isinstance(sitemap.body, bytes) and entry in sitemap.body:
                body = re.sub(re.escape(entry) + rb"[^<]*", entry + new_lastmod.encode(), sitemap.body)
                served.site.routes[route] = replace(sitemap, body=body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_outlet(name: str) -> Outlet:
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    return Outlet(name=name, display_name=name, domains=(host,), homepage=f"http://{host}/")


def reports(tmp: Path, outlet: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp / "output" / outlet / "runs").glob("*.json"))]


def reset(tmp: Path, outlet: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscrawl.cli", "reset", outlet, *args,
                           "-s", f"NEWSCRAWL_OUTPUT_DIR={tmp / 'output'}", "-s", f"NEWSCRAWL_STATE_DIR={tmp / 'state'}"],
                          cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- incremental


def test_second_run_fetches_only_new_articles(tmp_path):
    extra = 3
    first = replace(REGIONAL, articles=REGIONAL.articles[:-extra])
    with serve_outlet(first) as served:
        crawl(served.outlet, tmp_path)
        known = set(article_paths(served))
        # The outlet publishes three more stories; everything else is as it was.
        grown = sitegen.build_site(REGIONAL, served.site.url)
        served.site.routes.update(grown.routes)
        served.build = grown
        served.site.clear_requests()
        run = crawl(served.outlet, tmp_path)
    fetched = article_requests(served)
    new = article_paths(served) - known
    assert len(new) == extra
    assert sorted(fetched) == sorted(new), "a known article was fetched again, or a new one twice"
    assert_exactly_once(tmp_path, served)
    last = reports(tmp_path, first.name)[-1]
    # Skips count request URLs; an article reachable under two URLs counts twice.
    assert last["articles"]["new"] == extra and last["articles"]["skipped"] >= len(known)
    assert last["exit_code"] == 0 and re.search(r"newscrawl-summary: outlet=fixture-regional exit=0 .* new=3 ", run.log)


def test_changed_article_comes_out_again_as_revision_2(tmp_path):
    with serve_outlet(REGIONAL) as served:
        crawl(served.outlet, tmp_path)
        by_lastmod = sorted(served.build.expected[sitegen.ROBOTS_SITEMAP])[0]
        by_etag = sorted(served.build.expected[sitegen.RSS])[0]  # feeds carry no lastmod
        time.sleep(1.1)  # a lastmod a whole second after the fetch: a change since
        change_article(served, by_lastmod, new_lastmod=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        change_article(served, by_etag)
        served.site.clear_requests()
        # Known articles are rechecked with a conditional GET: unchanged ones answer 304.
        run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_RECHECK_AFTER": "0.001"})
    records = assert_exactly_once(tmp_path, served)
    changed = {r["url"]: r for r in records if r.get("revision", 1) == 2}
    assert set(changed) == {by_lastmod, by_etag}
    for record in changed.values():
        assert record["text"].endswith(CORRECTION.strip()) and record["modified_at"]
    originals = [r for r in records if r["url"] in changed and r.get("revision", 1) == 1]
    assert len(originals) == 2 and all(CORRECTION.strip() not in r["text"] for r in originals)
    conditional = [h for _, p, h in served.site.requests if "If-None-Match" in h]
    assert conditional, "known articles were refetched without a conditional GET"
    assert run.stat("newscrawl/incremental/not_modified") >= len(served.build.all_articles) - 3
    assert run.stat("newscrawl/incremental/changed") == 1  # by_lastmod, for its lastmod alone
    assert reports(tmp_path, REGIONAL.name)[-1]["articles"]["changed"] == 2


def list_in_pages_sitemap(served, lastmods: dict[str, str]) -> None:
    """The outlet's robots-named sitemap (until now: only its home and section pages) lists
    these articles with these lastmods."""
    rows = "".join(f"<url><loc>{html.escape(url)}</loc><lastmod>{lastmod}</lastmod></url>\n"
                   for url, lastmod in lastmods.items())
    served.site.routes["/sitemap-pages.xml"] = Page(
        ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
         + rows + "</urlset>\n").encode(), content_type="application/xml")


def test_a_sitemap_lastmod_refetches_an_article_found_elsewhere_only_when_later_than_its_fetch(tmp_path):
    # Every article is found through the homepage or a feed, which carry no lastmod.
    spec = replace(REGIONAL, articles=tuple(replace(a, via=(sitegen.HOMEPAGE, sitegen.RSS)[i % 2])
                                            for i, a in enumerate(REGIONAL.articles)))
    with serve_outlet(spec) as served:
        crawl(served.outlet, tmp_path)
        settled = {url: e for url, e in ledger_written(tmp_path, spec.name).items()}
        assert settled and not any(e.get("m") for e in settled.values())
        # A whole second after every fetch of this run, and not after the next run's.
        time.sleep(1.1)
        later = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        urls = sorted(settled)
        changed, same_day, naive, garbage = urls[:4]
        fetch_day = datetime.fromtimestamp(settled[same_day]["c"], timezone.utc).date().isoformat()
        # The sitemap now lists them, each dated before its fetch but one.
        lastmods = {url: served.build.articles[url].modified for url in urls}
        lastmods.update({changed: later, same_day: fetch_day, naive: "2026-01-29T08:00:00", garbage: "soon"})
        list_in_pages_sitemap(served, lastmods)
        change_article(served, changed)
        served.site.clear_requests()
        second = crawl(served.outlet, tmp_path)
        refetched = article_requests(served)
        # The sitemap says the same again; an unreadable lastmod that changes counts as a change.
        list_in_pages_sitemap(served, {**lastmods, garbage: "sooner"})
        served.site.clear_requests()
        third = crawl(served.outlet, tmp_path)
        refetched_third = article_requests(served)
    path = lambda url: url[len(served.build.base_url):]
    assert refetched == [path(changed)], "an article was downloaded again for a lastmod before its fetch"
    assert (second.stat("newscrawl/incremental/changed"), second.stat("newscrawl/incremental/recheck")) == (1, 0)
    assert second.stat("newscrawl/incremental/skipped") == len(served.build.all_articles)  # each once
    assert refetched_third == [path(garbage)]  # not `changed`: its lastmod is now before its fetch
    assert third.stat("newscrawl/incremental/changed") == 1
    records = assert_exactly_once(tmp_path, served)
    assert [r["url"] for r in records if r["revision"] == 2] == [changed]
    # Each entry keeps the lastmod it was last compared with.
    assert {u: e.get("m") for u, e in ledger_written(tmp_path, spec.name).items()} == \
        {**lastmods, garbage: "sooner"}


# --------------------------------------------------------------------------- crash safety


def test_crawl_killed_at_several_points_gives_each_article_once(tmp_path):
    with serve_outlet(demo_spec()) as served:
        slow_articles(served, 0.15)
        name, out_dir = served.outlet.name, tmp_path / "output" / served.outlet.name
        small_batches = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}  # records published two at a time
        written = lambda: sum(len(p.read_bytes().splitlines()) for p in out_dir.glob("*/*.jsonl"))
        # 1. While the first articles are fetched (and held by the boilerplate warm-up).
        proc = start_crawl(served.outlet, tmp_path, small_batches)
        wait_for(lambda: len(article_requests(served)) >= 5, proc)
        kill(proc)
        assert written() == 0, "held articles were written before the warm-up completed"
        # 2. As soon as articles are being written.
        proc = start_crawl(served.outlet, tmp_path, small_batches)
        wait_for(lambda: written() >= 1, proc)
        kill(proc)
        # A kill inside a publish leaves the part under its temporary name, with a torn line.
        part = sorted(out_dir.glob("*/*.jsonl"))[-1]
        (part.parent / ".part-20260101T000000000Z-0badc0de-000001.tmp").write_bytes(
            part.read_bytes() + b'{"schema_version":1,"id":"torn","url":"http://tor')
        # 3. Part way through the rest.
        before = len(article_requests(served))
        proc = start_crawl(served.outlet, tmp_path, small_batches)
        wait_for(lambda: len(article_requests(served)) >= before + 6, proc)
        kill(proc)
        partial = written()
        # 4. The same command again, to the end.
        run = crawl(served.outlet, tmp_path, small_batches)
    assert 0 < partial < len(served.build.all_articles), partial
    assert_exactly_once(tmp_path, served)
    assert not list(out_dir.rglob(".*.tmp"))


def test_state_lost_is_rebuilt_from_the_output(tmp_path):
    """The output is the source of truth: with the outlet's state gone, the next run
    replays the output into it and fetches no known article again."""
    with serve_outlet(URDU) as served:
        crawl(served.outlet, tmp_path)
        for path in (tmp_path / "state").glob(f"{URDU.name}.sqlite*"):
            path.unlink()
        served.site.clear_requests()
        run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_INCREMENTAL": "False"})
    assert run.stat("newscrawl/ledger/replayed") == len(served.build.all_articles)
    assert run.stat("newscrawl/duplicates/url") == len(served.build.all_articles)
    assert_exactly_once(tmp_path, served)
    # Each drop is logged at INFO by the article's URL, not as a warning printing the item
    # (with its page's HTML).
    dropped = re.findall(r"INFO: Dropped: duplicate \(url\): (\S+)\n<(\S+)> \(" + re.escape(URDU.name), run.log)
    assert len(dropped) == len(served.build.all_articles) and all(a == b for a, b in dropped)
    assert "<html" not in run.log.lower() and "WARNING: Dropped" not in run.log


# --------------------------------------------------------------------------- lock


def test_second_crawl_of_a_running_outlet_exits_with_the_lock_code(tmp_path):
    with serve_outlet(REGIONAL) as busy, serve_outlet(URDU) as other:
        slow_articles(busy, 1.5)
        proc = start_crawl(busy.outlet, tmp_path)
        wait_for(lambda: len(article_requests(busy)) >= 2, proc)
        requests_before = len(busy.site.requests)
        second = run_scrapy(["crawl", busy.outlet.name], tmp_path, write_outlets(tmp_path / "outlets", [busy.outlet]))
        assert second.returncode == exitcodes.LOCKED, second.log[-2000:]
        assert "already being crawled" in second.log
        assert second.stat("newscrawl/workers/started") == 0  # no worker for a run that cannot crawl
        assert proc.poll() is None, "the first crawl should still be running"
        # Another outlet runs side by side.
        side = crawl(other.outlet, tmp_path)
        assert side.returncode == 0
        assert side.stat("newscrawl/workers/started") == 2
        assert proc.wait(timeout=120) == 0
    assert len(busy.site.requests) > requests_before
    assert_exactly_once(tmp_path, busy)
    assert len(reports(tmp_path, REGIONAL.name)) == 1  # the refused run did not report


def compact(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscrawl.cli", "compact", *args,
                           "-s", f"NEWSCRAWL_OUTPUT_DIR={tmp / 'output'}", "-s", f"NEWSCRAWL_STATE_DIR={tmp / 'state'}"],
                          cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=60)


def test_compact_waits_for_the_crawl_and_the_next_crawl_finds_its_day_as_it_left_it(tmp_path):
    with serve_outlet(demo_spec()) as served:
        slow_articles(served, 0.5)
        name, out_dir = served.outlet.name, tmp_path / "output" / served.outlet.name
        # One slow page at a time: the crawl is still writing when the compaction starts
        # (its first 12 articles are held by the boilerplate warm-up, then come out together).
        proc = start_crawl(served.outlet, tmp_path, {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "1", "CONCURRENT_REQUESTS": "1"})
        wait_for(lambda: len(list(out_dir.glob("*/*.jsonl"))) >= 2, proc)
        refused = compact(tmp_path, name, "--day", datetime.now(timezone.utc).date().isoformat())
        parts_meanwhile = sorted(out_dir.glob("*/*.jsonl"))
        assert proc.poll() is None, "the crawl ended before the compaction tried"
        assert proc.wait(timeout=120) == 0
        assert refused.returncode == exitcodes.LOCKED, refused.stdout + refused.stderr
        assert "already being crawled" in refused.stderr
        assert set(parts_meanwhile) <= set(out_dir.glob("*/*.jsonl")), "a part went while the crawl ran"
        assert len(list(out_dir.glob("*/*.jsonl"))) > 2
        done = compact(tmp_path, name, "--day", datetime.now(timezone.utc).date().isoformat())
        assert done.returncode == 0 and "parts merged into" in done.stdout, done.stdout + done.stderr
        assert len(list(out_dir.glob("*/*.jsonl"))) == 1
        served.site.clear_requests()
        again = crawl(served.outlet, tmp_path)
    assert again.stat("newscrawl/ledger/replayed") == 0  # the merged part was already in state
    assert not article_requests(served)
    assert_exactly_once(tmp_path, served)


# --------------------------------------------------------------------------- exit codes


def test_exit_code_for_bad_configuration(tmp_path):
    assert run_scrapy(["crawl", "no-such-outlet"], tmp_path).returncode == exitcodes.CONFIG
    run = run_scrapy(["crawl", "news"], tmp_path)  # the generic spider needs a start URL
    assert run.returncode == exitcodes.CONFIG and "bad configuration" in run.log


def test_exit_code_when_every_request_fails(tmp_path):
    outlet = dead_outlet("down-outlet")
    run = run_scrapy(["crawl", outlet.name], tmp_path, write_outlets(tmp_path / "outlets", [outlet]),
                     {"RETRY_TIMES": "0"})
    assert run.returncode == exitcodes.FAILED, run.log[-2000:]
    assert reports(tmp_path, outlet.name)[-1]["exit_status"] == "failed"


def test_exit_code_when_the_site_blocks_us(tmp_path):
    with LocalSite() as site:
        site.routes.update({p: (lambda request: Page(b"<h1>Access denied</h1>", status=403))
                            for p in ("/robots.txt", "/", "/sitemap.xml", "/feed/")})
        outlet = Outlet(name="blocking-outlet", display_name="B", domains=(site.host_port,), homepage=site.url + "/",
                        feeds=(site.url + "/feed/",))
        run = run_scrapy(["crawl", outlet.name], tmp_path, write_outlets(tmp_path / "outlets", [outlet]))
    assert run.returncode == exitcodes.BLOCKED, run.log[-2000:]


def test_exit_code_for_an_error_in_our_code(tmp_path):
    with serve_outlet(URDU) as served:
        run = run_scrapy(["crawl", URDU.name], tmp_path, write_outlets(tmp_path / "outlets", [served.outlet]),
                         {"ITEM_PIPELINES_BASE": json.dumps({"tests.cron_stages.BrokenStage": 50})})
    assert run.returncode == exitcodes.ERROR, run.log[-2000:]
    assert reports(tmp_path, URDU.name)[-1]["errors"] == {"code/RuntimeError": len(served.build.all_articles)}


def test_exit_code_when_articles_vanish_and_drift_warning_when_dates_vanish(tmp_path):
    with serve_outlet(REGIONAL) as served:
        assert crawl(served.outlet, tmp_path).returncode == 0
        # The redesign drops every date: the health check says so.
        assert reset(tmp_path, REGIONAL.name).returncode == 0
        strip_dates(served)
        run = crawl(served.outlet, tmp_path)
        drift = re.findall(r"WARNING: newscrawl-health: outlet=fixture-regional drift=published_at coverage (\S+)", run.log)
        assert drift, [r["coverage"] for r in reports(tmp_path, REGIONAL.name)]
        before, after = map(float, drift[0].split("->"))
        assert before == 1.0 and after <= 0.7
        assert any(f.startswith("published_at coverage") for f in reports(tmp_path, REGIONAL.name)[-1]["health"]["flags"])
        # Then the article pages stop looking like articles at all.
        assert reset(tmp_path, REGIONAL.name).returncode == 0
        for path in article_paths(served):
            served.site.routes[path] = Page(b"<html><body><p>Subscribe to read.</p></body></html>")
        run = run_scrapy(["crawl", REGIONAL.name], tmp_path, write_outlets(tmp_path / "outlets", [served.outlet]))
    assert run.returncode == exitcodes.EMPTY, run.log[-2000:]
    assert "drift=articles" in run.log


# --------------------------------------------------------------------------- all outlets


def test_crawl_all_runs_every_outlet_with_its_own_log_and_a_combined_code(tmp_path):
    with serve_outlet(URDU) as served:
        down = dead_outlet("down-outlet")
        outlets_dir = write_outlets(tmp_path / "records", [served.outlet, down])
        settings = [f"{k}={v}" for k, v in {**FAST, "RETRY_TIMES": "0", "NEWSCRAWL_OUTPUT_DIR": tmp_path / "output",
                                            "NEWSCRAWL_STATE_DIR": tmp_path / "state",
                                            "NEWSCRAWL_ARCHIVE_DIR": tmp_path / "archive",
                                            "NEWSCRAWL_LOG_DIR": tmp_path / "logs"}.items()]
        proc = subprocess.run([sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--jobs", "2",
                               "--outlets-dir", str(outlets_dir), *sum((["-s", s] for s in settings), [])],
                              cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=300)
    assert proc.returncode == exitcodes.FAILED, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(l.startswith(f"{URDU.name}  exit=0") for l in lines)
    assert any(l.startswith("down-outlet") and "exit=4" in l for l in lines)
    assert lines[-1] == "newscrawl: 2 outlets: 1 failed, 1 ok; exit=4"
    assert "\r" not in proc.stdout and "\033" not in proc.stdout  # no terminal control under cron
    for name in (URDU.name, "down-outlet"):
        logs = list((tmp_path / "logs" / name).glob("*.log"))
        assert len(logs) == 1 and "newscrawl-summary" in logs[0].read_text()
    assert len(output_lines(tmp_path, URDU.name)) == len(served.build.all_articles)
