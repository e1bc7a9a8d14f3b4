"""Outlet records validated as data: the published schema, the one-line problems, and
what a user sees from `newscrawl crawl --all`, `newscrawl check` and `scrapy list` when a
folder of records holds invalid ones."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import MISSING, fields, replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from newscrawl import exitcodes
from newscrawl.demo import fixture_web_spec, outlet_toml, serve_outlet
from newscrawl.outlet_schema import FORMATS, iter_errors, record_problems, schema
from newscrawl.outlets import OUTLETS_DIR, Outlet, OutletConfigError, load_outlet, scan_outlets
from pipelines.parts import read_parts
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets

REGIONAL, PAPER, URDU = fixture_web_spec()

VALID = {"name": "example-times", "display_name": "The Example Times", "domains": ["example-times.com"],
         "homepage": "https://www.example-times.com/"}

# The three faults of the issue, as files a user might leave in a folder of records.
SYNTAX_ERROR = '''name = "broken-syntax"
display_name = "Broken"
domains = ["broken.example"]
homepage = "https://broken.example/
'''
FTP_HOMEPAGE = '''name = "ftp-homepage"
display_name = "FTP"
domains = ["ftp.example"]
homepage = "ftp://ftp.example/"
'''
WRONG_FIELDS = '''name = "wrong-fields"
display_name = "Wrong"
domains = ["wrong.example"]
homepage = "https://wrong.example/"
section_depht = 3
verified = "yes"
'''
EXPECTED = [
    "broken-syntax.toml: line 4, column 36: TOML syntax error: ",
    "ftp-homepage.toml: homepage: 'ftp://ftp.example/' is not an http(s) URL",
    "wrong-fields.toml: verified: 'yes' (a string) is not true or false",
    "wrong-fields.toml: section_depht: unknown field (did you mean 'section_depth'?); allowed fields: name,",
]


def jsonschema_validator() -> Draft202012Validator:
    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name, raises=ValueError)(lambda value, check=check: check(value) or True)
    return Draft202012Validator(schema(), format_checker=checker)


def write_invalid_records(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("broken-syntax", SYNTAX_ERROR), ("ftp-homepage", FTP_HOMEPAGE),
                       ("wrong-fields", WRONG_FIELDS)):
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def newscrawl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newscrawl.cli", *args], cwd=ROOT, env=scrapy_env(None),
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_per_problem(text: str, folder: Path) -> None:
    lines = [line for line in text.splitlines() if str(folder) in line]
    assert len(lines) == len(EXPECTED), text
    for expected in EXPECTED:
        assert sum(f"{folder}/{expected}" in line for line in lines) == 1, (expected, text)
    assert "Traceback" not in text


# --------------------------------------------------------------------------- the schema


def test_the_schema_is_a_valid_json_schema_shipped_in_the_package():
    Draft202012Validator.check_schema(schema())
    assert schema()["$id"] == "urn:newscrawl:schema:outlet:1"
    assert (ROOT / "newscrawl" / "schema" / "outlet-v1.schema.json").is_file()
    assert "schema/*.json" in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["newscrawl"]


def test_the_schema_documents_every_field_of_the_record():
    properties = schema()["properties"]
    assert list(properties) == [f.name for f in fields(Outlet)]
    required = [f.name for f in fields(Outlet) if f.default is MISSING and f.default_factory is MISSING]
    assert schema()["required"] == required
    for name, prop in properties.items():
        assert prop.get("description") and ("x-allowed" in prop or "$ref" in prop), name
    for f in fields(Outlet):
        if f.default is not MISSING:
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            assert properties[f.name]["default"] == default, f.name


@pytest.mark.parametrize("path", sorted(OUTLETS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_record_validates(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert list(jsonschema_validator().iter_errors(data)) == []
    assert record_problems(data, str(path)) == []
    assert load_outlet(path).name == path.stem


def test_the_readme_example_record_validates():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Add an outlet"):]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    data = tomllib.loads(example)
    assert record_problems(data, "README") == []
    assert set(data) >= {"name", "display_name", "domains", "homepage"}


BROKEN = [
    {},
    {**VALID, "name": "Bad Name"},
    {**VALID, "name": ""},
    {**VALID, "display_name": ""},
    {**VALID, "display_name": 3},
    {**VALID, "domains": []},
    {**VALID, "domains": "https://example.com/"},
    {**VALID, "domains": ["ok.com", 7, "bad host"]},
    {**VALID, "homepage": "ftp://x"},
    {**VALID, "homepage": "example.com"},
    {**VALID, "homepage": ["https://x.com/"]},
    {**VALID, "languages": "english"},
    {**VALID, "languages": ["en", "EN", 1]},
    {**VALID, "timezone": "Mars/Olympus"},
    {**VALID, "timezone": 5},
    {**VALID, "feeds": ["https://x.com/feed", "feed.xml", None]},
    {**VALID, "sitemaps": "ftp://x/sitemap.xml"},
    {**VALID, "sections": {"a": "https://x.com/a"}},
    {**VALID, "allow": ["(unclosed"]},
    {**VALID, "deny": "[a-"},
    {**VALID, "drop_patterns": ["ok", "*bad"]},
    {**VALID, "drop_selectors": ["div..x", "p.ok"]},
    {**VALID, "section_depth": 6},
    {**VALID, "section_depth": -1},
    {**VALID, "section_depth": "2"},
    {**VALID, "section_depth": True},
    {**VALID, "section_depth": 2.5},
    {**VALID, "verified": "no"},
    {**VALID, "render": "yes"},
    {**VALID, "render": 2},
    {**VALID, "render": ["all"]},
    {**VALID, "notes": ["a"]},
    {**VALID, "colour": "red", "feed": "https://x.com/feed"},
]
GOOD = [
    VALID,
    {**VALID, "domains": "example-times.com", "feeds": "https://x.com/feed", "allow": r"/story/\d+"},
    {**VALID, "domains": ["127.0.0.1:8080"], "homepage": "http://127.0.0.1:8080/", "section_depth": 0},
    {**VALID, "languages": ["en", "pt-BR"], "timezone": "Asia/Karachi", "section_depth": 2.0, "verified": True,
     "drop_selectors": ["div.app-promo", "aside > p:first-child"], "notes": ""},
    {**VALID, "render": True},
    {**VALID, "render": "all"},
    {**VALID, "render": False},
]


@pytest.mark.parametrize("data", BROKEN + GOOD)
def test_the_loader_applies_the_schema_as_jsonschema_does(data):
    """The loader's own validator (the crawl process does not import jsonschema) finds the
    same failing fields and keywords as jsonschema does with the published schema."""
    ours = {(e.path, e.keyword) for e in iter_errors(data)}
    theirs = {(tuple(e.absolute_path) + ((e.message.split("'")[1],) if e.validator == "required" else ()),
               e.validator) for e in jsonschema_validator().iter_errors(data)}
    if any(keyword == "additionalProperties" for _, keyword in theirs):  # one error for all unknown keys
        theirs = {t for t in theirs if t[1] != "additionalProperties"}
        theirs |= {((key,), "additionalProperties") for key in data if key not in schema()["properties"]}
    assert ours == theirs
    assert bool(ours) == (data in BROKEN)


def test_each_problem_is_one_line_naming_the_file_the_field_and_what_is_allowed():
    data = {**VALID, "homepage": "ftp://x", "section_depth": "two", "colour": "red",
            "feeds": ["https://x.com/feed", 3], "timezone": "Mars/Olympus", "render": "articles"}
    del data["display_name"]
    lines = [str(p) for p in record_problems(data, "outlets/bad.toml")]
    assert lines == [
        "outlets/bad.toml: display_name: required field missing: give a non-empty string",
        "outlets/bad.toml: homepage: 'ftp://x' is not an http(s) URL",
        "outlets/bad.toml: timezone: 'Mars/Olympus' is not an IANA time zone name (e.g. \"Asia/Karachi\", \"UTC\"): "
        "unknown time zone",
        "outlets/bad.toml: feeds[1]: 3 (an integer) is not an http(s) URL",
        "outlets/bad.toml: section_depth: 'two' (a string) is not an integer from 0 to 5",
        "outlets/bad.toml: render: 'articles' is not true, false or \"all\"",
        "outlets/bad.toml: colour: unknown field; allowed fields: " + ", ".join(schema()["properties"]),
    ]
    assert all("\n" not in line for line in lines)


def test_a_record_file_with_a_syntax_error_or_a_wrong_name_is_one_problem_each(tmp_path):
    folder = write_invalid_records(tmp_path / "records")
    (folder / "renamed.toml").write_text(outlet_toml(Outlet(name="other", display_name="O", domains=("o.example",),
                                                            homepage="https://o.example/")), encoding="utf-8")
    (folder / "latin1.toml").write_bytes('name = "latin1"\nnotes = "caf\xe9"\n'.encode("latin-1"))
    (folder / "fine.toml").write_text(outlet_toml(Outlet(name="fine", display_name="F", domains=("f.example",),
                                                         homepage="https://f.example/")), encoding="utf-8")
    scan = scan_outlets(folder)
    assert list(scan.outlets) == ["fine"] and scan.files == 6 and scan.valid_files == 1
    assert sorted(scan.invalid) == ["broken-syntax", "ftp-homepage", "latin1", "renamed", "wrong-fields"]
    assert [str(p) for p in scan.invalid["broken-syntax"]] == [
        f"{folder}/broken-syntax.toml: line 4, column 36: TOML syntax error: Illegal character '\\n'"]
    assert [str(p) for p in scan.invalid["renamed"]] == [
        f"{folder}/renamed.toml: name: 'other' differs from the file name; give 'renamed' or rename the file "
        "to other.toml"]
    assert [str(p) for p in scan.invalid["latin1"]] == [
        f"{folder}/latin1.toml: line 2, column 13: byte 0xe9 is not UTF-8; a record is a UTF-8 TOML file"]
    with pytest.raises(OutletConfigError) as raised:
        load_outlet(folder / "wrong-fields.toml")
    assert len(raised.value.problems) == 2 and len(str(raised.value).splitlines()) == 2


# --------------------------------------------------------------------------- as a user runs it


def test_newscrawl_check_exit_codes_and_messages(tmp_path):
    good = write_outlets(tmp_path / "good", [Outlet(name="fine", display_name="F", domains=("f.example",),
                                                    homepage="https://f.example/")])
    proc = newscrawl("check", "--outlets-dir", str(good), timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "newscrawl check: 1 record, 1 valid, 0 problems\n", "")
    proc = newscrawl("check", timeout=60)  # the shipped records
    shipped = len(list(OUTLETS_DIR.glob("*.toml")))
    assert proc.returncode == 0 and proc.stdout == f"newscrawl check: {shipped} records, {shipped} valid, 0 problems\n"

    bad = write_invalid_records(write_outlets(tmp_path / "bad", [Outlet(name="fine", display_name="F",
                                                                        domains=("f.example",),
                                                                        homepage="https://f.example/")]))
    proc = newscrawl("check", "--outlets-dir", str(bad), timeout=60)
    assert proc.returncode == exitcodes.CONFIG, proc.stdout + proc.stderr
    assert_one_line_per_problem(proc.stdout, bad)
    assert proc.stdout.splitlines()[-1] == "newscrawl check: 4 records, 1 valid, 4 problems"
    # Files, as a pre-commit hook passes them.
    proc = newscrawl("check", str(bad / "fine.toml"), str(bad / "ftp-homepage.toml"), timeout=60)
    assert proc.returncode == exitcodes.CONFIG
    assert proc.stdout.splitlines() == [f"{bad}/{EXPECTED[1]}", "newscrawl check: 2 records, 1 valid, 1 problem"]
    proc = newscrawl("check", "--outlets-dir", str(tmp_path / "missing"), timeout=60)
    assert proc.returncode == exitcodes.CONFIG and "no such folder" in proc.stderr


@pytest.mark.e2e
def test_fleet_crawl_skips_invalid_records_crawls_the_valid_ones_and_exits_2(tmp_path):
    paper = replace(PAPER, articles=PAPER.articles[:5])
    with serve_outlet(URDU) as urdu, serve_outlet(paper) as served_paper:
        records = write_invalid_records(write_outlets(tmp_path / "records", [urdu.outlet, served_paper.outlet]))
        settings = {**FAST, "NEWSCRAWL_OUTPUT_DIR": tmp_path / "output", "NEWSCRAWL_STATE_DIR": tmp_path / "state",
                    "NEWSCRAWL_LOG_DIR": tmp_path / "logs", "NEWSCRAWL_ARCHIVE_DIR": tmp_path / "archive"}
        proc = newscrawl("crawl", "--all", "--jobs", "2", "--outlets-dir", str(records),
                         *sum((["-s", f"{k}={v}"] for k, v in settings.items()), []))
        served = {URDU.name: urdu, paper.name: served_paper}

        assert proc.returncode == exitcodes.CONFIG, proc.stdout + proc.stderr
        assert_one_line_per_problem(proc.stderr, records)
        assert all(line.startswith("newscrawl crawl: invalid record skipped: ") for line in proc.stderr.splitlines())
        assert "Traceback" not in proc.stdout
        lines = proc.stdout.splitlines()
        for name in served:
            assert any(re.match(rf"{name} +exit=0 ", line) for line in lines), proc.stdout
        assert lines[-1] == "newscrawl: 2 outlets: 2 ok; 3 invalid records skipped; exit=2"
        for name, site in served.items():
            written = list(read_parts(tmp_path / "output" / name))
            assert len(written) == len(site.build.all_articles), name
        assert not (tmp_path / "output" / "ftp-homepage").exists()

        # One outlet by name: an invalid one is refused with its lines, no traceback.
        proc = newscrawl("crawl", "ftp-homepage", "--outlets-dir", str(records),
                         *sum((["-s", f"{k}={v}"] for k, v in settings.items()), []), timeout=60)
        assert proc.returncode == exitcodes.CONFIG
        assert proc.stderr == f"newscrawl crawl: invalid record skipped: {records}/{EXPECTED[1]}\n"
        assert "Traceback" not in proc.stdout

        # scrapy, with the same folder: `list` names the valid outlets and warns of the rest;
        # `crawl` of an invalid one says why and exits 2.
        env = {**scrapy_env(records)}
        listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        names = listed.stdout.split()
        assert {URDU.name, paper.name, "dawn"} <= set(names)
        assert not {"broken-syntax", "ftp-homepage", "wrong-fields"} & set(names)
        assert_one_line_per_problem(listed.stderr, records)
        assert all(line.startswith("outlet record skipped: ") for line in listed.stderr.splitlines())

        crawled = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "wrong-fields",
                                  "-s", f"NEWSCRAWL_OUTPUT_DIR={tmp_path / 'output'}",
                                  "-s", f"NEWSCRAWL_STATE_DIR={tmp_path / 'state'}"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert crawled.returncode == exitcodes.CONFIG
        assert "the outlet record of 'wrong-fields' is invalid" in crawled.stderr
        assert f"{records}/{EXPECTED[2]}" in crawled.stderr and "Traceback" not in crawled.stderr
