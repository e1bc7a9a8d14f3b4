"""The end of a crawl: exit status, run report, health check, summary line.

`RunReport` (an extension) watches the crawl through signals and, when the spider
closes:

- decides the exit status from what happened (`exit_status`): our error, the site
  blocking us, every request failing, zero articles where earlier runs found some;
- writes output/<outlet>/runs/<UTC timestamp>.json (`build_report`);
- compares this run with the last NEWSCRAWL_HEALTH_WINDOW reports (`health_flags`) and
  logs every drift as one greppable WARNING line:
  `newscrawl-health: outlet=X drift=published_at coverage 0.95->0.00`;
- logs a one-line human summary, `newscrawl-summary: ...`, last.

The exit code is left in the stats as `newscrawl/exit_code` for the crawl command.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from scrapy import signals

from newscrawl import clock, exitcodes
from newscrawl.faults import FAULT_REASONS, Fault
from newscrawl.ledger import RECORD_WRITTEN
from newscrawl.lock import LOCKED_REASON

logger = logging.getLogger(__name__)

COVERAGE_FIELDS = ("published_at", "authors", "language")
BLOCKED_STATUSES = ("http-403", "http-429")


def _prefixed(stats: dict, prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(stats.items()) if k.startswith(prefix) and isinstance(v, int)}


def articles_seen(report: dict) -> int:
    """Article pages this run knew of: fetched, or skipped because already settled."""
    return int((report.get("articles") or {}).get("seen") or 0)


def exit_status(stats: dict, history: list[dict], finish_reason: str) -> tuple[int, str]:
    """The exit code and a one-line reason, from the crawl's stats and earlier reports."""
    if stats.get("newscrawl/fault_code"):  # the machine's fault, not the site's (newscrawl.faults)
        return int(stats["newscrawl/fault_code"]), str(stats.get("newscrawl/fault") or finish_reason)
    if finish_reason in FAULT_REASONS:
        return FAULT_REASONS[finish_reason], finish_reason
    if finish_reason == LOCKED_REASON:
        return exitcodes.LOCKED, "another crawl of this outlet holds the lock"
    if finish_reason == "shutdown":  # SIGTERM / SIGINT (newscrawl/stop.py)
        return exitcodes.INTERRUPTED, "stopped by a signal before the end"
    code_errors = sum(_prefixed(stats, "spider_exceptions/").values()) + sum(
        _prefixed(stats, "newscrawl/code_errors/").values())
    if code_errors:
        return exitcodes.ERROR, f"{code_errors} errors in our code (see the log's tracebacks)"
    errors = _prefixed(stats, "newscrawl/errors/")
    failed = sum(errors.values())
    blocked = sum(errors.get(s, 0) for s in BLOCKED_STATUSES)
    ok = stats.get("newscrawl/responses/ok", 0) + stats.get("newscrawl/incremental/not_modified", 0)
    if blocked and blocked * 2 >= ok + failed:
        return exitcodes.BLOCKED, f"{blocked} of {ok + failed} requests answered 403/429"
    if not ok:
        within = " within the time limit (CLOSESPIDER_TIMEOUT)" if finish_reason == "closespider_timeout" else ""
        return exitcodes.FAILED, f"no request got a usable answer{within} ({failed} failed)"
    seen = seen_this_run(stats)
    earlier = max((articles_seen(r) for r in history), default=0)
    if not seen and earlier:
        return exitcodes.EMPTY, f"no article pages found; earlier runs found up to {earlier}"
    return exitcodes.OK, "ok"


def seen_this_run(stats: dict) -> int:
    return (stats.get("newscrawl/gate/article", 0) + stats.get("newscrawl/incremental/skipped", 0)
            + stats.get("newscrawl/incremental/not_modified", 0))


class Coverage:
    """Field coverage over the records this run wrote."""

    def __init__(self):
        self.records = 0
        self.present = Counter()
        self.word_counts: list[int] = []

    def add(self, record: dict) -> None:
        self.records += 1
        for field in COVERAGE_FIELDS:
            if record.get(field):
                self.present[field] += 1
        self.word_counts.append(int(record.get("word_count") or 0))

    def as_dict(self) -> dict:
        out = {"records": self.records}
        for field in COVERAGE_FIELDS:
            out[field] = round(self.present[field] / self.records, 3) if self.records else None
        out["word_count_median"] = statistics.median(self.word_counts) if self.word_counts else None
        return out


def health_flags(report: dict, history: list[dict], *, min_records: int = 3,
                 coverage_drop: float = 0.3, collapse: float = 0.5) -> list[str]:
    """Drifts of this run against the median of earlier runs: a field's coverage falling
    by `coverage_drop` or more, the median text length or the article count falling
    below `collapse` (word count) or a quarter (article count) of what it was."""
    flags = []
    cov = report.get("coverage") or {}
    base = [r["coverage"] for r in history if (r.get("coverage") or {}).get("records", 0) >= min_records]
    if base and cov.get("records", 0) >= min_records:
        for field in COVERAGE_FIELDS:
            before = statistics.median(b[field] for b in base if b.get(field) is not None)
            now = cov.get(field) or 0.0
            if before - now >= coverage_drop:
                flags.append(f"{field} coverage {before:.2f}->{now:.2f}")
        before = statistics.median(b["word_count_median"] or 0 for b in base)
        now = cov.get("word_count_median") or 0
        if before and now < before * collapse:
            flags.append(f"word_count median {before:g}->{now:g}")
    seen_before = [articles_seen(r) for r in history if articles_seen(r)]
    if seen_before:
        before = statistics.median(seen_before)
        now = articles_seen(report)
        if before >= 4 and now < before / 4:
            flags.append(f"articles {before:g}->{now}")
    return flags


def reports_dir(output_dir: str | Path, outlet: str) -> Path:
    return Path(output_dir) / outlet / "runs"


def load_history(output_dir: str | Path, outlet: str, window: int) -> list[dict]:
    """The last `window` run reports of an outlet, oldest first (unreadable ones skipped)."""
    out = []
    for path in sorted(reports_dir(output_dir, outlet).glob("*.json"))[-window:]:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            logger.warning("unreadable run report %s skipped", path)
    return out


def write_report(folder: Path, report: dict, now: datetime) -> Path:
    """folder/<UTC timestamp>.json, written whole (temporary file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    from newscrawl.retention import STAMP_FORMAT

    stem = now.strftime(STAMP_FORMAT)
    path, n = folder / f"{stem}.json", 1
    while path.exists():
        path, n = folder / f"{stem}-{n}.json", n + 1
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full folder keeps no half report
        raise
    return path


def build_report(stats: dict, coverage: dict, *, outlet: str, spider: str, started: datetime,
                 finished: datetime, finish_reason: str, log_file: str | None) -> dict:
    return {
        "outlet": outlet,
        "spider": spider,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 2),
        "finish_reason": finish_reason,
        "pages_fetched": stats.get("downloader/response_count", 0),
        "requests": {"sent": stats.get("downloader/request_count", 0),
                     "ok": stats.get("newscrawl/responses/ok", 0),
                     "failed": sum(_prefixed(stats, "newscrawl/errors/").values())},
        "articles": {
            "seen": seen_this_run(stats),
            "fetched": stats.get("newscrawl/gate/article", 0),
            "new": stats.get("newscrawl/articles/new", 0),
            "changed": stats.get("newscrawl/articles/changed", 0),
            "unchanged": stats.get("newscrawl/duplicates/url", 0),
            "skipped": stats.get("newscrawl/incremental/skipped", 0),
            "not_modified": stats.get("newscrawl/incremental/not_modified", 0),
            "duplicates": {k: v for k, v in _prefixed(stats, "newscrawl/duplicates/").items() if k != "url"},
            "replayed_from_output": stats.get("newscrawl/ledger/replayed", 0),
        },
        "rejects": _prefixed(stats, "newscrawl/rejected/"),
        "cruft_removed": _prefixed(stats, "newscrawl/cruft/"),
        "errors": {**_prefixed(stats, "newscrawl/errors/"),
                   **{f"code/{k}": v for k, v in _prefixed(stats, "newscrawl/code_errors/").items()},
                   **{f"spider/{k}": v for k, v in _prefixed(stats, "spider_exceptions/").items()}},
        "coverage": coverage,
        "log_file": log_file,
    }


def summary_line(report: dict) -> str:
    a = report["articles"]
    status = report["exit_status"]
    if report["exit_reason"] != status:
        status += f": {report['exit_reason']}"
    return (f"newscrawl-summary: outlet={report['outlet']} exit={report['exit_code']} ({status}) pages={report['pages_fetched']} new={a['new']} changed={a['changed']} "
            f"unchanged={a['unchanged']} skipped={a['skipped'] + a['not_modified']} "
            f"rejected={sum(report['rejects'].values())} errors={sum(report['errors'].values())} "
            f"health={'; '.join(report['health']['flags']) or 'ok'} duration={report['duration_s']}s")


class RunReport:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.output_dir = settings.get("NEWSCRAWL_OUTPUT_DIR") or "output"
        self.window = settings.getint("NEWSCRAWL_HEALTH_WINDOW", 5)
        self.coverage = Coverage()
        self.started = clock.now()
        self.report_path: Path | None = None
        self.summary = ""  # the summary line's text after `newscrawl-summary: outlet=NAME `
        for handler, signal in ((self.records_written, RECORD_WRITTEN), (self.response_received, signals.response_received),
                                (self.item_error, signals.item_error), (self.spider_closed, signals.spider_closed)):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def records_written(self, records, replayed=False, **kwargs):
        if replayed:
            return  # written by an earlier, interrupted run
        for record in records:
            self.coverage.add(record)
            kind = "changed" if int(record.get("revision") or 1) > 1 else "new"
            self.stats.inc_value(f"newscrawl/articles/{kind}")

    def response_received(self, response, request, **kwargs):
        if 200 <= response.status < 400 and not request.url.endswith("/robots.txt"):
            self.stats.inc_value("newscrawl/responses/ok")

    def item_error(self, item, response, failure, **kwargs):
        if isinstance(failure.value, Fault):
            return  # the machine's fault, reported once (newscrawl.faults); not a bug of ours
        self.stats.inc_value(f"newscrawl/code_errors/{type(failure.value).__name__}")

    def spider_closed(self, spider, reason):
        stats = self.stats.get_stats()
        outlet = getattr(getattr(spider, "outlet", None), "name", None) or spider.name
        history = load_history(self.output_dir, outlet, self.window)
        code, why = exit_status(stats, history, reason)
        self.stats.set_value("newscrawl/exit_code", code)
        if code == exitcodes.LOCKED:
            return  # this run did nothing; the running one reports
        finished = clock.now()
        report = build_report(stats, self.coverage.as_dict(), outlet=outlet, spider=spider.name, started=self.started,
                              finished=finished, finish_reason=reason,
                              log_file=self.crawler.settings.get("LOG_FILE") or self.crawler.settings.get("NEWSCRAWL_RUN_LOG"))
        report.update({"exit_code": code, "exit_status": exitcodes.NAMES.get(code, str(code)), "exit_reason": why})
        flags = health_flags(report, history)
        report["health"] = {"baseline_runs": len(history), "flags": flags}
        for flag in flags:
            logger.warning("newscrawl-health: outlet=%s drift=%s", outlet, flag, extra={"spider": spider})
        if stats.get("newscrawl/fault_code") and not stats.get("downloader/request_count"):
            pass  # a fault at start: this run crawled nothing, and its report would skew the health check
        else:
            try:
                self.report_path = write_report(reports_dir(self.output_dir, outlet), report, finished)
            except OSError as exc:
                logger.error("newscrawl: cannot write the run report: %s", exc, extra={"spider": spider})
        from newscrawl.retention import prune_outlet

        prune_outlet(self.crawler.settings, outlet, reports=reports_dir(self.output_dir, outlet),
                     current_log=self.crawler.settings.get("NEWSCRAWL_RUN_LOG") or None)
        line = summary_line(report)
        self.summary = line.split(" ", 2)[2]
        logger.info("%s report=%s", line, self.report_path, extra={"spider": spider})
