"""The spider's worker call for each fetched HTML page: the article gate, and the links
of a page that is not an article.

The spider (newscrawl/spiders/news.py, `parse_page`) runs it in the worker pool through
the stage runner (pipelines/runner.py), so that the reactor never parses a page. An
article goes on to the item pipelines as a RawArticle with its HTML; the extract stage
parses the page again in its own worker call (README, Architecture, says what that costs).
"""

from __future__ import annotations

from functools import partial

from newscrawl import discovery
from newscrawl.gate import classify_page
from newscrawl.html import parse_html
from newscrawl.page_data import DEFAULT_MAX_BYTES, article_chars
from pipelines.extract import first_pass_chars


def page_job(page: dict, outlet, options: dict) -> dict:
    """The gate's verdict on one page: {"article", "reason"}, and for a page that is not an
    article the links the spider follows: "feed_links" and "page_links", as
    `options["feed_links"]` and `options["page_links"]` ask. `page`: the RawArticle's
    fields; `options["min_chars"]`: NEWSCRAWL_MIN_ARTICLE_CHARS; `options["page_data_max_bytes"]`:
    NEWSCRAWL_PAGE_DATA_MAX_BYTES."""
    url = page.get("final_url") or page["url"]
    root = parse_html(page["html"])
    page_data = partial(article_chars, max_bytes=options.get("page_data_max_bytes", DEFAULT_MAX_BYTES))
    verdict = classify_page(root, url, outlet, min_chars=options.get("min_chars", 400), extracted=first_pass_chars,
                            page_data=page_data)
    result = {"article": verdict.is_article, "reason": verdict.reason}
    if not verdict.is_article:
        if options.get("feed_links"):
            result["feed_links"] = discovery.feed_links(root, url)
        if options.get("page_links"):
            result["page_links"] = discovery.page_links(root, url)
    return result
