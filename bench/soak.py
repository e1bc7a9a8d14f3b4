"""A year of hourly cron runs of a small fleet, on a shifted clock: does anything grow with
the number of past runs?

    python -m bench.soak                                  # 8,760 runs: a year
    python -m bench.soak --runs 300 --checkpoints 1,100,300
    python -m bench.soak --runs 2000 --real-every 250     # more real runs in between

A server process serves `--outlets` outlets (default 3) on 127.0.0.1, each on its own port
(newscrawl/sitegen.py: robots.txt, sitemaps, feeds, homepage, section pages). Before each
run, every outlet publishes one new article and revises one it published earlier (a new
paragraph, a later sitemap lastmod); its site lists its newest `--window` articles, as a
news site's front pages and sitemaps list the recent news. Each article's text is its
own (sentences of the bundled articles drawn at random), so no two are near-duplicates.

Run k happens at T0 + (k - 1) hours on the crawl's clock (newscrawl/clock.py: each run is
given NEWSCRAWL_CLOCK_OFFSET so that its "now" is one hour later than the last one's):
its log and run report names, fetched_at and so the output's day folders, part and
archive names, the ledger's and the dedupe stage's timestamps, the expiry of
near-duplicate signatures and retention all read that clock. The project's defaults
apply, retention included (NEWSCRAWL_KEEP_LOGS_DAYS = NEWSCRAWL_KEEP_REPORTS_DAYS = 90),
except what a local fleet needs: no download delay and no AutoThrottle (the sites are
on this machine), 127.0.0.1 allowed.

How the runs are made. A real `newscrawl crawl --all` of this fleet costs about 3 s of CPU
and 4 to 8 s of wall time on this project's shared 2-core machine (a fresh interpreter,
its imports, a worker pool started): 8,760 of them would take 10 to 20 hours. So:

- real runs: the checkpoint runs (`--checkpoints`, default 1, 100, 1000, 8760) and every
  `--real-every`-th run (default 500) are `newscrawl crawl --all` processes, exactly as
  cron starts them (a fresh interpreter, the crawl process, its worker pool). Their
  start-up, wall time and CPU are the figures the table prints.
- the runs in between are the same crawl in this one long-lived process: one Scrapy
  crawler per outlet, as `newscrawl crawl` builds them (newscrawl/commands/crawl.py),
  run by Scrapy's AsyncCrawlerRunner in one reactor, with the pipeline stages run inline
  (NEWSCRAWL_WORKERS=0) rather than in a pool started for each run. They leave the same
  history a cron run leaves: each outlet's log, the process's log under logs/_fleet/,
  run reports, ledger and dedupe rows, output parts, rejects, archive files, retention
  applied at their end. Their wall time and CPU are printed per block of runs, as a
  second view of the trend. One costs about 0.3 s of CPU.
- `--minutes M` stops the soak after M minutes (its last run a real one, measured as a
  checkpoint) when the machine is too busy for the whole year.

At each checkpoint the table gives: the disk used by logs, run reports, state, output
(articles and rejects, reports excluded) and the archive, with file counts; the state's
row counts by namespace (all outlets' files, then _global's); the run's start-up (from
the process's launch to the first request of the last outlet to start), wall time and
CPU of the process tree (sampled); and whether the output holds every article revision
the sites published, each once.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOUR = 3600.0
SAMPLE_SECONDS = 0.1
DEFAULT_CHECKPOINTS = (1, 100, 1000, 8760)
TEMPLATE_NAMES = ("newspaper", "regional")
SECTIONS = ("world", "business", "sport")
# Paths whose sitemap carries a lastmod: a revision made there is seen by the next run.
REVISABLE_PATHS = ("robots_sitemap", "sitemap_index", "sitemap_gz")
# The local fleet's settings; everything else is the project's default.
LOCAL_FLEET = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "NEWSCRAWL_ALLOWED_NETWORKS": "127.0.0.1/32"}


# --------------------------------------------------------------------------- the sites


def sentence_pool() -> list[str]:
    """Sentences of the bundled English articles, for article texts of their own."""
    from newscrawl.demo import bundled_articles, english_ids

    pool = []
    for record_id in english_ids():
        for sentence in re.split(r"(?<=[.!?])\s+", bundled_articles()[record_id]["body"].replace("\n", " ")):
            if 60 <= len(sentence) <= 240 and sentence[0].isupper():
                pool.append(sentence.strip())
    return sorted(set(pool))


@dataclass
class Story:
    key: str
    title: str
    body: str
    via: str
    section: str
    published: datetime
    modified: datetime
    revision: int = 1


@dataclass
class SoakOutlet:
    index: int
    stories: list[Story] = field(default_factory=list)
    published: int = 0  # articles published so far
    revisions: int = 0  # revisions published so far (each a record the output must hold)

    @property
    def name(self) -> str:
        return f"soak-outlet-{self.index}"

    def publish(self, when: datetime, pool: list[str], window: int) -> None:
        """One new article, and one revision of an earlier one still on the site. The first
        time, the site is given the `window` articles it had published before, an hour
        apart."""
        first = not self.stories
        if first:
            for hours in range(window - 1, 0, -1):
                self._add(when - timedelta(hours=hours), pool)
        n = self._add(when, pool)
        del self.stories[:-window]
        revisable = [s for s in self.stories[:-1] if s.via in REVISABLE_PATHS]
        if revisable and not first:  # a revision the crawl has seen the article before
            story = revisable[n % len(revisable)]
            story.revision += 1
            story.body += f"\n\nUpdate {story.revision}: {random.Random(story.key + str(n)).choice(pool)}"
            story.modified = when - timedelta(minutes=2)
            self.revisions += 1

    def _add(self, when: datetime, pool: list[str]) -> int:
        from newscrawl.sitegen import DISCOVERY_PATHS

        n = self.published
        rng = random.Random(f"{self.name}:{n}")
        paragraphs = ["\n".join(rng.sample(pool, 3)).replace("\n", " ") for _ in range(5)]
        words = " ".join(rng.sample(pool, 1)[0].split()[:6]).rstrip(".,;:")
        self.stories.append(Story(key=f"{self.name}-{n}", title=f"No. {self.index}-{n}: {words}",
                                  body="\n\n".join(paragraphs), via=DISCOVERY_PATHS[n % len(DISCOVERY_PATHS)],
                                  section=SECTIONS[n % len(SECTIONS)], published=when - timedelta(minutes=5),
                                  modified=when - timedelta(minutes=5)))
        self.published += 1
        self.revisions += 1
        return n

    def spec(self):
        from newscrawl.sitegen import ArticleSpec, OutletSpec

        articles = tuple(ArticleSpec(key=s.key, title=s.title, body=s.body, via=s.via, section=s.section,
                                     author="Staff Reporter", tags=("politics", "economy"),
                                     published=s.published.replace(tzinfo=None),
                                     modified=s.modified.replace(tzinfo=None))
                         for s in reversed(self.stories))  # newest first, as sites list them
        return OutletSpec(name=self.name, display_name=f"Soak Outlet {self.index}",
                          template=TEMPLATE_NAMES[self.index % len(TEMPLATE_NAMES)], articles=articles,
                          seed=2000 + self.index, sections=SECTIONS,
                          newest=self.stories[-1].published.replace(tzinfo=None))


def serve(conn, outlets: int, window: int) -> None:
    """The fleet's sites, in their own process; answers the driver's commands on `conn`."""
    from newscrawl.demo import outlet_for, outlet_toml
    from newscrawl.sitegen import build_site
    from newscrawl.webserver import LocalSite

    pool = sentence_pool()
    fleet = [SoakOutlet(i) for i in range(outlets)]
    sites = [LocalSite().start() for _ in fleet]
    try:
        while True:
            command, arg = conn.recv()
            if command == "publish":  # arg: the run's time on the crawl's clock
                records = {}
                for outlet, site in zip(fleet, sites):
                    outlet.publish(arg, pool, window)
                    spec = outlet.spec()
                    build = build_site(spec, site.url)
                    site.routes = dict(build.routes)  # replaced whole: a request sees one version
                    site.clear_requests()
                    records[outlet.name] = outlet_toml(outlet_for(spec, site, build))
                conn.send(records)
            elif command == "first requests":  # monotonic time of each site's first request
                conn.send({o.name: (min(s.request_times) if s.request_times else None) for o, s in zip(fleet, sites)})
            elif command == "published":
                conn.send({o.name: (o.published, o.revisions) for o in fleet})
            else:
                conn.send(True)
                return
    finally:
        for site in sites:
            site.stop()


class Sites:
    def __init__(self, outlets: int, window: int):
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(target=serve, args=(child, outlets, window),
                                                                    daemon=True)
        self.process.start()

    def ask(self, command: str, arg=None):
        self.conn.send((command, arg))
        return self.conn.recv()

    def stop(self) -> None:
        try:
            self.ask("stop")
        finally:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()


# --------------------------------------------------------------------------- the runs


@dataclass
class RunResult:
    run: int
    kind: str  # "real" or "in-process"
    wall: float
    cpu: float
    startup: float | None
    codes: list[int]


class Soak:
    def __init__(self, tmp: Path, sites: Sites, start: datetime):
        self.tmp = tmp
        self.sites = sites
        self.start = start
        self.outlets_dir = tmp / "outlets"
        self.outlets_dir.mkdir(parents=True, exist_ok=True)
        self.dirs = {"NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
                     "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp / "archive"}
        self.settings = {**LOCAL_FLEET, **{k: str(v) for k, v in self.dirs.items()}}
        self.names: list[str] = []
        self.logging_configured = False

    def prepare(self, run: int) -> float:
        """Publishes the sites' news for run `run`; returns the clock offset that puts the
        run at T0 + (run - 1) hours."""
        when = self.start + timedelta(hours=run - 1)
        records = self.sites.ask("publish", when)
        if not self.names:  # the ports never change: the records are written once
            for name, text in records.items():
                (self.outlets_dir / f"{name}.toml").write_text(text, encoding="utf-8")
            self.names = sorted(records)
        return when.timestamp() - time.time()

    def startup(self, launched: float) -> float | None:
        firsts = self.sites.ask("first requests")
        if any(t is None for t in firsts.values()):
            return None
        return max(firsts.values()) - launched

    def real_run(self, run: int) -> RunResult:
        """`newscrawl crawl --all`, as cron starts it."""
        from bench.throughput import TreeMonitor

        offset = self.prepare(run)
        command = [sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--outlets-dir", str(self.outlets_dir)]
        for key, value in self.settings.items():
            command += ["-s", f"{key}={value}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSCRAWL_CLOCK_OFFSET": f"{offset:.3f}"}
        with open(self.tmp / "cron.log", "ab") as out:
            launched = time.monotonic()
            proc = subprocess.Popen(command, cwd=self.tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
            monitor = TreeMonitor(proc.pid)
            while proc.poll() is None:
                monitor.sample()
                time.sleep(SAMPLE_SECONDS)
            wall = time.monotonic() - launched
        return RunResult(run, "real", wall, monitor.cpu_seconds, self.startup(launched), [proc.returncode])

    async def in_process_run(self, run: int) -> RunResult:
        """The same crawl in this process: one crawler per outlet in this reactor, the
        stages inline."""
        from scrapy.crawler import AsyncCrawlerRunner
        from scrapy.utils.log import configure_logging, get_scrapy_root_handler, install_scrapy_root_handler

        from newscrawl import clock
        from newscrawl.commands.crawl import run_log_path
        from newscrawl.project import project_settings
        from newscrawl.retention import STAMP_FORMAT, prune_fleet_logs
        from newscrawl.shared import SHARED

        offset = self.prepare(run)
        os.environ[clock.OFFSET_VARIABLE] = f"{offset:.3f}"
        os.environ["NEWSCRAWL_OUTLETS_DIR"] = str(self.outlets_dir)
        launched, cpu = time.monotonic(), time.process_time()
        stamp = clock.now().strftime(STAMP_FORMAT)
        log_dir = self.dirs["NEWSCRAWL_LOG_DIR"]
        fleet_log = log_dir / "_fleet" / f"{stamp}-1.log"
        fleet_log.parent.mkdir(parents=True, exist_ok=True)
        settings = project_settings({**self.settings, "NEWSCRAWL_WORKERS": "0", "NEWSCRAWL_RUN_STAMP": stamp,
                                     "LOG_FILE": str(fleet_log)})
        # The process's log goes to the run's _fleet log, as a crawl process's stderr does.
        # Logging is configured once (each call starts one more Twisted log observer); a
        # run only swaps the root handler, which each crawler builds again from its settings.
        if not self.logging_configured:
            configure_logging(settings)
            self.logging_configured = True
        install_scrapy_root_handler(settings)
        runner = AsyncCrawlerRunner(settings)
        crawlers = []
        for name in self.names:
            crawler = runner.create_crawler(name)
            crawler.settings.set("NEWSCRAWL_RUN_LOG", str(run_log_path(settings, name)), priority="cmdline")
            crawlers.append(crawler)
        for crawler in crawlers:
            runner.crawl(crawler)
        try:
            await runner.join()
        finally:
            SHARED.close_all()
            handler = get_scrapy_root_handler()  # the last crawler's: closed, and no line goes there after the run
            logging.root.removeHandler(handler)
            handler.close()
        prune_fleet_logs(settings, log_dir)
        codes = [int(c.stats.get_value("newscrawl/exit_code", 1)) for c in crawlers]
        wall, cpu = time.monotonic() - launched, time.process_time() - cpu
        return RunResult(run, "in-process", wall, cpu, self.startup(launched), codes)

    # ------------------------------------------------------------------- what is left

    def measure(self) -> dict:
        """Disk and files of each kind of history, the state's rows, and whether the output
        holds every revision published, once."""
        from pipelines.parts import day_parts, read_records

        def usage(paths) -> tuple[int, int]:
            files = [p for p in paths if p.is_file()]
            return sum(p.stat().st_blocks * 512 for p in files), len(files)

        output, logs = self.dirs["NEWSCRAWL_OUTPUT_DIR"], self.dirs["NEWSCRAWL_LOG_DIR"]
        runs = [p for p in output.glob("*/runs/*")]
        out_files = [p for p in output.rglob("*") if p.parent.name != "runs"]
        disk = {"logs": usage(logs.rglob("*")), "reports": usage(runs), "state": usage(self.dirs["NEWSCRAWL_STATE_DIR"].rglob("*")),
                "output": usage(out_files), "archive": usage(self.dirs["NEWSCRAWL_ARCHIVE_DIR"].rglob("*"))}
        rows: dict[str, int] = {}
        for path in sorted(self.dirs["NEWSCRAWL_STATE_DIR"].glob("*.sqlite")):
            scope = "_global" if path.stem == "_global" else "outlets"
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                for ns, count in db.execute("SELECT ns, COUNT(*) FROM kv GROUP BY ns"):
                    ns = ns.split(":", 1)[0]  # boilerplate:<outlet>: one figure for the fleet
                    rows[f"{scope}.{ns}"] = rows.get(f"{scope}.{ns}", 0) + count
            finally:
                db.close()
        published = self.sites.ask("published")
        expected = sum(revisions for _, revisions in published.values())
        seen, records = set(), 0
        for name in self.names:
            for part in day_parts(output / name):
                for record in read_records(part):
                    records += 1
                    seen.add((record["url"], record.get("revision") or 1))
        return {"disk": disk, "rows": dict(sorted(rows.items())), "records": records, "distinct": len(seen),
                "expected": expected}


# --------------------------------------------------------------------------- the report


def mb(n: int) -> str:
    return f"{n / 2**20:.1f}"


def checkpoint_line(result: RunResult, measured: dict) -> str:
    disk = measured["disk"]
    parts = [f"run={result.run}", f"kind={result.kind}", f"exit={','.join(map(str, result.codes))}",
             f"startup_s={result.startup:.2f}" if result.startup is not None else "startup_s=-",
             f"wall_s={result.wall:.2f}", f"cpu_s={result.cpu:.2f}"]
    parts += [f"{kind}_mb={mb(size)}/{files}f" for kind, (size, files) in disk.items()]
    parts += [f"rows.{ns}={count}" for ns, count in measured["rows"].items()]
    parts.append(f"output_records={measured['records']} distinct={measured['distinct']} "
                 f"published={measured['expected']}")
    return "  ".join(parts)


def block_line(block: list[RunResult], failures: int, elapsed: float) -> str:
    startups = sorted(r.startup for r in block if r.startup is not None)
    startup = f"{startups[len(startups) // 2]:.3f}" if startups else "-"
    return (f"runs {block[0].run}-{block[-1].run} in process: wall_s mean {sum(r.wall for r in block) / len(block):.3f}"
            f"  cpu_s mean {sum(r.cpu for r in block) / len(block):.3f}  startup_s median {startup}"
            f"  failed outlet runs so far {failures}  elapsed {elapsed:.0f}s")


def table(rows: list[tuple[RunResult, dict]]) -> str:
    kinds = ("logs", "reports", "state", "output", "archive")
    namespaces = sorted({ns for _, m in rows for ns in m["rows"]})
    header = ["run", "startup s", "wall s", "cpu s", *(f"{k} MB/files" for k in kinds), *namespaces,
              "records/published"]
    lines = [header]
    for result, measured in rows:
        lines.append([str(result.run), f"{result.startup:.2f}" if result.startup is not None else "-",
                      f"{result.wall:.2f}", f"{result.cpu:.2f}",
                      *(f"{mb(measured['disk'][k][0])}/{measured['disk'][k][1]}" for k in kinds),
                      *(str(measured["rows"].get(ns, 0)) for ns in namespaces),
                      f"{measured['records']}/{measured['expected']}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in lines)


async def soak(args) -> int:
    from newscrawl.project import project_settings

    checkpoints = sorted({c for c in args.checkpoints if 1 <= c <= args.runs} | {args.runs})
    real = set(checkpoints) | {k for k in range(args.real_every, args.runs + 1, args.real_every)} if args.real_every else set(checkpoints)
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-", dir=args.dir))
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    settings = project_settings()
    print(f"soak: {args.runs} hourly runs of {args.outlets} outlets (one new article and one revision each per run, "
          f"{args.window} articles listed), from {start:%Y-%m-%d %H:%M} UTC on the crawl's clock; "
          f"NEWSCRAWL_KEEP_LOGS_DAYS={settings.get('NEWSCRAWL_KEEP_LOGS_DAYS')} "
          f"NEWSCRAWL_KEEP_REPORTS_DAYS={settings.get('NEWSCRAWL_KEEP_REPORTS_DAYS')}; "
          f"real `newscrawl crawl --all` processes at runs {', '.join(map(str, sorted(real)))}; the others in "
          f"this process (AsyncCrawlerRunner, stages inline); {os.cpu_count()} cores; files in {tmp}", flush=True)
    sites = Sites(args.outlets, args.window)
    soaker = Soak(tmp, sites, start)
    rows: list[tuple[RunResult, dict]] = []
    block: list[RunResult] = []
    failures = 0
    began = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            out_of_time = bool(args.minutes) and time.monotonic() - began > args.minutes * 60
            last = run == args.runs or out_of_time
            result = soaker.real_run(run) if run in real or last else await soaker.in_process_run(run)
            failures += sum(1 for code in result.codes if code != 0)
            if result.kind == "in-process":
                block.append(result)
            if len(block) == args.block:
                print(block_line(block, failures, time.monotonic() - began), flush=True)
                block = []
            if result.kind == "real":
                measured = soaker.measure()
                if run in checkpoints or last:
                    rows.append((result, measured))
                print(checkpoint_line(result, measured), flush=True)
            if last:
                if block:
                    print(block_line(block, failures, time.monotonic() - began), flush=True)
                if run < args.runs:
                    print(f"soak: stopped after run {run} of {args.runs}: --minutes {args.minutes:g} reached", flush=True)
                break
    finally:
        sites.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + table(rows), flush=True)
    if args.json:
        print(json.dumps([{"run": r.run, "kind": r.kind, "startup_s": r.startup, "wall_s": r.wall, "cpu_s": r.cpu,
                           **m} for r, m in rows]))
    complete = all(m["records"] == m["distinct"] == m["expected"] for _, m in rows)
    print(f"failed outlet runs: {failures}; every published revision in the output once at every checkpoint: "
          f"{'yes' if complete else 'no'}; {time.monotonic() - began:.0f} s", flush=True)
    return 0 if complete and not failures else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8760, help="hourly runs (default 8,760: a year)")
    parser.add_argument("--checkpoints", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        default=list(DEFAULT_CHECKPOINTS), help="runs measured in the table (comma-separated)")
    parser.add_argument("--real-every", type=int, default=500,
                        help="also a real `newscrawl crawl` every N runs (0: at the checkpoints only)")
    parser.add_argument("--outlets", type=int, default=3)
    parser.add_argument("--window", type=int, default=12, help="articles each site lists")
    parser.add_argument("--block", type=int, default=100, help="in-process runs per progress line")
    parser.add_argument("--minutes", type=float, default=0,
                        help="stop after this many minutes, the last run a real one measured like a checkpoint "
                             "(0: no limit)")
    parser.add_argument("--dir", help="where the soak's files go (default: the system's temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the soak's files")
    parser.add_argument("--json", action="store_true", help="also print the checkpoints as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")

    from scrapy.utils.defer import deferred_f_from_coro_f
    from scrapy.utils.reactor import install_reactor
    from twisted.internet import task

    from newscrawl.project import project_settings

    install_reactor(project_settings().get("TWISTED_REACTOR"))

    async def go(_reactor):
        code = await soak(args)
        if code:
            raise SystemExit(code)

    task.react(deferred_f_from_coro_f(go))  # exits the process with soak()'s code
    return 0


if __name__ == "__main__":
    sys.exit(main())
