"""Article pages built by JavaScript, as a crawler receives them: a body with no article
in it, and the article in the data the page's scripts build it from (Next.js's
__NEXT_DATA__, Nuxt 3's __NUXT_DATA__, a store's state assigned to window, Next.js's app
router stream), or in the page's JSON-LD articleBody alone. Each page also carries what
is not its article beside it: teasers of other stories, a cookie notice, image captions,
a newsletter prompt in the body."""

from __future__ import annotations

import html
import json
import random

SITE = "The Harbour Gazette"
NEWSLETTER = "Sign up for our newsletter to get the day's harbour news in your inbox every morning."
COOKIE_NOTICE = ("We and our partners use cookies to store and access information on your device, to show you "
                 "personalised advertising and to measure how our pages are used. You can change your choice "
                 "at any time in the privacy settings at the foot of every page.")
CAPTION = "The old lighthouse seen from the northern quay at dawn, before the works began. Photo: Harbour Gazette"
TEASERS = [
    ("Ferry timetable changes for the winter", "/news/ferry-timetable",
     "The ferry company will run fewer crossings from November, and the last boat of the evening will leave "
     "half an hour earlier than it does now, the operator said in a statement on Monday."),
    ("School roof repairs finished early", "/news/school-roof",
     "Pupils at the harbour primary school can return to their classrooms a week earlier than planned, after "
     "builders finished the repairs to the roof that was damaged in the spring storms this year."),
    ("Market hall to open on Sundays", "/news/market-sundays",
     "The covered market will open on Sundays from next month, the council's trade committee decided after a "
     "long consultation with the traders, who had asked for the change for several years now."),
]
WORDS = ("harbour council quay tram housing budget vote residents fishermen tender tide wall mayor committee "
         "contract study plan district jobs families rents boats catch court agency engineers works winter "
         "summer report ministry funding port cranes warehouse market ferry coast storm repairs").split()


def story(topic: str, count: int = 6) -> list[str]:
    """Paragraphs of prose about `topic`, the same for the same topic."""
    rng = random.Random(topic)
    paragraphs = []
    for i in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(28, 40))]
        paragraphs.append(f"On the {topic} story, paragraph {i + 1} says the " + " ".join(words) + " as reported.")
    return paragraphs


def _head(title: str, extra: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {SITE}'
            f'</title><meta property="og:type" content="article"><meta property="og:title" '
            f'content="{html.escape(title)}"><meta name="description" content="A story about {html.escape(title)}.">'
            f"{extra}</head>")


def _script_json(value) -> str:
    # As frameworks write JSON into a page: "<" escaped, so that no "</script>" ends it early.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _body_html(paragraphs: list[str]) -> str:
    """An article's body as a CMS stores it: paragraphs, a subheading, a figure with its
    caption, and the newsletter prompt the site puts after the second paragraph."""
    parts = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    parts.insert(2, f"<p>{NEWSLETTER}</p>")
    parts.insert(3, f'<figure><img src="/img/lighthouse.jpg"><figcaption>{CAPTION}</figcaption></figure>')
    parts.insert(5, "<h2>What happens next</h2>")
    return "".join(parts)


def _teasers() -> list[dict]:
    return [{"title": t, "url": u, "summary": s} for t, u, s in TEASERS]


def nextjs_page(title: str, paragraphs: list[str]) -> str:
    """Next.js (pages router): an empty root, the article's HTML in __NEXT_DATA__."""
    data = {"props": {"pageProps": {
        "article": {"id": 4711, "title": title, "standfirst": f"A story about {title}.",
                    "bodyHtml": _body_html(paragraphs), "published": "2026-01-02T10:00:00Z"},
        "related": _teasers(),
        "cookieConsent": {"message": COOKIE_NOTICE},
    }}, "page": "/news/[slug]", "query": {"slug": "x"}, "buildId": "b1"}
    return (_head(title) + '<body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">'
            + _script_json(data) + '</script><script src="/_next/static/chunks/main.js"></script></body></html>')


def devalue(value) -> list:
    """`value` flattened as Nuxt 3 writes its payload (devalue): one array, whose first
    item is the root and whose objects and arrays hold the indices of their members."""
    flat: list = []

    def add(v) -> int:
        index = len(flat)
        flat.append(None)
        if isinstance(v, dict):
            flat[index] = {k: add(x) for k, x in v.items()}
        elif isinstance(v, list):
            flat[index] = [add(x) for x in v]
        else:
            flat[index] = v
        return index

    root = add(value)
    assert root == 0
    return [["ShallowReactive", 1], *[_shift(v) for v in flat]]


def _shift(v):
    # Indices move by one: the wrapper sits in front.
    if isinstance(v, dict):
        return {k: i + 1 for k, i in v.items()}
    if isinstance(v, list):
        return [i + 1 for i in v]
    return v


def nuxt_page(title: str, paragraphs: list[str]) -> str:
    """Nuxt 3: the article as typed blocks in __NUXT_DATA__ (image and advert blocks among
    them), and a config script that is JavaScript, not JSON."""
    blocks: list[dict] = []
    for i, p in enumerate(paragraphs):
        blocks.append({"type": "paragraph", "text": p})
        if i == 1:
            blocks.append({"type": "image", "src": "/img/quay.jpg", "caption": CAPTION})
            blocks.append({"type": "ad-slot", "id": "mid-1"})
        if i == 3:
            blocks.append({"type": "subheading", "text": "What happens next"})
    data = {"data": {"article-4712": {"headline": title, "teaser": f"A story about {title}.", "blocks": blocks,
                                      "tags": [{"name": "Harbour", "url": "/tag/harbour"}]}},
            "state": {"recommendations": _teasers()}}
    config = "window.__NUXT__={};window.__NUXT__.config={public:{apiBase:'/api',consent:true},app:{baseURL:'/'}}"
    return (_head(title) + '<body><div id="__nuxt"><div class="page-loading"></div></div>'
            '<script type="application/json" id="__NUXT_DATA__" data-ssr="false">' + _script_json(devalue(data))
            + f"</script><script>{config}</script></body></html>")


def state_page(title: str, paragraphs: list[str]) -> str:
    """A store's state assigned to window: the body as blocks of spans (a bold part in the
    middle of a sentence), beside the site's labels and its other stories."""
    body = []
    for p in paragraphs:
        head, _, tail = p.partition(" says the ")
        body.append({"_type": "block", "style": "normal", "children": [
            {"_type": "span", "text": head + " says "},
            {"_type": "span", "marks": ["strong"], "text": "the"},
            {"_type": "span", "text": " " + tail}]})
    state = {"story": {"current": {"title": title, "body": body, "slug": "x"}},
             "home": {"latest": _teasers()},
             "i18n": {"cookieBanner": COOKIE_NOTICE}}
    return (_head(title) + '<body><div id="app"></div><script>window.dataLayer = window.dataLayer || [];'
            f"window.__INITIAL_STATE__ = {_script_json(state)};"
            "(function(){var s=document.createElement('script');s.src='/app.js';document.head.appendChild(s)}())"
            "</script></body></html>")


def flight_page(title: str, paragraphs: list[str]) -> str:
    """Next.js (app router): the article's HTML a text chunk of the server component
    stream, which the page pushes in several pieces (one cut inside a word)."""
    body = _body_html(paragraphs)
    length = len(body.encode("utf-8"))
    stream = (f'0:["$","html",null,{{"lang":"en","children":["$","div",null,{{"id":"root"}}]}}]\n'
              f'1:["$","h1",null,{{"children":{json.dumps(title)}}}]\n'
              f"2:T{length:x},{body}"
              f'3:["$","aside",null,{{"related":{json.dumps(_teasers())}}}]\n')
    cut = [0, 40, len(stream) // 2 + 3, len(stream) - 30, len(stream)]
    pushes = "".join(f"<script>self.__next_f.push({_script_json([1, stream[a:b]])})</script>"
                     for a, b in zip(cut, cut[1:]))
    return (_head(title) + '<body><div id="root"></div><script>(self.__next_f=self.__next_f||[]).push([0])</script>'
            + pushes + "</body></html>")


def jsonld_page(title: str, paragraphs: list[str]) -> str:
    """The article in the page's JSON-LD articleBody alone; the body a script fills."""
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
          "datePublished": "2026-01-02T10:00:00+00:00", "author": {"@type": "Person", "name": "Mara Quayle"},
          "articleBody": "\n\n".join(paragraphs)}
    return (_head(title, f'<script type="application/ld+json">{_script_json(ld)}</script>')
            + '<body><div id="root"><div class="spinner"></div></div><script src="/app.js"></script></body></html>')


def empty_page(title: str) -> str:
    """A page its scripts build from an API: neither its HTML nor its data hold the article."""
    return _head(title) + '<body><div id="root"></div><script src="/app.js"></script></body></html>'


# Each builder and the name `cleaning.extractor` gives what it read.
BUILDERS = {
    "nextjs": (nextjs_page, "page-data:__NEXT_DATA__"),
    "nuxt": (nuxt_page, "page-data:__NUXT_DATA__"),
    "state": (state_page, "page-data:window.__INITIAL_STATE__"),
    "flight": (flight_page, "page-data:self.__next_f"),
    "jsonld": (jsonld_page, "jsonld-articleBody"),
}
