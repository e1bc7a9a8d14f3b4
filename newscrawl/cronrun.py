"""`newscrawl crawl`: several outlets from one cron line.

Each outlet runs as its own `scrapy crawl` child process (Scrapy runs one reactor per
process; a crash or a memory blow-up of one outlet cannot take the others down), with
its own lock, state, log file (<NEWSCRAWL_LOG_DIR>/<outlet>/<UTC timestamp>.log) and
exit code; at most `jobs` run at a time. The combined exit code is the most severe one
(newscrawl.exitcodes.combined).

Output is for cron mail and humans: one line per outlet as it finishes, then a summary.
On a terminal a one-line progress display is redrawn in place; otherwise (cron, pipes)
nothing but the plain lines, no colours, no carriage returns.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import exitcodes

SUMMARY_RE = re.compile(r"newscrawl-summary: outlet=\S+ (.*)")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class OutletRun:
    outlet: str
    code: int
    log: Path
    summary: str
    fault: str = ""  # the one-line fault (newscrawl.faults), for stderr


def last_summary(log: Path) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found = SUMMARY_RE.findall(text)
    return found[-1] if found else ""


def run_outlet(outlet: str, log: Path, settings: dict, env: dict) -> OutletRun:
    from newscrawl.faults import FAULT_PREFIX, storage_fault

    command = [sys.executable, "-m", "scrapy", "crawl", outlet, "-s", f"NEWSCRAWL_RUN_LOG={log}"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = open(log, "ab")
    except OSError as exc:  # no log, no crawl: the log folder is read-only or full
        fault = storage_fault("log folder", log.parent, exc)
        return OutletRun(outlet, fault.code, log, f"storage: {fault.message}", fault.line(outlet))
    # The child logs to stderr, into the outlet's log, tracebacks included. Its stdout
    # carries only a fault's one line (newscrawl.faults), which reaches us even when the
    # log cannot be written.
    with fh:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=fh, stdin=subprocess.DEVNULL, env=env)
    code = proc.returncode
    fault = next((line[len(FAULT_PREFIX):] for line in proc.stdout.decode("utf-8", "replace").splitlines()
                  if line.startswith(FAULT_PREFIX)), "")
    if code < 0:  # killed by a signal: the crawl did not finish
        code = exitcodes.FAILED
    summary = last_summary(log)
    if not summary:
        summary = "locked: another crawl of this outlet is running" if code == exitcodes.LOCKED else \
            f"{exitcodes.NAMES.get(code, code)}: no summary in the log"
    return OutletRun(outlet, code, log, summary, fault)


def crawl_outlets(outlets: list[str], *, log_dir: Path, jobs: int = 2, settings: dict | None = None,
                  outlets_dir: str | None = None, out=None, skipped: int = 0) -> int:
    """Crawls the outlets; `skipped` invalid records were left out (said in the summary,
    and counted as a CONFIG outcome in the combined exit code)."""
    out = out or sys.stdout
    tty = out.isatty()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    env = dict(os.environ)
    if outlets_dir:
        env["NEWSCRAWL_OUTLETS_DIR"] = str(Path(outlets_dir).resolve())
    # The child finds this package even when run from a checkout without installing it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    width = max(len(o) for o in outlets)
    results: list[OutletRun] = []
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_outlet, o, log_dir / o / f"{stamp}.log", settings or {}, env) for o in outlets]
        for future in as_completed(futures):
            run = future.result()
            with lock:
                results.append(run)
                line = f"{run.outlet:<{width}}  exit={run.code}  {run.summary}  log={run.log}"
                if tty:
                    out.write("\r\033[K")
                out.write(line + "\n")
                if run.fault:  # for cron mail: a person must act
                    out.flush()
                    print(run.fault, file=sys.stderr, flush=True)
                if tty and len(results) < len(outlets):
                    out.write(f"[{len(results)}/{len(outlets)} done]")
                out.flush()
    code = exitcodes.combined([r.code for r in results] + ([exitcodes.CONFIG] if skipped else []))
    counts: dict[str, int] = {}
    for r in results:
        name = exitcodes.NAMES.get(r.code, str(r.code))
        counts[name] = counts.get(name, 0) + 1
    parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    invalid = f"; {skipped} invalid record{'' if skipped == 1 else 's'} skipped" if skipped else ""
    out.write(f"newscrawl: {len(results)} outlets: {parts}{invalid}; exit={code}\n")
    out.flush()
    return code
