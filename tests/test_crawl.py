"""End to end: real crawls of the local fixture web with the real spider and pipelines."""

from __future__ import annotations

import subprocess
import sys

import pytest

from newscrawl import sitegen
from newscrawl.demo import serve_fixture_web
from pipelines.validate import validate_record
from tests.crawling import ROOT, crawl, jsonl, run_scrapy, scrapy_env, write_outlets

pytestmark = pytest.mark.e2e  # real crawls of the fixture web

# How each path of the fixture web shows in a record's discovered_via.
VIA = {
    sitegen.ROBOTS_SITEMAP: "robots-sitemap",
    sitegen.SITEMAP_INDEX: "sitemap-index",
    sitegen.SITEMAP_GZ: "sitemap-index",
    sitegen.NEWS_SITEMAP: "news-sitemap",
    sitegen.RSS: "feed-rss",
    sitegen.RSS1: "feed-rdf",
    sitegen.ATOM: "feed-atom",
    sitegen.HOMEPAGE: "homepage",
    sitegen.SECTION_1: "section",
    sitegen.SECTION_2: "section",
}


@pytest.fixture(scope="module")
def fixture_web():
    with serve_fixture_web() as served:
        yield served


@pytest.fixture(scope="module")
def crawled(fixture_web, tmp_path_factory):
    """Each fixture outlet crawled once, in the order given, sharing one state folder (so
    wire copy republished by a second outlet is seen as such)."""
    tmp = tmp_path_factory.mktemp("crawl")
    runs = {}
    for served in fixture_web:
        runs[served.outlet.name] = crawl(served.outlet, tmp)
    return runs


def by_url(records):
    return {r["url"]: r for r in records}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_article_found_once_by_its_own_path(fixture_web, crawled, index):
    served = fixture_web[index]
    name, build = served.outlet.name, served.build
    records = crawled[name].records(name)
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), "an article was written twice"
    found = set(urls) | {r["url"] for r in crawled[name].rejects(name)}
    assert found == build.all_articles
    assert not found & build.non_articles
    for path, expected in build.expected.items():
        if not expected:
            continue
        got = {r["url"] for r in records if r["discovered_via"] == VIA[path] and r["url"] in expected}
        assert got == expected, f"{name}: {path}"


def test_gzipped_and_indexed_sitemaps_are_told_apart(fixture_web, crawled):
    served = fixture_web[0]
    records = by_url(crawled[served.outlet.name].records(served.outlet.name))
    for url in served.build.expected[sitegen.SITEMAP_GZ]:
        assert records[url]["discovered_from"].endswith(".xml.gz")
    for url in served.build.expected[sitegen.SITEMAP_INDEX]:
        assert not records[url]["discovered_from"].endswith(".gz")


def test_robots_disallowed_pages_are_never_fetched(fixture_web, crawled):
    assert any(served.build.disallowed for served in fixture_web), "the fixture web disallows nothing"
    for served in fixture_web:
        # Fetched and parsed once, by Scrapy's robots middleware; the spider reads its
        # sitemaps and Crawl-delay from that parser.
        assert served.site.count("/robots.txt") == 1
        for url in served.build.disallowed:
            path = url.split(served.site.host_port, 1)[1]
            assert served.site.count(path) == 0, path


def test_every_record_validates_against_the_schema(fixture_web, crawled):
    for served in fixture_web:
        for record in crawled[served.outlet.name].records(served.outlet.name):
            assert validate_record(record, min_words=0) == []


def test_records_carry_metadata_from_the_page(fixture_web, crawled):
    served = fixture_web[2]  # the Urdu outlet: right-to-left text, +05:00 dates
    records = crawled[served.outlet.name].records(served.outlet.name)
    assert records
    for record in records:
        info = served.build.articles[record["url"]]
        assert record["language"] == "ur"
        assert record["published_at"] == info.published
        assert record["title"] == info.spec.title
        assert record["text"].split("\n\n")[0] == served.build.truth[record["url"]].split("\n\n")[0]


def test_wire_copy_republished_by_a_second_outlet_is_marked(fixture_web, crawled):
    first, second = fixture_web[0], fixture_web[1]
    wire = [a for a in first.build.articles.values() if a.spec.wire_id]
    assert wire
    firsts = by_url(crawled[first.outlet.name].records(first.outlet.name))
    seconds = crawled[second.outlet.name].records(second.outlet.name)
    original = firsts[wire[0].url]
    copies = [r for r in seconds if r["duplicate_of"] == original["id"]]
    assert len(copies) == 1


def test_crawl_delay_from_robots_is_honoured(fixture_web, crawled):
    served = fixture_web[1]  # robots.txt asks for Crawl-delay: 0.25
    times = served.site.request_times
    article_paths = [i for i, (_, path, _) in enumerate(served.site.requests) if path != "/robots.txt"]
    gaps = [times[b] - times[a] for a, b in zip(article_paths[5:], article_paths[6:])]
    assert gaps and min(gaps) >= 0.2


def test_scrapy_list_shows_every_outlet_and_the_generic_spider(tmp_path, fixture_web):
    outlets_dir = write_outlets(tmp_path / "outlets", [fixture_web[0].outlet])
    proc = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, env=scrapy_env(outlets_dir),
                          capture_output=True, text=True, timeout=60)
    names = set(proc.stdout.split())
    shipped = {p.stem for p in (ROOT / "newscrawl" / "outlets").glob("*.toml")}
    assert len(shipped) >= 8
    assert names == shipped | {"news", fixture_web[0].outlet.name}


def test_generic_spider_crawls_a_site_from_its_homepage(fixture_web, tmp_path):
    served = fixture_web[2]
    run = run_scrapy(["crawl", "news", "-a", f"url={served.site.url}/", "-a", "outlet=anysite"], tmp_path)
    assert run.returncode == 0, run.log[-2000:]
    urls = {r["url"] for r in run.records("anysite")}
    # Without an outlet record it has no list of feeds or sections: it finds what robots.txt,
    # the homepage and its links lead to.
    assert urls <= served.build.all_articles
    assert served.build.expected[sitegen.HOMEPAGE] <= urls
    assert served.build.expected[sitegen.NEWS_SITEMAP] <= urls


def test_feed_export_gets_the_cleaned_records(fixture_web, tmp_path):
    served = fixture_web[2]
    run = crawl(served.outlet, tmp_path, extra_args=["-O", str(tmp_path / "export.jsonl")])
    exported = jsonl(tmp_path / "export.jsonl")
    written = run.records(served.outlet.name)
    assert exported and {r["id"] for r in exported} == {r["id"] for r in written}
    assert all("html" not in r and "_blocks" not in r for r in exported)


def test_seed_shaped_article_comes_out_without_its_promotion(fixture_web, crawled):
    seeds = [(served, info) for served in fixture_web for info in served.build.articles.values()
             if info.spec.seed_shaped]
    assert seeds, "the fixture web has no seed-shaped article"
    for served, info in seeds:
        record = by_url(crawled[served.outlet.name].records(served.outlet.name))[info.url]
        text = record["text"]
        for cruft in ("Download Newspin", "App Store", "Google Play", "apps.apple.com", "play.google.com",
                      "Latest News", "Popular Videos", "No ads. No redirections"):
            assert cruft not in text
        assert text.split("\n\n") == served.build.truth[info.url].split("\n\n")
        assert record["cleaning"]["removed"].get("app-promo", 0) >= 1


def test_cruft_does_not_leak_and_the_body_survives(fixture_web, crawled):
    injected = leaked = paragraphs = kept = 0
    for served in fixture_web:
        for record in crawled[served.outlet.name].records(served.outlet.name):
            snippets = served.build.cruft[record["url"]]
            injected += len(snippets)
            leaked += sum(1 for s in snippets if s in record["text"])
            truth = served.build.truth[record["url"]].split("\n\n")
            paragraphs += len(truth)
            kept += sum(1 for p in truth if p in record["text"])
    assert injected > 100
    assert leaked / injected <= 0.01
    assert kept / paragraphs >= 0.98


def test_clean_command_gives_the_crawled_record(fixture_web, crawled, tmp_path):
    served = fixture_web[0]
    records = crawled[served.outlet.name].records(served.outlet.name)
    record = next(r for r in records if r["duplicate_of"] is None and r["revision"] == 1)
    page = tmp_path / "page.html"
    page.write_bytes(served.site.routes[record["url"].split(served.site.host_port, 1)[1]].body)
    outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
    proc = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "clean", "--url", record["url"], "--outlet", served.outlet.name,
         "-s", f"NEWSCRAWL_STATE_DIR={crawled[served.outlet.name].state_dir}", str(page)],
        cwd=ROOT, env=scrapy_env(outlets_dir), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cleaned = jsonl_lines(proc.stdout)
    assert len(cleaned) == 1
    provenance = {"fetched_at", "discovered_via", "discovered_from", "http_status", "duplicate_of", "revision"}
    assert {k: v for k, v in cleaned[0].items() if k not in provenance} == \
        {k: v for k, v in record.items() if k not in provenance}


def jsonl_lines(text: str) -> list[dict]:
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _marker_of_one_article(served) -> tuple[str, str]:
    """A string found in exactly one page the outlet serves, an article, and that page's
    URL. (The worker call that first sees a page is the article gate's: a marker also
    found in a homepage teaser would cost the homepage, and the articles found there.)"""
    served_pages = {path: bytes(page.body).decode("utf-8", "replace") for path, page in served.site.routes.items()
                    if isinstance(page.body, (bytes, bytearray))}
    for url in sorted(served.build.all_articles):
        path = url.split(served.site.host_port, 1)[1]
        for paragraph in served.build.truth[url].split("\n\n"):
            candidate = paragraph[:60]
            if len(candidate) >= 30 and [p for p, h in served_pages.items() if candidate in h] == [path]:
                return candidate, url
    raise AssertionError("no article has a paragraph of its own")


def test_a_worker_crash_is_counted_and_costs_only_its_article(fixture_web, crawled, tmp_path):
    served = fixture_web[2]
    marker, victim = _marker_of_one_article(served)
    run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_TEST_WORKER_CRASH_MARKER": marker})
    assert run.stat("newscrawl/errors/worker-crash") >= 2  # the first call and its one retry
    assert run.stat("newscrawl/rejected/worker-crash") == 1
    urls = {r["url"] for r in run.records(served.outlet.name)}
    normal = {r["url"] for r in crawled[served.outlet.name].records(served.outlet.name)}
    assert victim not in urls
    assert urls == normal - {victim}


def test_clean_command_over_many_files_uses_the_pool_and_matches_one_by_one(fixture_web, tmp_path):
    served = fixture_web[0]
    urls = sorted(served.build.all_articles)[:5]
    files = []
    for i, url in enumerate(urls):
        page = tmp_path / f"page{i}.html"
        page.write_bytes(served.site.routes[url.split(served.site.host_port, 1)[1]].body)
        files.append(page)
    outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])

    def clean(paths, workers, marker=None):
        command = [sys.executable, "-m", "newscrawl.cli", "clean", "--outlet", served.outlet.name,
                   "-s", f"NEWSCRAWL_WORKERS={workers}", "-s", f"NEWSCRAWL_STATE_DIR={tmp_path / 'state'}"]
        if marker:
            command += ["-s", f"NEWSCRAWL_TEST_WORKER_CRASH_MARKER={marker}"]
        return subprocess.run([*command, *map(str, paths)], cwd=ROOT, env=scrapy_env(outlets_dir),
                              capture_output=True, text=True, timeout=180)

    pooled = clean(files, 2)
    assert pooled.returncode == 0, pooled.stderr[-2000:]
    together = jsonl_lines(pooled.stdout)
    one_by_one = [jsonl_lines(clean([f], 0).stdout)[0] for f in files]
    volatile = {"fetched_at"}
    assert [{k: v for k, v in r.items() if k not in volatile} for r in together] == \
        [{k: v for k, v in r.items() if k not in volatile} for r in one_by_one]

    # A page that kills its worker is reported and skipped; the others are still cleaned.
    htmls = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    marker = next(p[:40] for p in served.build.truth[urls[1]].split("\n\n")
                  if len(p) >= 40 and [h for h in htmls if p[:40] in h] == [htmls[1]])
    crashed = clean(files, 2, marker)
    assert crashed.returncode == 1
    assert f"{files[1]}: worker died twice" in crashed.stderr
    assert [r["url"] for r in jsonl_lines(crashed.stdout)] == [r["url"] for r in one_by_one if r is not one_by_one[1]]


def test_max_age_skips_old_sitemap_and_feed_entries(fixture_web, tmp_path):
    from datetime import datetime, timezone

    served = fixture_web[0]
    build = served.build
    dated_paths = [p for p in VIA if p not in (sitegen.HOMEPAGE, sitegen.SECTION_1, sitegen.SECTION_2)]
    dated = sorted((build.articles[u] for p in dated_paths for u in build.expected[p]),
                   key=lambda a: datetime.fromisoformat(a.published))
    cutoff = datetime.fromisoformat(dated[len(dated) // 2].published)
    days = (datetime.now(timezone.utc) - cutoff).total_seconds() / 86400 + 0.01
    run = crawl(served.outlet, tmp_path, settings={"NEWSCRAWL_MAX_AGE_DAYS": str(days)})
    urls = {r["url"] for r in run.records(served.outlet.name)}
    assert run.stat("newscrawl/discovery/too-old") > 0
    # Undated discovery (homepage, sections) is untouched; dated entries are kept only
    # when their page was published or modified since the cut-off.
    for path in (sitegen.HOMEPAGE, sitegen.SECTION_1, sitegen.SECTION_2):
        assert build.expected[path] <= urls
    for info in dated:
        recent = max(datetime.fromisoformat(info.published), datetime.fromisoformat(info.modified)) >= cutoff
        if not recent:
            assert info.url not in urls, info.url
    assert any(datetime.fromisoformat(a.published) >= cutoff and a.url in urls for a in dated)
