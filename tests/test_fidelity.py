"""End to end: text fidelity through the real crawl path (`scrapy crawl` in a child
process against pages served on 127.0.0.1).

- every development page (aeb-dev, fundus-dev) comes out as a record whose text is what
  `newscrawl clean` gives for the same page, and whose every word the page shows;
- inline links inside words and before punctuation do not split or glue words;
- a body split by ad slots, continued after an in-story box, or hidden behind a "read
  more" expander comes out whole, in order, without the ad labels.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import time
from pathlib import Path

import pytest

from newscrawl.outlets import Outlet
from newscrawl.webserver import LocalSite, Page
from tests.crawling import ROOT, crawl, write_outlets
from tests.faults import urlset
from tests.needs import needs
from tests.page_words import foreign_words

pytestmark = pytest.mark.e2e  # real crawls of the development pages and a fixture site

DATA = ROOT.parent / "shared" / "data"
AEB_DEV = Path(os.environ.get("AEB_DEV") or DATA / "aeb-dev")
FUNDUS_DEV = Path(os.environ.get("FUNDUS_DEV") or DATA / "fundus-dev")


def needs_dev_pages(test):
    for name, folder in (("aeb-dev", AEB_DEV), ("fundus-dev", FUNDUS_DEV)):
        test = needs(name, (folder / "html").is_dir(), f"{name} pages not found at {folder} (set AEB_DEV / FUNDUS_DEV)")(test)
    return test


HTML = "text/html; charset=utf-8"
BOM = b"\xef\xbb\xbf"
# The development pages, from many publishers, are served as one outlet. The learned
# boilerplate layer's verdict on a block depends on which pages the crawl had seen when
# the block came by (a line on three of a publisher's pages is boilerplate while those
# pages are a third of what was seen, and no longer at the end of the crawl), so `clean`
# with the final state can rightly differ from the crawl there. It is off for the
# comparison, in the crawl and in `clean` alike; everything else is the crawl's default.
NO_LEARNED_LAYER = {"NEWSCRAWL_BOILERPLATE_MIN_PAGES": "1000000"}


def served_site(site: LocalSite, pages: dict[str, bytes], name: str) -> Outlet:
    """robots.txt naming one sitemap that lists every page, a small homepage, the pages."""
    site.routes["/robots.txt"] = Page(f"User-agent: *\nSitemap: {site.url_for('/sitemap.xml')}\n".encode(),
                                      "text/plain")
    site.routes["/sitemap.xml"] = Page(urlset([site.url_for(p) for p in pages]), "application/xml")
    site.routes["/"] = Page(b"<!doctype html><html><head><title>Home</title></head><body><h1>Home</h1></body></html>")
    for path, body in pages.items():
        site.routes[path] = Page(body, HTML)
    return Outlet(name=name, display_name=name.replace("-", " ").title(), domains=(site.host_port,),
                  homepage=site.url_for("/"), section_depth=0)


# --------------------------------------------------------------------------- development pages


def dev_pages() -> dict[str, bytes]:
    """Path on the local site -> the page's bytes. Both sets are UTF-8 (fundus re-encodes
    its pages but leaves their <meta charset> as it was), so they are served as UTF-8."""
    pages = {}
    for prefix, folder in (("aeb", AEB_DEV), ("fundus", FUNDUS_DEV)):
        for path in sorted((folder / "html").glob("*.html.gz")):
            page_id = path.name.removesuffix(".html.gz")
            pages[f"/{prefix}/{page_id}.html"] = gzip.decompress(path.read_bytes())
    return pages


@pytest.fixture(scope="module")
def dev_crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev")
    pages = dev_pages()
    with LocalSite() as site:
        outlet = served_site(site, pages, "dev-pages")
        started = time.monotonic()
        run = crawl(outlet, tmp, settings=NO_LEARNED_LAYER)
        seconds = time.monotonic() - started
        base = site.url
    yield {"run": run, "seconds": seconds, "outlet": outlet, "tmp": tmp,
           "pages": {base + path: body for path, body in pages.items()}}


def clean_command(page: Path, url: str, outlet: Outlet, outlets_dir: Path, state_dir: Path) -> list[dict]:
    """`newscrawl clean FILE --url URL --outlet NAME -s NEWSCRAWL_STATE_DIR=...`, run by the
    CLI's own entry point in this process (a child per page would cost ~200 interpreter
    starts); its standard output as records."""
    import json

    from newscrawl import cli

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ("NEWSCRAWL_OUTLETS_DIR", "SCRAPY_SETTINGS_MODULE")}
    os.environ["NEWSCRAWL_OUTLETS_DIR"] = str(outlets_dir)
    os.environ["SCRAPY_SETTINGS_MODULE"] = "newscrawl.settings"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["clean", str(page), "--url", url, "--outlet", outlet.name,
                               "-s", f"NEWSCRAWL_STATE_DIR={state_dir}",
                               *[arg for key, value in NO_LEARNED_LAYER.items() for arg in ("-s", f"{key}={value}")]])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert status == 0, err.getvalue()[-2000:]
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def duplicate_drops(log: str) -> dict[str, str]:
    """URL -> why the dedupe stage dropped it, from the crawl's log."""
    return {m.group(2): m.group(1) for m in re.finditer(r"duplicate \(([\w-]+)\): (\S+)", log)}


@needs_dev_pages
def test_every_development_page_comes_out_as_a_record(dev_crawl):
    run, outlet, pages = dev_crawl["run"], dev_crawl["outlet"], dev_crawl["pages"]
    records = {r["url"]: r for r in run.records(outlet.name)}
    rejects = {r["url"]: r for r in run.rejects(outlet.name)}
    duplicates = duplicate_drops(run.log)
    missing = sorted(set(pages) - set(records))
    problems = []
    for url in missing:
        page_id = url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]
        if url in rejects:
            problems.append(f"{page_id}: rejected: {rejects[url].get('reasons')}")
        elif url in duplicates:
            problems.append(f"{page_id}: dropped as a duplicate ({duplicates[url]})")
        else:
            problems.append(f"{page_id}: not an article: {gate_reason(pages[url], url, outlet)}")
    assert not problems, f"{len(problems)} of {len(pages)} pages gave no record:\n" + "\n".join(problems)
    assert len(records) == len(pages)


def gate_reason(body: bytes, url: str, outlet: Outlet) -> str:
    """The article gate's verdict on a page, as the crawl's worker computes it."""
    from newscrawl.page_job import page_job

    return page_job({"url": url, "html": body.decode("utf-8")}, outlet, {})["reason"]


@needs_dev_pages
def test_every_word_of_a_development_record_is_shown_by_its_page(dev_crawl):
    run, outlet, pages = dev_crawl["run"], dev_crawl["outlet"], dev_crawl["pages"]
    records = run.records(outlet.name)
    assert records
    bad = {}
    for record in records:
        foreign = foreign_words(record["text"], pages[record["url"]].decode("utf-8"))
        if foreign:
            bad[record["url"].rsplit("/", 1)[-1]] = foreign[:10]
    assert not bad, bad


@needs_dev_pages
def test_crawled_development_text_is_what_clean_gives(dev_crawl, tmp_path):
    run, outlet, pages = dev_crawl["run"], dev_crawl["outlet"], dev_crawl["pages"]
    records = run.records(outlet.name)
    assert records
    outlets_dir = write_outlets(tmp_path / "outlets", [outlet])
    differ = []
    for record in records:
        page = tmp_path / "page.html"
        # A saved page carries no Content-Type header: the BOM says UTF-8, as the header
        # did to the crawl (some pages declare another charset in their <meta>).
        page.write_bytes(BOM + pages[record["url"]])
        [cleaned] = clean_command(page, record["url"], outlet, outlets_dir, run.state_dir)
        if cleaned["text"] != record["text"]:
            differ.append(f"{record['url'].rsplit('/', 1)[-1]}: {first_difference(record['text'], cleaned['text'])}")
    assert not differ, f"{len(differ)} of {len(records)} records differ from `newscrawl clean`:\n" + "\n".join(differ)


def first_difference(crawled: str, cleaned: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(crawled, cleaned)) if a != b), min(len(crawled), len(cleaned)))
    return f"crawl {crawled[max(0, at - 40):at + 40]!r} / clean {cleaned[max(0, at - 40):at + 40]!r}"


# --------------------------------------------------------------------------- a fixture outlet


@pytest.fixture(scope="module")
def herald(tmp_path_factory):
    """The stories of tests/fidelity_pages.py crawled: layout -> path -> record. The inline
    link stories are served in each layout, one outlet per layout (the same text twice on
    one outlet is one article reachable twice, and dropped); the others in the first."""
    from tests.fidelity_pages import INLINE, LAYOUTS, SPLIT, READ_MORE, laid_out, page

    out = {}
    for layout in LAYOUTS:
        stories = [laid_out(story, layout) for story in INLINE]
        if layout == LAYOUTS[0]:
            stories += [*SPLIT, *READ_MORE]
        tmp = tmp_path_factory.mktemp(f"herald-{layout}")
        with LocalSite() as site:
            outlet = served_site(site, {story.path: page(story) for story in stories}, f"herald-{layout}")
            run = crawl(outlet, tmp)
            host = site.host_port
        out[layout] = {r["url"].split(host, 1)[1]: r for r in run.records(outlet.name)}
    return out


def story_text(records, story) -> str:
    assert story.path in records, f"{story.path} gave no record"
    return records[story.path]["text"]


@pytest.mark.parametrize("layout", ["p", "div", "br"])
@pytest.mark.parametrize("language", ["en", "de", "ja"])
def test_inline_links_inside_words_and_before_punctuation_keep_the_words_whole(herald, language, layout):
    from tests import fidelity_pages as pages

    story, expected = {"en": (pages.EN_INLINE, pages.EN_EXPECTED), "de": (pages.DE_INLINE, pages.DE_EXPECTED),
                       "ja": (pages.JA_INLINE, pages.JA_EXPECTED)}[language]
    text = story_text(herald[layout], story)
    assert [words for words in expected if words not in text] == [], text[:600]
    assert foreign_words(text, pages.page(pages.laid_out(story, layout)).decode("utf-8")) == []


def in_order(text: str, paragraphs) -> list[str]:
    """The story paragraphs that are not paragraphs of `text` (its blank-line separated
    blocks) in the story's order: empty when every one is there, whole and in order."""
    blocks = text.split("\n\n")
    wrong, at = [], 0
    for paragraph in paragraphs:
        if paragraph in blocks[at:]:
            at = blocks.index(paragraph, at) + 1
        else:
            where = "glued to other text" if paragraph in text else "missing"
            wrong.append(f"{where}: {paragraph[:50]}")
    return wrong


def test_a_body_split_by_ad_slots_comes_out_whole_in_order_without_the_ad_labels(herald):
    from tests.fidelity_pages import SPLIT_BODY

    text = story_text(herald["p"], SPLIT_BODY)
    wrong = in_order(text, SPLIT_BODY.paragraphs)
    assert not wrong, "\n".join(wrong)
    assert "Advertisement" not in text


def test_a_story_continued_after_an_in_story_ad_and_newsletter_box_comes_out_whole_without_them(herald):
    from tests.fidelity_pages import AD_LABELS, AFTER_BOX

    text = story_text(herald["p"], AFTER_BOX)
    wrong = in_order(text, AFTER_BOX.paragraphs)
    assert not wrong, "\n".join(wrong)
    for label in AD_LABELS:
        assert label not in text


@pytest.mark.parametrize("which", ["hidden", "display-none", "details"])
def test_a_hidden_read_more_continuation_is_part_of_the_story(herald, which):
    from tests import fidelity_pages as pages

    story = {"hidden": pages.READ_MORE_HIDDEN, "display-none": pages.READ_MORE_DISPLAY_NONE,
             "details": pages.READ_MORE_DETAILS}[which]
    text = story_text(herald["p"], story)
    wrong = in_order(text, story.paragraphs)
    got = [block[:40] for block in text.split("\n\n")]
    assert not wrong, "\n".join(wrong) + f"\nthe record's paragraphs: {got}"
