"""Fake news outlets for the demo, the tests and the benchmarks: content in, routes out.

`build_site(spec, base_url)` turns an `OutletSpec` (which articles, how each one is to be
discovered) into the routes of a complete outlet: robots.txt, nested sitemap indexes (one
child gzipped), a Google News sitemap, RSS 2.0 / RSS 1.0 / Atom feeds, a homepage, paginated
section pages, tag / author / video / gallery / about pages, and article pages carrying the
cruft regional outlets put inside their article markup (app-store promotions, "Also read"
links, follow prompts, newsletter boxes, share bars, ad labels, "Latest News" lists,
syndication disclaimers).

The result (`SiteBuild`) also says what a correct crawler and cleaner must produce:
`expected[path]` (article URLs reachable through each discovery path; every article sits in
exactly one), `non_articles` (pages a crawler follows but never emits), `truth[url]` (the
true body text) and `cruft[url]` (the boilerplate snippets injected into that page).

Article-to-article links (the "Also read" and "Latest News" cruft) only point to articles of
the same discovery path, so following them never reaches an article another path owns.

Output is deterministic: the same spec and base URL give the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from newscrawl.webserver import Page

# Discovery paths, in the order a crawler usually tries them.
ROBOTS_SITEMAP = "robots_sitemap"  # urlset named directly by robots.txt
SITEMAP_INDEX = "sitemap_index"  # urlset reached through robots -> index -> nested index
SITEMAP_GZ = "sitemap_gz"  # gzipped urlset listed in the top sitemap index
NEWS_SITEMAP = "news_sitemap"  # Google News sitemap named by robots.txt
RSS = "rss"  # RSS 2.0, advertised only by <link rel="alternate"> on the homepage
RSS1 = "rss1"  # RSS 1.0 (RDF), listed in the outlet record's feeds
ATOM = "atom"  # Atom, listed in the outlet record's feeds
HOMEPAGE = "homepage"  # linked from the homepage only
SECTION_1 = "section_depth1"  # linked from a section's first page (depth 1)
SECTION_2 = "section_depth2"  # linked from a section's second page (depth 2)
DISCOVERY_PATHS = (ROBOTS_SITEMAP, SITEMAP_INDEX, SITEMAP_GZ, NEWS_SITEMAP, RSS, RSS1, ATOM,
                   HOMEPAGE, SECTION_1, SECTION_2)

APP_STORE_URL = "https://apps.apple.com/in/app/newspin/id6746449540"
PLAY_STORE_URL = "https://play.google.com/store/apps/details?id=com.inventifweb.newspin&pcampaignid=web_share"


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ArticleSpec:
    key: str  # stable id, unique within the outlet
    title: str
    body: str  # paragraphs (and subheads) separated by blank lines
    via: str  # one of DISCOVERY_PATHS
    section: str
    language: str = "en"
    author: str = "Staff Reporter"
    tags: tuple[str, ...] = ()
    # Seed-shaped: app-store logos on top, the "Download Newspin" promotion, store links,
    # then "Latest News" / "Popular Videos" at the end, all inside the article.
    seed_shaped: bool = False
    # Wire copy: the same wire_id republished by several outlets.
    wire_id: str | None = None
    free: bool = True
    # Fixed publication and modification times (naive: the outlet's local time), for a site
    # that grows run after run; None: placed back from OutletSpec.newest, a random step apart.
    published: datetime | None = None
    modified: datetime | None = None


@dataclass(frozen=True)
class OutletSpec:
    name: str
    display_name: str
    template: str  # a key of TEMPLATES
    articles: tuple[ArticleSpec, ...]
    language: str = "en"
    utc_offset: str = "+00:00"  # e.g. "+05:30"
    timezone: str = "UTC"
    seed: int = 1
    sections: tuple[str, ...] = ("world", "business", "sport")
    crawl_delay: float | None = None
    disallow: tuple[str, ...] = ("/search", "/preview/")
    # Publication time of the newest article; older ones step back from here.
    newest: datetime = datetime(2026, 1, 31, 9, 30)


@dataclass
class ArticleInfo:
    url: str
    spec: ArticleSpec
    published: str  # ISO 8601 with the outlet offset
    modified: str
    published_dt: datetime


@dataclass
class SiteBuild:
    base_url: str
    routes: dict[str, Page]
    expected: dict[str, set[str]]
    non_articles: set[str]
    all_articles: set[str]
    truth: dict[str, str]
    cruft: dict[str, list[str]]
    articles: dict[str, ArticleInfo]
    feeds: tuple[str, ...]  # feeds an outlet record lists (not the homepage-only one)
    homepage_feed: str
    sitemaps: tuple[str, ...]  # sitemaps robots.txt names
    disallowed: tuple[str, ...]  # URLs a robots-respecting crawler must never fetch


# --------------------------------------------------------------------------- helpers


def slugify(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    words = slug.split("-")[:9]
    slug = "-".join(w for w in words if w)
    return slug if len(slug) >= 8 else fallback


def number_for(key: str, digits: int = 7) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1)


def body_blocks(body: str) -> list[tuple[str, str]]:
    """Split a body into ("p" | "h", text) blocks: one per non-empty line."""
    blocks = []
    for line in body.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        is_subhead = len(line) < 80 and not re.search(r"[.?!:;,\"”'’)۔।]$", line) and len(line.split()) >= 2
        blocks.append(("h" if is_subhead else "p", line))
    return blocks


def truth_text(blocks: list[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in blocks)


def teaser(body: str, limit: int = 180) -> str:
    first = next((t for k, t in body_blocks(body) if k == "p"), "")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def iso(dt: datetime, offset: str) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + offset


def offset_tz(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def e(text: str) -> str:
    return escape(text, quote=True)


# --------------------------------------------------------------------------- localisation

WORDS = {
    "en": {"also_read": "Also read", "follow": "Follow us on {}", "ad": "Advertisement",
           "latest": "Latest News", "videos": "Popular Videos", "newsletter": "Get the day's top stories in your inbox",
           "subscribe": "Subscribe", "share": "Share this story", "more": "Read more", "next": "Next page",
           "prev": "Previous page", "home": "Home", "video": "Video", "gallery": "Photos", "about": "About us",
           "by": "By", "updated": "Updated", "tags": "Tags"},
    "hi": {"also_read": "यह भी पढ़ें", "follow": "{} पर हमें फॉलो करें", "ad": "विज्ञापन",
           "latest": "ताज़ा ख़बरें", "videos": "लोकप्रिय वीडियो", "newsletter": "दिन की बड़ी ख़बरें अपने इनबॉक्स में पाएँ",
           "subscribe": "सब्सक्राइब करें", "share": "यह ख़बर शेयर करें", "more": "और पढ़ें", "next": "अगला पेज",
           "prev": "पिछला पेज", "home": "होम", "video": "वीडियो", "gallery": "फ़ोटो", "about": "हमारे बारे में",
           "by": "लेखक", "updated": "अपडेट", "tags": "टैग"},
    "ur": {"also_read": "یہ بھی پڑھیں", "follow": "ہمیں {} پر فالو کریں", "ad": "اشتہار",
           "latest": "تازہ ترین", "videos": "مقبول ویڈیوز", "newsletter": "دن کی اہم خبریں اپنے ان باکس میں حاصل کریں",
           "subscribe": "سبسکرائب کریں", "share": "یہ خبر شیئر کریں", "more": "مزید پڑھیں", "next": "اگلا صفحہ",
           "prev": "پچھلا صفحہ", "home": "صفحہ اول", "video": "ویڈیو", "gallery": "تصاویر", "about": "ہمارے بارے میں",
           "by": "تحریر", "updated": "اپ ڈیٹ", "tags": "ٹیگز"},
}
SECTION_NAMES = {
    "ur": {"world": "دنیا", "pakistan": "پاکستان", "sport": "کھیل", "business": "کاروبار"},
    "hi": {"world": "दुनिया", "india": "देश", "sport": "खेल", "business": "कारोबार"},
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def section_label(section: str, language: str) -> str:
    return SECTION_NAMES.get(language, {}).get(section, section.replace("-", " ").title())


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    """How one outlet lays out its pages: URL shapes, class names, cruft wrappers."""

    name: str
    article_path: str  # format keys: section, slug, num, y, m, d
    section_path: str  # keys: section
    section_page2: str  # keys: section
    tag_path: str
    author_path: str
    video_path: str
    gallery_path: str
    about_path: str
    body_class: str  # the element holding the paragraphs, inside <article>
    article_class: str
    headline_class: str
    byline_class: str
    date_class: str
    wrapper: str  # page wrapper class
    cruft_tags: tuple[str, ...]  # tags the inline cruft is wrapped in
    end_lists_inside: bool = True  # "Latest News" lists inside the body element


TEMPLATES = {
    # WordPress "Newspaper"-style theme, the shape of many small regional outlets.
    "newspaper": Template(
        name="newspaper",
        article_path="/{slug}/", section_path="/category/{section}/",
        section_page2="/category/{section}/page/2/", tag_path="/tag/{tag}/",
        author_path="/author/{author}/", video_path="/category/videos/",
        gallery_path="/gallery/{slug}/", about_path="/about-us/",
        body_class="td-post-content tagdiv-type", article_class="post type-post status-publish format-standard",
        headline_class="entry-title", byline_class="td-post-author-name", date_class="td-post-date",
        wrapper="td-container", cruft_tags=("div", "p", "figure", "section"),
    ),
    # Indian regional news portal: story pages with numeric ids.
    "regional": Template(
        name="regional",
        article_path="/{section}/news/{slug}-{num}.html", section_path="/{section}/",
        section_page2="/{section}/page-2/", tag_path="/topic/{tag}/",
        author_path="/profile/{author}/", video_path="/videos/",
        gallery_path="/photos/{slug}-{num}/", about_path="/about/",
        body_class="story-details", article_class="story-wrap",
        headline_class="story-headline", byline_class="author-name", date_class="publish-date",
        wrapper="main-container", cruft_tags=("div", "aside", "p", "ul"), end_lists_inside=False,
    ),
    # Urdu news site, right to left, numeric story URLs.
    "urdu": Template(
        name="urdu",
        article_path="/news/{num}/", section_path="/category/{section}/",
        section_page2="/category/{section}/?page=2", tag_path="/tags/{tag}/",
        author_path="/writers/{author}/", video_path="/video/",
        gallery_path="/gallery/{num}/", about_path="/about/",
        body_class="news-detail-text", article_class="news-detail",
        headline_class="news-title", byline_class="reporter", date_class="news-date",
        wrapper="page-wrap", cruft_tags=("section", "div", "p", "aside"),
    ),
}


# --------------------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, spec: OutletSpec, base_url: str):
        if spec.template not in TEMPLATES:
            raise ValueError(f"unknown template {spec.template!r}; known: {sorted(TEMPLATES)}")
        self.spec = spec
        self.t = TEMPLATES[spec.template]
        self.base = base_url.rstrip("/")
        self.w = words(spec.language)
        self.routes: dict[str, Page] = {}
        self.non_articles: set[str] = set()
        self.truth: dict[str, str] = {}
        self.cruft: dict[str, list[str]] = {}
        self.infos: list[ArticleInfo] = []
        self.tz = offset_tz(spec.utc_offset)
        self._check_spec()
        self._place_articles()

    # -- setup ---------------------------------------------------------------------------
    def _check_spec(self) -> None:
        keys = [a.key for a in self.spec.articles]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{self.spec.name}: duplicate article keys")
        for article in self.spec.articles:
            if article.via not in DISCOVERY_PATHS:
                raise ValueError(f"{article.key}: unknown discovery path {article.via!r}")
            if article.section not in self.spec.sections:
                raise ValueError(f"{article.key}: section {article.section!r} not in the outlet's sections")
            if not body_blocks(article.body):
                raise ValueError(f"{article.key}: empty body")

    def url(self, path: str) -> str:
        return self.base + path

    def _place_articles(self) -> None:
        rng = random.Random(f"{self.spec.seed}:dates")
        newest = self.spec.newest
        step = timedelta()
        for index, article in enumerate(self.spec.articles):
            published = newest - step
            step += timedelta(minutes=rng.randint(25, 300))
            modified = published + timedelta(minutes=rng.choice((0, 0, 12, 45, 130)))
            if article.published is not None:
                published, modified = article.published, article.modified or article.published
            num = number_for(f"{self.spec.name}:{article.key}")
            slug = slugify(article.title, f"story-{num}")
            path = self.t.article_path.format(section=article.section, slug=slug, num=num,
                                              y=published.year, m=f"{published.month:02d}",
                                              d=f"{published.day:02d}")
            self.infos.append(ArticleInfo(
                url=self.url(path), spec=article, published=iso(published, self.spec.utc_offset),
                modified=iso(modified, self.spec.utc_offset), published_dt=published.replace(tzinfo=self.tz),
            ))
        paths = [i.url for i in self.infos]
        if len(paths) != len(set(paths)):
            raise ValueError(f"{self.spec.name}: two articles share a URL; give them distinct titles")

    def by_via(self, *vias: str) -> list[ArticleInfo]:
        return [i for i in self.infos if i.spec.via in vias]

    def path_of(self, url: str) -> str:
        return url[len(self.base):]

    # -- shared page parts ---------------------------------------------------------------
    def sections_nav(self) -> str:
        items = [f'<li><a href="{self.url("/")}">{e(self.w["home"])}</a></li>']
        for section in self.spec.sections:
            href = self.url(self.t.section_path.format(section=section))
            items.append(f'<li class="menu-item"><a href="{href}">{e(section_label(section, self.spec.language))}</a></li>')
        items.append(f'<li><a href="{self.url(self.t.video_path)}">{e(self.w["video"])}</a></li>')
        items.append(f'<li><a href="{self.url(self.gallery_path())}">{e(self.w["gallery"])}</a></li>')
        return "<ul class=\"nav-menu\">" + "".join(items) + "</ul>"

    def gallery_path(self) -> str:
        return self.t.gallery_path.format(slug="photos-of-the-week", num=number_for(self.spec.name + ":gallery"))

    def page(self, *, title: str, body: str, head_extra: str = "", description: str = "",
             page_class: str = "", canonical: str | None = None) -> bytes:
        spec, t = self.spec, self.t
        rtl = ' dir="rtl"' if spec.language in ("ur", "ar", "fa") else ""
        canonical_tag = f'<link rel="canonical" href="{e(canonical)}">' if canonical else ""
        year = spec.newest.year
        html = f"""<!DOCTYPE html>
<html lang="{spec.language}"{rtl}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} | {e(spec.display_name)}</title>
<meta name="description" content="{e(description or spec.display_name)}">
{canonical_tag}
<link rel="stylesheet" href="{self.url('/assets/css/' + t.name + '.min.css')}">
<link rel="icon" href="{self.url('/favicon.ico')}">
{head_extra}
<script async src="https://securepubads.g.doubleclick.net/tag/js/gpt.js"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}} gtag('js', new Date());</script>
</head>
<body class="{t.name} {page_class}">
<div class="{t.wrapper}">
<header class="site-header">
<div class="top-bar"><span class="today">{spec.newest:%A, %d %B %Y}</span> <a href="{self.url(self.t.about_path)}">{e(self.w["about"])}</a></div>
<div class="logo"><a href="{self.url('/')}"><img src="{self.url('/assets/logo.png')}" alt="{e(spec.display_name)}" width="240" height="60"></a></div>
<nav class="main-nav" aria-label="Main">{self.sections_nav()}</nav>
<form class="search-form" action="{self.url('/search')}" method="get"><input type="search" name="q" placeholder="Search"><button type="submit">Search</button></form>
</header>
<main id="content" class="site-main">
{body}
</main>
<footer class="site-footer">
<div class="footer-links"><a href="{self.url(self.t.about_path)}">{e(self.w["about"])}</a> · <a href="https://www.facebook.com/{spec.name}">Facebook</a> · <a href="https://x.com/{spec.name}">X</a></div>
<p class="copyright">© {year} {e(spec.display_name)}. All rights reserved.</p>
</footer>
</div>
<script src="{self.url('/assets/js/main.js')}" defer></script>
</body>
</html>
"""
        return html.encode("utf-8")

    def add_page(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8",
                 non_article: bool = False) -> None:
        if path in self.routes:
            raise ValueError(f"{self.spec.name}: two pages at {path}")
        self.routes[path] = Page(body, content_type)
        if non_article:
            self.non_articles.add(self.url(path))

    def story_list(self, infos: list[ArticleInfo], css: str, with_teaser: bool = True) -> str:
        items = []
        for info in infos:
            a = info.spec
            teaser_html = f'<p class="excerpt">{e(teaser(a.body))}</p>' if with_teaser else ""
            items.append(
                f'<li class="{css}-item"><h3 class="{css}-title"><a href="{info.url}">{e(a.title)}</a></h3>'
                f'<span class="{css}-meta">{e(a.author)} · <time datetime="{info.published}">{info.published[:10]}</time></span>'
                f"{teaser_html}</li>"
            )
        return f'<ul class="{css}">' + "".join(items) + "</ul>"

    def sidebar(self) -> str:
        tags = sorted({tag for i in self.by_via(SECTION_1) for tag in i.spec.tags})[:6]
        tag_links = "".join(f'<a class="tag-cloud-link" href="{self.url(self.t.tag_path.format(tag=slugify(tag, tag)))}">{e(tag)}</a> '
                            for tag in tags)
        return (f'<aside class="sidebar widget-area"><div class="widget"><h4 class="widget-title">{e(self.w["tags"])}</h4>'
                f'<div class="tagcloud">{tag_links}</div></div>'
                f'<div class="widget ad-widget"><div class="ad-slot" data-slot="sidebar-300x250"></div></div></aside>')

    # -- article pages -------------------------------------------------------------------
    def article_page(self, info: ArticleInfo) -> None:
        a, t, w = info.spec, self.t, self.words_for(info.spec)
        rng = random.Random(f"{self.spec.seed}:{a.key}:cruft")
        blocks = body_blocks(a.body)
        self.truth[info.url] = truth_text(blocks)
        snippets: list[str] = []
        peers = [i for i in self.by_via(a.via) if i.url != info.url] or [i for i in self.infos if i.url != info.url]

        def wrap(inner: str, css: str, tag: str | None = None) -> str:
            tag = tag or rng.choice(t.cruft_tags)
            if tag == "ul":
                inner = f"<li>{inner}</li>"
            return f'<{tag} class="{css}">{inner}</{tag}>'

        unused_peers = list(peers)

        def also_read() -> str:
            peer = unused_peers.pop(rng.randrange(len(unused_peers))) if unused_peers else rng.choice(peers)
            text = f'{w["also_read"]}: {peer.spec.title}'
            snippets.append(text)
            return wrap(f'<strong>{e(w["also_read"])}:</strong> <a href="{peer.url}">{e(peer.spec.title)}</a>', "also-read")

        def follow() -> str:
            network = rng.choice(("WhatsApp", "Telegram", "Google News"))
            text = w["follow"].format(network)
            snippets.append(text)
            href = {"WhatsApp": "https://whatsapp.com/channel/0029Va" + self.spec.name,
                    "Telegram": "https://t.me/" + self.spec.name,
                    "Google News": "https://news.google.com/publications/" + self.spec.name}[network]
            return wrap(f'<a href="{href}" target="_blank" rel="noopener">{e(text)}</a>', "follow-prompt")

        def advert() -> str:
            snippets.append(w["ad"])
            return (f'<div class="ad-container"><span class="ad-label">{e(w["ad"])}</span>'
                    f'<div class="ad-slot" id="div-gpt-ad-{rng.randint(1000, 9999)}"></div></div>')

        def newsletter() -> str:
            snippets.append(w["newsletter"])
            tag = rng.choice(("aside", "section", "div"))
            return (f'<{tag} class="newsletter-box"><h4>{e(w["newsletter"])}</h4>'
                    f'<form action="{self.url("/newsletter/subscribe")}" method="post"><input type="email" name="email" '
                    f'placeholder="you@example.com" required><button type="submit">{e(w["subscribe"])}</button></form></{tag}>')

        def share_bar() -> str:
            snippets.append(w["share"])
            links = "".join(f'<li><a class="share-{n.lower()}" href="https://share.example/{n.lower()}?u={info.url}">{n}</a></li>'
                            for n in ("Facebook", "X", "WhatsApp", "LinkedIn"))
            return f'<div class="share-bar"><span>{e(w["share"])}</span><ul class="share-links">{links}</ul></div>'

        def end_lists() -> str:
            latest = [p for p in peers[:4]]
            snippets.append(w["latest"])
            snippets.extend(p.spec.title for p in latest)
            snippets.append(w["videos"])
            videos = [f"Watch: {self.spec.display_name} bulletin, {self.spec.newest - timedelta(days=d):%d %B}" for d in range(3)]
            snippets.extend(videos)
            latest_html = "".join(f'<li><a href="{p.url}">{e(p.spec.title)}</a></li>' for p in latest)
            video_html = "".join(f'<li><a href="{self.url(t.video_path)}">{e(v)}</a></li>' for v in videos)
            return (f'<div class="related-block"><h4 class="block-title">{e(w["latest"])}</h4><ul class="latest-news">{latest_html}</ul></div>'
                    f'<div class="related-block"><h4 class="block-title">{e(w["videos"])}</h4><ul class="popular-videos">{video_html}</ul></div>')

        def disclaimer() -> str:
            text = (f"(This story has not been edited by {self.spec.display_name} staff and is auto-generated "
                    f"from a syndicated feed.)")
            snippets.append(text)
            return wrap(f"<em>{e(text)}</em>", "syndication-note", rng.choice(("p", "div")))

        def seed_promo() -> list[str]:
            promo = ("Long or Short, get news the way you like. No ads. No redirections. Download Newspin and Stay Alert, "
                     f"The CSR Journal Mobile app, for fast, crisp, clean updates!")
            store = f"App Store – {APP_STORE_URL}"
            play = f"Google Play Store – {PLAY_STORE_URL}"
            snippets.extend([promo, store, play])
            return [f"<p><strong>{e(promo)}</strong></p>",
                    f'<p>App Store – <a href="{e(APP_STORE_URL)}">{e(APP_STORE_URL)}</a></p>',
                    f'<p>Google Play Store – <a href="{e(PLAY_STORE_URL)}">{e(PLAY_STORE_URL)}</a></p>']

        # Inline cruft, each placed after a chosen paragraph.
        inline = [also_read, follow, advert]
        if rng.random() < 0.6:
            inline.append(newsletter)
        if len(blocks) > 6:
            inline.append(also_read)
        rng.shuffle(inline)
        # before[i]: cruft placed just before block i; a one-block body gets it after the body.
        before: dict[int, list[str]] = {}
        for make in inline:
            gap = rng.randrange(1, len(blocks)) if len(blocks) > 1 else len(blocks)
            before.setdefault(gap, []).append(make())

        parts: list[str] = []
        if a.seed_shaped or rng.random() < 0.3:
            parts.append(self._store_badges(rng, snippets))
        if not a.seed_shaped and rng.random() < 0.5:
            parts.append(share_bar())
        for index, (kind, text) in enumerate(blocks):
            parts.extend(before.get(index, []))
            parts.append(f"<h2>{e(text)}</h2>" if kind == "h" else f"<p>{e(text)}</p>")
        parts.extend(before.get(len(blocks), []))
        tail: list[str] = []
        if a.seed_shaped:
            tail.extend(seed_promo())
        if a.wire_id or rng.random() < 0.25:
            tail.append(disclaimer())
        if rng.random() < 0.5:
            tail.append(follow())
        ends = end_lists()
        if t.end_lists_inside:
            tail.append(ends)
        body_html = "\n".join(parts + tail)
        outside = "" if t.end_lists_inside else ends

        self.cruft[info.url] = snippets
        self.routes[self.path_of(info.url)] = Page(self.article_html(info, body_html, outside), "text/html; charset=utf-8")

    def words_for(self, article: ArticleSpec) -> dict[str, str]:
        return words(article.language)

    def _store_badges(self, rng: random.Random, snippets: list[str]) -> str:
        snippets.extend(["app-store-logo", "play-store-logo"])
        tag = rng.choice(("figure", "p", "div"))
        return (f'<{tag} class="app-badges">'
                f'<a href="{e(APP_STORE_URL)}"><img src="{self.url("/assets/app-store.png")}" alt="app-store-logo" width="120" height="40"></a> '
                f'<a href="{e(PLAY_STORE_URL)}"><img src="{self.url("/assets/play-store.png")}" alt="play-store-logo" width="135" height="40"></a>'
                f"</{tag}>")

    def json_ld(self, info: ArticleInfo) -> str:
        a = info.spec
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": info.url},
            "headline": a.title,
            "description": teaser(a.body),
            "image": [self.image_url(info)],
            "datePublished": info.published,
            "dateModified": info.modified,
            "author": [{"@type": "Person", "name": a.author,
                        "url": self.url(self.t.author_path.format(author=slugify(a.author, "staff")))}],
            "publisher": {"@type": "Organization", "name": self.spec.display_name,
                          "logo": {"@type": "ImageObject", "url": self.url("/assets/logo.png")}},
            "inLanguage": a.language,
            "isAccessibleForFree": a.free,
            "articleSection": section_label(a.section, a.language),
            "keywords": ", ".join(a.tags),
        }
        graph = [data, {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": self.url("/")},
            {"@type": "ListItem", "position": 2, "name": section_label(a.section, a.language),
             "item": self.url(self.t.section_path.format(section=a.section))}]}]
        return "\n".join(f'<script type="application/ld+json">{json.dumps(g, ensure_ascii=False)}</script>' for g in graph)

    def image_url(self, info: ArticleInfo) -> str:
        return self.url(f"/wp-content/uploads/{info.published[:4]}/{info.published[5:7]}/{number_for(info.url)}.jpg")

    def article_html(self, info: ArticleInfo, body_html: str, outside: str) -> bytes:
        a, t = info.spec, self.t
        w = self.words_for(a)
        desc = teaser(a.body)
        head = "\n".join([
            f'<meta property="og:type" content="article">',
            f'<meta property="og:title" content="{e(a.title)}">',
            f'<meta property="og:description" content="{e(desc)}">',
            f'<meta property="og:url" content="{info.url}">',
            f'<meta property="og:image" content="{self.image_url(info)}">',
            f'<meta property="og:site_name" content="{e(self.spec.display_name)}">',
            f'<meta property="article:published_time" content="{info.published}">',
            f'<meta property="article:modified_time" content="{info.modified}">',
            f'<meta property="article:section" content="{e(section_label(a.section, a.language))}">',
            *[f'<meta property="article:tag" content="{e(tag)}">' for tag in a.tags],
            f'<meta name="author" content="{e(a.author)}">',
            self.json_ld(info),
        ])
        author_href = self.url(t.author_path.format(author=slugify(a.author, "staff")))
        section_href = self.url(t.section_path.format(section=a.section))
        lang_attr = f' lang="{a.language}"' if a.language != self.spec.language else ""
        byline = (f'<div class="{t.byline_class}">{e(w["by"])} <a href="{author_href}" rel="author">{e(a.author)}</a></div>'
                  f'<time class="{t.date_class}" datetime="{info.published}">{info.published_dt:%B %d, %Y %H:%M}</time>')
        if info.modified != info.published:
            byline += f' <span class="updated">{e(w["updated"])}: <time datetime="{info.modified}">{info.modified[:16].replace("T", " ")}</time></span>'
        tags_html = "".join(f'<a href="{self.url(t.tag_path.format(tag=slugify(tag, tag)))}" rel="tag">{e(tag)}</a> ' for tag in a.tags)
        figure = (f'<figure class="lead-image"><img src="{self.image_url(info)}" alt="{e(a.title)}" width="1200" height="675">'
                  f"<figcaption>File photo</figcaption></figure>")
        if t.name == "newspaper":
            article = f"""<div class="td-crumb-container"><a href="{self.url('/')}">Home</a> › <a href="{section_href}">{e(section_label(a.section, a.language))}</a></div>
<article id="post-{number_for(info.url, 5)}" class="{t.article_class}"{lang_attr}>
<div class="td-post-header"><header class="td-post-title"><ul class="td-category"><li><a href="{section_href}">{e(section_label(a.section, a.language))}</a></li></ul>
<h1 class="{t.headline_class}">{e(a.title)}</h1><div class="td-module-meta-info">{byline}</div></header></div>
<div class="td-post-featured-image">{figure}</div>
<div class="{t.body_class}">
{body_html}
</div>
<footer><div class="td-post-source-tags"><ul class="td-tags"><li><span>{e(w["tags"])}</span></li>{tags_html}</ul></div></footer>
</article>
{outside}"""
        elif t.name == "regional":
            article = f"""<div class="breadcrumb"><a href="{self.url('/')}">Home</a> / <a href="{section_href}">{e(section_label(a.section, a.language))}</a> / News</div>
<div class="row"><div class="col-main">
<article class="{t.article_class}" itemscope itemtype="https://schema.org/NewsArticle"{lang_attr}>
<h1 class="{t.headline_class}" itemprop="headline">{e(a.title)}</h1>
<h2 class="story-summary">{e(desc)}</h2>
<div class="story-byline">{byline}</div>
{figure}
<div class="{t.body_class}" itemprop="articleBody">
{body_html}
</div>
<div class="story-tags">{tags_html}</div>
</article>
{outside}
</div>{self.sidebar()}</div>"""
        else:
            article = f"""<div class="container"><div class="main-column">
<article class="{t.article_class}"{lang_attr}>
<header><span class="news-category"><a href="{section_href}">{e(section_label(a.section, a.language))}</a></span>
<h1 class="{t.headline_class}">{e(a.title)}</h1>
<div class="news-meta">{byline}</div></header>
{figure}
<div class="{t.body_class}">
{body_html}
</div>
<div class="news-tags">{tags_html}</div>
</article>
{outside}
</div>{self.sidebar()}</div>"""
        return self.page(title=a.title, body=article, head_extra=head, description=desc,
                         page_class="single single-post", canonical=info.url)

    # -- listing and other non-article pages ----------------------------------------------
    def homepage(self) -> None:
        featured = self.by_via(HOMEPAGE)
        rss = self.homepage_feed_path()
        head = (f'<link rel="alternate" type="application/rss+xml" title="{e(self.spec.display_name)} » Feed" '
                f'href="{self.url(rss)}">\n<meta property="og:type" content="website">'
                f'\n<meta property="og:site_name" content="{e(self.spec.display_name)}">')
        sections = "".join(
            f'<section class="home-section"><h2 class="section-heading"><a href="{self.url(self.t.section_path.format(section=s))}">'
            f'{e(section_label(s, self.spec.language))}</a></h2><p class="section-blurb">'
            f'{e(self.w["more"])}: {e(section_label(s, self.spec.language))}</p></section>'
            for s in self.spec.sections)
        lead = self.story_list(featured[:1], "lead-story") if featured else ""
        rest = self.story_list(featured[1:], "top-stories") if len(featured) > 1 else ""
        body = (f'<div class="home-grid"><div class="col-main"><h1 class="screen-reader-text">{e(self.spec.display_name)}</h1>'
                f"{lead}{rest}{sections}"
                f'<p class="more-links"><a href="{self.url(self.t.video_path)}">{e(self.w["video"])}</a> · '
                f'<a href="{self.url(self.gallery_path())}">{e(self.w["gallery"])}</a></p></div>{self.sidebar()}</div>')
        self.add_page("/", self.page(title=self.spec.display_name, body=body, head_extra=head,
                                     page_class="home", canonical=self.url("/")), non_article=True)

    def homepage_feed_path(self) -> str:
        return "/feed/" if self.t.name == "newspaper" else "/rss/latest.xml"

    def section_pages(self) -> None:
        depth1, depth2 = self.by_via(SECTION_1), self.by_via(SECTION_2)
        for section in self.spec.sections:
            label = section_label(section, self.spec.language)
            first = self.t.section_path.format(section=section)
            second = self.t.section_page2.format(section=section)
            items1 = [i for i in depth1 if i.spec.section == section]
            items2 = [i for i in depth2 if i.spec.section == section]
            extra_links = self.listing_extras(items1)
            body1 = (f'<div class="archive"><h1 class="page-title">{e(label)}</h1>{self.listing(items1)}'
                     f"{extra_links}"
                     f'<nav class="pagination"><span class="current">1</span> <a class="next page-numbers" href="{self.url(second)}">{e(self.w["next"])} ›</a></nav>'
                     f"</div>{self.sidebar()}")
            head1 = f'<link rel="next" href="{self.url(second)}">'
            self.add_page(first, self.page(title=label, body=body1, head_extra=head1, page_class="archive category",
                                           canonical=self.url(first)), non_article=True)
            body2 = (f'<div class="archive"><h1 class="page-title">{e(label)} – 2</h1>{self.listing(items2)}'
                     f'<nav class="pagination"><a class="prev page-numbers" href="{self.url(first)}">‹ {e(self.w["prev"])}</a> <span class="current">2</span></nav>'
                     f"</div>")
            head2 = f'<link rel="prev" href="{self.url(first)}">'
            self.add_page(second, self.page(title=f"{label} – 2", body=body2, head_extra=head2, page_class="archive category paged",
                                            canonical=self.url(second)), non_article=True)

    def listing_extras(self, items: list[ArticleInfo]) -> str:
        links = []
        for info in items:
            for tag in info.spec.tags[:2]:
                links.append(f'<a class="tag" href="{self.url(self.t.tag_path.format(tag=slugify(tag, tag)))}">#{e(tag)}</a>')
            links.append(f'<a class="author" href="{self.url(self.t.author_path.format(author=slugify(info.spec.author, "staff")))}">{e(info.spec.author)}</a>')
        links.append(f'<a class="video" href="{self.url(self.t.video_path)}">{e(self.w["video"])}</a>')
        links.append(f'<a class="gallery" href="{self.url(self.gallery_path())}">{e(self.w["gallery"])}</a>')
        return '<div class="related-links">' + " ".join(dict.fromkeys(links)) + "</div>"

    def tag_and_author_pages(self) -> None:
        # Tag and author pages list depth-1 section articles only: a breadth-first crawler
        # has already met them one level up, so these pages add no discovery path.
        depth1 = self.by_via(SECTION_1)
        tags: dict[str, list[ArticleInfo]] = {}
        authors: dict[str, list[ArticleInfo]] = {}
        for info in self.infos:
            for tag in info.spec.tags:
                tags.setdefault(tag, [])
            authors.setdefault(info.spec.author, [])
        for info in depth1:
            for tag in info.spec.tags:
                tags[tag].append(info)
            authors[info.spec.author].append(info)
        for tag, items in sorted(tags.items()):
            path = self.t.tag_path.format(tag=slugify(tag, tag))
            listing = self.listing(items, "tag-list")
            body = f'<div class="archive"><h1 class="page-title">{e(self.w["tags"])}: {e(tag)}</h1>{listing}</div>{self.sidebar()}'
            self.add_page(path, self.page(title=tag, body=body, page_class="archive tag", canonical=self.url(path)), non_article=True)
        for author, items in sorted(authors.items()):
            path = self.t.author_path.format(author=slugify(author, "staff"))
            bio = (f'<div class="author-box"><img src="{self.url("/assets/avatar.png")}" alt="{e(author)}" width="96">'
                   f'<p class="author-bio">{e(author)} reports for {e(self.spec.display_name)} on politics, public services '
                   f"and the economy. Write in with tips and corrections.</p></div>")
            listing = self.listing(items, "author-list")
            body = f'<div class="archive"><h1 class="page-title">{e(author)}</h1>{bio}{listing}</div>'
            self.add_page(path, self.page(title=author, body=body, page_class="archive author", canonical=self.url(path)), non_article=True)

    def listing(self, items: list[ArticleInfo], css: str = "archive-list") -> str:
        return self.story_list(items, css) if items else self.evergreen_listing()

    def evergreen_listing(self) -> str:
        """Headlines with teasers that link to no article: a listing page is never empty."""
        lines = [("Weather: what to expect this week", "Forecasters expect clear mornings and showers in the evening across most districts."),
                 ("Explainer: how the city budget is spent", "Where the money goes, line by line, and what changed from last year.")]
        return '<ul class="archive-list">' + "".join(
            f'<li><h3>{e(h)}</h3><p class="excerpt">{e(t)}</p></li>' for h, t in lines) + "</ul>"

    def media_pages(self) -> None:
        videos = "".join(
            f'<div class="video-card"><div class="video-player" data-video-id="{number_for(self.spec.name + str(n))}">'
            f'<video controls preload="none" poster="{self.url(f"/assets/video-{n}.jpg")}"></video></div>'
            f'<h3>{e(self.spec.display_name)} bulletin, {self.spec.newest - timedelta(days=n):%d %B}</h3>'
            f'<p class="excerpt">The day\'s main stories in three minutes: weather, traffic, markets and sport.</p></div>'
            for n in range(4))
        body = f'<div class="archive video-archive"><h1 class="page-title">{e(self.w["video"])}</h1>{videos}</div>{self.sidebar()}'
        head = '<meta property="og:type" content="video.other">'
        self.add_page(self.t.video_path, self.page(title=self.w["video"], body=body, head_extra=head, page_class="archive videos",
                                                   canonical=self.url(self.t.video_path)), non_article=True)
        photos = "".join(
            f'<figure class="gallery-item"><img src="{self.url(f"/assets/gallery/{n}.jpg")}" alt="Photo {n + 1}" width="800">'
            f"<figcaption>Photo {n + 1} of 6: scenes from around the region this week.</figcaption></figure>"
            for n in range(6))
        path = self.gallery_path()
        ld = json.dumps({"@context": "https://schema.org", "@type": "ImageGallery", "name": "Photos of the week"})
        body = f'<div class="gallery"><h1 class="page-title">Photos of the week</h1>{photos}</div>'
        self.add_page(path, self.page(title="Photos of the week", body=body, page_class="gallery",
                                      head_extra=f'<script type="application/ld+json">{ld}</script>', canonical=self.url(path)),
                      non_article=True)
        about = (f'<div class="page"><h1 class="page-title">{e(self.w["about"])}</h1>'
                 f"<p>{e(self.spec.display_name)} is an independent news outlet founded to cover the region's politics, "
                 f"economy, sport and culture.</p><p>Our newsroom follows a published code of ethics. Corrections are "
                 f"listed at the foot of each story.</p><h2>Contact</h2><p>Newsroom: newsroom@{self.spec.name}.example</p></div>")
        self.add_page(self.t.about_path, self.page(title=self.w["about"], body=about, page_class="page",
                                                   canonical=self.url(self.t.about_path)), non_article=True)
        # Disallowed by robots.txt: served, but a polite crawler never asks for it.
        search = f'<div class="search-results"><h1>Search</h1>{self.evergreen_listing()}</div>'
        self.routes["/search"] = Page(self.page(title="Search", body=search, page_class="search"))

    # -- sitemaps and feeds ----------------------------------------------------------------
    def urlset(self, infos: list[ArticleInfo], extra_urls: tuple[str, ...] = ()) -> bytes:
        rows = [f"<url><loc>{xml_escape(u)}</loc><changefreq>daily</changefreq></url>" for u in extra_urls]
        rows += [f"<url><loc>{xml_escape(i.url)}</loc><lastmod>{i.modified}</lastmod></url>" for i in infos]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                + "\n".join(rows) + "\n</urlset>\n").encode("utf-8")

    def sitemap_index(self, children: list[tuple[str, str]]) -> bytes:
        rows = [f"<sitemap><loc>{xml_escape(self.url(p))}</loc><lastmod>{lastmod}</lastmod></sitemap>" for p, lastmod in children]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                + "\n".join(rows) + "\n</sitemapindex>\n").encode("utf-8")

    def newest_lastmod(self, infos: list[ArticleInfo]) -> str:
        return max((i.modified for i in infos), default=iso(self.spec.newest, self.spec.utc_offset))

    def sitemaps(self) -> tuple[str, ...]:
        xml = "application/xml"
        pages_path, index_path, news_path = "/sitemap-pages.xml", "/sitemap_index.xml", "/news-sitemap.xml"
        nested_index, month_path, gz_path = "/sitemaps/archive-index.xml", "/sitemaps/posts-latest.xml", "/sitemaps/posts-archive.xml.gz"
        top = [self.url("/"), self.url(self.t.about_path)] + [self.url(self.t.section_path.format(section=s)) for s in self.spec.sections]
        self.add_page(pages_path, self.urlset(self.by_via(ROBOTS_SITEMAP), tuple(top)), xml)
        indexed, gzipped = self.by_via(SITEMAP_INDEX), self.by_via(SITEMAP_GZ)
        self.add_page(index_path, self.sitemap_index([(gz_path, self.newest_lastmod(gzipped)),
                                                      (nested_index, self.newest_lastmod(indexed))]), xml)
        self.add_page(nested_index, self.sitemap_index([(month_path, self.newest_lastmod(indexed))]), xml)
        self.add_page(month_path, self.urlset(indexed), xml)
        self.add_page(gz_path, gzip.compress(self.urlset(gzipped), mtime=0), "application/x-gzip")
        news_rows = []
        for info in self.by_via(NEWS_SITEMAP):
            a = info.spec
            news_rows.append(
                f"<url><loc>{xml_escape(info.url)}</loc><news:news><news:publication><news:name>{xml_escape(self.spec.display_name)}"
                f"</news:name><news:language>{a.language}</news:language></news:publication>"
                f"<news:publication_date>{info.published}</news:publication_date><news:title>{xml_escape(a.title)}</news:title>"
                f"<news:keywords>{xml_escape(', '.join(a.tags))}</news:keywords></news:news></url>")
        news = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + "\n".join(news_rows) + "\n</urlset>\n")
        self.add_page(news_path, news.encode("utf-8"), xml)
        return (self.url(pages_path), self.url(index_path), self.url(news_path))

    def rfc822(self, info: ArticleInfo) -> str:
        return format_datetime(info.published_dt)

    def feeds(self) -> tuple[str, ...]:
        spec = self.spec
        rss_items = "".join(
            f"<item><title>{xml_escape(i.spec.title)}</title><link>{xml_escape(i.url)}</link>"
            f'<guid isPermaLink="true">{xml_escape(i.url)}</guid><pubDate>{self.rfc822(i)}</pubDate>'
            f"<dc:creator>{xml_escape(i.spec.author)}</dc:creator><category>{xml_escape(section_label(i.spec.section, i.spec.language))}</category>"
            f"<description><![CDATA[{teaser(i.spec.body)}]]></description></item>\n"
            for i in self.by_via(RSS))
        rss = (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
               f'xmlns:atom="http://www.w3.org/2005/Atom"><channel>\n<title>{xml_escape(spec.display_name)}</title>'
               f"<link>{self.url('/')}</link><description>Latest news from {xml_escape(spec.display_name)}</description>"
               f"<language>{spec.language}</language>"
               f'<atom:link href="{self.url(self.homepage_feed_path())}" rel="self" type="application/rss+xml"/>\n'
               f"{rss_items}</channel></rss>\n")
        self.add_page(self.homepage_feed_path(), rss.encode("utf-8"), "application/rss+xml; charset=utf-8")

        rdf_infos = self.by_via(RSS1)
        rdf_path = "/rss/rdf.xml"
        seq = "".join(f'<rdf:li rdf:resource="{xml_escape(i.url)}"/>' for i in rdf_infos)
        rdf_items = "".join(
            f'<item rdf:about="{xml_escape(i.url)}"><title>{xml_escape(i.spec.title)}</title><link>{xml_escape(i.url)}</link>'
            f"<description>{xml_escape(teaser(i.spec.body))}</description><dc:date>{i.published}</dc:date>"
            f"<dc:creator>{xml_escape(i.spec.author)}</dc:creator></item>\n" for i in rdf_infos)
        rdf = (f'<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
               f'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
               f'<channel rdf:about="{self.url(rdf_path)}"><title>{xml_escape(spec.display_name)}</title><link>{self.url("/")}</link>'
               f"<description>{xml_escape(spec.display_name)} headlines</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n"
               f"{rdf_items}</rdf:RDF>\n")
        self.add_page(rdf_path, rdf.encode("utf-8"), "application/rdf+xml; charset=utf-8")

        atom_infos = self.by_via(ATOM)
        atom_path = "/atom.xml"
        entries = "".join(
            f'<entry><title>{xml_escape(i.spec.title)}</title><link rel="alternate" type="text/html" href="{xml_escape(i.url)}"/>'
            f"<id>{xml_escape(i.url)}</id><published>{i.published}</published><updated>{i.modified}</updated>"
            f"<author><name>{xml_escape(i.spec.author)}</name></author><summary>{xml_escape(teaser(i.spec.body))}</summary></entry>\n"
            for i in atom_infos)
        atom = (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}">\n'
                f"<title>{xml_escape(spec.display_name)}</title><id>{self.url('/')}</id>"
                f'<link rel="self" href="{self.url(atom_path)}"/><link rel="alternate" href="{self.url("/")}"/>'
                f"<updated>{self.newest_lastmod(atom_infos)}</updated>\n{entries}</feed>\n")
        self.add_page(atom_path, atom.encode("utf-8"), "application/atom+xml; charset=utf-8")
        return (self.url(rdf_path), self.url(atom_path))

    def robots(self, sitemaps: tuple[str, ...]) -> None:
        lines = ["User-agent: *"]
        lines += [f"Disallow: {p}" for p in self.spec.disallow]
        if self.spec.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.spec.crawl_delay:g}")
        lines.append("")
        lines += [f"Sitemap: {s}" for s in sitemaps]
        self.add_page("/robots.txt", ("\n".join(lines) + "\n").encode(), "text/plain; charset=utf-8")

    def build(self) -> SiteBuild:
        for info in self.infos:
            self.article_page(info)
        self.homepage()
        self.section_pages()
        self.tag_and_author_pages()
        self.media_pages()
        sitemaps = self.sitemaps()
        feeds = self.feeds()
        self.robots(sitemaps)
        expected = {via: {i.url for i in self.by_via(via)} for via in DISCOVERY_PATHS}
        for url in self.non_articles:
            if url in self.truth:
                raise AssertionError(f"{url} is both an article and a non-article page")
        return SiteBuild(
            base_url=self.base, routes=self.routes, expected=expected, non_articles=set(self.non_articles),
            all_articles={i.url for i in self.infos}, truth=self.truth, cruft=self.cruft,
            articles={i.url: i for i in self.infos}, feeds=feeds, homepage_feed=self.url(self.homepage_feed_path()),
            sitemaps=sitemaps, disallowed=tuple(self.url(p) for p in self.spec.disallow),
        )


def build_site(spec: OutletSpec, base_url: str) -> SiteBuild:
    """Routes and expectations for one outlet served at base_url ("http://127.0.0.1:PORT")."""
    return _Builder(spec, base_url).build()
