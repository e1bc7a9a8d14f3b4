"""`newscrawl import-warc` on a CC-NEWS-shaped WARC: pages per second, CPU, memory.

    python -m bench.import_warc                     # 10,000 responses
    python -m bench.import_warc --records 2000

The WARC is made here with warcio, shaped as a CC-NEWS file: a warcinfo record, then a
request and a response record per fetch (each its own gzip member), the fetches of
HOSTS hosts interleaved; the pages are the throughput benchmark's (bench/throughput.py:
unique variants of the aeb-dev pages, 160 KB of HTML on average). Every host has an
outlet record, so every page is taken through the whole path: the article gate, the
cleaning stages, validation, dedupe, the write and the ledger.

Printed: the import's wall and CPU seconds (its whole process tree: the command and its
worker pool), pages per second, CPU milliseconds per page (and the command's own process's
share: the workers read, decode, gate and clean; it keeps the stages that hold state),
peak RSS and PSS of the tree
and RSS at a quarter, half and three quarters of the records written (the memory stays
flat as the file is read: only the pages' places are kept between the two passes). Then
what reading alone costs, in this process: the first pass over every record's headers
(`warcread.scan`) and the second pass's reading of every response whole
(`warcread.read_page`: its payload, digests checked), in milliseconds per response.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.throughput import ROOT, base_pages, mb, run_crawler, variant

HOSTS = 20


def make_warc(path: Path, records: int) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    bases = base_pages()
    start = datetime(2026, 3, 2, tzinfo=timezone.utc)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.0")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench.import_warc"}))
        for n in range(records):
            url = f"https://www.news{n % HOSTS}.test/story/{n}"
            body = variant(bases[n % len(bases)], n)
            date = {"WARC-Date": (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            request = StatusAndHeaders(f"GET /story/{n} HTTP/1.1", [("User-Agent", "bench")], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=request, warc_headers_dict=date))
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=http, warc_headers_dict=date))


def write_records(folder: Path) -> Path:
    """An outlet record for every host of the file."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(HOSTS):
        (folder / f"news{n}.toml").write_text(
            f'name = "news{n}"\ndisplay_name = "News {n}"\ndomains = ["news{n}.test"]\n'
            f'homepage = "https://www.news{n}.test/"\n', encoding="utf-8")
    return folder


def reading_cost(path: Path) -> tuple[int, float, float]:
    """(responses, ms per response for the first pass, ms per response read whole)."""
    from newscrawl.warcread import read_page, scan

    started = time.process_time()
    found = list(scan(path, lambda problem: print(problem.line())))
    scanned = time.process_time() - started
    started = time.process_time()
    with open(path, "rb") as fh:
        for entry in found:
            read_page(fh, path, entry.offset, 10 << 20)
    read = time.process_time() - started
    count = max(len(found), 1)
    return len(found), 1000 * scanned / count, 1000 * read / count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10000, help="responses in the WARC (default 10,000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warc = tmp / "CC-NEWS-bench.warc.gz"
        started = time.monotonic()
        make_warc(warc, args.records)
        print(f"made {warc.name}: {args.records} responses of {HOSTS} hosts, {mb(warc.stat().st_size)} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        out = tmp / "output"
        out.mkdir()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        command = [sys.executable, "-m", "newscrawl.cli", "import-warc", "--outlets-dir",
                   str(write_records(tmp / "outlets")), str(warc), "-s", f"NEWSCRAWL_OUTPUT_DIR={out}",
                   "-s", f"NEWSCRAWL_STATE_DIR={tmp / 'state'}"]
        marks = [args.records // 4, args.records // 2, 3 * args.records // 4]
        load = os.getloadavg()[0]
        result = run_crawler(command, ROOT, env, out, checkpoints=marks)
        log = (tmp / "output.log").read_text(errors="replace")
        summary = next((line for line in reversed(log.splitlines()) if line.startswith("newscrawl import-warc: ")),
                       "")
        match = re.search(r"; (\d+) pages? of \d+ outlets?", summary)
        pages = int(match.group(1)) if match else 0
        if result["returncode"] != 0 or not pages:
            print(f"warning: the import exited {result['returncode']}\n{log[-3000:]}")
        wall, cpu = result["wall"], result["cpu"]
        print(f"\nimport-warc of {args.records} responses, {os.cpu_count()} cores, load average before {load:.2f}")
        print(summary)
        print(f"wall {wall:.1f} s, CPU {cpu:.1f} s (process tree): {pages / wall:.1f} pages/s, "
              f"{1000 * cpu / max(pages, 1):.1f} CPU ms/page, {result['written'] / wall:.1f} records/s")
        print(f"the command's own process (the first pass, the learned layer, dedupe, writing): "
              f"{1000 * result['own_cpu'] / max(pages, 1):.1f} CPU ms/page; its worker pool the rest")
        print(f"peak RSS {mb(result['peak_rss'])}, peak PSS {mb(result['peak_pss'])} (process tree)")
        print("RSS at " + ", ".join(f"{mark} records written: {mb(result['at'].get(mark, (0, 0))[0])}"
                                    for mark in marks))
        count, scan_ms, read_ms = reading_cost(warc)
        print(f"reading alone (warcio, this process): first pass {scan_ms:.2f} ms per response, "
              f"reading a response whole {read_ms:.2f} ms ({count} responses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
