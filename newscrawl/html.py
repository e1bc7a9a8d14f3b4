"""One way to parse a page, shared by the spider (article gate, links) and the stages."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, encoding="utf-8")
# Every element an lxml.html HtmlElement (trafilatura requires one), chosen in C: lxml.html's
# own lookup calls Python for each element object made (thousands a page, in every walk
# of the tree) to find the few tags with classes of their own (forms, inputs, labels),
# whose extras nothing here uses.
_PARSER.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity))


# C0 control characters other than tab and line breaks, and DEL: nothing a page shows.
# lxml's HTML parser keeps them in text, and then refuses to set any text that holds one
# (every edit of such a tree, say unwrapping an element, would raise).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_html(html: str) -> lxml.html.HtmlElement:
    # Bytes with an explicit encoding: lxml refuses str input that carries an XML
    # declaration, and would otherwise guess latin-1 for bytes.
    parser = _PARSER
    if CONTROL_CHARS.search(html):
        html = CONTROL_CHARS.sub("", html)
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except lxml.etree.ParserError:  # nothing but whitespace or comments: an empty page,
        # which validation rejects (counted) for its empty text
        return lxml.html.document_fromstring(b"<html><body></body></html>", parser=parser)
