"""One way to parse a page, shared by the spider (article gate, links) and the stages."""

from __future__ import annotations

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


def parse_html(html: str) -> lxml.html.HtmlElement:
    # Bytes with an explicit encoding: lxml refuses str input that carries an XML
    # declaration, and would otherwise guess latin-1 for bytes.
    parser = _PARSER
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except lxml.etree.ParserError:  # nothing but whitespace or comments: an empty page,
        # which validation rejects (counted) for its empty text
        return lxml.html.document_fromstring(b"<html><body></body></html>", parser=parser)
