"""Which encoding a fetched page is really in, when what it says is wrong.

Scrapy decodes a response the way a browser does: a byte-order mark, then the charset of
the Content-Type header, then the page's own <meta> declaration, then a guess. Two
mistakes of real servers get past those rules and would put mis-decoded text in a record:

- a server-wide default charset in the header (ISO-8859-1, windows-1252, ASCII, or
  UTF-8) that contradicts the page's own declaration: the page is right when its bytes
  decode cleanly in what it declares and not in what the header says (or the header
  names a Latin default, which decodes any bytes and so proves nothing);
- a UTF-8 page with a few stray bytes (windows-1252 quotes pasted into a template):
  those bytes are read as windows-1252, and bytes no encoding can explain are dropped,
  instead of U+FFFD replacement characters landing in the text;
- a page that declares nothing, or whose declaration is doubtful: a Latin server default
  (ISO-8859-1, windows-1252) over bytes that are UTF-8, or over bytes that read as another
  script (windows-1251, windows-1256, Shift_JIS...), or a declared charset the bytes do
  not decode in. Valid UTF-8 is UTF-8; otherwise bs4's UnicodeDammit, with
  charset-normalizer as its detector, names the encoding. Detection costs CPU, so it runs
  only on those doubtful pages, and only where the bytes show another script: most bytes
  above 0x7F in runs, as letters of a non-Latin script are, rather than alone between
  ASCII letters, as Western European accents are (those stay windows-1252, the HTML
  standard's fallback).

`page_encoding` gives the override for a response (None: Scrapy's rules are right);
`decode_html` applies the same rules to a saved page, so `newscrawl clean` reads bytes
exactly as the crawl does.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

# Charsets a server says by default, without knowing the page: decoding as one of these
# never fails, so it is no evidence that the header is right.
SERVER_DEFAULTS = frozenset({"cp1252", "latin_1", "iso8859_1", "ascii"})
UTF8 = "utf-8"
HEAD_SIZE = 4096
# Single-byte encodings of Latin-script languages: a detector's pick among these over a
# page that reads as windows-1252 is a guess between neighbours, not evidence.
LATIN_FAMILY = frozenset({"cp1252", "cp1250", "cp1254", "cp1257", "iso8859-1", "iso8859-2", "iso8859-3",
                          "iso8859-4", "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15",
                          "iso8859-16", "mac-roman", "mac-latin2", "cp850", "cp437", "ascii"})
# Evidence of another script: this many bytes above 0x7F, most of them in runs.
MIN_HIGH_BYTES = 16
MIN_RUN_SHARE = 0.6
# A page declared UTF-8 whose invalid sequences outnumber its valid non-ASCII characters
# (and are this many) is in another encoding, not UTF-8 with a few stray bytes.
MIN_INVALID_UTF8 = 8
# Every byte above 0x7F as 0x80 (the others as they are): runs are then counted in C.
_HIGH_MAP = bytes(b if b < 0x80 else 0x80 for b in range(256))


def _norm(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    return codecs.lookup(resolved).name if resolved else None


def decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Error handler: an undecodable byte is read as windows-1252, or dropped when it is
    one of the five bytes windows-1252 leaves undefined."""
    byte = error.object[error.start:error.start + 1]
    try:
        return byte.decode("cp1252"), error.start + 1
    except UnicodeDecodeError:
        return "", error.start + 1


codecs.register_error("newscrawl-cp1252", _cp1252_fallback)


def repair_utf8(body: bytes) -> bytes:
    """UTF-8 bytes with stray non-UTF-8 bytes read as windows-1252; valid input unchanged."""
    return body.decode(UTF8, "newscrawl-cp1252").encode(UTF8)


# How much of a page the script evidence and the detector read: enough to tell its
# encoding, and a bounded cost (in time and memory) on a page of many megabytes.
SAMPLE_BYTES = 256 * 1024


def _sample(body: bytes) -> bytes:
    """The page's first SAMPLE_BYTES, cut after an ASCII byte so that no multi-byte
    character is split (a split one would look like a decoding error)."""
    if len(body) <= SAMPLE_BYTES:
        return body
    head = body[:SAMPLE_BYTES]
    for at in range(len(head) - 1, max(len(head) - 4096, 0), -1):
        if head[at] < 0x80:
            return head[:at + 1]
    return head


def other_script_evidence(body: bytes) -> bool:
    """Bytes that read as a non-Latin script in a single- or double-byte encoding: many
    bytes above 0x7F, most of them next to another. Cheap: three passes in C."""
    marks = _sample(body).translate(_HIGH_MAP)
    high = marks.count(0x80)
    if high < MIN_HIGH_BYTES:
        return False
    # Two bytes per non-overlapping pair: a run of n bytes counts n, or n - 1 when odd.
    in_runs = 2 * marks.count(b"\x80\x80")
    return in_runs >= MIN_RUN_SHARE * high


def _non_ascii_utf8(body: bytes) -> bool:
    """Valid UTF-8 with some non-ASCII text (pure ASCII decodes as anything)."""
    return not body.isascii() and decodes(body, UTF8)


def _mostly_invalid_utf8(body: bytes) -> bool:
    text = _sample(body).decode(UTF8, "replace")
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return invalid >= MIN_INVALID_UTF8 and invalid > non_ascii - invalid


def detect_encoding(body: bytes, exclude: tuple[str, ...] = ()) -> str | None:
    """The encoding bs4's UnicodeDammit (with charset-normalizer) finds for a page that
    decodes in it without loss, never one of `exclude`; None when it finds none."""
    from bs4 import UnicodeDammit

    _use_charset_normalizer()
    dammit = UnicodeDammit(_sample(body), is_html=True, exclude_encodings=list(_aliases(exclude)))
    if dammit.unicode_markup is None or dammit.contains_replacement_characters:
        return None
    found = _norm(dammit.original_encoding)
    return None if found in exclude else found


def _aliases(names: tuple[str, ...]) -> set[str]:
    """The spellings UnicodeDammit may compare an excluded encoding by."""
    out = set()
    for name in names:
        out.add(name)
        out.add(name.replace("cp125", "windows-125"))
        if name == "cp1252":
            out.update({"windows-1252", "iso-8859-1", "latin-1", "latin1", "iso8859-1", "ascii"})
    return out


_DETECTOR_SET = False


def _use_charset_normalizer() -> None:
    """UnicodeDammit asks the first detector it can import: chardet (a dependency of
    readability-lxml) before charset-normalizer. chardet reads windows-1256 Arabic as
    ISO-8859-5 and Urdu as TIS-620; charset-normalizer reads them right."""
    global _DETECTOR_SET
    if not _DETECTOR_SET:
        import bs4.dammit
        import charset_normalizer

        bs4.dammit.chardet_module = charset_normalizer
        _DETECTOR_SET = True


def _other_script(body: bytes, doubted: tuple[str, ...]) -> str | None:
    """For bytes declared (or defaulted) as a Latin encoding, or declared UTF-8 and not
    UTF-8: the encoding of the other script they show, or None when they show none or
    the detector finds only a Latin neighbour."""
    if not other_script_evidence(body):
        return None
    found = detect_encoding(body, exclude=doubted)
    return None if found is None or found in LATIN_FAMILY else found


def page_encoding(content_type: str | None, body: bytes) -> tuple[str | None, str]:
    """(encoding to decode with instead of Scrapy's choice, or None; why, a stats key)."""
    if read_bom(body)[0]:
        return None, "bom"
    header = _norm(http_content_type_encoding(content_type or ""))
    declared = _norm(html_body_declared_encoding(body[:HEAD_SIZE]))
    if header and declared and header != declared:
        if decodes(body, declared) and (header in SERVER_DEFAULTS or not decodes(body, header)):
            return declared, "header-contradicted"
        if header not in SERVER_DEFAULTS and decodes(body, header):
            return None, "conflict-kept-header"
        # Neither holds: a Latin default over bytes the page's own charset cannot decode,
        # or a header the bytes do not decode in.
        found = _doubtful(body, (header, declared), latin=header in SERVER_DEFAULTS)
        return found or (None, "conflict-kept-header")
    chosen = header or declared
    if chosen:
        if chosen == UTF8 and not decodes(body, UTF8):
            if _mostly_invalid_utf8(body) and (found := _other_script(body, (UTF8,))):
                return found, "detected-not-utf8"
            return UTF8, "invalid-utf8"
        if chosen in SERVER_DEFAULTS or not decodes(body, chosen):
            found = _doubtful(body, (chosen,), latin=chosen in SERVER_DEFAULTS)
            if found:
                return found
        return None, "declared"
    if decodes(body, UTF8):
        return None, "undeclared-utf8"
    if found := _other_script(body, ()):
        return found, "detected-undeclared"
    # The HTML standard's fallback for an undeclared legacy page.
    return "cp1252", "undeclared-cp1252"


def _doubtful(body: bytes, doubted: tuple[str, ...], latin: bool) -> tuple[str, str] | None:
    """The encoding for a page whose declaration is doubtful, with why; None to keep it.
    `latin`: the declaration is a Latin server default, which decodes any bytes."""
    if _non_ascii_utf8(body):
        return UTF8, "declared-latin-is-utf8" if latin else "declared-invalid-is-utf8"
    if latin:
        found = _other_script(body, doubted)
        return (found, "detected-under-latin") if found else None
    found = detect_encoding(body, exclude=doubted)
    return (found, "detected-declared-invalid") if found else None


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """A page's text by the crawl's rules (see the module docstring)."""
    encoding, reason = page_encoding(content_type, body)
    if reason == "invalid-utf8":
        return repair_utf8(body).decode(UTF8)
    if encoding:
        return html_to_unicode(f"charset={encoding}", body)[1]
    return html_to_unicode(content_type, body)[1]
