"""Workers on several machines: `newscrawl worker`, `enqueue`, `schedule` and `status`.

A Celery app whose one task, "crawl these outlets", is a fleet crawl: the same child
`scrapy crawl o1 o2 ...` process `newscrawl crawl` runs (newscrawl/cronrun.py,
run_shard), so a crawl that crashes ends that task, never the worker.

- Messages are JSON only: the worker accepts no other content type, so whoever can
  write to the broker cannot make a worker unpickle (run) anything. A task names
  outlets, which must be records the worker has, and settings from PAYLOAD_SETTINGS
  (politeness, budgets, batching); where things go, the store, the broker and the
  networks a crawl may reach are the worker's own (its -s settings and environment).
  Celery's remote control is off: the broker cannot shut a worker down either.
- Late acknowledgement, one message at a time per pool process (prefetch 1): a task is
  acknowledged once its crawl ended. A worker that dies leaves its task unacknowledged:
  RabbitMQ delivers it again as soon as the dead worker's connection drops; a Redis
  broker, NEWSCRAWL_TASK_VISIBILITY_TIMEOUT seconds after it was last known alive. A
  live task keeps its message from being redelivered by renewing its place in the
  broker's index of unacknowledged messages (`MessageKeeper`), so a crawl may take
  longer than the timeout. A worker stopped by SIGTERM stops its crawls gracefully and
  hands their tasks back to the queue (Celery's Reject with requeue).
- One crawl per outlet across machines: each crawl takes its outlet's lease in Redis
  (newscrawl/lease.py, through newscrawl/lock.py), besides the machine's flock. A task
  delivered again waits until the leases its earlier delivery held are gone (released,
  or expired NEWSCRAWL_CLUSTER_LOCK_TTL seconds after that crawl died), then crawls; a
  crawl of an outlet that another task holds ends LOCKED (3), as with the flock.
- Each outlet's last result (exit code, summary, worker, task, when) is kept in Redis
  for `newscrawl status`, with the queue's depth and the leases held.

The Redis of the leases and of the status is NEWSCRAWL_STATE_URL when it is Redis, else
the broker when it is Redis; a RabbitMQ broker with SQLite state has none (a clear error).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import exitcodes
from newscrawl.state import REDIS_SCHEMES

logger = logging.getLogger(__name__)

TASK_NAME = "newscrawl.crawl_outlets"

# Settings a task may carry (`newscrawl enqueue -s`): how a crawl behaves, never where it
# writes, which store or networks it uses, nor what code it loads.
PAYLOAD_SETTINGS = frozenset({
    "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_MAX_DELAY", "AUTOTHROTTLE_TARGET_CONCURRENCY", "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "LOG_LEVEL", "RETRY_TIMES",
    "NEWSCRAWL_ARCHIVE", "NEWSCRAWL_ARCHIVE_ALL", "NEWSCRAWL_AUDIT_CRUFT", "NEWSCRAWL_AUDIT_CRUFT_FILE",
    "NEWSCRAWL_CONTACT", "NEWSCRAWL_DROP_NEAR_DUPLICATES", "NEWSCRAWL_INCREMENTAL", "NEWSCRAWL_KEEP_REVISIONS",
    "NEWSCRAWL_MAX_AGE_DAYS", "NEWSCRAWL_MAX_PAGES_PER_OUTLET", "NEWSCRAWL_MIN_WORDS",
    "NEWSCRAWL_NEAR_DUP_THRESHOLD", "NEWSCRAWL_OUTPUT_BATCH_BYTES", "NEWSCRAWL_OUTPUT_BATCH_RECORDS",
    "NEWSCRAWL_OUTPUT_BATCH_SECONDS", "NEWSCRAWL_OUTPUT_COMPRESSION", "NEWSCRAWL_RECHECK_AFTER",
    "NEWSCRAWL_STOP_TIMEOUT",
})
# Settings of the cluster itself: read by enqueue, schedule and status, never sent.
CLUSTER_SETTINGS = ("NEWSCRAWL_BROKER_URL", "NEWSCRAWL_TASK_VISIBILITY_TIMEOUT", "NEWSCRAWL_QUEUE",
                    "NEWSCRAWL_REDIS_PREFIX", "NEWSCRAWL_OUTLETS_PER_TASK", "NEWSCRAWL_CLUSTER_LOCK_TTL")
MAX_VALUE_CHARS = 200
DEFAULT_MINUTE_SALT = b"newscrawl-schedule"


# --------------------------------------------------------------------------- settings


def cluster_setting(settings, name: str) -> str:
    """A cluster setting: a -s setting, else the environment variable of its name, else the
    project's default (newscrawl/settings.py)."""
    from scrapy.settings import SETTINGS_PRIORITIES

    if (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]:
        return str(settings.get(name))
    return os.environ.get(name, "").strip() or str(settings.get(name) or "")


def _seconds(settings, name: str, minimum: float) -> float:
    value = cluster_setting(settings, name)
    try:
        seconds = float(value)
    except ValueError:
        raise exitcodes.ConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if not seconds >= minimum:
        raise exitcodes.ConfigError(f"{name} must be at least {minimum:g} seconds, not {value!r}")
    return seconds


@dataclass
class ClusterConfig:
    """Where the cluster's broker, queue and Redis are, from the settings."""

    broker: str
    queue: str
    prefix: str
    visibility_timeout: float
    lock_ttl: float
    outlets_per_task: int
    redis_url: str | None  # the leases and the status; None: there is none

    @classmethod
    def from_settings(cls, settings) -> "ClusterConfig":
        broker = cluster_setting(settings, "NEWSCRAWL_BROKER_URL")
        if not broker.startswith((*REDIS_SCHEMES, "amqp://", "amqps://", "pyamqp://")):
            raise exitcodes.ConfigError(f"NEWSCRAWL_BROKER_URL must be a redis:// or amqp:// URL, not {broker!r}")
        queue, prefix = cluster_setting(settings, "NEWSCRAWL_QUEUE"), cluster_setting(settings, "NEWSCRAWL_REDIS_PREFIX")
        for name, value in (("NEWSCRAWL_QUEUE", queue), ("NEWSCRAWL_REDIS_PREFIX", prefix)):
            if not value or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise exitcodes.ConfigError(f"{name} must be letters, digits, '-', '_' or '.', not {value!r}")
        per_task = cluster_setting(settings, "NEWSCRAWL_OUTLETS_PER_TASK")
        if not per_task.isdigit() or int(per_task) < 1:
            raise exitcodes.ConfigError(f"NEWSCRAWL_OUTLETS_PER_TASK must be a whole number from 1, not {per_task!r}")
        state = settings.get("NEWSCRAWL_STATE_URL") or ""
        redis_url = state if state.startswith(REDIS_SCHEMES) else broker if broker.startswith(REDIS_SCHEMES) else None
        return cls(broker, queue, prefix, _seconds(settings, "NEWSCRAWL_TASK_VISIBILITY_TIMEOUT", 1),
                   _seconds(settings, "NEWSCRAWL_CLUSTER_LOCK_TTL", 1), int(per_task), redis_url)

    @property
    def redis_broker(self) -> bool:
        return self.broker.startswith(REDIS_SCHEMES)

    def need_redis(self) -> str:
        if self.redis_url is None:
            raise exitcodes.ConfigError("the cluster keeps its locks and status in Redis: set NEWSCRAWL_STATE_URL="
                                        "redis://... (a RabbitMQ broker has no Redis of its own)")
        return self.redis_url

    def redis(self):
        from newscrawl.lease import redis_client

        return redis_client(self.need_redis())

    @property
    def broker_keyprefix(self) -> str:
        """A Redis broker's keys (queues, unacknowledged messages) start with this."""
        return f"{self.prefix}:broker:"


def cluster_config(overrides: dict, command: str):
    """(the project's settings, the cluster's config) for a command that needs the
    cluster's Redis; or the exit code CONFIG, said on stderr."""
    project = _project(overrides)
    try:
        config = ClusterConfig.from_settings(project)
        config.need_redis()
    except exitcodes.ConfigError as exc:
        print(f"newscrawl {command}: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    return project, config


def _no_folder(outlets_dir: str | None, command: str) -> bool:
    if outlets_dir and not Path(outlets_dir).is_dir():
        print(f"newscrawl {command}: --outlets-dir {outlets_dir}: no such folder", file=sys.stderr)
        return True
    return False


def payload_problems(outlets, settings) -> list[str]:
    """What makes a task's arguments unacceptable (empty when they are fine)."""
    from newscrawl.outlets import NAME_RE

    problems = []
    if not isinstance(outlets, list) or not outlets:
        problems.append("outlets: a list of one or more outlet names is needed")
    else:
        problems += [f"outlets: {name!r} is not an outlet name" for name in outlets
                     if not isinstance(name, str) or not NAME_RE.match(name)]
    if not isinstance(settings, dict):
        return problems + ["settings: a table of setting names and values is needed"]
    for key, value in settings.items():
        if key not in PAYLOAD_SETTINGS:
            problems.append(f"setting {key} cannot be given with a task; it is the worker's own (its -s or "
                            f"environment). Settings a task may give: {', '.join(sorted(PAYLOAD_SETTINGS))}")
        elif not isinstance(value, str) or len(value) > MAX_VALUE_CHARS or not value.isprintable():
            problems.append(f"setting {key}: the value must be a line of at most {MAX_VALUE_CHARS} characters")
    return problems


# --------------------------------------------------------------------------- the Celery app


def make_app(config: ClusterConfig):
    from celery import Celery

    app = Celery("newscrawl", broker=config.broker, set_as_current=False)
    transport = {"visibility_timeout": config.visibility_timeout}
    if config.redis_broker:
        # The sweep that restores the messages of dead workers runs every few seconds
        # (kombu's default: every 100 s), so a task comes back soon after its timeout.
        transport.update(global_keyprefix=config.broker_keyprefix, unacked_restore_throttle=1,
                         unacked_restore_interval=max(1, min(10, int(config.visibility_timeout / 4))),
                         socket_timeout=30, socket_connect_timeout=10)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json", result_accept_content=["json"],
        event_serializer="json", task_ignore_result=True, result_backend=None,
        task_acks_late=True, worker_prefetch_multiplier=1,
        # A pool process killed under a task (the OOM killer) hands the task back too.
        task_reject_on_worker_lost=True,
        # A crawl lives on when the broker's connection drops: its lease keeps the outlet
        # its own, and a second delivery waits for it (see the module docstring).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_default_queue=config.queue, broker_transport_options=transport,
        broker_connection_retry_on_startup=True, broker_connection_timeout=10,
        worker_enable_remote_control=False, worker_send_task_events=False,
        enable_utc=True, timezone="UTC",
    )
    app.task(name=TASK_NAME, bind=True)(crawl_task)
    return app


# --------------------------------------------------------------------------- status


class ClusterStatus:
    """What `newscrawl status` reads: each outlet's last result, in one Redis hash."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.key = f"{prefix}:status:last"

    def record(self, outlet: str, code: int, summary: str, worker: str, task: str, log: str | None) -> None:
        self.client.hset(self.key, outlet, json.dumps({
            "exit": code, "result": exitcodes.NAMES.get(code, str(code)), "summary": summary, "worker": worker,
            "task": task, "log": log, "finished": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}))

    def last(self) -> dict[str, dict]:
        return {k: json.loads(v) for k, v in sorted(self.client.hgetall(self.key).items())}


# --------------------------------------------------------------------------- the worker


@dataclass
class WorkerConfig:
    """The worker's own settings, which every crawl it runs gets (set before the pool's
    processes are forked, so each has them)."""

    settings: dict = field(default_factory=dict)  # -s NAME=VALUE
    outlets_dir: str | None = None
    name: str = ""


WORKER = WorkerConfig()


def _project(overrides: dict):
    from newscrawl.project import project_settings

    return project_settings(overrides)


class MessageKeeper:
    """Keeps a running task's message from being handed to another worker by a Redis
    broker: every quarter of the visibility timeout, it moves the message's entry in the
    broker's index of unacknowledged messages (kombu's `unacked_index`, scored by the
    time of delivery) to now. When this process dies, the renewals stop and the message
    is restored to the queue once the timeout has passed."""

    def __init__(self, config: ClusterConfig, task_id: str):
        self.config = config
        self.task_id = task_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newscrawl-message-keeper", daemon=True)

    def __enter__(self):
        if self.config.redis_broker:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        from newscrawl.lease import redis_client

        prefix = self.config.broker_keyprefix
        client, tag = redis_client(self.config.broker), None
        try:
            while not self._stop.wait(max(0.5, self.config.visibility_timeout / 4)):
                try:
                    tag = tag or self._find_tag(client, prefix)
                    if tag is not None:
                        client.zadd(f"{prefix}unacked_index", {tag: time.time()}, xx=True)
                except Exception:  # noqa: BLE001 - the broker is away: tried again next round
                    logger.warning("newscrawl worker: could not renew task %s in the broker", self.task_id,
                                   exc_info=True)
        finally:
            client.close()

    def _find_tag(self, client, prefix: str) -> str | None:
        for tag, raw in client.hscan_iter(f"{prefix}unacked"):
            try:  # kombu keeps [the message, its exchange, its routing key] as JSON
                headers = json.loads(raw)[0].get("headers") or {}
            except (ValueError, TypeError, IndexError, AttributeError, KeyError):
                continue
            if headers.get("id") == self.task_id:
                return tag
        return None


def _wait_for_earlier_delivery(client, prefix: str, names: list[str], task_id: str, ttl: float) -> None:
    """A task delivered again (its first worker died or lost the broker) waits until the
    leases its earlier delivery holds are gone: that crawl ended, or its lease expired."""
    from newscrawl.lease import lease_key

    said = False
    while True:
        held = [n for n, value in zip(names, client.mget([lease_key(prefix, n) for n in names]))
                if value and json.loads(value).get("task") == task_id]
        if not held:
            return
        if not said:
            logger.warning("newscrawl worker: task %s was delivered again while its earlier delivery holds %s; "
                           "waiting until they are released or expire (at most %gs after that crawl died)",
                           task_id, ", ".join(held), ttl)
            said = True
        time.sleep(max(0.5, min(ttl / 4, 2.0)))


def crawl_task(task, outlets, settings=None):
    """The task: crawls the outlets as one fleet crawl; each outlet's exit code by name."""
    from celery.exceptions import Reject

    from newscrawl.cronrun import Fleet, crawl_env, run_shard
    from newscrawl.outlets import scan_outlets, scan_registry
    from newscrawl.retention import STAMP_FORMAT
    from newscrawl.stop import stop_timeout

    settings = {} if settings is None else settings
    task_id, worker = task.request.id or "", task.request.hostname or WORKER.name
    config = ClusterConfig.from_settings(_project(WORKER.settings))
    status = ClusterStatus(config.redis(), config.prefix)
    results: dict[str, int] = {}

    def done(outlet: str, code: int, summary: str, log: str | None = None, fault: str = "") -> None:
        results[outlet] = code
        logger.info("newscrawl worker: %s %s", outlet, _with_code(summary, code))
        if fault:  # the machine's fault, in its one line (newscrawl.faults): a person must act
            logger.error("%s", fault)
        try:
            status.record(outlet, code, summary, worker, task_id, log)
        except Exception:  # noqa: BLE001 - the status is for people; the crawl's result stands
            logger.warning("newscrawl worker: could not record %s's result", outlet, exc_info=True)

    problems = payload_problems(outlets, settings)
    if problems:  # a message no worker can run: refused for good (acknowledged, not retried)
        logger.error("newscrawl worker: task %s refused:\n  %s", task_id, "\n  ".join(problems))
        for name in outlets if isinstance(outlets, list) else []:
            if isinstance(name, str) and not any(repr(name) in p for p in problems):
                done(name, exitcodes.CONFIG, "config: task refused: " + problems[0])
        return {"refused": problems}
    merged = {**WORKER.settings, **settings}
    project = _project(merged)
    scan = scan_outlets(Path(WORKER.outlets_dir)) if WORKER.outlets_dir else scan_registry()
    names = []
    for name in dict.fromkeys(outlets):
        if name in scan.invalid:
            done(name, exitcodes.CONFIG, "config: invalid record: " + "; ".join(map(str, scan.invalid[name])))
        elif name not in scan.outlets:
            done(name, exitcodes.CONFIG, f"config: this worker has no outlet record named {name!r}")
        else:
            names.append(name)
    if not names:
        return results
    client = config.redis()
    try:
        _wait_for_earlier_delivery(client, config.prefix, names, task_id, config.lock_ttl)
    except Exception:  # noqa: BLE001 - Redis away: the crawl finds it so too, and ends with exit 7
        logger.warning("newscrawl worker: the cluster's Redis did not answer", exc_info=True)
    finally:
        client.close()
    crawl_settings = {**merged, "NEWSCRAWL_CLUSTER_LOCK_URL": config.need_redis(),
                      "NEWSCRAWL_CLUSTER_LOCK_TTL": f"{config.lock_ttl:g}", "NEWSCRAWL_REDIS_PREFIX": config.prefix,
                      "NEWSCRAWL_CLUSTER_WORKER": worker, "NEWSCRAWL_CLUSTER_TASK": task_id}
    stamp = datetime.now(timezone.utc).strftime(STAMP_FORMAT)
    fleet = Fleet(stop_timeout(project))
    log_dir = Path(project.get("NEWSCRAWL_LOG_DIR") or "logs")
    with MessageKeeper(config, task_id):
        run_shard(names, stamp, log_dir, crawl_settings, crawl_env(WORKER.outlets_dir), fleet,
                  lambda run: done(run.outlet, run.code, run.summary, str(run.log) if run.log else None, run.fault),
                  shard=os.getpid())
    if exitcodes.INTERRUPTED in results.values():
        # Stopped by the worker's shutdown: the task goes back to the queue for another
        # worker, which goes on where this crawl stopped.
        raise Reject("the crawl was interrupted by the worker's shutdown", requeue=True)
    return results


def _stop_crawls(**_kwargs) -> None:
    """On the worker's shutdown (SIGTERM, SIGINT): every crawl its pool runs is asked to
    stop gracefully (newscrawl/stop.py); each task then hands its message back."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            command = child.cmdline()
            if "scrapy" in command and "crawl" in command and "-m" in command:
                child.send_signal(signal.SIGTERM)
        except psutil.Error:
            continue


def run_worker(overrides: dict, concurrency: int, outlets_dir: str | None) -> int:
    from celery.signals import worker_shutting_down

    found = cluster_config(overrides, "worker")
    if isinstance(found, int):
        return found
    project, config = found
    if concurrency < 1:
        print("newscrawl worker: --concurrency must be 1 or more", file=sys.stderr)
        return exitcodes.CONFIG
    if _no_folder(outlets_dir, "worker"):
        return exitcodes.CONFIG
    if not (project.get("NEWSCRAWL_STATE_URL") or "").startswith(REDIS_SCHEMES):
        print("newscrawl worker: warning: the ledger and dedupe state are this machine's SQLite files "
              f"({project.get('NEWSCRAWL_STATE_DIR') or 'state'}/): workers on other machines do not see them. "
              "Set NEWSCRAWL_STATE_URL=redis://... for workers on several machines.", file=sys.stderr)
    WORKER.settings = dict(overrides)
    WORKER.outlets_dir = str(Path(outlets_dir).resolve()) if outlets_dir else None
    WORKER.name = f"newscrawl-{os.getpid()}@{socket.gethostname()}"
    app = make_app(config)
    worker_shutting_down.connect(_stop_crawls, weak=False)
    app.worker_main(["worker", "--concurrency", str(concurrency), "--pool", "prefork", "--queues", config.queue,
                     "--hostname", WORKER.name, "--loglevel", str(project.get("LOG_LEVEL") or "INFO"),
                     "--without-mingle", "--without-gossip", "--without-heartbeat"])
    return exitcodes.OK


# --------------------------------------------------------------------------- enqueue


def _chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[i:i + size] for i in range(0, len(names), size)]


def _broker_fault(config: ClusterConfig, exc: BaseException) -> str:
    from newscrawl.faults import safe_url, store_cause

    return f"newscrawl: broker {safe_url(config.broker)} unreachable: {store_cause(exc)} (exit {exitcodes.STORE})"


def split_settings(overrides: dict) -> tuple[dict, dict]:
    """(the cluster's own settings, the settings for the task) of `-s` pairs."""
    own = {k: v for k, v in overrides.items() if k in CLUSTER_SETTINGS or k == "NEWSCRAWL_STATE_URL"}
    return own, {k: v for k, v in overrides.items() if k not in own}


def send_tasks(config: ClusterConfig, groups: list[list[str]], settings: dict) -> list[str]:
    """Publishes one task per group of outlets; their ids. Raises the broker's error."""
    app = make_app(config)
    policy = {"max_retries": 2, "interval_start": 0, "interval_step": 1, "interval_max": 1}
    try:
        with app.connection_for_write() as connection:
            return [app.send_task(TASK_NAME, args=[group, settings], queue=config.queue, connection=connection,
                                  retry=True, retry_policy=policy).id for group in groups]
    finally:
        app.close()


def enqueue(names: list[str], overrides: dict) -> int:
    own, settings = split_settings(overrides)
    problems = payload_problems(names, settings)
    try:
        config = ClusterConfig.from_settings(_project(own))
    except exitcodes.ConfigError as exc:
        problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"newscrawl enqueue: {problem}", file=sys.stderr)
        return exitcodes.CONFIG
    groups = _chunks(names, config.outlets_per_task)
    try:
        ids = send_tasks(config, groups, settings)
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError and the socket's errors
        print(_broker_fault(config, exc), file=sys.stderr)
        return exitcodes.STORE
    from newscrawl.faults import safe_url

    for task_id, group in zip(ids, groups):
        print(f"newscrawl enqueue: task {task_id}: {' '.join(group)}")
    print(f"newscrawl enqueue: {len(names)} outlet{'' if len(names) == 1 else 's'} in {len(ids)} "
          f"task{'' if len(ids) == 1 else 's'} on queue {config.queue} at {safe_url(config.broker)}")
    return exitcodes.OK


# --------------------------------------------------------------------------- schedule


def default_minute(outlet: str) -> int:
    """The minute of the hour an outlet without a schedule is crawled: a hash of its name,
    so that a fleet's outlets do not all start at the same minute."""
    return zlib.crc32(DEFAULT_MINUTE_SALT + outlet.encode("utf-8")) % 60


def outlet_cron(outlet) -> str:
    return outlet.schedule or f"{default_minute(outlet.name)} * * * *"


def beat_schedule(outlets, config: ClusterConfig) -> dict:
    """Celery beat's entries: the outlets of one cron expression together, in tasks of at
    most NEWSCRAWL_OUTLETS_PER_TASK outlets."""
    from celery.schedules import crontab

    by_cron: dict[str, list[str]] = {}
    for outlet in sorted(outlets, key=lambda o: o.name):
        by_cron.setdefault(outlet_cron(outlet), []).append(outlet.name)
    entries = {}
    for cron, names in sorted(by_cron.items()):
        minute, hour, day_of_month, month, day_of_week = cron.split()
        when = crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                       day_of_week=day_of_week)
        for k, group in enumerate(_chunks(names, config.outlets_per_task), 1):
            entries[f"{cron} [{k}] {' '.join(group)}"] = {"task": TASK_NAME, "schedule": when, "args": (group, {}),
                                                          "options": {"queue": config.queue}}
    return entries


def run_schedule(overrides: dict, outlets_dir: str | None) -> int:
    from newscrawl.lease import RENEWER, Lease, LeaseHeld
    from newscrawl.outlets import scan_outlets, scan_registry

    found = cluster_config(overrides, "schedule")
    if isinstance(found, int):
        return found
    project, config = found
    if _no_folder(outlets_dir, "schedule"):
        return exitcodes.CONFIG
    scan = scan_outlets(Path(outlets_dir)) if outlets_dir else scan_registry()
    for problem in scan.problems:
        print(f"newscrawl schedule: invalid record skipped: {problem}", file=sys.stderr)
    if not scan.outlets:
        print("newscrawl schedule: no valid outlet record to schedule", file=sys.stderr)
        return exitcodes.CONFIG
    # One scheduler per cluster: a second one would send every task twice.
    try:
        lease = Lease(config.redis(), config.prefix, "_schedule", config.lock_ttl,
                      worker=f"newscrawl-schedule-{os.getpid()}@{socket.gethostname()}").acquire()
    except LeaseHeld as exc:
        print(f"newscrawl schedule: another scheduler runs: {exc.owner}", file=sys.stderr)
        return exitcodes.LOCKED
    except Exception as exc:  # noqa: BLE001 - every reason Redis does not answer
        from newscrawl.faults import safe_url, store_cause

        print(f"newscrawl: cluster store {safe_url(config.redis_url)} unreachable: {store_cause(exc)} "
              f"(exit {exitcodes.STORE})", file=sys.stderr)
        return exitcodes.STORE
    lost: list[BaseException] = []

    def on_lost(exc: BaseException) -> None:
        lost.append(exc)
        os.kill(os.getpid(), signal.SIGTERM)  # beat stops on it; another scheduler may take over

    RENEWER.add(lease, on_lost)
    app = make_app(config)
    app.conf.beat_schedule = beat_schedule(scan.outlets.values(), config)
    state_dir = Path(project.get("NEWSCRAWL_STATE_DIR") or "state")
    state_dir.mkdir(parents=True, exist_ok=True)
    print(f"newscrawl schedule: {len(scan.outlets)} outlets in {len(app.conf.beat_schedule)} entries "
          f"on queue {config.queue}", flush=True)
    for name, entry in app.conf.beat_schedule.items():
        print(f"newscrawl schedule: {name}", flush=True)
    try:
        app.Beat(loglevel=str(project.get("LOG_LEVEL") or "INFO"), quiet=True,
                 schedule=str(state_dir / f"celerybeat-{config.queue}")).run()
    finally:
        RENEWER.remove(lease)
        try:
            lease.release()
        except Exception:  # noqa: BLE001 - the store is gone: the lease expires by itself
            pass
    if lost:
        print(f"newscrawl schedule: the scheduler's lease was lost ({lost[0]}); stopped", file=sys.stderr)
        return exitcodes.STORE
    return exitcodes.OK


# --------------------------------------------------------------------------- status


def queue_depth(config: ClusterConfig) -> int:
    """Messages waiting in the queue. The queue is declared as a worker declares it
    (idempotent): a Redis queue without messages does not exist until then."""
    app = make_app(config)
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=2, interval_start=0, interval_step=1, interval_max=1)
            channel = connection.channel()
            try:
                return int(channel.queue_declare(queue=config.queue, durable=True, auto_delete=False).message_count)
            finally:
                channel.close()
    finally:
        app.close()


def _with_code(summary: str, code: int) -> str:
    """A run's summary with its exit code first, as a run report's summary says it."""
    summary = summary or ""
    return summary if summary.startswith(f"exit={code} ") else f"exit={code} ({exitcodes.NAMES.get(code, code)}) {summary}"


def _age(since: str) -> str:
    try:
        start = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "?"
    seconds = int((datetime.now(timezone.utc) - start).total_seconds())
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def show_status(overrides: dict, out=None) -> int:
    from newscrawl.faults import safe_url, store_cause
    from newscrawl.lease import holders

    out = out or sys.stdout
    found = cluster_config(overrides, "status")
    if isinstance(found, int):
        return found
    _, config = found
    try:
        depth = queue_depth(config)
    except Exception as exc:  # noqa: BLE001 - every reason the broker does not answer
        print(_broker_fault(config, exc), file=sys.stderr)
        return exitcodes.STORE
    client = config.redis()
    try:
        running = {k: v for k, v in holders(client, config.prefix).items() if not k.startswith("_")}
        last = ClusterStatus(client, config.prefix).last()
    except Exception as exc:  # noqa: BLE001 - every reason Redis does not answer
        print(f"newscrawl: cluster store {safe_url(config.redis_url)} unreachable: {store_cause(exc)} "
              f"(exit {exitcodes.STORE})", file=sys.stderr)
        return exitcodes.STORE
    finally:
        client.close()
    out.write(f"queue {config.queue} at {safe_url(config.broker)}: {depth} task{'' if depth == 1 else 's'} waiting\n")
    out.write(f"running: {len(running)} crawl{'' if len(running) == 1 else 's'}\n")
    width = max((len(n) for n in [*running, *last]), default=0)
    for name, holder in sorted(running.items()):
        out.write(f"  {name:<{width}}  worker={holder.get('worker') or holder.get('host')}  pid={holder.get('pid')}"
                  f"  since={holder.get('since')} ({_age(holder.get('since', ''))})  task={holder.get('task')}\n")
    out.write(f"last results: {len(last)} outlet{'' if len(last) == 1 else 's'}\n")
    for name, result in last.items():
        out.write(f"  {name:<{width}}  at={result.get('finished')}  worker={result.get('worker')}"
                  f"  {_with_code(result.get('summary'), result.get('exit'))}\n")
    out.flush()
    return exitcodes.OK
