"""`newscrawl reset --delete-output` on parts the real pipeline wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import signals

from newscrawl.ledger import NS_CHECKPOINT, OutletLedger
from newscrawl.state import SQLiteStateStore
from pipelines.write import read_parts
from tests import texts
from tests.crawling import ROOT, scrapy_env
from tests.pipeline_run import make_crawler, outlet, raw_record, run

pytestmark = pytest.mark.e2e  # the commands run in child processes

DAILY = outlet("daily-a")
DAY = "2025-08-04"


def write_articles(tmp: Path, count: int, day: str = DAY, compression: str = "", first: int = 0) -> list[dict]:
    """`count` articles through the real pipeline stages, one part each, as a crawl writes
    them; the ledger records each part."""
    crawler = make_crawler(tmp, DAILY, NEWSCRAWL_OUTPUT_BATCH_RECORDS=1, NEWSCRAWL_OUTPUT_COMPRESSION=compression)
    items = [raw_record(f"https://daily-a.test/story/{i}", f"{texts.ENGLISH} This is story {i}, told in full.",
                        "daily-a", fetched_at=f"{day}T09:30:00+00:00") for i in range(first, first + count)]
    kept, dropped = run(crawler, items)
    crawler.signals.send_catch_log(signals.engine_stopped)  # the ledger's store closes
    assert dropped == [] and len(kept) == count
    return kept


def open_ledger(tmp: Path) -> OutletLedger:
    return OutletLedger(SQLiteStateStore(tmp / "state" / "daily-a.sqlite"), "daily-a", tmp / "output")


def checkpoint(tmp: Path) -> dict[str, int]:
    ledger = open_ledger(tmp)
    try:
        return {key: int(value) for key, value in ledger.store.items(NS_CHECKPOINT)}
    finally:
        ledger.store.close()


def newscrawl(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscrawl.cli", *args, "-s", f"NEWSCRAWL_OUTPUT_DIR={tmp / 'output'}",
                           "-s", f"NEWSCRAWL_STATE_DIR={tmp / 'state'}"],
                          cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=120)


def test_reset_delete_output_removes_articles_and_rejects_and_keeps_run_reports(tmp_path):
    write_articles(tmp_path, 3)
    crawler = make_crawler(tmp_path, DAILY)  # a reject, in its own folder
    run(crawler, [raw_record("https://daily-a.test/short", "Too short.", "daily-a")])
    crawler.signals.send_catch_log(signals.engine_stopped)
    root = tmp_path / "output" / "daily-a"
    assert len(list(read_parts(root / "rejects"))) == 1
    (root / "runs").mkdir()
    (root / "runs" / "20250804T093000Z.json").write_text("{}")
    proc = newscrawl(tmp_path, "reset", "daily-a", "--delete-output")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == \
        ["rejects", "runs", "runs/20250804T093000Z.json"]
    assert checkpoint(tmp_path) == {}
