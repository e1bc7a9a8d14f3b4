"""A local outlet whose article pages only a browser can read: each page's body is empty
in its HTML, and a script fetches the story from the site's API (nowhere in the page) and
builds its paragraphs. The pages also ask for what a rendered page must not get: images,
a font and a video (never loaded), and, with `probe`, an address the crawl may not reach
(from a script), a frame of another site, a fetch from another site, a script sending the
page to another site. For tests/test_render.py and bench/render.py."""

from __future__ import annotations

import html
import json

from newscrawl.webserver import LocalSite, Page
from tests.script_pages import story

FONT = "/fonts/serif.woff2"
IMAGE = "/img/lead.jpg"
VIDEO = "/media/clip.mp4"
NOT_FETCHED = (FONT, IMAGE, VIDEO)


def article_html(title: str, api_path: str, probe: str = "") -> str:
    """An article page whose body a script builds from `api_path`; `probe`, more script
    and markup that reaches where the page may not."""
    script = (f"fetch({json.dumps(api_path)}).then(r => r.json()).then(d => {{"
              "const story = document.getElementById('story');"
              "for (const text of d.paragraphs) {"
              "const p = document.createElement('p'); p.textContent = text; story.appendChild(p); }"
              "});")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{html.escape(title)}">'
            f'<link rel="preload" href="{FONT}" as="font" crossorigin>'
            f"<style>@font-face {{font-family: Serif; src: url({FONT})}} article {{font-family: Serif}}</style>"
            f'</head><body><header><a href="/">Home</a></header><article><h1>{html.escape(title)}</h1>'
            f'<img src="{IMAGE}" alt=""><video src="{VIDEO}" autoplay muted></video><div id="story"></div>'
            f"</article>{probe}<script>{script}</script></body></html>")


def probe_markup(private_url: str = "", frame_url: str = "", fetch_url: str = "", leave_url: str = "") -> str:
    """A fetch of an address the crawl may not reach, a frame of another site, a fetch
    from another site, the page leaving for another site (each when given)."""
    out = f"<script>location.href = {json.dumps(leave_url)};</script>" if leave_url else ""
    for url in (private_url, fetch_url):
        if url:
            out += (f"<script>fetch({json.dumps(url)}).then(r => r.text())"
                    ".then(t => { document.body.dataset.fetched = t; }).catch(() => {});</script>")
    if frame_url:
        out += f'<iframe src="{html.escape(frame_url)}"></iframe>'
    return out


def serve_render_site(site: LocalSite, count: int, *, probe: str = "", prefix: str = "render") -> dict[str, list[str]]:
    """`count` article pages on `site` (the first with `probe`), their API, and a homepage
    that links them in its HTML; the paragraphs of each article, by its path."""
    stories = {}
    links = []
    for i in range(count):
        path, api = f"/news/{prefix}-story-{i}", f"/api/story/{prefix}-{i}.json"
        paragraphs = story(f"{prefix} rendered story {i}")
        stories[path] = paragraphs
        site.routes[path] = Page(article_html(f"Rendered story {i} of {prefix}", api,
                                              probe if i == 0 else "").encode("utf-8"))
        site.routes[api] = Page(json.dumps({"paragraphs": paragraphs}).encode("utf-8"), "application/json")
        links.append(f'<li><a href="{path}">Rendered story {i} of {prefix}, read it all here</a></li>')
    for path in NOT_FETCHED:
        site.routes[path] = Page(b"\0" * 64, "application/octet-stream")
    site.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
    site.routes["/"] = Page(("<!doctype html><html><head><title>Render Gazette</title></head><body>"
                             f"<ul>{''.join(links)}</ul></body></html>").encode("utf-8"))
    return stories
