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
from newscrawl.warcread import Found, Problem, UnreadableRecord, read_page, scan

# Pages cleaned per batch, per worker: enough to keep every worker busy through a batch.
PAGES_PER_WORKER = 8


def utc_iso(when: datetime | None) -> str:
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def page_from_warc(path: str, offset: int, max_bytes: int, outlet, options: dict,
                   hints: dict | None = None) -> dict:
    """One worker call per page (through the stage runner): the response at `offset` read
    whole (newscrawl/warcread.py), made the page the spider hands on (its body decoded by
    the crawl's charset rules, newscrawl.charset), judged by the article gate
    (newscrawl/page_job.py) and, for an article, through the extract stage and the decruft
    stage's rules (pipelines.clean.extracted). Reading and decoding here keep the HTML out
    of the command's process, which does the stages that hold state.

    `hints`: the sitemap or feed hints to use when the record has none of its own (an
    archive written before newscrawl kept them).

    {"problem": Problem} for a record that cannot be read; else what the page is: "url",
    "date", "headers" (the spider's few), and "record" (an article's, its provenance from
    newscrawl's own WARC headers when there are any), or "refused" (a binary body, as the
    crawl refuses one) or "reason" (why the gate did not take it)."""
    from newscrawl.charset import decode_html
    from newscrawl.guard import looks_binary
    from newscrawl.page_job import page_job
    from newscrawl.urls import canonicalize_url
    from pipelines.clean import extracted

    try:
        with open(path, "rb") as fh:
            page = read_page(fh, Path(path), offset, max_bytes)
    except UnreadableRecord as exc:
        return {"problem": exc.problem}
    found = {"url": page.url, "date": page.date, "headers": page.headers}
    if looks_binary(page.body):
        return {**found, "refused": "a binary body"}
    raw = {"url": canonicalize_url(page.url), "final_url": page.url, "http_status": page.status,
           "headers": page.headers, "html": decode_html(page.body, page.headers.get("Content-Type")),
           "outlet": outlet.name, "discovered_via": page.discovered_via, "discovered_from": page.discovered_from,
           "fetched_at": utc_iso(page.date), "hints": dict(page.hints or hints or {})}
    verdict = page_job(raw, outlet, options)
    if not verdict["article"]:
        return {**found, "reason": verdict["reason"]}
    return {**found, "record": extracted(raw, outlet, options)}


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
        self._pool = None
        self.runner = None
        self.batch_size = 0  # pages per batch, once the pool is started

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

    # -- stages

    def start_pool(self) -> None:
        from pipelines.pool import pool_from_settings, worker_count
        from pipelines.runner import StageRunner

        self._pool = pool_from_settings(self.settings)
        self.runner = StageRunner(self._pool, self.settings.get("NEWSCRAWL_TEST_WORKER_CRASH_MARKER") or None)
        self.batch_size = max(2 * PAGES_PER_WORKER, PAGES_PER_WORKER * worker_count(self.settings))

    def extract(self, calls: list[tuple], tally: Counter) -> tuple[list, list]:
        """(tag, file number, offset, outlet[, hints]) for each page (`hints`: see
        `page_from_warc`) -> (articles, others), each a
        list of (tag, outlet, what `page_from_warc` found), in order: the articles with
        their extracted records, and a call whose worker died twice as {"crash":
        WorkerCrash} (the crawl settles such a page as rejected); the others, pages the
        gate did not take, counted as `not-article`. An unreadable record is said and
        counted as a problem, not a page."""
        from pipelines.pool import WorkerCrash

        from pipelines.extract import extract_options

        # The gate's and the extract stage's settings, as the crawl passes them.
        options = {"min_chars": self.min_chars, **extract_options(self.settings)}
        results = self.runner.map(page_from_warc, [(str(self.paths[file_no]), offset, self.max_bytes, outlet, options,
                                                    *hints) for _, file_no, offset, outlet, *hints in calls])
        articles, others = [], []
        for (tag, _, _, outlet, *_), result in zip(calls, results):
            if isinstance(result, WorkerCrash):
                result = {"crash": result}
            elif "problem" in result:
                self.report(result["problem"])
                continue
            tally["pages"] += 1
            if "record" in result or "crash" in result:
                articles.append((tag, outlet, result))
            else:
                tally["not-article"] += 1
                others.append((tag, outlet, result))
        return articles, others

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
        except KeyboardInterrupt:  # a second signal: stopped at once, as safe as a kill
            self.say("stopped at once: what was published is kept and recorded by the next run")
            self.codes.append(exitcodes.INTERRUPTED)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            if self._pool is not None:
                self._pool.close()
        if sum(self.problems.values()):
            self.codes.append(exitcodes.FAILED)
        return exitcodes.INTERRUPTED if exitcodes.INTERRUPTED in self.codes else exitcodes.combined(self.codes)

    def work(self) -> None:
        raise NotImplementedError
