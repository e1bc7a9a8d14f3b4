"""Imported once by the worker pool's fork server, before it forks any worker: the
stages' modules, the libraries they use and their rules are loaded here, so every worker
starts warm. The stages import their libraries (trafilatura, htmldate, ftfy, dateutil,
jsonschema) where they use them, as the crawl process imports the same modules for their
pipeline classes alone: the warm-up calls below load them and build what is made from them.

The language detector's models (~40 MB) are built in each worker instead (`in_worker`,
run by the pool's initializer). Built here they would be shared, yet resident in the fork
server as well as in every worker: the process tree's RSS would count them once more,
for no gain in CPU (the build takes a fraction of a second).

The fork server and the workers ignore SIGTERM and SIGINT (the workers inherit that from
the fork server): the crawl process stops them. A signal to the whole process group (Ctrl-C
on a terminal, `timeout`, systemd) would otherwise kill the workers under the articles in
flight of a crawl that is stopping gracefully; a crawl that is killed takes its pool down
(pipelines/pool.py, exit_with; newscrawl/stop.py)."""

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)

from newscrawl import page_job  # noqa: E402, F401 (the spider's worker call: the article gate)
from pipelines import cruft_rules, decruft, extract, normalise, validate  # noqa: E402, F401

cruft_rules.load_rules()
extract.warm_up()
normalise.warm_up()
validate._validator()


def in_worker() -> None:
    """What each worker builds for itself when it starts."""
    normalise.language_detector()
