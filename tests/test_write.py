import glob
import gzip
import json
import re
import shlex
import subprocess
import sys
import threading
import time

import psutil
import pytest
import zstandard

from pipelines.validate import validate_record
from pipelines.parts import OutputPathError, PartWriter, day_parts, output_folder, read_parts, read_records
from tests import texts
from tests.crawling import ROOT
from tests.pipeline_run import make_crawler, outlet, raw_record, run

DAILY = outlet("daily-a", "Asia/Karachi")


def rec(i: int) -> dict:
    return {"n": i, "text": "نص عربي " * (i % 7 + 1) + "国务院"}


def parts(folder) -> list:
    return sorted(folder.glob("part-*.jsonl*"))


def decompress_all(path, compression):
    """The whole file, decompressed by the standard decoders (which fail on a torn member)."""
    if compression == "gzip":
        return gzip.decompress(path.read_bytes())
    with path.open("rb") as f:  # as `zstd -d` reads it: every frame in turn
        return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read()


def test_each_publish_is_a_new_whole_part_and_published_parts_never_change(tmp_path):
    folder = tmp_path / "2026-01-31"
    seen: dict = {}  # part name -> (inode, bytes) when first seen
    with PartWriter(folder, batch_records=1) as writer:
        for i in range(20):
            writer.write(rec(i))
            published = parts(folder)
            assert len(published) == i + 1
            for path in published:
                raw = path.read_bytes()
                assert raw.endswith(b"\n") and raw.count(b"\n") == 1
                seen.setdefault(path.name, (path.stat().st_ino, raw))
                assert (path.stat().st_ino, raw) == seen[path.name], f"{path.name} was rewritten"
    # Sorted by name, the parts are in the order they were written.
    assert [r["n"] for p in parts(folder) for r in read_records(p)] == list(range(20))
    assert "国务院" in parts(folder)[0].read_text(encoding="utf-8")  # ensure_ascii=False


def test_records_are_published_by_whole_parts_and_at_close(tmp_path):
    writer = PartWriter(tmp_path, batch_records=4, batch_seconds=3600)
    for i in range(6):
        writer.write(rec(i))
    assert [[r["n"] for r in read_records(p)] for p in parts(tmp_path)] == [[0, 1, 2, 3]]  # the rest waits
    writer.close()
    assert [[r["n"] for r in read_records(p)] for p in parts(tmp_path)] == [[0, 1, 2, 3], [4, 5]]


def test_a_part_is_also_published_at_a_size_and_after_a_time(tmp_path):
    line = len(json.dumps(rec(0), ensure_ascii=False, separators=(",", ":")).encode()) + 1
    by_size = PartWriter(tmp_path / "size", batch_records=100, batch_bytes=2 * line, batch_seconds=3600)
    for i in (0, 7, 14):  # records of the same length
        by_size.write(rec(i))
    assert [len(list(read_records(p))) for p in parts(tmp_path / "size")] == [2]
    by_time = PartWriter(tmp_path / "time", batch_records=100, batch_seconds=0.2)
    by_time.write(rec(0))
    by_time.flush_if_due()
    assert parts(tmp_path / "time") == []
    time.sleep(0.25)
    by_time.flush_if_due()  # what the crawl's timer calls
    assert [len(list(read_records(p))) for p in parts(tmp_path / "time")] == [1]


def test_a_killed_publish_is_seen_by_no_reader_and_removed_by_the_next_writer(tmp_path):
    folder = tmp_path / "daily-a" / "2026-01-31"
    with PartWriter(folder, batch_records=1) as writer:
        writer.write(rec(0))
    stale = folder / ".part-20260131T000000000Z-0badc0de-000001.tmp"
    stale.write_bytes(b'{"n": 1, "half')  # a publish killed half-way
    # Globs as pandas, DuckDB or a shell take them, and the project's own reader.
    for pattern in ("*/*/*.jsonl", "*/*/*.jsonl*", "*/*/*"):
        assert glob.glob(str(tmp_path / pattern)) == [str(p) for p in parts(folder)], pattern
    assert [r["n"] for r in read_parts(tmp_path / "daily-a")] == [0]
    with PartWriter(folder, batch_records=1) as writer:
        writer.write(rec(2))
    assert not stale.exists()
    assert [r["n"] for r in read_parts(tmp_path / "daily-a")] == [0, 2]


@pytest.mark.parametrize("compression, suffix", [("gzip", ".jsonl.gz"), ("zstd", ".jsonl.zst")])
def test_a_compressed_part_is_one_whole_member(tmp_path, compression, suffix):
    writer = PartWriter(tmp_path, compression, batch_records=3, batch_seconds=3600)
    for i in range(10):
        writer.write(rec(i))
    writer.close()
    published = parts(tmp_path)
    assert [p.name.endswith(suffix) for p in published] == [True] * 4
    assert [decompress_all(p, compression).count(b"\n") for p in published] == [3, 3, 3, 1]
    assert [r["n"] for p in published for r in read_records(p)] == list(range(10))


def test_concurrent_reader_never_sees_a_broken_record(tmp_path):
    writer = PartWriter(tmp_path, "gzip", batch_records=5)
    stop = threading.Event()
    counts, errors = [], []

    def lines(path) -> int:
        with open(path, "rb") as fh:
            return len(gzip.decompress(fh.read()).splitlines())

    def reader():
        while not stop.is_set():
            try:
                counts.append(sum(lines(p) for p in glob.glob(str(tmp_path / "*.jsonl.gz"))))
            except Exception as exc:  # any failure here is a broken file
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(400):
        writer.write(rec(i))
    writer.close()
    stop.set()
    thread.join()
    assert errors == []
    assert len(set(counts)) > 10, "the reader never read while the parts were published"
    assert counts == sorted(counts) and all(c % 5 == 0 for c in counts)


def test_disk_writes_grow_linearly_with_the_records(tmp_path):
    """Each record reaches the disk once: what the process writes is the output itself (the
    former day file, copied at each publish, cost the square)."""
    me = psutil.Process()
    for n in (300, 3000):
        folder = tmp_path / str(n)
        before = me.io_counters().write_chars
        with PartWriter(folder, batch_records=10) as writer:
            for i in range(n):
                writer.write(rec(i))
        written = me.io_counters().write_chars - before
        size = sum(p.stat().st_size for p in parts(folder))
        assert len(parts(folder)) == n // 10
        assert size <= written <= size + 64 * 1024, (n, size, written)


@pytest.mark.parametrize("outlet_name, subfolders", [
    ("../etc", ()), ("a/b", ()), ("", ()), ("daily-a", ("..",)), ("daily-a", ("sub/x",)), ("daily-a", ("",)),
])
def test_paths_stay_inside_the_output_folder(tmp_path, outlet_name, subfolders):
    with pytest.raises(OutputPathError):
        output_folder(tmp_path, outlet_name, *subfolders)


def test_bad_compression_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="compression"):
        PartWriter(tmp_path, "bz2")


@pytest.mark.parametrize("compression, suffix", [("", ".jsonl"), ("gzip", ".jsonl.gz"), ("zstd", ".jsonl.zst")])
def test_write_pipeline_files_by_outlet_and_utc_day(tmp_path, compression, suffix):
    crawler = make_crawler(tmp_path, DAILY, NEWSCRAWL_OUTPUT_COMPRESSION=compression)
    items = [
        raw_record("https://daily-a.test/1", texts.WIRE_AT_A, "daily-a", fetched_at="2025-08-04T23:30:00-02:00"),
        raw_record("https://daily-a.test/2", texts.ENGLISH * 4, "daily-a", fetched_at="2025-08-04T23:30:00+00:00"),
    ]
    kept, dropped = run(crawler, items)
    assert dropped == [] and len(kept) == 2
    out = tmp_path / "output" / "daily-a"
    published = day_parts(out)
    assert [p.parent.name for p in published] == ["2025-08-04", "2025-08-05"]
    assert all(p.name.startswith("part-") and p.name.endswith(suffix) for p in published)
    assert len({p.name.rsplit("-", 1)[0] for p in published}) == 1  # one run's tag
    written = list(read_parts(out))
    assert [r["url"] for r in written] == ["https://daily-a.test/2", "https://daily-a.test/1"]
    assert all(validate_record(r) == [] for r in written)
    assert crawler.stats.get_value("newscrawl/written") == 2
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def readme_command(start: str) -> list[str]:
    """The README's command line that starts with `start`, split as a shell splits it, run
    with this interpreter."""
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"the README shows no single line starting {start!r}"
    command = shlex.split(lines[0])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_the_readmes_one_liners_read_every_outlet_and_day_as_one_data_set(tmp_path, monkeypatch):
    # Two outlets, two days, the three formats, a field null in the first parts and set in
    # later ones (`duplicate_of` of wire copy), beside rejects and run reports.
    herald = outlet("herald-b", "Asia/Kolkata")
    runs = [
        (DAILY, "", [raw_record("https://daily-a.test/floods", texts.WIRE_AT_A, "daily-a"),
                     raw_record("https://daily-a.test/short", "Too short.", "daily-a")]),
        (DAILY, "gzip", [raw_record("https://daily-a.test/own", texts.ENGLISH * 4, "daily-a",
                                    fetched_at="2025-08-05T10:00:00+00:00")]),
        (herald, "zstd", [raw_record("https://herald-b.test/copy", texts.WIRE_AT_B, "herald-b"),
                          raw_record("https://herald-b.test/own", texts.ENGLISH * 6, "herald-b")]),
    ]
    written = []
    for for_outlet, compression, items in runs:
        crawler = make_crawler(tmp_path, for_outlet, NEWSCRAWL_OUTPUT_COMPRESSION=compression,
                               NEWSCRAWL_OUTPUT_BATCH_RECORDS=1)
        written += run(crawler, items)[0]
    assert len(written) == 4 and [r["duplicate_of"] is None for r in written] == [True, True, False, False]
    (tmp_path / "output" / "daily-a" / "runs").mkdir()
    (tmp_path / "output" / "daily-a" / "runs" / "20250804T093000Z.json").write_text('{"exit_code": 0}\n')
    assert list(read_parts(tmp_path / "output" / "daily-a" / "rejects"))
    monkeypatch.chdir(tmp_path)

    def output(command: list[str]) -> str:
        proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    table = output(readme_command('python -c "import duckdb'))
    counts = dict(re.findall(r"│\s*([a-z-]+)\s*│\s*(\d+)\s*│", table))
    assert counts == {"daily-a": "2", "herald-b": "2"}, table
    assert output(readme_command('python -c "import glob, pyarrow')).strip() == "4"
    assert output(readme_command('python -c "import glob, json')).strip() == "1"  # the plain parts
