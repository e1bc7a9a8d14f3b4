"""End to end: a real crawl of a local outlet whose articles embed videos (in their
JSON-LD, beside and inside the article) and whose pages declare no charset or a wrong one.
The articles come out as records, with their text decoded right; `newscrawl clean` on the
saved bytes gives the same text."""

from __future__ import annotations

import json

import pytest

from newscrawl.webserver import LocalSite, Page
from tests.crawling import clean_saved, crawl
from tests.faults import JAPANESE, english_paragraphs, sitemap_outlet
from tests.test_charset import ARABIC, RUSSIAN, arabic_page, japanese_page, russian_page

pytestmark = pytest.mark.e2e  # a real crawl and `newscrawl clean` in a child process

NAME = "media-times"
UTF8 = "text/html; charset=utf-8"


def ld(data) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def video(title: str) -> dict:
    return {"@type": "VideoObject", "name": f"Watch: {title}", "description": "A short clip.",
            "thumbnailUrl": "https://cdn.example/thumb.jpg", "uploadDate": "2026-01-02T09:00:00+00:00",
            "contentUrl": "https://cdn.example/clip.mp4"}


def news(title: str, **extra) -> dict:
    return {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "datePublished": "2026-01-02T10:00:00+00:00", **extra}


def page(title: str, head: str, paragraphs: list[str], og: str = "") -> Page:
    og_meta = f'<meta property="og:type" content="{og}">' if og else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{og_meta}{head}'
            f'</head><body><header><a href="/">Home</a></header><article><h1>{title}</h1>'
            f'<div class="player"><video src="https://cdn.example/clip.mp4"></video></div>{body}</article>'
            f"<footer>Media Times</footer></body></html>")
    return Page(html.encode("utf-8"), UTF8)


def media_pages() -> dict[str, Page]:
    t = {
        "beside": "Council votes on the harbour budget",
        "inside": "Flood defences finished before winter",
        "around": "Rail strike ends after four days",
        "sloppy": "Museum reopens after repairs",
        "long": "Farmers count the cost of the storm",
        "clip": "Clip of the day",
    }
    return {
        # The video's block first, the article's second.
        "/news/video-beside": page(t["beside"], ld(video(t["beside"])) + ld(news(t["beside"])),
                                   english_paragraphs(t["beside"])),
        "/news/video-inside": page(t["inside"], ld(news(t["inside"], video=video(t["inside"]))),
                                   english_paragraphs(t["inside"])),
        # The video as the page's entity, the article its mainEntityOfPage's main entity.
        "/news/video-around": page(t["around"], ld({"@context": "https://schema.org", **video(t["around"]),
                                                    "mainEntityOfPage": {"@type": "WebPage",
                                                                         "mainEntity": news(t["around"])}}),
                                   english_paragraphs(t["around"])),
        # The article's block with a trailing comma (which the lenient readers of search
        # engines accept), beside a clean video block.
        "/news/video-sloppy-article": page(t["sloppy"], ld(video(t["sloppy"])) + '<script type="application/ld+json">'
                                           + json.dumps(news(t["sloppy"]))[:-1] + ',}</script>',
                                           english_paragraphs(t["sloppy"]), og="video.other"),
        # Only the video described, but a long article body under it.
        "/news/video-long-body": page(t["long"], ld(video(t["long"])), english_paragraphs(t["long"], count=8),
                                      og="video.other"),
        # A video page: the clip and a line about it. Not an article.
        "/news/clip-of-the-day": page(t["clip"], ld({"@context": "https://schema.org", **video(t["clip"])}),
                                      english_paragraphs(t["clip"], count=1, words=25), og="video.other"),
    }


# Another story than RUSSIAN's, or dedupe would take one page for a copy of the other.
RUSSIAN_RAIL = [
    "Железнодорожники завершили ремонт моста через реку на две недели раньше срока.",
    "Поезда снова ходят по расписанию, а пассажиры больше не пересаживаются на автобусы.",
    "Ремонт обошёлся дешевле, чем планировали, сообщил директор дороги на пресс-конференции.",
    "Следующим летом рабочие займутся вокзалом, который не ремонтировали сорок лет.",
    "Местные жители надеются, что после ремонта в город приедет больше туристов.",
]
CHARSET_PAGES = {
    "/news/arabic-undeclared": Page(arabic_page(), "text/html"),
    "/news/russian-utf8-latin-header": Page(russian_page("utf-8", RUSSIAN_RAIL, "Мост открыт"),
                                            "text/html; charset=ISO-8859-1"),
    "/news/russian-1251-latin-header": Page(russian_page("cp1251"), "text/html; charset=windows-1252"),
    "/news/japanese-sjis-latin-header": Page(japanese_page(), "text/html; charset=ISO-8859-1"),
}
EXPECTED_WORDS = {
    "/news/arabic-undeclared": [ARABIC[0].rstrip("."), ARABIC[4].rstrip(".")],
    "/news/russian-utf8-latin-header": [RUSSIAN_RAIL[0].rstrip("."), RUSSIAN_RAIL[4].rstrip(".")],
    "/news/russian-1251-latin-header": [RUSSIAN[1].rstrip("."), RUSSIAN[3].rstrip(".")],
    "/news/japanese-sjis-latin-header": [JAPANESE[0], JAPANESE[3]],
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    with LocalSite() as site:
        routes = {**media_pages(), **CHARSET_PAGES}
        site.routes.update(routes)
        outlet = sitemap_outlet(site, routes, NAME, "Media Times",
                                b"<!doctype html><html><head><title>Media Times</title></head><body><p>Home</p></body></html>")
        tmp = tmp_path_factory.mktemp("media")
        run = crawl(outlet, tmp)
        records = {r["url"].split(site.host_port, 1)[1]: r for r in run.records(NAME)}
        yield site, outlet, run, records, tmp


@pytest.mark.parametrize("path", ["/news/video-beside", "/news/video-inside", "/news/video-around",
                                  "/news/video-sloppy-article", "/news/video-long-body"])
def test_an_article_with_an_embedded_video_is_a_record(media, path):
    _, _, _, records, _ = media
    assert path in records, sorted(records)
    record = records[path]
    assert english_paragraphs(record["title"])[0][:60] in record["text"]


def test_a_video_page_is_no_record(media):
    _, _, run, records, _ = media
    assert "/news/clip-of-the-day" not in records
    assert "/news/clip-of-the-day" in {p for _, p, _ in media[0].requests}


@pytest.mark.parametrize("path", sorted(CHARSET_PAGES))
def test_pages_with_a_missing_or_wrong_charset_are_decoded_right(media, path):
    _, _, _, records, _ = media
    text = records[path]["text"]
    assert "\ufffd" not in text
    for words in EXPECTED_WORDS[path]:
        assert words in text


def test_charset_decisions_are_counted(media):
    run = media[2]
    assert run.stat("newscrawl/charset/detected-undeclared") == 1
    assert run.stat("newscrawl/charset/declared-latin-is-utf8") == 1
    assert run.stat("newscrawl/charset/detected-under-latin") == 2


def test_clean_on_the_saved_pages_gives_the_crawled_text(media):
    site, outlet, run, records, tmp = media
    cleaned, _ = clean_saved(site, sorted(CHARSET_PAGES), outlet, run, tmp)
    assert [r["text"] for r in cleaned] == [records[path]["text"] for path in sorted(CHARSET_PAGES)]
