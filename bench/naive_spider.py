"""The baseline for bench/throughput.py: a plain Scrapy spider that reads a sitemap, calls
trafilatura.extract in its parse callback and lets Scrapy's feed export write JSONL.
No cleaning, no deduplication, no state: what a first scraper looks like.

    scrapy runspider bench/naive_spider.py -a sitemap=http://127.0.0.1:PORT/sitemap.xml -O out.jsonl
"""

import trafilatura
from scrapy.spiders import SitemapSpider


class NaiveSpider(SitemapSpider):
    name = "naive"

    def __init__(self, sitemap: str, **kwargs):
        super().__init__(**kwargs)
        self.sitemap_urls = [sitemap]

    def parse(self, response):
        yield {"url": response.url, "text": trafilatura.extract(response.text, url=response.url)}
