"""Prints what the write stage costs the disk for a day of N records: the bytes the
process wrote (`write_chars`, every write and copy it asked the kernel for) and those that
reached the block device (`write_bytes`), against the size of the output itself.

    python -m bench.write_cost                  # 1,000 and 10,000 records
    python -m bench.write_cost 1000 10000 100000 --compression gzip

Records of about 2.4 KB, published with the default settings (a part per 100 records).
With immutable parts each record is written once: the bytes grow with N, by the same
amount per record at any N. (Measured on this project's machine on the former layout, one
file per day copied, appended to and renamed at every publish: 1,000 records, 2.4 MB of
output, cost 13.3 MB of writes; 10,000 records, 24.2 MB, cost 1,224 MB: the square of N.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil

from newscrawl.project import project_settings
from pipelines.parts import SUFFIXES, WriterSet, day_parts, writer_settings


def record(i: int) -> dict:
    return {"id": f"{i:032x}", "url": f"https://example.com/news/{i}", "title": "A headline " * 3,
            "text": "A paragraph of an article about something that happened. " * 40, "n": i}


def measure(count: int, compression: str, folder: Path) -> dict:
    me = psutil.Process()
    before, start = me.io_counters(), time.perf_counter()
    writers = WriterSet(folder, compression, **writer_settings(project_settings()))  # as a crawl without -s reads them
    for i in range(count):
        writers.writer("bench", "2026-12-07").write(record(i))
    writers.close()
    after, seconds = me.io_counters(), time.perf_counter() - start
    parts = day_parts(folder / "bench")
    return {"records": count, "parts": len(parts), "output": sum(p.stat().st_size for p in parts),
            "write_chars": after.write_chars - before.write_chars,
            "write_bytes": after.write_bytes - before.write_bytes, "seconds": seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--compression", choices=sorted(SUFFIXES), default="")
    args = parser.parse_args(argv)
    print(f"{'records':>9} {'parts':>6} {'output bytes':>14} {'bytes written':>14} {'to the device':>14} "
          f"{'written/record':>15} {'written/output':>15} {'seconds':>8}")
    for count in args.counts:
        # Beside the project (a disk, as in production), not in a tmpfs /tmp.
        with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:
            m = measure(count, args.compression, Path(tmp))
        print(f"{m['records']:>9,} {m['parts']:>6,} {m['output']:>14,} {m['write_chars']:>14,} {m['write_bytes']:>14,} "
              f"{m['write_chars'] / m['records']:>15,.0f} {m['write_chars'] / m['output']:>15.3f} {m['seconds']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
