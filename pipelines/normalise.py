"""Normalise stage: clean text, ISO 8601 metadata, authors, language, canonical URL,
and the computed fields (schema_version, id, word_count, content_hash).

Everything here is a pure function of the record and the outlet (`normalise_stage`), run
in the worker pool; `NormalisePipeline` only adds logging and stats.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import warnings
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from newscrawl import __version__ as PIPELINE_VERSION
from newscrawl import clock
from newscrawl.outlets import Outlet
from newscrawl.urls import canonicalize_url
from pipelines.words import tokens
from pipelines.work import WORK, Work

# ftfy, dateutil and lingua are imported where they are used, not here: the crawl process
# imports this module for NormalisePipeline (and the dedupe stage for the shingle hashes)
# alone, and normalisation runs in the workers, whose fork server imports them once
# (warm_up, called by pipelines/pool_warmup.py).

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# ---------------------------------------------------------------------------------------
# Text

# Removed outright: zero-width space, word joiner, BOM, soft hyphen, Mongolian vowel
# separator, invisible operators, and every bidi embedding/override/isolate/mark. The
# zero-width (non-)joiners U+200C/U+200D are kept: Persian, Urdu, Hindi and Bengali
# spelling depends on them, and so do emoji sequences.
_INVISIBLE = (
    "\u200b\u2060\ufeff\u00ad\u180e\u2061\u2062\u2063\u2064"
    "\u200e\u200f\u061c"  # LRM, RLM, ALM
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
_INVISIBLE_TABLE = {ord(c): None for c in _INVISIBLE}
# Control characters (Cc) other than tab and newline, which are handled as whitespace.
_INVISIBLE_TABLE.update({c: None for c in range(0x20) if chr(c) not in "\t\n\r"})
_INVISIBLE_TABLE.update({c: None for c in range(0x7F, 0xA0)})
_INVISIBLE_TABLE.update({0x2028: "\n", 0x2029: "\n\n", 0x0B: "\n", 0x0C: "\n\n"})
_INVISIBLE_RE = re.compile("[" + "".join(f"\\U{code:08x}" for code in _INVISIBLE_TABLE) + "]")


def _remove_invisibles(text: str) -> str:
    # str.translate looks every character up in the table (0.3 ms for an article), and
    # most texts have nothing to remove: one regex scan says whether to.
    return text.translate(_INVISIBLE_TABLE) if _INVISIBLE_RE.search(text) else text


_BLANKS_RE = re.compile(r"\n\s*\n")


# What ftfy would change in a text that is_bad() finds clean: ligatures, terminal escapes,
# lone surrogates, C1 controls (the other invisibles are handled below)...
_FTFY_NEEDED_RE = re.compile("[\ufb00-\ufb06\x1b\ud800-\udfff\x80-\x9f]")


# ...and HTML entities, in a text with an "&". There ftfy's first pass could also
# change the line breaks, control characters and ligatures it replaces.
@lru_cache(maxsize=1)
def _ftfy_first_pass_re() -> re.Pattern:
    import ftfy.chardata

    return re.compile(ftfy.chardata.HTML_ENTITY_RE.pattern + "|[\r\u2028\u2029\x85" + "".join(
        f"\\U{code:08x}" for code in (*ftfy.chardata.CONTROL_CHARS, *ftfy.chardata.LIGATURES)) + "]")


# ftfy's badness test is one regex of some forty alternatives, none with a literal first
# character, so Python's regex engine tries every alternative at every position (about
# 1 ms for an article). Each alternative needs at least one of these characters, and no
# match is longer than seven characters: searching six characters either side of each
# such character gives is_bad's answer. Which characters: ftfy's categories of letters
# and signs that are rare in clean text, plus those its few literal patterns need
# (tests/test_normalise.py checks that every alternative needs one of them).
_MOJIBAKE_MAX_LEN = 7


@lru_cache(maxsize=1)
def _mojibake_mark_re() -> re.Pattern:
    import ftfy.badness

    return re.compile("[" + "".join(ftfy.badness.MOJIBAKE_CATEGORIES[name] for name in (
        "c1", "bad", "law", "currency", "numeric", "upper_accented", "lower_accented", "box",
    )) + "Ù‚ЂВГРСΒΓΞΟ]")


def _looks_like_mojibake(text: str) -> bool:
    """ftfy.badness.is_bad(text), searched only around the characters it needs."""
    from ftfy.badness import BADNESS_RE

    reach = _MOJIBAKE_MAX_LEN - 1
    return any(BADNESS_RE.search(text, max(0, mark.start() - reach), mark.end() + reach)
               for mark in _mojibake_mark_re().finditer(text))


def _needs_ftfy(text: str) -> bool:
    """Whether the text goes to ftfy: it has mojibake, or something else ftfy fixes."""
    if _FTFY_NEEDED_RE.search(text) or _looks_like_mojibake(text):
        return True
    # An "&" may begin an HTML entity. ftfy repeats its fixes until a pass changes nothing:
    # when the first pass has nothing to change (no entity, nothing else it replaces,
    # already NFC), ftfy returns the text as it is.
    return "&" in text and (_ftfy_first_pass_re().search(text) is not None
                            or not unicodedata.is_normalized("NFC", text))


def _fix_text(text: str) -> str:
    # ftfy examines a text line by line (about 2 ms for an article); a clean text is the
    # common case, and one that ftfy would leave as NFC leaves it.
    if not _needs_ftfy(text):
        return unicodedata.normalize("NFC", text)
    import ftfy

    # uncurl_quotes and fix_character_width off: curly quotes and full-width CJK
    # punctuation are the author's, not encoding damage.
    return ftfy.fix_text(
        text,
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=True,
        normalization="NFC",
    )


def warm_up() -> None:
    """Imports the libraries normalisation uses and builds the patterns made from ftfy's
    data: what the worker pool's fork server does once for all its workers. (Each worker
    builds its own language detector: pipelines/pool_warmup.py says why.)"""
    import dateutil.parser  # noqa: F401
    import ftfy  # noqa: F401

    _ftfy_first_pass_re()
    _mojibake_mark_re()


def normalise_inline(text: str | None) -> str:
    """A one-line field (title, author, section): fixed, invisibles removed, one line."""
    if not text:
        return ""
    text = _remove_invisibles(_fix_text(str(text)))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def normalise_text(text: str | None) -> str:
    """Article body: mojibake repaired, NFC, invisible and control characters removed,
    runs of spaces collapsed, lines trimmed, paragraphs separated by exactly one blank
    line. A single newline inside a paragraph (a line break in verse or an address) is kept."""
    if not text:
        return ""
    # Paragraph separators first: ftfy would make them single line breaks.
    text = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n\n")
    text = _remove_invisibles(_fix_text(text))
    paragraphs = []
    for para in _BLANKS_RE.split(text):
        # runs of whitespace (NBSP and thin spaces too) made one space, the ends trimmed
        lines = [" ".join(line.split()) for line in para.split("\n")]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return unicodedata.normalize("NFC", "\n\n".join(paragraphs))


SHINGLE_WORDS = 5  # near-duplicate shingles: runs of this many words


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    return word_shingles(tokens(text), size)


def word_shingles(words: list[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """The distinct runs of `size` consecutive words, UTF-8; the whole text when shorter."""
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else set()
    # zip of the list and its shifted copies: each run of `size` consecutive words
    return {" ".join(run).encode("utf-8") for run in zip(*(words[i:] for i in range(size)))}


def shingle_hashes(text: str) -> bytes:
    """The 32-bit hashes of the text's distinct word shingles (datasketch's sha1_hash32:
    the first four bytes of SHA-1, little-endian), packed as uint32. Computed with the
    normalised text, in a worker; the crawl process only applies the MinHash permutations
    (pipelines.minhash.signature), so workers need not load numpy."""
    return hash_shingles(shingles(text))


def hash_shingles(shingle_set: set[bytes]) -> bytes:
    """shingle_hashes of a text, from its shingles."""
    return b"".join(hashlib.sha1(s).digest()[:4] for s in sorted(shingle_set))


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_id(canonical_url: str) -> str:
    """Stable id: the first 128 bits of SHA-256 of the canonical URL, hex."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------------------------
# URLs

def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            return host[len(prefix):]
    return host


def choose_canonical_url(url: str, declared: str | None, outlet: Outlet) -> tuple[str, str | None]:
    """The page's declared canonical URL when it is on the same site as the fetched URL and
    is not the home page standing in for an article (a common CMS fault); otherwise the
    fetched URL. Returns (canonical URL, warning or None)."""
    warning = None
    if declared and isinstance(declared, str):
        candidate = urljoin(url, declared.strip())
        parts = urlsplit(candidate)
        same_site = _bare_host(candidate) == _bare_host(url) or (outlet.owns(candidate) and outlet.owns(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            warning = f"canonical URL ignored (not http(s)): {declared!r}"
        elif not same_site:
            warning = f"canonical URL ignored (other site): {declared!r}"
        elif parts.path in ("", "/") and urlsplit(url).path not in ("", "/"):
            warning = f"canonical URL ignored (home page): {declared!r}"
        else:
            return canonicalize_url(candidate), None
    return canonicalize_url(url), warning


# ---------------------------------------------------------------------------------------
# Dates

EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=timezone.utc)
# A published date a little ahead of the fetch time is clock skew or a time zone slip;
# further ahead it is wrong (placeholder dates such as 2099-12-31, event dates).
FUTURE_TOLERANCE = timedelta(days=2)
LATEST_DATE = datetime.max.replace(tzinfo=timezone.utc) - FUTURE_TOLERANCE  # `now` that drops no date


# The forms most pages use: date, or date and time to the second with a fraction and an
# offset. Python's own parser reads them as dateutil's isoparse does, some fifty times
# faster; anything else, or anything it refuses, goes to dateutil.
_PLAIN_ISO_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                           r"(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?")


def _parse_date_text(text: str) -> datetime:
    if _PLAIN_ISO_RE.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    from dateutil import parser as date_parser

    with warnings.catch_warnings():
        # An unknown zone name ("IST" is three different zones) leaves the time
        # naive, which is then read in the outlet's zone: the best guess there is.
        warnings.simplefilter("ignore")
        try:
            return date_parser.isoparse(text)
        except (ValueError, OverflowError):
            return date_parser.parse(text)


def parse_datetime(value, tz: str, *, now: datetime | None = None) -> tuple[str | None, str | None]:
    """ISO 8601 with offset, seconds precision. A naive time is read in the outlet time
    zone `tz`; a date alone is midnight there. Values before 1990 or more than two days
    after `now` are dropped. Returns (iso or None, warning or None)."""
    if value is None or value == "":
        return None, None
    zone = ZoneInfo(tz)
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            dt = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, timezone.utc)
        else:
            dt = _parse_date_text(str(value).strip())
    except (ValueError, OverflowError, TypeError) as exc:  # dateutil's ParserError is a ValueError
        return None, f"unparseable date {value!r}: {exc}"
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=zone)
    dt = dt.replace(microsecond=0)
    now = now or clock.now()
    if dt < EARLIEST_DATE:
        return None, f"date before 1990 dropped: {value!r}"
    if dt > now + FUTURE_TOLERANCE:
        return None, f"date in the future dropped: {value!r}"
    return dt.isoformat(), None


def to_utc_iso(value) -> str:
    """fetched_at as ISO 8601 UTC; now when missing or unreadable. It is the crawl's own
    clock reading (newscrawl/clock.py), not a page's claim, so it is never dropped as a
    date in the future: this worker's clock is not the one that took it."""
    iso, _ = parse_datetime(value, "UTC", now=LATEST_DATE)
    dt = datetime.fromisoformat(iso) if iso else clock.now().replace(microsecond=0)
    return dt.astimezone(timezone.utc).isoformat()


# ---------------------------------------------------------------------------------------
# Authors

# Wire agencies: kept as their own entry, spelled one way.
AGENCIES = {
    name.lower(): name
    for name in (
        "AFP", "AP", "ANI", "APP", "PTI", "IANS", "UNI", "Reuters", "Xinhua", "Bloomberg",
        "Associated Press", "Agence France-Presse", "Press Trust of India", "Anadolu",
        "dpa", "EFE", "Kyodo", "Yonhap", "Bernama", "NNI", "INP", "BSS", "UNB",
    )
}
# Bylines that name a role, not a person.
_ROLE_RE = re.compile(
    r"^(?:(?:our|a|from\s+our|special|staff|senior|city|political|court|sports|business|"
    r"diplomatic|foreign|correspondent|news|web|online|digital|editorial|desk)\s*)+"
    r"(?:reporter|correspondent|desk|team|staff|writer|bureau|editor|report)s?$|^(?:staff|admin|"
    r"editor|editorial|desk|correspondent|reporter|newsroom|news\s*desk|web\s*desk|agencies|agency|monitoring\s+desk)$",
    re.I,
)
_BY_RE = re.compile(r"^\s*(?:(?:(?:written|reported|posted|compiled|edited)\s+)?by|autor|autorin|author)\s*[:\-]?\s+",
                    re.I)
_EMAIL_RE = re.compile(r"\S+@\S+\.\w+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)
# "and" in the languages of bylines: "Trine Jørgensen og Tôrtia Reimer", "Ana Ruiz y Luis Gil".
# The short ones in lower case only: "John E Smith" has an initial.
_AND_WORDS = r"(?i:and|with|und)|og|och|et|en|y|e|i"
_SPLIT_RE = re.compile(rf"\s*(?:,|;|\||/|&|\s(?:{_AND_WORDS})\s)\s*")
# Bracketed initials or handles after a name ("Elena Oberholzer (obe)", "Jo Roe [@jroe]"), a
# bracket left open where the byline was cut, and a stray closing one.
_BRACKETED_RE = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\]|[(\[][^)\]]*$|[)\]])")
# Not a person: a URL slug ("sophie-foster"), a handle ("@jroe"), a role word after a
# Korean name ("신현주 기자": reporter).
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")
_ROLE_SUFFIX_RE = re.compile(r"\s+(?:기자|특파원|논설위원)$")
# "Last, First": one word either side of a single comma, as library catalogues and
# Dublin Core write a person.
_LAST_FIRST_RE = re.compile(r"^\s*([^\W\d_][\w'’.-]*),\s*([^\W\d_][\w'’.-]*)\s*$")
_MAX_AUTHOR_WORDS = 6


def _author_display(name: str) -> str:
    if name.isupper() and " " in name:
        return name.title()  # "JOHN SMITH" -> "John Smith"; agencies stay as spelled
    return name


def person_name_order(name: str) -> str:
    """"You, Xiaoying" -> "Xiaoying You": a single comma with one word either side is one
    person written last name first; two agencies ("AP, Reuters") or a wire and a place
    ("AFP, MANILA") stay as they are."""
    m = _LAST_FIRST_RE.match(name)
    if not m:
        return name
    last, first = m.groups()
    if any(part.lower() in AGENCIES or (part.isupper() and len(part) > 1) for part in (last, first)):
        return name
    return f"{first} {last}"


def not_a_person(piece: str) -> bool:
    """A URL slug or a handle rather than a name."""
    return bool(_SLUG_RE.match(piece)) or piece.startswith("@")


def clean_authors(raw) -> list[str]:
    """A clean list of author names from raw byline strings: "By" and e-mail addresses,
    URLs, URL slugs and bracketed initials or handles removed; "Last, First" made "First
    Last"; split at "and" (in several languages), commas, "&", ";", "|"; role bylines ("Staff
    Reporter", "Web Desk") dropped together with the dateline that follows them; wire
    agencies kept as entries of their own; duplicates removed, order kept."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    out: list[str] = []
    seen: set[str] = set()
    for entry in raw:
        if isinstance(entry, dict):  # JSON-LD Person objects that slipped through
            entry = entry.get("name") or ""
        text = normalise_inline(entry)
        text = _URL_RE.sub(" ", _EMAIL_RE.sub(" ", text))
        text = person_name_order(_BRACKETED_RE.sub("", _BY_RE.sub("", text)))
        after_role = False
        for piece in _SPLIT_RE.split(text):
            piece = _ROLE_SUFFIX_RE.sub("", _BY_RE.sub("", piece).strip(" .:-–—()[]\"'"))
            if not piece or not any(ch.isalpha() for ch in piece) or not_a_person(piece):
                continue
            agency = AGENCIES.get(piece.lower())
            if agency:
                name = agency
            elif _ROLE_RE.match(piece):
                after_role = True  # "Staff Reporter, Karachi": the rest is a dateline
                continue
            elif after_role or len(piece.split()) > _MAX_AUTHOR_WORDS:
                continue
            else:
                name = _author_display(piece)
            if name.lower() not in seen:
                seen.add(name.lower())
                out.append(name)
    return out


# ---------------------------------------------------------------------------------------
# Language

_BCP47_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$", re.I)


def normalise_language_tag(tag) -> str | None:
    """A page-declared language as BCP 47: the primary language subtag, lower-case, plus a
    script subtag when one is given ("zh-Hant"). The region is dropped: CMS templates
    declare "en-US" on sites in every country, so it says little; the primary subtag is
    what consumers filter on."""
    if not tag or not isinstance(tag, str):
        return None
    tag = tag.strip().split(",")[0].split(";")[0].strip().replace("_", "-")
    if not _BCP47_RE.match(tag):
        return None
    subtags = tag.split("-")
    primary = subtags[0].lower()
    script = next((s.title() for s in subtags[1:] if len(s) == 4 and s.isalpha()), None)
    return f"{primary}-{script}" if script else primary


# Languages the detector chooses among: the languages of the outlets we know of and
# their neighbours that share a script (Urdu/Arabic/Persian; Hindi/Marathi).
DETECTION_LANGUAGES = (
    "ENGLISH", "URDU", "ARABIC", "PERSIAN", "HINDI", "MARATHI", "BENGALI", "PUNJABI",
    "GUJARATI", "TAMIL", "TELUGU", "CHINESE", "JAPANESE", "KOREAN", "FRENCH", "SPANISH",
    "GERMAN", "PORTUGUESE", "RUSSIAN", "INDONESIAN", "MALAY", "TURKISH",
)


@lru_cache(maxsize=1)
def language_detector():
    """Built once per process. Low-accuracy mode (trigram models only) takes ~40 MB where
    the full models take ~330 MB per process; it loses accuracy only on texts of a few
    words, and we detect on article bodies, where it agrees with the full models."""
    from lingua import Language, LanguageDetectorBuilder

    langs = [getattr(Language, name) for name in DETECTION_LANGUAGES]
    return (LanguageDetectorBuilder.from_languages(*langs)
            .with_low_accuracy_mode().with_preloaded_language_models().build())


# Nepali is written in Devanagari like Hindi and Marathi, and the detector has no Nepali
# model. Function words tell them apart: these are frequent in one language and rare or
# absent in the other two.
_DEVANAGARI_MARKERS = {
    "ne": {"छ", "छन्", "हो", "भएको", "गरेको", "लागि", "र", "मा", "बाट", "लाई", "पनि", "थियो",
           "हुन्छ", "भने", "गर्न", "रहेको", "तथा", "छैन", "उनले", "गरे"},
    "hi": {"है", "हैं", "में", "के", "की", "से", "और", "का", "नहीं", "था", "थे", "गया", "लिए",
           "कहा", "भी", "यह", "किया", "पर"},
    "mr": {"आहे", "आहेत", "आणि", "मध्ये", "नाही", "होते", "केले", "झाले", "हे", "या", "त्यांनी",
           "करण्यात", "असे", "तसेच", "पण", "होता"},
}
_DEVANAGARI_RE = re.compile(r"[\u0900-\u097f]")
_MIN_DETECT_LETTERS = 20


def _devanagari_language(text: str) -> str | None:
    words = [w.strip("।,.!?\"'()") for w in text.split()]
    scores = {lang: sum(w in markers for w in words) for lang, markers in _DEVANAGARI_MARKERS.items()}
    best = max(scores, key=scores.get)
    ranked = sorted(scores.values(), reverse=True)
    return best if ranked[0] >= 3 and ranked[0] >= 2 * ranked[1] else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when the text is too short to say."""
    sample = text[:3000]
    if sum(ch.isalpha() for ch in sample) < _MIN_DETECT_LETTERS:
        return None
    if len(_DEVANAGARI_RE.findall(sample)) > len(sample) / 3:
        found = _devanagari_language(sample)
        if found:
            return found
    language = language_detector().detect_language_of(sample)
    return language.iso_code_639_1.name.lower() if language else None


_LATIN_LANGS = {"en", "fr", "es", "de", "pt", "id", "ms", "tr", "it", "nl", "sw"}


_NON_LATIN_RE = re.compile("[^\x00-\u024f]")  # characters beyond Latin Extended-B


def _mostly_non_latin(text: str) -> bool:
    """Whether the text's first 3000 characters hold 200 letters or more, mostly not Latin."""
    sample = text[:3000]
    non_latin = "".join(_NON_LATIN_RE.findall(sample))
    if len(non_latin) <= 100:  # too few for a majority of 200 letters or more: a Latin text
        return False
    letters = sum(map(str.isalpha, sample))
    return letters >= 200 and sum(map(str.isalpha, non_latin)) > letters / 2


def choose_language(declared, text: str) -> tuple[str | None, str | None]:
    """The page's declared language when it is plausible, else the detected one.
    A Latin-script language declared over a text mostly in another script is a template
    default and is overridden. Returns (language, warning or None)."""
    tag = normalise_language_tag(declared)
    if tag and not (tag.split("-")[0] in _LATIN_LANGS and _mostly_non_latin(text)):
        return tag, None
    detected = detect_language(text)
    if tag and detected:
        return detected, f"declared language {declared!r} overridden by detected {detected!r}"
    return detected or tag, None


# ---------------------------------------------------------------------------------------
# The record

LIST_FIELDS = ("authors", "tags")
STRING_FIELDS = ("title", "description", "site_name", "section")
URL_FIELDS = ("image", "discovered_from")


def _clean_http_url(value, base: str) -> str | None:
    if not value or not isinstance(value, str):
        return None
    absolute = urljoin(base, value.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def normalise_record(record: dict, outlet: Outlet, *,
                     with_shingle_hashes: bool = False) -> tuple[dict, list[str]]:
    """The record with normalised text and metadata and the computed fields, and the
    warnings raised on the way (dropped dates, ignored canonical links...). With
    `with_shingle_hashes`, also the text's shingle_hashes for the dedupe stage (in
    record[WORK]), from the same words as word_count."""
    rec = dict(record)
    warns: list[str] = []
    url = str(rec.get("url") or "")
    rec["url"] = url

    rec["text"] = normalise_text(rec.get("text"))
    for key in STRING_FIELDS:
        rec[key] = normalise_inline(rec.get(key)) or None
    rec["authors"] = clean_authors(rec.get("authors"))
    tags = rec.get("tags") or []
    tags = [tags] if isinstance(tags, str) else tags
    rec["tags"] = list(dict.fromkeys(t for t in (normalise_inline(x) for x in tags) if t))
    for key in URL_FIELDS:
        rec[key] = _clean_http_url(rec.get(key), url)

    rec["fetched_at"] = to_utc_iso(rec.get("fetched_at"))
    now = datetime.fromisoformat(rec["fetched_at"])
    for key in ("published_at", "modified_at"):
        rec[key], warning = parse_datetime(rec.get(key), outlet.timezone, now=now)
        if warning:
            warns.append(f"{key}: {warning}")

    rec["language"], warning = choose_language(rec.get("language"), rec["text"])
    if warning:
        warns.append(f"language: {warning}")

    rec["canonical_url"], warning = choose_canonical_url(url, rec.get("canonical_url"), outlet)
    if warning:
        warns.append(warning)

    if not isinstance(rec.get("paywalled"), bool):
        rec["paywalled"] = None
    cleaning = rec.get("cleaning") if isinstance(rec.get("cleaning"), dict) else {}
    rec["cleaning"] = {
        "removed": {str(k): int(v) for k, v in (cleaning.get("removed") or {}).items()},
        "extractor": str(cleaning.get("extractor") or "unknown"),
        "pipeline_version": PIPELINE_VERSION,
    }
    if isinstance(cleaning.get("removed_text"), list):
        rec["cleaning"]["removed_text"] = cleaning["removed_text"]
    rec.setdefault("outlet", outlet.name)
    rec.setdefault("discovered_via", None)
    rec.setdefault("discovered_from", None)
    rec.setdefault("http_status", None)
    rec.setdefault("revision", 1)
    rec["duplicate_of"] = rec.get("duplicate_of")
    rec["schema_version"] = SCHEMA_VERSION
    rec["id"] = record_id(rec["canonical_url"])
    words = tokens(rec["text"])
    rec["word_count"] = len(words)
    rec["content_hash"] = content_hash(rec["text"])
    if with_shingle_hashes:
        rec[WORK] = replace(rec.get(WORK) or Work(), shingle_hashes=hash_shingles(word_shingles(words)))
    return rec, warns


def normalise_stage(record: dict, outlet: Outlet) -> tuple[dict, list[str]]:
    """The normalise stage, as a pure function (run in a worker): `normalise_record`, with
    the shingle hashes the dedupe stage turns into a MinHash signature."""
    return normalise_record(record, outlet, with_shingle_hashes=True)


def warning_kind(warning: str) -> str:
    """A short stats key for a warning: "published_at: date in the future..." -> published_at."""
    head = warning.split(":", 1)[0] if ":" in warning[:20] else warning.split("(")[0]
    return re.sub(r"[^a-z0-9_]+", "_", head.strip().lower()).strip("_") or "other"


class NormalisePipeline:
    """The normalise stage's adapter: `normalise_stage` in the worker pool (through
    pipelines/runner.py); its warnings logged and counted (newscrawl/warnings/<kind>)."""

    def __init__(self, crawler):
        from pipelines.runner import runner_for

        self.crawler = crawler
        self.stats = crawler.stats
        self.runner = runner_for(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item):
        record, warns = await self.runner.run(normalise_stage, dict(item), self.crawler.spider.outlet)
        for warning in warns:
            logger.warning("%s: %s", record.get("url"), warning)
            self.stats.inc_value(f"newscrawl/warnings/{warning_kind(warning)}")
        self.stats.inc_value("newscrawl/normalised")
        return record
