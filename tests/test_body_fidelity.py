"""Body text fidelity: inline text joined as a browser renders it, bodies never cut short,
and every word of a record one the page shows (tests/page_words.py)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from pipelines.cruft_rules import blocks_to_text
from pipelines.extract import extract_article
from pipelines.work import WORK
from tests.needs import missing
from tests.page_words import foreign_words

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FOLDERS = [Path(os.environ.get("AEB_DEV") or DATA / "aeb-dev"), Path(os.environ.get("FUNDUS_DEV") or DATA / "fundus-dev")]

STORY = [
    "The regional council met on Tuesday evening to debate the long-delayed plan for the harbour district, "
    "which has divided residents for more than a decade and cost two mayors their seats.",
    "Supporters say the new quay, the housing blocks and the tram extension will bring jobs and young families "
    "back to a part of the city that lost most of its industry in the nineteen-eighties.",
    "Opponents, led by a coalition of fishermen and small shop owners, argue that the rents will rise beyond "
    "what the people who live there now can pay, and that the tram will serve tourists first.",
    "The vote was postponed twice last year after the environmental agency asked for a new study of the tides, "
    "which found that the sea wall would need to be raised by almost a metre before any building starts.",
    "Council members from both sides said after the meeting that they expected a final decision before the "
    "summer recess, although several warned that the budget could still change the shape of the project.",
    "The mayor told reporters that the city had learned from the mistakes of the past and would publish every "
    "contract online, a promise her predecessor made as well before the last tender collapsed in court.",
    "Residents who attended the meeting were given two minutes each to speak, and more than forty of them did, "
    "so that the session ran well past midnight and the final speakers addressed a half-empty chamber.",
    "A spokesman for the fishermen said they would go to court if the plan passed without changes to the access "
    "roads, which they need at four in the morning when the boats come in with the night's catch.",
]


def page(body: str, head: str = "") -> str:
    return (f"<html><head><title>Harbour plan</title>{head}</head><body><header><nav><a href='/'>Home</a>"
            f"<a href='/news'>News</a></nav></header><main><article><h1>Harbour plan divides the council</h1>"
            f"{body}</article></main><footer><p>Copyright the Harbour Gazette</p></footer></body></html>")


def body_text(html: str) -> str:
    return blocks_to_text(extract_article(html, "http://127.0.0.1/news/harbour")[WORK].blocks)


@pytest.mark.parametrize("inline, rendered", [
    ('changes i<a href="/x">n</a> their', "changes in their"),
    ('spoke priva<a href="/y">t</a>ely to', "spoke privately to"),
    ("the King's <a href=\"/z\">Speech</a>, which", "the King's Speech, which"),
    ('die Bundes<a href="/r">regierung</a>s­sprecherin sagte', "die Bundes\u00adregierungs\u00adsprecherin sagte"),
    ('sagte er: „<a href="/q">Wir bleiben</a>“, und ging', "sagte er: „Wir bleiben“, und ging"),
    ('気象庁<a href="/j">は</a>13日、発表しました', "気象庁は13日、発表しました"),
    ('a <b>bold</b>er claim and <span>spa</span>ns', "a bolder claim and spans"),
])
def test_inline_elements_inside_words_and_before_punctuation_join_as_rendered(inline, rendered):
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY[:3]) + f"<p>In the debate, {inline} the end.</p>" + \
        "".join(f"<p>{p}</p>" for p in STORY[3:])
    text = body_text(page(paragraphs))
    assert rendered.replace("\u00ad", "") in text.replace("\u00ad", "")


def test_a_link_in_br_separated_text_keeps_the_spaces_around_it():
    # trafilatura reads a link in <br>-separated text as a node of its own and trims the
    # text beside it: the spaces must survive.
    lines = "<br><br>".join(STORY[:4]) + '<br><br>Just months after the last model, the <a href="/p">Pro</a> was ' \
        "released, and the makers said the new <a href=\"/k\">keyboard</a> is quieter.<br><br>" + "<br><br>".join(STORY[4:])
    text = body_text(page(f"<div class='story'>{lines}</div>"))
    assert "the Pro was released" in text
    assert "new keyboard is quieter" in text


def test_a_block_inside_a_link_is_set_apart_from_the_text_after_it():
    related = ('<a href="/other"><article><p>How the tram plan changed the old town</p></article></a>'
               "The harbour is not the only district where the council has faced protests this year.")
    text = body_text(page("".join(f"<p>{p}</p>" for p in STORY[:4]) + f"<div>{related}</div>"
                          + "".join(f"<p>{p}</p>" for p in STORY[4:])))
    assert "old townThe" not in text


def test_a_body_split_by_ad_slots_is_read_from_every_part():
    parts = (f"<div class='article-body rich-text'>{''.join(f'<p>{p}</p>' for p in STORY[:3])}</div>"
             "<div class='ad-slot'><p>Advertisement</p></div>"
             f"<div class='article-body rich-text'>{''.join(f'<p>{p}</p>' for p in STORY[3:6])}</div>"
             "<div class='ad-slot'><p>Advertisement</p></div>"
             f"<div class='article-body rich-text'>{''.join(f'<p>{p}</p>' for p in STORY[6:])}</div>"
             "<aside class='related'><h3>More news</h3><ul><li><a href='/a'>Bridge reopens after repairs</a></li>"
             "<li><a href='/b'>School term dates changed</a></li></ul></aside>")
    text = body_text(page(parts))
    positions = [text.find(p[:60]) for p in STORY]
    assert -1 not in positions, [p[:40] for p, at in zip(STORY, positions) if at < 0]
    assert positions == sorted(positions)
    assert "Bridge reopens" not in text


@pytest.mark.slow
def test_cleaned_pages_show_every_word_they_keep():
    """Every word of the body that `newscrawl clean` keeps is a word the page shows."""
    from bench.extraction import clean_path

    pages = []
    for name, folder in zip(("aeb-dev", "fundus-dev"), FOLDERS):
        if not (folder / "ground-truth.json").exists():
            missing(name, f"{name} pages not found at {folder}")
        truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id in sorted(truth):
            html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
            pages.append((page_id, truth[page_id].get("url") or "", html))
    made_up = {}
    for page_id, url, html in pages:
        words = foreign_words(clean_path(html, url)["text"] or "", html)
        if words:
            made_up[page_id] = words[:10]
    assert made_up == {}


def test_a_client_rendered_body_is_read_from_the_html_its_script_carries():
    body_html = "".join(f"<p>{p}</p>" for p in STORY) + \
        '<div class="caption"><p>The harbour at dawn, seen from the old lighthouse. Photo agency</p></div>'
    state = json.dumps({"article": {"title": "Harbour plan", "contentHtml": body_html}})
    html = ("<html><head><title>Harbour plan</title><meta property='og:type' content='article'></head><body>"
            "<div id='root'></div><script id='__NEXT_DATA__' type='application/json'>" + state
            + "</script></body></html>")
    text = body_text(html)
    assert [p[:50] for p in text.split("\n\n")] == [p[:50] for p in STORY]
    assert foreign_words(text, html) == []


def test_paragraphs_run_together_by_the_extractor_come_out_apart():
    rest = "".join(f"<p>{p}</p>" for p in STORY[2:])
    html = page("".join(f"<p>{p}</p>" for p in STORY[:2]) + '<a class="more" href="#rest">Continue reading</a>'
                f'<div class="continuation" id="rest" style="display:none">{rest}</div>')
    paragraphs = body_text(html).split("\n\n")
    for p in STORY:
        assert p in paragraphs
