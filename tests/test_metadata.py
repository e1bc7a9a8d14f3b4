"""Metadata rules on small pages, through the real extract and normalise stages: the
title is the headline the page shows, the authors are the people the page names."""

from __future__ import annotations

import json

from newscrawl.outlets import generic_outlet
from pipelines.extract import extract_article
from pipelines.normalise import normalise_record
from pipelines.work import WORK

URL = "https://www.example-news.com/politics/story"
STORY = "".join(f"<p>Paragraph {i} of the story, long enough to be read as the article's prose text.</p>"
                for i in range(6))


def record(head: str = "", body: str = "", *, story: str = STORY, url: str = URL) -> dict:
    html = f"<html><head>{head}</head><body>{body}<article>{story}</article></body></html>"
    rec = extract_article(html, url)
    rec.update(url=url, text="\n\n".join(b["text"] for b in rec.pop(WORK).blocks))
    return normalise_record(rec, generic_outlet(url))[0]


def og_title(title: str) -> str:
    return f'<meta property="og:title" content="{title}">'


def ld_article(**fields) -> str:
    return '<script type="application/ld+json">%s</script>' % json.dumps({"@type": "NewsArticle", **fields})


# ---------------------------------------------------------------------------------------
# Title

def test_h1_as_the_last_crumb_of_a_breadcrumb_gives_way_to_the_headline_shown():
    shown = "<header><h2>Six figures that show the size of the firm</h2></header>"
    head = og_title("Six figures that show the size of the firm") + ld_article(headline="How big is the firm?")
    for crumbs in ('<div class="article__header__crumb"><a href="/markets">Markets</a><h1>How big is the firm?</h1></div>',
                   '<div class="trail"><a href="/">Home</a><h1 aria-current="page">How big is the firm?</h1></div>',
                   '<ol><li><a href="/">Home</a></li><li><a href="/markets">Markets</a></li>'
                   '<li><h1>How big is the firm?</h1></li></ol>'):
        assert record(head, crumbs + shown)["title"] == "Six figures that show the size of the firm", crumbs


def test_an_h2_is_the_headline_only_where_a_declared_title_confirms_it():
    head = og_title("The SEO headline") + ld_article(headline="The SEO headline")
    body = '<ol><li><a href="/">Home</a></li><li><h1>The SEO headline</h1></li></ol><h2>Most read</h2>'
    assert record(head, body)["title"] == "The SEO headline"


def test_the_kicker_of_the_headline_shown_is_dropped_as_on_an_h1():
    head = og_title("Why criticism of his character falls flat")
    body = ('<ul><li><a href="/opinion">Opinion</a></li><li><h1>Trump: why criticism falls flat</h1></li></ul>'
            '<h2><span class="title__kicker">Opinion</span>'
            '<span class="title__headline">Why criticism of his character falls flat</span></h2>')
    assert record(head, body)["title"] == "Why criticism of his character falls flat"


def test_a_headline_in_parts_takes_the_separator_of_the_declared_title():
    # The kicker and the headline are two lines on the page; og:title joins them with ": ".
    head = og_title("Technology in class: Children learn faster")
    body = "<h1><span>Technology in class</span> <span>Children learn faster</span></h1>"
    assert record(head, body)["title"] == "Technology in class: Children learn faster"
    # A headline in one piece keeps its own punctuation.
    head = og_title("Children learn - faster")
    assert record(head, "<h1>Children learn: faster</h1>")["title"] == "Children learn: faster"


def test_a_list_item_h1_after_no_links_is_not_a_crumb():
    body = '<ul><li>Live</li><li><h1>Floods close the motorway</h1></li></ul>'
    assert record(og_title("Motorway closed"), body)["title"] == "Floods close the motorway"


# ---------------------------------------------------------------------------------------
# Authors

def test_a_control_styled_as_a_button_is_not_a_byline():
    body = ('<div class="follow"><a class="followAuthorBtn" href="/topics">Edit topics</a></div>'
            '<p class="article-byline">By Jane Roe</p>')
    assert record("", body)["authors"] == ["Jane Roe"]


def test_a_byline_of_one_element_per_author_adds_the_authors_the_metadata_leaves_out():
    head = ld_article(author=[{"@type": "Person", "name": "Marlene Holm"}])
    body = ('<div class="bylines"><div class="byline"><a rel="author" href="/a/it">Ingrid Treborg</a></div>'
            '<div class="byline"><a rel="author" href="/a/mh">Marlene Holm</a></div></div>')
    assert record(head, body)["authors"] == ["Ingrid Treborg", "Marlene Holm"]
    # A byline that names other people only is not read over the declared author.
    body = '<div class="byline"><a rel="author" href="/a/jr">Jane Roe</a> <a rel="author" href="/a/rr">Rick Roe</a></div>'
    assert record(head, body)["authors"] == ["Marlene Holm"]


def test_a_dateline_after_the_declared_author_in_one_byline_element_adds_no_one():
    head = '<meta name="author" content="Reuters">'
    body = '<div class="article-author">Reuters, Washington, Nov 20 2019, 11:06am ist</div>'
    assert record(head, body)["authors"] == ["Reuters"]


SITE = '<meta property="og:site_name" content="Example News"><meta name="author" content="Example News">'


def test_a_bold_name_at_the_head_of_the_story_is_its_byline_where_only_the_site_is_named():
    story = "<p><em>...as villagers cry foul</em></p><p><strong>Mathatisi Sebusi/Mohalenyane Phakela</strong></p>" + STORY
    assert record(SITE, story=story)["authors"] == ["Mathatisi Sebusi", "Mohalenyane Phakela"]
    # In capitals, as some sites set bylines.
    assert record(SITE, story="<p><b>MTHOBISI SITHOLE </b></p>" + STORY)["authors"] == ["Mthobisi Sithole"]


def test_a_bold_name_closing_the_story_is_its_byline():
    assert record(SITE, story=STORY + "<p><strong>Lê Phương</strong></p>")["authors"] == ["Lê Phương"]


def test_bold_subheadings_and_lines_in_the_story_are_not_bylines():
    for line in ("<p><strong>Flawed Approach</strong></p>",  # a subheading between paragraphs
                 "<p><strong>Read the full report here.</strong></p>",
                 '<p><strong><a href="/more">More From Us</a></strong></p>'):
        story = STORY[:len(STORY) // 2] + line + STORY[len(STORY) // 2:] if "Flawed" in line else STORY + line
        assert record(SITE, story=story)["authors"] == ["Example News"], line


def test_a_named_author_is_not_replaced_by_a_bold_line():
    head = '<meta name="author" content="Jane Roe">'
    assert record(head, story="<p><strong>Mohloai Mpesi</strong></p>" + STORY)["authors"] == ["Jane Roe"]


def test_the_cms_administrator_account_counts_as_the_site():
    head = ld_article(author={"@id": "https://www.example-news.com/author/admin/", "name": "Example D"})
    assert record(head, story="<p><strong>Mthobisi Sithole</strong></p>" + STORY)["authors"] == ["Mthobisi Sithole"]
    # Where no one else is named it stays, as the site's name does.
    assert record(head)["authors"] == ["Example D"]


def test_the_editor_a_byline_names_is_not_the_author():
    head = ld_article(author={"@type": "Person", "name": "Heryadi"})
    body = ('<div class="info"><div class="author-2">Naufal Zuhdi</div></div>'
            '<div class="info-author">Editor : <a class="author" href="/author/112/Heryadi">Heryadi</a></div>')
    assert record(head, body)["authors"] == ["Naufal Zuhdi"]
    # Without that label the declared author stands.
    body = '<div class="info"><div class="author-2">Naufal Zuhdi</div></div>'
    assert record(head, body)["authors"] == ["Heryadi"]
