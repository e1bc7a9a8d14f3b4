"""Cost per call of classify_page and page_links, and the gate's verdicts, on real pages.

Usage: python bench/bench_gate.py [DATA_DIR]   (default: shared/data/aeb-dev)
Every page there is an article, so the share classified as articles is the gate's recall.
"""

from __future__ import annotations

import collections
import gzip
import json
import sys
import time
from pathlib import Path

import lxml.html

from newscrawl.discovery import page_links
from newscrawl.gate import classify_page
from newscrawl.outlets import generic_outlet
from bench.extraction import DEFAULT_FOLDER as DEFAULT_DIR



def per_call_ms(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) * 1000 / repeat


def main(data_dir: Path) -> None:
    truth = json.loads((data_dir / "ground-truth.json").read_text())
    gate_ms, links_ms, parse_ms, reasons, misses = [], [], [], collections.Counter(), []
    for page_id, record in sorted(truth.items()):
        html = gzip.decompress((data_dir / "html" / f"{page_id}.html.gz").read_bytes())
        url = record["url"]
        outlet = generic_outlet(url)
        parse_ms.append(per_call_ms(lambda: lxml.html.fromstring(html), 3))
        root = lxml.html.fromstring(html)
        verdict = classify_page(root, url, outlet)
        reasons[verdict.reason.split(":")[0] + ":" + verdict.reason.split(":")[1]
                if verdict.reason.startswith(("jsonld", "og")) else verdict.reason.split(":")[0]] += 1
        if not verdict.is_article:
            misses.append((url, verdict.reason))
        gate_ms.append(per_call_ms(lambda: classify_page(root, url, outlet), 10))
        links_ms.append(per_call_ms(lambda: page_links(root, url), 10))

    def stats(values):
        values = sorted(values)
        return (f"mean {sum(values) / len(values):.2f} ms, median {values[len(values) // 2]:.2f} ms, "
                f"p90 {values[int(len(values) * 0.9)]:.2f} ms, max {values[-1]:.2f} ms")

    n = len(truth)
    print(f"pages: {n}")
    print(f"lxml.html parse (for scale): {stats(parse_ms)}")
    print(f"classify_page: {stats(gate_ms)}")
    print(f"page_links:    {stats(links_ms)}")
    print(f"classified as article: {n - len(misses)}/{n}")
    for reason, count in reasons.most_common():
        print(f"  {count:3d}  {reason}")
    for url, reason in misses:
        print(f"  miss: {reason}  {url}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR.resolve())
