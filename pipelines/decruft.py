"""Decruft stage: removes what the extractor keeps but is not the article."""

from __future__ import annotations

from collections import Counter


def preclean_dom(tree, outlet) -> Counter:
    """Removes the outlet's drop selectors from the page before extraction."""
    removed: Counter = Counter()
    for selector in getattr(outlet, "drop_selectors", ()) or ():
        for el in tree.cssselect(selector):
            el.drop_tree()
            removed["outlet-selector"] += 1
    return removed


def clean_blocks(blocks: list[dict], outlet) -> tuple[list[dict], Counter]:
    return list(blocks), Counter()


def blocks_to_text(blocks: list[dict]) -> str:
    return "\n\n".join(b["text"] for b in blocks)


class DecruftPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        kept, removed = clean_blocks(item.pop("_blocks", []), self.crawler.spider.outlet)
        item["text"] = blocks_to_text(kept)
        counts = Counter(item["cleaning"].get("removed", {}))
        counts.update(removed)
        item["cleaning"]["removed"] = dict(counts)
        return item
