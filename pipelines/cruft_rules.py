"""The cleaning rules engine: what the decruft stage's rules say, and their text layer.

Generic rules (`pipelines/rules/*.toml`: text patterns by category in English, Urdu,
Hindi and more, with macros for dates and times; link hosts of app stores, social
profiles and share intents) are loaded and compiled once (`load_rules`) and matched on
text folded as `fold` folds it. The text layer (`clean_blocks`) applies them, and an
outlet's own `drop_patterns`, to the blocks the extractor returned: pure functions of
their input, run in the worker pool.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

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
# Own (non-link) characters below which a block of store or social links is just links,
# and up to which such a block that also reads like its links' category is cruft.
LINK_ONLY_OWN_CHARS = 120
LINK_BLOCK_OWN_CHARS = 400
REMOVED = "_removed"  # a removed block's category, set by the layer that removed it
# A paragraph this long counts as real story text; two of them protect their container.
STORY_PARAGRAPH_CHARS = 120
# A block that is nothing but web addresses.
URL_ONLY = re.compile(r"^(?:(?:https?://|www\.)\S+[\s,;|–—-]*)+$", re.I)


# --------------------------------------------------------------------------- text folding

_JOINERS = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Arabic-script letters that Urdu pages write either way; Devanagari nukta (dropped so
# that ज़/ज and ढ़/ढ spellings meet). Replaced with a regex rather than str.translate,
# whose per-character table look-ups are slow on non-ASCII text.
_FOLD_MAP = {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0647": "\u06c1",
             "\u093c": "", "\u2019": "'", "\u2018": "'"}
_FOLD_CHARS = re.compile("[" + "".join(_FOLD_MAP) + "]")
PUNCTUATION = re.compile(r"[^\w\s]")


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


def majority_category(hits: Counter, n_links: int) -> str | None:
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
    return majority_category(hits, len(links))


# --------------------------------------------------------------------------- text layer


def link_density(block: dict) -> float:
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
    if by_link and link_block_is_cruft(text, own_chars, by_link, rules):
        return by_link
    return text_category(text, rules, whole_block=block.get("kind") != "h")


def weak_match(block: dict, category: str, rules: Rules) -> bool:
    """A short block in one of the category's weak phrasings: the evidence a block gives
    by its words when nothing else about it says the same."""
    cat = rules.text.get(category)
    if not cat or cat.weak_re is None:
        return False
    folded = fold(block.get("text", ""))
    return len(folded) <= min(cat.max_chars, WEAK_MAX_CHARS) and bool(cat.weak_re.search(folded))


def link_block_is_cruft(text: str, own_chars: int, category: str, rules: Rules) -> bool:
    """A block whose links go mostly to stores or social profiles is cruft when it has
    next to no text of its own, or a little text that also reads like the category. A
    story paragraph that links the App Store once has plenty of its own words.

    Its links already say what the block is, so a weak phrasing ("download", "app")
    counts up to LINK_BLOCK_OWN_CHARS of its own text, not only in a block as short as
    `weak_match` asks of words alone: a promotion that runs on into a line of other
    boilerplate in the same paragraph (Amar Ujala's app links, then an SEO sentence)
    is still a promotion."""
    if own_chars < LINK_ONLY_OWN_CHARS:
        return True
    if own_chars >= LINK_BLOCK_OWN_CHARS:
        return False
    cat = rules.text.get(category)
    if cat is not None and cat.weak_re is not None and cat.weak_re.search(fold(text)):
        return True
    return text_category(text, rules) == category


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
    return {PUNCTUATION.sub("", fold(a)).strip() for a in authors or () if isinstance(a, str) and a.strip()}


def is_byline(text: str, authors=()) -> bool:
    """True when a short paragraph only credits its authors: a "by" word and names
    (capitalised, or the record's own authors), perhaps with a place after a comma; or
    one of the record's authors alone."""
    text = " ".join(text.split()).strip(" .·|-–—")
    if not text or len(text) > BYLINE_MAX_CHARS or any(c in text for c in "!?;\"“”„«»()"):
        return False
    keys = _author_keys(authors)
    head, _, place = text.partition(",")
    if keys and PUNCTUATION.sub("", fold(head)).strip() in keys and (not place.strip() or _is_name(place.split())):
        return True  # one of the record's authors alone ("Daniel Aragón", "MTHOBISI SITHOLE")
    by = _BY_WORD.match(head)
    if by is None:
        return False
    names = head[by.end():]
    if place.strip() and not _is_name(place.split()):
        return False
    if keys and all(PUNCTUATION.sub("", fold(part)).strip() in keys
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
            while j < n and cats[j] is None and link_density(blocks[j]) >= 0.6 and len(blocks[j]["text"]) <= 250:
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
                if 0 <= j < n and cats[j] and weak_match(blocks[i], cats[j], rules):
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
        key = PUNCTUATION.sub("", fold(title)).strip()
        first = blocks[0]
        if key and PUNCTUATION.sub("", fold(first.get("text", ""))).strip() == key:
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


