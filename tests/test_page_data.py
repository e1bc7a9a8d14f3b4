"""The article from the data a page ships for its scripts (newscrawl/page_data.py): read
as JSON only, found by its shape, cleaned as any body, and named in cleaning.extractor.
End to end, through a crawl and `newscrawl clean`: tests/test_page_data_crawl.py."""

from __future__ import annotations

import json

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawl.outlets import generic_outlet
from newscrawl.page_data import JSONLD, find_article, flight_rows, page_blobs
from newscrawl.page_job import page_job
from newscrawl.project import project_settings
from pipelines.clean import clean_page
from tests.script_pages import (BUILDERS, CAPTION, COOKIE_NOTICE, NEWSLETTER, TEASERS, empty_page, nextjs_page,
                                story)

URL = "http://127.0.0.1/news/harbour-plan"
OUTLET = generic_outlet(URL)


def clean(html: str, **overrides) -> tuple[dict, list[str]]:
    return clean_page(html, URL, OUTLET, settings=project_settings(overrides))


def scripts_of(html: str) -> list:
    return list(lxml.html.fromstring(html).iter("script"))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_article_a_script_built_page_carries_is_written_whole_and_clean(name):
    build, extractor = BUILDERS[name]
    paragraphs = story(name)
    record, warnings = clean(build(f"Harbour plan {name}", paragraphs))
    assert record["cleaning"]["extractor"] == extractor
    assert record["title"] == f"Harbour plan {name}"
    text = record["text"]
    # Every paragraph, in order, each a paragraph of its own.
    assert [p for p in text.split("\n\n") if p in paragraphs] == paragraphs
    # Nothing that is not the article: other stories, notices, captions, the newsletter prompt.
    for other in [COOKIE_NOTICE, CAPTION, NEWSLETTER] + [summary for _, _, summary in TEASERS]:
        assert other[:40] not in text
    assert not [w for w in warnings if w.startswith("would be rejected")], warnings


def test_the_newsletter_prompt_in_a_bodys_html_is_removed_and_counted_as_in_a_page():
    record, _ = clean(nextjs_page("Harbour plan", story("counted")))
    assert record["cleaning"]["removed"].get("newsletter") == 1


def test_a_body_in_the_pages_own_html_wins_over_its_data():
    # A server-rendered page that also ships its data: the HTML's body is read, as always.
    shown, shipped = story("shown"), story("shipped")
    data = json.dumps({"props": {"pageProps": {"article": {"title": "Harbour plan",
                                                           "body": "".join(f"<p>{p}</p>" for p in shipped)}}}})
    html = ("<html><head><title>Harbour plan</title><meta property='og:type' content='article'></head><body>"
            "<article><h1>Harbour plan</h1>" + "".join(f"<p>{p}</p>" for p in shown) + "</article>"
            f"<script id='__NEXT_DATA__' type='application/json'>{data}</script></body></html>")
    record, _ = clean(html)
    assert record["cleaning"]["extractor"].startswith("trafilatura")
    assert shown[0] in record["text"] and shipped[0] not in record["text"]


def test_the_body_near_the_headline_wins_over_a_longer_text_elsewhere_in_the_data():
    title, ours, other = "Harbour plan approved", story("ours", 4), story("other", 9)
    data = {"page": {"article": {"headline": title, "content": [{"type": "paragraph", "text": p} for p in ours]}},
            "archive": [{"id": 1, "content": [{"type": "paragraph", "text": p} for p in other]}]}
    html = f"<script>window.__APP__ = {json.dumps(data)};</script>"
    found = find_article(scripts_of(html), titles=[title])
    assert found.source == "window.__APP__"
    assert ours[0] in found.fragment.text_content() and other[0] not in found.fragment.text_content()


def test_teasers_of_other_stories_are_no_body():
    data = {"props": {"pageProps": {"section": "Harbour", "stories": [
        {"title": t, "url": u, "summary": s + " " + s} for t, u, s in TEASERS * 2]}}}
    html = f"<script id='__NEXT_DATA__' type='application/json'>{json.dumps(data)}</script>"
    assert find_article(scripts_of(html)) is None


def test_a_page_whose_data_holds_no_article_is_rejected_with_the_reason():
    record, warnings = clean(empty_page("Harbour plan"))
    assert record["text"] == ""
    [rejection] = [w for w in warnings if w.startswith("would be rejected")]
    assert "text is empty" in rejection
    assert "the page's HTML holds 0 words of body text, and the data its scripts carry no article" in rejection


def test_a_script_longer_than_the_cap_is_not_read_and_the_reason_says_so():
    html = nextjs_page("Harbour plan", story("capped"))
    record, warnings = clean(html, NEWSCRAWL_PAGE_DATA_MAX_BYTES=1000)
    assert record["text"] == ""
    assert any("1 script(s) longer than NEWSCRAWL_PAGE_DATA_MAX_BYTES, 1000 bytes, not read" in w for w in warnings)
    # Under the default cap, the same page is read.
    assert clean(html)[0]["cleaning"]["extractor"] == "page-data:__NEXT_DATA__"


def test_the_gate_takes_a_script_built_page_for_an_article_and_a_teaser_only_one_for_a_stub():
    options = {"min_chars": 400, "page_data_max_bytes": 2_000_000}
    html = nextjs_page("Harbour plan", story("gate"))
    verdict = page_job({"url": URL, "html": html}, OUTLET, options)
    assert verdict == {"article": True, "reason": "og:article:page-data"}
    # Beyond the cap, the gate reads no more than the extract stage would.
    assert not page_job({"url": URL, "html": html}, OUTLET, {**options, "page_data_max_bytes": 1000})["article"]
    data = {"props": {"pageProps": {"stories": [{"title": t, "url": u, "summary": s} for t, u, s in TEASERS]}}}
    listing = ("<html><head><meta property='og:type' content='article'></head><body><div id='__next'></div>"
               f"<script id='__NEXT_DATA__' type='application/json'>{json.dumps(data)}</script></body></html>")
    assert page_job({"url": URL, "html": listing}, OUTLET, options)["reason"].startswith("stub:og:article:")


@pytest.mark.parametrize("script", [
    # Data that only running the script would give: never run.
    'window.__STATE__ = JSON.parse(atob("eyJib2R5IjogIjxwPkhlbGxvPC9wPiJ9"));',
    'window.__STATE__ = {"body": "<p>" + document.title + "</p>"};',
    "window.__STATE__ = (function(a){return {body: a + a}}(window.name));",
    'window.__STATE__ = {"body": "<p>unterminated',
    'window.__STATE__ = ' + "[" * 5000 + "]" * 5000 + ";",
    'self.__next_f.push([1,"2:Tzz,<p>not hex</p>"]);self.__next_f.push([1,"3:T99999,<p>short</p>"])',
])
def test_scripts_that_are_not_json_give_nothing_and_break_nothing(script):
    assert find_article(scripts_of(f"<html><body><script>{script}</script></body></html>")) is None


def test_a_devalue_payload_with_a_cycle_is_read_once():
    payload = [["Reactive", 1], {"self": 1, "body": 2}, ["ShallowRef", 3], "x" * 10]
    html = f"<script type='application/json' id='__NUXT_DATA__'>{json.dumps(payload)}</script>"
    [blob], _ = page_blobs(scripts_of(html))
    assert blob.value == {"self": None, "body": "x" * 10}


def test_a_text_chunk_of_the_server_component_stream_is_measured_in_utf8_bytes():
    body = "<p>Überall Wasser: 港の水位が上がった。</p>"
    stream = f"1:T{len(body.encode()):x},{body}2:[\"$\",\"p\",null,{{\"children\":\"next\"}}]\n"
    assert flight_rows(stream) == [body, {"tagName": "p", "children": "next"}]


def test_the_jsonld_article_body_is_a_source_near_the_headline():
    paragraphs = story("jsonld")
    found = find_article([], jsonld_body="\n\n".join(paragraphs))
    assert found.source == JSONLD and [p.text for p in found.fragment.iter("p")] == paragraphs


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=300),
                    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
                    max_leaves=60))
def test_any_json_in_a_pages_data_gives_a_body_or_none_and_never_raises(value):
    data = json.dumps(value).replace("<", "\\u003c")
    html = (f"<script id='__NEXT_DATA__' type='application/json'>{data}</script>"
            f"<script>window.__STATE__ = {data};</script>"
            f"<script type='application/json' id='__NUXT_DATA__'>{json.dumps([['Reactive', 1], value])}</script>")
    found = find_article(scripts_of(f"<html><body>{html}</body></html>"), titles=["Harbour plan"])
    assert found is None or found.chars > 0
