"""The README's main command, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.validate import validate_record
from pipelines.parts import read_records
from tests.crawling import ROOT, scrapy_env

pytestmark = pytest.mark.e2e  # `newscrawl demo` in a child process


def test_newscrawl_demo_writes_valid_clean_records(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "newscrawl.cli", "demo", "--output", str(tmp_path)],
                          cwd=tmp_path, env=scrapy_env(None), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    days = list((tmp_path / "demo-journal").glob("[0-9]*"))
    assert len(days) == 1
    parts = sorted(days[0].glob("part-*.jsonl"))
    assert parts and not list(days[0].glob(".*"))  # only whole, published parts
    # It says what it wrote and where.
    assert f"{days[0]}/: 25 records in {len(parts)} part file" in proc.stdout
    records = [r for part in parts for r in read_records(part)]
    assert len(records) == 25
    for record in records:
        assert validate_record(record) == []
        for cruft in ("Download Newspin", "App Store", "Google Play", "Latest News", "Popular Videos"):
            assert cruft not in record["text"]
    assert list((tmp_path / "demo-journal" / "runs").glob("*.json"))
    # The terminal shows a summary; the crawl's log is in the file it names.
    logs = list((tmp_path / "logs" / "demo-journal").glob("*.log"))
    assert len(logs) == 1 and f"(its log: {logs[0].relative_to(tmp_path)})" in proc.stdout
    assert "Spider closed (finished)" in logs[0].read_text(encoding="utf-8")
    assert "[scrapy" not in proc.stdout + proc.stderr and len(proc.stdout.splitlines()) < 12
    warcs = list((tmp_path / "archive" / "demo-journal").glob("*.warc.gz"))  # the archive, beside it
    assert len(warcs) == 1 and f"{warcs[0].relative_to(tmp_path)}: " in proc.stdout and "25 article pages as fetched" in proc.stdout
