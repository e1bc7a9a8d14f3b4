"""Prints the cost of the record stages' heavy parts: language detector load and call,
MinHash of a 1,000-word text, and normalise_record of a typical article."""

import random
import time

from newscrawl.outlets import Outlet
from pipelines.dedupe import minhash
from pipelines.normalise import detect_language, language_detector, normalise_record
from tests import texts


def per_call(fn, n):
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main():
    start = time.perf_counter()
    language_detector()
    print(f"language detector build + model load: {time.perf_counter() - start:.2f} s")
    for name in ("ENGLISH", "URDU", "PERSIAN", "CHINESE", "MARATHI"):
        text = getattr(texts, name) * 6
        print(f"detect_language {name.lower():8} ({len(text)} chars): {per_call(lambda: detect_language(text), 50):.2f} ms")
    rng = random.Random(1)
    vocab = texts.WIRE_STORY.split()
    thousand = " ".join(rng.choice(vocab) for _ in range(1000))
    minhash(thousand)
    print(f"MinHash of 1,000 words (128 perms, 5-shingles): {per_call(lambda: minhash(thousand), 200):.2f} ms")
    outlet = Outlet(name="bench", display_name="b", domains=("b.test",), homepage="https://b.test/")
    record = {"url": "https://b.test/a?utm_source=x", "text": thousand, "language": None,
              "published_at": "2025-08-01 10:00", "authors": ["By A B and C D"]}
    print(f"normalise_record, 1,000 words, language detected: {per_call(lambda: normalise_record(record, outlet), 50):.2f} ms")


if __name__ == "__main__":
    main()
