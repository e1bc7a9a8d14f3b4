"""Bundled fixture outlets: the demo outlet and the multi-outlet fixture web for tests.

Article bodies come from `articles.json` (aeb-dev benchmark, MIT licence, see
LICENSE-articles) and `original_articles.json` (written for these fixtures: Urdu, Hindi and
a regional story shaped like the seed page).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newscrawl.outlets import Outlet
from newscrawl.sitegen import (ATOM, DISCOVERY_PATHS, HOMEPAGE, NEWS_SITEMAP, RSS, SECTION_1, TEMPLATES,
                               ArticleSpec, OutletSpec, SiteBuild, build_site)
from newscrawl.webserver import LocalSite

DEMO_DIR = Path(__file__).parent
AUTHORS = ("Aisha Khan", "Rahul Verma", "Maria Lopez", "Staff Reporter", "Imran Qureshi")
TAGS = ("politics", "economy", "weather", "cricket", "technology", "health", "courts", "transport")


@lru_cache(maxsize=None)
def bundled_articles() -> dict[str, dict]:
    """All bundled article records by id (title, body, language, ...)."""
    records = {}
    for name in ("articles.json", "original_articles.json"):
        for record in json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))["articles"]:
            records[record["id"]] = record
    return records


def english_ids() -> list[str]:
    return [k for k, r in bundled_articles().items() if r["language"] == "en" and "source_url" in r]


def article(record_id: str, via: str, section: str, n: int, **extra) -> ArticleSpec:
    record = bundled_articles()[record_id]
    return ArticleSpec(
        key=record_id, title=record["title"], body=record["body"], via=via, section=section,
        language=record["language"], author=AUTHORS[n % len(AUTHORS)],
        tags=(TAGS[n % len(TAGS)], TAGS[(n * 3 + 1) % len(TAGS)]), **extra,
    )


def spread(ids: list[str], vias: tuple[str, ...], sections: tuple[str, ...], start: int = 0) -> list[ArticleSpec]:
    """One article per id, cycling through the discovery paths and sections."""
    return [article(record_id, vias[i % len(vias)], sections[i % len(sections)], start + i)
            for i, record_id in enumerate(ids)]


def demo_spec() -> OutletSpec:
    """The demo outlet: 25 articles over every discovery path, with the seed-shaped story."""
    sections = ("world", "business", "sport")
    articles = [article("en-province-attacks", HOMEPAGE, "world", 0, seed_shaped=True)]
    articles += spread(english_ids()[:24], DISCOVERY_PATHS, sections, start=1)
    return OutletSpec(name="demo-journal", display_name="The Demo Journal", template="newspaper",
                      articles=tuple(articles), language="en", utc_offset="+05:30",
                      timezone="Asia/Kolkata", seed=7, sections=sections, crawl_delay=None)


WIRE_STORY = 0  # index into english_ids() of the story both fixture outlets republish


def fixture_web_spec() -> tuple[OutletSpec, ...]:
    """Three outlets, one template each; each article sits on exactly one discovery path.

    The regional and the newspaper outlet both carry every discovery path and republish
    the same wire story; the Urdu outlet carries four Urdu stories.
    """
    ids = english_ids()
    wire_id = ids[WIRE_STORY]
    regional_ids, paper_ids = ids[1:11], ids[11:21]
    regional = spread(regional_ids, DISCOVERY_PATHS, ("india", "world", "business"))
    regional += [article("hi-monsoon-farmers", RSS, "india", 20), article("hi-metro-pune", SECTION_1, "india", 21),
                 article(wire_id, ATOM, "world", 22, wire_id="wire-1"),
                 article("en-province-attacks", SECTION_1, "world", 23, seed_shaped=True)]
    paper = spread(paper_ids, DISCOVERY_PATHS, ("world", "business", "sport"), start=30)
    paper += [article(wire_id, NEWS_SITEMAP, "world", 40, wire_id="wire-1")]
    urdu = [article("ur-rain-lahore", NEWS_SITEMAP, "pakistan", 50), article("ur-cricket-karachi", SECTION_1, "sport", 51),
            article("ur-wheat-prices", HOMEPAGE, "business", 52), article("ur-school-admissions", RSS, "pakistan", 53)]
    return (
        OutletSpec(name="fixture-regional", display_name="Regional Times", template="regional",
                   articles=tuple(regional), language="en", utc_offset="+05:30", timezone="Asia/Kolkata",
                   seed=11, sections=("india", "world", "business")),
        OutletSpec(name="fixture-paper", display_name="The Morning Ledger", template="newspaper",
                   articles=tuple(paper), language="en", utc_offset="+00:00", timezone="Europe/London",
                   seed=12, sections=("world", "business", "sport"), crawl_delay=0.25),
        OutletSpec(name="fixture-urdu", display_name="روزنامہ آئینہ", template="urdu",
                   articles=tuple(urdu), language="ur", utc_offset="+05:00", timezone="Asia/Karachi",
                   seed=13, sections=("pakistan", "sport", "business")),
    )


@dataclass
class ServedOutlet:
    spec: OutletSpec
    site: LocalSite
    build: SiteBuild

    @property
    def outlet(self) -> Outlet:
        return outlet_for(self.spec, self.site, self.build)


def outlet_for(spec: OutletSpec, site: LocalSite, build: SiteBuild) -> Outlet:
    """The outlet record of a running fixture site.

    Fixture outlets share the host 127.0.0.1 and differ by port, so the domain entry is
    "127.0.0.1:PORT". Sitemaps are left for robots.txt to announce; the record lists the
    RSS 1.0 and Atom feeds, while the RSS 2.0 feed is only announced by the homepage.
    """
    languages = tuple(dict.fromkeys([spec.language] + [a.language for a in spec.articles]))
    return Outlet(
        name=spec.name, display_name=spec.display_name, domains=(site.host_port,),
        homepage=site.url + "/", languages=languages, timezone=spec.timezone, feeds=build.feeds,
        sections=tuple(site.url + path for path in section_paths(spec)), section_depth=2,
        notes="Fixture outlet served by LocalSite.",
    )


def section_paths(spec: OutletSpec) -> list[str]:
    return [TEMPLATES[spec.template].section_path.format(section=s) for s in spec.sections]


def outlet_toml(outlet: Outlet) -> str:
    """The outlet as the TOML text of newscrawl/outlets/<name>.toml."""
    lines = []
    for key, value in outlet.to_dict().items():
        if value is None:  # TOML has no null: a field left out takes its default
            continue
        if isinstance(value, (list, tuple)):
            lines.append(f"{key} = [" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def serve(spec: OutletSpec, site: LocalSite) -> ServedOutlet:
    build = build_site(spec, site.url)
    site.routes.update(build.routes)
    return ServedOutlet(spec, site, build)


@contextmanager
def serve_outlet(spec: OutletSpec) -> Iterator[ServedOutlet]:
    with LocalSite() as site:
        yield serve(spec, site)


@contextmanager
def serve_demo() -> Iterator[ServedOutlet]:
    with serve_outlet(demo_spec()) as served:
        yield served


@contextmanager
def serve_fixture_web() -> Iterator[list[ServedOutlet]]:
    """Every fixture outlet on its own LocalSite (own port), stopped on exit."""
    with ExitStack() as stack:
        yield [stack.enter_context(serve_outlet(spec)) for spec in fixture_web_spec()]
