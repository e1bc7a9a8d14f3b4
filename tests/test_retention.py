"""Retention: a run prunes its outlet's old logs and run reports (keeping the recent ones
and the health check's window), and an SQLite state file with many free pages is
compacted when its store closes. A crawl on a shifted clock (NEWSCRAWL_CLOCK_OFFSET)
names, dates and prunes its files by that clock."""

from __future__ import annotations

import pytest

import json
import os
import time
from datetime import datetime, timedelta, timezone

from newscrawl.clock import OFFSET_VARIABLE
from newscrawl.retention import prune
from pipelines.parts import day_parts, read_parts
from newscrawl.state import SQLiteStateStore
from tests.test_faults import URDU, newscrawl_crawl
from newscrawl.demo import serve_outlet

pytestmark = pytest.mark.e2e  # real crawls, child processes and local servers

STAMP = "%Y%m%dT%H%M%SZ"


def stamped(folder, days_ago: float, suffix: str, text: str = "") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    path = folder / f"{when.strftime(STAMP)}{suffix}"
    path.write_text(text or "{}\n")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path.name


def test_a_run_prunes_old_logs_and_reports_and_keeps_recent_ones_and_the_health_window(tmp_path):
    name = URDU.name
    logs, runs = tmp_path / "logs" / name, tmp_path / "output" / name / "runs"
    report = json.dumps({"articles": {"seen": 4}, "coverage": {"records": 0}})
    old_logs = [stamped(logs, 200 + i, ".log") for i in range(6)]
    old_reports = [stamped(runs, 200 + i, ".json", report) for i in range(6)]
    recent_log, recent_report = stamped(logs, 10, ".log"), stamped(runs, 10, ".json", report)
    unrelated = logs.parent / "cron.log"
    unrelated.write_text("cron's own\n")
    with serve_outlet(URDU) as served:
        proc = newscrawl_crawl(tmp_path, served.outlet, {"NEWSCRAWL_KEEP_LOGS_DAYS": "30",
                                                         "NEWSCRAWL_KEEP_REPORTS_DAYS": "30",
                                                         "NEWSCRAWL_HEALTH_WINDOW": "3"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs_left = sorted(p.name for p in logs.glob("*.log"))
    reports_left = sorted(p.name for p in runs.glob("*.json"))
    # This run's, the recent one, and the newest old one: the window of 3, kept however old.
    assert len(logs_left) == 3 and len(reports_left) == 3, (logs_left, reports_left)
    assert recent_log in logs_left and old_logs[0] in logs_left
    assert recent_report in reports_left and old_reports[0] in reports_left
    assert not set(old_logs[1:]) & set(logs_left) and not set(old_reports[1:]) & set(reports_left)
    assert unrelated.exists()
    assert "retention: 5 logs and 5 run reports" in sorted(logs.glob("*.log"))[-1].read_text()


def test_prune_keeps_everything_when_off_and_dates_by_name():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = stamped(folder, 400, ".json")
        (folder / old).touch()  # a fresh mtime: the name's date counts
        assert prune(folder, ".json", keep_days=0) == []
        assert [p.name for p in prune(folder, ".json", keep_days=90)] == [old]


def test_sqlite_state_is_compacted_when_free_pages_matter(tmp_path):
    path = tmp_path / "s.sqlite"
    store = SQLiteStateStore(path)
    store.put_many("keep", ((f"k{i}", "v" * 200) for i in range(2000)))
    store.put_many("gone", ((f"k{i}", "v" * 200) for i in range(20000)))
    store.close()
    size_full = path.stat().st_size
    store = SQLiteStateStore(path)
    store.clear("gone")
    free, total = store.free_space()
    assert free > 1 << 20 and free > total / 4
    started = time.perf_counter()
    store.close()  # compacts
    took = time.perf_counter() - started
    assert path.stat().st_size < size_full / 4
    assert not (tmp_path / "s.sqlite-wal").exists() or (tmp_path / "s.sqlite-wal").stat().st_size == 0
    assert took < 5
    store = SQLiteStateStore(path)
    assert store.count("keep") == 2000 and store.count("gone") == 0
    # Little free space: left as it is.
    store.delete("keep", "k1")
    assert not store.maybe_compact()
    store.close()


def test_a_crawl_on_a_shifted_clock_names_dates_and_prunes_by_it(tmp_path, monkeypatch):
    name = URDU.name
    shift = timedelta(days=400)
    monkeypatch.setenv(OFFSET_VARIABLE, str(shift.total_seconds()))
    logs, runs, fleet_logs = tmp_path / "logs" / name, tmp_path / "output" / name / "runs", tmp_path / "logs" / "_fleet"
    report = json.dumps({"articles": {"seen": 4}, "coverage": {"records": 0}})
    # Made now by the real clock: 400 days old by the crawl's.
    stamped(logs, 0, ".log"), stamped(runs, 0, ".json", report), stamped(fleet_logs, 0, "-1.log")
    days = {(datetime.now(timezone.utc) + shift).date()}
    with serve_outlet(URDU) as served:
        proc = newscrawl_crawl(tmp_path, served.outlet, {"NEWSCRAWL_HEALTH_WINDOW": "1"})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        days.add((datetime.now(timezone.utc) + shift).date())  # the crawl may have run over midnight

        # Its files are named and dated by its clock; the old ones are pruned by it.
        stamps = {d.strftime("%Y%m%d") for d in days}
        for folder, suffix in ((logs, ".log"), (runs, ".json"), (fleet_logs, ".log")):
            names = [p.name for p in folder.glob(f"*{suffix}")]
            assert len(names) == 1 and names[0][:8] in stamps, (folder, names)
        written = list(read_parts(tmp_path / "output" / name))
        assert len(written) == len(served.build.all_articles)
        assert {r["fetched_at"][:10] for r in written} <= {d.isoformat() for d in days}
        assert {p.parent.name for p in day_parts(tmp_path / "output" / name)} <= {d.isoformat() for d in days}
        assert json.loads(next(runs.glob("*.json")).read_text())["started_at"][:10] in {d.isoformat() for d in days}

        # An offset that is not a number of seconds: one line, exit 2, nothing crawled.
        served.site.clear_requests()
        monkeypatch.setenv(OFFSET_VARIABLE, "next week")
        proc = newscrawl_crawl(tmp_path, served.outlet)
        assert proc.returncode == 2
        assert proc.stderr == "newscrawl crawl: NEWSCRAWL_CLOCK_OFFSET must be a number of seconds, not 'next week'\n"
        assert not served.site.requests
