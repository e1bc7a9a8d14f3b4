"""Decruft stage: removes what the extractor keeps but is not the article.

Three layers, each counting what it removed by category:

1. outlet rules: `Outlet.drop_selectors` (DOM, before extraction) and
   `Outlet.drop_patterns` (text, after);
2. generic rules (`pipelines/rules/*.toml`): DOM blocks whose links go to app stores,
   social profiles or share intents, forms, store badges, link-dense "related" and
   "latest" lists, ad slots; then text rules on the extracted blocks in English, Urdu
   and Hindi;
3. learned per-outlet boilerplate (`BoilerplateLearner`): blocks that recur across
   many of an outlet's pages, with counts kept in the state store across runs, removed
   where they behave like a template (`split_learned`: short at the body's edge, or
   link-heavy or promotional), never more than a third of an article's words.

Layers 1 and 2 are pure functions of their input, run in the worker pool: on the page's
tree during extraction (`preclean_dom`, called by the extract stage before the body is
extracted) and on the extracted blocks (`decruft_rules`). Layer 3 (`LearnedLayer`) runs
where the outlet's counts are: in a crawl the pipeline class, `DecruftPipeline`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree

from pipelines.words import word_count  # the words a record's `word_count` and validation count
from pipelines.work import WORK, work_of

logger = logging.getLogger(__name__)

RULES_DIR = Path(__file__).parent / "rules"

CATEGORIES = (
    "app-promo", "newsletter", "follow-us", "share-bar", "also-read", "related-list", "donation",
    "cookie-consent", "syndication", "advertisement", "latest-list", "bare-url", "comment-prompt",
    "outlet-selector", "outlet-pattern", "learned-boilerplate", "dangling-heading", "title-repeat",
    "shortcode", "taxonomy", "source-credit", "subscription", "photo-credit", "byline", "dateline",
    "reading-time", "copyright", "embed-notice", "contact-prompt",
)
# Categories that announce a list of links: the link-dense blocks after them go too.
LIST_CATEGORIES = {"also-read", "related-list", "latest-list"}
# Weak phrasings ("download … app") only count in blocks this short: a promo line, not a
# story paragraph that happens to sit beside the store links.
WEAK_MAX_CHARS = 240
# Own (non-link) characters below which a block of store or social links is just links.
LINK_ONLY_OWN_CHARS = 120


# --------------------------------------------------------------------------- text folding

_JOINERS = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Arabic-script letters that Urdu pages write either way; Devanagari nukta (dropped so
# that ज़/ज and ढ़/ढ spellings meet). Replaced with a regex rather than str.translate,
# whose per-character table look-ups are slow on non-ASCII text.
_FOLD_MAP = {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0647": "\u06c1",
             "\u093c": "", "\u2019": "'", "\u2018": "'"}
_FOLD_CHARS = re.compile("[" + "".join(_FOLD_MAP) + "]")
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_PUNCT = re.compile(r"[^\w\s]")


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Text as the rules see it: NFKD-stable, joiners dropped, script variants folded,
    lower case, one space between words. Cached: the DOM and text layers fold the same
    short blocks again and again."""
    if text.isascii():  # nothing to normalise or fold but case and spacing
        return " ".join(text.split()).lower()
    text = _JOINERS.sub("", unicodedata.normalize("NFKD", text))
    text = _FOLD_CHARS.sub(lambda m: _FOLD_MAP[m.group()], unicodedata.normalize("NFC", text))
    return " ".join(text.split()).casefold()  # str.split's whitespace is the regex \s


# --------------------------------------------------------------------------- rules


def _alternation(patterns: list[re.Pattern]) -> re.Pattern | None:
    """One pattern that matches where any of `patterns` does: one scan instead of many."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns))


def _anchored_body(pattern: str) -> str | None:
    """The pattern without its leading "^" when the anchor applies to all of it (no "|"
    outside brackets), else None."""
    if not pattern.startswith("^"):
        return None
    depth, in_class, escaped = 0, False, False
    for ch in pattern[1:]:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return None
    return pattern[1:]


_CLASS_ESCAPES = frozenset("dDsSwWbBAZ")  # \w, \d, ... and the zero-width \b, \A, \Z
_REPEAT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


class _Unsure(Exception):
    """Syntax `_needs_non_ascii` does not follow (a conditional, a back-reference, a flag
    other than the case-insensitive one): the pattern counts as able to match ASCII."""


def _needs_non_ascii(pattern: str) -> bool:
    """True when every string the pattern matches holds a non-ASCII character: a non-ASCII
    literal that no alternative, optional part or case-insensitive flag can do without.
    Such a pattern never matches ASCII text. False when unsure.

    Reads the subset of `re` syntax the rule files use with a small parser of its own;
    anything else makes it unsure."""
    try:
        needs, end = _NonAscii(pattern).alternation(0)
    except (_Unsure, IndexError, ValueError):  # ValueError: a malformed escape or group
        return False
    return needs and end == len(pattern)


class _NonAscii:
    """A recursive-descent reader of a regular expression that answers one question per
    part: can this part match without a non-ASCII character?"""

    def __init__(self, pattern: str):
        self.p = pattern

    def alternation(self, i: int) -> tuple[bool, int]:
        """(every branch needs a non-ASCII character, index of the ")" or end)."""
        needs, i = self.sequence(i)
        while i < len(self.p) and self.p[i] == "|":
            branch, i = self.sequence(i + 1)
            needs = needs and branch
        return needs, i

    def sequence(self, i: int) -> tuple[bool, int]:
        needs = False
        while i < len(self.p) and self.p[i] not in "|)":
            item, i = self.atom(i)
            optional, i = self.repeat(i)
            needs = needs or (item and not optional)
        return needs, i

    def repeat(self, i: int) -> tuple[bool, int]:
        """(the quantifier at i, if any, allows zero repetitions, index after it)."""
        p = self.p
        if i >= len(p):
            return False, i
        if p[i] in "*?+":
            optional, i = p[i] != "+", i + 1
        elif p[i] == "{" and (m := _REPEAT.match(p, i)) and (m.group(1) or m.group(2)):
            optional, i = not m.group(1) or int(m.group(1)) == 0, m.end()
        else:
            return False, i
        if i < len(p) and p[i] in "?+":  # lazy or possessive
            i += 1
        return optional, i

    def atom(self, i: int) -> tuple[bool, int]:
        p = self.p
        ch = p[i]
        if ch == "\\":
            return self.escape(i)
        if ch == "[":
            return self.char_class(i)
        if ch == "(":
            return self.group(i)
        if ch in "*+?":
            raise _Unsure  # a quantifier with nothing to repeat
        return ord(ch) > 127, i + 1

    def escape(self, i: int) -> tuple[bool, int]:
        """A literal (\\. \\( \\x41 \\u0905 ...) needs non-ASCII when it is non-ASCII."""
        p = self.p
        ch = p[i + 1]
        if ch in _CLASS_ESCAPES:
            return False, i + 2
        if ch in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[ch]
            code = p[i + 2:i + 2 + width]
            if len(code) != width:
                raise _Unsure
            return int(code, 16) > 127, i + 2 + width
        if ch in "tnrfv":
            return False, i + 2
        if ch.isascii() and ch.isalnum():  # \N{...}, octal, back-references
            raise _Unsure
        return ord(ch) > 127, i + 2

    def char_class(self, i: int) -> tuple[bool, int]:
        """A set needs non-ASCII when it is not negated and all its members are non-ASCII."""
        p = self.p
        i += 1
        needs = p[i] != "^"
        if not needs:
            i += 1
        first = True
        while first or p[i] != "]":
            first = False
            if p[i] == "\\":
                member, i = self.escape(i)
            else:
                member, i = ord(p[i]) > 127, i + 1
            if p[i] == "-" and p[i + 1] != "]":  # a range: its low end decides
                _, i = self.escape(i + 1) if p[i + 1] == "\\" else (None, i + 2)
            needs = needs and member
        return needs, i + 1

    def group(self, i: int) -> tuple[bool, int]:
        p = self.p
        case_insensitive = False
        if p.startswith("(?", i):
            kind = p[i + 2]
            if kind in "=!" or p.startswith(("(?<=", "(?<!"), i):
                # A lookaround matches no text of its own.
                _, end = self.alternation(i + (3 if kind in "=!" else 4))
                return False, self.close(end)
            if kind == "#":
                return False, p.index(")", i) + 1
            if kind in ":>":
                start = i + 3
            elif kind == "P" and p[i + 3] == "<":
                start = p.index(">", i) + 1
            else:  # flags: (?i) for the whole pattern, or (?i:...) and (?-i:...) for a group
                end = i + 2
                while end < len(p) and (p[end].isalpha() or p[end] == "-"):
                    end += 1
                flags = p[i + 2:end].split("-")[0]
                if set(flags) - set("i") or end >= len(p) or p[end] not in ":)":
                    raise _Unsure
                if "i" in flags and p[end] == ")":
                    raise _Unsure  # the whole pattern ignores case
                if p[end] == ")":
                    return False, end + 1
                case_insensitive, start = "i" in flags, end + 1
        else:
            start = i + 1
        needs, end = self.alternation(start)
        return needs and not case_insensitive, self.close(end)

    def close(self, i: int) -> int:
        if i >= len(self.p) or self.p[i] != ")":
            raise _Unsure
        return i + 1


class AnyOf:
    """Says whether any of many patterns matches, fast. One alternation of hundreds of
    unlike branches makes the regex engine try each branch at each position; so patterns
    anchored at the start share one alternation tried once, and the others are grouped
    by whether they can match ASCII text at all (each group scans quickly, and text in
    English skips the scan of the Urdu and Hindi phrasings)."""

    def __init__(self, patterns: list[re.Pattern]):
        anchored, groups = [], {}
        for p in patterns:
            body = _anchored_body(p.pattern)
            if body is not None:
                anchored.append(body)
                continue
            groups.setdefault(_needs_non_ascii(p.pattern), []).append(p)
        anchored_scan = [re.compile("^(?:" + "|".join(f"(?:{b})" for b in anchored) + ")")] if anchored else []
        # Scans for any text, and the fewer that can match ASCII text.
        self.scans = anchored_scan + [_alternation(group) for group in groups.values()]
        self.ascii_scans = anchored_scan + ([_alternation(groups[False])] if False in groups else [])

    def search(self, text: str) -> bool:
        for scan in self.ascii_scans if text.isascii() else self.scans:
            if scan.search(text):
                return True
        return False


@dataclass
class CategoryRules:
    max_chars: int = 300
    strong: list[re.Pattern] = field(default_factory=list)
    weak: list[re.Pattern] = field(default_factory=list)
    heading: list[re.Pattern] = field(default_factory=list)
    # A whole-block category (`whole_block = true` in a rules file: a date, a byline)
    # judges extracted paragraphs only: never an element in the DOM (a date in a <span>
    # may sit inside a sentence) nor a heading (a date may head a section of a timeline).
    whole_block: bool = False
    # The lists above as one alternation each (None when empty); set by `compile`.
    strong_re: re.Pattern | None = None
    weak_re: re.Pattern | None = None
    heading_re: re.Pattern | None = None

    def compile(self) -> None:
        self.strong_re = _alternation(self.strong)
        self.weak_re = _alternation(self.weak)
        self.heading_re = _alternation(self.heading)


def _url_host(href: str) -> tuple[str, str]:
    """(host without www./m., host + path + query) of a lower-cased href; host "" when
    it has none (a relative link)."""
    parts = urlsplit(href if "//" in href else "//" + href)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    return host, host + parts.path + ("?" + parts.query if parts.query else "")


def _host_suffixes(host: str):
    """"a.b.example.com" -> a.b.example.com, b.example.com, example.com, com."""
    yield host
    dot = host.find(".")
    while dot >= 0:
        yield host[dot + 1:]
        dot = host.find(".", dot + 1)


@dataclass
class HostRules:
    hosts: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    # Path fragments that name one post on a listed host (a tweet, a video): a link
    # there cites what was said, it does not ask the reader to follow anyone.
    posts: tuple[str, ...] = ()

    def matches(self, href: str) -> bool:
        href = (href or "").strip().lower()
        if self.schemes and href.startswith(self.schemes):
            return True
        host, rest = _url_host(href)
        if not host:
            return False
        if self.prefixes and rest.startswith(self.prefixes):
            return True
        # A host matches itself and its subdomains: look each suffix up rather than
        # comparing against every listed host.
        if self.hosts.isdisjoint(_host_suffixes(host)):
            return False
        return not (self.posts and any(p in rest for p in self.posts))


# Share intents first: facebook.com/sharer is a share button, not a profile.
LINK_ORDER = ("share-bar", "app-promo", "donation", "follow-us")


@dataclass
class Rules:
    text: dict[str, CategoryRules]
    links: dict[str, HostRules]
    # Prefilters: one alternation of every category's strong (or heading) patterns, and
    # the longest text any strong pattern may judge. Most blocks match none of them.
    any_strong: AnyOf | None = None
    # The same without the whole-block categories, for elements and headings: their
    # date and byline patterns are the costly ones, and never decide there.
    any_strong_part: AnyOf | None = None
    any_heading: AnyOf | None = None
    max_strong_chars: int = 0
    max_strong_part_chars: int = 0
    # Hrefs that can match a link rule at all: a listed scheme, or a listed host (or
    # prefix host) bounded by the start, "/", "." or "@". In two patterns, what may
    # start the href and what may follow one of those characters: the regex engine
    # skips fast to where a pattern's set of first characters occurs, but it cannot
    # when a pattern may also start with "^".
    link_start: re.Pattern | None = None
    link_inside: re.Pattern | None = None
    _href_cache: dict = field(default_factory=dict, repr=False)
    _text_cache: dict = field(default_factory=dict, repr=False)

    def compile(self) -> "Rules":
        for cat in self.text.values():
            cat.compile()
        self.any_strong = AnyOf([p for c in self.text.values() for p in c.strong])
        self.any_strong_part = AnyOf([p for c in self.text.values() if not c.whole_block for p in c.strong])
        self.any_heading = AnyOf([p for c in self.text.values() for p in c.heading])
        self.max_strong_chars = max((c.max_chars for c in self.text.values() if c.strong), default=0)
        self.max_strong_part_chars = max((c.max_chars for c in self.text.values() if c.strong and not c.whole_block),
                                         default=0)
        hosts = {h for r in self.links.values() for h in r.hosts}
        hosts |= {p.split("/", 1)[0] for r in self.links.values() for p in r.prefixes}
        schemes = [s for r in self.links.values() for s in r.schemes]
        hosts_alternation = "|".join(map(re.escape, sorted(hosts, key=len, reverse=True)))
        starts = [re.escape(s) for s in schemes] + ([hosts_alternation] if hosts else [])
        self.link_start = re.compile("|".join(starts)) if starts else None
        self.link_inside = re.compile(f"[/.@](?:{hosts_alternation})") if hosts else None
        return self

    def _may_match_link(self, lowered: str) -> bool:
        return bool((self.link_start is not None and self.link_start.match(lowered))
                    or (self.link_inside is not None and self.link_inside.search(lowered)))

    def href_category(self, href: str) -> str | None:
        """The link category of one href (LINK_ORDER decides between several), cached:
        the same share and store links recur on every page of an outlet."""
        try:
            return self._href_cache[href]
        except KeyError:
            pass
        category = None
        lowered = (href or "").strip().lower()
        if self._may_match_link(lowered):
            for name in LINK_ORDER:
                host_rules = self.links.get(name)
                if host_rules and host_rules.matches(lowered):
                    category = name
                    break
        _remember(self._href_cache, href, category)
        return category


# Named parts a rules file may use as {name} in a pattern: dates, times and month names
# in the languages the rules cover (lower case, as folded text is).
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|"
    "janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    "januari|februari|maart|mei|augustus|"
    "janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    "stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia|"
    "ledna|února|března|dubna|května|června|července|srpna|září|října|listopadu|prosince|"
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    "augusti|marts|desember|januári|február|március|április|május|június|július|augusztus|szeptember|"
    "október"
)
_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|"
    "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mo|di|mi|do|fr|sa|so|"
    "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo|"
    "lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|maandag|dinsdag|woensdag|donderdag|vrijdag|"
    "zaterdag|zondag|poniedziałek|wtorek|środa|czwartek|piątek|sobota|niedziela|pondělí|úterý|středa|čtvrtek|"
    "pátek|neděle|segunda-feira|terça-feira|quarta-feira|quinta-feira|sexta-feira|понедельник|вторник|среда|"
    "четверг|пятница|суббота|воскресенье|måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|mandag|tirsdag|"
    "lørdag|søndag"
)
_ZONES = "utc|gmt|cet|cest|eet|eest|est|edt|cst|cdt|mst|mdt|pst|pdt|bst|ist|jst|kst|mez|mesz|msk|wib|sast|aest|aedt"
_DATE = (
    r"(?:\d{1,2}\.\s?\d{1,2}\.\s?(?:\d{4}|\d{2})\b|\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b|\d{4}-\d{1,2}-\d{1,2}\b"
    r"|\d{4}[./]\s?\d{1,2}[./]\s?\d{1,2}\b\.?|\d{4}\s?年\s?\d{1,2}\s?月\s?\d{1,2}\s?日"
    r"|\d{1,2}\.?\s(?:de\s)?(?:" + _MONTHS + r")\b\.?(?:,?\s(?:de\s)?\d{4}(?:\s?(?:г\.|года|roku|r\.))?)?"
    r"|(?:" + _MONTHS + r")\b\.?\s\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s\d{4})?)"
)
_TIME = (r"(?:\d{1,2}(?::\d{2}(?::\d{2})?|h\d{2}|\.\d{2}(?=\s?(?:uhr|h\b|am\b|pm\b|a\.m\.|p\.m\.)))"
         r"(?:\s?(?:uhr|h|am|pm|a\.m\.|p\.m\.)(?![\w]))?"
         r"(?:\s?\(?(?:" + _ZONES + r")(?:[+-]\d{1,2}(?::?\d{2})?)?\)?(?![\w]))?)")
# A time stamp: a date and a time, either way round, joined by a comma, a bar or a word
# ("um", "at", "à"). Never two dates: "29 November 2018 | 20 January 2019" is a span of
# days (an exhibition's), not when the page was written.
_JOIN = r"\s?[,|/·•–—-]?\s?(?:(?:um|at|à|a las|alle|ore|om|kl\.?|klo|в|o|godz\.|le|el|il|am|on|de)\s)?"
_STAMP = (r"(?:(?:" + _WEEKDAYS + r")\.?,?\s)?(?:" + _DATE + "(?:" + _JOIN + _TIME + ")?|" + _TIME
          + "(?:" + _JOIN + _DATE + ")?)")
# Words that make a line a sentence that reports, in the languages the rules cover: a
# credit line ("Photo: AFP", "Quelle: dpa") holds none of them. One list for every
# language, since the labels are shared ("Foto:" in German, Spanish, Polish, …).
_REPORTS = (
    "said|says|say|told|tells|shows?|showing|shown|reported|according|announced|is|are|was|were|has|have|had|will|"
    "would|can|could|"
    "sagte|sagt|sagten|zeigt|zeigte|zeigen|teilte|berichtet|berichtete|erklärte|ist|sind|war|waren|hat|haben|hatte|"
    "wird|wurde|werden|kann|soll|laut|"
    "dit|disait|montre|montrent|est|sont|était|ont|avait|sera|selon|"
    "dijo|dice|muestra|es|son|era|fue|ha|han|había|será|según|informó|"
    "ha detto|mostra|è|sono|hanno|aveva|secondo|"
    "zei|zegt|toont|zijn|heeft|hebben|volgens|"
    "powiedział|powiedziała|mówi|pokazuje|jest|są|był|była|byli|mają|podał|według|"
    "řekl|řekla|uvedl|uvedla|ukazuje|je|jsou|byl|byla|byli|má|mají|podle|"
    "disse|diz|são|foi|tem|têm|tinha|segundo|"
    "сказал|сказала|заявил|заявила|сообщил|сообщила|показывает|является|был|была|были|будет|по словам|"
    "sa|sade|säger|sier|siger|viser|visar|är|er|var|har|hade|hadde|havde|ifølge|enligt"
)
MACROS = {"months": _MONTHS, "weekdays": _WEEKDAYS, "zones": _ZONES, "date": _DATE, "time": _TIME, "stamp": _STAMP,
          "reports": _REPORTS}
_MACRO = re.compile(r"\{([a-z]+)\}")


def _expand(pattern: str) -> str:
    return _MACRO.sub(lambda m: MACROS.get(m.group(1), m.group()), pattern)


_REGEX_METACHARS = frozenset(".^$*+?{}[]\\|()")


def fold_pattern(pattern: str) -> str:
    """A rule pattern folded as fold() folds the text it is matched against, without
    breaking its syntax: escapes are kept as written (lower-casing would make \\S
    mean \\s), and a character that folds into regex syntax is escaped (NFKD turns
    "…" into "...", which would match any three characters)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c.isascii():
            out.append(c.lower())
        else:
            folded = fold(c) if not c.isspace() else " "
            out.append(re.escape(folded) if _REGEX_METACHARS & set(folded) else folded)
        i += 1
    return "".join(out)


def _compile(pattern: str, source: str) -> re.Pattern:
    try:
        return re.compile(fold_pattern(_expand(pattern)))
    except re.error as exc:
        raise ValueError(f"{source}: bad pattern {pattern!r}: {exc}") from exc


@lru_cache(maxsize=4)
def load_rules(directory: Path = RULES_DIR) -> Rules:
    """Every language file's rules merged by category (a page's declared language is too
    often wrong to choose by it), plus the link-host rules."""
    text: dict[str, CategoryRules] = {}
    links: dict[str, HostRules] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for category, spec in data.items():
            if category not in CATEGORIES:
                raise ValueError(f"{path}: unknown category {category!r}")
            if path.stem == "hosts":
                links[category] = HostRules(
                    set(spec.get("hosts", ())), tuple(spec.get("prefixes", ())), tuple(spec.get("schemes", ())),
                    tuple(spec.get("posts", ())),
                )
                continue
            rules = text.setdefault(category, CategoryRules())
            rules.max_chars = max(rules.max_chars if rules.strong else 0, int(spec.get("max_chars", 300)))
            rules.whole_block = rules.whole_block or bool(spec.get("whole_block", False))
            for kind in ("strong", "weak", "heading"):
                getattr(rules, kind).extend(_compile(p, str(path)) for p in spec.get(kind, ()))
    return Rules(text, links).compile()


def text_category(text: str, rules: Rules | None = None, *, whole_block: bool = True) -> str | None:
    """The category of a block by its words alone (strong patterns), or None. With
    `whole_block` False (a DOM element, a heading), the whole-block categories do not
    count."""
    return _text_category(text, rules or load_rules(), whole_block)


def _text_category(text: str, rules: Rules, whole_block: bool) -> str | None:
    folded = fold(text)
    if len(folded) > (rules.max_strong_chars if whole_block else rules.max_strong_part_chars):
        return None
    # A paragraph is judged in the DOM (once per wrapper with the same text) and again
    # as an extracted block: remember the verdict.
    cache = rules._text_cache
    key = (folded, whole_block)
    if key in cache:
        return cache[key]
    category = None
    prefilter = rules.any_strong if whole_block else rules.any_strong_part
    if prefilter is not None and prefilter.search(folded):
        for name, cat in rules.text.items():
            if (cat.strong_re is not None and (whole_block or not cat.whole_block) and len(folded) <= cat.max_chars
                    and cat.strong_re.search(folded)):
                category = name
                break
    _remember(cache, key, category)
    return category


def _remember(cache: dict, key, value, limit: int = 8_000) -> None:
    # Bounded over a long crawl, and small: story paragraphs never repeat, so most entries
    # are dead weight in every worker (~12 MB each at 50,000); the template blocks that do
    # repeat are a few hundred per outlet and come straight back.
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


def heading_category(text: str, rules: Rules | None = None) -> str | None:
    """The list category a short heading announces ("Latest News", "یہ بھی پڑھیں"), or None."""
    rules = rules or load_rules()
    folded = fold(text)
    if len(folded) > 80 or rules.any_heading is None or not rules.any_heading.search(folded):
        return None
    for category, cat in rules.text.items():
        if cat.heading_re is not None and cat.heading_re.search(folded):
            return category
    return None


def _majority(hits: Counter, n_links: int) -> str | None:
    if not hits:
        return None
    category, _ = hits.most_common(1)[0]
    return category if sum(hits.values()) * 2 >= n_links else None


def link_category(links: list[str], rules: Rules | None = None) -> str | None:
    """The category most of a block's links point at (app stores, social profiles, share
    intents, donation platforms), when at least half of them do."""
    rules = rules or load_rules()
    if not links:
        return None
    hits: Counter = Counter()
    for href in links:
        category = rules.href_category(href)
        if category:
            hits[category] += 1
    return _majority(hits, len(links))


# --------------------------------------------------------------------------- DOM layer

URL_ONLY = re.compile(r"^(?:(?:https?://|www\.)\S+[\s,;|–—-]*)+$", re.I)
CONTAINER_TAGS = {"div", "section", "aside", "ul", "ol", "p", "figure", "nav", "footer", "header",
                  "span", "table", "blockquote", "li", "dl", "center", "form", "iframe"}
# Tags judged by their text and links only, never by class/id or link density.
INLINE_BLOCK_TAGS = ("p", "li", "span", "blockquote")
# Tokens of class/id attributes that name a kind of cruft block.
ATTR_TOKENS = {
    "advertisement": {"ad", "ads", "advert", "advertisement", "adslot", "ad-slot", "adunit", "dfp", "gpt",
                      "sponsored", "taboola", "outbrain", "mgid", "colombia", "adsbygoogle"},
    "share-bar": {"share", "shares", "sharing", "sharebar", "share-bar", "social-share", "sharethis",
                  "addthis", "share-buttons", "social-icons"},
    "newsletter": {"newsletter", "subscribe", "subscription", "signup", "sign-up", "optin"},
    "related-list": {"related", "also-read", "alsoread", "read-more", "readmore", "recommended",
                     "more-stories", "more-news", "you-may-like", "read-also", "related-posts",
                     "related-news", "related-articles"},
    "latest-list": {"latest", "trending", "popular", "most-read", "mostread", "top-stories", "latest-news",
                    "trending-news", "most-popular", "widget"},
    "cookie-consent": {"cookie", "cookies", "consent", "gdpr", "cmp"},
    "comment-prompt": {"comments", "comment", "disqus", "comment-form", "respond"},
    "follow-us": {"follow-us", "followus", "social-follow", "follow"},
    "app-promo": {"app-promo", "app-download", "download-app", "appbanner", "app-banner"},
}
_TOKEN_SPLIT = re.compile(r"[\s_]+")
STORE_BADGE = re.compile(r"app[\s_-]?store|google[\s_-]?play|play[\s_-]?store|get[\s_-]?it[\s_-]?on|"
                         r"download[\s_-]?on[\s_-]?the|appgallery", re.I)
# Longest block (collapsed characters) the DOM rules judge at all: beyond it, a block is
# a container of the story.
DOM_MAX_CHARS = 1500
# A paragraph this long counts as real story text; two of them protect their container.
STORY_PARAGRAPH_CHARS = 120
AUDIT_MAX_CHARS = 300


# Each token's category, the first in ATTR_TOKENS that names it, with that order's rank
# (the order decides between the categories of several tokens).
_TOKEN_CATEGORY: dict[str, tuple[int, str]] = {}
for _rank, (_category, _names) in enumerate(ATTR_TOKENS.items()):
    for _name in _names:
        _TOKEN_CATEGORY.setdefault(_name, (_rank, _category))


@lru_cache(maxsize=4096)
def _category_of_attrs(raw: str) -> str | None:
    """The category the tokens of a (lower-cased) class and id name, or None. A token
    names one as a whole and by its "-" parts: "related-posts-widget" names a related
    list as well as "related-posts" does."""
    found = None
    for token in _TOKEN_SPLIT.split(raw):
        for name in (token, *token.split("-")) if "-" in token else (token,):
            hit = _TOKEN_CATEGORY.get(name)
            if hit is not None and (found is None or hit < found):
                found = hit
    return found[1] if found is not None else None


def _attr_category(el) -> str | None:
    cls, id_ = el.get("class"), el.get("id")
    if not cls and not id_:
        return None
    return _category_of_attrs(f"{cls or ''} {id_ or ''}".lower())


def _collapse(text: str) -> str:
    return " ".join((text or "").split())


def _is_badge(img) -> bool:
    return bool(STORE_BADGE.search(f"{img.get('alt', '')} {img.get('src', '')}"))


class DomFigures:
    """The link, paragraph, badge and form figures of a subtree. Most elements have none
    (None in their entry); an element with one child that has figures shares that child's,
    and copies them only to add to them."""

    __slots__ = ("link_chars", "links", "hits", "paragraphs", "badges", "has_email_input", "has_textarea")

    def __init__(self, link_chars: int = 0, links: int = 0, hits: Counter | None = None, paragraphs: int = 0,
                 badges: int = 0, has_email_input: bool = False, has_textarea: bool = False):
        self.link_chars, self.links, self.paragraphs, self.badges = link_chars, links, paragraphs, badges
        self.hits = hits  # links by category, when any matched
        self.has_email_input, self.has_textarea = has_email_input, has_textarea

    def copy(self) -> "DomFigures":
        new = DomFigures()
        new.add(self)
        return new

    def add(self, other: "DomFigures") -> None:
        self.link_chars += other.link_chars
        self.links += other.links
        self.paragraphs += other.paragraphs
        self.badges += other.badges
        self.has_email_input = self.has_email_input or other.has_email_input
        self.has_textarea = self.has_textarea or other.has_textarea
        if other.hits:
            if self.hits is None:
                self.hits = Counter()
            self.hits.update(other.hits)


NO_FIGURES = DomFigures()


# What the walk over the page records for each element, as a plain tuple (an entry per
# element of every page; plain tuples of plain values are the cheapest objects to make
# and the garbage collector stops tracking them):
#   (chars, lead, trail, text, figures, index, end)
# `chars` is the length of the element's text with whitespace collapsed and stripped
# (as `_collapse(el.text_content())`), exact up to CHARS_EXACT_UP_TO and beyond it only
# known to be larger; `lead`/`trail` say whether that text starts or ends with
# whitespace, so that a parent's length follows from its children's. `text` is that
# text itself for blocks short enough for the rules to read (at most DOM_MAX_CHARS),
# built from the children's, so that no element's subtree is walked again to judge it;
# None for longer ones. `figures` is a DomFigures or None, kept for those short blocks
# only (`judge` reads no figures of a longer one); `index` is the element's position in
# document order (for the audit) and `end` that of the last element it holds (itself
# when none), so that a walk in document order can step over a whole subtree.
CHARS, TEXT, FIGURES, INDEX, END = 0, 3, 4, 5, 6
# No rule reads an exact length past DOM_MAX_CHARS but the page's own, which is only
# compared with twice the length of a block the rules judge (the "wrapper" test in
# `preclean_dom`): lengths past this one need not be exact. So the walk collapses
# no more of a long text (an inline script, often tens of kilobytes) than it takes
# to pass it.
CHARS_EXACT_UP_TO = 2 * DOM_MAX_CHARS


def _collapse_piece(s: str) -> str:
    """" ".join(s.split()), or for a piece too long for an exact length to matter, the
    collapsed text of enough of its start to be longer than CHARS_EXACT_UP_TO."""
    if len(s) > 2 * CHARS_EXACT_UP_TO:
        start = " ".join(s[:2 * CHARS_EXACT_UP_TO].split())
        if len(start) > CHARS_EXACT_UP_TO:
            return start
    return " ".join(s.split())


_ELEMENTS = lxml.etree.Element


def dom_blocks(root, rules: Rules) -> dict:
    """The entry of every element under (and including) `root`."""
    return page_entries(root, rules)[1]


def page_entries(root, rules: Rules) -> tuple[list, dict]:
    """The elements under (and including) `root` in document order, and the entry of
    each, computed children before parents.

    The collapsed text is followed as (chars, lead, trail, text): each raw piece (an
    element's text, a child's tail) or child's text joins with one space when either side
    of the seam has whitespace, as " ".join(whole.split()) would. The text is dropped
    (None) once it is longer than DOM_MAX_CHARS, and so are the figures: no rule reads
    a longer block's. Written as one loop that calls helpers only for the few elements
    that add figures (links, paragraphs, badges, form fields): it runs for every element
    of every page."""
    order = list(root.iter(_ELEMENTS))  # elements only: no comments or processing instructions
    info: dict = {}
    get = info.get
    limit = DOM_MAX_CHARS
    for index in range(len(order) - 1, -1, -1):
        el = order[index]
        chars, lead, trail, text, figures, shared, end = 0, False, False, "", None, False, index
        s = el.text
        if s:
            if s.isspace():
                lead = trail = True
            else:
                text = _collapse_piece(s)
                chars = len(text)
                lead, trail = s[0].isspace(), s[-1].isspace()
        for child in el:
            c = get(child)
            if c is not None:  # not a comment or a processing instruction
                n, clead, ctrail, ctext, cfigures, _, end = c
                if n:
                    if chars:
                        if trail or clead:
                            chars += n + 1
                            if text is not None:
                                text = None if chars > limit else f"{text} {ctext}"
                        else:
                            chars += n
                            if text is not None:
                                text = None if chars > limit else text + ctext
                    else:
                        chars, text = n, ctext
                        lead = lead or clead
                    trail = ctrail
                elif clead:
                    trail = True
                    if not chars:
                        lead = True
                if cfigures is not None and chars <= limit:
                    if figures is None:
                        figures, shared = cfigures, True
                    else:
                        if shared:
                            figures, shared = figures.copy(), False
                        figures.add(cfigures)
            s = child.tail
            if s:
                if s.isspace():
                    trail = True
                    if not chars:
                        lead = True
                else:
                    piece = _collapse_piece(s)
                    if chars:
                        if trail or s[0].isspace():
                            chars += len(piece) + 1
                            if text is not None:
                                text = None if chars > limit else f"{text} {piece}"
                        else:
                            chars += len(piece)
                            if text is not None:
                                text = None if chars > limit else text + piece
                    else:
                        chars, text = len(piece), piece
                        lead = lead or s[0].isspace()
                    trail = s[-1].isspace()
        if chars > limit:
            info[el] = (chars, lead, trail, None, None, index, end)
            continue
        tag = el.tag
        if tag in _FIGURE_TAGS:
            own = _own_figures(el, tag, chars, rules)
            if own is not None:
                if figures is None:
                    figures = own
                else:
                    if shared:
                        figures = figures.copy()
                    figures.add(own)
        info[el] = (chars, lead, trail, text, figures, index, end)
    return order, info


_FIGURE_TAGS = frozenset(("a", "p", "img", "input", "textarea"))


def _own_figures(el, tag: str, chars: int, rules: Rules) -> DomFigures | None:
    """The figures an element adds by what it is (a link, a story paragraph, a store
    badge, a form field), or None. Shared objects: figures are never changed once an
    element's entry holds them (`dom_blocks` copies before adding)."""
    if tag == "a":
        href = el.get("href")
        if not href:
            return _link_figures(chars, 0, None) if chars else None
        return _link_figures(chars, 1, rules.href_category(href))
    if tag == "p":
        return _STORY_PARAGRAPH if chars > STORY_PARAGRAPH_CHARS else None
    if tag == "img":
        return _BADGE if _is_badge(el) else None
    if tag == "input":
        if (el.get("type") or "").lower() == "email" or "mail" in (el.get("name") or "").lower():
            return _EMAIL_INPUT
        return None
    return _TEXTAREA


_STORY_PARAGRAPH = DomFigures(paragraphs=1)
_BADGE = DomFigures(badges=1)
_EMAIL_INPUT = DomFigures(has_email_input=True)
_TEXTAREA = DomFigures(has_textarea=True)


@lru_cache(maxsize=4096)
def _link_figures(chars: int, links: int, category: str | None) -> DomFigures:
    return DomFigures(link_chars=chars, links=links, hits=Counter({category: 1}) if category else None)


def judge(el, entry: tuple, rules: Rules, info: dict | None = None) -> str | None:
    """Why this element (with its entry from `dom_blocks`) is cruft, or None. Decided on
    the block as a whole: where its links go, how much of its text is links, form
    fields, store badges, its class/id, and, for short blocks, its words. `info` (the
    page's entries) saves walking the subtree again for its first text."""
    chars, _, _, text, figures, _, _ = entry
    f = figures or NO_FIGURES
    # A block holding several real paragraphs is a container of the story, not cruft.
    if f.paragraphs >= 2 or chars > DOM_MAX_CHARS:
        return None
    # From here on the entry carries the block's text (short blocks keep theirs).
    if f.has_email_input:
        return "newsletter"
    if f.has_textarea:
        return "comment-prompt"
    own_chars = chars - f.link_chars  # text that is not link text
    if f.badges and own_chars < 400:
        return "app-promo"
    if f.hits:
        by_link = _majority(f.hits, f.links)
        if by_link and _link_block_is_cruft(text, own_chars, by_link, rules):
            return by_link
    if chars:
        by_text = text_category(text, rules, whole_block=False)
        if by_text:
            return by_text
        if text[0] in "hHwW" and URL_ONLY.match(text):
            return "bare-url"
    if el.tag in INLINE_BLOCK_TAGS:
        return None
    by_attr = _attr_category(el)
    if by_attr in ("advertisement", "cookie-consent", "share-bar", "follow-us", "newsletter", "app-promo") \
            and chars < 300:
        return by_attr
    if f.links >= 2 and f.link_chars >= 0.5 * max(chars, 1):
        # A list of links introduced by "Related" / "Latest News" or named so in its class.
        first = _first_text(el, info)
        announced = heading_category(first, rules) if first else None
        if announced:
            return announced
        if by_attr in ("related-list", "latest-list"):
            return by_attr
    if by_attr == "comment-prompt" and chars < 300:
        return by_attr
    return None


def _first_text(el, info: dict | None = None) -> str:
    """The collapsed text of the first node under `el` (itself by its own text only) that
    has any; from the nodes' entries in `info` where they carry it."""
    for node in el.iter():
        if node is el:
            if el.text and el.text.strip():
                return _collapse(el.text)
            continue
        entry = info.get(node) if info is not None else None
        text = entry[TEXT] if entry is not None and entry[TEXT] is not None else _collapse(node.text_content())
        if text:
            return text
    return ""


@lru_cache(maxsize=1024)
def _css_selector(selector: str):
    """A drop selector compiled once (to XPath), not on every page, as `tree.cssselect` would."""
    from lxml.cssselect import CSSSelector

    return CSSSelector(selector, translator="html")


def _outlet_selectors(tree, outlet, audit: list) -> Counter:
    removed: Counter = Counter()
    for selector in getattr(outlet, "drop_selectors", ()) or ():
        try:
            found = _css_selector(selector)(tree)
        except Exception as exc:  # a malformed selector must not stop the crawl
            logger.warning("outlet %s: bad drop selector %r: %s", getattr(outlet, "name", "?"), selector, exc)
            continue
        for el in found:
            if el.getparent() is not None:
                audit.append((-1, "outlet-selector", _collapse(el.text_content())))
                el.drop_tree()
                removed["outlet-selector"] += 1
    return removed


PROTECTED_TAGS = {"html", "body", "article", "main", "h1"}
JUDGED_TAGS = frozenset(CONTAINER_TAGS - PROTECTED_TAGS)
# Never judged, nor anything inside them.
UNREAD_TAGS = frozenset(("script", "style", "noscript", "template"))


class DomRemovals(Counter):
    """Counts of removed DOM blocks by category, plus `texts`: each removed block's
    category and text (capped at AUDIT_MAX_CHARS), in page order, for the audit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts: list[dict] = []


def audit_entry(category: str, text: str) -> dict:
    text = text if len(text) <= AUDIT_MAX_CHARS else text[:AUDIT_MAX_CHARS - 1] + "…"
    return {"category": category, "text": text}


def preclean_dom(tree, outlet) -> DomRemovals:
    """Removes cruft from the parsed page before body extraction: the outlet's drop
    selectors, then the generic DOM rules. Mutates `tree`; returns counts by category
    (with the removed texts in `.texts`)."""
    rules = load_rules()
    audit: list[tuple[int, str, str]] = []  # (document position, category, text)
    removed = DomRemovals(_outlet_selectors(tree, outlet, audit))
    body = tree.find(".//body")
    root = body if body is not None else tree
    order, info = page_entries(root, rules)
    # Never judge a block that holds most of the page: it is a wrapper.
    half = 0.5 * (info[root][CHARS] or 1)
    # Elements are judged in document order, each before what it holds, and the blocks
    # found to be cruft are removed once all are judged: every entry is exact when its
    # element is judged, and nothing inside a block found to be cruft is judged.
    found: list = []  # (element, entry, category), in document order
    index, count = 1, len(order)  # order[0] is the root, never judged
    while index < count:
        el = order[index]
        entry = info[el]
        tag = el.tag.lower()
        if tag in JUDGED_TAGS:
            category = judge(el, entry, rules, info) if entry[CHARS] < half or tag in ("p", "li") else None
        elif tag == "img":
            figures = entry[FIGURES]
            category = "app-promo" if figures is not None and figures.badges else None
        elif tag in UNREAD_TAGS:
            index = entry[END] + 1
            continue
        else:
            category = None
        if category:
            found.append((el, entry, category))
            index = entry[END] + 1
        else:
            index += 1
    # Removed from the last back, so that each records the neighbours it has once the
    # blocks after it are gone, which `_drop_weak_neighbours` then reads.
    dropped: list = []
    for el, entry, category in reversed(found):
        text = entry[TEXT] if el.tag.lower() != "img" else _collapse(el.get("alt") or el.get("src") or "")
        audit.append((entry[INDEX], category, text))
        dropped.append((el.getprevious(), el.getnext(), category))
        el.drop_tree()
        removed[category] += 1
    removed.update(_drop_weak_neighbours(dropped, rules, info, audit))
    audit.sort(key=lambda entry: entry[0])
    removed.texts = [audit_entry(category, text) for _, category, text in audit]
    return removed


def _drop_weak_neighbours(dropped: list, rules: Rules, info: dict, audit: list) -> Counter:
    """Siblings of removed blocks that carry a weak phrasing of the same category (the
    promo sentence above the store links) go too, in a chain."""
    removed: Counter = Counter()
    while dropped:
        prev, nxt, category = dropped.pop()
        if rules.text.get(category) is None or rules.text[category].weak_re is None:
            continue  # the category has no weak phrasing to look for in the neighbours
        for sib, step in ((prev, "getprevious"), (nxt, "getnext")):
            if sib is None or not isinstance(sib.tag, str) or sib.getparent() is None:
                continue
            if sib.tag.lower() not in CONTAINER_TAGS or sib.tag.lower() in PROTECTED_TAGS:
                continue
            text = _collapse(sib.text_content())
            if _weak_match({"text": text}, category, rules):
                further = getattr(sib, step)()
                audit.append((info[sib][INDEX] if sib in info else len(info), category, text))
                sib.drop_tree()
                removed[category] += 1
                dropped.append((further, None, category) if step == "getprevious" else (None, further, category))
    return removed


# --------------------------------------------------------------------------- text layer


def _density(block: dict) -> float:
    return block.get("link_chars", 0) / max(len(block.get("text", "")), 1)


def _outlet_patterns(outlet) -> list[re.Pattern]:
    out = []
    for pattern in getattr(outlet, "drop_patterns", ()) or ():
        try:
            out.append(re.compile(pattern, re.I))
        except re.error as exc:
            logger.warning("outlet %s: bad drop pattern %r: %s", getattr(outlet, "name", "?"), pattern, exc)
    return out


def block_category(block: dict, patterns: list[re.Pattern], rules: Rules) -> str | None:
    """Why one extracted block is cruft on its own, or None."""
    text = block.get("text", "")
    if any(p.search(text) for p in patterns):
        return "outlet-pattern"
    if URL_ONLY.match(text.strip()):
        return "bare-url"
    own_chars = len(text) - block.get("link_chars", 0)
    by_link = link_category(block.get("links") or [], rules)
    if by_link and _link_block_is_cruft(text, own_chars, by_link, rules):
        return by_link
    return text_category(text, rules, whole_block=block.get("kind") != "h")


def _weak_match(block: dict, category: str, rules: Rules) -> bool:
    cat = rules.text.get(category)
    if not cat or cat.weak_re is None:
        return False
    folded = fold(block.get("text", ""))
    return len(folded) <= min(cat.max_chars, WEAK_MAX_CHARS) and bool(cat.weak_re.search(folded))


def _link_block_is_cruft(text: str, own_chars: int, category: str, rules: Rules) -> bool:
    """A block whose links go mostly to stores or social profiles is cruft when it has
    next to no text of its own, or a little text that also reads like the category. A
    story paragraph that links the App Store once has plenty of its own words."""
    if own_chars < LINK_ONLY_OWN_CHARS:
        return True
    return own_chars < 400 and (_weak_match({"text": text}, category, rules) or text_category(text, rules) == category)


# A byline: a short paragraph that is a "by" word and one or more names, perhaps with a
# place after a comma ("Von Anna Sleegers, Frankfurt", "By Jane Doe and John Roe"). Read
# on the text as written, since a name is capitalised: "Von Berlin aus reiste er" is not.
_BY_WORD = re.compile(r"^(?:by|von|par|por|di|door|av|af|przez|autor|autorka|autoři|author|authors|text|texte|"
                      r"texto|testo|tekst|reportage|автор|текст)\s*:?\s+", re.I)
_NAME_WORD = re.compile(r"^[^\W\d_][\w’'.-]*$")
# Particles that may stand lower case inside a name.
_NAME_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "le", "la",
                   "ter", "ten", "zu", "bin", "al", "el", "y"}
# Words that join names, and words no byline holds (so "By The Numbers" is a heading).
_NAME_JOINS = {"and", "und", "&", "et", "y", "e", "i", "og", "och", "en", "a", "und", "и", "ve", "és"}
_NOT_NAMES = {"the", "a", "an", "this", "that", "these", "our", "my", "your", "his", "her", "their", "its", "all",
              "der", "die", "das", "dem", "ein", "eine", "le", "la", "les", "un", "une", "el", "los", "las", "il",
              "lo", "gli", "het", "een", "ich", "er", "sie", "wir", "es", "he", "she", "we", "they", "it", "i"}
BYLINE_MAX_CHARS = 100


def _is_name(words: list[str]) -> bool:
    """True for 1-5 words that read as a person's (or a place's) name: each capitalised,
    bar a particle inside."""
    if not 1 <= len(words) <= 5:
        return False
    for i, w in enumerate(words):
        if w.lower() in _NOT_NAMES or not _NAME_WORD.match(w):
            return False
        if not w[0].isupper() and not (0 < i < len(words) - 1 and w in _NAME_PARTICLES):
            return False
    return True


def _names_of(text: str) -> list[list[str]] | None:
    """The names of "Name Surname and Name Surname", or None when it is not only names."""
    names, current = [], []
    for word in text.replace("&", " & ").split():
        if word.lower() in _NAME_JOINS and current:
            names.append(current)
            current = []
        else:
            current.append(word)
    names.append(current)
    return names if all(_is_name(n) for n in names) else None


def _author_keys(authors) -> set[str]:
    return {_PUNCT.sub("", fold(a)).strip() for a in authors or () if isinstance(a, str) and a.strip()}


def is_byline(text: str, authors=()) -> bool:
    """True when a short paragraph only credits its authors: a "by" word and names
    (capitalised, or the record's own authors), perhaps with a place after a comma; or
    one of the record's authors alone."""
    text = " ".join(text.split()).strip(" .·|-–—")
    if not text or len(text) > BYLINE_MAX_CHARS or any(c in text for c in "!?;\"“”„«»()"):
        return False
    keys = _author_keys(authors)
    head, _, place = text.partition(",")
    if keys and _PUNCT.sub("", fold(head)).strip() in keys and (not place.strip() or _is_name(place.split())):
        return True  # one of the record's authors alone ("Daniel Aragón", "MTHOBISI SITHOLE")
    by = _BY_WORD.match(head)
    if by is None:
        return False
    names = head[by.end():]
    if place.strip() and not _is_name(place.split()):
        return False
    if keys and all(_PUNCT.sub("", fold(part)).strip() in keys
                    for part in re.split(r"\s+(?:and|und|&|et|y|e|i|og|och|en|и)\s+", names, flags=re.I)):
        return True
    return _names_of(names) is not None


def clean_blocks(blocks: list[dict], outlet, authors=()) -> tuple[list[dict], Counter]:
    """Removes cruft blocks from the extracted body. Returns the kept blocks (in order)
    and counts of removed blocks by category. Each removed block is also marked with
    `_removed` = category in the input list, for auditing. `authors`, the record's
    extracted authors, lets a paragraph that only names them go as a byline."""
    rules = load_rules()
    patterns = _outlet_patterns(outlet)
    cats: list[str | None] = [block_category(b, patterns, rules) for b in blocks]
    n = len(blocks)
    for i, b in enumerate(blocks):
        if cats[i] is None and b.get("kind") != "h" and is_byline(b.get("text", ""), authors):
            cats[i] = "byline"

    # A link-dense run after a list announcement ("Also read", "Latest News") is the list.
    for i in range(n):
        if cats[i] is None and blocks[i].get("kind") in ("h", "p") and heading_category(blocks[i]["text"], rules):
            cats[i] = heading_category(blocks[i]["text"], rules)
        if cats[i] in LIST_CATEGORIES:
            j = i + 1
            while j < n and cats[j] is None and _density(blocks[j]) >= 0.6 and len(blocks[j]["text"]) <= 250:
                cats[j] = "related-list" if cats[i] == "also-read" else cats[i]
                j += 1

    # Weak phrasings go only beside a block removed for the same reason: the sentence
    # "Download our app for news the way you like" next to the store links.
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if cats[i] is not None:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < n and cats[j] and _weak_match(blocks[i], cats[j], rules):
                    cats[i] = cats[j]
                    changed = True
                    break

    # Headings left with nothing under them: every block up to the next heading (or the
    # end) was removed, or there is no block after them at all.
    for i in range(n):
        if cats[i] is not None or blocks[i].get("kind") != "h":
            continue
        j = i + 1
        section = []
        while j < n and blocks[j].get("kind") != "h":
            section.append(cats[j])
            j += 1
        at_end = j == n
        if (section and all(section)) or (not section and at_end):
            cats[i] = section[0] if section else "dangling-heading"

    kept, removed = [], Counter()
    for block, category in zip(blocks, cats):
        if category:
            removed[category] += 1
            block[REMOVED] = category
        else:
            kept.append(block)
    return kept, removed


def drop_title_repeat(blocks: list[dict], title: str | None) -> tuple[list[dict], Counter]:
    """The headline is a field of its own; a first block that repeats it is not body."""
    removed: Counter = Counter()
    if blocks and title:
        key = _PUNCT.sub("", fold(title)).strip()
        first = blocks[0]
        if key and _PUNCT.sub("", fold(first.get("text", ""))).strip() == key:
            first[REMOVED] = "title-repeat"
            removed["title-repeat"] += 1
            return blocks[1:], removed
    return blocks, removed


def pre_learning_clean(item: dict, blocks: list[dict], outlet) -> tuple[list[dict], Counter]:
    """Every rule that needs no learned state: the repeated headline, then `clean_blocks`."""
    kept, removed = drop_title_repeat(blocks, item.get("title"))
    kept, more = clean_blocks(kept, outlet, item.get("authors") or ())
    removed.update(more)
    return kept, removed


def blocks_to_text(blocks: list[dict]) -> str:
    return "\n\n".join(b["text"] for b in blocks)


# --------------------------------------------------------------------------- learned layer



BLOCK_KEY = "_key"  # a kept block's block_key, set by decruft_rules (pipelines/work.py)
REMOVED = "_removed"  # a removed block's category, set by the layer that removed it
LEARNED = "learned-boilerplate"  # the category of what the learned layer removes


def key_of(block: dict) -> str:
    return block.get(BLOCK_KEY) or block_key(block["text"])


def block_key(text: str) -> str:
    """A block's identity across pages: digits and spacing folded, so "Updated 3 hours
    ago" and "Updated 5 hours ago" are one block."""
    folded = _PUNCT.sub("", _DIGITS.sub("0", fold(text)))
    folded = _SPACE.sub(" ", folded).strip()
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=10).hexdigest()


class BoilerplateLearner:
    """Counts, per outlet, on how many distinct pages each block appears, and says which
    blocks are boilerplate.

    A block is boilerplate when it was seen on at least `min_pages` pages AND on at least
    `min_share` of the outlet's pages since it first appeared (so a promotion added last
    week counts as fully as one that has run for years, while a quote shared by two
    stories never qualifies). Counts live in the state store: a cron run starts from
    what the last one learned. A block that is boilerplate by its counts is removed
    from a page only as `split_learned` says: when it behaves like a template there.
    """

    NS = "boilerplate"

    def __init__(self, store, outlet_name: str, *, min_pages: int = 3, min_share: float = 0.3,
                 prune_after: int = 5000):
        if min_pages < 3:
            raise ValueError("min_pages must be at least 3: a block on two pages is content")
        if prune_after < 1:
            raise ValueError("prune_after must be at least 1 page")
        self.store = store
        self.outlet = outlet_name
        self.min_pages = min_pages
        self.min_share = min_share
        self.prune_after = prune_after
        self.ns = f"{self.NS}:{outlet_name}"

    @property
    def pages(self) -> int:
        return int(self.store.get(self.ns, "pages") or 0)

    def _batch(self):
        batch = getattr(self.store, "batch", None)
        if batch is None:
            from contextlib import nullcontext

            return nullcontext()
        return batch()

    def observe(self, page_id: str, blocks: list[dict]) -> bool:
        """Counts this page's blocks once. Returns False when the page was already counted
        (a re-crawl of the same article must not make its paragraphs look common)."""
        page_key = "p:" + hashlib.blake2b(page_id.encode("utf-8"), digest_size=10).hexdigest()
        if self.store.get(self.ns, page_key) is not None:
            return False
        keys = sorted({key_of(b) for b in blocks if len(b.get("text", "").strip()) >= 3})
        with self._batch():
            index = self.store.incr(self.ns, "pages")
            first_seen = self.store.get_many(self.ns, [f"f:{k}" for k in keys])
            self.store.put_many(self.ns, [(page_key, str(index))]
                                + [(f"f:{k}", str(index)) for k in keys if f"f:{k}" not in first_seen])
            self.store.incr_many(self.ns, [f"c:{k}" for k in keys])
        if index % self.prune_after == 0:  # a long first crawl stays bounded too
            self.prune()
        return True

    def _is_boilerplate(self, count: int, first: int, pages: int) -> bool:
        return count >= self.min_pages and count / max(pages - first + 1, 1) >= self.min_share

    def prune(self) -> int:
        """Forgets what can no longer matter, so that the state stays bounded over months
        of crawls: blocks first seen more than `prune_after` pages ago that are not
        boilerplate now (one row per distinct paragraph otherwise grows forever), and the
        ids of pages counted more than `prune_after` pages ago. A block seen again after
        being forgotten starts counting afresh; so does a page re-crawled that late, whose
        own paragraphs then count once, as on a first visit. Returns the rows deleted."""
        pages = self.pages
        horizon = pages - self.prune_after
        if horizon <= 0:
            return 0
        counts, firsts, page_rows = self._rows()
        stale = [key for key, index in page_rows.items() if index <= horizon]
        for k, first in firsts.items():
            if first <= horizon and not self._is_boilerplate(counts.get(k, 0), first, pages):
                stale += [f"f:{k}", f"c:{k}"]
        stale += [f"c:{k}" for k in counts.keys() - firsts.keys()]  # a count without its first sighting
        with self._batch():
            for key in stale:
                self.store.delete(self.ns, key)
        if stale:
            logger.info("boilerplate %s: pruned %d rows", self.outlet, len(stale))
        return len(stale)

    def _rows(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """The outlet's block counts and first sightings by block key, and its page rows
        (page key -> page index), from one scan of its state."""
        counts, firsts, page_rows = {}, {}, {}
        for key, value in self.store.items(self.ns):
            kind, _, rest = key.partition(":")
            if kind == "c":
                counts[rest] = int(value)
            elif kind == "f":
                firsts[rest] = int(value)
            elif kind == "p":
                page_rows[key] = int(value)
        return counts, firsts, page_rows

    def boilerplate_keys(self, blocks: list[dict]) -> set[str]:
        keys = {key_of(b) for b in blocks if b.get("text")}
        if not keys:
            return set()
        pages = self.pages
        got = self.store.get_many(self.ns, [f"c:{k}" for k in keys] + [f"f:{k}" for k in keys])
        out = set()
        for k in keys:
            if self._is_boilerplate(int(got.get(f"c:{k}", 0)), int(got.get(f"f:{k}", 1)), pages):
                out.add(k)
        return out

    def filter(self, blocks: list[dict]) -> tuple[list[dict], Counter]:
        """The blocks that stay once the learned boilerplate is removed (`split_learned`),
        and the count removed."""
        bad = self.boilerplate_keys(blocks)
        kept, gone = split_learned(blocks, bad)
        for b in gone:
            b[REMOVED] = LEARNED
        removed = Counter({LEARNED: len(gone)}) if gone else Counter()
        return kept, removed


# What the learned layer may remove of what recurs across an outlet's pages. A block
# that recurs is only a candidate: it goes when it behaves like a template, and never so
# much of an article that the article is lost. Long paragraphs shared by several of an
# outlet's articles (wire copy run again with a new lede, a live story whose pages repeat
# earlier updates) are content; the dedupe stage marks such near-copies (duplicate_of).
#
# A candidate is template-like when it is
#   promotional: a phrasing the text rules know (strong or weak), or link-heavy (at least
#     LEARNED_LINK_DENSITY of its text is link text), at any place;
#   or short (at most STORY_PARAGRAPH_CHARS: not a story paragraph) and at an edge of the
#     body (among its first or last LEARNED_EDGE_BLOCKS blocks), where mastheads, datelines,
#     "follow us" lines and publisher notes sit.
# The template-like candidates go, most template-like first (promotional before short,
# then the shorter first), as long as what goes stays within LEARNED_MAX_SHARE of the
# article's words; those past the bound, and every other candidate, stay.
LEARNED_EDGE_BLOCKS = 3
LEARNED_LINK_DENSITY = 0.5
LEARNED_MAX_SHARE = 1 / 3




def _promotional(block: dict, rules: Rules) -> bool:
    if _density(block) >= LEARNED_LINK_DENSITY:
        return True
    text = block.get("text", "")
    if text_category(text, rules):
        return True
    return any(_weak_match(block, category, rules) for category, cat in rules.text.items() if cat.weak_re is not None)


def learned_rank(block: dict, index: int, count: int, rules: Rules | None = None) -> tuple[int, int] | None:
    """How template-like a recurring block is at position `index` of a body of `count`
    blocks: a sort key (lower is more template-like), or None when it is not (a story
    paragraph in the body: content, whatever recurs)."""
    rules = rules or load_rules()
    chars = len(block.get("text", "").strip())
    if _promotional(block, rules):
        return 0, chars
    at_edge = index < LEARNED_EDGE_BLOCKS or index >= count - LEARNED_EDGE_BLOCKS
    if chars <= STORY_PARAGRAPH_CHARS and at_edge:
        return 1, chars
    return None


def split_learned(blocks: list[dict], bad) -> tuple[list[dict], list[dict]]:
    """(kept, removed): the blocks, in order, that stay and that go as learned
    boilerplate, given `bad`, the keys of the blocks that recur across the outlet's pages.
    A recurring block goes only when it is template-like (`learned_rank`), the most
    template-like first, within LEARNED_MAX_SHARE of the article's words. The learned
    layer's one rule (BoilerplateLearner.filter): a function of the blocks (their text,
    links and order) and `bad` only."""
    if not bad:
        return list(blocks), []
    count = len(blocks)
    candidates = []  # (rank, index)
    for i, b in enumerate(blocks):
        if key_of(b) in bad:
            rank = learned_rank(b, i, count)
            if rank is not None:
                candidates.append((rank, i))
    if not candidates:
        return list(blocks), []
    words = [word_count(b.get("text", "")) for b in blocks]
    budget = LEARNED_MAX_SHARE * sum(words)
    gone_at: set[int] = set()
    spent = 0
    for _, i in sorted(candidates):
        if spent + words[i] > budget:
            break  # the rest are less template-like: they stay too
        spent += words[i]
        gone_at.add(i)
    kept = [b for i, b in enumerate(blocks) if i not in gone_at]
    gone = [b for i, b in enumerate(blocks) if i in gone_at]
    return kept, gone


def learner_from_settings(store, outlet_name: str, settings) -> BoilerplateLearner:
    return BoilerplateLearner(
        store, outlet_name,
        min_pages=settings.getint("NEWSCRAWL_BOILERPLATE_MIN_PAGES", 3),
        min_share=settings.getfloat("NEWSCRAWL_BOILERPLATE_MIN_SHARE", 0.3),
        prune_after=settings.getint("NEWSCRAWL_BOILERPLATE_PRUNE_AFTER", 5000),
    )


# --------------------------------------------------------------------------- the stage


def decruft_rules(record: dict, outlet) -> dict:
    """The decruft stage's rules, as a pure function (run in a worker): every rule that
    needs no learned state, over the extracted blocks (record[WORK].blocks): the repeated
    headline, then `clean_blocks`. Each removed block is marked with its category
    (REMOVED); each kept one with its identity across pages (BLOCK_KEY), which the
    learned layer looks up."""
    blocks = work_of(record).blocks
    kept, _ = pre_learning_clean(record, blocks, outlet)
    for block in kept:
        block[BLOCK_KEY] = block_key(block["text"])
    return record


def kept_blocks(record: dict) -> list[dict]:
    """The record's blocks that no layer has removed, in order."""
    return [b for b in work_of(record).blocks if not b.get(REMOVED)]


def _page_id(item: dict) -> str:
    return item.get("canonical_url") or item.get("url") or ""


class LearnedLayer:
    """The decruft stage's learned layer over one outlet's records, in the order they come:
    the one form of it, which a crawl (DecruftPipeline), a batch (`learned_in_order`) and
    `newscrawl clean` (pipelines/clean.py) all use.

    `arrive` counts a record's kept blocks towards the outlet's learned boilerplate and
    says whether the record is to wait: until the outlet has `warmup` pages counted (over
    all runs), so that the first articles of a first crawl are cleaned with what the
    warm-up taught. `finish` removes the learned boilerplate (`split_learned`), sets the
    record's `text` from the blocks left and counts what every layer removed in
    `cleaning.removed` (with `audit`, the removed texts in `cleaning.removed_text`; with an
    `audit_log`, a line in the run's cruft file). Without `learn` (`newscrawl clean`) the
    counts are read, never updated, and nothing waits; without a learner only the rules'
    removals apply."""

    def __init__(self, learner: "BoilerplateLearner | None", *, warmup: int = 0, learn: bool = True,
                 audit: bool = False, audit_log: "CruftAuditLog | None" = None):
        self.learner = learner
        self.warmup = warmup
        self.learn = learn and learner is not None
        self.audit = audit
        self.audit_log = audit_log

    def arrive(self, record: dict, fallback_id: str) -> bool:
        """Counts the record's page (once per page id); True while the warm-up is not
        complete and the record is to wait for it."""
        if not self.learn:
            return False
        self.learner.observe(_page_id(record) or fallback_id, kept_blocks(record))
        return self.warmup > 0 and self.learner.pages < self.warmup

    def finish(self, record: dict) -> dict:
        if self.learner is not None:
            self.learner.filter(kept_blocks(record))  # marks what it removes
        if self.audit_log is not None:
            self.audit_log.write(record, removed_texts(record))
        return apply_cleaning(record, audit=self.audit)


def learned_in_order(records: list[dict], layer: LearnedLayer) -> list[dict]:
    """The learned layer over a batch of one outlet's records (through `decruft_rules`), as
    a crawl would see them: records that arrive before the warm-up is complete wait until
    it is, or until the batch ends."""
    out: list[dict | None] = [None] * len(records)
    held: list[int] = []
    for i, record in enumerate(records):
        if layer.arrive(record, f"#{i}"):
            held.append(i)
            continue
        for j in held:
            out[j] = layer.finish(records[j])
        held = []
        out[i] = layer.finish(record)
    for j in held:
        out[j] = layer.finish(records[j])
    return out


def decruft_in_order(items: list[dict], outlet, learner: "BoilerplateLearner", *, warmup: int = 12,
                     audit: bool = False) -> list[dict]:
    """The whole decruft stage over a batch of one outlet's extracted records, in this
    process, in order (`learned_in_order`): for benchmarks and tests."""
    return learned_in_order([decruft_rules(item, outlet) for item in items],
                            LearnedLayer(learner, warmup=warmup, audit=audit))


def removed_texts(item: dict) -> list[dict]:
    """What the stage removed from one article, as {category, text} (each text capped at
    AUDIT_MAX_CHARS): the DOM blocks removed before extraction, in page order, then the
    extracted blocks removed after it, in page order."""
    work = work_of(item)
    return work.dom_removed + [audit_entry(b[REMOVED], b["text"]) for b in work.blocks if b.get(REMOVED)]


def apply_cleaning(item: dict, *, audit: bool = False) -> dict:
    """The end of the stage: `text` from the blocks no layer removed, the removals counted
    by category into `cleaning.removed` (and, when auditing, their texts listed in
    `cleaning.removed_text`). The record's Work is done with: it goes."""
    work = work_of(item)
    item["text"] = blocks_to_text([b for b in work.blocks if not b.get(REMOVED)])
    cleaning = item.setdefault("cleaning", {})
    counts = Counter(cleaning.get("removed") or {})
    counts.update(b[REMOVED] for b in work.blocks if b.get(REMOVED))
    cleaning["removed"] = dict(counts)
    if audit:
        cleaning["removed_text"] = removed_texts(item)
    del item[WORK]
    return item


class CruftAuditLog:
    """The run's audit of removed cruft: parts in `output/<outlet>/cruft/<YYYY-MM-DD>/` (UTC
    day of the fetch), one line per article that lost anything:
    {"url", "fetched_at", "removed": [{"category", "text"}, ...]}."""

    def __init__(self, settings):
        from pipelines.parts import WriterSet, writer_settings

        self.writers = WriterSet(settings.get("NEWSCRAWL_OUTPUT_DIR") or "output", **writer_settings(settings))

    def write(self, item: dict, removed: list[dict]) -> None:
        from pipelines.parts import CRUFT, utc_day

        if not removed:
            return
        outlet = item.get("outlet") or "_global"
        line = {"url": item.get("url"), "fetched_at": item.get("fetched_at"), "removed": removed}
        try:
            self.writers.writer(outlet, CRUFT, utc_day(item.get("fetched_at")), compression="").write(line)
        except (OSError, ValueError) as exc:  # the audit must never cost the article
            logger.warning("decruft: cannot write the cruft audit for %s: %s", item.get("url"), exc)

    def close(self) -> None:
        self.writers.close()


# --------------------------------------------------------------------------- the adapter


class DecruftPipeline:
    """The decruft stage's adapter: its rules in the worker pool (`decruft_rules`, through
    pipelines/runner.py), then the learned layer here, where the outlet's counts are
    (`LearnedLayer`), and the stage's stats: `newscrawl/cruft/<category>` for what every
    layer removed. NEWSCRAWL_AUDIT_CRUFT lists the removed texts in each record's
    `cleaning.removed_text`; NEWSCRAWL_AUDIT_CRUFT_FILE writes the run's removed texts, by
    article, in `output/<outlet>/cruft/<YYYY-MM-DD>/` (`CruftAuditLog`).

    Until an outlet has NEWSCRAWL_BOILERPLATE_WARMUP pages counted (over all runs), its
    articles are held, so the first ones of a first crawl are cleaned with what the
    warm-up taught. Held articles are released when the warm-up is complete, when the
    crawl has nothing else moving (fewer articles than the warm-up; or the crawl closing,
    or backing out for memory), when the spider closes, or after
    NEWSCRAWL_BOILERPLATE_MAX_HOLD seconds: never lost.
    """

    WATCH_INTERVAL = 0.5

    def __init__(self, crawler):
        from pipelines.runner import runner_for

        self.crawler = crawler
        self.runner = runner_for(crawler)
        settings = crawler.settings
        self.warmup = settings.getint("NEWSCRAWL_BOILERPLATE_WARMUP", 12)
        self.max_hold = settings.getfloat("NEWSCRAWL_BOILERPLATE_MAX_HOLD", 300.0)
        self.audit = settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False)
        self.audit_log = CruftAuditLog(settings) if settings.getbool("NEWSCRAWL_AUDIT_CRUFT_FILE", False) else None
        self.store = None
        self.layers: dict[str, LearnedLayer] = {}
        self._held: list = []  # Deferreds of held articles, in arrival order
        self._held_since: float | None = None
        self._stalled_ticks = 0
        self._moved = False  # anything happened in the crawl since the last tick
        self._downloading = 0  # requests in the downloader
        self._watch = None
        self._connect_signals()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- state

    def _store(self):
        if self.store is None:
            from newscrawl.faults import crawl_state

            # The outlet's store of the crawl, which its ledger uses too (closed when
            # the engine stops, after this stage's close_spider).
            outlet = getattr(self.crawler.spider, "outlet", None)
            self.store = crawl_state(self.crawler, getattr(outlet, "name", None) or "_global")
        return self.store

    def layer(self, outlet_name: str) -> LearnedLayer:
        if outlet_name not in self.layers:
            learner = learner_from_settings(self._store(), outlet_name, self.crawler.settings)
            self.layers[outlet_name] = LearnedLayer(learner, warmup=self.warmup, audit=self.audit,
                                                    audit_log=self.audit_log)
        return self.layers[outlet_name]

    # -- lifecycle

    def open_spider(self, spider=None):
        from scrapy.utils.asyncio import create_looping_call

        self._watch = create_looping_call(self._check_stalled)
        self._watch.start(self.WATCH_INTERVAL, now=False)

    def close_spider(self, spider=None):
        self.release("close")
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        if self.audit_log is not None:
            self.audit_log.close()
        from newscrawl.faults import Fault

        try:
            for layer in self.layers.values():
                layer.learner.prune()
        except Fault:
            pass  # the store failed (reported): the learned rows are pruned next run
        self.store = None

    # -- holding

    def release(self, reason: str) -> None:
        held, self._held = self._held, []
        self._held_since = None
        if held:
            logger.info("decruft: releasing %d held articles (%s)", len(held), reason)
            if self.crawler.stats:
                self.crawler.stats.inc_value(f"newscrawl/cruft_hold/released_{reason}", len(held))
        for d in held:
            if not d.called:
                d.callback(None)

    # -- is anything but the held articles still moving? (Scrapy's public signals)

    def _connect_signals(self) -> None:
        from scrapy import signals

        signals_ = self.crawler.signals
        for signal in (signals.request_scheduled, signals.response_received, signals.item_scraped,
                       signals.item_dropped, signals.item_error, signals.request_dropped):
            signals_.connect(self._activity, signal=signal)
        signals_.connect(self._reached_downloader, signal=signals.request_reached_downloader)
        signals_.connect(self._left_downloader, signal=signals.request_left_downloader)

    def _activity(self, **kwargs) -> None:
        self._moved = True

    def _reached_downloader(self, **kwargs) -> None:
        self._downloading += 1
        self._moved = True

    def _left_downloader(self, **kwargs) -> None:
        self._downloading = max(0, self._downloading - 1)
        self._moved = True

    def _check_stalled(self) -> None:
        """The watchdog. Scrapy counts held articles as items in flight, so it never
        calls the spider idle while any is held (no `spider_idle` to wait for): the
        articles are released when nothing else has moved for two ticks (no download in
        flight, no request scheduled, no response received, no item finished or arrived).
        That is the crawl gone idle, or closing, or backing out for memory: in each case
        no more pages will come before the held ones are let go."""
        moved, self._moved = self._moved, False
        if not self._held:
            self._stalled_ticks = 0
            return
        if self._held_since is not None and time.monotonic() - self._held_since > self.max_hold:
            return self.release("timeout")
        self._stalled_ticks = 0 if moved or self._downloading else self._stalled_ticks + 1
        if self._stalled_ticks >= 2:
            self._stalled_ticks = 0
            self.release("idle")

    async def _hold(self) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import Deferred

        d: Deferred = Deferred()
        self._held.append(d)
        if self._held_since is None:
            self._held_since = time.monotonic()
        await maybe_deferred_to_future(d)

    # -- items

    async def process_item(self, item, spider=None):
        self._moved = True
        outlet = getattr(self.crawler.spider, "outlet", None)
        record = await self.runner.run(decruft_rules, dict(item), outlet)
        layer = self.layer(record.get("outlet") or getattr(outlet, "name", None) or "_global")
        if layer.arrive(record, str(id(record))):
            await self._hold()
        elif self._held:
            self.release("warmup")
        record = layer.finish(record)
        stats = getattr(self.crawler, "stats", None)
        if stats is not None:
            for category, n in record["cleaning"]["removed"].items():
                stats.inc_value(f"newscrawl/cruft/{category}", n)
        return record
