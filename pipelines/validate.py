"""Validate stage: every record leaving the pipeline matches the published JSON Schema.

A record that does not is written, with its reasons, to a part in
output/<outlet>/rejects/<YYYY-MM-DD>/ and counted under newscrawl/rejected/<reason>;
nothing is dropped without a trace.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple
from urllib.parse import urlsplit

from newscrawl import clock
from pipelines.work import WORK, public_fields

# fastjsonschema and jsonschema are imported where they are used, not here: the crawl
# process imports this module for ValidatePipeline, which checks records in the worker
# pool, and the workers' fork server builds the validators once (pipelines/pool_warmup.py).
if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).parent / "schema" / "article-v1.schema.json"
DEFAULT_MIN_WORDS = 50

def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        raise ValueError("not an RFC 3339 date-time with offset")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc or any(ch.isspace() for ch in value):
        raise ValueError("not an absolute URI")
    return True


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


class _Validators(NamedTuple):
    # fastjsonschema's generated code: some ten times faster, raises at the first problem.
    quick: Callable[[dict], object]
    # jsonschema: every problem, with the messages the rejects files and stats carry.
    full: Draft202012Validator


@lru_cache(maxsize=1)
def _validator() -> _Validators:
    import fastjsonschema
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator.check_schema(schema())
    # Our own checks for the two formats the schema uses, so validation does not depend on
    # optional packages jsonschema would otherwise need (and silently skip without).
    formats = FormatChecker(formats=())
    formats.checks("date-time", raises=ValueError)(_is_datetime)
    formats.checks("uri", raises=ValueError)(_is_uri)
    quick_formats = {name: partial(formats.conforms, format=name) for name in formats.checkers}
    return _Validators(quick=fastjsonschema.compile(schema(), formats=quick_formats),
                       full=Draft202012Validator(schema(), format_checker=formats))


def _holds_tuple(value) -> bool:
    if isinstance(value, tuple):
        return True
    if isinstance(value, dict):
        return any(_holds_tuple(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_tuple(v) for v in value)
    return False


def _schema_errors(record: dict) -> list:
    """jsonschema's errors for the record, in field order.

    Most records are valid, and the quick validator finds that in a tenth of the time. On
    this schema it passes no record that jsonschema rejects (where the two differ it is
    the stricter: `$` in its patterns does not match before a final newline), except one
    holding a tuple, which it takes for an array. Such a record, and every record it does
    not pass, goes to jsonschema for the verdict and the reasons (tests/test_validate.py
    compares the two on many broken records)."""
    validators = _validator()
    if not _holds_tuple(record):
        try:
            validators.quick(record)
            return []
        except Exception:  # whatever the problem, jsonschema gives the verdict and reasons
            pass
    return sorted(validators.full.iter_errors(record), key=lambda e: list(e.absolute_path))


def check_record(record: dict, min_words: int = DEFAULT_MIN_WORDS) -> list[tuple[str, str]]:
    """(reason code, human-readable reason) for each problem; empty when the record is valid.
    Codes are short and stable (stats keys): empty_text, too_short, or
    schema/<field>/<rule>. The validate stage, as a pure function (run in a worker), of
    the record's public fields."""
    problems: list[tuple[str, str]] = []
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(("empty_text", "text is empty"))
    elif isinstance(record.get("word_count"), int) and record["word_count"] < min_words:
        problems.append(("too_short", f"text has {record['word_count']} words, fewer than {min_words}"))
    for error in _schema_errors(record):
        path = "/".join(str(p) for p in error.absolute_path) or "record"
        field = str(error.absolute_path[0]) if error.absolute_path else "record"
        if field == "text" and problems and problems[0][0] == "empty_text":
            continue  # already said
        problems.append((f"schema/{field}/{error.validator}", f"{path}: {error.message}"))
    return problems


def validate_record(record: dict, min_words: int = DEFAULT_MIN_WORDS) -> list[str]:
    """Human-readable reasons the record fails validation; empty when it is valid."""
    return [message for _, message in check_record(record, min_words)]


def rejection_reasons(problems: list[tuple[str, str]], work) -> list[str]:
    """The reasons a record is rejected, said to people: each problem's, and why its body
    is short or empty where the extract stage could tell (`work.body_note`)."""
    reasons = [message for _, message in problems]
    note = getattr(work, "body_note", None)
    if note and any(code in ("empty_text", "too_short") for code, _ in problems):
        reasons.append(note)
    return reasons


def reject_entry(record: dict, reasons: list[str]) -> dict:
    """What the rejects file holds for one record."""
    return {
        "url": record.get("url"),
        "reasons": reasons,
        "rejected_at": clock.now().replace(microsecond=0).isoformat(),
        "record": record,
    }


class ValidatePipeline:
    """The validate stage's adapter: `check_record` in the worker pool (through
    pipelines/runner.py); a record that fails goes, with its reasons, to the outlet's
    rejects file, is counted and dropped (`pipelines.drops.Rejected`)."""

    def __init__(self, crawler):
        from pipelines.runner import runner_for
        from pipelines.parts import WriterSet, writer_settings

        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.runner = runner_for(crawler)
        self.min_words = settings.getint("NEWSCRAWL_MIN_WORDS", DEFAULT_MIN_WORDS)
        # Rejects stay plain JSONL, whatever the output compression: they are for people.
        self.rejects = WriterSet(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output", "",
                                 **writer_settings(settings))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item):
        from pipelines.drops import Rejected
        from pipelines.parts import REJECTS, utc_day

        record = public_fields(item)
        problems = await self.runner.run(check_record, record, self.min_words)
        if not problems:
            self.stats.inc_value("newscrawl/valid")
            return item  # internal fields still travel to later stages; the write stage drops them
        reasons = rejection_reasons(problems, item.get(WORK))
        outlet = self.crawler.spider.outlet.name
        try:
            self.rejects.writer(outlet, REJECTS, utc_day(record.get("fetched_at"))).write(reject_entry(record, reasons))
        except OSError as exc:  # the output folder is full or read-only: stop, settle nothing
            from newscrawl import faults

            fault = faults.storage_fault("output folder", self.rejects.output_dir / outlet, exc)
            fault = faults.report(self.crawler, fault, exc_info=(type(exc), exc, exc.__traceback__))
            raise type(fault)(fault.message) from exc
        self.stats.inc_value("newscrawl/rejected")
        for code in dict.fromkeys(code for code, _ in problems):
            self.stats.inc_value(f"newscrawl/rejected/{code}")
        logger.info("rejected %s: %s", record.get("url"), "; ".join(reasons))
        raise Rejected(f"invalid record: {'; '.join(reasons)}")

    def close_spider(self):
        from newscrawl.faults import StorageFault, fault_of

        if isinstance(fault_of(self.crawler), StorageFault):
            self.rejects.discard()
            return
        try:
            self.rejects.close()
        except OSError as exc:
            from newscrawl.faults import report_output_fault

            report_output_fault(self.crawler, exc, Path(self.rejects.output_dir), close=False)
            self.rejects.discard()
