import gzip
import json
import re
import urllib.request

import feedparser
import lxml.etree
import lxml.html
import pytest

from newscrawl.demo import demo_spec, fixture_web_spec, outlet_toml, serve_fixture_web
from newscrawl.outlets import Outlet
from newscrawl.sitegen import (ATOM, DISCOVERY_PATHS, HOMEPAGE, NEWS_SITEMAP, ROBOTS_SITEMAP, RSS, RSS1,
                               SECTION_1, SECTION_2, SITEMAP_GZ, SITEMAP_INDEX, build_site)

BASE = "http://127.0.0.1:8999"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def all_builds():
    return [build_site(spec, BASE) for spec in (demo_spec(), *fixture_web_spec())]


@pytest.fixture(scope="module", params=["demo", "fixture-regional", "fixture-paper", "fixture-urdu"])
def build(request):
    specs = {s.name: s for s in fixture_web_spec()}
    spec = demo_spec() if request.param == "demo" else specs[request.param]
    return build_site(spec, BASE)


def body_of(build, url):
    assert url.startswith(build.base_url), url
    return build.routes[url[len(build.base_url):]].body


def xml_of(build, url):
    data = body_of(build, url)
    if url.endswith(".gz"):
        data = gzip.decompress(data)
    return lxml.etree.fromstring(data)


def links(build, url):
    tree = lxml.html.fromstring(body_of(build, url))
    return {href.split("#")[0] for href in tree.xpath("//a/@href")}


def walk_sitemap(build, url, found, seen_children):
    """Article URLs per sitemap file, following indexes; returns {child_url: urls}."""
    root = xml_of(build, url)
    if root.tag == SM + "sitemapindex":
        for loc in root.iter(SM + "loc"):
            seen_children.append(loc.text)
            walk_sitemap(build, loc.text, found, seen_children)
    else:
        found[url] = {loc.text for loc in root.iter(SM + "loc")}
    return found


def page_text(html_bytes):
    tree = lxml.html.fromstring(html_bytes)
    text = " ".join(tree.text_content().split())
    return text + " " + " ".join(tree.xpath("//img/@alt"))


def test_same_spec_gives_same_bytes():
    first, second = build_site(demo_spec(), BASE), build_site(demo_spec(), BASE)
    assert {p: r.body for p, r in first.routes.items()} == {p: r.body for p, r in second.routes.items()}


def test_expected_sets_are_disjoint_and_cover_every_article(build):
    seen = set()
    for via in DISCOVERY_PATHS:
        assert not (build.expected[via] & seen)
        seen |= build.expected[via]
    assert seen == build.all_articles
    assert not (build.non_articles & build.all_articles)
    for url in build.all_articles | build.non_articles:
        assert body_of(build, url)


def test_demo_and_fixture_web_cover_every_discovery_path():
    demo = build_site(demo_spec(), BASE)
    assert all(demo.expected[via] for via in DISCOVERY_PATHS)
    assert len(demo.all_articles) >= 20
    for spec in fixture_web_spec()[:2]:
        built = build_site(spec, BASE)
        assert all(built.expected[via] for via in DISCOVERY_PATHS), spec.name


def test_robots_names_sitemaps_and_disallows(build):
    robots = body_of(build, BASE + "/robots.txt").decode()
    named = re.findall(r"^Sitemap: (\S+)$", robots, re.M)
    assert tuple(named) == build.sitemaps
    assert "Disallow: /search" in robots
    assert BASE + "/search" in build.disallowed


def test_sitemaps_place_articles_on_their_paths(build):
    children = []
    pages_sitemap, index, news = build.sitemaps
    by_file = walk_sitemap(build, index, {}, children)
    assert any(c.endswith(".xml.gz") for c in children)
    nested = [c for c in children if xml_of(build, c).tag == SM + "sitemapindex"]
    assert nested, "the index must list another index"
    gz = next(c for c in children if c.endswith(".xml.gz"))
    assert build.routes[gz[len(BASE):]].content_type in ("application/gzip", "application/x-gzip")
    assert by_file.pop(gz) == build.expected[SITEMAP_GZ]
    assert set().union(*by_file.values()) == build.expected[SITEMAP_INDEX]
    listed = walk_sitemap(build, pages_sitemap, {}, [])[pages_sitemap]
    assert listed & build.all_articles == build.expected[ROBOTS_SITEMAP]
    assert listed - build.all_articles <= build.non_articles  # section and about pages
    for lastmod in xml_of(build, pages_sitemap).iter(SM + "lastmod"):
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", lastmod.text)


def test_news_sitemap_has_publication_fields(build):
    root = xml_of(build, build.sitemaps[2])
    urls = {u.find(SM + "loc").text: u for u in root.iter(SM + "url")}
    assert set(urls) == build.expected[NEWS_SITEMAP]
    for url, node in urls.items():
        info = build.articles[url]
        assert node.find(f".//{NEWS}publication_date").text == info.published
        assert node.find(f".//{NEWS}title").text == info.spec.title
        assert node.find(f".//{NEWS}language").text == info.spec.language


def test_feeds_parse_and_list_their_articles(build):
    rss1, atom = build.feeds
    for url, via, version in ((build.homepage_feed, RSS, "rss20"), (rss1, RSS1, "rss10"), (atom, ATOM, "atom10")):
        parsed = feedparser.parse(body_of(build, url))
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        assert parsed.version == version
        assert {entry.link for entry in parsed.entries} == build.expected[via]
        for entry in parsed.entries:
            assert entry.title == build.articles[entry.link].spec.title
            assert entry.get("published_parsed") or entry.get("updated_parsed")


def test_homepage_feed_is_announced_only_by_the_homepage(build):
    home = lxml.html.fromstring(body_of(build, BASE + "/"))
    alternates = home.xpath('//link[@rel="alternate"][@type="application/rss+xml"]/@href')
    assert alternates == [build.homepage_feed]
    assert build.homepage_feed not in build.feeds
    assert build.homepage_feed.encode() not in body_of(build, BASE + "/robots.txt")


def test_link_paths_reach_exactly_their_articles(build):
    home_links = links(build, BASE + "/")
    assert home_links & build.all_articles == build.expected[HOMEPAGE]
    sections = [u for u in home_links if u in build.non_articles and u != BASE + "/"]
    depth1 = set().union(*(links(build, s) for s in sections))
    assert depth1 & build.all_articles == build.expected[SECTION_1]
    depth2_pages = (depth1 & build.non_articles) - set(sections) - {BASE + "/"}
    depth2 = set().union(*(links(build, p) for p in depth2_pages))
    assert (depth2 & build.all_articles) - build.expected[SECTION_1] == build.expected[SECTION_2]
    assert build.expected[SECTION_2] <= depth2


def test_non_article_pages_look_like_listings_and_carry_no_article_markup(build):
    for url in build.non_articles:
        html = body_of(build, url)
        tree = lxml.html.fromstring(html)
        assert tree.xpath("//header") and tree.xpath("//footer")
        assert len(" ".join(tree.xpath("//main")[0].text_content().split())) > 150, url
        assert b'"NewsArticle"' not in html
        assert not tree.xpath('//meta[@property="og:type"][@content="article"]')


def test_article_pages_carry_metadata(build):
    for url, info in build.articles.items():
        tree = lxml.html.fromstring(body_of(build, url))
        docs = [json.loads(s) for s in tree.xpath('//script[@type="application/ld+json"]/text()')]
        article = next(d for d in docs if d["@type"] == "NewsArticle")
        assert article["headline"] == info.spec.title
        assert article["datePublished"] == info.published
        assert re.search(r"[+-]\d\d:\d\d$", article["datePublished"])
        assert article["author"][0]["name"] == info.spec.author
        assert {"dateModified", "publisher", "inLanguage", "isAccessibleForFree", "articleSection",
                "keywords", "image"} <= set(article)
        assert tree.xpath('//link[@rel="canonical"]/@href') == [url]
        assert tree.xpath('//meta[@property="og:title"]/@content') == [info.spec.title]
        assert len(tree.xpath("//article")) == 1
        assert tree.xpath("//article//h1")[0].text_content() == info.spec.title


def test_truth_and_cruft_are_in_the_page(build):
    for url in build.all_articles:
        article = lxml.html.fromstring(body_of(build, url)).xpath("//article")[0]
        text = " ".join(article.text_content().split())
        for paragraph in build.truth[url].split("\n\n"):
            assert paragraph in text, (url, paragraph)
        page = page_text(body_of(build, url))
        assert build.cruft[url]
        for snippet in build.cruft[url]:
            assert snippet in page, (url, snippet)
            assert snippet not in build.truth[url]


def test_inline_cruft_sits_inside_the_article_in_varied_markup():
    builds = all_builds()
    wrappers = set()
    for built in builds:
        for url in built.all_articles:
            tree = lxml.html.fromstring(body_of(built, url))
            for node in tree.xpath('//article//*[contains(@class, "also-read") or contains(@class, "follow-prompt")'
                                   ' or contains(@class, "newsletter-box") or contains(@class, "app-badges")]'):
                wrappers.add(node.tag)
            assert tree.xpath('//article//*[contains(@class, "ad-label")]')
    assert {"div", "p", "aside", "section", "ul", "figure"} <= wrappers


def test_seed_shaped_article_matches_the_seed_layout():
    built = build_site(demo_spec(), BASE)
    (url,) = [u for u, i in built.articles.items() if i.spec.seed_shaped]
    article = lxml.html.fromstring(body_of(built, url)).xpath("//article")[0]
    text = " ".join(article.text_content().split())
    first_paragraph = built.truth[url].split("\n\n")[0]
    order = ["Long or Short, get news the way you like. No ads. No redirections. Download Newspin and Stay Alert, "
             "The CSR Journal Mobile app, for fast, crisp, clean updates!",
             "App Store – https://apps.apple.com/in/app/newspin/id6746449540",
             "Google Play Store – https://play.google.com/store/apps/details?id=com.inventifweb.newspin&pcampaignid=web_share",
             "Latest News", "Popular Videos"]
    positions = [text.index(first_paragraph)] + [text.index(s) for s in order]
    assert positions == sorted(positions)
    logos = article.xpath('.//img[@alt="app-store-logo" or @alt="play-store-logo"]')
    assert len(logos) == 2
    assert text.index(first_paragraph) > 0  # the headline and byline come first, logos sit above the body
    assert "\n\n" in built.truth[url] and "A Long-Running Conflict" in built.truth[url]


def test_urdu_outlet_is_right_to_left_with_pakistani_offset():
    spec = next(s for s in fixture_web_spec() if s.language == "ur")
    built = build_site(spec, BASE)
    for url, info in built.articles.items():
        html = body_of(built, url)
        root = lxml.html.fromstring(html)
        assert root.get("lang") == "ur" and root.get("dir") == "rtl"
        assert info.published.endswith("+05:00")
        assert re.search("[\u0600-\u06ff]", built.truth[url])


def test_two_outlets_republish_the_same_wire_story():
    copies = {}
    for built in all_builds()[1:]:
        for url, info in built.articles.items():
            if info.spec.wire_id:
                copies.setdefault(info.spec.wire_id, []).append((built, url))
    (pair,) = copies.values()
    (b1, u1), (b2, u2) = pair
    assert b1.base_url == b2.base_url and b1 is not b2
    assert b1.truth[u1] == b2.truth[u2]
    assert body_of(b1, u1) != body_of(b2, u2)


@pytest.mark.e2e
def test_served_fixture_web_answers_every_route_and_gives_outlet_records():
    with serve_fixture_web() as web:
        assert len({served.site.port for served in web}) == 3
        for served in web:
            outlet = served.outlet
            assert outlet.domains == (served.site.host_port,)
            assert Outlet.from_dict(__import__("tomllib").loads(outlet_toml(outlet))) == outlet
            for url in sorted(served.build.all_articles)[:3] + [served.build.sitemaps[1], served.build.homepage_feed]:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
            gz = next(p for p in served.build.routes if p.endswith(".xml.gz"))
            with urllib.request.urlopen(served.site.url + gz, timeout=5) as response:
                assert gzip.decompress(response.read()).startswith(b"<?xml")
            assert served.site.count(gz) == 1
