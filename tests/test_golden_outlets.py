"""Golden pages of the shipped outlet records, in fundus's style: per record, one article
page and the sitemap or feed its discovery finds, with the record the crawl must give
(tests/golden/<outlet>/, see tests/golden/README.md).

The end-to-end test serves every outlet's pages on 127.0.0.1 (one port each), points each
shipped record at its local site (domains and URLs only: its path patterns, selectors and
drop patterns are read from the shipped TOML as they are), and crawls them all with one
`newscrawl crawl --all`, as cron runs it. Each outlet must give exactly its expected
record, fetch what its discovery must and never what its record refuses. The fast tests
check the fixtures' own claims against the shipped records."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from newscrawl.gate import url_verdict
from newscrawl.outlets import OUTLETS_DIR, Outlet, load_outlet
from newscrawl.webserver import LocalSite, Page
from pipelines.parts import REJECTS, read_parts
from tests.crawling import ROOT, scrapy_env, write_outlets
from tests.test_fleet import fleet_command

GOLDEN = Path(__file__).parent / "golden"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8",
                 ".txt": "text/plain; charset=utf-8"}
# The record fields each golden record is compared on.
RECORD_FIELDS = ("url", "discovered_via", "discovered_from", "title", "authors", "published_at", "language")


def golden_names() -> list[str]:
    return sorted(p.parent.name for p in GOLDEN.glob("*/expected.json"))


@cache
def expected(name: str) -> dict:
    return json.loads((GOLDEN / name / "expected.json").read_text(encoding="utf-8"))


def shipped_path(name: str) -> Path:
    return OUTLETS_DIR / f"{name}.toml"


def host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def owned_by(url: str, domains: list[str]) -> str | None:
    """The domain of `domains` that the URL's host is or is a subdomain of."""
    name = host(url)
    return next((d for d in domains if name == d or name.endswith("." + d)), None)


def path_of(url: str) -> str:
    """The request target a server sees for the URL."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# --------------------------------------------------------------------------- fast checks


def test_every_shipped_record_has_golden_pages_and_every_golden_folder_a_record():
    shipped = sorted(p.stem for p in OUTLETS_DIR.glob("*.toml"))
    assert golden_names() == shipped


@pytest.mark.parametrize("name", golden_names())
def test_the_golden_claims_hold_for_the_shipped_record(name):
    """What each expected.json says about the shipped record is so: its article URL is one
    the record owns and the gate lets through by URL, and each URL it must not fetch is
    off its domains or refused by its patterns. The files it serves are there."""
    outlet = load_outlet(shipped_path(name))
    want = expected(name)
    assert want["outlet"] == outlet.name
    for url, file in want["served"].items():
        assert outlet.owns(url), url
        assert (GOLDEN / name / file).is_file(), file
    article = want["record"]["url"]
    assert outlet.owns(article) and url_verdict(article, outlet) is None
    assert want["served"][article] == "article.html"
    assert set(want["fetched"]) <= set(want["served"])
    for url, why in want["not_fetched"].items():
        refused = not outlet.owns(url) or url_verdict(url, outlet) is not None
        assert refused, f"{url} ({why}) is a URL the record accepts as an article"
    # The discovery file lists the article and every refused URL.
    listing = (GOLDEN / name / want["served"][want["record"]["discovered_from"]]).read_text(encoding="utf-8")
    for url in [article, *want["not_fetched"]]:
        assert f">{url}<" in listing, url


# --------------------------------------------------------------------------- the crawl


class Rebase:
    """Real site addresses made local: every URL on one of `bases`' domains (or a subdomain
    of one), in any text, becomes the same path on that domain's local site."""

    def __init__(self, bases: dict[str, str]):
        self.bases = {domain.lower(): base for domain, base in bases.items()}
        alternatives = "|".join(map(re.escape, sorted(self.bases, key=len, reverse=True)))
        self.pattern = re.compile(rf"https?://(?:[a-z0-9-]+\.)*({alternatives})(?![\w.-])", re.I)

    def __call__(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.bases[m.group(1).lower()], text)


@dataclass
class GoldenSite:
    name: str
    shipped: dict  # the shipped record, as its TOML reads
    site: LocalSite

    @property
    def want(self) -> dict:
        return expected(self.name)

    def serve(self, rebase: Rebase) -> None:
        for url, file in self.want["served"].items():
            path = GOLDEN / self.name / file
            body = rebase(path.read_text(encoding="utf-8")).encode("utf-8")
            self.site.routes[path_of(rebase(url))] = Page(body, CONTENT_TYPES[path.suffix])

    def local_record(self, rebase: Rebase) -> Outlet:
        """The shipped record on the local site: its domains and URLs moved, nothing else."""
        data = dict(self.shipped, domains=[self.site.host_port], homepage=rebase(self.shipped["homepage"]))
        for key in ("feeds", "sitemaps", "sections"):
            if key in data:
                data[key] = [rebase(url) for url in data[key]]
        for url in [data["homepage"], *data.get("feeds", ()), *data.get("sitemaps", ()), *data.get("sections", ())]:
            assert url.startswith(self.site.url + "/"), f"{self.name}: {url} was not moved to the local site"
        return Outlet.from_dict(data, source=str(shipped_path(self.name)))


def page_paragraphs(html: str) -> list[str]:
    return [" ".join(p.text_content().split()) for p in lxml.html.fromstring(html).iter("p")]


@pytest.mark.e2e
def test_each_shipped_record_crawls_its_golden_site_to_exactly_its_expected_record(tmp_path):
    """One fleet crawl of every shipped record, each rebased to its local golden site. Per
    outlet: one record, equal to the expected one (text, title, authors, date, language,
    URL and how it was found), no rejects; every URL its discovery must fetch requested,
    none that it must refuse (by its patterns, or on another domain); and each of its
    drop rules finds its cruft on the page and none of it in the text."""
    names = golden_names()
    with ExitStack() as stack:
        sites = [GoldenSite(n, tomllib.loads(shipped_path(n).read_text(encoding="utf-8")),
                            stack.enter_context(LocalSite())) for n in names]
        # Every other domain the fixtures name stands on one more local site, which must
        # see no request at all.
        elsewhere = stack.enter_context(LocalSite())
        bases = {domain: s.site.url for s in sites for domain in s.shipped["domains"]}
        for s in sites:
            for url in s.want["not_fetched"]:
                if owned_by(url, list(bases)) is None:
                    bases[host(url)] = elsewhere.url
        rebase = Rebase(bases)
        for s in sites:
            s.serve(rebase)
        outlets_dir = write_outlets(tmp_path / "outlets", [s.local_record(rebase) for s in sites])
        # With the audit, each record lists what the cleaning removed (cleaning.removed_text).
        proc = subprocess.run(fleet_command(tmp_path, outlets_dir, {"NEWSCRAWL_AUDIT_CRUFT": "true"}), cwd=ROOT,
                              env=scrapy_env(None), capture_output=True, text=True, timeout=600)
        requested = {s.site.url: set(s.site.requested_paths()) for s in sites}
        requested[elsewhere.url] = set(elsewhere.requested_paths())
        assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
        assert proc.stdout.splitlines()[-1] == f"newscrawl: {len(names)} outlets: {len(names)} ok; exit=0", \
            proc.stdout
        problems = [line for s in sites for line in outlet_problems(s, tmp_path / "output", rebase, requested)]
        assert requested[elsewhere.url] == set(), "a URL on another domain was requested"
    assert not problems, "\n".join(problems)


def outlet_problems(s: GoldenSite, output: Path, rebase: Rebase, requested: dict[str, set[str]]) -> list[str]:
    """How one outlet's crawl differs from its golden expectation, one line (or diff) each."""
    want, problems = s.want, []
    records = list(read_parts(output / s.name))
    if len(records) != 1:
        return [f"{s.name}: {len(records)} records ({[r['url'] for r in records]}), not one"]
    record = records[0]
    for key in RECORD_FIELDS:
        wanted = rebase(want["record"][key]) if key in ("url", "discovered_from") else want["record"][key]
        if record[key] != wanted:
            problems.append(f"{s.name}: {key} is {record[key]!r}, not {wanted!r}")
    paragraphs = record["text"].split("\n\n")
    if paragraphs != want["record"]["paragraphs"]:
        diff = difflib.unified_diff(want["record"]["paragraphs"], paragraphs, "expected", "crawled", lineterm="")
        problems.append(f"{s.name}: text differs:\n" + "\n".join(diff))
    rejects = list(read_parts(output / s.name / REJECTS))
    if rejects:
        problems.append(f"{s.name}: rejects {[r['reasons'] for r in rejects]}")

    for url in want["fetched"]:
        if path_of(url) not in requested[s.site.url]:
            problems.append(f"{s.name}: {url} was never requested")
    for url, why in want["not_fetched"].items():
        local = urlsplit(rebase(url))
        if path_of(rebase(url)) in requested[f"{local.scheme}://{local.netloc}"]:
            problems.append(f"{s.name}: {url} was requested ({why})")

    page = (GOLDEN / s.name / "article.html").read_text(encoding="utf-8")
    removed = {entry["text"]: entry["category"] for entry in record["cleaning"]["removed_text"]}
    for pattern in s.shipped.get("drop_patterns", ()):
        regex = re.compile(pattern, re.I)  # as the cleaning compiles them
        matched = [p for p in page_paragraphs(page) if regex.search(p)]
        if not matched:
            problems.append(f"{s.name}: drop pattern {pattern!r} matches no paragraph of the page")
        if any(regex.search(p) for p in paragraphs):
            problems.append(f"{s.name}: drop pattern {pattern!r} matches the crawled text")
        for text in matched:
            if text not in removed:
                problems.append(f"{s.name}: {text[:60]!r}, which drop pattern {pattern!r} matches, is not among "
                                f"what the cleaning removed")
    tree = lxml.html.fromstring(page)
    for selector in s.shipped.get("drop_selectors", ()):
        found = [" ".join(el.text_content().split()) for el in tree.cssselect(selector)]
        if not any(found):
            problems.append(f"{s.name}: drop selector {selector!r} selects no text on the page")
        if any(text and text in record["text"] for text in found):
            problems.append(f"{s.name}: what drop selector {selector!r} selects is in the crawled text")
    return problems
