"""The outlet registry: one TOML file per outlet, loaded into frozen records.

An outlet is data. Spiders, cleaning rules and output paths are derived from it;
nothing about an outlet lives in code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

OUTLETS_DIR = Path(__file__).parent
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class OutletConfigError(ValueError):
    """An outlet record is malformed."""


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
    verified: bool = False
    notes: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "Outlet":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise OutletConfigError(f"{source}: unknown keys {sorted(unknown)}")
        for key in ("name", "display_name", "domains", "homepage"):
            if not data.get(key):
                raise OutletConfigError(f"{source}: missing required key {key!r}")
        values = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.type.startswith("tuple"):
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise OutletConfigError(f"{source}: {f.name!r} must be a list of strings")
                value = tuple(value)
            values[f.name] = value
        outlet = cls(**values)
        outlet.check(source)
        return outlet

    def check(self, source: str = "<outlet>") -> None:
        if not NAME_RE.match(self.name):
            raise OutletConfigError(
                f"{source}: name {self.name!r} must be lower-case letters, digits, '-' or '_'"
            )
        if urlsplit(self.homepage).scheme not in ("http", "https"):
            raise OutletConfigError(f"{source}: homepage must be an http(s) URL")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise OutletConfigError(f"{source}: unknown time zone {self.timezone!r}") from exc
        for pattern in self.allow + self.deny + self.drop_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise OutletConfigError(f"{source}: bad regex {pattern!r}: {exc}") from exc
        if not isinstance(self.section_depth, int) or not 0 <= self.section_depth <= 5:
            raise OutletConfigError(f"{source}: section_depth must be an integer 0..5")

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


def load_outlet(path: Path) -> Outlet:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OutletConfigError(f"{path}: {exc}") from exc
    outlet = Outlet.from_dict(data, source=str(path))
    if outlet.name != path.stem:
        raise OutletConfigError(f"{path}: name {outlet.name!r} differs from the file name")
    return outlet


def load_outlets(directory: Path | None = None) -> dict[str, Outlet]:
    directory = Path(directory) if directory else OUTLETS_DIR
    return {o.name: o for o in map(load_outlet, sorted(directory.glob("*.toml")))}


def load_registry() -> dict[str, Outlet]:
    """The shipped records, plus those in the folder named by NEWSCRAWL_OUTLETS_DIR."""
    import os

    outlets = load_outlets()
    extra = os.environ.get("NEWSCRAWL_OUTLETS_DIR")
    if extra:
        outlets.update(load_outlets(Path(extra)))
    return outlets


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
