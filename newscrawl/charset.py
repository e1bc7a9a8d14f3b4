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
  instead of U+FFFD replacement characters landing in the text.

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


def page_encoding(content_type: str | None, body: bytes) -> tuple[str | None, str]:
    """(encoding to decode with instead of Scrapy's choice, or None; why, a stats key)."""
    if read_bom(body)[0]:
        return None, "bom"
    header = _norm(http_content_type_encoding(content_type or ""))
    declared = _norm(html_body_declared_encoding(body[:HEAD_SIZE]))
    if header and declared and header != declared:
        if decodes(body, declared) and (header in SERVER_DEFAULTS or not decodes(body, header)):
            return declared, "header-contradicted"
        return None, "conflict-kept-header"
    chosen = header or declared
    if chosen:
        if chosen == UTF8 and not decodes(body, UTF8):
            return UTF8, "invalid-utf8"
        return None, "declared"
    if decodes(body, UTF8):
        return None, "undeclared-utf8"
    # The HTML standard's fallback for an undeclared legacy page.
    return "cp1252", "undeclared-cp1252"


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """A page's text by the crawl's rules (see the module docstring)."""
    encoding, reason = page_encoding(content_type, body)
    if reason == "invalid-utf8":
        return repair_utf8(body).decode(UTF8)
    if encoding:
        return html_to_unicode(f"charset={encoding}", body)[1]
    return html_to_unicode(content_type, body)[1]
