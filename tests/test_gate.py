import gzip
import json
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawl.discovery import page_links
from newscrawl.gate import body_text_chars, classify_page
from newscrawl.outlets import Outlet, generic_outlet

OUTLET = generic_outlet("https://news.example/")
ARTICLE_URL = "https://news.example/2024/05/01/council-approves-budget"

PARAGRAPHS = [
    "The city council approved the annual budget on Tuesday after a debate that lasted "
    "well into the night, ending months of negotiation between the mayor and the board.",
    "Under the plan, spending on public transport rises by twelve percent, while the "
    "parks department faces a small cut that its director called regrettable but manageable.",
    "Opposition members argued that the tax changes would fall hardest on renters, and "
    "several proposed amendments were rejected by narrow margins before the final vote.",
    "The budget takes effect on the first of July. A public hearing on the capital plan is "
    "scheduled for next month, when residents can comment on the proposed projects.",
]
BODY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
CHROME = (
    "<header><nav><a href='/'>Home</a><a href='/world/'>World</a></nav></header>"
    "<footer><p>Copyright News Example. All rights reserved. Terms of use and privacy policy.</p>"
    "</footer>"
)


def page(head: str = "", body: str = BODY, chrome: str = CHROME) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(
        f"<html><head><title>t</title>{head}</head><body>{chrome}"
        f"<main><article><h1>Council approves budget</h1><div class='body'>{body}</div>"
        f"</article></main></body></html>"
    )


def jsonld(data) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


OG_ARTICLE = '<meta property="og:type" content="article">'


@pytest.mark.parametrize(
    "data, reason",
    [
        ({"@context": "https://schema.org", "@type": "NewsArticle"}, "jsonld:NewsArticle"),
        ({"@type": ["ReportageNewsArticle", "NewsArticle"]}, "jsonld:ReportageNewsArticle"),
        ({"@type": "http://schema.org/OpinionNewsArticle"}, "jsonld:OpinionNewsArticle"),
        ([{"@type": "Organization"}, {"@type": "BlogPosting"}], "jsonld:BlogPosting"),
        (
            {"@graph": [{"@type": "WebSite"}, {"@type": "WebPage"}, {"@type": "Article"}]},
            "jsonld:Article",
        ),
        ({"@type": "WebPage", "mainEntity": {"@type": "LiveBlogPosting"}}, "jsonld:LiveBlogPosting"),
    ],
)
def test_jsonld_article_types(data, reason):
    verdict = classify_page(page(jsonld(data)), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason == reason


def test_jsonld_in_html_comment_and_broken_blocks_tolerated():
    head = (
        '<script type="application/ld+json">{not json</script>'
        '<script type="application/ld+json"><!-- {"@type": "NewsArticle"} --></script>'
    )
    verdict = classify_page(page(head), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason == "jsonld:NewsArticle"


@pytest.mark.parametrize(
    "kind", ["CollectionPage", "ItemList", "ProfilePage", "VideoObject", "ImageGallery",
             "SearchResultsPage"],
)
def test_jsonld_non_article_types(kind):
    verdict = classify_page(page(jsonld({"@type": kind}) + OG_ARTICLE), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == f"jsonld:{kind}"


def test_jsonld_webpage_only_is_not_an_article():
    verdict = classify_page(page(jsonld({"@type": "WebPage"})), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == "jsonld:WebPage"


def test_itemlist_of_articles_is_a_listing():
    data = {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "url": f"{ARTICLE_URL}-{i}"}}
        for i in range(5)
    ]}
    verdict = classify_page(page(jsonld(data)), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == "jsonld:ItemList"


def test_og_article_only():
    verdict = classify_page(page(OG_ARTICLE), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason == "og:article"


@pytest.mark.parametrize("og", ["video.other", "profile", "video.episode"])
def test_og_non_article(og):
    verdict = classify_page(page(f'<meta property="og:type" content="{og}">'), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == f"og:{og}"


def test_no_markup_decided_by_text():
    verdict = classify_page(page(), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason.startswith("text:")


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://news.example/tag/elections/", "url-deny:/tag/"),
        ("https://news.example/tags/elections", "url-deny:/tag/"),
        ("https://news.example/topic/climate", "url-deny:/topic/"),
        ("https://news.example/category/politics/", "url-deny:/category/"),
        ("https://news.example/author/jane-doe/", "url-deny:/author/"),
        ("https://news.example/authors/jane-doe", "url-deny:/author/"),
        ("https://news.example/video/2024/05/01/clip", "url-deny:/video/"),
        ("https://news.example/videos/", "url-deny:/video/"),
        ("https://news.example/gallery/parade", "url-deny:/gallery/"),
        ("https://news.example/photos/parade", "url-deny:/photos/"),
        ("https://news.example/live-tv", "url-deny:/live-tv"),
        ("https://news.example/search?q=budget", "url-deny:/search"),
        ("https://news.example/politics/page/3/", "url-deny:/page/N"),
        ("https://news.example/section/world", "url-deny:/section/"),
        ("https://news.example/feed/", "url-deny:/feed"),
        ("https://news.example/rss.xml", "url-deny:/feed"),
        ("https://news.example/files/report.pdf", "url-deny:file"),
        ("https://news.example/", "url-root"),
    ],
)
def test_url_deny_beats_article_markup(url, reason):
    verdict = classify_page(page(jsonld({"@type": "NewsArticle"}) + OG_ARTICLE), url, OUTLET)
    assert not verdict.is_article and verdict.reason == reason


def test_url_words_inside_slugs_are_not_denied():
    for url in (
        "https://news.example/2024/05/01/the-tag-team-wins",
        "https://news.example/2024/05/01/authority-report",
        "https://news.example/2024/05/01/videogame-sales",
        "https://news.example/2024/05/01/research-on-search-engines",
    ):
        assert classify_page(page(OG_ARTICLE), url, OUTLET).is_article, url


def outlet(**kwargs) -> Outlet:
    return Outlet(name="ex", display_name="Ex", domains=("news.example",),
                  homepage="https://news.example/", **kwargs)


def test_outlet_deny_and_allow():
    root = page(jsonld({"@type": "NewsArticle"}))
    deny = outlet(deny=(r"/sponsored/",))
    verdict = classify_page(root, "https://news.example/sponsored/ad-story", deny)
    assert not verdict.is_article and verdict.reason == "outlet-deny:/sponsored/"

    allow = outlet(allow=(r"/\d{4}/\d{2}/\d{2}/",))
    assert classify_page(root, ARTICLE_URL, allow).is_article
    verdict = classify_page(root, "https://news.example/about-us", allow)
    assert not verdict.is_article and verdict.reason == "outlet-allow:no-match"

    # An explicit allow pattern overrides the built-in guesses.
    video_articles = outlet(allow=(r"/video/\d+/",))
    assert classify_page(root, "https://news.example/video/123/story", video_articles).is_article


def test_stub_with_article_markup_is_not_an_article():
    teaser = "<p>Subscribe to read the full story about the budget vote.</p>"
    verdict = classify_page(page(jsonld({"@type": "NewsArticle"}), body=teaser), ARTICLE_URL, OUTLET)
    assert not verdict.is_article
    assert verdict.reason == f"stub:NewsArticle:{len(lxml.html.fromstring(teaser).text_content())}"


def test_article_body_in_jsonld_rescues_pages_without_paragraphs():
    data = {"@type": "NewsArticle", "articleBody": " ".join(PARAGRAPHS)}
    verdict = classify_page(page(jsonld(data), body="<p>Short.</p>"), ARTICLE_URL, OUTLET)
    assert verdict.is_article


def test_short_page_without_markup():
    verdict = classify_page(page(body=f"<p>{PARAGRAPHS[0]}</p>"), ARTICLE_URL, OUTLET)
    assert not verdict.is_article
    assert verdict.reason == f"too-short:{len(PARAGRAPHS[0])}"


def test_text_in_chrome_and_link_lists_does_not_count():
    chrome = "".join(f"<aside><p>{p}</p></aside><footer><p>{p}</p></footer>" for p in PARAGRAPHS)
    links = "".join(f"<p><a href='/x{i}'>{p}</a></p>" for i, p in enumerate(PARAGRAPHS))
    root = page(chrome=chrome, body=links)
    assert body_text_chars(root) == 0
    assert not classify_page(root, ARTICLE_URL, OUTLET).is_article


def test_listing_page_of_headlines_and_teasers_is_not_an_article():
    cards = "".join(
        f"<div class='card'><h3><a href='/2024/05/0{i}/story-{i}'>Headline number {i} about "
        f"the news of the day</a></h3><p>{PARAGRAPHS[i % 4]}</p></div>"
        for i in range(12)
    )
    root = lxml.html.fromstring(
        f"<html><head><meta property='og:type' content='website'></head><body>{CHROME}"
        f"<main><section class='latest'>{cards}</section></main></body></html>"
    )
    verdict = classify_page(root, "https://news.example/world/", OUTLET)
    assert not verdict.is_article
    assert verdict.reason.startswith("too-short:")
    # The same text as one article body is an article.
    assert body_text_chars(page()) >= 400


def test_list_of_linked_headlines_with_teasers_is_not_an_article():
    items = "".join(
        f"<li><a href='/2024/05/0{i}/story-{i}'>Headline number {i} about the news of the day</a>"
        f"<p>{PARAGRAPHS[i % 4]}</p></li>"
        for i in range(8)
    )
    root = lxml.html.fromstring(f"<html><body><ul class='latest'>{items}</ul></body></html>")
    assert not classify_page(root, "https://news.example/latest", OUTLET).is_article


def test_paragraphs_wrapped_one_per_div_still_count():
    body = "".join(f"<div class='para'><p>{p}</p></div>" for p in PARAGRAPHS)
    assert body_text_chars(page(body=body)) == sum(len(p) for p in PARAGRAPHS)


def test_text_between_line_breaks_counts():
    body = "<br><br>".join(PARAGRAPHS)
    verdict = classify_page(page(body=body), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason.startswith("text:")


def test_whole_page_inside_a_form_still_counts():
    root = lxml.html.fromstring(f"<html><body><form id='page'><div>{BODY}</div></form></body></html>")
    assert classify_page(root, ARTICLE_URL, OUTLET).is_article


from bench.extraction import DEFAULT_FOLDER as AEB  # noqa: E402


@pytest.mark.skipif(not (AEB / "ground-truth.json").exists(), reason="aeb-dev data not present")
def test_real_articles_pass_the_gate():
    truth = json.loads((AEB / "ground-truth.json").read_text())
    misses = []
    for page_id, record in truth.items():
        html = gzip.decompress((AEB / "html" / f"{page_id}.html.gz").read_bytes())
        verdict = classify_page(lxml.html.fromstring(html), record["url"], generic_outlet(record["url"]))
        if not verdict.is_article:
            misses.append((record["url"], verdict.reason))
    # Every page in the set is an article; allow a few misses for pages with odd markup.
    assert len(misses) <= len(truth) // 20, misses


HTML_TOKENS = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<a href='/x'>", "</a>", "<nav>", "</nav>", "<br>",
     "<h2>", "</h2>", "<li>", "<script type='application/ld+json'>", "</script>",
     '{"@type": "NewsArticle"}', '{"@graph": [{"@type": ["Article"]}]}', '[[[[{"@type": 1}]]]]',
     "<meta property='og:type' content='article'>", "<!-- c -->", "&amp;", PARAGRAPHS[0], "x"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(HTML_TOKENS, min_size=1, max_size=60), st.sampled_from([ARTICLE_URL, "https://news.example/tag/x"]))
def test_gate_and_links_total_on_generated_html(tokens, url):
    root = lxml.html.fromstring("<html><body>" + "".join(tokens) + "</body></html>")
    verdict = classify_page(root, url, OUTLET)
    assert isinstance(verdict.is_article, bool) and verdict.reason
    assert all(link.startswith("https://news.example/") for link in page_links(root, url))
