"""Body extraction and metadata quality, and cost, of ours against trafilatura's default.

    python -m bench.extraction [FOLDER ...] [--dataset aeb|fundus] [--ours MODULE:FUNCTION]
                               [--worst N] [--gaps N] [--json FILE] [--labels FILE]

With no FOLDER it scores both development sets beside the repository, aeb-dev and
fundus-dev (AEB_DEV and FUNDUS_DEV point elsewhere); a FOLDER given is recognised by its
ground truth. Each holds `ground-truth.json` (id -> {articleBody, url, ...}) and
`html/ID.html.gz`. "ours" is by default the whole `newscrawl clean` path, since that is
what users get; `--ours` swaps in any function `(html, url) -> {"text", "title",
"authors", "published", "language", "extractor"}`. trafilatura runs as
`trafilatura.extract(html, url=url)` on the same pages.

Per set it prints body F1, precision and recall (aeb metric; fundus-dev on normalised text,
see bench/metrics.py) on all pages and on the even- and odd-indexed halves (sorted by id),
so a change tuned on one half can be checked on the other; CPU ms per page
(`time.process_time` around the call alone, after one warm-up pass); the pages with the
largest per-page F1 gap either way; metadata accuracy per field; and the count of pages
where ours scores below 0.5 F1 while trafilatura reaches 0.9, which should be none.
`--json` writes the per-page scores and our text, so two runs can be diffed.
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.metadata_eval import FIELDS, FUNDUS_FIELDS, field_correct, fundus_field_correct
from bench.metrics import PageScore, fundus_tokens, score_page, summarise, tokenize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The data lives beside the repository; AEB_DEV and FUNDUS_DEV point elsewhere when it does not.
DEFAULT_FOLDER = Path(os.environ.get("AEB_DEV") or DATA / "aeb-dev")
FUNDUS_FOLDER = Path(os.environ.get("FUNDUS_DEV") or DATA / "fundus-dev")
DEFAULT_LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "aeb-metadata.json"

# The done criterion of the extraction fidelity work: no page where ours fails while
# trafilatura alone gets it right.
FAIL_F1, GOOD_F1 = 0.5, 0.9


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    expected: str
    truth: dict = field(default_factory=dict, compare=False, repr=False)


def load_pages(folder: Path) -> list[Page]:
    """Pages sorted by id. Both sets store UTF-8 whatever the page's meta says."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, truth[page_id].get("url") or "", raw.decode("utf-8", "replace"),
                          truth[page_id].get("articleBody") or "", truth[page_id]))
    return pages


def is_fundus(pages: list[Page]) -> bool:
    """fundus-dev's ground truth carries the parser's own metadata next to the body."""
    return bool(pages) and all("fundus_version" in p.truth for p in pages)


def extract_ours(html: str, url: str) -> dict:
    from pipelines.cruft_rules import blocks_to_text
    from pipelines.extract import extract_article
    from pipelines.work import WORK

    record = extract_article(html, url)
    return {
        "text": blocks_to_text(record[WORK].blocks),
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


@dataclass(frozen=True)
class Dataset:
    """A set of pages and how it is scored: body tokens and a metadata judge
    `(field, page, extracted) -> bool | None` (None: that page has no label)."""
    name: str
    folder: Path
    pages: list[Page]
    tokens: Callable
    fields: tuple[str, ...]
    judge: Callable


def aeb_judge(labels: dict) -> Callable:
    def judge(name: str, page: Page, got: dict) -> bool | None:
        if page.id not in labels or labels[page.id].get(name) is None and name != "author":
            return None
        return field_correct(name, labels[page.id], got)
    return judge


def fundus_judge(name: str, page: Page, got: dict) -> bool | None:
    return fundus_field_correct(name, page.truth, got)


def make_dataset(folder: Path, labels_file: Path) -> Dataset:
    pages = load_pages(folder)
    if is_fundus(pages):
        return Dataset("fundus", folder, pages, fundus_tokens, FUNDUS_FIELDS, fundus_judge)
    labels = json.loads(labels_file.read_text(encoding="utf-8")) if labels_file.exists() else {}
    return Dataset("aeb", folder, pages, tokenize, FIELDS, aeb_judge(labels))


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


def page_scores(data: Dataset, run_: Run) -> list[PageScore]:
    return [score_page(p.expected, o.get("text"), tokens=data.tokens) for p, o in zip(data.pages, run_.outputs)]


def quality_rows(run_: Run, scores: list[PageScore]) -> list[str]:
    rows = []
    for label, idx in (("all", range(len(scores))), ("even", range(0, len(scores), 2)),
                       ("odd", range(1, len(scores), 2))):
        if not idx:
            continue
        s = summarise(scores[i] for i in idx)
        cpu = statistics.fmean(run_.cpu_ms[i] for i in idx)
        rows.append(f"{run_.name:<14} {label:<5} {s.pages:>5} {s.f1:>6.4f} {s.precision:>9.4f} "
                    f"{s.recall:>6.4f} {cpu:>9.1f}")
    return rows


def largest_gaps(ours: list[PageScore], base: list[PageScore], n: int) -> list[int]:
    """Indices of the n pages where ours' F1 falls furthest below the baseline's (call
    with the arguments swapped for the other direction); pages without a gap are left out."""
    gaps = sorted(((b.f1 - o.f1, i) for i, (o, b) in enumerate(zip(ours, base))), key=lambda gi: (-gi[0], gi[1]))
    return [i for gap, i in gaps[:n] if gap > 0]


def failures(ours: list[PageScore], base: list[PageScore]) -> list[int]:
    return [i for i, (o, b) in enumerate(zip(ours, base)) if o.f1 < FAIL_F1 and b.f1 >= GOOD_F1]


def gap_rows(data: Dataset, ours: Run, s_ours: list[PageScore], s_base: list[PageScore], idx: list[int]) -> list[str]:
    return [f"  {s_ours[i].f1:>6.3f} {s_base[i].f1:>6.3f}  {data.pages[i].id[:32]:<32} "
            f"{ours.outputs[i].get('extractor', '?'):<12} {data.pages[i].url}" for i in idx]


def metadata_row(name: str, data: Dataset, metas: list[dict]) -> str:
    cells = []
    for f in data.fields:
        judged = [v for v in (data.judge(f, p, m) for p, m in zip(data.pages, metas)) if v is not None]
        if judged:
            cells.append(f"{f} {sum(judged)}/{len(judged)} ({sum(judged) / len(judged):.3f})")
    return f"{name:<14} " + "  ".join(cells)


def per_page_records(data: Dataset, ours: Run, s_ours: list[PageScore], s_base: list[PageScore]) -> list[dict]:
    def prf(s: PageScore) -> dict:
        return {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4)}

    return [{"id": p.id, "dataset": data.name, "url": p.url, "extractor": o.get("extractor"),
             "ours": prf(so), "trafilatura": prf(sb), "ours_text": o.get("text") or ""}
            for p, o, so, sb in zip(data.pages, ours.outputs, s_ours, s_base)]


def report(data: Dataset, ours_fn: Callable, worst: int, gaps: int) -> tuple[list[str], list[dict], int]:
    """The printed lines for one set, its per-page records and its failure count."""
    ours, base = run("ours", ours_fn, data.pages), run("trafilatura", extract_trafilatura, data.pages)
    s_ours, s_base = page_scores(data, ours), page_scores(data, base)
    lines = [f"== {data.name}: {len(data.pages)} pages from {data.folder}",
             f"{'extractor':<14} {'half':<5} {'pages':>5} {'F1':>6} {'precision':>9} {'recall':>6} {'CPU ms/pg':>9}"]
    lines += quality_rows(ours, s_ours) + quality_rows(base, s_base)
    lines.append(f"CPU ratio ours/trafilatura: {statistics.fmean(ours.cpu_ms) / statistics.fmean(base.cpu_ms):.2f}")
    counts = Counter(o.get("extractor", "?") for o in ours.outputs)
    lines.append("body produced by: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))

    header = f"  {'ours':>6} {'traf':>6}  {'page':<32} {'extractor':<12} url"
    lines += ["largest gaps, ours below trafilatura (F1):", header]
    lines += gap_rows(data, ours, s_ours, s_base, largest_gaps(s_ours, s_base, gaps)) or ["  none"]
    lines += ["largest gaps, trafilatura below ours (F1):", header]
    lines += gap_rows(data, ours, s_ours, s_base, largest_gaps(s_base, s_ours, gaps)) or ["  none"]

    lines.append("metadata accuracy")
    lines.append(metadata_row("ours", data, ours.outputs))
    lines.append(metadata_row("trafilatura", data, [metadata_trafilatura(p.html, p.url) for p in data.pages]))

    failed = failures(s_ours, s_base)
    lines.append(f"ours < {FAIL_F1} F1 while trafilatura >= {GOOD_F1}: {len(failed)}"
                 + (" (" + ", ".join(data.pages[i].id[:32] for i in failed) + ")" if failed else ""))
    if worst:
        lines.append(f"lowest {worst} for ours (precision + recall):")
        order = sorted(range(len(s_ours)), key=lambda i: s_ours[i].precision + s_ours[i].recall)[:worst]
        lines += [f"  {i:>3} {data.pages[i].id[:32]:<32} P={s_ours[i].precision:.3f} R={s_ours[i].recall:.3f} "
                  f"{ours.outputs[i].get('extractor', '')} {data.pages[i].url}" for i in order]
    return lines, per_page_records(data, ours, s_ours, s_base), len(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="default: aeb-dev and fundus-dev")
    parser.add_argument("--dataset", choices=("aeb", "fundus"), help="score only this set")
    parser.add_argument("--ours", default="bench.extraction:clean_path",
                        help="MODULE:FUNCTION taking (html, url), returning a dict with 'text'")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="aeb-dev metadata labels")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages where ours scores lowest")
    parser.add_argument("--gaps", type=int, default=10, help="list N pages of largest F1 gap each way")
    parser.add_argument("--json", type=Path, help="write per-page scores and our text to this file")
    args = parser.parse_args(argv)

    ours_fn = load_function(args.ours)
    datasets = [make_dataset(folder, args.labels) for folder in args.folders or (DEFAULT_FOLDER, FUNDUS_FOLDER)]
    datasets = [d for d in datasets if args.dataset in (None, d.name)]
    print(f"ours = {args.ours}; trafilatura = trafilatura.extract(html, url=url)")
    records, failed = [], 0
    for data in datasets:
        lines, recs, n = report(data, ours_fn, args.worst, args.gaps)
        print("\n".join(lines) + "\n", flush=True)
        records += recs
        failed += n
    print(f"total ours < {FAIL_F1} F1 while trafilatura >= {GOOD_F1}: {failed} (done when 0)")
    if args.json:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
