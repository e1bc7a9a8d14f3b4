"""An hourly cron cycle over a fleet of outlets, with the project's default politeness.

    python -m bench.fleet                      # N = 10, 40 and 200
    python -m bench.fleet --outlets 40         # one size
    python -m bench.fleet --outlets 40 --jobs 2

A server process serves N outlets on 127.0.0.1, each on its own port (its own politeness
budget, as N real sites would have): robots.txt, sitemaps (news, index, gzipped), RSS
and Atom feeds, a homepage and section pages, and 12 articles with aeb-dev bodies and
the usual cruft (newscrawl/sitegen.py), each article made unique (title numbered, a token
in every paragraph) so that no outlet's article is another's duplicate. Cycle 1 crawls
the fleet with `newscrawl crawl --all`, as cron would; then each outlet publishes 4 new
articles, and cycle 2 crawls it again with the same state.

Per cycle: wall seconds; the politeness bound (the most requests one outlet served, times
DOWNLOAD_DELAY: no polite crawler can be faster); the CPU bound (CPU seconds of the
crawl's process tree / cores); wall / the larger bound; CPU seconds; peak RSS of the
crawl's process tree; requests per outlet; articles of cycle 1 fetched again in cycle 2;
and whether every article of every outlet is in the output exactly once. The server's
own CPU is shown apart (it shares this machine's cores with the crawl).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import psutil

from bench.throughput import TreeMonitor

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.5
FIRST, NEW = 12, 4  # articles per outlet in cycle 1; new ones before cycle 2
TEMPLATE_NAMES = ("newspaper", "regional")


def outlet_spec(index: int, articles: int):
    """Outlet number `index` with its first `articles` articles (each unique)."""
    from newscrawl import sitegen
    from newscrawl.demo import article, english_ids

    ids = english_ids()
    sections = ("world", "business", "sport")
    specs = []
    for n in range(articles):
        base = article(ids[(index * 7 + n) % len(ids)], sitegen.DISCOVERY_PATHS[n % len(sitegen.DISCOVERY_PATHS)],
                       sections[n % len(sections)], n)
        paragraphs = base.body.split("\n\n")
        body = "\n\n".join(f"{p} f{index:04d}x{n:02d}x{j}" for j, p in enumerate(paragraphs))
        specs.append(replace(base, key=f"o{index}-a{n}", title=f"{base.title} (No. {index}-{n})", body=body))
    template = TEMPLATE_NAMES[index % len(TEMPLATE_NAMES)]
    return sitegen.OutletSpec(name=f"bench-outlet-{index:04d}", display_name=f"Bench Outlet {index}",
                              template=template, articles=tuple(specs), seed=1000 + index, sections=sections)


def serve(conn, outlets: int) -> None:
    """The fleet's sites, in their own process; answers commands on `conn`."""
    from newscrawl.demo import outlet_for, outlet_toml, serve as serve_spec
    from newscrawl.webserver import LocalSite

    sites = [LocalSite().start() for _ in range(outlets)]
    served = [serve_spec(outlet_spec(i, FIRST), site) for i, site in enumerate(sites)]
    conn.send({s.spec.name: outlet_toml(outlet_for(s.spec, s.site, s.build)) for s in served})
    while True:
        command = conn.recv()
        if command == "publish":  # new articles; the old ones' pages, dates and URLs unchanged
            for i, s in enumerate(served):
                site = s.site
                served[i] = serve_spec(outlet_spec(i, FIRST + NEW), site)
            conn.send(True)
        elif command == "requests":
            conn.send({s.spec.name: s.site.requested_paths() for s in served})
            for s in served:
                s.site.clear_requests()
        elif command == "articles":  # paths, as the request log has them
            conn.send({s.spec.name: sorted("/" + u.split("/", 3)[3] for u in s.build.all_articles)
                       for s in served})
        elif command == "cpu":
            times = psutil.Process().cpu_times()
            conn.send(times.user + times.system)
        else:
            for site in sites:
                site.stop()
            conn.send(True)
            return


def read_output(output: Path, outlet: str) -> list[dict]:
    from newscrawl.ledger import output_files
    from pipelines.parts import read_records

    return [r for path in output_files(output, outlet) for r in read_records(path)]


def crawl(tmp: Path, outlets_dir: Path, jobs: int) -> dict:
    settings = {"NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
                "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ALLOWED_NETWORKS": "127.0.0.1/32"}
    command = [sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--outlets-dir", str(outlets_dir),
               "--jobs", str(jobs)]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp / "cycle.out", "ab") as out:
        start = time.monotonic()
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
        monitor = TreeMonitor(proc.pid)
        while proc.poll() is None:
            monitor.sample()
            time.sleep(SAMPLE_SECONDS)
        wall = time.monotonic() - start
    return {"returncode": proc.returncode, "wall": wall, "cpu": monitor.cpu_seconds, "peak_rss": monitor.peak_rss}


def cycle(name: str, tmp: Path, outlets_dir: Path, conn, jobs: int, delay: float, old: dict[str, set[str]]) -> dict:
    conn.send("cpu")
    server_cpu = conn.recv()
    result = crawl(tmp, outlets_dir, jobs)
    conn.send("cpu")
    server_cpu = conn.recv() - server_cpu
    conn.send("requests")
    requests = conn.recv()
    conn.send("articles")
    articles = conn.recv()
    per_outlet = {o: len(paths) for o, paths in requests.items()}
    refetched = sum(1 for o, paths in requests.items() for p in paths if p in old.get(o, ()))
    once = True
    for outlet, paths in articles.items():
        urls = Counter(r["url"] for r in read_output(tmp / "output", outlet))
        expected = {u for u in urls if any(u.endswith(p) for p in paths)}
        if len(expected) != len(paths) or any(urls[u] != 1 for u in urls):
            once = False
    cores = os.cpu_count() or 1
    politeness = max(per_outlet.values()) * delay
    cpu_bound = result["cpu"] / cores
    counts = sorted(per_outlet.values())
    row = {
        "cycle": name, "outlets": len(requests), "exit": result["returncode"], "wall_s": round(result["wall"], 1),
        "politeness_bound_s": round(politeness, 1), "cpu_bound_s": round(cpu_bound, 1),
        "wall_over_bound": round(result["wall"] / max(politeness, cpu_bound), 2),
        "cpu_s": round(result["cpu"], 1), "peak_rss_mb": round(result["peak_rss"] / 2**20),
        "requests_per_outlet": f"min {counts[0]} median {counts[len(counts) // 2]} max {counts[-1]}",
        "old_articles_fetched_again": refetched, "every_article_once": once,
        "server_cpu_s": round(server_cpu, 1),
    }
    print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return row


def run(outlets: int, jobs: int) -> list[dict]:
    from newscrawl.project import project_settings

    delay = project_settings().getfloat("DOWNLOAD_DELAY")
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child, outlets), daemon=True)
    server.start()
    try:
        records = parent.recv()
        outlets_dir = tmp / "outlets"
        outlets_dir.mkdir()
        for name, text in records.items():
            (outlets_dir / f"{name}.toml").write_text(text, encoding="utf-8")
        print(f"fleet of {outlets} outlets, {FIRST} articles each, then {NEW} new each; "
              f"DOWNLOAD_DELAY={delay}s, --jobs {jobs}, {os.cpu_count()} cores", flush=True)
        rows = [cycle("1", tmp, outlets_dir, parent, jobs, delay, {})]
        parent.send("articles")
        old = {o: set(paths) for o, paths in parent.recv().items()}
        parent.send("publish")
        parent.recv()
        rows.append(cycle("2", tmp, outlets_dir, parent, jobs, delay, old))
        parent.send("stop")
        parent.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outlets", type=int, action="append", help="fleet size (repeatable; default 10, 40, 200)")
    parser.add_argument("--jobs", type=int, default=1, help="crawl processes (newscrawl crawl --jobs)")
    parser.add_argument("--json", action="store_true", help="also print every row as one JSON line at the end")
    args = parser.parse_args(argv)
    rows = []
    for n in args.outlets or [10, 40, 200]:
        rows += run(n, args.jobs)
    if args.json:
        print(json.dumps(rows))
    return 0 if all(r["exit"] == 0 and r["every_article_once"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
