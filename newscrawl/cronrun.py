"""`newscrawl crawl`: several outlets from one cron line.

The outlets are crawled side by side in one `scrapy crawl` child process (or `jobs`
processes, each a shard of them), one Scrapy crawler per outlet in one reactor: each
outlet keeps its own downloader (so its own politeness budget, even where outlets share
a host), lock, state, page budget, log file (<NEWSCRAWL_LOG_DIR>/<outlet>/<UTC
timestamp>.log), run report and exit code, while the worker pool and the near-duplicate
index are held once for all (newscrawl/shared.py). Politeness makes each outlet wait
between its requests; in one process those waits overlap for every outlet, where one
process per outlet paid a start-up, a fork server and workers for each. An outlet that
fails, is locked or hits its budget ends alone; the others go on. The combined exit code
is the most severe one (newscrawl.exitcodes.combined).

Why one process by default: the crawl process itself spends a few milliseconds of CPU
per article (scheduling, parsing sitemaps, writing); the CPU-heavy stages run in the
worker pool, one worker per core. A second crawl process would add its own pool and
start-up for no gain on one machine; `--jobs N` (N processes) and `--shard K/N` (one of N
disjoint sets, for N machines or N cron lines) are there when one process is not enough.

Output is for cron mail and humans: one line per outlet as it finishes, then a summary.
On a terminal a one-line progress display is redrawn in place; otherwise (cron, pipes)
nothing but the plain lines, no colours, no carriage returns.

SIGTERM or SIGINT (`Fleet`): the signal is passed on to every crawl process running,
each of which stops every outlet gracefully (newscrawl/stop.py); no process not yet
started is started; a crawl still
running NEWSCRAWL_STOP_TIMEOUT seconds after the signal is killed with its pool (each
crawl runs in its own process group, which also keeps a terminal's Ctrl-C from reaching
it directly); a second signal kills them all at once. Every outlet still gets its line,
and the exit code is INTERRUPTED (9).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from newscrawl import clock, exitcodes
from newscrawl.retention import FLEET_LOGS, STAMP_FORMAT, prune_fleet_logs
from newscrawl.stop import DEFAULT_STOP_TIMEOUT, REPEAT_GRACE, STOP_SIGNALS, clear_group, kill_crawl, signal_name

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class OutletRun:
    outlet: str
    code: int
    log: Path | None  # None: not started
    summary: str
    fault: str = ""  # the one-line fault (newscrawl.faults), for stderr


class Fleet:
    """The crawls `newscrawl crawl` runs, and what SIGTERM / SIGINT does to them.

    The signal handler only queues the signal; a thread acts on it. Starting a crawl and
    signalling the running ones both hold `lock`, and a crawl leaves `running` before it
    is reaped, so a signal never misses a crawl that is starting and never reaches a
    process id that was reused. A repeat within REPEAT_GRACE seconds of the first signal
    counts as the same one: `timeout` sends its SIGTERM to the process and then to its
    process group, which it is part of."""

    def __init__(self, stop_timeout: float = DEFAULT_STOP_TIMEOUT, err=None):
        self.stop_timeout = stop_timeout
        self.err = err or sys.stderr
        self.lock = threading.Lock()
        self.running: dict[int, subprocess.Popen] = {}
        self.killed: dict[int, str] = {}  # pid -> why it was killed
        self.signum: int | None = None
        self.hard = False  # a second signal: everything was killed at once
        self._first_at = 0.0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._previous: dict[int, object] = {}
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self.signum is not None

    def install(self) -> "Fleet":
        self._thread = threading.Thread(target=self._act, name="newscrawl-signals", daemon=True)
        self._thread.start()
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, lambda signum, _frame: self._queue.put(signum))
        return self

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()

    def start(self, command: list[str], log_file, env: dict) -> subprocess.Popen | None:
        """Starts a crawl in its own process group; None once a stop signal came."""
        with self.lock:
            if self.stopping:
                return None
            # stdout: a pipe for a fault's one line (a small write: the pipe never fills)
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
            self.running[proc.pid] = proc
            return proc

    def wait(self, proc: subprocess.Popen) -> int:
        """Waits for a crawl; once stopping, also clears what is left of its process group."""
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped
        with self.lock:
            del self.running[proc.pid]
        code = proc.wait()
        if self.stopping:
            clear_group(proc.pid)
        return code

    def _say(self, text: str) -> None:
        try:
            self.err.write(f"newscrawl: {text}\n")
            self.err.flush()
        except (OSError, ValueError):
            pass

    def _act(self) -> None:
        while (signum := self._queue.get()) is not None:
            name = signal_name(signum)
            with self.lock:
                if not self.stopping:
                    self.signum = signum
                    self._first_at = time.monotonic()
                    for pid in self.running:
                        try:
                            os.kill(pid, signum)
                        except ProcessLookupError:
                            pass
                    count = len(self.running)
                    threading.Thread(target=self._deadline, name="newscrawl-stop-timeout", daemon=True).start()
                    first = True
                elif not self.hard and time.monotonic() - self._first_at >= REPEAT_GRACE:
                    self.hard = True
                    self._kill_running(f"killed on a second {name}")
                    first = False
                else:
                    continue
            if first:
                self._say(f"{name} received: stopping {count} crawl process{'' if count == 1 else 'es'} "
                          f"(up to {self.stop_timeout:g}s), starting no other; send it again to stop at once")
            else:
                self._say(f"{name} again: killing the running crawls")

    def _deadline(self) -> None:
        time.sleep(self.stop_timeout)
        with self.lock:
            if self.running and not self.hard:
                self._kill_running(f"killed after NEWSCRAWL_STOP_TIMEOUT ({self.stop_timeout:g}s)")

    def _kill_running(self, why: str) -> None:
        """With the lock held: kills every running crawl with its pool."""
        for pid in self.running:
            self.killed.setdefault(pid, why)
            kill_crawl(pid)


def run_shard(outlets: list[str], stamp: str, log_dir: Path, settings: dict, env: dict, fleet: Fleet,
              on_result, shard: int = 1) -> None:
    """Crawls `outlets` in one `scrapy crawl` child process (one crawler per outlet,
    newscrawl/commands/crawl.py) and calls `on_result(OutletRun)` for each outlet as it
    ends. The child's own log goes to <log_dir>/_fleet/<stamp>-<shard>.log; each outlet's
    lines to <log_dir>/<outlet>/<stamp>.log (newscrawl/runlog.py)."""
    from newscrawl.commands.crawl import FLEET_PREFIX
    from newscrawl.faults import FAULT_PREFIX, storage_fault

    runnable = []
    for outlet in outlets:
        log = log_dir / outlet / f"{stamp}.log"
        try:  # no log, no crawl: the log folder is read-only or full
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab"):
                pass
        except OSError as exc:
            fault = storage_fault("log folder", log.parent, exc)
            on_result(OutletRun(outlet, fault.code, log, f"storage: {fault.message}", fault.line(outlet)))
            continue
        runnable.append(outlet)
    if not runnable:
        return
    command = [sys.executable, "-m", "scrapy", "crawl", *runnable, "-s", "NEWSCRAWL_FLEET_REPORT=1",
               "-s", f"NEWSCRAWL_RUN_STAMP={stamp}", "-s", f"NEWSCRAWL_LOG_DIR={log_dir}"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    fleet_log = log_dir / FLEET_LOGS / f"{stamp}-{shard}.log"
    try:
        fleet_log.parent.mkdir(parents=True, exist_ok=True)
        fh = open(fleet_log, "ab")
    except OSError:  # each outlet still has its own log, which opened
        fh = open(os.devnull, "wb")
    # The child logs to stderr, tracebacks included. Its stdout carries one line per
    # outlet as it ends and a fault's one line (newscrawl.faults), which reach us even
    # when a log cannot be written.
    reported: set[str] = set()
    faults: dict[str, str] = {}

    def read(stream) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith(FAULT_PREFIX):
                fault_line = line[len(FAULT_PREFIX):]
                faults[fault_line.removeprefix("newscrawl: ").split(": ", 1)[0]] = fault_line
            elif line.startswith(FLEET_PREFIX):
                try:
                    done = json.loads(line[len(FLEET_PREFIX):])
                except ValueError:
                    continue
                name, code = done["outlet"], int(done["exit"])
                summary = done.get("summary") or ""
                if not summary:
                    summary = (f"interrupted: stopped by {signal_name(fleet.signum)} before it wrote a summary"
                               if code == exitcodes.INTERRUPTED else
                               "locked: another crawl of this outlet is running" if code == exitcodes.LOCKED else
                               f"{exitcodes.NAMES.get(code, code)}: no summary in the log")
                with lock:
                    reported.add(name)
                on_result(OutletRun(name, code, log_dir / name / f"{stamp}.log", summary, faults.get(name, "")))

    lock = threading.Lock()
    with fh:
        proc = fleet.start(command, fh, env)
        if proc is None:
            for outlet in runnable:
                on_result(not_started(outlet, fleet))
            return
        reader = threading.Thread(target=read, args=(proc.stdout,), name="newscrawl-shard-reader", daemon=True)
        reader.start()
        code = fleet.wait(proc)
        # The lines come before the process ends; the pipe itself may stay open a while
        # after a kill (the pool's resource tracker inherited it), so it is not waited for.
        reader.join(timeout=2)
    with lock:
        reported = set(reported)
    killed = fleet.killed.get(proc.pid)
    for outlet in runnable:
        if outlet in reported:
            continue
        # The process ended before this outlet did: killed, or crashed.
        if killed:
            summary = f"interrupted: {killed}"
        elif code < 0:
            summary = f"failed: the crawl process was killed by {signal_name(-code)}"
        else:
            summary = f"failed: the crawl process ended (exit {code}) before this outlet's end"
        outlet_code = exitcodes.INTERRUPTED if fleet.stopping else exitcodes.FAILED
        on_result(OutletRun(outlet, outlet_code, log_dir / outlet / f"{stamp}.log", summary, faults.get(outlet, "")))


def not_started(outlet: str, fleet: Fleet) -> OutletRun:
    return OutletRun(outlet, exitcodes.INTERRUPTED, None,
                     f"interrupted: not started ({signal_name(fleet.signum)} came first)")


def shard_of(outlet: str, shards: int) -> int:
    """The shard (1..shards) an outlet belongs to: a hash of its name, so that an outlet
    stays in its shard when others are added or removed."""
    return zlib.crc32(outlet.encode("utf-8")) % shards + 1


def crawl_env(outlets_dir: str | None = None) -> dict:
    """The environment of a `scrapy crawl` child: this one, with the outlet records of
    `outlets_dir` added, and this package importable."""
    env = dict(os.environ)
    if outlets_dir:
        env["NEWSCRAWL_OUTLETS_DIR"] = str(Path(outlets_dir).resolve())
    # The child finds this package even when run from a checkout without installing it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def crawl_outlets(outlets: list[str], *, log_dir: Path, jobs: int = 1, settings: dict | None = None,
                  outlets_dir: str | None = None, out=None, skipped: int = 0,
                  stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
    """Crawls the outlets in `jobs` processes (each a shard of the outlets, one crawler
    per outlet); `skipped` invalid records were left out (said in the summary, and counted
    as a CONFIG outcome in the combined exit code). On SIGTERM or SIGINT, see Fleet; the
    exit code is then INTERRUPTED."""
    out = out or sys.stdout
    tty = out.isatty()
    stamp = clock.now().strftime(STAMP_FORMAT)
    env = crawl_env(outlets_dir)
    width = max(len(o) for o in outlets)
    jobs = max(1, min(jobs, len(outlets)))
    shards = [[o for o in outlets if shard_of(o, jobs) == k] for k in range(1, jobs + 1)] if jobs > 1 else [outlets]
    results: list[OutletRun] = []
    done: queue.SimpleQueue = queue.SimpleQueue()
    fleet = Fleet(stop_timeout).install()
    try:
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            futures = [pool.submit(run_shard, shard, stamp, log_dir, settings or {}, env, fleet, done.put, k)
                       for k, shard in enumerate(shards, 1) if shard]
            while len(results) < len(outlets):
                try:
                    run = done.get(timeout=0.5)
                except queue.Empty:
                    failed = next((f for f in futures if f.done() and f.exception() is not None), None)
                    if failed is not None:
                        raise failed.exception()
                    continue
                results.append(run)
                line = f"{run.outlet:<{width}}  exit={run.code}  {run.summary}  log={run.log or '-'}"
                if tty:
                    out.write("\r\033[K")
                out.write(line + "\n")
                if run.fault:  # for cron mail: a person must act
                    out.flush()
                    print(run.fault, file=sys.stderr, flush=True)
                if tty and len(results) < len(outlets):
                    out.write(f"[{len(results)}/{len(outlets)} done]")
                out.flush()
    finally:
        fleet.uninstall()
    from newscrawl.project import project_settings

    prune_fleet_logs(project_settings(settings), log_dir)
    code = exitcodes.combined([r.code for r in results] + ([exitcodes.CONFIG] if skipped else []))
    if fleet.stopping:
        code = exitcodes.INTERRUPTED
    counts: dict[str, int] = {}
    for r in results:
        name = exitcodes.NAMES.get(r.code, str(r.code))
        counts[name] = counts.get(name, 0) + 1
    parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    invalid = f"; {skipped} invalid record{'' if skipped == 1 else 's'} skipped" if skipped else ""
    stopped = f"; stopped by {signal_name(fleet.signum)}" if fleet.stopping else ""
    out.write(f"newscrawl: {len(results)} outlets: {parts}{invalid}{stopped}; exit={code}\n")
    out.flush()
    return code
