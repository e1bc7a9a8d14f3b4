"""`newscrawl reclean` and `newscrawl import-warc` as a user runs them (child processes),
on WARC files a real crawl wrote or the tests made with warcio: reclean gives the crawl's
own records while the cleaner has not changed and a new revision for each article a
changed cleaner changes; import takes the pages of the hosts the outlet records own (every
host with --all-hosts), the next crawl fetches none of them again and writes each article
once; damaged files are clear errors, counted, and cost nothing else."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.settings import Settings

from newscrawl import exitcodes
from newscrawl.demo import demo_spec, fixture_web_spec, serve_outlet
from newscrawl.ledger import NS_ARTICLES
from newscrawl.lock import OutletLock
from newscrawl.state import SQLiteStateStore
from pipelines.clean import clean_page
from pipelines.parts import day_parts, read_parts
from tests.crawling import FAST, ROOT, crawl, scrapy_env, write_outlets
from tests.test_cron import article_paths, article_requests, assert_exactly_once, strip_dates
from tests.warcs import Fetch, cut_file, cut_member, interleave, site, spoil_payload, write_warc

pytestmark = pytest.mark.e2e  # the commands run in child processes, some after real crawls

REGIONAL, PAPER, URDU = fixture_web_spec()


def newscrawl(tmp: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    merged = {"NEWSCRAWL_OUTPUT_DIR": str(tmp / "output"), "NEWSCRAWL_STATE_DIR": str(tmp / "state"),
              "NEWSCRAWL_ARCHIVE_DIR": str(tmp / "archive"), "NEWSCRAWL_WORKERS": FAST["NEWSCRAWL_WORKERS"],
              **settings}
    command = [sys.executable, "-m", "newscrawl.cli", *args]
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    return subprocess.run(command, cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=300)


def by_url(records) -> dict[str, dict]:
    return {r["url"]: r for r in records}


def ledger_entries(tmp: Path, outlet: str) -> dict[str, dict]:
    store = SQLiteStateStore(tmp / "state" / f"{outlet}.sqlite")
    try:
        return {url: json.loads(value) for url, value in store.items(NS_ARTICLES)}
    finally:
        store.close()


def dedupe_entry(tmp: Path, record_id: str) -> dict:
    store = SQLiteStateStore(tmp / "state" / "_global.sqlite")
    try:
        return json.loads(store.get("url", record_id))
    finally:
        store.close()


# --------------------------------------------------------------------------- reclean


def test_reclean_gives_the_crawls_own_records_and_a_changed_cleaner_new_revisions(tmp_path):
    with serve_outlet(demo_spec()) as served:
        run = crawl(served.outlet, tmp_path)
        outlet = served.outlet
    name = outlet.name
    crawled = by_url(run.records(name))
    warcs = [str(p) for p in sorted((tmp_path / "archive" / name).glob("*.warc.gz"))]
    outlets = ["--outlets-dir", str(tmp_path / "outlets")]
    assert warcs and len(crawled) == len(served.build.all_articles)

    # The cleaner has not changed: --stdout prints the crawl's own records, field for field.
    printed = newscrawl(tmp_path, "reclean", "--stdout", *outlets, *warcs)
    assert printed.returncode == 0, printed.stderr
    assert by_url(json.loads(line) for line in printed.stdout.splitlines()) == crawled
    n = len(crawled)
    assert printed.stderr.strip() == f"newscrawl reclean: {n} pages, 0 changed, {n} unchanged, 0 rejected"
    # ...and writing finds nothing to write. An older fetch of an article (another file,
    # the page as it was a day before) is not taken for the article's latest state.
    first = min(crawled)
    older = write_warc(tmp_path / "older.warc.gz", [Fetch(
        first, bytes(served.site.routes[first[len(served.build.base_url):]].body).replace(b"<p>", b"<p>Once: ", 1),
        date=datetime.fromisoformat(crawled[first]["fetched_at"]) - timedelta(days=1),
        extra={"Newscrawl-Page": "article"})])
    parts = day_parts(tmp_path / "output" / name)
    written = newscrawl(tmp_path, "reclean", *outlets, *warcs, str(older))
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == (f"newscrawl reclean: {n} pages, 0 changed, {n} unchanged, 0 rejected; "
                                      "1 older fetch of the same URLs not recleaned")
    assert day_parts(tmp_path / "output" / name) == parts

    # An archive written before newscrawl kept a page's sitemap hints (no Newscrawl-Hints
    # header), of a page that gives no date of its own: the article's publication date
    # stands in for the sitemap's, as the page's own would win over it.
    strip_dates(served)
    undated = {url: bytes(served.site.routes[url[len(served.build.base_url):]].body) for url in crawled}
    undated = {url: body for url, body in undated.items()
               if clean_page(body.decode(), url, outlet, settings=Settings())[0]["published_at"] is None}
    assert undated
    legacy = write_warc(tmp_path / "legacy.warc.gz", [Fetch(url, body, date=datetime.now(timezone.utc),
                                                            extra={"Newscrawl-Page": "article"})
                                                      for url, body in undated.items()])
    printed = newscrawl(tmp_path, "reclean", "--stdout", *outlets, str(legacy))
    assert printed.returncode == 0, printed.stderr
    dates = {r["url"]: r["published_at"] for r in map(json.loads, printed.stdout.splitlines())}
    assert dates == {url: crawled[url]["published_at"] for url in undated} and None not in dates.values()

    # The cleaner changes (the outlet's rules drop paragraphs that open with "But "): the
    # articles that had one get a revision 2 without it; the others stay as they are.
    pattern = re.compile(r"^But ")
    changed = {url for url, r in crawled.items() if any(pattern.match(p) for p in r["text"].split("\n\n"))}
    assert 0 < len(changed) < n
    write_outlets(tmp_path / "outlets", [replace(outlet, drop_patterns=("^But ",))])
    with OutletLock(tmp_path / "state", name):  # a crawl of the outlet runs: reclean waits for none
        locked = newscrawl(tmp_path, "reclean", *outlets, *warcs)
        assert locked.returncode == exitcodes.LOCKED and "already being crawled" in locked.stderr
        assert day_parts(tmp_path / "output" / name) == parts
        preview = newscrawl(tmp_path, "reclean", "--stdout", *outlets, *warcs)  # reads only: no lock needed
    assert preview.returncode == 0 and f"{len(changed)} changed" in preview.stderr
    recleaned = newscrawl(tmp_path, "reclean", *outlets, *warcs)
    assert recleaned.returncode == 0, recleaned.stderr
    assert recleaned.stdout.strip() == (f"newscrawl reclean: {n} pages, {len(changed)} changed, "
                                        f"{n - len(changed)} unchanged, 0 rejected")
    revisions = [r for r in read_parts(tmp_path / "output" / name) if r["revision"] == 2]
    assert {r["url"] for r in revisions} == changed
    for revision in revisions:
        before = crawled[revision["url"]]
        assert revision["text"] == "\n\n".join(p for p in before["text"].split("\n\n") if not pattern.match(p))
        assert revision["cleaning"]["removed"]["outlet-pattern"] >= 1 and revision["cleaning"]["pipeline_version"]
        assert (revision["id"], revision["fetched_at"], revision["discovered_via"]) == \
            (before["id"], before["fetched_at"], before["discovered_via"])
        # The ledger and the dedupe state know the revision, as the write stage records one.
        entry = ledger_entries(tmp_path, name)[revision["url"]]
        assert (entry["r"], entry["h"]) == (2, revision["content_hash"])
        dedupe = dedupe_entry(tmp_path, revision["id"])
        assert (dedupe["r"], dedupe["h"]) == (2, revision["content_hash"])
    again = newscrawl(tmp_path, "reclean", *outlets, *warcs)
    assert again.stdout.strip() == f"newscrawl reclean: {n} pages, 0 changed, {n} unchanged, 0 rejected"


# --------------------------------------------------------------------------- import-warc


def test_imported_articles_are_not_fetched_again_and_come_out_once(tmp_path):
    with serve_outlet(demo_spec()) as served:
        outlet, name = served.outlet, served.spec.name
        urls = sorted(served.build.all_articles)
        imported = urls[::2]  # half of the site's articles were in a CC-NEWS file
        fetched = datetime.now(timezone.utc) - timedelta(minutes=5)
        warc = write_warc(tmp_path / "CC-NEWS-1.warc.gz", [
            Fetch(url, bytes(served.site.routes[url[len(served.build.base_url):]].body), date=fetched,
                  headers=(("ETag", f'"{i}"'),)) for i, url in enumerate(imported)])
        outlets = write_outlets(tmp_path / "outlets", [outlet])

        # While a crawl of the outlet runs, nothing is imported into it.
        with OutletLock(tmp_path / "state", name):
            locked = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(warc))
        assert locked.returncode == exitcodes.LOCKED and "already being crawled" in locked.stderr
        assert not day_parts(tmp_path / "output" / name)

        result = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(warc))
        assert result.returncode == 0, result.stderr
        k = len(imported)
        assert result.stdout.splitlines() == [
            f"newscrawl import-warc: {name}: {k} pages: {k} written, 0 rejected",
            f"newscrawl import-warc: 1 file, {k} responses; {k} pages of 1 outlet: {k} written, 0 rejected"]
        records = list(read_parts(tmp_path / "output" / name))
        assert {r["url"] for r in records} == set(imported)
        assert {(r["discovered_via"], r["fetched_at"]) for r in records} == {
            ("warc-import", fetched.replace(microsecond=0).isoformat())}

        # The next crawl of the outlet fetches none of them, and writes each article once.
        run = crawl(outlet, tmp_path)
        asked = set(article_requests(served))
    assert asked == article_paths(served) - {u[len(served.build.base_url):] for u in imported}
    records = assert_exactly_once(tmp_path, served)
    assert {r["url"] for r in records if r["discovered_via"] == "warc-import"} == set(imported)
    assert run.stat("newscrawl/incremental/skipped") == len(imported)

    # The same file again: every page is known by now.
    again = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(warc))
    assert again.returncode == 0
    assert f"{k} pages: 0 written, 0 rejected, {k} already known" in again.stdout


def _cc_news_sites():
    """Four generated sites on four hosts, and pages of a host with no record."""
    return [site(REGIONAL, "regional-times.test"), site(PAPER, "morning-ledger.test"),
            site(URDU, "aaina.test"), site(demo_spec(), "demo-journal.test")]


def test_a_cc_news_file_of_many_hosts_gives_each_outlet_its_own_articles(tmp_path):
    sites = _cc_news_sites()
    regional, paper, urdu, demo = sites
    noise = [Fetch("https://www.regional-times.test/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
                   content_type="image/png"),
             Fetch("https://www.morning-ledger.test/robots.txt", b"User-agent: *\nAllow: /\n",
                   content_type="text/plain"),
             Fetch("https://www.aaina.test/gone", b"<html><body>gone</body></html>", status=404),
             Fetch("https://www.demo-journal.test/old", b"", status=301,
                   headers=(("Location", "https://www.demo-journal.test/"),))]
    pages = interleave(*[s.article_fetches() for s in sites])
    warc = write_warc(tmp_path / "CC-NEWS-20260302.warc.gz", interleave(pages, noise))
    outlets = write_outlets(tmp_path / "outlets", [regional.outlet, paper.outlet])

    result = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(warc))
    assert result.returncode == 0, result.stderr
    for s in (regional, paper):
        assert {r["url"] for r in read_parts(tmp_path / "output" / s.spec.name)} == s.build.all_articles
    assert not (tmp_path / "output" / urdu.spec.name).exists() and not (tmp_path / "output" / "aaina-test").exists()
    taken = len(regional.build.all_articles) + len(paper.build.all_articles)
    others = len(urdu.build.all_articles) + len(demo.build.all_articles)
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(f"newscrawl import-warc: 1 file, {len(pages) + len(noise)} responses; "
                              f"{taken} pages of 2 outlets: {taken} written, 0 rejected")
    assert summary.endswith(f"; {others} pages of hosts no outlet record owns; 4 responses not an HTML page "
                            "(status 200)")
    # The wire story both outlets carry: written at each, the later one marked a copy.
    wire = [r for s in (regional, paper) for r in read_parts(tmp_path / "output" / s.spec.name)
            if r["title"] == next(a.spec.title for a in regional.build.articles.values() if a.spec.wire_id)]
    assert len(wire) == 2 and sorted(r["duplicate_of"] is None for r in wire) == [False, True]

    # --all-hosts: every host's pages, each host an outlet named from it.
    every = tmp_path / "all-hosts"
    result = newscrawl(every, "import-warc", "--all-hosts", "--outlets-dir", str(outlets), str(warc))
    assert result.returncode == 0, result.stderr
    for s, name in ((regional, regional.spec.name), (paper, paper.spec.name), (urdu, "aaina-test"),
                    (demo, "demo-journal-test")):
        assert {r["url"] for r in read_parts(every / "output" / name)} == s.build.all_articles, name


@pytest.mark.parametrize("damage", ["file cut short", "gzip member cut short", "wrong digest"])
def test_a_damaged_file_is_a_clear_error_and_costs_only_the_damaged_record(tmp_path, damage):
    regional, paper = site(REGIONAL, "regional-times.test"), site(PAPER, "morning-ledger.test")
    fetches = interleave(regional.article_fetches(), paper.article_fetches())
    warc = write_warc(tmp_path / "CC-NEWS-20260302.warc.gz", fetches)
    good_copy = tmp_path / "good.warc.gz"
    good_copy.write_bytes(warc.read_bytes())
    victim = fetches[-1] if damage == "file cut short" else fetches[7]  # a cut file loses only its last record
    if damage == "file cut short":
        cut_file(warc, victim.url)
        kind = "truncated"
    elif damage == "gzip member cut short":
        cut_member(warc, victim.url)
        kind = "damaged"
    else:
        spoil_payload(warc, victim.url, b"</p>", b"</P>")
        kind = "digest"
    outlets = write_outlets(tmp_path / "outlets", [regional.outlet, paper.outlet])

    result = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(warc))
    assert result.returncode == exitcodes.FAILED, result.stderr
    [line] = [line for line in result.stderr.splitlines() if str(warc) in line]
    assert re.match(rf"newscrawl import-warc: {re.escape(str(warc))}: offset \d+: {kind}: \S", line), line
    assert result.stdout.splitlines()[-1].endswith(f"; 1 unreadable record (1 {kind})")
    written = {r["url"] for s in (regional, paper) for r in read_parts(tmp_path / "output" / s.spec.name)}
    assert written == {f.url for f in fetches} - {victim.url}  # nothing else skipped
    outlet_of_victim = regional if victim.url in regional.build.all_articles else paper
    assert victim.url not in ledger_entries(tmp_path, outlet_of_victim.spec.name)  # nothing recorded for it

    # A good copy of the file brings the damaged record's page; the others are known.
    result = newscrawl(tmp_path, "import-warc", "--outlets-dir", str(outlets), str(good_copy))
    assert result.returncode == 0, result.stderr
    written = [r["url"] for s in (regional, paper) for r in read_parts(tmp_path / "output" / s.spec.name)]
    assert sorted(written) == sorted(f.url for f in fetches)  # each once
    assert f"{len(fetches)} pages of 2 outlets: 1 written, 0 rejected, {len(fetches) - 1} already known" \
        in result.stdout


def test_files_that_cannot_be_read_and_bad_arguments_exit_2(tmp_path):
    warc = write_warc(tmp_path / "x.warc.gz", site(URDU, "aaina.test").article_fetches())
    missing = newscrawl(tmp_path, "import-warc", "--all-hosts", str(tmp_path / "nope.warc.gz"))
    assert missing.returncode == exitcodes.CONFIG and "nope.warc.gz: No such file or directory" in missing.stderr
    some = newscrawl(tmp_path, "import-warc", "--all-hosts", str(tmp_path / "nope.warc.gz"), str(warc))
    assert some.returncode == exitcodes.CONFIG and "4 written" in some.stdout  # the others are imported
    unknown = newscrawl(tmp_path, "reclean", "--outlet", "no-such-outlet", str(warc))
    assert unknown.returncode == exitcodes.CONFIG and "no outlet record named 'no-such-outlet'" in unknown.stderr
    compression = newscrawl(tmp_path, "import-warc", str(warc), NEWSCRAWL_OUTPUT_COMPRESSION="rar")
    assert compression.returncode == exitcodes.CONFIG and "NEWSCRAWL_OUTPUT_COMPRESSION" in compression.stderr


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_an_import_stopped_part_way_loses_nothing_and_writes_nothing_twice(tmp_path, how):
    from tests.test_cron import kill

    sites = [site(demo_spec(), f"paper{n}.test") for n in range(5)]
    fetches = interleave(*[s.article_fetches() for s in sites])
    warc = write_warc(tmp_path / "CC-NEWS-big.warc.gz", fetches)
    command = [sys.executable, "-m", "newscrawl.cli", "import-warc", "--all-hosts", str(warc)]
    for key, value in {"NEWSCRAWL_OUTPUT_DIR": tmp_path / "output", "NEWSCRAWL_STATE_DIR": tmp_path / "state",
                       "NEWSCRAWL_WORKERS": FAST["NEWSCRAWL_WORKERS"], "NEWSCRAWL_OUTPUT_BATCH_RECORDS": 2}.items():
        command += ["-s", f"{key}={value}"]
    proc = subprocess.Popen(command, cwd=ROOT, env=scrapy_env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "output").glob("*/*/part-*")):
        assert proc.poll() is None and time.monotonic() < deadline, "no part published before the end"
        time.sleep(0.02)
    if how == signal.SIGKILL:
        kill(proc)
        proc.communicate()  # its pipes, closed
    else:
        proc.send_signal(how)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == exitcodes.INTERRUPTED, err
        assert "stopping on SIGTERM" in err and out.splitlines()[-1].startswith("newscrawl import-warc: 1 file")
    stopped_at = sum(1 for s in sites for _ in read_parts(tmp_path / "output" / s.host.replace(".", "-")))
    assert 0 < stopped_at < len(fetches)  # stopped part way
    result = newscrawl(tmp_path, "import-warc", "--all-hosts", str(warc))
    assert result.returncode == 0, result.stderr
    written = [(r["url"], r["revision"]) for s in sites for r in read_parts(tmp_path / "output" / s.host.replace(".", "-"))]
    assert sorted(written) == sorted((f.url, 1) for f in fetches)  # every article, each once
    for s in sites:
        name = s.host.replace(".", "-")
        assert {url for url, entry in ledger_entries(tmp_path, name).items() if entry["s"] == "written"} == \
            s.build.all_articles
