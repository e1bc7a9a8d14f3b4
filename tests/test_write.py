import gzip
import json
import threading

import pytest
import zstandard

from pipelines.validate import validate_record
from pipelines.write import JsonlWriter, OutputPathError, output_path, read_records
from tests import texts
from tests.pipeline_run import make_crawler, outlet, raw_record, run

DAILY = outlet("daily-a", "Asia/Karachi")


def rec(i: int) -> dict:
    return {"n": i, "text": "نص عربي " * (i % 7 + 1) + "国务院"}


def decompress_all(path, compression):
    """The whole file, decompressed by the standard decoders (which fail on a torn member)."""
    if compression == "gzip":
        return gzip.decompress(path.read_bytes())
    with path.open("rb") as f:  # as `zstd -d` reads it: every frame in turn
        return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read()


def test_plain_file_holds_only_whole_lines_after_every_write(tmp_path):
    path = tmp_path / "a.jsonl"
    with JsonlWriter(path, batch_records=1) as writer:
        for i in range(20):
            writer.write(rec(i))
            raw = path.read_bytes()
            assert raw.endswith(b"\n")
            assert [json.loads(line)["n"] for line in raw.splitlines()] == list(range(i + 1))
    assert "国务院" in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_records_are_published_by_whole_batches_and_at_close(tmp_path):
    path = tmp_path / "a.jsonl"
    writer = JsonlWriter(path, batch_records=4, batch_seconds=3600)
    for i in range(6):
        writer.write(rec(i))
    assert [r["n"] for r in read_records(path)] == [0, 1, 2, 3]  # the second batch is not out yet
    writer.close()
    assert [r["n"] for r in read_records(path)] == list(range(6))


def test_a_killed_writers_private_copy_is_removed_and_never_published(tmp_path):
    path = tmp_path / "a.jsonl"
    with JsonlWriter(path, batch_records=1) as writer:
        writer.write(rec(0))
    stale = tmp_path / ".a.jsonl.99999.tmp"
    stale.write_bytes(path.read_bytes() + b'{"n": 1, "half')  # a publish that was killed
    with JsonlWriter(path, batch_records=1) as writer:
        writer.write(rec(2))
    assert not stale.exists()
    assert [r["n"] for r in read_records(path)] == [0, 2]


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_file_is_always_whole_members(tmp_path, compression):
    path = tmp_path / ("a.jsonl.gz" if compression == "gzip" else "a.jsonl.zst")
    writer = JsonlWriter(path, compression, batch_records=3, batch_seconds=3600)
    for i in range(10):
        writer.write(rec(i))
        # between writes a reader decompresses the whole file without error
        seen = [r["n"] for r in read_records(path)] if path.exists() else []
        assert seen == list(range(len(seen))) and len(seen) == (i + 1) // 3 * 3
        if path.exists():
            assert decompress_all(path, compression).count(b"\n") == len(seen)
    writer.close()  # flushes the last partial batch
    assert [r["n"] for r in read_records(path)] == list(range(10))
    assert decompress_all(path, compression).count(b"\n") == 10


@pytest.mark.parametrize("compression, name", [("", "a.jsonl"), ("gzip", "a.jsonl.gz"), ("zstd", "a.jsonl.zst")])
def test_torn_tail_is_ignored_by_readers_and_cut_by_the_next_writer(tmp_path, compression, name):
    path = tmp_path / name
    with JsonlWriter(path, compression) as writer:
        writer.write(rec(1))
    good = path.read_bytes()
    with path.open("ab") as f:  # a process killed in the middle of a write
        f.write(good[: len(good) // 2] if compression else b'{"n": 2, "te')
    assert [r["n"] for r in read_records(path)] == [1]
    with JsonlWriter(path, compression) as writer:
        writer.write(rec(3))
    assert [r["n"] for r in read_records(path)] == [1, 3]


def test_concurrent_reader_never_sees_a_broken_record(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    writer = JsonlWriter(path, "gzip", batch_records=5)
    stop = threading.Event()
    counts, errors = [], []

    def reader():
        while not stop.is_set():
            try:
                if path.exists():
                    counts.append(sum(1 for _ in read_records(path)))
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
    assert counts, "the reader never read the file"
    assert counts == sorted(counts) and all(c % 5 == 0 for c in counts)


@pytest.mark.parametrize("outlet_name, filename", [
    ("../etc", "x.jsonl"), ("a/b", "x.jsonl"), ("", "x.jsonl"), ("daily-a", "../x.jsonl"), ("daily-a", "sub/x.jsonl"),
])
def test_paths_stay_inside_the_output_folder(tmp_path, outlet_name, filename):
    with pytest.raises(OutputPathError):
        output_path(tmp_path, outlet_name, filename)


def test_bad_compression_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="compression"):
        JsonlWriter(tmp_path / "a.jsonl", "bz2")


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
    assert sorted(p.name for p in out.iterdir()) == [f"2025-08-04{suffix}", f"2025-08-05{suffix}"]
    written = [r for p in sorted(out.iterdir()) for r in read_records(p)]
    assert [r["url"] for r in written] == ["https://daily-a.test/2", "https://daily-a.test/1"]
    assert all(validate_record(r) == [] for r in written)
    assert crawler.stats.get_value("newscrawl/written") == 2
