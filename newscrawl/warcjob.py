"""What `newscrawl reclean` (newscrawl/reclean.py) and `newscrawl import-warc`
(newscrawl/warcimport.py) share.

- The WARC files are read in two passes (newscrawl/warcread.py): `found` streams every
  response record's headers (the first pass: what to take, and for which outlet); `read`
  goes back to one response and reads it whole (the second pass, outlet by outlet, so one
  outlet's lock, state and output are open at a time). Each unreadable record is a line
  on stderr and a count by kind; the others are all read.
- A response becomes the page the spider would have handed on (`raw_page`): its body
  decoded by the crawl's charset rules (newscrawl.charset.decode_html), a binary body
  refused as the crawl refuses it.
- The article gate runs in the worker pool (`articles`, newscrawl/page_job.py), then the
  cleaning stages (pipelines/clean.py), batch by batch, through the stage runner.
- SIGTERM and SIGINT stop between batches: what a batch was doing is dropped (not
  written, not recorded), what earlier batches did is published, and the exit code is
  INTERRUPTED (9); a second signal stops at once, which is as safe as a kill (nothing
  is recorded before it is written).
- A fault of the machine (the output or state folder full or read-only, the state store
  lost) stops the command with the crawl's line and exit code (7, 8).
"""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import exitcodes
from newscrawl.warcread import Found, Page, Problem, UnreadableRecord, read_page, scan

# Pages cleaned per batch, per worker: enough to keep every worker busy through a batch.
PAGES_PER_WORKER = 8


def utc_iso(when: datetime | None) -> str:
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


class WarcJob:
    """One run of a command over WARC files: its settings, counts, problems and exit codes."""

    command = "newscrawl"

    def __init__(self, paths: list[Path], settings, *, out=None, err=None):
        self.paths = [Path(p) for p in paths]
        self.settings = settings
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.max_bytes = settings.getint("DOWNLOAD_MAXSIZE", 10 << 20)
        self.min_chars = settings.getint("NEWSCRAWL_MIN_ARTICLE_CHARS", 400)
        self.min_words = settings.getint("NEWSCRAWL_MIN_WORDS", 50)
        self.problems: Counter = Counter()  # unreadable records, by kind
        self.codes: list[int] = []
        self.locked = 0  # pages of outlets whose lock a crawl held
        self.stopping = False
        self._files: dict[int, object] = {}
        self._pool = None
        self.runner = None

    # -- lines

    def say(self, line: str) -> None:
        print(f"{self.command}: {line}", file=self.err, flush=True)

    def report(self, problem: Problem) -> None:
        self.problems[problem.kind] += 1
        self.say(problem.line())

    def problems_text(self) -> str:
        total = sum(self.problems.values())
        if not total:
            return ""
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.problems.items()))
        return f"; {plural(total, 'unreadable record')} ({kinds})"

    # -- reading

    def found(self) -> Iterator[tuple[int, Found]]:
        """(file number, response record) for every response of every file, in order."""
        for file_no, path in enumerate(self.paths):
            for found in scan(path, self.report):
                yield file_no, found
            if self.stopping:
                return

    def read(self, file_no: int, offset: int) -> Page | None:
        """The response at `offset` of file `file_no`, read whole; None (a problem said
        and counted) when it cannot be read."""
        fh = self._files.get(file_no)
        if fh is None:
            fh = self._files[file_no] = open(self.paths[file_no], "rb")  # noqa: SIM115 - closed by close()
        try:
            return read_page(fh, self.paths[file_no], offset, self.max_bytes)
        except UnreadableRecord as exc:
            self.report(exc.problem)
            return None

    def raw_page(self, page: Page, outlet, *, via: str | None, discovered_from: str | None = None) -> dict | None:
        """The page as the spider hands it on (a RawArticle's fields); None for a body no
        text format would have, which the crawl refuses (newscrawl.guard.BinaryBodyGuard)."""
        from newscrawl.charset import decode_html
        from newscrawl.guard import looks_binary
        from newscrawl.urls import canonicalize_url

        if looks_binary(page.body):
            return None
        return {"url": canonicalize_url(page.url), "final_url": page.url, "http_status": page.status,
                "headers": page.headers, "html": decode_html(page.body, page.headers.get("Content-Type")),
                "outlet": outlet.name, "discovered_via": via, "discovered_from": discovered_from,
                "fetched_at": utc_iso(page.date), "hints": dict(page.hints)}

    # -- stages

    def start_pool(self) -> None:
        from pipelines.pool import pool_from_settings, worker_count
        from pipelines.runner import StageRunner

        self._pool = pool_from_settings(self.settings)
        self.runner = StageRunner(self._pool, self.settings.get("NEWSCRAWL_TEST_WORKER_CRASH_MARKER") or None)
        self.batch_size = max(2 * PAGES_PER_WORKER, PAGES_PER_WORKER * worker_count(self.settings))

    def articles(self, pages: list[tuple[object, dict, object]], tally: Counter) -> list[tuple[object, dict, object]]:
        """The pages the article gate takes (newscrawl.page_job, in the worker pool); the
        others counted as `not-article`, a page whose worker died twice as `lost`."""
        from newscrawl.page_job import page_job
        from pipelines.pool import WorkerCrash

        options = {"min_chars": self.min_chars}
        verdicts = self.runner.map(page_job, [(raw, outlet, options) for _, raw, outlet in pages])
        taken = []
        for page, verdict in zip(pages, verdicts):
            if isinstance(verdict, WorkerCrash):
                tally["lost"] += 1
            elif verdict["article"]:
                taken.append(page)
            else:
                tally["not-article"] += 1
        return taken

    def over_outlets(self, names: list[str], each, *, dedupe: bool) -> None:
        """each(name, dedup) for each outlet in turn, with the worker pool started and,
        with `dedupe`, the shared dedupe state open (`dedup`, else None). A fault of the
        shared state stops the job with its line."""
        from newscrawl.state import open_state
        from pipelines.dedupe import deduplicator_from_settings

        self.start_pool()
        shared = dedup = None
        try:
            if dedupe:
                shared = open_state(self.settings, "_global")
                dedup = deduplicator_from_settings(self.settings, shared, defer=True)
            for name in names:
                if self.stopping:
                    break
                each(name, dedup)
        except Exception as exc:  # noqa: BLE001 - the shared state's fault; anything else propagates
            if not self.stop_on_fault(exc, "_global"):
                raise
        finally:
            if shared is not None:
                try:
                    shared.close()
                except Exception as exc:  # noqa: BLE001
                    if not self.stop_on_fault(exc, "_global"):
                        raise

    @contextmanager
    def outlet_session(self, outlet, pages: int, dedup, verb: str):
        """The outlet's OutletSession (newscrawl/outlet_session.py) for the body, closed
        after it; None when a crawl holds the outlet's lock (its pages are counted as
        `locked`, exit 3) or a fault stopped the job. A fault in the body aborts the
        session (nothing more is published) and stops the job with its line."""
        from newscrawl.lock import LockHeld
        from newscrawl.outlet_session import OutletSession

        try:
            session = OutletSession(self.settings, outlet.name, dedup)
        except LockHeld as exc:
            self.say(f"{exc}: its {plural(pages, 'page')} are not {verb} (exit {exitcodes.LOCKED})")
            self.codes.append(exitcodes.LOCKED)
            self.locked += pages
            yield None
            return
        except Exception as exc:  # noqa: BLE001
            if not self.stop_on_fault(exc, outlet.name):
                raise
            yield None
            return
        try:
            yield session
            session.close()
        except Exception as exc:  # noqa: BLE001
            session.abort()
            if not self.stop_on_fault(exc, outlet.name):
                raise

    def batches(self, entries: list) -> Iterator[list]:
        for start in range(0, len(entries), self.batch_size):
            if self.stopping:
                return
            yield entries[start:start + self.batch_size]

    # -- faults, signals, the end

    def fault_of(self, exc: BaseException, outlet: str):
        """The machine's fault an exception stands for (newscrawl.faults), or None."""
        from newscrawl.faults import fault_from
        from newscrawl.state import state_location

        return fault_from(exc, state_location(self.settings, outlet))

    def stop_on_fault(self, exc: BaseException, outlet: str) -> bool:
        """Says a fault's line and stops the command; False for an exception that is no
        fault (a bug: it propagates)."""
        fault = self.fault_of(exc, outlet)
        if fault is None:
            return False
        print(fault.line(outlet), file=self.err, flush=True)
        self.codes.append(fault.code)
        self.stopping = True
        return True

    def _on_signal(self, signum, frame) -> None:
        if self.stopping:
            raise KeyboardInterrupt  # a second signal: at once
        self.stopping = True
        self.codes.append(exitcodes.INTERRUPTED)
        self.say(f"stopping on {signal.Signals(signum).name}: what is done is kept, the rest is for the next run")

    def run(self) -> int:
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.work()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            for fh in self._files.values():
                fh.close()
            if self._pool is not None:
                self._pool.close()
        if sum(self.problems.values()):
            self.codes.append(exitcodes.FAILED)
        return exitcodes.INTERRUPTED if exitcodes.INTERRUPTED in self.codes else exitcodes.combined(self.codes)

    def work(self) -> None:
        raise NotImplementedError
