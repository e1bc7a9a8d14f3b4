"""Body extraction quality and cost on a folder in the article-extraction-benchmark layout.

    python -m bench.extraction [FOLDER] [--ours MODULE:FUNCTION] [--labels FILE]

FOLDER holds `ground-truth.json` (id -> {articleBody, url}) and `html/ID.html.gz`.
Each extractor is a function `(html, url) -> {"text", "title", "authors", "published",
"language"}`; `--ours` swaps in another one (for instance the full `newscrawl clean`
path) without touching this file. CPU time is `time.process_time` around the call
alone, per page, after one warm-up pass, for both extractors in the same run.
Pages are also scored on the even- and odd-indexed halves (sorted by id) so that a
change tuned on one half can be checked on the other.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.metrics import score_page, summarise
from bench.metadata_eval import FIELDS, field_correct

# The data lives beside the repository; AEB_DEV points elsewhere when it does not.
DEFAULT_FOLDER = Path(os.environ.get("AEB_DEV") or
                      Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aeb-dev")
DEFAULT_LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "aeb-metadata.json"


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    expected: str


def load_pages(folder: Path) -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, truth[page_id].get("url") or "", raw.decode("utf-8", "replace"),
                          truth[page_id].get("articleBody") or ""))
    return pages


def extract_ours(html: str, url: str) -> dict:
    from pipelines.decruft import blocks_to_text
    from pipelines.extract import extract_article

    record = extract_article(html, url)
    return {
        "text": blocks_to_text(record["_blocks"]),
        "title": record["title"],
        "authors": record["authors"],
        "published": record["published_at"],
        "language": record["language"],
        "extractor": record["cleaning"]["extractor"],
    }


def clean_path(html: str, url: str) -> dict:
    """The whole `newscrawl clean` path: extract, decruft (generic and outlet rules; no
    learned boilerplate, as for a site seen for the first time) and normalise."""
    from newscrawl.cli import project_settings
    from newscrawl.outlets import generic_outlet
    from pipelines.clean import clean_page

    record, _ = clean_page(html, url, generic_outlet(url), settings=_settings(project_settings))
    return {
        "text": record["text"],
        "title": record["title"],
        "authors": record["authors"],
        "published": record["published_at"],
        "language": record["language"],
        "extractor": record["cleaning"]["extractor"],
    }


def _settings(factory, _cache={}):
    if "settings" not in _cache:
        _cache["settings"] = factory()
    return _cache["settings"]


def extract_trafilatura(html: str, url: str) -> dict:
    import trafilatura

    return {"text": trafilatura.extract(html, url=url) or ""}


def metadata_trafilatura(html: str, url: str) -> dict:
    import trafilatura

    meta = trafilatura.extract_metadata(html, default_url=url)
    if meta is None:
        return {"title": None, "authors": [], "published": None, "language": None}
    authors = [a.strip() for a in (meta.author or "").split(";") if a.strip()]
    return {"title": meta.title, "authors": authors, "published": meta.date, "language": meta.language}


def load_function(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class Run:
    name: str
    outputs: list[dict]
    cpu_ms: list[float]


def run(name: str, extract: Callable, pages: list[Page]) -> Run:
    for page in pages:  # warm-up: imports, caches, lazy initialisation
        extract(page.html, page.url)
    outputs, cpu = [], []
    for page in pages:
        start = time.process_time()
        out = extract(page.html, page.url)
        cpu.append((time.process_time() - start) * 1000)
        outputs.append(out)
    return Run(name, outputs, cpu)


def quality_rows(run_: Run, pages: list[Page]) -> list[str]:
    rows = []
    scores = [score_page(p.expected, o.get("text")) for p, o in zip(pages, run_.outputs)]
    for label, idx in (("all", range(len(pages))), ("even", range(0, len(pages), 2)),
                       ("odd", range(1, len(pages), 2))):
        s = summarise(scores[i] for i in idx)
        cpu = statistics.fmean(run_.cpu_ms[i] for i in idx)
        rows.append(f"{run_.name:<14} {label:<5} {s.pages:>5} {s.f1:>6.4f} {s.precision:>9.4f} "
                    f"{s.recall:>6.4f} {cpu:>9.1f}")
    return rows


def metadata_rows(name: str, metas: list[dict], pages: list[Page], labels: dict) -> str:
    cells = []
    for field in FIELDS:
        judged = [field_correct(field, labels[p.id], m) for p, m in zip(pages, metas) if p.id in labels]
        cells.append(f"{field} {sum(judged)}/{len(judged)} ({sum(judged) / max(1, len(judged)):.3f})")
    return f"{name:<14} " + "  ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--ours", default="bench.extraction:extract_ours",
                        help="MODULE:FUNCTION taking (html, url), returning a dict with 'text'")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--worst", type=int, default=0, help="list the N pages where ours scores lowest")
    args = parser.parse_args(argv)

    pages = load_pages(args.folder)
    ours = run("ours", load_function(args.ours), pages)
    base = run("trafilatura", extract_trafilatura, pages)
    print(f"{len(pages)} pages from {args.folder}")
    print(f"{'extractor':<14} {'half':<5} {'pages':>5} {'F1':>6} {'precision':>9} {'recall':>6} {'CPU ms/pg':>9}")
    for row in quality_rows(ours, pages) + quality_rows(base, pages):
        print(row)
    ratio = statistics.fmean(ours.cpu_ms) / statistics.fmean(base.cpu_ms)
    print(f"CPU ratio ours/trafilatura: {ratio:.2f}")
    counts = {}
    for o in ours.outputs:
        counts[o.get("extractor", "?")] = counts.get(o.get("extractor", "?"), 0) + 1
    print("body produced by: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))

    if args.labels.exists():
        labels = json.loads(args.labels.read_text(encoding="utf-8"))
        print(f"metadata accuracy on {sum(p.id in labels for p in pages)} labelled pages")
        print(metadata_rows("ours", ours.outputs, pages, labels))
        print(metadata_rows("trafilatura", [metadata_trafilatura(p.html, p.url) for p in pages], pages, labels))

    if args.worst:
        scored = sorted(((score_page(p.expected, o.get("text")), i) for i, (p, o) in
                         enumerate(zip(pages, ours.outputs))), key=lambda si: si[0].precision + si[0].recall)
        for s, i in scored[:args.worst]:
            print(f"  {i:>2} {pages[i].id[:12]} P={s.precision:.3f} R={s.recall:.3f} "
                  f"{ours.outputs[i].get('extractor', '')} {pages[i].url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
