"""A real browser for the outlets whose pages only a browser can read (newscrawl/render.py).

End to end, as cron runs it: `newscrawl crawl` of a local outlet with `render = true`, whose
article pages build their paragraphs from the site's API in a script, beside an outlet
without `render`, in one crawl process. Chromium is Debian's, through a wrapper that
notes each launch. Without Chromium these tests are skipped (NEWSCRAWL_TEST_REQUIRE=chromium
makes them fail instead: .ci/run sets it once it has installed Chromium); the tests that
need no browser run everywhere.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newscrawl import exitcodes
from newscrawl.archive import PAGE_HEADER, RENDERED_HEADER
from newscrawl.outlets import Outlet
from newscrawl.render import chromium_path, chromium_problem
from newscrawl.webserver import LocalSite, Page
from tests.crawling import FAST, ROOT, CrawlRun, run_scrapy, scrapy_env, write_outlets
from tests.faults import AddressListener
from tests.needs import needs
from tests.render_site import NOT_FETCHED, probe_markup, serve_render_site

pytestmark = pytest.mark.e2e  # real crawls, a real browser

CHROMIUM = chromium_path({})
needs_chromium = needs("chromium", chromium_problem(CHROMIUM) is None,
                       f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NEWSCRAWL_CHROMIUM_PATH)")
RENDERED, PLAIN = "render-gazette", "plain-gazette"
ARTICLES = 3


def chromium_wrapper(folder: Path) -> tuple[Path, Path]:
    """An executable that notes each launch in a file, then runs the real Chromium."""
    launches = folder / "launches.txt"
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\necho launched >> "{launches}"\nexec "{CHROMIUM}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, launches


def plain_site(site: LocalSite) -> None:
    """An outlet of ordinary server-built pages."""
    links = []
    for i in range(2):
        path = f"/news/plain-story-{i}"
        body = "".join(f"<p>{p}</p>" for p in serve_paragraphs(i))
        site.routes[path] = Page((f"<!doctype html><html lang='en'><head><title>Plain story {i}</title>"
                                  "<meta property='og:type' content='article'></head><body><article>"
                                  f"<h1>Plain story {i}</h1>{body}</article></body></html>").encode())
        links.append(f"<a href='{path}'>Plain story {i}, the whole of it, read it here</a>")
    site.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
    site.routes["/"] = Page(f"<html><body>{'<br>'.join(links)}</body></html>".encode())


def serve_paragraphs(i: int) -> list[str]:
    from tests.script_pages import story

    return story(f"plain served story {i}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """`newscrawl crawl --all` of the two outlets, in one crawl process."""
    tmp = tmp_path_factory.mktemp("render-fleet")
    wrapper, launches = chromium_wrapper(tmp)
    with ExitStack() as stack:
        site, other, plain = (stack.enter_context(LocalSite()) for _ in range(3))
        private = AddressListener("127.0.0.2")
        stack.callback(private.close)
        other.routes["/embed"] = Page(b"<html><body>another site</body></html>")
        other.routes["/data.json"] = Page(b"{}", "application/json")
        stories = serve_render_site(site, ARTICLES, probe=probe_markup(f"http://127.0.0.2:{private.port}/secret",
                                                                       other.url_for("/embed"),
                                                                       other.url_for("/data.json")))
        plain_site(plain)
        outlets = [Outlet(name=RENDERED, display_name="Render Gazette", domains=(site.host_port,),
                          homepage=site.url_for("/"), timezone="UTC", render=True),
                   Outlet(name=PLAIN, display_name="Plain Gazette", domains=(plain.host_port,),
                          homepage=plain.url_for("/"), timezone="UTC")]
        outlets_dir = write_outlets(tmp / "outlets", outlets)
        settings = {**FAST, "NEWSCRAWL_OUTPUT_DIR": tmp / "output", "NEWSCRAWL_STATE_DIR": tmp / "state",
                    "NEWSCRAWL_LOG_DIR": tmp / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp / "archive",
                    "NEWSCRAWL_CHROMIUM_PATH": wrapper}
        command = [sys.executable, "-m", "newscrawl.cli", "crawl", "--all", "--outlets-dir", str(outlets_dir)]
        for key, value in settings.items():
            command += ["-s", f"{key}={value}"]
        proc = subprocess.run(command, cwd=ROOT, env=scrapy_env(None), capture_output=True, text=True, timeout=300)
        runs = {name: CrawlRun(proc.returncode, next((tmp / "logs" / name).glob("*.log")).read_text(),
                               tmp / "output", tmp / "state") for name in (RENDERED, PLAIN)}
        yield {"proc": proc, "runs": runs, "stories": stories, "site": site, "other": other, "plain": plain,
               "private": private, "launches": launches, "tmp": tmp}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@needs_chromium
def test_every_rendered_article_is_written_whole(fleet):
    assert fleet["proc"].returncode == 0, fleet["proc"].stdout + fleet["proc"].stderr
    records = {path_of(r["url"]): r for r in fleet["runs"][RENDERED].records(RENDERED)}
    assert sorted(records) == sorted(fleet["stories"])
    for path, paragraphs in fleet["stories"].items():
        assert records[path]["text"].split("\n\n") == paragraphs
    assert fleet["runs"][RENDERED].stat("newscrawl/render/pages") == ARTICLES


@needs_chromium
def test_a_rendered_pages_fetch_of_a_private_address_is_refused(fleet):
    assert fleet["private"].connections == 0
    assert fleet["runs"][RENDERED].stat("newscrawl/refused/private-address") == 1


@needs_chromium
def test_a_rendered_page_loads_no_images_media_or_fonts_and_navigates_nowhere_else(fleet):
    run, site = fleet["runs"][RENDERED], fleet["site"]
    for path in NOT_FETCHED:
        assert site.count(path) == 0
    for kind in ("image", "media", "font"):
        assert run.stat(f"newscrawl/render/blocked/{kind}") >= 1
    # The frame of another site (another port of 127.0.0.1) is never loaded; what a script
    # fetches from that site is (NEWSCRAWL_RENDER_OTHER_HOSTS, on by default: a page's CDN).
    assert [path for _, path, _ in fleet["other"].requests] == ["/data.json"]
    assert run.stat("newscrawl/refused/offsite-navigation") == 1


@needs_chromium
def test_each_article_is_fetched_once_and_its_api_by_the_browser(fleet):
    site = fleet["site"]
    for i, path in enumerate(sorted(fleet["stories"])):
        assert site.count(path) == 1  # the browser is given the page Scrapy fetched
    assert sum(site.count(f"/api/story/render-{i}.json") for i in range(ARTICLES)) == ARTICLES
    # The homepage is a listing page: fetched, not rendered (`render = true`).
    assert site.count("/") == 1


@needs_chromium
def test_one_browser_for_the_rendered_outlet_and_none_for_the_other(fleet):
    assert fleet["launches"].read_text().splitlines() == ["launched"]
    plain = fleet["runs"][PLAIN]
    assert len(plain.records(PLAIN)) == 2
    assert not [key for key in plain.stats() if key.startswith(("playwright/", "newscrawl/render/"))]
    assert "scrapy-playwright" not in plain.log


@needs_chromium
def test_the_archive_holds_the_fetch_and_the_rendered_page(fleet):
    [warc] = (fleet["tmp"] / "archive" / RENDERED).glob("*.warc.gz")
    # (target path, rendered?, the page header, payload), read as the records stream by
    responses = [(path_of(r.rec_headers.get_header("WARC-Target-URI")), r.rec_headers.get_header(RENDERED_HEADER),
                  r.rec_headers.get_header(PAGE_HEADER), r.content_stream().read())
                 for r in ArchiveIterator(io.BytesIO(warc.read_bytes())) if r.rec_type == "response"]
    rendered = [r for r in responses if r[1] == "chromium"]
    assert sorted(path for path, *_ in rendered) == sorted(fleet["stories"])
    for path, _, page, payload in rendered:
        assert page == "article"
        assert fleet["stories"][path][0].encode() in payload
        # Before it, the fetch as it came: the empty body the script fills.
        [fetched] = [r for r in responses if r[0] == path and r[1] is None]
        assert fleet["stories"][path][0].encode() not in fetched[3] and b'<div id="story"></div>' in fetched[3]


@needs_chromium
def test_with_other_hosts_off_a_rendered_page_fetches_from_the_outlets_domains_only(tmp_path):
    with LocalSite() as site, LocalSite() as other:
        other.routes["/data.json"] = Page(b"{}", "application/json")
        stories = serve_render_site(site, 1, probe=probe_markup(fetch_url=other.url_for("/data.json")))
        outlet = Outlet(name=RENDERED, display_name="Render Gazette", domains=(site.host_port,),
                        homepage=site.url_for("/"), timezone="UTC", render=True)
        run = run_scrapy(["crawl", RENDERED], tmp_path, write_outlets(tmp_path / "outlets", [outlet]),
                         {"NEWSCRAWL_RENDER_OTHER_HOSTS": "False"})
        assert other.requests == []
    assert run.returncode == 0, run.log[-3000:]
    assert run.stat("newscrawl/refused/offsite-resource") == 1
    [record] = run.records(RENDERED)
    assert record["text"].split("\n\n") == next(iter(stories.values()))  # its own API is the outlet's


@needs_chromium
def test_a_page_whose_script_sends_the_browser_off_the_outlet_is_refused_there(tmp_path):
    with LocalSite() as site, LocalSite() as other:
        stories = serve_render_site(site, 2, probe=probe_markup(leave_url=other.url_for("/elsewhere")))
        outlet = Outlet(name=RENDERED, display_name="Render Gazette", domains=(site.host_port,),
                        homepage=site.url_for("/"), timezone="UTC", render=True)
        run = run_scrapy(["crawl", RENDERED], tmp_path, write_outlets(tmp_path / "outlets", [outlet]))
        assert other.requests == []
    assert run.returncode == 0, run.log[-3000:]
    assert run.stat("newscrawl/refused/offsite-navigation") == 1
    assert run.stat("newscrawl/refused/offsite") == 1  # the page it left: nothing of the outlet's
    assert [path_of(r["url"]) for r in run.records(RENDERED)] == sorted(stories)[1:]


def test_an_outlet_without_render_starts_no_browser(tmp_path):
    # Its crawl runs where no Chromium is, and never asks for one.
    with LocalSite() as plain:
        plain_site(plain)
        outlet = Outlet(name=PLAIN, display_name="Plain Gazette", domains=(plain.host_port,),
                        homepage=plain.url_for("/"), timezone="UTC")
        run = run_scrapy(["crawl", PLAIN], tmp_path, write_outlets(tmp_path / "outlets", [outlet]),
                         {"NEWSCRAWL_CHROMIUM_PATH": tmp_path / "no-chromium-here"})
    assert run.returncode == 0, run.log[-3000:]
    assert len(run.records(PLAIN)) == 2
    assert "scrapy-playwright" not in run.log and "playwright" not in json.dumps(run.stats())


def test_an_outlet_with_render_and_no_chromium_ends_at_its_start_with_the_reason(tmp_path):
    with LocalSite() as site:
        serve_render_site(site, 1)
        outlet = Outlet(name=RENDERED, display_name="Render Gazette", domains=(site.host_port,),
                        homepage=site.url_for("/"), timezone="UTC", render=True)
        missing = tmp_path / "no-chromium-here"
        run = run_scrapy(["crawl", RENDERED], tmp_path, write_outlets(tmp_path / "outlets", [outlet]),
                         {"NEWSCRAWL_CHROMIUM_PATH": missing})
        assert site.requests == []
    assert run.returncode == exitcodes.CONFIG
    assert f"render needs Chromium, and there is none at {missing} (NEWSCRAWL_CHROMIUM_PATH)" in run.log


def test_the_chromium_path_is_the_setting_then_the_environment_then_debians(monkeypatch):
    monkeypatch.delenv("NEWSCRAWL_CHROMIUM_PATH", raising=False)
    assert chromium_path({}) == "/usr/bin/chromium"
    monkeypatch.setenv("NEWSCRAWL_CHROMIUM_PATH", "/opt/chromium/chrome")
    assert chromium_path({}) == "/opt/chromium/chrome"
    assert chromium_path({"NEWSCRAWL_CHROMIUM_PATH": "/srv/chromium"}) == "/srv/chromium"
    assert os.environ["NEWSCRAWL_CHROMIUM_PATH"] == "/opt/chromium/chrome"
