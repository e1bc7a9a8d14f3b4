"""Crawl throughput and memory on this machine: our full crawl against a naive spider.

    python -m bench.throughput                  # 1,000 pages, both crawlers, then the 10,000-page memory run
    python -m bench.throughput --pages 1000 --memory-pages 0    # throughput only
    python -m bench.throughput --pages 0 --memory-pages 10000   # memory only

A separate server process serves N article pages on 127.0.0.1, each a variant of one of
the aeb-dev pages made unique (its title numbered, a distinct token added to every
paragraph, so that content hashes and MinHash signatures differ and the dedupe indexes
grow as they would on real news), with robots.txt and one sitemap. Then:

(a) bench/naive_spider.py: reads the sitemap, calls trafilatura.extract in its callback,
    writes JSONL through Scrapy's feed export;
(b) our crawl, `scrapy crawl news`, with every stage (extraction, decruft, normalise,
    validate, dedupe, write) and the worker pool at its default size.

Both with the same CONCURRENT_REQUESTS, no download delay, no AutoThrottle. The server's
CPU is not counted as the crawler's (it is a sibling process, shown on its own line).
CPU is summed over the crawler's whole process tree (the Scrapy process, the pool's fork
server and workers), sampled every 0.2 s per process; memory likewise: peak of the summed
RSS, and of the summed PSS (RSS counts pages shared between the workers, such as the
language models, once per process; PSS shares them out).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AEB_DEV") or ROOT.parent / "shared" / "data" / "aeb-dev")
CONCURRENCY = 16
SAMPLE_SECONDS = 0.2
_PARAGRAPH_END = re.compile(r"</p\s*>", re.I)
_TITLE = re.compile(r"<title[^>]*>", re.I)
_CANONICAL = re.compile(r"""<link[^>]+rel=["']?canonical[^>]*>|<meta[^>]+property=["']og:url["'][^>]*>""", re.I)


# --------------------------------------------------------------------------- the site


def base_pages() -> list[list[str]]:
    """Each aeb-dev page cut at its title and paragraph ends, ready to be made unique.
    Its own canonical link is removed: it names the original site, not ours."""
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        html = gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
        html = _CANONICAL.sub("", html)
        match = _TITLE.search(html)
        head, body = (html[: match.end()], html[match.end():]) if match else ("", html)
        pages.append([head, *_PARAGRAPH_END.split(body)])
    return pages


def variant(pieces: list[str], number: int) -> bytes:
    """Page `number`: the title numbered, each paragraph ending in a token of its own."""
    head, first, *rest = pieces
    out = [head, f"No. {number} ", first]
    for j, piece in enumerate(rest):
        out.append(f" q{number:05d}x{j}</p>")
        out.append(piece)
    return "".join(out).encode("utf-8")


def serve(port_queue, pages: int, encode: bool = False) -> None:
    """The benchmark site, in its own process: robots.txt, a sitemap, a homepage and the
    article pages, over HTTP/1.1 with keep-alive; with `encode`, article pages are sent
    gzip-encoded to a client that accepts it, as most news sites send them."""
    bases = base_pages()
    sitemap = ['<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']

    async def handle(reader, writer):
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                path = request.split(b" ", 2)[1].decode("latin-1")
                body, ctype, status = b"not found", "text/plain", "404 Not Found"
                if path == "/robots.txt":
                    body, ctype, status = f"User-agent: *\nAllow: /\nSitemap: {origin}/sitemap.xml\n".encode(), "text/plain", "200 OK"
                elif path == "/sitemap.xml":
                    body, ctype, status = sitemap_bytes, "application/xml", "200 OK"
                elif path == "/":
                    body, ctype, status = b"<html><head><title>Bench</title></head><body><h1>Bench news</h1></body></html>", "text/html; charset=utf-8", "200 OK"
                elif path.startswith("/news/") and path[6:].isdigit() and int(path[6:]) < pages:
                    number = int(path[6:])
                    body, ctype, status = variant(bases[number % len(bases)], number), "text/html; charset=utf-8", "200 OK"
                encoding = ""
                if encode and path.startswith("/news/") and b"gzip" in request.lower():
                    body, encoding = gzip.compress(body, compresslevel=6), "Content-Encoding: gzip\r\n"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{encoding}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        nonlocal origin, sitemap_bytes
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        port = server.sockets[0].getsockname()[1]
        origin = f"http://127.0.0.1:{port}"
        sitemap.extend(f"<url><loc>{origin}/news/{i}</loc></url>" for i in range(pages))
        sitemap.append("</urlset>")
        sitemap_bytes = "\n".join(sitemap).encode()
        port_queue.put(port)
        async with server:
            await server.serve_forever()

    origin, sitemap_bytes = "", b""
    asyncio.run(main())


# --------------------------------------------------------------------------- measuring


class TreeMonitor:
    """CPU seconds and peak memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.peak_rss = self.peak_pss = 0
        self.last_rss = self.last_pss = 0

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0
        for proc in procs:
            try:
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                info = proc.memory_full_info()
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            except psutil.Error:
                continue
        if rss:  # the last sample of a live tree, not of one that has just exited
            self.last_rss, self.last_pss = rss, pss
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def count_lines(folder: Path) -> int:
    """Lines of the JSONL files in `folder` (the naive spider's export) and of the article
    parts of each outlet below it (ours); rejects and the cruft audit do not count."""
    from pipelines.parts import day_parts

    total = 0
    for path in [*folder.glob("*.jsonl"), *(p for outlet in folder.glob("*/") for p in day_parts(outlet))]:
        with path.open("rb") as fh:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return total


def run_crawler(command: list[str], cwd: Path, env: dict, output: Path, checkpoints=(),
                monitor_class=TreeMonitor) -> dict:
    """Runs a crawler to the end; wall and CPU seconds (of its whole process tree, and of
    its own process), peak memory, memory at checkpoints (numbers of records written).
    `monitor_class(pid)` samples the crawler's process tree."""
    log = open(output.parent / f"{output.name}.log", "w")
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    monitor = monitor_class(proc.pid)
    pending = sorted(checkpoints)
    at: dict[int, tuple[int, int]] = {}
    tick = 0
    while proc.poll() is None:
        monitor.sample()
        tick += 1
        if pending and tick % 5 == 0:
            written = count_lines(output)
            while pending and written >= pending[0]:
                at[pending.pop(0)] = (monitor.last_rss, monitor.last_pss)
        time.sleep(SAMPLE_SECONDS)
    wall = time.monotonic() - start
    log.close()
    log_text = (output.parent / f"{output.name}.log").read_text(errors="replace")
    for mark in pending:  # fewer records than pages (rejects, duplicates): the end of the crawl
        at[mark] = (monitor.last_rss, monitor.last_pss)
    written = count_lines(output)
    return {"returncode": proc.returncode, "wall": wall, "cpu": monitor.cpu_seconds,
            "own_cpu": monitor.cpu.get(proc.pid, 0.0), "peak_rss": monitor.peak_rss,
            "peak_pss": monitor.peak_pss, "written": written, "at": at, "log": log_text[-3000:],
            "processed": stat(log_text, "item_scraped_count") + stat(log_text, "item_dropped_count") or written}


def stat(log: str, key: str) -> int:
    """A counter from the stats Scrapy dumps at the end of its log (0 when absent)."""
    found = re.findall(rf"'{re.escape(key)}': (\d+)", log)
    return int(found[-1]) if found else 0


def common_settings() -> list[str]:
    settings = {"CONCURRENT_REQUESTS": CONCURRENCY, "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
                "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO"}
    return [arg for key, value in settings.items() for arg in ("-s", f"{key}={value}")]


def crawl_naive(origin: str, tmp: Path) -> dict:
    out = tmp / "naive"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    # Run outside the project folder: the naive spider gets Scrapy's defaults, not our settings.
    command = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "bench" / "naive_spider.py"),
               "-a", f"sitemap={origin}/sitemap.xml", "-O", str(out / "naive.jsonl"), *common_settings()]
    return run_crawler(command, tmp, env, out)


def our_crawl(origin: str, out: Path, state: Path) -> tuple[list[str], dict]:
    """The command and environment of our full crawl of the benchmark site."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"url={origin}/", "-a", "outlet=bench",
               *common_settings(), "-s", "NEWSCRAWL_ALLOWED_NETWORKS=127.0.0.1/32",
               "-s", f"NEWSCRAWL_OUTPUT_DIR={out}", "-s", f"NEWSCRAWL_STATE_DIR={state}",
               "-s", f"NEWSCRAWL_ARCHIVE_DIR={state.with_name(state.name + '-archive')}"]
    return command, env


def crawl_ours(origin: str, tmp: Path, name: str = "ours", checkpoints=()) -> dict:
    out = tmp / name
    command, env = our_crawl(origin, out, tmp / (name + "-state"))
    out.mkdir()
    return run_crawler(command, ROOT, env, out, checkpoints)


def start_site(pages: int, encode: bool = False):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    server = ctx.Process(target=serve, args=(queue, pages, encode), daemon=True)
    server.start()
    return server, f"http://127.0.0.1:{queue.get(timeout=120)}"


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def report(name: str, pages: int, r: dict, cores: int) -> dict:
    """A crawler's row. Pages: article pages taken through the crawler to the end, as a
    record written or, for ours, a duplicate dropped or a reject written with its reasons
    (Scrapy's item_scraped_count + item_dropped_count); records: lines of JSONL written."""
    row = {"name": name, "pages": r["processed"], "records": r["written"], "wall": r["wall"],
           "pps": r["processed"] / r["wall"] if r["wall"] else 0.0,
           "rps": r["written"] / r["wall"] if r["wall"] else 0.0,
           "cpu_per_page_ms": 1000 * r["cpu"] / max(r["processed"], 1), "cpu": r["cpu"],
           "core_share": r["cpu"] / (cores * r["wall"]), "peak_rss": r["peak_rss"], "peak_pss": r["peak_pss"]}
    if r["returncode"] != 0 or r["processed"] < pages * 0.99 or r["written"] < pages * 0.95:
        print(f"warning: {name} exited {r['returncode']} with {r['processed']}/{pages} pages processed and "
              f"{r['written']} records written\n{r['log']}")
    return row


def throughput(pages: int) -> None:
    cores = os.cpu_count() or 1
    server, origin = start_site(pages)
    server_proc = psutil.Process(server.pid)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, crawl in (("naive spider", crawl_naive), ("newscrawl", crawl_ours)):
                before = sum(server_proc.cpu_times()[:2])
                result = crawl(origin, Path(tmp))
                row = report(name, pages, result, cores)
                row["server_cpu"] = sum(server_proc.cpu_times()[:2]) - before
                rows.append(row)
    finally:
        server.terminate()
    print(f"\nThroughput: {pages} pages on 127.0.0.1, CONCURRENT_REQUESTS={CONCURRENCY}, no delays, "
          f"{cores} cores, load average before {os.getloadavg()[0]:.2f}")
    print(f"{'crawler':14} {'pages':>6} {'records':>7} {'wall s':>7} {'pages/s':>8} {'records/s':>9} {'CPU s':>7} "
          f"{'CPU ms/page':>11} {'cores used':>10} {'peak RSS':>9} {'peak PSS':>9} {'server CPU s':>12}")
    for r in rows:
        print(f"{r['name']:14} {r['pages']:>6} {r['records']:>7} {r['wall']:>7.1f} {r['pps']:>8.1f} {r['rps']:>9.1f} "
              f"{r['cpu']:>7.1f} {r['cpu_per_page_ms']:>11.1f} {100 * r['core_share']:>9.0f}% {mb(r['peak_rss']):>9} "
              f"{mb(r['peak_pss']):>9} {r['server_cpu']:>12.1f}")
    naive, ours = rows
    ratio = ours["pps"] / naive["pps"] if naive["pps"] else float("nan")
    records_ratio = ours["rps"] / naive["rps"] if naive["rps"] else float("nan")
    print("pages: article pages crawled to the end (written, or dropped as a duplicate, or rejected with reasons); "
          "records: JSONL lines written")
    print(f"ratio newscrawl / naive pages per second: {ratio:.2f} (target >= 1.30); "
          f"records per second: {records_ratio:.2f}")
    print(f"newscrawl CPU seconds / (cores x wall seconds): {ours['core_share']:.2f} (target >= 0.85)")


def memory(pages: int) -> None:
    server, origin = start_site(pages)
    marks = [pages // 4, pages // 2, 3 * pages // 4, pages]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = crawl_ours(origin, Path(tmp), "memory", checkpoints=marks)
            state = sum(p.stat().st_size for p in Path(tmp, "memory-state").rglob("*") if p.is_file())
    finally:
        server.terminate()
    print(f"\nMemory: newscrawl over {pages} unique pages, {result['written']} written in {result['wall']:.0f} s "
          f"({result['written'] / result['wall']:.1f} pages/s)")
    print(f"{'records written':>16} {'tree RSS':>9} {'tree PSS':>9}   (the last row: at the end of the crawl)")
    for mark in marks:
        rss, pss = result["at"].get(mark, (0, 0))
        print(f"{mark:>16} {mb(rss):>9} {mb(pss):>9}")
    print(f"peak RSS of the process tree: {mb(result['peak_rss'])} (target <= 600 MB); peak PSS {mb(result['peak_pss'])}")
    print(f"state on disk (dedupe and boilerplate indexes): {mb(state)}")
    if result["returncode"] != 0:
        print(result["log"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages for the throughput run (0: skip)")
    parser.add_argument("--memory-pages", type=int, default=10000, help="pages for the memory run (0: skip)")
    args = parser.parse_args(argv)
    if args.pages:
        throughput(args.pages)
    if args.memory_pages:
        memory(args.memory_pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
