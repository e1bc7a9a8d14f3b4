"""The article read from a page's data alone (newscrawl/page_data.py), beside the body
the crawl takes, on the development sets.

    python -m bench.page_data [FOLDER ...] [--list]

For every page of aeb-dev and fundus-dev (or the FOLDERs given), the article is read from
the data the page ships for its scripts, as if its HTML held no body, and scored against
the ground truth with bench.extraction's metric; so is the body `newscrawl clean` gives.
It prints how many pages carry an article in their data, by where it was, the F1 of the
data's article on those pages and of the crawl's body on the same pages, the CPU the
reading costs (the page parsed, its metadata and its data read; after a warm-up call),
and the pages whose crawled body misses much of the article (recall below
0.8) while their data holds more of it: the pages the data would rescue. `--list` prints
every page's figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

from bench.extraction import DEFAULT_FOLDER, DEFAULT_LABELS, FUNDUS_FOLDER, clean_path, make_dataset
from bench.metrics import score_page, summarise

# A crawled body that keeps less than this share of the article misses much of it.
MISSED_RECALL = 0.8


def page_data_only(html: str, url: str) -> dict:
    """The article in the page's data, its text as blocks joined, and where it was ("" and
    None when the data holds none)."""
    from newscrawl.page_data import find_article
    from pipelines.cruft_rules import blocks_to_text
    from pipelines.extract import (_headline_candidates, _jsonld_article_body, extract_metadata, fragment_blocks,
                                   jsonld_objects, parse_html)

    root = parse_html(html)
    objects = jsonld_objects(root)
    record = extract_metadata(root, url, None, objects)
    found = find_article(list(root.iter("script")), titles=_headline_candidates(root, record),
                         known=[record.get("description") or ""], jsonld_body=_jsonld_article_body(root, objects))
    if found is None:
        return {"text": "", "source": None}
    return {"text": blocks_to_text(fragment_blocks(found.fragment, url)), "source": found.source}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="default: aeb-dev and fundus-dev")
    parser.add_argument("--list", action="store_true", help="print every page's figures")
    args = parser.parse_args(argv)
    for folder in args.folders or (DEFAULT_FOLDER, FUNDUS_FOLDER):
        data = make_dataset(folder, DEFAULT_LABELS)
        rows = []
        cpu = []
        page_data_only(data.pages[0].html, data.pages[0].url)  # warm-up: imports, caches
        for page in data.pages:
            start = time.process_time()
            found = page_data_only(page.html, page.url)
            cpu.append((time.process_time() - start) * 1000)
            crawled = clean_path(page.html, page.url)
            rows.append((page, found, score_page(page.expected, found["text"], tokens=data.tokens),
                         score_page(page.expected, crawled["text"], tokens=data.tokens)))
        with_data = [r for r in rows if r[1]["source"]]
        print(f"== {data.name}: {len(rows)} pages from {folder}")
        print(f"an article in the page's data: {len(with_data)} pages; reading it: "
              f"{statistics.fmean(cpu):.1f} ms CPU per page (mean), {max(cpu):.1f} ms at most")
        kinds = Counter("jsonld-articleBody" if r[1]["source"] == "jsonld-articleBody" else "script data"
                        for r in with_data)
        print("  where: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
        if with_data:
            from_data, crawled = summarise(r[2] for r in with_data), summarise(r[3] for r in with_data)
            print(f"  on those pages, F1 of the data's article {from_data.f1:.4f} (P {from_data.precision:.4f}, "
                  f"R {from_data.recall:.4f}); of the crawled body {crawled.f1:.4f}")
            good = sum(r[2].f1 >= 0.9 for r in with_data)
            print(f"  pages where the data's article scores F1 >= 0.9: {good} of {len(with_data)}")
        rescued = [r for r in rows if r[3].recall < MISSED_RECALL and r[2].recall > r[3].recall]
        print(f"crawled body recall < {MISSED_RECALL} while the data holds more: {len(rescued)}")
        for page, found, s_data, s_crawl in rescued:
            print(f"  {page.id[:36]:<36} crawled R={s_crawl.recall:.3f} data R={s_data.recall:.3f} "
                  f"({found['source']}) {page.url}")
        if args.list:
            for page, found, s_data, s_crawl in rows:
                print(f"  {page.id[:36]:<36} {str(found['source'])[:34]:<34} data P={s_data.precision:.2f} "
                      f"R={s_data.recall:.2f}  crawled P={s_crawl.precision:.2f} R={s_crawl.recall:.2f}")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
