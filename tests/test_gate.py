import gzip
import json
import os
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawl.discovery import page_links
from newscrawl.gate import body_text_chars, classify_page
from pipelines.extract import first_pass_chars
from newscrawl.page_data import article_chars
from newscrawl.page_job import page_job
from newscrawl.outlets import Outlet, generic_outlet
from tests.needs import missing

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


# --- articles that embed media, and bodies the gate used to miss ---------------------------

VIDEO = {"@type": "VideoObject", "name": "Watch: the council vote", "contentUrl": "https://cdn.example/v.mp4",
         "uploadDate": "2024-05-01T10:00:00Z"}
NEWS = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Council approves budget"}
LONG_BODY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 3)  # about 2,000 characters


@pytest.mark.parametrize(
    "head",
    [
        jsonld(VIDEO) + jsonld(NEWS),  # beside, in two blocks, the video first
        jsonld([VIDEO, NEWS]),
        jsonld({"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, VIDEO, {"@type": "NewsArticle"}]}),
        jsonld({**NEWS, "video": VIDEO}),  # nested inside the article
        jsonld({**NEWS, "associatedMedia": [VIDEO, {"@type": "ImageObject"}], "image": {"@type": "ImageGallery"}}),
        jsonld({**VIDEO, "mainEntityOfPage": {"@type": "WebPage", "mainEntity": NEWS}}),  # the video around it
        jsonld([[{"@type": "WebPage", "mainEntity": [{"@graph": [VIDEO, {"@type": "WebPage",
                                                                            "mainEntity": NEWS}]}]}]]),
        jsonld({"@type": "AudioObject"}) + jsonld({"@type": "ImageGallery"}) + jsonld(NEWS),
    ],
    ids=["beside", "list", "graph", "nested-video", "media-inside", "video-around", "deep", "other-media"],
)
def test_article_type_anywhere_wins_over_embedded_media(head):
    verdict = classify_page(page(head), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason == "jsonld:NewsArticle", verdict


@pytest.mark.parametrize(
    "article_block",
    [
        '{"@type": "NewsArticle", "headline": "Council\\\'s budget", "description": "It\\\'s done"}',
        '{"@type": "NewsArticle", "headline": "Council approves budget",}',
        '{"@type": "NewsArticle"} {"@type": "BreadcrumbList"}',
        "<![CDATA[" + json.dumps(NEWS) + "]]>",
    ],
    ids=["bad-escape", "trailing-comma", "two-objects", "cdata"],
)
def test_a_sloppy_article_block_still_beats_the_video_block(article_block):
    head = jsonld(VIDEO) + f'<script type="application/ld+json">{article_block}</script>'
    verdict = classify_page(page(head), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason == "jsonld:NewsArticle", verdict


@pytest.mark.parametrize("head, media", [(jsonld(VIDEO), "jsonld:VideoObject"),
                                         (jsonld({"@type": "ImageGallery"}), "jsonld:ImageGallery"),
                                         ('<meta property="og:type" content="video.other">', "og:video.other")])
def test_a_long_article_body_is_an_article_whatever_the_media_markup(head, media):
    verdict = classify_page(page(head, body=LONG_BODY), ARTICLE_URL, OUTLET)
    assert verdict.is_article and verdict.reason.endswith(f":over:{media}"), verdict
    # A video page's short description is no article (the four paragraphs of the tests above).
    assert classify_page(page(head), ARTICLE_URL, OUTLET).reason == media


def test_a_long_body_of_teasers_or_links_does_not_beat_the_media_markup():
    links = "".join(f"<p><a href='/x{i}'>{p}</a></p>" for i, p in enumerate(PARAGRAPHS * 3))
    assert classify_page(page(jsonld(VIDEO), body=links), ARTICLE_URL, OUTLET).reason == "jsonld:VideoObject"
    cards = "".join(f"<div class='card'><h3><a href='/2024/05/0{i % 9}/s-{i}'>Headline number {i} about the "
                    f"day's news</a></h3><p>{PARAGRAPHS[i % 4]}</p></div>" for i in range(12))
    root = lxml.html.fromstring(f"<html><head>{jsonld(VIDEO)}</head><body>{CHROME}<main><section>{cards}"
                                f"</section></main></body></html>")
    assert classify_page(root, "https://news.example/world/", OUTLET).reason == "jsonld:VideoObject"


def test_listings_stay_listings_beside_media():
    items = {"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "url": f"{ARTICLE_URL}-{i}"}} for i in range(5)]}
    verdict = classify_page(page(jsonld(items) + jsonld(VIDEO)), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == "jsonld:ItemList"
    collection = {"@type": "CollectionPage", "hasPart": [NEWS, NEWS]}
    verdict = classify_page(page(jsonld(collection), body=LONG_BODY), ARTICLE_URL, OUTLET)
    assert not verdict.is_article and verdict.reason == "jsonld:CollectionPage"


def test_an_author_page_of_a_bio_and_two_teasers_is_not_an_article():
    teasers = "".join(f"<li><h3><a href='/2024/05/0{i}/story-{i}'>Headline number {i} about the day</a></h3>"
                      f"<span>Staff Reporter</span><p>{PARAGRAPHS[i]}</p></li>" for i in range(2))
    root = lxml.html.fromstring(
        f"<html><body>{CHROME}<main><div class='archive'><h1>Staff Reporter</h1><div class='author-box'>"
        f"<p>{PARAGRAPHS[3]}</p></div><ul class='author-list'>{teasers}</ul></div></main></body></html>")
    verdict = classify_page(root, "https://news.example/profile/staff-reporter/", OUTLET)
    assert not verdict.is_article and verdict.reason.startswith("too-short:"), verdict


def _grid(paragraphs) -> str:
    """One paragraph per row and column of a grid: three wrappers around each <p>."""
    return "".join(f"<div class='row'><div class='col'><div class='cell'><p>{p}</p></div></div></div>"
                   for p in paragraphs)


def _divs_with_inline_markup(paragraphs) -> str:
    """Prose in one <div> per paragraph, its runs cut short by links and emphasis."""
    out = []
    for p in paragraphs:
        words = p.split()
        out.append(f"<div class='para'>{' '.join(words[:4])} <a href='/x'>{words[4]}</a> "
                   f"{' '.join(words[5:9])} <em>{words[9]}</em> {' '.join(words[10:15])} "
                   f"<strong>{words[15]}</strong> {' '.join(words[16:])}</div>")
    return "".join(out)


@pytest.mark.parametrize(
    "body",
    [
        _grid(PARAGRAPHS),
        _divs_with_inline_markup(PARAGRAPHS),
        "<a name='top'><div class='story'>" + BODY,  # an unclosed named anchor around the body
        "<span class='para'>" + "</span><span class='para'>".join(PARAGRAPHS) + "</span>",
    ],
    ids=["grid", "divs-with-inline-markup", "unclosed-anchor", "spans"],
)
def test_the_stub_rule_counts_the_body_wherever_it_sits(body):
    verdict = classify_page(page(jsonld(NEWS), body=body), ARTICLE_URL, OUTLET)
    assert verdict.is_article, verdict
    assert body_text_chars(page(body=body), enough=400) >= 0.9 * sum(len(p) for p in PARAGRAPHS)


def test_the_stub_rule_asks_extraction_before_calling_a_page_a_stub():
    # Prose as list items, each cut by bold words into runs shorter than a paragraph:
    # the gate's own measure sees nothing, extraction (trafilatura) reads the text.
    items = "".join("<li>" + " <b>and</b> ".join(" ".join(p.split()[i:i + 5]) for i in range(0, len(p.split()), 5))
                    + "</li>" for p in PARAGRAPHS)
    root = page(jsonld(NEWS), body=f"<ul>{items}</ul>")
    assert body_text_chars(root, enough=400) < 100
    assert not classify_page(root, ARTICLE_URL, OUTLET).is_article  # the gate's own measure alone
    verdict = classify_page(root, ARTICLE_URL, OUTLET, extracted=first_pass_chars)
    assert verdict.is_article and verdict.reason == "jsonld:NewsArticle:extracted", verdict


def test_a_body_only_in_the_pages_scripts_is_not_a_stub():
    # A client-rendered page (Next.js): the body is HTML inside a JSON string of a script.
    flight = json.dumps([1, "24:T1b7b," + BODY])
    root = lxml.html.fromstring(
        f"<html><head>{OG_ARTICLE}</head><body>{CHROME}<main><h1>Council approves budget</h1>"
        f"<div id='body'></div></main><script>self.__next_f.push({flight})</script></body></html>")
    assert not classify_page(root, ARTICLE_URL, OUTLET).is_article  # the page's own text alone
    verdict = classify_page(root, ARTICLE_URL, OUTLET, page_data=article_chars)
    assert verdict.is_article and verdict.reason == "og:article:page-data", verdict
    # A teaser there too stays a stub.
    flight = json.dumps([1, "<p>Subscribe to read the full story about the budget vote.</p>" + "x" * 300])
    root = lxml.html.fromstring(f"<html><head>{OG_ARTICLE}</head><body><script>self.__next_f.push({flight})"
                                f"</script></body></html>")
    assert classify_page(root, ARTICLE_URL, OUTLET, page_data=article_chars).reason.startswith("stub:og:article:")


# --- real articles -----------------------------------------------------------------------

from bench.extraction import DEFAULT_FOLDER as AEB  # noqa: E402

FUNDUS = Path(os.environ.get("FUNDUS_DEV") or AEB.parent / "fundus-dev")


@pytest.mark.slow
@pytest.mark.parametrize("folder", [AEB, FUNDUS], ids=["aeb-dev", "fundus-dev"])
def test_every_real_article_passes_the_gate(folder):
    """Through the crawl's page_job: the page decoded as UTF-8, the outlet the generic one
    for its URL."""
    if not (folder / "ground-truth.json").exists():
        name = "aeb-dev" if folder == AEB else "fundus-dev"
        missing(name, f"{name} data not present at {folder}")
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    misses = []
    for page_id, record in truth.items():
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
        url = record["url"]
        verdict = page_job({"url": url, "html": html}, generic_outlet(url), {"min_chars": 400})
        if not verdict["article"]:
            misses.append((page_id, url, verdict["reason"]))
    assert not misses


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
