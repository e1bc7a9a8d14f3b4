"""Real crawls for the tests: `scrapy crawl` in a child process, as a user runs it,
against fixture outlets served on 127.0.0.1 by this process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from newscrawl.demo import outlet_toml
from newscrawl.outlets import Outlet
from pipelines.parts import REJECTS, read_parts

ROOT = Path(__file__).resolve().parents[1]

# Fast and deterministic: no politeness delays against our own local server.
FAST = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "LOG_LEVEL": "INFO",
    # Fixture sites live on 127.0.0.1; every other internal address stays refused.
    "NEWSCRAWL_ALLOWED_NETWORKS": "127.0.0.1/32",
    # The CPU-heavy stages in a pool of two worker processes, whatever the machine.
    "NEWSCRAWL_WORKERS": "2",
}


@dataclass
class CrawlRun:
    returncode: int
    log: str
    output_dir: Path
    state_dir: Path
    peak_rss_mb: float = 0.0

    def records(self, outlet: str) -> list[dict]:
        return list(read_parts(self.output_dir / outlet))

    def rejects(self, outlet: str) -> list[dict]:
        return list(read_parts(self.output_dir / outlet / REJECTS))

    def stats(self) -> dict[str, str]:
        """The stats dump at the end of the log, each value as the log prints it. A log
        without a dump is an error: the crawl did not end as Scrapy ends one."""
        lines = self.log.splitlines()
        starts = [i for i, line in enumerate(lines) if "Dumping Scrapy stats:" in line]
        if not starts:
            raise AssertionError("no stats dump in the crawl's log:\n" + self.log[-3000:])
        stats = {}
        for line in lines[starts[-1] + 1:]:
            match = _STAT_LINE.match(line)
            if match:
                stats[match["key"]] = match["value"]
            if line.rstrip().endswith("}") and not line.startswith(" " * 2):
                break
        if not stats:
            raise AssertionError("an empty stats dump in the crawl's log:\n" + self.log[-3000:])
        return stats

    def stat(self, key: str) -> int:
        """A counter from the stats dump: 0 when the dump has no such key (Scrapy counts
        from the first event); an error when the log has no dump at all."""
        value = self.stats().get(key)
        return 0 if value is None else int(value)


_STAT_LINE = re.compile(r"^[{ ]'(?P<key>[^']+)': (?P<value>.*?),?}?\s*$")


def write_outlets(directory: Path, outlets: list[Outlet]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for outlet in outlets:
        (directory / f"{outlet.name}.toml").write_text(outlet_toml(outlet), encoding="utf-8")
    return directory


def scrapy_env(outlets_dir: Path | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if outlets_dir:
        env["NEWSCRAWL_OUTLETS_DIR"] = str(outlets_dir)
    return env


def run_scrapy(args: list[str], tmp: Path, outlets_dir: Path | None = None, settings: dict | None = None,
               timeout: float = 180) -> CrawlRun:
    output_dir, state_dir = tmp / "output", tmp / "state"
    merged = {**FAST, "NEWSCRAWL_OUTPUT_DIR": str(output_dir), "NEWSCRAWL_STATE_DIR": str(state_dir),
              "NEWSCRAWL_ARCHIVE_DIR": str(tmp / "archive"), **(settings or {})}
    command = [sys.executable, "-m", "scrapy", *args]
    for key, value in merged.items():
        command += ["-s", f"{key}={value}"]
    returncode, log, peak_rss_mb = run_child(command, scrapy_env(outlets_dir), timeout)
    return CrawlRun(returncode, log, output_dir, state_dir, peak_rss_mb)


# Runs a command and writes its peak RSS (KB, from wait4) to a file. The child is
# forked from this small process, not from the test process: a child forked from a large
# process counts that process's resident pages in its own peak until it execs.
_MEASURED = ("import os, subprocess, sys\n"
             "proc = subprocess.Popen(sys.argv[2:])\n"
             "_, status, usage = os.wait4(proc.pid, 0)\n"
             "proc.returncode = os.waitstatus_to_exitcode(status)\n"
             "with open(sys.argv[1], 'w') as peak:\n"
             "    peak.write(str(usage.ru_maxrss))\n"
             "sys.exit(proc.returncode)\n")


def run_child(command: list[str], env: dict, timeout: float) -> tuple[int, str, float]:
    """Runs a child to the end: (exit code, its output, its own peak RSS in MB, its pool
    workers' included). The peak comes from wait4 on that child alone (RUSAGE_CHILDREN
    would mix in every earlier child)."""
    import signal
    import tempfile
    import threading

    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as peak:
        proc = subprocess.Popen([sys.executable, "-c", _MEASURED, peak.name, *command], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        out.seek(0)
        log = out.read().decode("utf-8", "replace")
        peak_kb = float(peak.read() or 0)
    return proc.returncode, log, peak_kb / 1024


def crawl(outlet: Outlet, tmp: Path, settings: dict | None = None, extra_args: list[str] = ()) -> CrawlRun:
    outlets_dir = write_outlets(tmp / "outlets", [outlet])
    run = run_scrapy(["crawl", outlet.name, *extra_args], tmp, outlets_dir, settings)
    assert run.returncode == 0, run.log[-3000:]
    return run


def clean_saved(site, paths: list[str], outlet: Outlet, run: CrawlRun, tmp: Path) -> tuple[list[dict], str]:
    """`newscrawl clean --outlet` in a child process on the pages of `site` at `paths`, saved
    as served (their bytes, without the headers), with the crawl's state (its learned
    boilerplate): the records it prints, in order, and its stderr."""
    files = []
    for path in paths:
        saved = tmp / f"{path.rsplit('/', 1)[1]}.html"
        saved.write_bytes(site.routes[path].body)
        files.append(str(saved))
    outlets_dir = write_outlets(tmp / "clean-outlets", [outlet])
    proc = subprocess.run(
        [sys.executable, "-m", "newscrawl.cli", "clean", "--outlet", outlet.name, "-s", "NEWSCRAWL_WORKERS=0",
         "-s", f"NEWSCRAWL_STATE_DIR={run.state_dir}", *files],
        cwd=ROOT, env=scrapy_env(outlets_dir), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
