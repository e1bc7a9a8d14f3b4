"""Throughput of the sitemap and feed parsers and of canonicalize_url on generated input.

Usage: python bench/bench_discovery.py
"""

from __future__ import annotations

import gzip
import time

from newscrawl.discovery import parse_feed, parse_sitemap
from newscrawl.urls import canonicalize_url


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    n = 50_000
    urls = "".join(
        f"<url><loc>https://news.example/2024/05/{i % 28 + 1:02d}/story-number-{i}</loc>"
        f"<lastmod>2024-05-01T10:00:00+00:00</lastmod></url>"
        for i in range(n)
    )
    sitemap = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()
    packed = gzip.compress(sitemap)
    print(f"sitemap {n} urls, {len(sitemap) / 2**20:.1f} MiB: "
          f"{timed(lambda: parse_sitemap(sitemap, 'https://news.example/s.xml')):.0f} ms plain, "
          f"{timed(lambda: parse_sitemap(packed, 'https://news.example/s.xml.gz')):.0f} ms gzip")
    items = "".join(
        f"<item><title>Story {i}</title><link>https://news.example/story-{i}</link>"
        f"<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>" for i in range(100)
    )
    feed = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    print(f"rss 100 items: {timed(lambda: parse_feed(feed, 'https://news.example/rss'), 20):.2f} ms")
    raw = [f"HTTPS://News.Example:443/2024/05/story-{i}?utm_source=x&id={i}&b=2#c" for i in range(10_000)]
    ms = timed(lambda: [canonicalize_url(u) for u in raw])
    print(f"canonicalize_url: {ms * 1000 / len(raw):.1f} us per URL")


if __name__ == "__main__":
    main()
