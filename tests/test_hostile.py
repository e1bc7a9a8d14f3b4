"""End to end: a real crawl of an outlet that fails in every way (tests/faults.py). Each
test names one fault and asserts its outcome: what was written, what was counted, what
never left the crawler."""

from __future__ import annotations

from datetime import date

import pytest

from newscrawl.webserver import LocalSite, Page
from tests.crawling import crawl
from tests.faults import (
    BAD_UTF8_BODY, JAPANESE, URDU, CountingListener, HostileSite, build_hostile_site, english_page, urlset,
)

pytestmark = pytest.mark.e2e  # real crawls of hostile local sites

SETTINGS = {"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "1", "NEWSCRAWL_BACKOFF_BASE": "0.5",
            "NEWSCRAWL_RETRY_AFTER_MAX": "30"}
NAME = "hostile-times"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    with LocalSite() as site, LocalSite() as offsite, CountingListener("127.0.0.2") as private, \
            CountingListener("127.0.0.3") as elsewhere:
        h = HostileSite(site, private, elsewhere, offsite)
        build_hostile_site(h)
        run = crawl(h.outlet, tmp_path_factory.mktemp("hostile"), settings=SETTINGS)
        h.run = run
        h.records = {r["url"].split(site.host_port, 1)[1]: r for r in run.records(NAME)}
        yield h


def requests_to(h, path):
    return [t for (_, p, _), t in zip(h.site.requests, h.site.request_times) if p == path]


def test_the_crawl_completes_and_good_pages_are_written(hostile):
    assert hostile.run.stat("newscrawl/written") == len(hostile.records)
    for path in ("/news/ok", "/news/from-feed", "/news/from-malformed", "/news/drip-in-time"):
        assert path in hostile.records, path
    assert "finish_reason': 'finished'" in hostile.run.log


def test_500_is_retried_then_counted(hostile):
    assert len(requests_to(hostile, "/news/500")) == 2  # RETRY_TIMES=1
    assert hostile.run.stat("newscrawl/errors/http-500") == 1
    assert "/news/500" not in hostile.records


def test_503_waits_for_retry_after_and_then_succeeds(hostile):
    first, second = requests_to(hostile, "/news/503-retry-after")
    assert second - first >= 0.95  # Retry-After: 1
    assert "/news/503-retry-after" in hostile.records
    assert hostile.run.stat("newscrawl/retry-after/honoured") >= 1


def test_429_without_retry_after_backs_off(hostile):
    first, second = requests_to(hostile, "/news/429-backoff")
    assert second - first >= 0.45  # NEWSCRAWL_BACKOFF_BASE=0.5
    assert "/news/429-backoff" in hostile.records


def test_429_asking_too_long_gives_up_counted(hostile):
    assert len(requests_to(hostile, "/news/429-too-long")) == 1
    assert hostile.run.stat("newscrawl/errors/retry-after-too-long") == 1
    assert hostile.run.stat("newscrawl/errors/http-429") == 1


def test_403_block_page_is_counted_not_written(hostile):
    assert hostile.run.stat("newscrawl/errors/http-403") == 1
    assert not any("Access denied" in r["text"] for r in hostile.records.values())


def test_timeouts_and_slow_drips_end_at_the_timeout(hostile):
    assert hostile.run.stat("newscrawl/errors/timeout") == 2  # the silent server, the slow drip
    assert "/news/timeout" not in hostile.records and "/news/drip-too-slow" not in hostile.records
    assert "/news/drip-in-time" in hostile.records  # slow but within the timeout


def test_connection_reset_is_counted(hostile):
    # RETRY_TIMES=1: two attempts. Twisted's connection pool may replay an attempt once by
    # itself when it went out on a reused keep-alive connection, so up to four arrive.
    assert 2 <= len(requests_to(hostile, "/news/reset")) <= 4
    assert hostile.run.stat("newscrawl/errors/connection-reset") == 1
    assert "/news/reset" not in hostile.records


def test_truncated_body_is_counted_and_no_partial_record(hostile):
    assert hostile.run.stat("newscrawl/errors/truncated") == 1
    assert "/news/truncated" not in hostile.records


def test_redirect_loop_stops_at_the_first_return_to_a_fetched_url(hostile):
    # loop-a -> loop-b -> loop-a: the way back is a request already made, which the
    # scheduler's duplicate filter drops. The loop costs two requests and writes nothing.
    assert len(requests_to(hostile, "/news/loop-a")) == 1
    assert len(requests_to(hostile, "/news/loop-b")) == 1
    assert "/news/loop-a" not in hostile.records and "/news/loop-b" not in hostile.records
    assert hostile.run.stat("newscrawl/errors/redirect-loop") == 0  # cut before REDIRECT_MAX_TIMES


def test_redirect_off_the_outlet_is_refused(hostile):
    assert hostile.offsite.requests == []
    assert hostile.elsewhere.connections == 0
    # Another port of the outlet's host and another host: one redirect each, both dropped
    # by the offsite middleware (Scrapy's, with the port-aware rule of newscrawl.guard).
    assert hostile.run.stat("offsite/filtered") == 2


def test_redirect_to_a_private_address_is_refused_before_connecting(hostile):
    # 127.0.0.2 is one of the outlet's domains but not an allowed network.
    assert hostile.private.connections == 0
    assert hostile.run.stat("newscrawl/refused/private-address") == 1


def test_binary_bodies_labelled_html_are_refused(hostile):
    assert hostile.run.stat("newscrawl/refused/binary-body") == 3  # PDF, PNG, a PNG "sitemap"
    for record in hostile.records.values():
        assert "%PDF" not in record["text"] and "\x00" not in record["text"] and "IHDR" not in record["text"]


def test_pages_over_the_size_limit_are_cut_off(hostile):
    assert hostile.run.stat("newscrawl/errors/too-large") == 2  # announced, and streamed
    assert "/news/huge-declared" not in hostile.records and "/news/huge-streamed" not in hostile.records


def test_compression_bombs_are_refused(hostile):
    assert hostile.run.stat("newscrawl/errors/decompression-bomb") == 4  # gzip, deflate, br, zstd
    assert hostile.run.stat("newscrawl/discovery/sitemap-error/too-large") == 1  # a gzip sitemap bomb


def test_memory_stays_bounded(hostile):
    # The crawl met 10 MB pages and four 64 MB bombs; the child never held them.
    print("PEAK", hostile.run.peak_rss_mb); assert 0 < hostile.run.peak_rss_mb < 400, hostile.run.peak_rss_mb


def text_of(hostile, path):
    text = hostile.records[path]["text"]
    assert "\ufffd" not in text
    return text


def test_cp1252_without_charset(hostile):
    text = text_of(hostile, "/news/cp1252-undeclared")
    assert "crème brûlée" in text and "“the best dessert in town”" in text and "€4" in text


def test_windows_1256_urdu_under_a_wrong_utf8_header(hostile):
    text = text_of(hostile, "/news/urdu-1256-wrong-header")
    assert URDU[0].rstrip(".") in text and URDU[4].rstrip(".") in text
    assert hostile.records["/news/urdu-1256-wrong-header"]["language"] == "ur"


def test_windows_1256_urdu_under_a_latin_default_header(hostile):
    assert URDU[2].rstrip(".") in text_of(hostile, "/news/urdu-1256-latin-header")
    assert hostile.run.stat("newscrawl/charset/header-contradicted") == 2


def test_shift_jis_declared_only_in_meta(hostile):
    text = text_of(hostile, "/news/sjis-meta-only")
    assert JAPANESE[0] in text and JAPANESE[3] in text


def test_invalid_utf8_bytes_are_repaired(hostile):
    text = text_of(hostile, "/news/invalid-utf8")
    assert "“early spring”" in text and "authority’s annual report" in text
    assert BAD_UTF8_BODY[1] in text
    assert hostile.run.stat("newscrawl/charset/invalid-utf8") == 1


def test_malformed_and_empty_sitemaps_and_feeds(hostile):
    run = hostile.run
    assert "/news/from-malformed" in hostile.records  # what a cut-off sitemap still holds
    assert "/news/from-feed" in hostile.records  # and a cut-off feed
    # Documents read past an error are counted: the cut-off sitemap and feed, and the main
    # sitemap, whose tracking URLs carry an unescaped "&".
    assert run.stat("newscrawl/discovery/sitemap-recovered") == 2
    assert run.stat("newscrawl/discovery/feed-recovered") == 1
    assert run.stat("newscrawl/discovery/sitemap-entries-skipped") == 1  # the cut-off <loc>
    assert run.stat("newscrawl/discovery/sitemap-error/empty") == 1
    assert run.stat("newscrawl/discovery/feed-error/empty") == 1


def test_xxe_entities_are_never_resolved(hostile):
    paths = hostile.site.requested_paths()
    assert not any("xxe-probe" in p for p in paths)  # no fetch of an external entity
    assert not any("root:" in p or "lol" in p for p in paths)
    # A sitemap or feed that declares entities is refused whole, and counted.
    assert hostile.run.stat("newscrawl/discovery/sitemap-error/entities") == 2
    assert hostile.run.stat("newscrawl/discovery/feed-error/entities") == 2
    assert "/news/from-xxe" not in hostile.records
    for record in hostile.records.values():
        assert "root:" not in record["text"] and "lollol" not in record["text"]


def test_billion_laughs_are_refused_whole(hostile):
    paths = hostile.site.requested_paths()
    assert "/sitemap-laughs.xml" in paths and "/feed-laughs.xml" in paths
    # Refused before parsing: not even the sitemap's harmless second entry is followed.
    assert "/news/from-laughs" not in paths and not any("lol" in p for p in paths)
    # Counted with the XXE sitemap and feed: two of each.
    assert hostile.run.stat("newscrawl/discovery/sitemap-error/entities") == 2
    assert hostile.run.stat("newscrawl/discovery/feed-error/entities") == 2
    assert hostile.run.stat("newscrawl/errors/decompression-bomb") == 4  # nothing else blew up


def test_one_article_under_many_tracking_urls_is_fetched_once(hostile):
    assert requests_to(hostile, "/news/tracked") and len(requests_to(hostile, "/news/tracked")) == 1
    assert not any(p.startswith("/news/tracked?") for p in hostile.site.requested_paths())
    assert sum(1 for r in hostile.records.values() if "/news/tracked" in r["url"]) == 1


# --- URL-space traps and the page budget: their own small crawls ------------------------

def trap_site(site: LocalSite) -> None:
    year = date.today().year
    calendar_links = "".join(f'<a href="/archive/{y}/01/">{y}</a>' for y in range(year, year + 6))
    site.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
    site.routes["/"] = Page(f'<html><body><a href="/list?page=1">More</a><a href="/loop/">Loop</a>'
                            f'<a href="/archive/{year}/01/">Archive</a></body></html>'.encode())

    def listing(request):
        page = int(request.path.split("page=")[1])
        return Page(f'<html><body><a href="/list?page={page + 1}">next</a></body></html>'.encode())

    site.routes["/list"] = listing
    site.routes["/archive"] = lambda r: Page(f"<html><body>{calendar_links}</body></html>".encode())
    for depth in range(1, 8):
        site.routes["/" + "loop/" * depth] = Page(b'<html><body><a href="loop/">deeper</a></body></html>')
    for y in range(year, year + 7):
        site.routes[f"/archive/{y}/01/"] = Page(f"<html><body>{calendar_links}</body></html>".encode())


def test_infinite_calendar_pagination_and_nested_paths_are_cut(tmp_path):
    from newscrawl.outlets import Outlet

    with LocalSite() as site:
        trap_site(site)
        outlet = Outlet(name="trap-times", display_name="Trap Times", domains=(site.host_port,),
                        homepage=site.url_for("/"), section_depth=5)
        run = crawl(outlet, tmp_path, settings={"NEWSCRAWL_TRAP_MAX_PAGE": "3"})
        paths = site.requested_paths()
    year = date.today().year
    assert "/list?page=3" in paths and "/list?page=4" not in paths
    assert f"/archive/{year + 1}/01/" in paths
    assert not any(p.startswith(f"/archive/{year + 2}") for p in paths)
    assert "/loop/loop/loop/" in paths and "/loop/loop/loop/loop/" not in paths
    assert run.stat("newscrawl/refused/trap-pagination") == 1
    assert run.stat("newscrawl/refused/trap-calendar") >= 1
    assert run.stat("newscrawl/refused/trap-repeated-segment") == 1


def test_page_budget_caps_a_huge_sitemap(tmp_path):
    from newscrawl.outlets import Outlet

    with LocalSite() as site:
        urls = [site.url_for(f"/story/{n}") for n in range(20000)]
        site.routes["/robots.txt"] = Page(f"User-agent: *\nSitemap: {site.url_for('/sitemap.xml')}\n".encode(),
                                          "text/plain")
        site.routes["/sitemap.xml"] = Page(urlset(urls), "application/xml")
        for n in range(60):
            site.routes[f"/story/{n}"] = english_page(f"Story number {n}")
        outlet = Outlet(name="budget-times", display_name="Budget Times", domains=(site.host_port,),
                        homepage=site.url_for("/"), section_depth=0)
        run = crawl(outlet, tmp_path, settings={"NEWSCRAWL_MAX_PAGES_PER_OUTLET": "40"})
        fetched = [p for p in site.requested_paths() if p != "/robots.txt"]
    assert len(fetched) == 40
    assert run.stat("newscrawl/discovery/sitemap-urls") == 20000
    assert run.stat("newscrawl/refused/page-budget") >= 1
    assert "finish_reason': 'page_budget'" in run.log  # closed, not 19,960 refusals one by one
    assert "'newscrawl/exit_code': 0" in run.log  # a budget reached is not a failure


@pytest.mark.parametrize("limit", ["page-budget", "closespider-pagecount"])
def test_the_page_budget_counts_failed_fetches_and_scrapys_pagecount_does_not(tmp_path, limit):
    """Why NEWSCRAWL_MAX_PAGES_PER_OUTLET and not Scrapy's CLOSESPIDER_PAGECOUNT: Scrapy's
    counts responses, so a site whose every page fails (here a reset) never reaches it; the
    page budget counts every fetch, answered or not."""
    from newscrawl.outlets import Outlet

    with LocalSite() as site:
        site.routes["/robots.txt"] = Page(f"User-agent: *\nSitemap: {site.url_for('/sitemap.xml')}\n".encode(),
                                          "text/plain")
        site.routes["/"] = english_page("The front page")
        site.routes["/sitemap.xml"] = Page(urlset([site.url_for(f"/story/{n}") for n in range(30)]),
                                           "application/xml")
        for n in range(30):
            site.routes[f"/story/{n}"] = Page(reset=True)
        outlet = Outlet(name="budget-times", display_name="Budget Times", domains=(site.host_port,),
                        homepage=site.url_for("/"), section_depth=0)
        settings = {"RETRY_TIMES": "0", "NEWSCRAWL_MAX_PAGES_PER_OUTLET": "10"}
        if limit == "closespider-pagecount":
            settings.update({"NEWSCRAWL_MAX_PAGES_PER_OUTLET": "0", "CLOSESPIDER_PAGECOUNT": "10"})
        run = crawl(outlet, tmp_path, settings=settings)
        # Pages, not requests: Twisted sends a request again, unseen by Scrapy, when a
        # kept-alive connection it reused is reset.
        fetched = set(site.requested_paths()) - {"/robots.txt"}
    if limit == "page-budget":
        assert len(fetched) == 10
        assert "finish_reason': 'page_budget'" in run.log
    else:  # the home page, the sitemap and its 30 pages: 3 responses in all
        assert len(fetched) == 32
        assert "finish_reason': 'finished'" in run.log



# --- robots.txt: read once, by Scrapy's robots middleware ---------------------------------

def robots_site(site: LocalSite, robots: Page) -> None:
    site.routes["/robots.txt"] = robots
    site.routes["/"] = Page(b"<!doctype html><html><body><p>Home</p></body></html>")
    site.routes["/sitemap.xml"] = Page(urlset([site.url_for("/story/guessed")]), "application/xml")
    site.routes["/listed-sitemap.xml"] = Page(urlset([site.url_for("/story/listed")]), "application/xml")
    site.routes["/story/guessed"] = english_page("Found where sitemaps usually are")
    site.routes["/story/listed"] = english_page("Found through the robots file")


@pytest.mark.parametrize("case", ["robots-fails", "robots-not-obeyed"])
def test_sitemaps_when_scrapy_reads_no_robots_txt(tmp_path, case):
    """A robots.txt that cannot be fetched: the usual sitemap is tried before the crawl
    ends. ROBOTSTXT_OBEY off: the spider fetches robots.txt itself, for its Sitemap lines."""
    from newscrawl.outlets import Outlet

    with LocalSite() as site:
        listing = f"User-agent: *\nSitemap: {site.url_for('/listed-sitemap.xml')}\n".encode()
        robots_site(site, Page(reset=True) if case == "robots-fails" else Page(listing, "text/plain"))
        outlet = Outlet(name="robots-times", display_name="Robots Times", domains=(site.host_port,),
                        homepage=site.url_for("/"), section_depth=0)
        settings = {"RETRY_TIMES": "0"}
        if case == "robots-not-obeyed":
            settings["ROBOTSTXT_OBEY"] = "False"
        run = crawl(outlet, tmp_path, settings=settings)
        paths = site.requested_paths()
        written = {r["url"].split(site.host_port, 1)[1] for r in run.records("robots-times")}
    assert paths.count("/robots.txt") == 1
    if case == "robots-fails":
        assert written == {"/story/guessed"}
    else:
        assert written == {"/story/listed"} and "/sitemap.xml" not in paths
        assert run.stat("newscrawl/discovery/robots-sitemaps") == 1
