import random
import uuid

import pytest

from newscrawl.state import RedisStateStore, SQLiteStateStore
from pipelines.dedupe import Deduplicator, minhash
from pipelines.minhash import NearDuplicateIndex, bands_for, similarity
from pipelines.normalise import normalise_record
from pipelines.validate import validate_record
from pipelines.parts import read_records
from tests import texts
from tests.needs import needs, redis_answers
from tests.pipeline_run import make_crawler, outlet, raw_record, run

DAILY = outlet("daily-a", "Asia/Karachi")
HERALD = outlet("herald-b", "Asia/Kolkata")


def crawl(tmp_path, for_outlet, items, **settings):
    crawler = make_crawler(tmp_path, for_outlet, **settings)
    kept, dropped = run(crawler, items)
    return kept, dropped, crawler.stats.get_stats()


def test_wire_copy_similarity_sits_between_threshold_and_one():
    a = minhash(normalise_record(raw_record("https://x.test/1", texts.WIRE_AT_A, "x"), DAILY)[0]["text"])
    b = minhash(normalise_record(raw_record("https://x.test/2", texts.WIRE_AT_B, "x"), DAILY)[0]["text"])
    assert 0.8 <= similarity(a, b) < 1.0


def test_url_duplicates_within_a_run_and_same_outlet_copies_are_dropped(tmp_path):
    items = [
        raw_record("https://daily-a.test/floods?utm_source=rss", texts.WIRE_AT_A, "daily-a"),
        raw_record("https://daily-a.test/floods#comments", texts.WIRE_AT_A, "daily-a"),
        raw_record("https://daily-a.test/print/floods", texts.WIRE_AT_A, "daily-a"),
    ]
    kept, dropped, stats = crawl(tmp_path, DAILY, items)
    assert [r["canonical_url"] for r in kept] == ["https://daily-a.test/floods"]
    assert stats["newscrawl/duplicates/url"] == 1
    assert stats["newscrawl/duplicates/content"] == 1
    assert len(dropped) == 2


def test_wire_story_across_two_outlets_and_two_runs(tmp_path):
    # Run 1: outlet A publishes the wire story.
    kept_a, _, _ = crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/world/floods", texts.WIRE_AT_A, "daily-a")])
    original = kept_a[0]
    assert original["duplicate_of"] is None

    # Run 2, another outlet, state reopened from disk: the exact copy and the edited copy
    # are marked as duplicates of A's article; an unrelated story is not.
    items = [
        raw_record("https://herald-b.test/exact-copy", texts.WIRE_AT_A, "herald-b"),
        raw_record("https://herald-b.test/edited-copy", texts.WIRE_AT_B, "herald-b"),
        raw_record("https://herald-b.test/own-story", texts.ENGLISH * 6, "herald-b"),
    ]
    kept_b, dropped, stats = crawl(tmp_path, HERALD, items)
    assert dropped == []
    by_url = {r["url"]: r for r in kept_b}
    assert by_url["https://herald-b.test/exact-copy"]["duplicate_of"] == original["id"]
    assert by_url["https://herald-b.test/edited-copy"]["duplicate_of"] == original["id"]
    assert by_url["https://herald-b.test/own-story"]["duplicate_of"] is None
    assert stats["newscrawl/duplicates/wire_exact"] == 1
    assert stats["newscrawl/duplicates/near"] == 1

    # Run 3: outlet A again: its article is a known URL and is dropped.
    _, dropped, stats = crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/world/floods?fbclid=9", texts.WIRE_AT_A, "daily-a")])
    assert stats["newscrawl/duplicates/url"] == 1 and len(dropped) == 1

    # Every record written validates against the shipped schema.
    written = [r for f in (tmp_path / "output").glob("*/2025-08-04/part-*.jsonl") for r in read_records(f)]
    assert len(written) == 4
    assert all(validate_record(r) == [] for r in written)


def test_near_duplicates_dropped_when_asked(tmp_path):
    crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/floods", texts.WIRE_AT_A, "daily-a")])
    kept, dropped, stats = crawl(tmp_path, HERALD, [raw_record("https://herald-b.test/floods", texts.WIRE_AT_B, "herald-b")],
                                 NEWSCRAWL_DROP_NEAR_DUPLICATES=True)
    assert kept == [] and "near" in dropped[0]
    assert stats["newscrawl/duplicates/near"] == 1


def test_duplicate_of_points_at_the_root_of_a_chain(tmp_path):
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    dedup = Deduplicator(store)
    first, _ = normalise_record(raw_record("https://daily-a.test/1", texts.WIRE_AT_A, "daily-a"), DAILY)
    second, _ = normalise_record(raw_record("https://herald-b.test/2", texts.WIRE_AT_B, "herald-b"), HERALD)
    third, _ = normalise_record(raw_record("https://c.test/3", texts.WIRE_AT_B + "\n\nMore.", "c"), outlet("c"))
    assert dedup.check(first).record["duplicate_of"] is None
    assert dedup.check(second).record["duplicate_of"] == first["id"]
    assert dedup.check(third).record["duplicate_of"] == first["id"]
    store.close()


def test_changed_text_at_a_known_url_is_a_new_revision(tmp_path):
    crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/live", texts.WIRE_AT_A, "daily-a")])
    updated = texts.WIRE_AT_A + "\n\nUpdate: the death toll has risen to 17, officials said on Tuesday evening."
    kept, _, stats = crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/live", updated, "daily-a")])
    assert kept[0]["revision"] == 2 and kept[0]["duplicate_of"] is None
    assert stats["newscrawl/revisions"] == 1
    _, dropped, _ = crawl(tmp_path, DAILY, [raw_record("https://daily-a.test/live", updated + " More.", "daily-a")],
                          NEWSCRAWL_KEEP_REVISIONS=False)
    assert len(dropped) == 1


def test_signatures_expire_after_the_retention_window(tmp_path):
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    day = 86400
    first, _ = normalise_record(raw_record("https://daily-a.test/1", texts.WIRE_AT_A, "daily-a"), DAILY)
    Deduplicator(store, clock=lambda: 1_000 * day).check(first)
    assert store.count("minhash") == 1
    later = Deduplicator(store, retention_days=30, clock=lambda: 1_031 * day)
    assert store.count("minhash") == 0 and len(later.signatures) == 0
    second, _ = normalise_record(raw_record("https://herald-b.test/2", texts.WIRE_AT_B, "herald-b"), HERALD)
    assert later.check(second).record["duplicate_of"] is None
    store.close()


def test_signature_is_stored_compactly(tmp_path):
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    first, _ = normalise_record(raw_record("https://daily-a.test/1", texts.WIRE_AT_A, "daily-a"), DAILY)
    Deduplicator(store).check(first)
    [(key, value)] = list(store.items("minhash"))
    # 128 hashes in well under a kilobyte (a JSON list of them takes about 1.4 KB).
    assert key == first["id"] and len(value) < 800
    # and read back from the store, it is the same signature: the copy is still found.
    second, _ = normalise_record(raw_record("https://herald-b.test/2", texts.WIRE_AT_B, "herald-b"), HERALD)
    assert Deduplicator(store).check(second).record["duplicate_of"] == first["id"]
    store.close()


@needs("redis", redis_answers(), "no Redis answering on 127.0.0.1:6379")
def test_dedupe_state_in_redis_across_runs(tmp_path):
    prefix = f"newscrawl-test-{uuid.uuid4().hex}"
    store = RedisStateStore("redis://127.0.0.1:6379/0", prefix)
    try:
        first, _ = normalise_record(raw_record("https://daily-a.test/1", texts.WIRE_AT_A, "daily-a"), DAILY)
        assert Deduplicator(store).check(first).keep
        reopened = Deduplicator(RedisStateStore("redis://127.0.0.1:6379/0", prefix))
        again = reopened.check(first)
        assert not again.keep and again.reason == "url"
        second, _ = normalise_record(raw_record("https://herald-b.test/2", texts.WIRE_AT_B, "herald-b"), HERALD)
        assert reopened.check(second).record["duplicate_of"] == first["id"]
    finally:
        store.clear()
        store.close()


def test_signature_from_worker_hashes_is_datasketchs_signature_of_the_shingles():
    from datasketch import LeanMinHash, MinHash

    from pipelines.dedupe import NUM_PERM, minhash
    from pipelines.normalise import shingles

    text = normalise_record(raw_record("https://x.test/1", texts.WIRE_AT_A, "x"), DAILY)[0]["text"]
    direct = MinHash(num_perm=NUM_PERM, seed=1)  # datasketch's own hashing of the shingles
    direct.update_batch(list(shingles(text)))
    assert list(minhash(text)) == list(LeanMinHash(direct).hashvalues)
    assert list(minhash("")) == list(MinHash(num_perm=NUM_PERM, seed=1).hashvalues)  # the empty set


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_bands_are_the_ones_datasketch_chooses(threshold):
    from datasketch import LeanMinHash, MinHashLSH

    reference = MinHashLSH(threshold=threshold, num_perm=128)
    assert bands_for(threshold, 128) == (reference.b, reference.r)


def test_index_finds_what_datasketchs_lsh_finds_and_forgets_removed_keys():
    from datasketch import LeanMinHash, MinHashLSH

    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(400)]
    base = [rng.choice(vocabulary) for _ in range(300)]
    docs = {}
    for i in range(60):  # variants of one text at many distances, and unrelated texts
        words = list(base) if i % 2 else [rng.choice(vocabulary) for _ in range(300)]
        for _ in range(i // 2):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        docs[f"d{i}"] = minhash(" ".join(words))
    ours, reference = NearDuplicateIndex(0.8), MinHashLSH(threshold=0.8, num_perm=128)
    for key, sig in docs.items():
        ours.add(key, sig)
        reference.insert(key, LeanMinHash(seed=1, hashvalues=sig, scheme="affine32"))
    for sig in docs.values():
        assert ours.candidates(sig) == set(reference.query(LeanMinHash(seed=1, hashvalues=sig, scheme="affine32")))
    assert sum(len(ours.candidates(sig)) > 1 for sig in docs.values()) >= 5  # near copies were found
    ours.add("copy", docs["d1"])
    assert "copy" in ours.candidates(docs["d1"])
    ours.remove("copy")
    ours.add("d1", docs["d0"])  # a new revision replaces the old signature
    assert ours.candidates(docs["d1"]).isdisjoint({"copy", "d1"})
    assert "d1" in ours.candidates(docs["d0"]) and len(ours) == 60
