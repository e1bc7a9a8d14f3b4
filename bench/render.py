"""What rendering costs: pages per second, CPU and memory of crawls whose pages go
through Chromium (an outlet record's `render`), beside the same crawl fetching plainly.

    python -m bench.render                       # 200 pages: plain, then rendered 2 and 4 pages at a time
    python -m bench.render --pages 500 --max-pages 1 2 4

The site is the throughput benchmark's (bench/throughput.py: unique variants of the
aeb-dev pages, robots.txt and a sitemap) on 127.0.0.1. One outlet record crawls it,
without `render`, then with `render = true` once for each NEWSCRAWL_RENDER_MAX_PAGES
given; everything else is the same (CONCURRENT_REQUESTS as the throughput benchmark's,
no delays). The pages' own scripts run in the browser; with NEWSCRAWL_RENDER_OTHER_HOSTS
off, whatever they ask of another host is refused before any name is resolved, so that
nothing but 127.0.0.1 is contacted (a real site's would be fetched, over the network: a
real rendered crawl is slower than this one).

For each crawl it prints the pages taken through to a record (or a duplicate, or a
reject) per second, CPU ms per page and the cores used by the whole process tree (the
crawl, its workers, the Playwright driver and the browser's processes), the tree's peak
RSS and PSS, and those of the browser's processes alone (Chromium's, and Playwright's
driver that runs it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import psutil

from bench.throughput import ROOT, TreeMonitor, common_settings, mb, report, run_crawler, start_site

NAME = "bench-render"


class BrowserMonitor(TreeMonitor):
    """TreeMonitor that also keeps the peak memory of the browser's processes: Chromium's
    and the Playwright driver's (node) that launches it."""

    def __init__(self, pid: int):
        super().__init__(pid)
        self.browser_rss = self.browser_pss = 0

    def sample(self) -> None:
        super().sample()
        try:
            procs = self.root.children(recursive=True)
        except psutil.Error:
            return
        rss = pss = 0
        for proc in procs:
            try:
                if not proc.name().startswith(("chrom", "node")):
                    continue
                info = proc.memory_full_info()
            except psutil.Error:
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.browser_rss, self.browser_pss = max(self.browser_rss, rss), max(self.browser_pss, pss)


def outlet_record(origin: str, render: bool) -> str:
    host = origin.split("//", 1)[1]
    return (f'name = "{NAME}"\ndisplay_name = "Bench"\ndomains = ["{host}"]\nhomepage = "{origin}/"\n'
            f"render = {'true' if render else 'false'}\n")


def crawl(origin: str, tmp: Path, label: str, render: bool, max_pages: int) -> tuple[dict, BrowserMonitor]:
    folder = tmp / label
    outlets = folder / "outlets"
    outlets.mkdir(parents=True)
    (outlets / f"{NAME}.toml").write_text(outlet_record(origin, render), encoding="utf-8")
    out = folder / "output"
    out.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["NEWSCRAWL_OUTLETS_DIR"] = str(outlets)
    settings = {"NEWSCRAWL_ALLOWED_NETWORKS": "127.0.0.1/32", "NEWSCRAWL_OUTPUT_DIR": out,
                "NEWSCRAWL_STATE_DIR": folder / "state", "NEWSCRAWL_ARCHIVE_DIR": folder / "archive",
                "NEWSCRAWL_RENDER_OTHER_HOSTS": "False", "NEWSCRAWL_RENDER_MAX_PAGES": max_pages}
    command = [sys.executable, "-m", "scrapy", "crawl", NAME, *common_settings(),
               *(arg for key, value in settings.items() for arg in ("-s", f"{key}={value}"))]
    monitors: list[BrowserMonitor] = []

    def monitor(pid: int) -> BrowserMonitor:
        monitors.append(BrowserMonitor(pid))
        return monitors[-1]

    result = run_crawler(command, ROOT, env, out, monitor_class=monitor)
    return result, monitors[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of the site (default 200)")
    parser.add_argument("--max-pages", type=int, nargs="+", default=[2, 4],
                        help="NEWSCRAWL_RENDER_MAX_PAGES of each rendered crawl (default: 2 4)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    server, origin = start_site(args.pages)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [("plain", False, 2)] + [(f"rendered, {n} at once", True, n) for n in args.max_pages]
            for label, render, max_pages in runs:
                result, monitor = crawl(origin, Path(tmp), label.replace(", ", "-").replace(" ", "-"), render,
                                        max_pages)
                row = report(label, args.pages, result, cores)
                row["browser_rss"], row["browser_pss"] = monitor.browser_rss, monitor.browser_pss
                rows.append(row)
    finally:
        server.terminate()
    print(f"\nRendering: {args.pages} pages on 127.0.0.1, CONCURRENT_REQUESTS as bench.throughput's, no delays, "
          f"{cores} cores, load average before {os.getloadavg()[0]:.2f}")
    print(f"{'crawl':22} {'pages':>6} {'records':>7} {'wall s':>7} {'pages/s':>8} {'CPU ms/page':>11} {'cores used':>10} "
          f"{'peak RSS':>9} {'peak PSS':>9} {'browser RSS':>11} {'browser PSS':>11}")
    for r in rows:
        print(f"{r['name']:22} {r['pages']:>6} {r['records']:>7} {r['wall']:>7.1f} {r['pps']:>8.1f} "
              f"{r['cpu_per_page_ms']:>11.1f} {100 * r['core_share']:>9.0f}% {mb(r['peak_rss']):>9} "
              f"{mb(r['peak_pss']):>9} {mb(r['browser_rss']):>11} {mb(r['browser_pss']):>11}")
    plain = rows[0]
    for r in rows[1:]:
        print(f"{r['name']}: {plain['pps'] / r['pps']:.1f} times slower than plain fetching, "
              f"{r['cpu_per_page_ms'] / plain['cpu_per_page_ms']:.1f} times the CPU per page, "
              f"{mb(r['peak_pss'] - plain['peak_pss'])} more peak PSS" if r["pps"] else f"{r['name']}: no pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
