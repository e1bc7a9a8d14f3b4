"""Outlet records checked against their published JSON Schema (newscrawl/schema/outlet-v1.schema.json).

Every process that loads the registry checks every record, `scrapy crawl` included, and
the crawl process must not import jsonschema (tests/test_imports.py: over 100 ms and
megabytes at every start). So the schema is applied here by a small validator of the
keywords it uses (type, pattern, format, minLength, minItems, minimum, maximum, items,
required, additionalProperties, $ref to #/$defs); a keyword it does not know makes
it refuse the schema. tests/test_outlet_records.py checks that it agrees with jsonschema.

Each problem is one line: file, field, what is wrong and what is allowed, the allowed part
taken from the schema's "x-allowed" annotation.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterator

SCHEMA_FILE = "outlet-v1.schema.json"

# Keywords that only annotate: they never make a record invalid.
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default", "examples", "x-allowed"}
_APPLIED = {"type", "pattern", "format", "minLength", "minItems", "minimum", "maximum", "items", "required",
            "additionalProperties", "properties", "$ref"}


@dataclass(frozen=True)
class RecordProblem:
    """One problem with one outlet record. `field` is the field's path ("homepage",
    "feeds[2]"), a place in the file ("line 3, column 9") or empty."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.message}" if self.field else f"{self.source}: {self.message}"


@lru_cache(maxsize=1)
def schema() -> dict:
    """The published schema, as shipped in the package."""
    text = resources.files("newscrawl").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")
    loaded = json.loads(text)
    _refuse_unknown_keywords(loaded, loaded)
    return loaded


def _refuse_unknown_keywords(node: dict, root: dict) -> None:
    unknown = set(node) - _ANNOTATIONS - _APPLIED
    if unknown:
        raise RuntimeError(f"{SCHEMA_FILE}: keywords this validator does not apply: {sorted(unknown)}")
    for sub in list(node.get("properties", {}).values()) + list(node.get("$defs", {}).values()):
        _refuse_unknown_keywords(sub, root)
    if isinstance(node.get("items"), dict):
        _refuse_unknown_keywords(node["items"], root)


# --------------------------------------------------------------------------- formats


def _check_timezone(value) -> None:
    if not isinstance(value, str):  # a format applies to strings only
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone") from exc


def _check_regex(value) -> None:
    if not isinstance(value, str):  # a format applies to strings only
        return
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(str(exc)) from exc


def _check_css_selector(value) -> None:
    if not isinstance(value, str):  # a format applies to strings only
        return
    from cssselect import HTMLTranslator, SelectorError

    try:
        HTMLTranslator().css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(str(exc) or "not a CSS selector") from exc


# A cron field: its name, its range, and the names it also takes (day of week, month).
_CRON_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
                ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                  "dec")),
                ("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")))
_CRON_ITEM = re.compile(r"^(\*|[0-9a-z]+(-[0-9a-z]+)?)(/[0-9]+)?$")


def _check_cron(value) -> None:
    """Five fields (minute, hour, day of month, month, day of week), each `*`, a number or
    a range (`1-5`), optionally stepped (`*/15`), or a list of those (`0,30`); months and
    days of the week also by their English three-letter names."""
    if not isinstance(value, str):  # a format applies to strings only
        return
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"{len(fields)} fields, where a cron expression has 5")
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS):
        for item in text.lower().split(","):
            found = _CRON_ITEM.match(item)
            if not found:
                raise ValueError(f"{name} {item!r}: not *, a number, a range or a step")
            if found.group(3) and int(found.group(3)[1:]) < 1:
                raise ValueError(f"{name} {item!r}: a step is 1 or more")
            if found.group(1) == "*":
                continue
            for bound in found.group(1).split("-"):
                number = names.index(bound) + low if bound in names else int(bound) if bound.isdigit() else None
                if number is None or not low <= number <= high:
                    raise ValueError(f"{name} {bound!r}: not from {low} to {high}"
                                     + (f" nor {names[0]}..{names[-1]}" if names else ""))


# Each raises ValueError, with the reason, for a string that is not of its format
# (and passes any other value, as JSON Schema's formats do).
FORMATS: dict[str, Callable[[str], None]] = {
    "timezone": _check_timezone,
    "regex": _check_regex,
    "css-selector": _check_css_selector,
    "cron": _check_cron,
}


# --------------------------------------------------------------------------- validation

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "boolean": lambda v: isinstance(v, bool),
    # As in JSON Schema: 2.0 is an integer, true is not.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


# A value's kind, as a TOML writer would say it; bool before int, as True is an int.
KIND_NAMES = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
              (list, "a list"), (dict, "a table"))


def _type_name(value) -> str:
    """The value's kind, as a TOML writer would say it."""
    # Anything else is one of tomllib's datetime, date and time values.
    return next((name for kind, name in KIND_NAMES if isinstance(value, kind)), "a date or time")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class SchemaError:
    """One failed keyword: where (path of keys and indexes), which keyword, the message."""

    path: tuple
    keyword: str
    message: str

    @property
    def field(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/$defs/"):
            raise RuntimeError(f"{SCHEMA_FILE}: unsupported $ref {ref!r}")
        node = root["$defs"][ref[len("#/$defs/"):]]
    return node


def _allowed(node: dict, keyword: str) -> str:
    """What the schema allows, said for the keyword that failed."""
    types = node.get("type")
    # A list field's string keywords apply to its single-string form: say what one item is.
    if keyword in ("pattern", "format", "minLength") and isinstance(types, list) and "array" in types:
        return node.get("items", {}).get("x-allowed") or node.get("x-allowed", "")
    return node.get("x-allowed", "")


def iter_errors(value, node: dict | None = None, path: tuple = (), root: dict | None = None) -> Iterator[SchemaError]:
    """Every keyword of the schema the value fails, as jsonschema would find them."""
    root = root if root is not None else schema()
    node = _resolve(node if node is not None else root, root)
    types = node.get("type")
    if types is not None:
        wanted = types if isinstance(types, list) else [types]
        if not any(_TYPES[t](value) for t in wanted):
            yield SchemaError(path, "type", f"{_show(value)} ({_type_name(value)}) is not {_allowed(node, 'type')}")
            return  # the other keywords apply to other types: nothing more to say
    if isinstance(value, str):
        if "minLength" in node and len(value) < node["minLength"]:
            yield SchemaError(path, "minLength", f"{_show(value)} is not {_allowed(node, 'minLength')}")
        if "pattern" in node and not re.search(node["pattern"], value):
            yield SchemaError(path, "pattern", f"{_show(value)} is not {_allowed(node, 'pattern')}")
        if "format" in node and node["format"] in FORMATS:
            try:
                FORMATS[node["format"]](value)
            except ValueError as exc:
                yield SchemaError(path, "format", f"{_show(value)} is not {_allowed(node, 'format')}: {exc}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for keyword, fails in (("minimum", lambda v, m: v < m), ("maximum", lambda v, m: v > m)):
            if keyword in node and fails(value, node[keyword]):
                yield SchemaError(path, keyword, f"{_show(value)} is not {_allowed(node, keyword)}")
    if isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            yield SchemaError(path, "minItems", f"{_show(value)} is not {_allowed(node, 'minItems')}")
        if isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                yield from iter_errors(item, node["items"], path + (index,), root)
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key in node.get("required", ()):
            if key not in value:
                allowed = _resolve(properties.get(key, {}), root).get("x-allowed", "a value")
                yield SchemaError(path + (key,), "required", f"required field missing: give {allowed}")
        for key, sub in properties.items():
            if key in value:
                yield from iter_errors(value[key], sub, path + (key,), root)
        if node.get("additionalProperties") is False:
            for key in value:
                if key not in properties:
                    close = difflib.get_close_matches(str(key), properties, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    yield SchemaError(path + (key,), "additionalProperties",
                                      f"unknown field{hint}; allowed fields: {', '.join(properties)}")


def record_problems(data: dict, source: str) -> list[RecordProblem]:
    """One problem per field of the record that the schema refuses (the first said, when a
    field fails several ways); empty when the record is valid."""
    problems: list[RecordProblem] = []
    seen: set[tuple] = set()
    for error in iter_errors(data):
        if error.path in seen:
            continue
        seen.add(error.path)
        problems.append(RecordProblem(source, error.field, error.message))
    return problems
