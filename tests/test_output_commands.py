"""`newscrawl compact` and `newscrawl reset --delete-output` on parts the real pipeline
wrote: a day's parts merged into one, the ledger's checkpoint kept exact, and a compaction
killed at any point leaving, once the next crawl opens the ledger, every record once."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from scrapy import signals

from newscrawl.clock import OFFSET_VARIABLE
from newscrawl.ledger import NS_CHECKPOINT, OutletLedger, output_files
from newscrawl.state import SQLiteStateStore
from pipelines.parts import complete_members, compression_of, day_parts, part_key, read_parts
from tests import texts
from tests.crawling import ROOT, scrapy_env
from tests.pipeline_run import make_crawler, outlet, raw_record, run

pytestmark = pytest.mark.e2e  # the commands run in child processes

DAILY = outlet("daily-a")
DAY, NEXT_DAY = "2025-08-04", "2025-08-05"


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


def on_disk(tmp: Path) -> dict[str, int]:
    return {part_key(p): p.stat().st_size for p in output_files(tmp / "output", "daily-a")}


def assert_state_matches_output(tmp: Path) -> None:
    """Every part on disk is reflected in state (its day sealed, or in the checkpoint with
    its size), and the checkpoint names no part that is not on disk as it is."""
    ledger = open_ledger(tmp)
    try:
        sealed = ledger.sealed_through() or ""
    finally:
        ledger.store.close()
    rows, disk = checkpoint(tmp), on_disk(tmp)
    assert all(rows.get(key) == size or key[:10] <= sealed for key, size in disk.items()), (rows, disk, sealed)
    assert all(disk.get(key) == size for key, size in rows.items()), (rows, disk)


def hidden(tmp: Path) -> list[str]:
    return sorted(p.name for p in (tmp / "output").rglob(".*"))


def newscrawl(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscrawl.cli", *args, "-s", f"NEWSCRAWL_OUTPUT_DIR={tmp / 'output'}",
                           "-s", f"NEWSCRAWL_STATE_DIR={tmp / 'state'}"],
                          cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=120)


def urls(tmp: Path) -> list[str]:
    return [r["url"] for r in read_parts(tmp / "output" / "daily-a")]


@pytest.mark.parametrize("compression", ["", "gzip", "zstd"])
def test_compact_merges_each_days_parts_into_one_and_keeps_the_checkpoint_exact(tmp_path, compression):
    write_articles(tmp_path, 6, DAY, compression)
    write_articles(tmp_path, 3, NEXT_DAY, compression, first=6)
    before = urls(tmp_path)
    assert len(output_files(tmp_path / "output", "daily-a")) == 9
    assert_state_matches_output(tmp_path)

    one_day = newscrawl(tmp_path, "compact", "daily-a", "--day", DAY)
    assert one_day.returncode == 0, one_day.stderr
    merged = day_parts(tmp_path / "output" / "daily-a")
    assert [p.parent.name for p in merged] == [DAY, NEXT_DAY, NEXT_DAY, NEXT_DAY]
    assert one_day.stdout.splitlines() == [f"newscrawl compact: daily-a {DAY}: 6 parts merged into {merged[0].name}"]
    assert compression_of(merged[0]) == compression
    if compression:  # one gzip member / zstd frame, as a part written at once is
        members, length = complete_members(merged[0].read_bytes(), compression)
        assert len(members) == 1 and length == merged[0].stat().st_size
    assert urls(tmp_path) == before  # the same records, in the same order
    assert_state_matches_output(tmp_path)

    # A later crawl adds to the day; the merged part is merged again with its parts.
    write_articles(tmp_path, 2, DAY, compression, first=9)
    before = urls(tmp_path)
    every_past_day = newscrawl(tmp_path, "compact")  # every outlet, every day before today
    assert every_past_day.returncode == 0, every_past_day.stderr
    assert [p.parent.name for p in day_parts(tmp_path / "output" / "daily-a")] == [DAY, NEXT_DAY]
    assert urls(tmp_path) == before and len(before) == 11
    assert_state_matches_output(tmp_path)
    assert newscrawl(tmp_path, "compact", "daily-a").stdout == "newscrawl compact: daily-a: nothing to merge\n"
    ledger = open_ledger(tmp_path)
    try:
        assert ledger.reconcile() == 0  # the next crawl has nothing to replay
        assert set(ledger.written()) == set(before)
    finally:
        ledger.store.close()
    assert hidden(tmp_path) == []


def test_parts_not_yet_in_state_are_left_for_the_next_crawl(tmp_path):
    write_articles(tmp_path, 4)
    # A crawl killed between publishing its last part and recording it.
    last = output_files(tmp_path / "output", "daily-a")[-1]
    ledger = open_ledger(tmp_path)
    ledger.store.delete(NS_CHECKPOINT, part_key(last))
    ledger.store.close()
    proc = newscrawl(tmp_path, "compact", "daily-a", "--day", DAY)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == (f"newscrawl compact: daily-a {DAY}: 1 part not yet in state left alone "
                                            "(the next crawl records them)")
    assert last.exists() and len(output_files(tmp_path / "output", "daily-a")) == 2
    ledger = open_ledger(tmp_path)
    try:
        assert ledger.reconcile() == 1  # exactly that part's record
    finally:
        ledger.store.close()
    assert_state_matches_output(tmp_path)


# Runs a compaction in this child and kills it (os._exit: no handler, no cleanup) at one
# point of the protocol in newscrawl.ledger.OutletLedger.compact.
KILLED_COMPACTION = r"""
import os, sys
from pathlib import Path
import newscrawl.ledger as ledger_module
from newscrawl.ledger import OutletLedger
from newscrawl.state import SQLiteStateStore

output, state, day, point = sys.argv[1:]
die = lambda: os._exit(9)
real_rename, real_unlink = os.rename, Path.unlink

def rename(src, dst):
    if Path(dst).name.startswith("part-") and point == "before-rename":
        die()
    real_rename(src, dst)
    if Path(dst).name.startswith("part-") and point == "after-rename":
        die()

def unlink(self, missing_ok=False):
    if self.name.startswith(".compact-") and point == "before-intent-removed":
        die()
    real_unlink(self, missing_ok=missing_ok)
    if self.name.startswith("part-") and point == "one-part-removed":
        die()

os.rename, Path.unlink = rename, unlink
if point == "intent-written":
    ledger_module.fsync_folder = lambda folder: die()  # the intent is written, not yet synced
ledger = OutletLedger(SQLiteStateStore(Path(state) / "daily-a.sqlite"), "daily-a", output)
ledger.compact(day)
print("not killed")
"""


@pytest.mark.parametrize("sealed", [False, True], ids=["open-day", "sealed-day"])
@pytest.mark.parametrize("point", ["intent-written", "before-rename", "after-rename", "one-part-removed",
                                   "before-intent-removed"])
def test_a_compaction_killed_at_any_point_leaves_every_record_once(tmp_path, point, sealed):
    written = write_articles(tmp_path, 5)
    before = urls(tmp_path)
    ledger = open_ledger(tmp_path)
    try:
        if sealed:  # the crawl after the day: DAY is sealed, its checkpoint entries gone
            assert ledger.reconcile() == 0 and ledger.sealed_through() > DAY
            assert checkpoint(tmp_path) == {}
        else:
            assert ledger.sealed_through() < DAY
    finally:
        ledger.store.close()
    proc = subprocess.run([sys.executable, "-c", KILLED_COMPACTION, str(tmp_path / "output"), str(tmp_path / "state"),
                           DAY, point], cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert [n for n in hidden(tmp_path) if n.startswith(".compact-")], "killed before the intent was written"
    # The next crawl opens the ledger: the compaction is rolled back or forward.
    ledger = open_ledger(tmp_path)
    try:
        assert ledger.reconcile() == 0  # nothing was unrecorded, nothing is replayed
    finally:
        ledger.store.close()
    assert sorted(urls(tmp_path)) == sorted(before)  # each record once, none lost
    forward = point in ("after-rename", "one-part-removed", "before-intent-removed")
    assert len(output_files(tmp_path / "output", "daily-a")) == (1 if forward else len(written))
    assert_state_matches_output(tmp_path)
    assert hidden(tmp_path) == []
    # And a compaction run again ends with one part.
    assert newscrawl(tmp_path, "compact", "daily-a", "--day", DAY).returncode == 0
    assert urls(tmp_path) == before
    assert len(output_files(tmp_path / "output", "daily-a")) == 1
    assert_state_matches_output(tmp_path)


def at(monkeypatch, when: str) -> None:
    """The crawl's clock (newscrawl/clock.py) set to `when` (ISO 8601, UTC)."""
    moment = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
    monkeypatch.setenv(OFFSET_VARIABLE, f"{moment.timestamp() - time.time():.3f}")


def test_a_crawl_reads_only_the_days_not_yet_sealed(tmp_path, monkeypatch):
    days = [f"2025-08-{d:02d}" for d in range(1, 11)]
    for n, day in enumerate(days):  # a crawl a day, at noon, as the clock says
        at(monkeypatch, f"{day}T12:00:00")
        write_articles(tmp_path, 2, day, first=2 * n)
    ledger = open_ledger(tmp_path)
    try:
        assert ledger.reconcile() == 0
        # Sealed: every day up to two before the clock's; the checkpoint holds the others.
        assert ledger.sealed_through() == "2025-08-08"
        assert sorted({key[:10] for key in checkpoint(tmp_path)}) == ["2025-08-09", "2025-08-10"]
        assert len(checkpoint(tmp_path)) == 4
        assert_state_matches_output(tmp_path)

        # A part a killed crawl did not record, in an open day, is applied at the next start.
        last = output_files(tmp_path / "output", "daily-a")[-1]
        ledger.store.delete(NS_CHECKPOINT, part_key(last))
        assert ledger.reconcile() == 1
        # A sealed day is not read again: a part put there by hand is not noticed.
        copy = tmp_path / "output" / "daily-a" / "2025-08-03" / last.name.replace("-000001", "-000009")
        copy.write_bytes(last.read_bytes())
        assert ledger.reconcile() == 0
        copy.unlink()
    finally:
        ledger.store.close()

    # A crawl whose clock went back writes to a sealed day: the day is opened first, so
    # that a part of it a kill leaves unrecorded is still applied at the next start.
    at(monkeypatch, "2025-08-10T13:00:00")
    write_articles(tmp_path, 1, "2025-08-05", first=100)
    ledger = open_ledger(tmp_path)
    try:
        assert ledger.sealed_through() == "2025-08-04"
        assert_state_matches_output(tmp_path)
        part = day_parts(tmp_path / "output" / "daily-a")[8 + 2]  # the day's third part: this crawl's
        assert part.parent.name == "2025-08-05" and part.name.startswith("part-20250810T13")
        ledger.store.delete(NS_CHECKPOINT, part_key(part))
        assert ledger.reconcile() == 1
        assert ledger.sealed_through() == "2025-08-08"
        assert len(checkpoint(tmp_path)) == 4
    finally:
        ledger.store.close()
    assert len(urls(tmp_path)) == len(set(urls(tmp_path))) == 21


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
