"""Log lines about items that name the article instead of printing it.

Scrapy's own formatter prints the whole item when one is dropped, scraped or fails. Our
items carry the page's HTML until the extract stage and the article's text after it, so
every duplicate dropped under cron would write a hundred kilobytes of pretty-printed HTML
to the log (and spend the CPU to format it). Here the item is its URL and outlet; the
reason stays, and the counts are in the crawl stats.
"""

from __future__ import annotations

from scrapy.logformatter import LogFormatter


def item_summary(item) -> str:
    get = item.get if hasattr(item, "get") else (lambda key: None)
    url = get("url") or get("final_url") or "?"
    outlet = get("outlet")
    return f"<{url}>" + (f" ({outlet})" if outlet else "")


class ArticleLogFormatter(LogFormatter):
    def scraped(self, item, response, spider):
        entry = super().scraped(item, response, spider)
        entry["args"]["item"] = item_summary(item)
        return entry

    def dropped(self, item, exception, response, spider):
        entry = super().dropped(item, exception, response, spider)
        entry["args"]["item"] = item_summary(item)
        return entry

    def item_error(self, item, exception, response, spider):
        entry = super().item_error(item, exception, response, spider)
        entry["args"]["item"] = item_summary(item)
        return entry
