"""Cruft benchmark: synthetic outlets built from real article bodies.

Each outlet has its own page template and markup style and its own cruft (app
promotions, store links, newsletter forms, follow prompts, share bars, "also read"
lines with varying headlines, related/latest lists, ad labels, donation asks, cookie
text, syndication disclaimers, bare URLs, comment prompts, outlet-specific lines), placed
inside the article container in <div>, <p>, <aside>, <section>, <ul> and <figure>,
between paragraphs and at the end. The bodies are the ground-truth article bodies of
the aeb-dev set.

Printed per outlet and overall, for our pipeline and for trafilatura alone on the same
pages:
  leakage  share of injected cruft snippets found in the output (beyond the number of
           times the snippet occurs in the true body)
  F1       body F1 against the ground truth with the article-extraction-benchmark metric
           (bench/metrics.py: \\w+ tokens, 4-token shingle multisets, per-page P and R
           averaged)

"rules only" is our extract + decruft in process without the learned layer.

Modes:
  python -m bench.cruft                 each outlet served on 127.0.0.1 (own port, robots.txt,
                                        sitemap) and crawled by `scrapy crawl <outlet>` with
                                        the full item pipeline, as a first crawl (fresh state)
  python -m bench.cruft --speed         CPU ms per page of preclean_dom and clean_blocks
  python -m bench.cruft --direct        the pages through extract + decruft in process, as a
                                        first crawl (warm-up in page order), then a second
                                        run on the same learned state
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import random
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.metrics import score_page, summarise  # noqa: E402
from newscrawl.outlets import Outlet  # noqa: E402
from newscrawl.state import SQLiteStateStore  # noqa: E402
from pipelines.decruft import decruft_in_order  # noqa: E402
from pipelines.dom_walker import preclean_dom  # noqa: E402
from pipelines.learner import BoilerplateLearner  # noqa: E402
from pipelines.extract import extract_article  # noqa: E402

from bench.extraction import DEFAULT_FOLDER as DATA  # noqa: E402

E = htmllib.escape


# --------------------------------------------------------------------------- cruft


@dataclass
class Page:
    outlet: str
    url: str
    html: str
    truth: str
    cruft: list[str] = field(default_factory=list)  # visible snippets that must not survive


@dataclass
class Snippet:
    """A piece of cruft markup and the visible texts in it that must not reach the output."""

    html: str
    texts: list[str]


def link_list(items: list[tuple[str, str]], tag="ul", cls="") -> str:
    lis = "".join(f'<li><a href="{E(h)}">{E(t)}</a></li>' for t, h in items)
    return f'<{tag} class="{cls}">{lis}</{tag}>'


class OutletStyle:
    """One synthetic outlet: a host, a page template and cruft generators."""

    name = ""
    host = ""
    drop_selectors: tuple[str, ...] = ()
    drop_patterns: tuple[str, ...] = ()

    def __init__(self, rng: random.Random, headlines: list[str]):
        self.rng = rng
        self.headlines = headlines

    def outlet(self, base: str) -> Outlet:
        return Outlet(name=self.name, display_name=self.name, domains=("127.0.0.1", self.host),
                      homepage=base + "/", drop_selectors=self.drop_selectors, drop_patterns=self.drop_patterns)

    def headline(self) -> str:
        return self.rng.choice(self.headlines)

    def link(self, path: str) -> str:
        return f"https://{self.host}/{path}"

    def story_links(self, n: int) -> list[tuple[str, str]]:
        return [(h, self.link(f"news/{abs(hash(h)) % 10**6}")) for h in self.rng.sample(self.headlines, n)]

    # Subclasses: between(i) -> list[Snippet] to put after paragraph i; end() -> list[Snippet];
    # wrap(title, body_html) -> full page.

    def between(self, i: int, n: int) -> list[Snippet]:
        return []

    def end(self) -> list[Snippet]:
        return []

    def page(self, title: str, paragraphs: list[str]) -> tuple[str, list[str]]:
        parts, cruft = [], []
        for i, para in enumerate(paragraphs):
            parts.append(self.paragraph(para))
            for s in self.between(i, len(paragraphs)):
                parts.append(s.html)
                cruft.extend(s.texts)
        for s in self.end():
            parts.append(s.html)
            cruft.extend(s.texts)
        return self.wrap(title, "\n".join(parts)), cruft

    def paragraph(self, text: str) -> str:
        return f"<p>{E(text)}</p>"

    def head(self, title: str) -> str:
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                         "datePublished": "2024-05-01T08:00:00+00:00"})
        return (f'<head><meta charset="utf-8"><title>{E(title)} | {self.name}</title>'
                f'<meta property="og:type" content="article"><meta property="og:title" content="{E(title)}">'
                f'<script type="application/ld+json">{ld}</script></head>')

    def chrome(self) -> tuple[str, str]:
        nav = link_list([(s, self.link(s.lower())) for s in ("World", "Business", "Sport", "Opinion")], "ul", "nav")
        return (f'<header><a href="/">{self.name}</a><nav>{nav}</nav></header>',
                f'<footer><p>© 2024 {self.name}. All rights reserved.</p>{link_list([("About", self.link("about")), ("Contact", self.link("contact"))])}</footer>')


class HarbourPost(OutletStyle):
    """English; cruft mostly in <div> and <aside>."""

    name, host = "harbourpost", "harbourpost.example"

    def between(self, i, n):
        out = []
        if i == 0:
            out.append(Snippet(
                '<div class="share-tools"><a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a>'
                ' <a href="https://twitter.com/intent/tweet?url=x">Twitter</a>'
                ' <a href="https://api.whatsapp.com/send?text=x">WhatsApp</a> <a href="mailto:?subject=x">Email</a></div>',
                ["Facebook Twitter WhatsApp Email"]))
        if i == 1:
            h = self.headline()
            out.append(Snippet(f'<div class="inline-link"><strong>Also read:</strong> <a href="{self.link("x")}">{E(h)}</a></div>',
                               [f"Also read: {h}"]))
        if i == 2:
            out.append(Snippet('<div class="ad-slot"><span>Advertisement</span></div>', ["Advertisement"]))
        if i == n // 2:
            out.append(Snippet(
                '<div class="promo-box"><p>Harbour Post on the go: breaking news alerts, offline reading and more.'
                ' Download the Harbour Post app today.</p>'
                '<a href="https://apps.apple.com/us/app/harbour-post/id123456"><img src="/i/app-store-badge.png" alt="Download on the App Store"></a>'
                '<a href="https://play.google.com/store/apps/details?id=com.harbourpost"><img src="/i/google-play-badge.png" alt="Get it on Google Play"></a></div>',
                ["Harbour Post on the go: breaking news alerts, offline reading and more. Download the Harbour Post app today."]))
            items = self.story_links(3)
            out.append(Snippet(f'<aside class="related-box"><h4>Related stories</h4>{link_list(items)}</aside>',
                               ["Related stories"] + [t for t, _ in items]))
        return out

    def end(self):
        latest = self.story_links(4)
        return [
            Snippet('<p><em>Follow us on WhatsApp and Google News for the latest updates:</em> '
                    '<a href="https://whatsapp.com/channel/0029Va">WhatsApp</a> | '
                    '<a href="https://news.google.com/publications/CAAqBwgK">Google News</a></p>',
                    ["Follow us on WhatsApp and Google News for the latest updates:"]),
            Snippet('<div class="newsletter-signup"><h3>The Morning Tide</h3><p>Sign up for our free daily newsletter, delivered to your inbox every morning.</p>'
                    '<form action="/subscribe"><input type="email" name="email" placeholder="Your email address"><button>Sign up</button></form></div>',
                    ["The Morning Tide", "Sign up for our free daily newsletter, delivered to your inbox every morning."]),
            Snippet('<p class="disclaimer">(This story has not been edited by Harbour Post staff and is published from a syndicated feed.)</p>',
                    ["(This story has not been edited by Harbour Post staff and is published from a syndicated feed.)"]),
            Snippet(f'<div class="widget"><h3>Latest News</h3>{link_list(latest)}</div>',
                    ["Latest News"] + [t for t, _ in latest]),
            Snippet('<p>Harbour Post is part of the Coastline Media Group, serving the bay since 1921.</p>',
                    ["Harbour Post is part of the Coastline Media Group, serving the bay since 1921."]),
        ]

    def wrap(self, title, body):
        top, bottom = self.chrome()
        return (f"<!DOCTYPE html><html lang=en>{self.head(title)}<body>{top}<main><article class='story'>"
                f"<h1>{E(title)}</h1><div class='byline'>By Staff Reporter</div><div class='story-body'>{body}</div>"
                f"</article></main>{bottom}</body></html>")


class ValleyTimes(OutletStyle):
    """English; cruft in <p>, <section> and <figure>; outlet rules for its partner box."""

    name, host = "valleytimes", "valleytimes.example"
    drop_selectors = (".vt-partner",)
    drop_patterns = (r"^Valley Times readers get 20% off",)

    def between(self, i, n):
        out = []
        if i == 1:
            out.append(Snippet('<p class="sc">Story continues below advertisement</p>', ["Story continues below advertisement"]))
        if i == 2:
            h = self.headline()
            out.append(Snippet(f'<p><b>READ MORE:</b> <a href="{self.link("y")}">{E(h)}</a></p>', [f"READ MORE: {h}"]))
        if i == n // 2:
            out.append(Snippet(
                '<figure class="app-cta"><a href="https://apps.apple.com/ca/app/valley-times/id99"><img src="/i/appstore.png" alt="App Store"></a>'
                '<a href="https://play.google.com/store/apps/details?id=ca.valleytimes"><img src="/i/googleplay.png" alt="Google Play"></a>'
                '<figcaption>Get the Valley Times app: news the way you like, no ads, no redirections.</figcaption></figure>',
                ["Get the Valley Times app: news the way you like, no ads, no redirections."]))
            out.append(Snippet('<div class="vt-partner"><p>Partner content: the Orchard Spring Festival returns with forty vendors.</p></div>',
                               ["Partner content: the Orchard Spring Festival returns with forty vendors."]))
        if i == n - 2:
            out.append(Snippet('<p>Valley Times readers get 20% off tickets to the summer concert series with code VT20.</p>',
                               ["Valley Times readers get 20% off tickets to the summer concert series with code VT20."]))
        return out

    def end(self):
        trending = self.story_links(5)
        return [
            Snippet('<p>https://valleytimes.example/newsletters</p>', ["https://valleytimes.example/newsletters"]),
            Snippet('<section class="support"><p>Support independent local journalism. Become a member today from just $5 a month.</p>'
                    '<a href="https://www.patreon.com/valleytimes">Become a member</a></section>',
                    ["Support independent local journalism. Become a member today from just $5 a month.", "Become a member"]),
            Snippet(f'<section class="rail"><h2>Trending</h2>{link_list(trending, "ol")}</section>',
                    ["Trending"] + [t for t, _ in trending]),
            Snippet('<section id="comments"><h3>Leave a comment</h3><p>Comments are moderated and may take a while to appear.</p>'
                    '<form><textarea name="comment"></textarea><button>Post</button></form></section>',
                    ["Leave a comment", "Comments are moderated and may take a while to appear."]),
            Snippet('<div class="cookie-note"><p>We use cookies to personalise content and ads. By continuing to use this site, you agree to our cookie policy.</p></div>',
                    ["We use cookies to personalise content and ads. By continuing to use this site, you agree to our cookie policy."]),
        ]

    def wrap(self, title, body):
        top, bottom = self.chrome()
        return (f"<!DOCTYPE html><html lang=en-CA>{self.head(title)}<body>{top}<div id='content'>"
                f"<article><header><h1>{E(title)}</h1><p class='dek'>Valley Times</p></header>"
                f"<section class='article-body'>{body}</section></article></div>{bottom}</body></html>")


class DeccanWire(OutletStyle):
    """English stories with Hindi site chrome; cruft in <ul>, <div> and <p>."""

    name, host = "deccanwire", "deccanwire.example"

    def between(self, i, n):
        out = []
        if i == 1:
            h = self.headline()
            out.append(Snippet(f'<p>यह भी पढ़ें: <a href="{self.link("z")}">{E(h)}</a></p>', [f"यह भी पढ़ें: {h}"]))
        if i == 3:
            out.append(Snippet('<div class="adv">विज्ञापन</div>', ["विज्ञापन"]))
        if i == n // 2:
            items = self.story_links(3)
            out.append(Snippet(f'<ul class="also">{"".join(f"<li>ये भी पढ़ें: <a href={chr(34)}{h}{chr(34)}>{E(t)}</a></li>" for t, h in items)}</ul>',
                               [f"ये भी पढ़ें: {t}" for t, _ in items]))
        return out

    def end(self):
        latest = self.story_links(4)
        return [
            Snippet('<div class="app"><p>डेक्कन वायर ऐप डाउनलोड करें और पाएं हर खबर सबसे पहले।</p>'
                    '<p>App Store – <a href="https://apps.apple.com/in/app/deccan-wire/id42">https://apps.apple.com/in/app/deccan-wire/id42</a></p>'
                    '<p>Google Play Store – <a href="https://play.google.com/store/apps/details?id=in.deccanwire">https://play.google.com/store/apps/details?id=in.deccanwire</a></p></div>',
                    ["डेक्कन वायर ऐप डाउनलोड करें और पाएं हर खबर सबसे पहले।", "https://apps.apple.com/in/app/deccan-wire/id42",
                     "https://play.google.com/store/apps/details?id=in.deccanwire"]),
            Snippet('<p>हमें फॉलो करें: <a href="https://x.com/deccanwire">X</a> <a href="https://t.me/deccanwire">Telegram</a>'
                    ' <a href="https://whatsapp.com/channel/0029Vb">WhatsApp</a></p>', ["हमें फॉलो करें:"]),
            Snippet('<p>(Except for the headline, this story has not been edited by Deccan Wire staff and is published from a syndicated feed.)</p>',
                    ["(Except for the headline, this story has not been edited by Deccan Wire staff and is published from a syndicated feed.)"]),
            Snippet(f'<h3>ताज़ा ख़बरें</h3>{link_list(latest)}', ["ताज़ा ख़बरें"] + [t for t, _ in latest]),
            Snippet('<p>Deccan Wire | Hyderabad bureau | Desk edition</p>', ["Deccan Wire | Hyderabad bureau | Desk edition"]),
        ]

    def wrap(self, title, body):
        top, bottom = self.chrome()
        return (f"<!DOCTYPE html><html lang=en-IN>{self.head(title)}<body>{top}<div class='container'><div class='main-col'>"
                f"<article itemprop='articleBody'><h1 class='headline'>{E(title)}</h1>{body}</article>"
                f"</div></div>{bottom}</body></html>")


class IndusNews(OutletStyle):
    """English stories with Urdu site chrome; paragraphs in <div>, cruft in <div>, <p>, <aside>."""

    name, host = "indusnews", "indusnews.example"

    def paragraph(self, text):
        return f'<div class="para"><p>{E(text)}</p></div>'

    def between(self, i, n):
        out = []
        if i == 1:
            h = self.headline()
            out.append(Snippet(f'<div class="rel"><span>یہ بھی پڑھیں:</span> <a href="{self.link("u")}">{E(h)}</a></div>',
                               [f"یہ بھی پڑھیں: {h}"]))
        if i == 2:
            out.append(Snippet('<p class="ad-label">اشتہار</p>', ["اشتہار"]))
        if i == n // 2:
            h = self.headline()
            out.append(Snippet(f'<p>Read more: <a href="{self.link("v")}">{E(h)}</a></p>', [f"Read more: {h}"]))
        return out

    def end(self):
        latest = self.story_links(3)
        return [
            Snippet('<aside><p>انڈس نیوز کی موبائل ایپ ڈاؤن لوڈ کریں</p>'
                    '<a href="https://play.google.com/store/apps/details?id=pk.indusnews"><img src="/i/play-store-logo.png" alt="play-store-logo"></a>'
                    '<a href="https://apps.apple.com/pk/app/indus/id7"><img src="/i/app-store-logo.png" alt="app-store-logo"></a></aside>',
                    ["انڈس نیوز کی موبائل ایپ ڈاؤن لوڈ کریں"]),
            Snippet('<p>ہمیں فالو کریں <a href="https://facebook.com/indusnews">Facebook</a> <a href="https://youtube.com/@indusnews">YouTube</a></p>',
                    ["ہمیں فالو کریں"]),
            Snippet('<div class="comments-cta"><p>اپنی رائے دیں</p></div>', ["اپنی رائے دیں"]),
            Snippet(f'<aside class="box"><h4>تازہ ترین خبریں</h4>{link_list(latest)}</aside>', ["تازہ ترین خبریں"] + [t for t, _ in latest]),
            Snippet('<p>Indus News Network — Karachi, Lahore, Islamabad</p>', ["Indus News Network — Karachi, Lahore, Islamabad"]),
        ]

    def wrap(self, title, body):
        top, bottom = self.chrome()
        return (f"<!DOCTYPE html><html lang=en-PK>{self.head(title)}<body>{top}<main><article class='news'>"
                f"<h1>{E(title)}</h1><div class='content'>{body}</div></article></main>{bottom}</body></html>")


STYLES = (HarbourPost, ValleyTimes, DeccanWire, IndusNews)


def load_truth() -> dict[str, dict]:
    return json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))


def headline_of(body: str) -> str:
    words = re.findall(r"\S+", body)[:9]
    return " ".join(words).rstrip(",.;:") + "…" if words else "Untitled"


def build_pages(seed: int = 7, outlets: tuple[str, ...] | None = None,
                per_outlet: int | None = None) -> tuple[dict[str, OutletStyle], list[Page]]:
    """The outlets (all, or those named) and their pages, in crawl order per outlet: the
    aeb-dev bodies shared out in turn (22 or more each for all four outlets), at most
    `per_outlet` each."""
    truth = load_truth()
    ids = sorted(truth)
    rng = random.Random(seed)
    headlines = [headline_of(truth[i]["articleBody"]) for i in ids]
    styles = {cls.name: cls(random.Random(rng.random()), headlines) for cls in STYLES}
    if outlets is not None:
        styles = {name: styles[name] for name in outlets}
    order = list(styles.values())
    pages = []
    for n, doc_id in enumerate(ids):
        style = order[n % len(order)]
        if per_outlet is not None and n // len(order) >= per_outlet:
            break
        body = truth[doc_id]["articleBody"]
        paragraphs = [p.strip() for p in re.split(r"\n+", body) if p.strip()]
        html, cruft = style.page(headline_of(body), paragraphs)
        pages.append(Page(style.name, f"https://{style.host}/news/{doc_id}.html", html, body, cruft))
    return styles, pages


# --------------------------------------------------------------------------- scoring

def f1(scores: list) -> float:
    return summarise(scores).f1 if scores else 0.0


def _fold(s: str) -> str:
    return " ".join(s.split()).casefold()


def leaked(page: Page, output: str) -> list[str]:
    """The injected snippets the output holds more often than the true body does."""
    out, truth = _fold(output), _fold(page.truth)
    return [s for s in page.cruft if out.count(_fold(s)) > truth.count(_fold(s))]


@dataclass
class Score:
    injected: int = 0
    leaked: int = 0
    prs: list = field(default_factory=list)
    examples: list = field(default_factory=list)

    def add(self, page: Page, output: str):
        bad = leaked(page, output)
        self.injected += len(page.cruft)
        self.leaked += len(bad)
        self.prs.append(score_page(page.truth, output))
        self.examples.extend(bad[:3])

    @property
    def leakage(self) -> float:
        return self.leaked / self.injected if self.injected else 0.0


# --------------------------------------------------------------------------- runs


def trafilatura_alone(page: Page) -> str:
    return trafilatura.extract(page.html, url=page.url, include_comments=False, include_tables=True) or ""


def ours_direct(styles: dict[str, OutletStyle], pages: list[Page], store_dir: Path, warmup: int = 12,
                learn: bool = True) -> dict[str, str]:
    """Extract + decruft in process, one outlet at a time in page order, with the
    learner's state in `store_dir` (fresh for a first crawl, reused for a second)."""
    outputs: dict[str, str] = {}
    for name, style in styles.items():
        outlet = style.outlet(f"https://{style.host}")
        mine = [p for p in pages if p.outlet == name]
        records = []
        for page in mine:
            record = extract_article(page.html, page.url, preclean=lambda t: preclean_dom(t, outlet))
            record["url"] = page.url
            records.append(record)
        store = SQLiteStateStore(store_dir / f"{name}.sqlite")
        try:
            # Without learning: a threshold no block reaches, to show what the rules alone do.
            learner = BoilerplateLearner(store, name, min_pages=3 if learn else 10**9)
            for page, record in zip(mine, decruft_in_order(records, outlet, learner, warmup=warmup)):
                outputs[page.url] = record["text"]
        finally:
            store.close()
    return outputs


def serve_outlet(style: OutletStyle, pages: list[Page], site) -> dict[str, Page]:
    """Puts an outlet's pages on `site` (a running LocalSite): each article at its own
    path, a homepage, a sitemap listing every article, and a robots.txt announcing it.
    Returns the benchmark page by served path."""
    from newscrawl.webserver import Page as Served

    by_path: dict[str, Page] = {}
    for page in pages:
        path = urlsplit(page.url).path
        site.routes[path] = Served(page.html.encode("utf-8"))
        by_path[path] = page
    urls = "".join(f"<url><loc>{E(site.url + path)}</loc><lastmod>2024-05-01</lastmod></url>" for path in by_path)
    site.routes["/sitemap.xml"] = Served(
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        .encode("utf-8"), content_type="application/xml")
    site.routes["/robots.txt"] = Served(f"User-agent: *\nAllow: /\nSitemap: {site.url}/sitemap.xml\n".encode(),
                                        content_type="text/plain")
    top, bottom = style.chrome()
    site.routes["/"] = Served(f"<!DOCTYPE html><html><head><title>{style.name}</title></head><body>{top}"
                              f"<main><h1>{style.name}</h1></main>{bottom}</body></html>".encode("utf-8"))
    return by_path


def crawl_one(style: OutletStyle, pages: list[Page], workdir: Path, settings: dict | None = None) -> dict[str, str]:
    """One outlet's pages served on 127.0.0.1 and crawled by `scrapy crawl <outlet>` in a
    child process, with fresh state (a first crawl) and the full item pipeline. Returns
    output text by benchmark page URL ("" for a page that produced no record)."""
    from newscrawl.webserver import LocalSite
    from tests.crawling import crawl

    with LocalSite() as site:
        by_path = serve_outlet(style, pages, site)
        outlet = replace(style.outlet(site.url), domains=(site.host_port,), sitemaps=(site.url + "/sitemap.xml",))
        run = crawl(outlet, workdir, settings)
    texts = {page.url: "" for page in pages}
    for record in run.records(outlet.name):
        page = by_path.get(urlsplit(record["url"]).path)
        if page is not None:
            texts[page.url] = record["text"]
    return texts


def crawl_outlets(styles: dict[str, OutletStyle], pages: list[Page], store_dir: Path,
                  settings: dict | None = None) -> dict[str, str]:
    """The real crawl: every outlet crawled by its own spider (see `crawl_one`; its files
    in `store_dir/<outlet>/`), two at a time; returns output text by page URL."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> dict[str, str]:
        return crawl_one(styles[name], [p for p in pages if p.outlet == name], store_dir / name, settings)

    outputs: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for texts in pool.map(one, sorted(styles)):
            outputs.update(texts)
    return outputs


def speed() -> None:
    """CPU ms per page of `preclean_dom` and `clean_blocks` over the aeb-dev pages, each
    page once (as a crawl sees them: the verdict caches only help across repeats)."""
    import time

    from bench.extraction import load_pages
    from newscrawl.outlets import generic_outlet
    from pipelines.cruft_rules import clean_blocks, load_rules
    from pipelines.extract import (_headline_candidates, _jsonld_article_body, extract_body, extract_metadata,
                                   parse_html)

    load_rules()
    pre, post = [], []
    aeb = load_pages(DATA)
    for page in aeb:
        outlet = generic_outlet(page.url or "https://news.example/")
        root = parse_html(page.html)
        titles = _headline_candidates(root, extract_metadata(root, page.url, None))
        start = time.process_time()
        preclean_dom(root, outlet)
        pre.append(time.process_time() - start)
        blocks, _ = extract_body(root, page.url, titles, _jsonld_article_body(root))
        start = time.process_time()
        clean_blocks(blocks, outlet)
        post.append(time.process_time() - start)
    for name, times in (("preclean_dom", pre), ("clean_blocks", post)):
        times.sort()
        print(f"{name:<13} mean {1000 * sum(times) / len(times):6.2f} ms/page  median {1000 * times[len(times) // 2]:6.2f}"
              f"  max {1000 * times[-1]:6.2f}  ({len(times)} pages)")


def report(title: str, pages: list[Page], outputs: dict[str, dict[str, str]]) -> dict:
    print(f"\n{title}")
    print(f"{'outlet':<14}{'pages':>6}  " + "  ".join(f"{k + ' leak':>18}{k + ' F1':>16}" for k in outputs))
    results = {}
    for outlet in sorted({p.outlet for p in pages}) + ["ALL"]:
        mine = [p for p in pages if outlet in ("ALL", p.outlet)]
        row = []
        for kind, out in outputs.items():
            s = Score()
            for p in mine:
                s.add(p, out[p.url])
            results[(outlet, kind)] = s
            row.append(f"{s.leakage * 100:17.2f}%{f1(s.prs):16.4f}")
        print(f"{outlet:<14}{len(mine):>6}  " + "  ".join(row))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--direct", action="store_true",
                    help="run extract + decruft in process instead of crawling the served pages with the spider")
    ap.add_argument("--warmup", type=int, default=12, help="learner warm-up (direct mode)")
    ap.add_argument("--show-leaks", action="store_true")
    ap.add_argument("--speed", action="store_true", help="only time the decruft functions on the aeb-dev pages")
    args = ap.parse_args(argv)
    if args.speed:
        speed()
        return 0
    styles, pages = build_pages()
    print(f"{len(pages)} pages, {len(styles)} outlets, {sum(len(p.cruft) for p in pages)} cruft snippets injected")
    alone = {p.url: trafilatura_alone(p) for p in pages}
    with tempfile.TemporaryDirectory() as tmp:
        if args.direct:
            first = ours_direct(styles, pages, Path(tmp), args.warmup)
        else:
            first = crawl_outlets(styles, pages, Path(tmp))
            missing = sorted(url for url, text in first.items() if not text)
            print(f"real spider: {len(pages) - len(missing)} of {len(pages)} pages written"
                  + (f"; none for {', '.join(missing)}" if missing else ""))
        with tempfile.TemporaryDirectory() as tmp2:
            rules_only = ours_direct(styles, pages, Path(tmp2), args.warmup, learn=False)
        mode = "direct" if args.direct else "real spider"
        res = report(f"First crawl (fresh state, {mode})", pages,
                     {"ours": first, "rules only": rules_only, "trafilatura": alone})
        if args.direct:
            # A second crawl by the spider would fetch nothing: it remembers what it saw.
            second = ours_direct(styles, pages, Path(tmp), args.warmup)
            report("Second run (state from the first)", pages, {"ours": second, "trafilatura": alone})
    if args.show_leaks:
        for outlet in sorted(styles):
            print(outlet, res[(outlet, "ours")].examples[:10])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
