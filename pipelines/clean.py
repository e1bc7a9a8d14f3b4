"""The crawl's cleaning stages over saved pages, outside a crawl.

`newscrawl clean` uses it, so that what a user debugs on a saved page is exactly what the
crawl does to it: the same stage functions, in the crawl's order. Each pure one runs over
every page through the stage runner (pipelines/runner.py), in the worker pool when there
are many pages, as in a crawl: the extract stage (`extract_raw`), the decruft stage's
rules (`decruft_rules`), its learned layer here, with the outlet's learned boilerplate
read but not updated (`LearnedLayer`), and the normalise stage (`normalise_stage`).
"""

from __future__ import annotations

from newscrawl import clock
from pipelines.decruft import LearnedLayer, decruft_rules, learner_from_settings
from pipelines.extract import extract_raw
from pipelines.normalise import normalise_stage
from pipelines.pool import WorkerCrash, WorkerPool
from pipelines.runner import StageRunner
from pipelines.work import public_fields


def raw_page(html: str, url: str, outlet) -> dict:
    """A saved page as the spider would have handed it on (provenance fields empty)."""
    return {
        "url": url, "final_url": url, "html": html, "outlet": outlet.name, "http_status": None,
        "fetched_at": clock.now().isoformat(timespec="seconds"),
        "discovered_via": None, "discovered_from": None, "hints": {},
    }


def _each(runner: StageRunner, fn, results: list, args) -> list:
    """fn over every result that is not a WorkerCrash (its arguments: args(i, result)),
    through the runner; the crashes stay in their places."""
    todo = [i for i, r in enumerate(results) if not isinstance(r, WorkerCrash)]
    out = list(results)
    for i, result in zip(todo, runner.map(fn, [args(i, results[i]) for i in todo])):
        out[i] = result
    return out


def clean_pages(pages: list[tuple[str, str, object]], *, settings, stores: dict, pool: WorkerPool,
                crash_marker: str | None = None) -> list:
    """(html, url, outlet) for each page -> (record, warnings) for each, in order, or a
    WorkerCrash where a page killed its worker twice. `stores` maps outlet names to the
    store holding their learned boilerplate (or None)."""
    runner = StageRunner(pool, crash_marker)
    outlets = [outlet for _, _, outlet in pages]
    records = runner.map(extract_raw, [(raw_page(html, url, outlet), outlet) for html, url, outlet in pages])
    records = _each(runner, decruft_rules, records, lambda i, record: (record, outlets[i]))
    audit = settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False)
    layers: dict[str, LearnedLayer] = {}
    for i, record in enumerate(records):
        if isinstance(record, WorkerCrash):
            continue
        name = outlets[i].name
        if name not in layers:
            store = stores.get(name)
            learner = learner_from_settings(store, name, settings) if store is not None else None
            layers[name] = LearnedLayer(learner, learn=False, audit=audit)
        records[i] = layers[name].finish(record)
    normalised = _each(runner, normalise_stage, records, lambda i, record: (record, outlets[i]))
    return [result if isinstance(result, WorkerCrash) else (public_fields(result[0]), result[1])
            for result in normalised]


def clean_page(html: str, url: str, outlet, *, settings, store=None) -> tuple[dict, list[str]]:
    """The record the crawl would write for this page (provenance fields empty) and the
    normalisation warnings. `store` holds the outlet's learned boilerplate, if any."""
    [result] = clean_pages([(html, url, outlet)], settings=settings, stores={outlet.name: store},
                           pool=WorkerPool(0))
    return result
