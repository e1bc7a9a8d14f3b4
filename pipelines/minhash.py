"""MinHash signatures and the LSH index that finds near-duplicate articles, in numpy.

The signatures are datasketch's, value for value: `MinHash(num_perm, seed=1)` with its
default hash of each shingle (`sha1_hash32`) and its default "affine32" permutations, so
signatures stored by earlier runs stay comparable (tests/test_dedupe.py checks both
against datasketch itself). The band count and width are chosen as datasketch's
`MinHashLSH` chooses them.

Not datasketch at run time, because the crawl process keeps this index for the whole
crawl: importing datasketch's LSH imports scipy (to choose the bands), ~60 MB and 0.7 s
of CPU at every start, and its in-memory index keeps a set and a bytes key per band per
article, ~6 KB an article. Here an article costs its 512-byte signature in one array and
an int per band.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NUM_PERM = 128
SEED = 1
MAX_HASH = np.uint32(0xFFFFFFFF)  # an empty set's value in every position
# MurmurHash3's 32-bit finalizer, applied once to each input hash before the permutations
# (datasketch's "affine32" scheme): shifts and multipliers.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


@lru_cache(maxsize=4)
def permutations(num_perm: int = NUM_PERM, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations h -> a*h + b (mod 2**32), a odd, drawn as datasketch draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signature(hashes: bytes, num_perm: int = NUM_PERM) -> np.ndarray:
    """The MinHash signature (num_perm uint32 values) of a set given as the packed
    little-endian uint32 hashes of its members (pipelines.normalise.shingle_hashes)."""
    hv = np.frombuffer(hashes, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    if not len(hv):
        return np.full(num_perm, MAX_HASH, dtype=np.uint32)
    # uint32 array arithmetic wraps silently: that is the modulo 2**32.
    s1, m1, s2, m2, s3 = _FMIX32
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    hv = hv ^ (hv >> s3)
    a, b = permutations(num_perm)
    return (hv * a + b).min(axis=0)


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The estimated Jaccard similarity of the two sets: the share of equal positions."""
    return float(np.count_nonzero(first == second)) / len(first)


def _integral(f, lo: float, hi: float, steps: int = 2000) -> float:
    x = np.linspace(lo, hi, steps + 1)
    y = f(x)
    return float((y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()) * (hi - lo) / (3 * steps))


@lru_cache(maxsize=16)
def bands_for(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) that minimise the mean of the false-positive and
    false-negative probability mass around `threshold` (datasketch's choice)."""
    best, best_error = (0, 0), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            def candidate(s):
                return 1 - (1 - s ** float(r)) ** float(b)

            false_positive = _integral(candidate, 0.0, threshold)
            false_negative = _integral(lambda s: 1 - candidate(s), threshold, 1.0)
            error = 0.5 * false_positive + 0.5 * false_negative
            if error < best_error:
                best, best_error = (b, r), error
    return best


class NearDuplicateIndex:
    """Signatures by key, and for each band a table from the band's hash to the rows
    that share it: the keys whose signatures agree on a whole band are the candidates."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM):
        self.num_perm = num_perm
        self.bands, self.rows = bands_for(threshold, num_perm)
        if self.bands < 2:
            raise ValueError(f"threshold {threshold} leaves fewer than 2 bands")
        self._signatures = np.empty((0, num_perm), dtype=np.uint32)
        self._keys: list[str | None] = []  # by row; None for a removed row
        self._row_of: dict[str, int] = {}
        self._free: list[int] = []
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(self.bands)]

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, key: str) -> bool:
        return key in self._row_of

    def get(self, key: str) -> np.ndarray | None:
        row = self._row_of.get(key)
        return None if row is None else self._signatures[row]

    def _band_hashes(self, sig: np.ndarray) -> list[int]:
        r = self.rows
        return [hash(sig[i * r:(i + 1) * r].tobytes()) for i in range(self.bands)]

    def add(self, key: str, sig: np.ndarray) -> None:
        """Indexes `sig` under `key`, replacing what the key had."""
        if key in self._row_of:
            self.remove(key)
        if self._free:
            row = self._free.pop()
            self._keys[row] = key
        else:
            row = len(self._keys)
            if row == len(self._signatures):  # grow by half again, as a list does
                grown = np.empty((max(64, row + row // 2), self.num_perm), dtype=np.uint32)
                grown[:row] = self._signatures
                self._signatures = grown
            self._keys.append(key)
        self._signatures[row] = sig
        self._row_of[key] = row
        for table, band in zip(self._tables, self._band_hashes(self._signatures[row])):
            present = table.get(band)
            if present is None:
                table[band] = row
            elif isinstance(present, list):
                present.append(row)
            else:
                table[band] = [present, row]

    def remove(self, key: str) -> None:
        row = self._row_of.pop(key)
        for table, band in zip(self._tables, self._band_hashes(self._signatures[row])):
            present = table.get(band)
            if isinstance(present, list):
                present.remove(row)
                if len(present) == 1:
                    table[band] = present[0]
            elif present == row:
                del table[band]
        self._keys[row] = None
        self._free.append(row)

    def candidates(self, sig: np.ndarray) -> set[str]:
        """Keys that share at least one whole band with `sig`."""
        rows: set[int] = set()
        for table, band in zip(self._tables, self._band_hashes(sig)):
            present = table.get(band)
            if present is None:
                continue
            if isinstance(present, list):
                rows.update(present)
            else:
                rows.add(present)
        return {self._keys[row] for row in rows}
