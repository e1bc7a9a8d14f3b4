"""CPU of the crawl's own process (the reactor), without its worker pool.

    python -m bench.crawl_process                   # 1,000 pages, 3 runs, the smallest figure
    python -m bench.crawl_process --pages 1000 --runs 3 --keep out/   # keep each run's records

The pool's workers run on the other cores; the reactor process is the one that must keep
up with the downloads, so its CPU per page is the figure that bounds the crawl's rate.
Same site and settings as bench/throughput.py; CPU sampled with psutil for the Scrapy
process alone (its children are not counted), the last sample before it exits, and split
between the reactor thread and the others (the pool's hand-off threads pickle the calls
and unpickle the results).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.throughput import ROOT, SAMPLE_SECONDS, count_lines, our_crawl, start_site


def crawl_process_cpu(origin: str, tmp: Path, name: str, extra: list[str] = ()) -> dict:
    out = tmp / name
    out.mkdir()
    command, env = our_crawl(origin, out, tmp / (name + "-state"))
    command += [arg for setting in extra for arg in ("-s", setting)]
    with open(tmp / f"{name}.log", "w") as log:
        start = time.monotonic()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        watched = psutil.Process(proc.pid)
        cpu = 0.0
        threads: dict[int, float] = {}
        while proc.poll() is None:
            try:
                times = watched.cpu_times()
                cpu = times.user + times.system
                for thread in watched.threads():
                    threads[thread.id] = thread.user_time + thread.system_time
            except psutil.Error:
                pass
            time.sleep(SAMPLE_SECONDS)
        wall = time.monotonic() - start
    main_thread = threads.pop(proc.pid, 0.0)
    return {"returncode": proc.returncode, "cpu": cpu, "main_thread": main_thread, "other_threads": sum(threads.values()), "wall": wall, "written": count_lines(out), "out": out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a Scrapy setting")
    parser.add_argument("--keep", type=Path, help="copy each run's output folder here")
    args = parser.parse_args(argv)
    server, origin = start_site(args.pages)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(args.runs):
                r = crawl_process_cpu(origin, Path(tmp), f"run{run}", args.set)
                per_page = 1000 * r["cpu"] / max(r["written"], 1)
                rows.append(per_page)
                print(f"run {run}: exit {r['returncode']}, {r['written']} written, wall {r['wall']:.1f} s, "
                      f"crawl process CPU {r['cpu']:.1f} s = {per_page:.2f} ms/page (reactor thread {r['main_thread']:.1f} s, "
                  f"other threads {r['other_threads']:.1f} s)", flush=True)
                if args.keep:
                    shutil.copytree(r["out"], args.keep / f"run{run}", dirs_exist_ok=True)
    finally:
        server.terminate()
    print(f"crawl process CPU per page, min of {len(rows)}: {min(rows):.2f} ms (load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
