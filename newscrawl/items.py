"""What the spider hands to the item pipelines: the raw page and its provenance.

Pipelines turn a RawArticle into an article record (a plain dict in the published
schema, and from the extract stage to the dedupe stage the one internal field of
pipelines/work.py); Scrapy's feed exports (-O file.jsonl) see the write stage's records,
public fields only.
"""

import scrapy


class RawArticle(scrapy.Item):
    url = scrapy.Field()  # URL requested (after our canonicalisation)
    final_url = scrapy.Field()  # URL of the response, after redirects
    http_status = scrapy.Field()
    headers = scrapy.Field()  # dict of a few useful response headers (str -> str)
    html = scrapy.Field()  # decoded page text (str)
    outlet = scrapy.Field()  # outlet name
    discovered_via = scrapy.Field()  # how the URL was found: see newscrawl.discovery.VIA
    discovered_from = scrapy.Field()  # the sitemap, feed or page where it was found
    fetched_at = scrapy.Field()  # ISO 8601 UTC
    hints = scrapy.Field()  # metadata from sitemaps/feeds: title, published_at, lastmod
    rendered = scrapy.Field()  # True: `html` is the page as a browser built it (newscrawl/render.py)
