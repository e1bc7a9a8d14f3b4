"""One crawl per outlet across machines: a lease in Redis.

The per-machine lock (newscrawl/lock.py, `flock`) keeps two crawls of an outlet apart on
one machine; workers on several machines (newscrawl/cluster.py) also take a lease: the
key `<NEWSCRAWL_REDIS_PREFIX>:lease:<outlet>`, set only where absent (SET NX) with an
expiry of NEWSCRAWL_CLUSTER_LOCK_TTL seconds. Its value names the holder (a random
token, the worker, the task, the process and when it started), so that `newscrawl
status` can say who crawls what, since when.

A live crawl renews its lease every third of the TTL; a crawl that died (kill -9, a lost
machine) stops renewing and loses it within the TTL. Renewing and releasing are Lua
scripts that act only while the key still holds the holder's token, so a crawl whose
lease expired and was taken by another never extends nor deletes the other's.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

DEFAULT_TTL = 60.0

# KEYS[1] the lease; ARGV[1] the holder's token, ARGV[2] the TTL in milliseconds.
_RENEW = """
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value)['token'] == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value)['token'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseHeld(Exception):
    def __init__(self, outlet: str, holder: dict):
        self.outlet, self.holder = outlet, holder
        self.owner = describe(holder)
        super().__init__(f"outlet {outlet!r} is already being crawled by {describe(holder)}")


class LeaseLost(Exception):
    """The lease was not renewed in time (the store was unreachable) or is held by another."""


def describe(holder: dict) -> str:
    worker = holder.get("worker") or holder.get("host") or "?"
    return f"{worker} (pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"


def redis_client(url: str):
    import redis

    # A store that stops answering fails the call (then the renewal is tried again)
    # instead of hanging the thread that renews.
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10)


def lease_key(prefix: str, outlet: str) -> str:
    return f"{prefix}:lease:{outlet}"


def holders(client, prefix: str) -> dict[str, dict]:
    """Every lease held now, by outlet."""
    keys = sorted(client.scan_iter(match=lease_key(prefix, "*"), count=500))
    out = {}
    for key, value in zip(keys, client.mget(keys) if keys else []):
        if value:
            try:
                out[key.rsplit(":", 1)[1]] = json.loads(value)
            except ValueError:
                continue
    return out


class Lease:
    """The lease of one outlet (or of any name: the scheduler takes one too)."""

    def __init__(self, client, prefix: str, outlet: str, ttl: float = DEFAULT_TTL, *, worker: str = "",
                 task: str = ""):
        self.client = client
        self.outlet = outlet
        self.key = lease_key(prefix, outlet)
        self.ttl = float(ttl)
        self.token = uuid.uuid4().hex
        self.holder = {"token": self.token, "worker": worker, "host": socket.gethostname(), "pid": os.getpid(),
                       "task": task, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.held = False
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    def acquire(self) -> "Lease":
        """Takes the lease or raises LeaseHeld at once (never waits)."""
        if not self.client.set(self.key, json.dumps(self.holder), nx=True, px=self.ttl_ms):
            raise LeaseHeld(self.outlet, self.current() or {})
        self.held = True
        return self

    def current(self) -> dict | None:
        value = self.client.get(self.key)
        try:
            return json.loads(value) if value else None
        except ValueError:
            return None

    def renew(self) -> None:
        """Extends the lease by a TTL from now; LeaseLost when it is no longer ours."""
        if not self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            self.held = False
            holder = self.current()
            raise LeaseLost(f"its lease was taken by {describe(holder)}" if holder else "its lease expired")

    def release(self) -> None:
        if self.held:
            self.held = False
            self._release(keys=[self.key], args=[self.token])


class Renewer:
    """Renews leases every third of their TTL from a thread of its own, so that a busy
    process still renews in time. When one cannot be renewed (taken, or the store did
    not answer until its expiry was near), its `on_lost(exc)` is called once, from that
    thread, and it is renewed no more. One renewer serves every lease of a process."""

    def __init__(self):
        self._leases: dict[str, list] = {}  # key -> [lease, on_lost, last renewed (monotonic)]
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, lease: Lease, on_lost) -> None:
        with self._lock:
            self._leases[lease.key] = [lease, on_lost, time.monotonic()]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="newscrawl-lease-renewal", daemon=True)
                self._thread.start()

    def remove(self, lease: Lease) -> None:
        with self._lock:
            self._leases.pop(lease.key, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                entries = list(self._leases.values())
                if not entries:
                    self._thread = None
                    return
            time.sleep(max(0.1, min(lease.ttl for lease, _, _ in entries) / 3))
            for entry in entries:
                lease, on_lost, renewed = entry
                with self._lock:
                    if self._leases.get(lease.key) is not entry:
                        continue  # removed (and released) while this round slept
                try:
                    lease.renew()
                except LeaseLost as exc:
                    self._lost(lease, on_lost, exc)
                except Exception as exc:  # noqa: BLE001 - the store did not answer: tried again
                    # While a third of the TTL is left, the next round may still renew it.
                    if time.monotonic() - renewed > lease.ttl * 2 / 3:
                        self._lost(lease, on_lost, exc)
                else:
                    entry[2] = time.monotonic()

    def _lost(self, lease: Lease, on_lost, exc: BaseException) -> None:
        self.remove(lease)
        lease.held = False
        on_lost(exc)


RENEWER = Renewer()
