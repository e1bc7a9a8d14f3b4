"""`newscrawl crawl`: several outlets from one cron line.

Each outlet runs as its own `scrapy crawl` child process (Scrapy runs one reactor per
process; a crash or a memory blow-up of one outlet cannot take the others down), with
its own lock, state, log file (<NEWSCRAWL_LOG_DIR>/<outlet>/<UTC timestamp>.log) and
exit code; at most `jobs` run at a time. The combined exit code is the most severe one
(newscrawl.exitcodes.combined).

Output is for cron mail and humans: one line per outlet as it finishes, then a summary.
On a terminal a one-line progress display is redrawn in place; otherwise (cron, pipes)
nothing but the plain lines, no colours, no carriage returns.

SIGTERM or SIGINT (`Fleet`): the signal is passed on to every crawl running, each of which
stops gracefully (newscrawl/stop.py); no outlet not yet started is started; a crawl still
running NEWSCRAWL_STOP_TIMEOUT seconds after the signal is killed with its pool (each
crawl runs in its own process group, which also keeps a terminal's Ctrl-C from reaching
it directly); a second signal kills them all at once. Every outlet still gets its line,
and the exit code is INTERRUPTED (9).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import exitcodes
from newscrawl.stop import DEFAULT_STOP_TIMEOUT, REPEAT_GRACE, STOP_SIGNALS, clear_group, kill_crawl, signal_name

SUMMARY_RE = re.compile(r"newscrawl-summary: outlet=\S+ (.*)")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class OutletRun:
    outlet: str
    code: int
    log: Path | None  # None: not started
    summary: str
    fault: str = ""  # the one-line fault (newscrawl.faults), for stderr


def last_summary(log: Path) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found = SUMMARY_RE.findall(text)
    return found[-1] if found else ""


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
                self._say(f"{name} received: stopping {count} running crawl{'' if count == 1 else 's'} "
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


def run_outlet(outlet: str, log: Path, settings: dict, env: dict, fleet: Fleet | None = None) -> OutletRun:
    from newscrawl.faults import FAULT_PREFIX, storage_fault

    fleet = fleet or Fleet()
    command = [sys.executable, "-m", "scrapy", "crawl", outlet, "-s", f"NEWSCRAWL_RUN_LOG={log}"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    if fleet.stopping:
        return not_started(outlet, fleet)
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
        proc = fleet.start(command, fh, env)
        if proc is None:
            return not_started(outlet, fleet)
        code = fleet.wait(proc)
        out = proc.stdout.read() if proc.stdout is not None else b""
        if proc.stdout is not None:
            proc.stdout.close()
    fault = next((line[len(FAULT_PREFIX):] for line in out.decode("utf-8", "replace").splitlines()
                  if line.startswith(FAULT_PREFIX)), "")
    killed = fleet.killed.get(proc.pid)
    if code < 0 or killed:  # killed by a signal: the crawl did not finish
        code = exitcodes.INTERRUPTED if fleet.stopping else exitcodes.FAILED
    summary = last_summary(log)
    if not summary:
        if killed:
            summary = f"interrupted: {killed}"
        elif code == exitcodes.INTERRUPTED:
            summary = f"interrupted: stopped by {signal_name(fleet.signum)} before it wrote a summary"
        elif code == exitcodes.LOCKED:
            summary = "locked: another crawl of this outlet is running"
        else:
            summary = f"{exitcodes.NAMES.get(code, code)}: no summary in the log"
    return OutletRun(outlet, code, log, summary, fault)


def not_started(outlet: str, fleet: Fleet) -> OutletRun:
    return OutletRun(outlet, exitcodes.INTERRUPTED, None,
                     f"interrupted: not started ({signal_name(fleet.signum)} came first)")


def crawl_outlets(outlets: list[str], *, log_dir: Path, jobs: int = 2, settings: dict | None = None,
                  outlets_dir: str | None = None, out=None, skipped: int = 0,
                  stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
    """Crawls the outlets; `skipped` invalid records were left out (said in the summary,
    and counted as a CONFIG outcome in the combined exit code). On SIGTERM or SIGINT, see
    Fleet; the exit code is then INTERRUPTED."""
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
    fleet = Fleet(stop_timeout).install()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(run_outlet, o, log_dir / o / f"{stamp}.log", settings or {}, env, fleet)
                       for o in outlets]
            for future in as_completed(futures):
                run = future.result()
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
