"""What the archive costs: our full crawl of the throughput benchmark's site with
archiving off and on, side by side.

    python -m bench.archive                      # 1,000 pages, 2 rounds, pages sent as they are
    python -m bench.archive --gzip               # article pages sent gzip-encoded, as most sites send them
    python -m bench.archive --pages 500 --rounds 3

Each round crawls the site (bench/throughput.py: unique variants of the aeb-dev pages)
once with NEWSCRAWL_ARCHIVE=False and once with it on (the order alternating between
rounds, so a machine that gets busier part way favours neither). Per run: article pages
taken through the crawler per second, CPU milliseconds per page of the crawler's whole
process tree, and bytes on disk per article: the JSONL output, and the WARC files
(request and response records of each article page, gzip-compressed per record).
Then the archive's own CPU per article, measured in this process over the same pages:
its writer thread's work (warcio's records and digests, the gzip), which a crawl on a
busy machine hides in the noise of its whole process tree.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.throughput import base_pages, our_crawl, run_crawler, start_site, stat, variant


def folder_bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def crawl(origin: str, tmp: Path, name: str, archive: bool) -> dict:
    out, state = tmp / name, tmp / f"{name}-state"
    command, env = our_crawl(origin, out, state)
    command += ["-s", f"NEWSCRAWL_ARCHIVE={archive}"]
    out.mkdir()
    result = run_crawler(command, Path(__file__).resolve().parents[1], env, out)
    archived = stat((out.parent / f"{out.name}.log").read_text(errors="replace"), "newscrawl/archive/article")
    warc = folder_bytes(state.with_name(state.name + "-archive"), "*.warc.gz")
    pages = result["processed"]
    if result["returncode"] != 0:
        print(f"warning: {name} exited {result['returncode']}\n{result['log']}")
    return {"archive": archive, "pages": pages, "wall": result["wall"], "pps": pages / result["wall"],
            "cpu_ms": 1000 * result["cpu"] / max(pages, 1), "records": result["written"],
            "output_per_record": folder_bytes(out, "part-*.jsonl*") / max(result["written"], 1),
            "archived": archived, "warc_per_article": warc / archived if archived else 0.0, "warc": warc}


def writer_cpu(pages: int, encode: bool) -> float:
    """CPU milliseconds to make one article page's WARC records (the writer thread's work,
    less the write and sync), over `pages` of the benchmark's pages."""
    from newscrawl.archive import ARTICLE, Capture, fetch_records

    bases = base_pages()
    bodies = [variant(bases[n % len(bases)], n) for n in range(pages)]
    headers = ((b"Content-Type", b"text/html; charset=utf-8"),)
    if encode:
        bodies = [gzip.compress(body, compresslevel=6) for body in bodies]
        headers += ((b"Content-Encoding", b"gzip"),)
    captures = [Capture(url=f"http://127.0.0.1/news/{n}", status=200, protocol="HTTP/1.1", headers=headers, body=body,
                        date=datetime.now(timezone.utc), ip="127.0.0.1", method="GET",
                        request_headers=((b"User-Agent", b"newscrawl"),), request_body=b"")
                for n, body in enumerate(bodies)]
    start = time.process_time()
    for capture in captures:
        fetch_records([capture], ARTICLE)
    return 1000 * (time.process_time() - start) / pages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gzip", action="store_true", help="send article pages gzip-encoded")
    args = parser.parse_args(argv)
    server, origin = start_site(args.pages, encode=args.gzip)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.rounds):
                for archive in ((False, True) if n % 2 == 0 else (True, False)):
                    runs.append(crawl(origin, Path(tmp), f"r{n}-{'on' if archive else 'off'}", archive))
    finally:
        server.terminate()
    print(f"\nArchive cost: {args.pages} pages on 127.0.0.1 ({'gzip-encoded' if args.gzip else 'not encoded'}), "
          f"{args.rounds} rounds, {os.cpu_count()} cores, load average after {os.getloadavg()[0]:.2f}")
    print(f"{'archive':>7} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'CPU ms/page':>11} {'JSONL B/record':>14} "
          f"{'WARC B/article':>14} {'WARC MB':>8}")
    for r in runs:
        print(f"{'on' if r['archive'] else 'off':>7} {r['pages']:>6} {r['wall']:>7.1f} {r['pps']:>8.1f} "
              f"{r['cpu_ms']:>11.1f} {r['output_per_record']:>14,.0f} {r['warc_per_article']:>14,.0f} "
              f"{r['warc'] / 1e6:>8.1f}")
    off = [r for r in runs if not r["archive"]]
    on = [r for r in runs if r["archive"]]
    pps_off, pps_on = statistics.median(r["pps"] for r in off), statistics.median(r["pps"] for r in on)
    cpu_off, cpu_on = statistics.median(r["cpu_ms"] for r in off), statistics.median(r["cpu_ms"] for r in on)
    print(f"median pages/s: off {pps_off:.1f}, on {pps_on:.1f} (on/off {pps_on / pps_off:.2f}); "
          f"CPU ms/page: off {cpu_off:.1f}, on {cpu_on:.1f} (+{cpu_on - cpu_off:.1f})")
    print(f"archive on disk: {statistics.median(r['warc_per_article'] for r in on):,.0f} bytes per article "
          f"(the JSONL output: {statistics.median(r['output_per_record'] for r in runs):,.0f} bytes per record)")
    print(f"the archive's CPU per article page (records, digests, gzip; in this process): "
          f"{writer_cpu(min(args.pages, 300), args.gzip):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
