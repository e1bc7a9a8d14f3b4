"""Prints what the ledger's commits cost with the state in Redis, as one MULTI/EXEC
transaction per published part (RedisStateStore.batch) and, for comparison, with every
write sent on its own (how the Redis store worked before its batches were transactions).

    python -m bench.redis_state                         # 20 parts of 100 records
    python -m bench.redis_state --parts 50 --records 200 --url redis://127.0.0.1:6379/11

Per way: seconds, records committed per second, and the commands Redis executed per
record (from INFO commandstats, before and after). Keys go under a prefix of their own,
deleted at the end.
"""

from __future__ import annotations

import argparse
import time
import uuid

from newscrawl.ledger import OutletLedger
from newscrawl.state import RedisStateStore


class Unbatched:
    """The store without its batch(): each write its own command, as before."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        if name == "batch":
            raise AttributeError(name)
        return getattr(self._store, name)


def commands(store: RedisStateStore) -> int:
    stats = store._r.info("commandstats")
    return sum(int(value["calls"]) for value in stats.values())


def measure(url: str, parts: int, records: int, batched: bool) -> dict:
    prefix = f"newscrawl-bench-{uuid.uuid4().hex[:12]}"
    store = RedisStateStore(url, prefix)
    ledger = OutletLedger(store if batched else Unbatched(store), "bench", "/nonexistent")
    try:
        before, start = commands(store), time.perf_counter()
        for p in range(parts):
            batch = [{"url": f"https://example.com/{p}/{i}", "id": f"{p:016x}{i:016x}", "revision": 1,
                      "content_hash": f"sha256:{p}-{i}", "fetched_at": "2026-12-07T10:00:00+00:00"}
                     for i in range(records)]
            ledger.commit(f"2026-12-07/part-{p:05d}.jsonl", batch, 1000)
        seconds = time.perf_counter() - start
        used = commands(store) - before - 1  # less the INFO that measured
        assert store.count("articles") == parts * records
    finally:
        store.clear()
        store.close()
    total = parts * records
    return {"seconds": seconds, "per_second": total / seconds, "commands_per_record": used / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--records", type=int, default=100)
    args = parser.parse_args()
    print(f"ledger commits to {args.url}: {args.parts} parts of {args.records} records")
    for name, batched in (("one transaction per part (MULTI/EXEC)", True), ("each write on its own", False)):
        found = measure(args.url, args.parts, args.records, batched)
        print(f"  {name:<40} {found['seconds']:.2f} s  {found['per_second']:,.0f} records/s  "
              f"{found['commands_per_record']:.1f} commands per record")


if __name__ == "__main__":
    main()
