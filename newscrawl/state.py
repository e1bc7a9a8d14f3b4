"""State that outlives a run, behind one small interface.

Every component that remembers something between runs (seen articles, content hashes,
boilerplate statistics, near-duplicate signatures) uses a `StateStore`: namespaced
key/value pairs and counters. `SQLiteStateStore` keeps one file per outlet on one
machine; `RedisStateStore` serves several machines sharing a crawl.

Values are strings; callers encode JSON themselves when they need structure.
"""

from __future__ import annotations

import re

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


class StateStore:
    def get(self, ns: str, key: str) -> str | None:
        raise NotImplementedError

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, str]:
        return {k: v for k in keys if (v := self.get(ns, k)) is not None}

    def put(self, ns: str, key: str, value: str) -> None:
        raise NotImplementedError

    def put_many(self, ns: str, pairs: Iterable[tuple[str, str]]) -> None:
        for key, value in pairs:
            self.put(ns, key, value)

    def put_if_absent(self, ns: str, key: str, value: str) -> bool:
        """Stores the value unless the key has one; True when it stored it. One step
        where the store allows (two crawls that store the same key at once: the first
        one's value stays)."""
        if self.get(ns, key) is not None:
            return False
        self.put(ns, key, value)
        return True

    def delete(self, ns: str, key: str) -> None:
        raise NotImplementedError

    def incr(self, ns: str, key: str, by: int = 1) -> int:
        raise NotImplementedError

    def incr_many(self, ns: str, keys: Iterable[str], by: int = 1) -> None:
        """incr for each key, in one round trip where the store allows (no new values
        returned)."""
        for key in keys:
            self.incr(ns, key, by)

    def items(self, ns: str) -> Iterator[tuple[str, str]]:
        raise NotImplementedError

    def count(self, ns: str) -> int:
        return sum(1 for _ in self.items(ns))

    def clear(self, ns: str | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


STATEMENT_CACHE = 32  # prepared statements kept per SQLite connection


class SQLiteStateStore(StateStore):
    """One SQLite file; WAL mode so a reader never blocks the crawl, and every write
    commits at once, so a killed process loses nothing that was acknowledged.

    Deleted and rewritten rows leave free pages the file never gives back. At close, a
    file whose free pages exceed `compact_ratio` of it and `compact_min_bytes` is
    compacted (VACUUM, then the WAL truncated); compact_min_bytes=None: never.

    `cache_kib`: the connection's page cache (SQLite's own default is 2,000 KiB). A fleet
    crawl holds one connection per outlet; the pages not cached are read again from the
    operating system's file cache."""

    COMPACT_RATIO = 0.25
    COMPACT_MIN_BYTES = 1 << 20

    def __init__(self, path: str | Path, *, compact_min_bytes: int | None = COMPACT_MIN_BYTES,
                 compact_ratio: float = COMPACT_RATIO, cache_kib: int | None = None):
        self.path = Path(path)
        self.compact_min_bytes = compact_min_bytes
        self.compact_ratio = compact_ratio
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Few statements are prepared again and again; the rest (get_many's IN lists of each
        # length) are one-offs, which sqlite3 would keep 128 of per connection.
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                   cached_statements=STATEMENT_CACHE)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if cache_kib:
            self._db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " PRIMARY KEY (ns, key)) WITHOUT ROWID"
        )
        self._batch_depth = 0

    @contextmanager
    def batch(self):
        """Group writes into one transaction (all or nothing)."""
        with self._lock:
            self._batch_depth += 1
            if self._batch_depth == 1:
                self._db.execute("BEGIN")
        try:
            yield self
        except BaseException:
            with self._lock:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    self._db.execute("ROLLBACK")
            raise
        else:
            with self._lock:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    self._db.execute("COMMIT")

    def get(self, ns, key):
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE ns=? AND key=?", (ns, key)).fetchone()
        return row[0] if row else None

    def get_many(self, ns, keys):
        keys = list(keys)
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                out.update(
                    self._db.execute(
                        f"SELECT key, value FROM kv WHERE ns=? AND key IN ({marks})", (ns, *chunk)
                    ).fetchall()
                )
        return out

    def put(self, ns, key, value):
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (ns, key, value))

    def put_many(self, ns, pairs):
        with self.batch(), self._lock:
            self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", ((ns, k, v) for k, v in pairs))

    def put_if_absent(self, ns, key, value):
        with self._lock:
            return self._db.execute("INSERT OR IGNORE INTO kv VALUES (?, ?, ?)", (ns, key, value)).rowcount == 1

    def delete(self, ns, key):
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE ns=? AND key=?", (ns, key))

    def incr(self, ns, key, by=1):
        with self._lock:
            row = self._db.execute(
                "INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET"
                " value = CAST(CAST(value AS INTEGER) + ? AS TEXT) RETURNING value",
                (ns, key, str(by), by),
            ).fetchone()
        return int(row[0])

    def incr_many(self, ns, keys, by=1):
        with self.batch(), self._lock:
            self._db.executemany(
                "INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET"
                " value = CAST(CAST(value AS INTEGER) + ? AS TEXT)",
                ((ns, key, str(by), by) for key in keys),
            )

    def items(self, ns):
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM kv WHERE ns=? ORDER BY key", (ns,)).fetchall()
        return iter(rows)

    def count(self, ns):
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM kv WHERE ns=?", (ns,)).fetchone()[0]

    def clear(self, ns=None):
        with self._lock:
            if ns is None:
                self._db.execute("DELETE FROM kv")
            else:
                self._db.execute("DELETE FROM kv WHERE ns=?", (ns,))

    def free_space(self) -> tuple[int, int]:
        """(free bytes, file bytes) of the database's pages."""
        with self._lock:
            page = self._db.execute("PRAGMA page_size").fetchone()[0]
            free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
            total = self._db.execute("PRAGMA page_count").fetchone()[0]
        return free * page, total * page

    def compact(self) -> None:
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def maybe_compact(self) -> bool:
        """Compacts when enough of the file is free pages; True when it did."""
        if self.compact_min_bytes is None or self._batch_depth:
            return False
        free, total = self.free_space()
        if free <= self.compact_min_bytes or free <= total * self.compact_ratio:
            return False
        self.compact()
        return True

    def close(self):
        try:
            self.maybe_compact()
        except sqlite3.Error:
            pass  # busy (another process reads it) or no room for the copy: next time
        with self._lock:
            self._db.close()


class RedisStateStore(StateStore):
    """One Redis hash per namespace, under a prefix (one prefix per outlet).

    `batch()` makes its writes one MULTI/EXEC transaction: they are queued here and sent
    together at its end, so a process killed or a connection lost before that applies
    none of them, and no reader ever sees half of them. Reads inside a batch see its
    own writes (the ledger reads an entry, changes it and reads it again in one batch).
    A batch is not isolated from other writers: one crawl per outlet writes an outlet's
    keys (the outlet's lock and lease), and the shared dedupe keys are written whole."""

    _DELETED = object()

    def __init__(self, url: str, prefix: str):
        import redis

        # A server that stops answering (a partition, a frozen host) fails the call instead
        # of hanging the crawl; `?socket_timeout=` in the URL overrides these.
        self._r = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=10, socket_timeout=30)
        self.prefix = prefix
        self._pipe = None  # the open batch's transaction
        self._written: dict[tuple[str, str], object] = {}  # the batch's writes, for its own reads
        self._cleared: set[str] = set()  # namespaces the batch cleared

    def _k(self, ns):
        return f"{self.prefix}:{ns}"

    @contextmanager
    def batch(self):
        if self._pipe is not None:  # nested: part of the open batch
            yield self
            return
        self._pipe = self._r.pipeline(transaction=True)
        try:
            yield self
            self._pipe.execute()
        finally:
            self._pipe.reset()
            self._pipe, self._written, self._cleared = None, {}, set()

    def _writer(self):
        return self._pipe if self._pipe is not None else self._r

    def _batched(self, ns, key):
        """(True, value or None) for a key the open batch wrote or cleared; (False, None) else."""
        if (ns, key) in self._written:
            value = self._written[(ns, key)]
            return True, (None if value is self._DELETED else value)
        return ns in self._cleared, None

    def get(self, ns, key):
        known, value = self._batched(ns, key)
        return value if known else self._r.hget(self._k(ns), key)

    def get_many(self, ns, keys):
        keys = list(keys)
        out, ask = {}, []
        for key in keys:
            known, value = self._batched(ns, key)
            if not known:
                ask.append(key)
            elif value is not None:
                out[key] = value
        if ask:
            out.update({k: v for k, v in zip(ask, self._r.hmget(self._k(ns), ask)) if v is not None})
        return out

    def put(self, ns, key, value):
        self._writer().hset(self._k(ns), key, value)
        if self._pipe is not None:
            self._written[(ns, key)] = value

    def put_many(self, ns, pairs):
        mapping = dict(pairs)
        if mapping:
            self._writer().hset(self._k(ns), mapping=mapping)
            if self._pipe is not None:
                self._written.update({(ns, k): v for k, v in mapping.items()})

    def put_if_absent(self, ns, key, value):
        if self._pipe is None:
            return bool(self._r.hsetnx(self._k(ns), key, value))
        if self.get(ns, key) is not None:
            return False
        self._pipe.hsetnx(self._k(ns), key, value)
        self._written[(ns, key)] = value
        return True

    def delete(self, ns, key):
        self._writer().hdel(self._k(ns), key)
        if self._pipe is not None:
            self._written[(ns, key)] = self._DELETED

    def incr(self, ns, key, by=1):
        if self._pipe is None:
            return int(self._r.hincrby(self._k(ns), key, by))
        value = int(self.get(ns, key) or 0) + by
        self._pipe.hincrby(self._k(ns), key, by)
        self._written[(ns, key)] = str(value)
        return value

    def incr_many(self, ns, keys, by=1):
        if self._pipe is not None:
            for key in keys:
                self.incr(ns, key, by)
            return
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.hincrby(self._k(ns), key, by)
        pipe.execute()

    def items(self, ns):
        found = {} if ns in self._cleared else dict(self._r.hscan_iter(self._k(ns)))
        for (written_ns, key), value in self._written.items():
            if written_ns == ns:
                if value is self._DELETED:
                    found.pop(key, None)
                else:
                    found[key] = value
        return iter(sorted(found.items()))

    def count(self, ns):
        if self._pipe is not None:
            return sum(1 for _ in self.items(ns))
        return int(self._r.hlen(self._k(ns)))

    def clear(self, ns=None):
        if ns is not None:
            self._writer().delete(self._k(ns))
            if self._pipe is not None:
                self._cleared.add(ns)
                self._written = {k: v for k, v in self._written.items() if k[0] != ns}
            return
        keys = list(self._r.scan_iter(f"{self.prefix}:*"))
        if keys:
            self._writer().delete(*keys)
        if self._pipe is not None:
            self._cleared.update(k[len(self.prefix) + 1:] for k in keys)
            self._written = {}

    def close(self):
        self._r.close()


SCOPE_RE = re.compile(r"^_?[a-z0-9][a-z0-9_-]{0,63}$")


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def state_location(settings, scope: str) -> str | Path:
    """Where one scope's state lives (an outlet name, or "_global" for state shared across
    outlets), from the NEWSCRAWL_STATE_URL setting: empty or a folder path for an SQLite
    file (a Path), redis://... for Redis (the URL)."""
    if not SCOPE_RE.match(scope or ""):  # a scope names a file: never a path
        raise ValueError(f"unsafe state scope {scope!r}")
    url = settings.get("NEWSCRAWL_STATE_URL") or ""
    if url.startswith(REDIS_SCHEMES):
        return url
    return Path(url or settings.get("NEWSCRAWL_STATE_DIR") or "state") / f"{scope}.sqlite"


def state_exists(settings, scope: str) -> bool:
    """True when some run has left state for the scope (Redis: assumed so)."""
    where = state_location(settings, scope)
    return not isinstance(where, Path) or where.exists()


def state_cache_kib(settings) -> int | None:
    """NEWSCRAWL_STATE_CACHE_KIB: a whole number of KiB, 0 or more (0: SQLite's default)."""
    value = settings.get("NEWSCRAWL_STATE_CACHE_KIB")
    try:
        kib = int(str(value).strip() or 0) if value is not None else 0
    except ValueError:
        kib = -1
    if kib < 0:
        from newscrawl.exitcodes import ConfigError

        raise ConfigError(f"NEWSCRAWL_STATE_CACHE_KIB must be a whole number of KiB, 0 or more, not {value!r}")
    return kib or None


def open_state(settings, scope: str) -> StateStore:
    """The store for one scope, where state_location says."""
    where = state_location(settings, scope)
    if isinstance(where, Path):
        compact = settings.getbool("NEWSCRAWL_STATE_COMPACT", True) if hasattr(settings, "getbool") else True
        minimum = int(settings.get("NEWSCRAWL_STATE_COMPACT_MIN_BYTES") or SQLiteStateStore.COMPACT_MIN_BYTES)
        return SQLiteStateStore(where, compact_min_bytes=minimum if compact else None,
                               cache_kib=state_cache_kib(settings))
    prefix = (settings.get("NEWSCRAWL_REDIS_PREFIX") if hasattr(settings, "get") else None) or "newscrawl"
    return RedisStateStore(where, prefix=f"{prefix}:{scope}")
