"""The outlet registry: one TOML file per outlet, loaded into frozen records.

An outlet is data. Spiders, cleaning rules and output paths are derived from it;
nothing about an outlet lives in code.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from newscrawl.outlet_schema import RecordProblem, record_problems

OUTLETS_DIR = Path(__file__).parent
logger = logging.getLogger(__name__)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class OutletConfigError(ValueError):
    """An outlet record is malformed. `problems` holds one RecordProblem per problem;
    the message is their lines."""

    def __init__(self, message: "str | list[RecordProblem]"):
        if isinstance(message, list):
            self.problems = list(message)
            message = "\n".join(map(str, self.problems))
        else:
            self.problems = []
        super().__init__(message)


@dataclass(frozen=True)
class Outlet:
    name: str
    display_name: str
    domains: tuple[str, ...]
    homepage: str
    languages: tuple[str, ...] = ("en",)
    timezone: str = "UTC"
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    # Regexes over the URL: an article URL must match one of `allow` (when given)
    # and none of `deny`.
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    # CSS selectors removed from the page before extraction.
    drop_selectors: tuple[str, ...] = ()
    # Regexes: a paragraph of the extracted text matching one is removed.
    drop_patterns: tuple[str, ...] = ()
    section_depth: int = 2
    # When `newscrawl schedule` has it crawled (a cron expression, UTC); None: hourly.
    schedule: str | None = None
    # Pages read in a headless browser: True (all but the homepage and sections) or "all"
    # (newscrawl/render.py).
    render: bool | str = False
    verified: bool = False
    notes: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "Outlet":
        """The record, checked against the published schema (newscrawl.outlet_schema);
        OutletConfigError with every problem when it does not hold."""
        problems = record_problems(data, source)
        if problems:
            raise OutletConfigError(problems)
        return cls.from_valid(data)

    @classmethod
    def from_valid(cls, data: dict) -> "Outlet":
        """The record from data that holds to the schema (which says everything a record
        must be: name, URLs, time zone, regular expressions, depth)."""
        values = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.type.startswith("tuple"):
                value = (value,) if isinstance(value, str) else tuple(value)
            elif f.type == "int":
                value = int(value)  # 2.0 is an integer to the schema
            values[f.name] = value
        return cls(**values)

    def owns(self, url: str) -> bool:
        """True when the URL's host is one of the outlet's domains or a subdomain of one.
        A domain written with a port ("127.0.0.1:8080") matches that port only."""
        parts = urlsplit(url)
        try:
            host = (parts.hostname or "").lower().rstrip(".")
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        for domain in self.domains:
            name, _, want_port = domain.lower().partition(":")
            if want_port and str(port) != want_port:
                continue
            if host == name or host.endswith("." + name):
                return True
        return False


def read_record(path: Path) -> tuple[Outlet | None, list[RecordProblem]]:
    """The outlet in one record file, or None and every problem found in it."""
    source = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        return None, [RecordProblem(source, "", f"cannot be read: {exc.strerror or exc}")]
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [RecordProblem(source, f"line {line}, column {column}",
                                    f"byte {raw[exc.start]:#04x} is not UTF-8; a record is a UTF-8 TOML file")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_problem(source, exc)]
    problems = record_problems(data, source)
    name = data.get("name")
    if isinstance(name, str) and name != path.stem and not any(p.field == "name" for p in problems):
        problems.append(RecordProblem(source, "name", f"{name!r} differs from the file name; "
                                                      f"give {path.stem!r} or rename the file to {name}.toml"))
    if problems:
        return None, problems
    return Outlet.from_valid(data), []


_TOML_PLACE = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$|^(.*?)\s*\(at end of document\)$", re.S)


def _syntax_problem(source: str, exc: tomllib.TOMLDecodeError) -> RecordProblem:
    """'file: line 3, column 9: TOML syntax error: Invalid value'."""
    message = str(exc)
    found = _TOML_PLACE.match(message)
    if found and found.group(2):
        return RecordProblem(source, f"line {found.group(2)}, column {found.group(3)}",
                             f"TOML syntax error: {found.group(1)}")
    if found:
        return RecordProblem(source, "end of file", f"TOML syntax error: {found.group(4)}")
    return RecordProblem(source, "", f"TOML syntax error: {message}")


def load_outlet(path: Path) -> Outlet:
    """The outlet in one record file; OutletConfigError with every problem otherwise."""
    outlet, problems = read_record(Path(path))
    if problems:
        raise OutletConfigError(problems)
    return outlet


@dataclass
class OutletScan:
    """The records of one or more folders: the valid outlets by name, the invalid records
    by file name (without .toml) with their problems, and how many files were read."""

    outlets: dict[str, Outlet] = field(default_factory=dict)
    invalid: dict[str, list[RecordProblem]] = field(default_factory=dict)
    files: int = 0
    valid_files: int = 0

    @property
    def problems(self) -> list[RecordProblem]:
        return [p for problems in self.invalid.values() for p in problems]

    def add(self, path: Path) -> None:
        """Reads one record. A record replaces an earlier one of the same name; an invalid
        one too (the outlet is then left out, not crawled from the record it replaced)."""
        self.files += 1
        outlet, problems = read_record(path)
        if problems:
            self.outlets.pop(path.stem, None)
            self.invalid[path.stem] = problems
        else:
            self.valid_files += 1
            self.invalid.pop(outlet.name, None)
            self.outlets[outlet.name] = outlet


def scan_outlets(directory: Path | None = None, scan: OutletScan | None = None) -> OutletScan:
    """Every record in the folder (default: the shipped records), valid or not."""
    scan = scan if scan is not None else OutletScan()
    for path in sorted(Path(directory or OUTLETS_DIR).glob("*.toml")):
        scan.add(path)
    return scan


def scan_registry() -> OutletScan:
    """The shipped records, plus those in the folder named by NEWSCRAWL_OUTLETS_DIR."""
    import os

    scan = scan_outlets()
    extra = os.environ.get("NEWSCRAWL_OUTLETS_DIR")
    if extra:
        scan_outlets(Path(extra), scan)
    return scan


def load_outlets(directory: Path | None = None) -> dict[str, Outlet]:
    """The outlets of a folder; OutletConfigError with every problem when any record is invalid."""
    scan = scan_outlets(directory)
    if scan.invalid:
        raise OutletConfigError(scan.problems)
    return scan.outlets


def load_registry() -> dict[str, Outlet]:
    """The valid outlets of the registry (scan_registry); each problem of an invalid
    record is logged as a warning, and the record left out."""
    scan = scan_registry()
    for problem in scan.problems:
        logger.warning("outlet record skipped: %s", problem)
    return scan.outlets


class OutletsByHost:
    """Which outlet record owns a URL (`Outlet.owns`), found by the URL's host: a lookup
    per label of the host (news.example.co.uk, example.co.uk, co.uk, uk) rather than a
    question to every record, for an archive of a million pages from thousands of hosts.
    Where records overlap, the most specific domain wins. Answers are kept per host."""

    def __init__(self, outlets):
        self._by_name: dict[str, list[Outlet]] = {}
        for outlet in outlets:
            for domain in outlet.domains:
                self._by_name.setdefault(domain.lower().partition(":")[0].rstrip("."), []).append(outlet)
        self._known: dict[str, Outlet | None] = {}

    def owner(self, url: str) -> Outlet | None:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower().rstrip(".")
            key = f"{parts.scheme}://{host}:{parts.port}"
        except ValueError:
            return None
        if key in self._known:
            return self._known[key]
        labels = host.split(".")
        owner = next((outlet for i in range(len(labels)) for outlet in self._by_name.get(".".join(labels[i:]), ())
                      if outlet.owns(url)), None)
        if len(self._known) < 100_000:
            self._known[key] = owner
        return owner


def outlet_name_for_host(host: str) -> str:
    """A safe outlet name derived from a host: www.Example.co.uk -> example-co-uk."""
    host = (host or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    name = re.sub(r"[^a-z0-9]+", "-", host).strip("-")[:64]
    return name or "site"


def generic_outlet(url: str, name: str | None = None) -> Outlet:
    """An outlet record for a site that has none, derived from a start URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutletConfigError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower()
    domain = host[4:] if host.startswith("www.") else host
    name = name or outlet_name_for_host(host)
    if not NAME_RE.match(name):
        raise OutletConfigError(f"outlet name {name!r} must be lower-case letters, digits, '-' or '_'")
    netloc = parts.netloc.lower()
    return Outlet(
        name=name,
        display_name=domain,
        domains=(domain,),
        homepage=f"{parts.scheme}://{netloc}/",
    )
