"""End to end: a real crawl of a local outlet whose article pages are built by JavaScript
(an empty body; the article in __NEXT_DATA__, __NUXT_DATA__, a window state, the app
router's stream, or the JSON-LD articleBody alone). Every article is written whole, with
`cleaning.extractor` naming where it came from; a page whose data holds no article is a
stub to the gate; `newscrawl clean` on the saved pages gives the same records, and the
reason the last one has no body."""

from __future__ import annotations

import pytest

from newscrawl.webserver import LocalSite, Page
from tests.crawling import clean_saved, crawl
from tests.faults import sitemap_outlet
from tests.script_pages import BUILDERS, COOKIE_NOTICE, NEWSLETTER, TEASERS, empty_page, story

pytestmark = pytest.mark.e2e  # a real crawl and `newscrawl clean` in a child process

NAME = "script-gazette"
EMPTY = "/news/built-from-an-api"


def pages() -> dict[str, str]:
    routes = {f"/news/{name}-story": build(f"Harbour plan, told by {name}", story(name))
              for name, (build, _) in BUILDERS.items()}
    routes[EMPTY] = empty_page("Harbour plan, built from an API")
    return routes


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with LocalSite() as site:
        routes = pages()
        site.routes.update({path: Page(html.encode("utf-8")) for path, html in routes.items()})
        outlet = sitemap_outlet(site, routes, NAME, "Script Gazette", b"<!doctype html><html><head><title>Script"
                                b" Gazette</title></head><body><div id='__next'></div></body></html>")
        tmp = tmp_path_factory.mktemp("script-gazette")
        run = crawl(outlet, tmp)
        records = {r["url"].split(site.host_port, 1)[1]: r for r in run.records(NAME)}
        yield site, outlet, run, records, routes, tmp


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_article_is_written_whole_with_where_it_came_from(crawled, name):
    _, _, _, records, _, _ = crawled
    record = records[f"/news/{name}-story"]
    assert record["cleaning"]["extractor"] == BUILDERS[name][1]
    assert record["title"] == f"Harbour plan, told by {name}"
    paragraphs = story(name)
    assert [p for p in record["text"].split("\n\n") if p in paragraphs] == paragraphs
    for other in [COOKIE_NOTICE, NEWSLETTER] + [summary for _, _, summary in TEASERS]:
        assert other[:40] not in record["text"]


def test_a_page_whose_data_holds_no_article_is_a_stub_to_the_gate(crawled):
    # It calls itself an article but holds no text, in its HTML or its data: counted as a
    # stub, not written, not rejected.
    site, _, run, records, _, _ = crawled
    assert EMPTY not in records and site.count(EMPTY) == 1
    assert run.stat("newscrawl/gate/article") == len(BUILDERS)
    assert run.stat("newscrawl/gate/not-article/stub") == 1
    assert run.stat("newscrawl/rejected") == 0


def test_clean_on_the_saved_pages_gives_the_crawled_records(crawled):
    site, outlet, run, records, routes, tmp = crawled
    paths = sorted(routes)
    # With the crawl's state: its learned boilerplate (a subheading all the pages share) goes as in the crawl.
    cleaned, stderr = clean_saved(site, paths, outlet, run, tmp)
    cleaned = dict(zip(paths, cleaned))
    for path in paths:
        if path == EMPTY:
            assert cleaned[path]["text"] == ""
            continue
        assert cleaned[path]["text"] == records[path]["text"]
        assert cleaned[path]["cleaning"]["extractor"] == records[path]["cleaning"]["extractor"]
    # The page that holds no article: the reason, on stderr.
    [line] = [line for line in stderr.splitlines() if "built-from-an-api" in line]
    assert "would be rejected: text is empty" in line and "the data its scripts carry no article" in line
