"""Workers on several machines (newscrawl/cluster.py): real `newscrawl worker` processes
against the real Redis on 127.0.0.1:6379 (and RabbitMQ on 127.0.0.1:5672), each worker in
a folder of its own (its state folder, logs, archive) as on a machine of its own, sharing
the output folder and the state in Redis.

The workers of a test use Redis database CLUSTER_DB, a key prefix and a queue of their
own (NEWSCRAWL_REDIS_PREFIX, NEWSCRAWL_QUEUE), so tests running at once never share a
key; the test deletes its keys at the end."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import pytest

from newscrawl import exitcodes
from newscrawl.demo import fixture_web_spec, serve_outlet
from newscrawl.ledger import OutletLedger
from newscrawl.state import RedisStateStore
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets
from tests.needs import needs, rabbitmq_answers, redis_answers
from tests.test_cron import output_lines, slow_articles

REDIS = needs("redis", redis_answers(), "no Redis answering on 127.0.0.1:6379")
RABBITMQ = needs("rabbitmq", rabbitmq_answers(), "no RabbitMQ answering on 127.0.0.1:5672")
CLUSTER_DB = 11
REDIS_URL = f"redis://127.0.0.1:6379/{CLUSTER_DB}"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


def redis_client(url: str = REDIS_URL):
    import redis

    return redis.Redis.from_url(url, decode_responses=True)


def delete_keys(prefix: str, url: str = REDIS_URL) -> None:
    client = redis_client(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def newscrawl(*args: str, settings: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "newscrawl.cli", *args]
    for key, value in (settings or {}).items():
        command += ["-s", f"{key}={value}"]
    return subprocess.run(command, cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=timeout)


@dataclass
class Worker:
    name: str
    folder: Path
    proc: subprocess.Popen

    @property
    def log(self) -> str:
        return (self.folder / "worker.log").read_text(encoding="utf-8", errors="replace")

    def tree(self) -> list[psutil.Process]:
        try:
            return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def kill_all(self) -> None:
        """SIGKILL to every process of the worker at once (its crawls and their pools
        included, which run in sessions of their own): the machine is gone."""
        procs = self.tree()
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=20)
        self.proc.wait(timeout=20)

    def crawled(self, outlet: str) -> list[Path]:
        """The worker's crawl logs of the outlet (one per crawl, a refused one included)."""
        return sorted((self.folder / "logs" / outlet).glob("*.log"))


@dataclass
class Cluster:
    tmp: Path
    broker: str = REDIS_URL
    redis: str = REDIS_URL  # the state's, the leases' and the status's
    prefix: str = field(default_factory=lambda: f"newscrawl-test-{uuid.uuid4().hex[:12]}")
    workers: list[Worker] = field(default_factory=list)

    @property
    def common(self) -> dict:
        """What every command of the cluster is given: where the broker and the state are."""
        return {"NEWSCRAWL_BROKER_URL": self.broker, "NEWSCRAWL_STATE_URL": self.redis,
                "NEWSCRAWL_REDIS_PREFIX": self.prefix, "NEWSCRAWL_QUEUE": self.prefix}

    def start_worker(self, name: str, outlets_dir: Path, settings: dict | None = None) -> Worker:
        folder = self.tmp / name
        folder.mkdir(parents=True)
        # No boilerplate warm-up: an outlet's first articles are written as they come,
        # not held to the crawl's end, so a kill can fall between written articles.
        merged = {**FAST, "NEWSCRAWL_WORKERS": "1", "NEWSCRAWL_BOILERPLATE_WARMUP": "0", **self.common, "NEWSCRAWL_OUTPUT_DIR": self.tmp / "output",
                  "NEWSCRAWL_STATE_DIR": folder / "state", "NEWSCRAWL_LOG_DIR": folder / "logs",
                  "NEWSCRAWL_ARCHIVE_DIR": folder / "archive",
                  # The sites tell the workers' requests apart by their User-Agent.
                  "NEWSCRAWL_CONTACT": f"mailto:{name}@example.org", **(settings or {})}
        command = [sys.executable, "-m", "newscrawl.cli", "worker", "--outlets-dir", str(outlets_dir)]
        for key, value in merged.items():
            command += ["-s", f"{key}={value}"]
        with open(folder / "worker.log", "wb") as log:
            proc = subprocess.Popen(command, cwd=folder, env=scrapy_env(None), stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        worker = Worker(name, folder, proc)
        self.workers.append(worker)
        wait_until(lambda: " ready." in worker.log, f"worker {name} ready", proc=proc)
        return worker

    def enqueue(self, *args: str, settings: dict | None = None) -> list[str]:
        done = newscrawl("enqueue", *args, settings={**self.common, **(settings or {})})
        assert done.returncode == 0, done.stdout + done.stderr
        return [line.split()[3].rstrip(":") for line in done.stdout.splitlines() if line.split()[2] == "task"]

    def status(self) -> str:
        done = newscrawl("status", settings=self.common)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def last_results(self) -> dict[str, dict]:
        client = redis_client(self.redis)
        try:
            return {k: json.loads(v) for k, v in client.hgetall(f"{self.prefix}:status:last").items()}
        finally:
            client.close()

    def leases(self) -> dict[str, dict]:
        from newscrawl.lease import holders

        client = redis_client(self.redis)
        try:
            return holders(client, self.prefix)
        finally:
            client.close()

    def idle(self) -> bool:
        """No task waiting or unacknowledged, no lease held."""
        client = redis_client(self.redis)
        try:
            broker = f"{self.prefix}:broker:"
            if self.broker.startswith("redis") and (client.llen(f"{broker}{self.prefix}")
                                                    or client.hlen(f"{broker}unacked")):
                return False
        finally:
            client.close()
        return not self.leases()

    def stop(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.kill_all()
        delete_keys(self.prefix, self.redis)
        if self.broker.startswith("amqp"):  # RabbitMQ keeps a durable queue and its exchange
            from kombu import Connection

            with Connection(self.broker) as connection:
                channel = connection.channel()
                channel.queue_delete(self.prefix)
                channel.exchange_delete(self.prefix)


@contextmanager
def cluster(tmp: Path, **kwargs):
    made = Cluster(tmp, **kwargs)
    try:
        yield made
    finally:
        made.stop()


def wait_until(condition, what: str, timeout: float = 300, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc is None or proc.poll() is None, f"the process ended before: {what}"
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


def fleet_specs(count: int):
    """`count` outlets, copies of the fixture web's three under names of their own."""
    specs = fixture_web_spec()
    return [replace(specs[i % len(specs)], name=f"{specs[i % len(specs)].name}-{i}") for i in range(count)]


def assert_exactly_once_in_shared_state(tmp: Path, prefix: str, served, url: str = REDIS_URL) -> None:
    """Every article of the outlet is in the shared output once (or among its rejects),
    and the ledger in Redis agrees with the output."""
    name = served.spec.name
    records = output_lines(tmp, name)
    versions = [(r["url"], r.get("revision", 1)) for r in records]
    assert len(versions) == len(set(versions)), f"{name}: an article was written twice"
    rejected = {json.loads(line)["url"] for p in (tmp / "output" / name / "rejects").glob("*/*.jsonl")
                for line in p.read_text().splitlines()}
    assert {u for u, _ in versions} | rejected == served.build.all_articles, name
    store = RedisStateStore(url, f"{prefix}:{name}")
    try:
        ledger = {u: e["r"] for u, e in OutletLedger(store, name, tmp / "output").written().items()}
    finally:
        store.close()
    assert ledger == dict(versions), name


def crawl_runs(served) -> int:
    """How many runs of requests by one worker the outlet's site saw: two crawls at once
    by two workers would interleave their requests, giving many more runs than crawls."""
    agents = [headers.get("User-Agent", "") for _, _, headers in served.site.requests]
    return sum(1 for i, agent in enumerate(agents) if i == 0 or agent != agents[i - 1])


# --------------------------------------------------------------------------- the lease


@REDIS
@pytest.mark.slow
def test_a_lease_is_held_by_one_crawl_renewed_while_it_lives_and_lost_when_it_stops():
    from newscrawl.lease import Lease, LeaseHeld, LeaseLost

    prefix = f"newscrawl-test-{uuid.uuid4().hex[:12]}"
    client = redis_client()
    try:
        first = Lease(client, prefix, "dawn", ttl=4, worker="a@host", task="t1").acquire()
        with pytest.raises(LeaseHeld) as refused:
            Lease(client, prefix, "dawn", ttl=4, worker="b@host").acquire()
        assert "a@host" in str(refused.value)
        Lease(client, prefix, "daily-jang", ttl=4).acquire()  # another outlet: its own lease
        for _ in range(3):  # renewed, it outlives its TTL
            time.sleep(2)
            first.renew()
        assert first.current()["task"] == "t1"
        time.sleep(4.5)  # not renewed: gone, and another crawl takes it
        second = Lease(client, prefix, "dawn", ttl=5, worker="b@host").acquire()
        with pytest.raises(LeaseLost):
            first.renew()
        first.release()  # the former holder's release leaves the new holder's lease alone
        assert second.current()["worker"] == "b@host"
        second.release()
        assert second.current() is None
    finally:
        client.close()
        delete_keys(prefix)



@REDIS
@pytest.mark.slow
def test_a_lease_released_while_the_renewer_sleeps_is_not_renewed_nor_reported_lost():
    from newscrawl.lease import Lease, Renewer

    prefix = f"newscrawl-test-{uuid.uuid4().hex[:12]}"
    client = redis_client()
    lost: list = []
    try:
        renewer = Renewer()
        lease = Lease(client, prefix, "dawn", ttl=1.5).acquire()
        renewer.add(lease, lost.append)
        time.sleep(0.1)  # the renewer's first round is asleep
        renewer.remove(lease)
        lease.release()
        time.sleep(1.2)  # past the round it slept through
        assert lost == []
    finally:
        client.close()
        delete_keys(prefix)


# --------------------------------------------------------------------------- atomic state in Redis


_BATCH_THEN_WAIT = """
import sys, time
from newscrawl.state import RedisStateStore
store = RedisStateStore(sys.argv[1], sys.argv[2])
with store.batch():
    for i in range(500):
        store.put("articles", f"url-{i}", "x")
    store.put("checkpoint", "part-1", "10")
    print("queued", flush=True)
    time.sleep(600)
"""


@REDIS
@pytest.mark.e2e
def test_a_redis_batch_is_one_transaction_a_kill_midway_applies_none_of_it():
    prefix = f"newscrawl-test-{uuid.uuid4().hex[:12]}"
    store = RedisStateStore(REDIS_URL, prefix)
    try:
        with store.batch():  # a batch reads its own writes
            store.put("articles", "a", "1")
            assert store.get("articles", "a") == "1" and store.incr("n", "pages") == 1
            store.delete("articles", "a")
            assert store.get("articles", "a") is None
            store.put("articles", "b", "2")
            assert store.put_if_absent("hash", "h", "first") and not store.put_if_absent("hash", "h", "second")
            assert dict(store.items("articles")) == {"b": "2"}
        assert dict(store.items("articles")) == {"b": "2"} and store.get("hash", "h") == "first"
        with pytest.raises(RuntimeError), store.batch():  # an error inside: nothing applied
            store.put("articles", "c", "3")
            raise RuntimeError("midway")
        assert store.get("articles", "c") is None
        # A process killed in the middle of its batch leaves nothing of it.
        child = subprocess.Popen([sys.executable, "-c", _BATCH_THEN_WAIT, REDIS_URL, prefix], cwd=ROOT,
                                 env=scrapy_env(None), stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "queued"
        child.kill()
        child.communicate(timeout=20)
        assert store.get("checkpoint", "part-1") is None and store.count("articles") == 1
    finally:
        store.clear()
        store.close()


# --------------------------------------------------------------------------- what a task may carry


def test_a_task_names_outlets_and_harmless_settings_only():
    from newscrawl.cluster import payload_problems

    assert payload_problems(["dawn", "daily-jang"], {"DOWNLOAD_DELAY": "2", "NEWSCRAWL_MAX_AGE_DAYS": "7"}) == []
    problems = payload_problems(["../etc", 3], {"NEWSCRAWL_OUTPUT_DIR": "/", "ITEM_PIPELINES": "{}",
                                                "NEWSCRAWL_ALLOWED_NETWORKS": "0.0.0.0/0",
                                                "DOWNLOAD_DELAY": "1\n2"})
    assert len(problems) == 6, problems
    assert payload_problems([], {}) and payload_problems("dawn", []) != []


def local_outlets(tmp: Path, *names: str) -> Path:
    """Records of outlets on 127.0.0.2, which no test crawls."""
    from newscrawl.outlets import Outlet

    return write_outlets(tmp / "outlets", [Outlet(name=n, display_name=n, domains=("127.0.0.2",),
                                                  homepage="http://127.0.0.2/") for n in names])


@pytest.mark.e2e
def test_enqueue_refuses_a_setting_a_task_may_not_carry_before_it_sends_anything(tmp_path):
    outlets_dir = local_outlets(tmp_path, "paper")
    # A broker that nothing answers: refused before any connection is tried.
    done = newscrawl("enqueue", "--all", "--outlets-dir", str(outlets_dir),
                     settings={"NEWSCRAWL_BROKER_URL": "redis://127.0.0.3:9/0", "NEWSCRAWL_OUTPUT_DIR": "/tmp/x"})
    assert done.returncode == exitcodes.CONFIG, done.stdout + done.stderr
    assert "setting NEWSCRAWL_OUTPUT_DIR cannot be given with a task" in done.stderr
    unknown = newscrawl("enqueue", "no-such-outlet", "--outlets-dir", str(outlets_dir))
    assert unknown.returncode == exitcodes.CONFIG and "no outlet record named no-such-outlet" in unknown.stderr


@pytest.mark.e2e
def test_an_unreachable_broker_is_one_line_and_exit_7(tmp_path):
    from tests.test_cron import free_port

    outlets_dir = local_outlets(tmp_path, "paper")
    port = free_port()  # nothing listens there
    done = newscrawl("enqueue", "paper", "--outlets-dir", str(outlets_dir),
                     settings={"NEWSCRAWL_BROKER_URL": f"redis://:secret@127.0.0.1:{port}/0"})
    assert done.returncode == exitcodes.STORE, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"newscrawl: broker redis://127.0.0.1:{port}/0 unreachable: Connection refused (exit 7)")


# --------------------------------------------------------------------------- schedules


def test_schedules_come_from_the_records_and_default_to_hourly_at_a_minute_of_their_own():
    from celery.schedules import crontab

    from newscrawl.cluster import ClusterConfig, beat_schedule, default_minute
    from newscrawl.outlet_schema import record_problems
    from newscrawl.outlets import Outlet

    config = ClusterConfig("redis://127.0.0.1:6379/0", "q", "newscrawl", 3600, 60, 2, None)
    outlets = [Outlet(name=n, display_name=n, domains=("127.0.0.2",), homepage="http://127.0.0.2/", schedule=s)
               for n, s in (("a", "*/15 * * * *"), ("b", "*/15 * * * *"), ("c", "*/15 * * * *"), ("d", None),
                            ("e", "15 6-22 * * mon-fri"))]
    entries = beat_schedule(outlets, config)
    groups = sorted(entry["args"][0] for entry in entries.values())
    assert groups == [["a", "b"], ["c"], ["d"], ["e"]]  # two outlets per task at most
    every_quarter = next(e for e in entries.values() if e["args"][0] == ["a", "b"])
    assert every_quarter["schedule"] == crontab(minute="*/15")
    assert every_quarter["options"] == {"queue": "q"}
    hourly = next(e for e in entries.values() if e["args"][0] == ["d"])
    assert hourly["schedule"] == crontab(minute=str(default_minute("d")))
    assert len({default_minute(f"outlet-{i}") for i in range(100)}) > 30  # spread over the hour
    weekdays = next(e for e in entries.values() if e["args"][0] == ["e"])
    assert weekdays["schedule"] == crontab(minute="15", hour="6-22", day_of_week="mon-fri")

    def problems(schedule):
        record = {"name": "x", "display_name": "x", "domains": ["x.com"], "homepage": "http://x.com/",
                  "schedule": schedule}
        return [p.message for p in record_problems(record, "x.toml")]

    assert problems("0 */2 1,15 jan-jun sun") == []
    assert "6 fields" in problems("0 0 * * * *")[0]
    assert "minute '60': not from 0 to 59" in problems("60 * * * *")[0]
    assert "day of week 'funday'" in problems("0 0 * * funday")[0]
    assert "a step is 1 or more" in problems("*/0 * * * *")[0]


# --------------------------------------------------------------------------- real workers


def outlets_of_worker(cluster: Cluster, worker: Worker) -> set[str]:
    return {outlet for outlet, holder in cluster.leases().items() if holder.get("worker", "").startswith(
        f"newscrawl-{worker.proc.pid}@")}


@REDIS
@pytest.mark.e2e
def test_two_workers_crawl_a_fleet_every_article_once_and_a_dead_workers_task_runs_again(tmp_path):
    """Eight outlets sent as four tasks to two workers, each in its own folder, sharing
    the output folder and the state in Redis. One worker is SIGKILLed (every process of
    it, its crawls included: the machine is gone) while it crawls; its task is run again
    by the other worker once the 20-second visibility timeout has passed. Every article
    of every outlet is then in the output exactly once, the ledgers in Redis agree, and
    no outlet was crawled by the two workers at once."""
    settings = {"NEWSCRAWL_TASK_VISIBILITY_TIMEOUT": "20", "NEWSCRAWL_CLUSTER_LOCK_TTL": "10",
                "NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
    with ExitStack() as stack:
        served = [stack.enter_context(serve_outlet(spec)) for spec in fleet_specs(8)]
        for s in served:
            slow_articles(s, 0.4)
        outlets_dir = write_outlets(tmp_path / "outlets", [s.outlet for s in served])
        made = stack.enter_context(cluster(tmp_path))
        doomed = made.start_worker("a", outlets_dir, settings)
        survivor = made.start_worker("b", outlets_dir, settings)
        tasks = made.enqueue("--all", "--outlets-dir", str(outlets_dir),
                             settings={"NEWSCRAWL_OUTLETS_PER_TASK": "2"})
        assert len(tasks) == 4
        # The doomed worker is part way through an outlet: it holds the lease, and some
        # of the outlet's articles are written.
        crawling: set[str] = set()

        def mid_crawl() -> bool:
            crawling.clear()
            crawling.update(o for o in outlets_of_worker(made, doomed) if output_lines(tmp_path, o))
            return bool(crawling)

        wait_until(mid_crawl, "worker a writing an outlet", proc=doomed.proc)
        doomed.kill_all()
        everything = {s.spec.name for s in served}
        wait_until(lambda: made.idle() and set(made.last_results()) == everything
                   and all(r["exit"] == 0 for r in made.last_results().values()),
                   "every outlet crawled to the end", timeout=300, proc=survivor.proc)
        status = made.status()
        results = made.last_results()
        for s in served:  # while the state in Redis is there
            assert_exactly_once_in_shared_state(tmp_path, made.prefix, s)
    assert "0 tasks waiting" in status and "running: 0 crawls" in status, status
    for outlet in crawling:  # the outlets cut short were crawled again, by the survivor
        assert results[outlet]["worker"].startswith(f"newscrawl-{survivor.proc.pid}@"), results[outlet]
    again = [t for t in tasks if f"crawl_outlets[{t}] received" in doomed.log and
             f"crawl_outlets[{t}] received" in survivor.log]
    assert len(again) == 1, (tasks, doomed.log[-3000:], survivor.log[-3000:])
    assert any(f"{outlet} exit=0" in survivor.log for outlet in crawling)
    for s in served:
        crawls = len(doomed.crawled(s.spec.name)) + len(survivor.crawled(s.spec.name))
        assert 1 <= crawl_runs(s) <= crawls, (s.spec.name, crawl_runs(s), crawls)


class Planted:
    """Unpickled, it would create a file: the proof that a worker ran what a message said."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def publish_pickled(made: Cluster, marker: Path) -> str:
    """A task message in pickle, as anyone who can write to the broker could send."""
    from kombu import Connection, Exchange, Producer

    from newscrawl.cluster import ClusterConfig, TASK_NAME

    task_id = str(uuid.uuid4())
    body = pickle.dumps(((Planted(str(marker)),), {}, {"callbacks": None, "errbacks": None, "chain": None,
                                                          "chord": None}))
    config = ClusterConfig(made.broker, made.prefix, made.prefix, 60, 10, 1, REDIS_URL)
    options = {"global_keyprefix": config.broker_keyprefix} if made.broker.startswith("redis") else {}
    with Connection(made.broker, transport_options=options) as connection:
        Producer(connection).publish(body, exchange=Exchange(made.prefix, type="direct"), routing_key=made.prefix,
                                     serializer=None, content_type="application/x-python-serialize",
                                     content_encoding="binary",
                                     headers={"lang": "py", "task": TASK_NAME, "id": task_id, "root_id": task_id,
                                              "argsrepr": "", "kwargsrepr": ""})
    return task_id


@REDIS
@pytest.mark.e2e
def test_an_outlet_sent_twice_is_never_crawled_twice_at_once_and_a_long_crawl_is_not_sent_again(tmp_path):
    """An outlet's crawl, sent to two workers, then sent again while the first crawl runs:
    the second crawl, on the other worker, ends LOCKED (3) without a request. The first
    crawl takes several times the 4-second visibility timeout, and its task is not handed
    to the idle worker meanwhile (its worker keeps it). A task in pickle, which would
    create a file when unpickled, is refused by the workers."""
    settings = {"NEWSCRAWL_TASK_VISIBILITY_TIMEOUT": "4", "NEWSCRAWL_CLUSTER_LOCK_TTL": "10"}
    spec = fleet_specs(2)[1]
    marker = tmp_path / "unpickled"
    with ExitStack() as stack:
        served = stack.enter_context(serve_outlet(spec))
        slow_articles(served, 1.0)
        outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
        made = stack.enter_context(cluster(tmp_path))
        workers = [made.start_worker(name, outlets_dir, settings) for name in ("a", "b")]
        [first_task] = made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
        wait_until(lambda: spec.name in made.leases(), "the first crawl under way")
        holder = made.leases()[spec.name]
        assert holder["task"] == first_task
        running = next(w for w in workers if holder["worker"].startswith(f"newscrawl-{w.proc.pid}@"))
        idle = next(w for w in workers if w is not running)
        [second_task] = made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
        wait_until(lambda: f"{spec.name} exit=3" in idle.log, "the second crawl refused", proc=idle.proc)
        assert made.last_results()[spec.name]["exit"] == exitcodes.LOCKED
        status = made.status()
        assert f"running: 1 crawl\n  {spec.name}  worker={holder['worker']}" in status, status
        assert [line for line in status.splitlines() if line.split()[0] == spec.name and " exit=3 " in line], status
        pickled = publish_pickled(made, marker)
        wait_until(lambda: made.idle() and made.last_results()[spec.name]["exit"] == 0, "the first crawl ended",
                   proc=running.proc)
        assert_exactly_once_in_shared_state(tmp_path, made.prefix, served)
    logs = running.log + idle.log
    assert logs.count(f"crawl_outlets[{first_task}] received") == 1, logs[-4000:]
    assert logs.count(f"crawl_outlets[{second_task}] received") == 1
    assert crawl_runs(served) == 1  # the refused crawl sent no request
    assert len(running.crawled(spec.name)) == 1 and len(idle.crawled(spec.name)) == 1
    assert not marker.exists()
    assert "ContentDisallowed" in logs or "Refusing to deserialize" in logs, logs[-4000:]


@REDIS
@RABBITMQ
@pytest.mark.e2e
def test_with_rabbitmq_a_dead_workers_task_goes_to_the_other_at_once_and_waits_for_its_lease(tmp_path):
    """RabbitMQ delivers a dead worker's unacknowledged task again as soon as its
    connection drops: the other worker takes it at once, waits until the dead crawl's
    lease has expired (NEWSCRAWL_CLUSTER_LOCK_TTL), then crawls; every article once."""
    settings = {"NEWSCRAWL_CLUSTER_LOCK_TTL": "8", "NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
    spec = fleet_specs(2)[1]
    with ExitStack() as stack:
        served = stack.enter_context(serve_outlet(spec))
        slow_articles(served, 0.5)
        outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
        made = stack.enter_context(cluster(tmp_path, broker=AMQP_URL))
        doomed = made.start_worker("a", outlets_dir, settings)
        [task] = made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
        wait_until(lambda: spec.name in made.leases() and output_lines(tmp_path, spec.name), "a crawl under way",
                   proc=doomed.proc)
        survivor = made.start_worker("b", outlets_dir, settings)
        doomed.kill_all()
        wait_until(lambda: f"crawl_outlets[{task}] received" in survivor.log, "the task delivered again",
                   proc=survivor.proc)
        wait_until(lambda: made.idle() and made.last_results().get(spec.name, {}).get("exit") == 0,
                   "the crawl done again", proc=survivor.proc)
        assert "0 tasks waiting" in made.status()
        assert_exactly_once_in_shared_state(tmp_path, made.prefix, served)
    assert "was delivered again while its earlier delivery holds" in survivor.log
    assert crawl_runs(served) == 2 and len(survivor.crawled(spec.name)) == 1


@REDIS
@pytest.mark.e2e
def test_a_worker_stopped_by_sigterm_stops_its_crawl_and_hands_its_task_back(tmp_path):
    """SIGTERM to a worker mid-crawl: its crawl stops gracefully (exit 9), the task goes
    back to the queue at once, and the other worker finishes the outlet; every article once."""
    settings = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
    spec = fleet_specs(2)[1]
    with ExitStack() as stack:
        served = stack.enter_context(serve_outlet(spec))
        slow_articles(served, 0.5)
        outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
        made = stack.enter_context(cluster(tmp_path))
        stopped = made.start_worker("a", outlets_dir, settings)
        [task] = made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
        wait_until(lambda: spec.name in made.leases() and output_lines(tmp_path, spec.name), "a crawl under way",
                   proc=stopped.proc)
        stopped.proc.send_signal(signal.SIGTERM)
        assert stopped.proc.wait(timeout=120) == 0, stopped.log[-3000:]
        assert made.last_results()[spec.name]["exit"] == exitcodes.INTERRUPTED
        taker = made.start_worker("b", outlets_dir, settings)
        wait_until(lambda: made.idle() and made.last_results()[spec.name]["exit"] == 0, "the crawl finished",
                   proc=taker.proc)
        assert_exactly_once_in_shared_state(tmp_path, made.prefix, served)
    assert f"crawl_outlets[{task}] received" in taker.log
    assert not [p for p in stopped.tree() if p.is_running()]


@pytest.mark.e2e
def test_redis_lost_mid_crawl_fails_the_crawl_clearly_and_the_next_one_loses_nothing(tmp_path):
    """The cluster's Redis (broker, state, leases) is stopped while a worker crawls, and
    started again empty: the crawl ends with exit 7 and its fault's line, the crawl sent
    again completes on a worker, and every article is in the output once (the ledger
    rebuilt from the shared output).

    The retry runs on a worker started after Redis came back: a worker whose task was
    running when its Redis broker went away may not take tasks again (kombu 5.7 does not
    poll the connection it paused while the task ran; the README says so)."""
    from tests.test_cron import free_port
    from tests.test_faults import redis_server

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    spec = fleet_specs(2)[1]
    settings = {"NEWSCRAWL_OUTPUT_BATCH_RECORDS": "2"}
    with ExitStack() as stack:
        served = stack.enter_context(serve_outlet(spec))
        slow_articles(served, 0.5)
        outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
        server = stack.enter_context(redis_server(port))
        made = Cluster(tmp_path, broker=url, redis=url)
        try:
            worker = made.start_worker("a", outlets_dir, settings)
            made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
            wait_until(lambda: spec.name in made.leases() and output_lines(tmp_path, spec.name),
                       "a crawl under way", proc=worker.proc)
            server.terminate()  # its data with it (--save '')
            server.wait(timeout=20)
            wait_until(lambda: f"{spec.name} exit=7" in worker.log, "the crawl failed", proc=worker.proc)
            partial = len(output_lines(tmp_path, spec.name))
            with redis_server(port):
                retry = made.start_worker("b", outlets_dir, settings)
                made.enqueue(spec.name, "--outlets-dir", str(outlets_dir))
                wait_until(lambda: made.last_results().get(spec.name, {}).get("exit") == 0 and made.idle(),
                           "the crawl sent again done", proc=retry.proc)
                assert_exactly_once_in_shared_state(tmp_path, made.prefix, served, url)
        finally:
            for started in made.workers:
                if started.proc.poll() is None:
                    started.kill_all()
    assert 0 < partial < len(served.build.all_articles)
    assert f"newscrawl: {spec.name}: state store {url} lost mid-crawl: " in worker.log
    # The crawl sent again ran on the new worker, or on the first one when it took tasks
    # again after all once its Redis was back.
    assert f"{spec.name} exit=0 (ok)" in retry.log + worker.log


@REDIS
@pytest.mark.e2e
def test_the_scheduler_sends_each_outlet_when_its_record_says_and_runs_once_per_cluster(tmp_path):
    """`newscrawl schedule` with a record scheduled every minute: its task is in the
    queue within the minute; a second scheduler exits 3 while the first runs."""
    from newscrawl.outlets import Outlet

    outlets_dir = write_outlets(tmp_path / "outlets", [
        Outlet(name="every-minute", display_name="x", domains=("127.0.0.2",), homepage="http://127.0.0.2/",
               schedule="* * * * *"),
        Outlet(name="hourly", display_name="x", domains=("127.0.0.2",), homepage="http://127.0.0.2/")])
    made = Cluster(tmp_path)
    settings = {**made.common, "NEWSCRAWL_STATE_DIR": tmp_path / "state"}
    command = [sys.executable, "-m", "newscrawl.cli", "schedule", "--outlets-dir", str(outlets_dir)]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    log_path = tmp_path / "schedule.log"
    with open(log_path, "wb") as log:
        scheduler = subprocess.Popen(command, cwd=ROOT, env=scrapy_env(None), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
    try:
        wait_until(lambda: "_schedule" in made.leases(), "the scheduler started", proc=scheduler)
        second = newscrawl("schedule", "--outlets-dir", str(outlets_dir), settings=settings)
        assert second.returncode == exitcodes.LOCKED, second.stdout + second.stderr
        assert "another scheduler runs: newscrawl-schedule-" in second.stderr
        wait_until(lambda: "1 task waiting" in made.status(), "the task sent", timeout=150, proc=scheduler)
        client = redis_client()
        try:
            [message] = client.lrange(f"{made.prefix}:broker:{made.prefix}", 0, -1)
        finally:
            client.close()
        sent = json.loads(message)
        assert sent["headers"]["task"] == "newscrawl.crawl_outlets"
        assert sent["content-type"] == "application/json"
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=60) == 0
        assert "_schedule" not in made.leases()
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
        delete_keys(made.prefix)
    printed = log_path.read_text()
    assert "newscrawl schedule: 2 outlets in 2 entries" in printed
    assert "newscrawl schedule: * * * * * [1] every-minute" in printed


@REDIS
@pytest.mark.e2e
def test_a_crawl_refuses_an_outlet_whose_lease_another_holds_and_stops_when_it_loses_its_own(tmp_path):
    """The crawl process's side of the lease (newscrawl/lock.py), as a worker's crawls run
    it: a lease held by another crawl refuses the outlet (exit 3, naming the holder); a
    lease taken from a running crawl stops it (exit 7, its line)."""
    from tests.test_faults import assert_fault, crawl_command, last_log, newscrawl_crawl

    prefix = f"newscrawl-test-{uuid.uuid4().hex[:12]}"
    settings = {"NEWSCRAWL_CLUSTER_LOCK_URL": REDIS_URL, "NEWSCRAWL_REDIS_PREFIX": prefix,
                "NEWSCRAWL_CLUSTER_LOCK_TTL": "3", "NEWSCRAWL_CLUSTER_WORKER": "here@host",
                "NEWSCRAWL_BOILERPLATE_WARMUP": "0", "NEWSCRAWL_OUTPUT_BATCH_RECORDS": "1"}
    spec = fleet_specs(2)[1]
    key = f"{prefix}:lease:{spec.name}"
    client = redis_client()
    try:
        with serve_outlet(spec) as served:
            slow_articles(served, 0.5)
            client.set(key, json.dumps({"token": "theirs", "worker": "there@host", "pid": 7, "since": "then"}))
            refused = newscrawl_crawl(tmp_path, served.outlet, settings)
            assert refused.returncode == exitcodes.LOCKED, refused.stdout + refused.stderr
            assert "already being crawled by there@host (pid 7, since then)" in last_log(tmp_path, spec.name)
            assert not served.site.requests
            client.delete(key)
            proc = subprocess.Popen(crawl_command(tmp_path, served.outlet, settings), cwd=ROOT, env=scrapy_env(None),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_until(lambda: (json.loads(client.get(key) or "{}").get("worker") == "here@host"
                                and output_lines(tmp_path, spec.name)), "the crawl holds its lease", proc=proc)
            client.set(key, json.dumps({"token": "theirs", "worker": "there@host"}))  # taken from it
            out, err = proc.communicate(timeout=120)
        lost = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert_fault(lost, exitcodes.STORE, f"newscrawl: {spec.name}: cluster lock {REDIS_URL} lost mid-crawl: "
                                            "its lease was taken by there@host (pid ?, since ?) (exit 7)")
        assert json.loads(client.get(key))["worker"] == "there@host"  # the other's lease left alone
    finally:
        client.close()
        delete_keys(prefix)


@REDIS
@pytest.mark.e2e
def test_reset_and_compact_take_the_outlets_lease_beside_workers(tmp_path):
    """With NEWSCRAWL_CLUSTER_LOCK_URL, `newscrawl reset` and `newscrawl compact` refuse an
    outlet a crawl on another machine holds (exit 3), and take and release its lease
    themselves; an unreachable Redis is one line and exit 7."""
    from tests.test_cron import free_port

    prefix = f"newscrawl-test-{uuid.uuid4().hex[:12]}"
    settings = {"NEWSCRAWL_CLUSTER_LOCK_URL": REDIS_URL, "NEWSCRAWL_REDIS_PREFIX": prefix,
                "NEWSCRAWL_STATE_DIR": tmp_path / "state", "NEWSCRAWL_OUTPUT_DIR": tmp_path / "output"}
    key = f"{prefix}:lease:paper"
    client = redis_client()
    try:
        client.set(key, json.dumps({"token": "theirs", "worker": "there@host", "pid": 7, "since": "then"}))
        for command in (("reset", "paper"), ("compact", "paper")):
            refused = newscrawl(*command, settings=settings)
            assert refused.returncode == exitcodes.LOCKED, refused.stdout + refused.stderr
            assert (f"outlet 'paper' is already being crawled by there@host (pid 7, since then) (lease {key})"
                    in refused.stderr), refused.stderr
        client.delete(key)
        done = newscrawl("reset", "paper", settings=settings)
        assert done.returncode == 0, done.stdout + done.stderr
        assert client.get(key) is None  # released
        port = free_port()
        away = newscrawl("reset", "paper", settings={**settings, "NEWSCRAWL_CLUSTER_LOCK_URL":
                                                     f"redis://127.0.0.1:{port}/0"})
        assert away.returncode == exitcodes.STORE
        assert away.stderr.splitlines() == [
            f"newscrawl reset: cluster lock redis://127.0.0.1:{port}/0 unreachable: Connection refused"]
    finally:
        client.close()
        delete_keys(prefix)
