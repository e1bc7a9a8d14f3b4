"""Decruft: the seed-shaped page, each cruft category, each layer, and what must survive,
through the real extract + decruft functions."""

from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest

from newscrawl.outlets import Outlet, generic_outlet
from newscrawl.state import SQLiteStateStore, StateStore
from pipelines.cruft_rules import _needs_non_ascii, clean_blocks, fold, load_rules, pre_learning_clean, text_category
from pipelines.decruft import decruft_in_order
from pipelines.dom_walker import (CHARS, CHARS_EXACT_UP_TO, DOM_MAX_CHARS, FIGURES, TEXT, _category_of_attrs, dom_blocks,
                                  page_entries, preclean_dom)
from pipelines.learner import BoilerplateLearner, key_of, split_learned
from pipelines.extract import extract_article
from pipelines.work import WORK
from pipelines.parts import read_parts
from tests import texts
from tests.needs import missing

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
OUTLET = generic_outlet("https://news.example/")

STORY = [
    "The city council voted on Tuesday to approve a new budget for the coming year, after a debate that "
    "lasted well into the evening and drew dozens of residents to the chamber to speak for and against it.",
    "Supporters said the plan would fund road repairs, extend library hours and hire more staff for the "
    "parks department, while critics argued that the increase in property taxes would hurt older residents.",
    "The mayor said she expected the measure to pass a second reading next month without major changes, and "
    "that officials would publish a detailed breakdown of the spending on the city website within two weeks.",
    "Several council members asked for an independent review of the transport budget, citing cost overruns "
    "on the last two bridge projects and delays to the bus lane programme announced three years ago.",
]


def page(*inserts: str, story: list[str] = STORY, tail: str = "", title: str = "Council approves budget") -> str:
    """An article page: the story paragraphs with `inserts[i]` after paragraph i, then `tail`."""
    parts = []
    for i, para in enumerate(story):
        parts.append(f"<p>{htmllib.escape(para)}</p>")
        if i < len(inserts):
            parts.append(inserts[i])
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>" + title + "</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav></header>"
        f"<main><article><h1>{title}</h1><div class='body'>{''.join(parts)}{tail}</div></article></main>"
        "<footer><p>Copyright News Example</p></footer></body></html>"
    )


def run(html: str, outlet: Outlet = OUTLET) -> tuple[str, Counter]:
    record = extract_article(html, "https://news.example/a/1", preclean=lambda t: preclean_dom(t, outlet))
    kept, removed = pre_learning_clean(record, record[WORK].blocks, outlet)
    removed.update(record["cleaning"]["removed"])
    return "\n\n".join(b["text"] for b in kept), removed


def assert_story_intact(text: str, story: list[str] = STORY):
    for para in story:
        assert fold(para) in fold(text), f"lost: {para[:60]}"


# --------------------------------------------------------------------------- the seed


def test_seed_page_keeps_every_paragraph_and_subhead_and_no_cruft():
    html = (FIXTURES / "seed_article.html").read_text(encoding="utf-8")
    seed = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_f3821e7373f8b08f.txt"
    text, removed = run(html)
    lines = [line.strip() for line in text.split("\n\n")]
    # The body: every paragraph and subhead of the story, in order, first to last.
    assert lines[0].startswith("At least 10 security personnel")
    assert lines[-1].startswith("The latest attacks come amid heightened security concerns")
    for subhead in ("Attacks Across Multiple Districts", "Long-Running Insurgency And Security Challenges"):
        assert subhead in lines
    assert len(lines) == 14  # 11 paragraphs and 3 subheads
    for cruft in ("Download Newspin", "No ads", "App Store", "Google Play", "apps.apple.com", "play.google.com",
                  "Latest News", "Popular Videos", "app-store-logo", "play-store-logo", "Flood relief drive"):
        assert cruft not in text
    assert removed["app-promo"] >= 3
    if seed.exists():  # the naive scrape's body lines are all in ours
        naive = seed.read_text(encoding="utf-8")
        start = naive.index("At least 10")
        end = naive.index("Long or Short")
        for line in naive[start:end].splitlines():
            if line.strip():
                assert fold(line) in fold(text)


# --------------------------------------------------------------------------- categories

LINK = "https://news.example/story/{}"
CASES = {
    "app-promo": (
        '<div><p>Get news the way you like. No ads. Download our app for crisp updates!</p>'
        '<p>App Store – <a href="https://apps.apple.com/in/app/x/id1">https://apps.apple.com/in/app/x/id1</a></p>'
        '<p>Google Play Store – <a href="https://play.google.com/store/apps/details?id=x">https://play.google.com/store/apps/details?id=x</a></p></div>',
        ["No ads", "apps.apple.com", "play.google.com"],
    ),
    "newsletter": (
        '<div class="box"><p>Sign up for our Morning Briefing newsletter, delivered to your inbox every day.</p>'
        '<form><input type="email" name="email"><button>Subscribe</button></form></div>',
        ["Morning Briefing"],
    ),
    "follow-us": (
        '<p>Follow us on <a href="https://whatsapp.com/channel/abc">WhatsApp</a>, '
        '<a href="https://t.me/newsx">Telegram</a> and <a href="https://news.google.com/publications/CAA">Google News</a></p>',
        ["Follow us on"],
    ),
    "share-bar": (
        '<div class="post-share"><a href="https://www.facebook.com/sharer/sharer.php?u=1">Facebook</a> '
        '<a href="https://twitter.com/intent/tweet?url=1">Twitter</a> <a href="https://api.whatsapp.com/send?text=1">WhatsApp</a></div>',
        ["Facebook Twitter"],
    ),
    "also-read": (
        f'<p><strong>Also Read:</strong> <a href="{LINK.format(1)}">Flooding closes three schools in the north</a></p>',
        ["Flooding closes three schools"],
    ),
    "related-list": (
        f'<aside><h4>Related stories</h4><ul><li><a href="{LINK.format(2)}">Mayor unveils housing plan</a></li>'
        f'<li><a href="{LINK.format(3)}">Bus fares to rise in spring</a></li><li><a href="{LINK.format(4)}">New park opens</a></li></ul></aside>',
        ["Related stories", "Mayor unveils housing plan", "Bus fares"],
    ),
    "donation": (
        '<p>Support independent journalism: donate today, from as little as $5 a month.</p>',
        ["donate today"],
    ),
    "cookie-consent": (
        '<div><p>We use cookies to improve your experience. By continuing to use this site, you agree to our use of cookies.</p></div>',
        ["We use cookies"],
    ),
    "syndication": (
        '<p>(This story has not been edited by News Example staff and is published from a syndicated feed.)</p>',
        ["syndicated feed"],
    ),
    "advertisement": (
        '<p>Advertisement</p><p>Story continues below advertisement</p>',
        ["Advertisement", "continues below"],
    ),
    "latest-list": (
        f'<h3>Latest News</h3><ul><li><a href="{LINK.format(5)}">Storm warning issued for the coast</a></li>'
        f'<li><a href="{LINK.format(6)}">Rail strike called off</a></li></ul>',
        ["Latest News", "Storm warning", "Rail strike"],
    ),
    "bare-url": ('<p>https://news.example/newsletters/signup</p>', ["newsletters/signup"]),
    "comment-prompt": (
        '<section><p>Leave a comment below and tell us what you think.</p></section>',
        ["Leave a comment"],
    ),
}
URDU = {
    "also-read": (f'<p>یہ بھی پڑھیں: <a href="{LINK.format(7)}">کراچی میں بارش سے نظام زندگی متاثر</a></p>', ["یہ بھی پڑھیں", "کراچی"]),
    "follow-us": ('<p>ہمیں فالو کریں <a href="https://facebook.com/x">فیس بک</a></p>', ["فالو"]),
    "app-promo": ('<p>ہماری موبائل ایپ ڈاؤن لوڈ کریں اور تازہ خبریں پائیں</p>', ["ایپ"]),
    "advertisement": ('<p>اشتہار</p>', ["اشتہار"]),
    "latest-list": (f'<h3>تازہ ترین خبریں</h3><ul><li><a href="{LINK.format(8)}">لاہور میں نئی سڑک</a></li><li><a href="{LINK.format(9)}">پشاور میں میلہ</a></li></ul>',
                    ["تازہ ترین", "لاہور", "پشاور"]),
}
HINDI = {
    "also-read": (f'<p>यह भी पढ़ें: <a href="{LINK.format(10)}">दिल्ली में बारिश से जलभराव</a></p>', ["यह भी", "दिल्ली"]),
    "also-read-ye": (f'<p>ये भी पढ़ें - <a href="{LINK.format(11)}">मुंबई लोकल में भीड़</a></p>', ["ये भी", "मुंबई"]),
    "follow-us": ('<p>हमें फॉलो करें <a href="https://x.com/news">X</a> <a href="https://t.me/news">टेलीग्राम</a></p>', ["फॉलो"]),
    "app-promo": ('<p>हमारा ऐप डाउनलोड करें और पाएं ताजा खबरें सबसे पहले</p>', ["ऐप"]),
    "latest-list": (f'<h3>ताज़ा ख़बरें</h3><ul><li><a href="{LINK.format(12)}">पटना में मेला</a></li><li><a href="{LINK.format(13)}">जयपुर में रैली</a></li></ul>',
                    ["पटना", "जयपुर"]),
    "advertisement": ('<div>विज्ञापन</div>', ["विज्ञापन"]),
}


@pytest.mark.parametrize("where", ["between", "end"])
@pytest.mark.parametrize("category", sorted(CASES))
def test_english_category_removed(category, where):
    markup, needles = CASES[category]
    html = page(markup) if where == "between" else page(tail=markup)
    text, removed = run(html)
    for needle in needles:
        assert needle.casefold() not in text.casefold(), (category, needle, text[-300:])
    assert_story_intact(text)
    if kept_by_extractor(html, needles):  # otherwise trafilatura dropped it already
        assert removed[category] >= 1, removed


def kept_by_extractor(html: str, needles: list[str]) -> bool:
    record = extract_article(html, "https://news.example/a/1")
    text = " ".join(b["text"] for b in record[WORK].blocks).casefold()
    return any(n.casefold() in text for n in needles)


def test_a_store_link_promotion_that_runs_on_into_other_boilerplate_goes():
    """Amar Ujala's closing paragraph: the app links, then after a line break an SEO
    sentence, some 250 characters of its own text. Its links say app promotion and its
    words say "download": it goes whole, although it is longer than a weak phrasing
    alone may be."""
    promo = ('<p>रहें हर खबर से अपडेट, डाउनलोड करें <a href="https://play.google.com/store/apps/details?id=x">'
             'Android Hindi News App</a>, <a href="https://apps.apple.com/in/app/x/id1">iOS Hindi News App</a> और '
             '<a href="https://news.example/app">Amarujala Hindi News APP</a> अपने मोबाइल पे|<br>Get all '
             '<a href="https://news.example/india">India News</a> in Hindi related to live update of politics, sports, '
             'entertainment, technology and education etc. Stay updated with us for all breaking news from India '
             'News and more news in Hindi.</p>')
    text, removed = run(page(tail=promo))
    assert "डाउनलोड" not in text and "Stay updated" not in text
    assert removed["app-promo"] == 1
    assert_story_intact(text)


@pytest.mark.parametrize("lang,cases", [("ur", URDU), ("hi", HINDI)])
def test_urdu_and_hindi_categories_removed(lang, cases):
    for key, (markup, needles) in cases.items():
        text, removed = run(page("", markup))
        for needle in needles:
            assert needle not in text, (lang, key, needle)
        assert_story_intact(text)
        if kept_by_extractor(page("", markup), needles):
            assert removed[key.split("-ye")[0]] >= 1, (lang, key, removed)


def test_folding_matches_nukta_and_arabic_letter_variants():
    blocks = [{"kind": "h", "text": "ताजा खबरें", "links": [], "link_chars": 0},  # no nukta
              {"kind": "p", "text": "يہ بھي پڑھيں: خبر", "links": [], "link_chars": 0}]  # Arabic yeh
    kept, removed = clean_blocks(blocks, OUTLET)
    assert kept == [] and removed["also-read"] == 1


# --------------------------------------------------------------------------- layers


def test_outlet_selector_and_pattern_layers():
    outlet = Outlet(name="example", display_name="Example", domains=("news.example",), homepage="https://news.example/",
                    drop_selectors=(".partner-box",), drop_patterns=(r"^Readers of Example get \d+% off",))
    html = page('<div class="partner-box"><p>Partner content: spring festival returns with forty vendors.</p></div>',
                '<p>Readers of Example get 20% off concert tickets with code EX20.</p>')
    text, removed = run(html, outlet)
    assert "spring festival" not in text and "20% off" not in text
    assert removed["outlet-selector"] == 1 and removed["outlet-pattern"] == 1
    assert_story_intact(text)
    assert run(html, outlet) == (text, removed)  # the same on every page
    # Without the outlet's rules, both stay: they are the outlet layer's doing.
    text, _ = run(html)
    assert "spring festival" in text and "20% off" in text


def _blocks(*texts):
    return [{"kind": "p", "text": t, "links": [], "link_chars": 0} for t in texts]


def _story(n):
    return f"Story number {n} reports events in district {chr(65 + n % 26)} with unique detail {n * 7919}."


def test_learned_boilerplate_two_pages_survive_many_removed_and_persist(tmp_path):
    path = tmp_path / "state.sqlite"
    store = SQLiteStateStore(path)
    learner = BoilerplateLearner(store, "example")
    quote = "“We will not give up,” the minister said in a statement shared on both days."
    for n in range(10):
        texts = [f"{_story(n)} Part one.", "Example Daily is part of the Example Media Group since 1921.", f"{_story(n)} End."]
        if n in (3, 4):
            texts.insert(1, quote)
        assert learner.observe(f"https://news.example/{n}", _blocks(*texts))
    assert not learner.observe("https://news.example/0", _blocks("anything"))  # a re-crawl counts once
    kept, removed = learner.filter(_blocks(_story(3), quote, "Example Daily is part of the Example Media Group since 1921."))
    assert [b["text"] for b in kept] == [_story(3), quote]
    assert removed == Counter({"learned-boilerplate": 1})
    store.close()
    reopened = BoilerplateLearner(SQLiteStateStore(path), "example")
    assert reopened.pages == 10
    kept, removed = reopened.filter(_blocks(f"{_story(5)} {_story(6)}", "Example Daily is part of the Example Media Group since 1921 ."))
    assert [b["text"] for b in kept] == [f"{_story(5)} {_story(6)}"] and removed["learned-boilerplate"] == 1
    with pytest.raises(ValueError):
        BoilerplateLearner(store, "x", min_pages=2)


def test_learned_layer_removes_template_lines_only_and_never_over_a_third_of_the_words():
    """A block that recurs across the outlet's pages goes only when it behaves like a
    template (promotional or link-heavy, or short at the body's edge), the most
    template-like first, while what goes stays within a third of the article's words."""

    def block(text, link_chars=0):
        return {"kind": "p", "text": text, "links": ["https://news.example/story/1"] if link_chars else [],
                "link_chars": link_chars}

    def split(blocks):
        kept, gone = split_learned(blocks, {key_of(b) for b in blocks})  # every block recurs
        return [b["text"] for b in kept], [b["text"] for b in gone]

    masthead = block("Example Daily | City edition")  # 4 words, short, first
    more = block("More: Council approves budget after long debate", link_chars=41)  # 7 words, link-heavy
    # 10 words, short, last; no phrasing the text rules know (so not promotional)
    follow = block("Example Daily, City edition, printed and published in Springfield today.")
    # Story paragraphs that recur (wire copy, a live story's earlier updates) stay; the
    # template lines go.
    kept, gone = split([masthead, *map(block, STORY), follow])
    assert kept == STORY and gone == [masthead["text"], follow["text"]]
    # A short line in the middle of a long body is not at an edge: it stays.
    mid = block("Example Daily | Reader note")
    body = [*map(block, STORY), mid, *map(block, STORY[::-1])]
    assert split(body) == ([b["text"] for b in body], [])
    # 59 words: a third is 19.7. The link-heavy line (7) goes first, then the shortest
    # short edge line (4); the "follow" line would pass the bound (21): it stays.
    kept, gone = split([masthead, more, block(STORY[0]), follow])
    assert gone == [masthead["text"], more["text"]] and kept == [STORY[0], follow["text"]]
    # The most template-like alone is over a third: nothing goes.
    assert split([follow, block("The council met on Tuesday to vote on the budget.")])[1] == []
    # A page of nothing but recurring template lines keeps two thirds: never an empty article.
    assert split([masthead, follow]) == ([follow["text"]], [masthead["text"]])
    # Nothing recurs: nothing goes, whatever the blocks look like.
    assert split_learned([masthead, follow], set()) == ([masthead, follow], [])


def test_first_crawl_benefits_through_warmup(tmp_path):
    """The first articles of a first crawl are cleaned of a line learned only later in the batch."""
    promo = "<p>Example Daily is part of the Example Media Group, serving readers since 1921.</p>"
    outlet = generic_outlet("https://news.example/")
    records = []
    for n in range(6):
        story = [f"{_story(n)} {para}" for para in STORY]  # every page its own story
        record = extract_article(page(story=story, tail=promo), f"https://news.example/{n}",
                                 preclean=lambda t: preclean_dom(t, outlet))
        record["url"] = f"https://news.example/{n}"
        records.append(record)
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    out = decruft_in_order(records, outlet, BoilerplateLearner(store, "example"), warmup=4, audit=True)
    assert len(out) == 6
    for record in out:
        assert "Example Media Group" not in record["text"]
        assert record["cleaning"]["removed"]["learned-boilerplate"] == 1
        assert any(r["category"] == "learned-boilerplate" for r in record["cleaning"]["removed_text"])
        assert record["text"].rstrip().endswith(STORY[-1])  # the last paragraph stays
        assert len(record["text"].split("\n\n")) == len(STORY)


def test_audit_lists_dom_and_block_removals_with_their_text(tmp_path):
    """With the audit on, every removal shows its category and (capped) text: the DOM
    blocks removed before extraction as well as the extracted blocks removed after it."""
    signup = "Sign up for the Morning Briefing, our daily digest of the stories that matter, sent each dawn. " * 5
    html = page(CASES["app-promo"][0], CASES["also-read"][0], CASES["share-bar"][0],
                f'<div><p>{signup}</p><form><input type="email" name="email"></form></div>')
    record = extract_article(html, "https://news.example/a/1", preclean=lambda t: preclean_dom(t, OUTLET))
    record["url"] = "https://news.example/a/1"
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    out = decruft_in_order([record], OUTLET, BoilerplateLearner(store, "example"), warmup=0, audit=True)[0]
    removed = out["cleaning"]["removed_text"]
    assert "_removed_dom" not in out
    assert len(removed) == sum(out["cleaning"]["removed"].values())
    by_category = {r["category"]: r["text"] for r in removed}
    assert "apps.apple.com" in by_category["app-promo"]
    assert by_category["newsletter"].startswith("Sign up for the Morning Briefing")
    assert len(by_category["newsletter"]) == 300 and by_category["newsletter"].endswith("…")  # capped
    assert by_category["also-read"].startswith("Also Read:")
    assert "Facebook" in by_category["share-bar"]
    assert_story_intact(out["text"])


class _DictStore(StateStore):
    """Only the interface's required methods: the batched ones fall back to them."""

    def __init__(self):
        self.data: dict = {}

    def get(self, ns, key):
        return self.data.get((ns, key))

    def put(self, ns, key, value):
        self.data[(ns, key)] = value

    def delete(self, ns, key):
        self.data.pop((ns, key), None)

    def incr(self, ns, key, by=1):
        self.data[(ns, key)] = str(int(self.data.get((ns, key), 0)) + by)
        return int(self.data[(ns, key)])

    def items(self, ns):
        return iter(sorted((k, v) for (n, k), v in self.data.items() if n == ns))


def test_learner_counts_alike_in_sqlite_and_in_a_minimal_store(tmp_path):
    sqlite, minimal = SQLiteStateStore(tmp_path / "state.sqlite"), _DictStore()
    for store in (sqlite, minimal):
        learner = BoilerplateLearner(store, "example")
        for n in range(6):
            learner.observe(f"https://news.example/{n}", _blocks(_story(n), "Subscribe to Example Daily today.",
                                                                  "Subscribe to Example Daily today."))
    counted = dict(sqlite.items("boilerplate:example"))
    assert counted == dict(minimal.items("boilerplate:example"))
    # each page once; a block repeated on one page counts once for it
    assert counted["pages"] == "6" and sorted(v for k, v in counted.items() if k.startswith("c:")) == ["1"] * 6 + ["6"]
    sqlite.close()


def test_learner_state_stays_bounded_and_keeps_what_matters(tmp_path):
    store = SQLiteStateStore(tmp_path / "s.sqlite")
    learner = BoilerplateLearner(store, "example", prune_after=20)
    ns = learner.ns
    promo = "Example Daily is part of the Example Media Group since 1921."
    sizes = []
    for n in range(200):
        texts = [f"{_story(n)} Paragraph {k} {n * 31 + k}." for k in range(5)] + [promo]
        learner.observe(f"https://news.example/{n}", _blocks(*texts))
        sizes.append(store.count(ns))
    # 5 story paragraphs (2 rows each) and the page id per page within the horizon, at
    # most twice the horizon between prunes, plus the promotion and the page counter.
    assert max(sizes) <= 2 * 20 * (5 * 2 + 1) + 3
    assert sizes[-1] < sizes[99] + 5  # flat, not growing with the pages crawled
    before = store.count(ns)
    pruned_now = learner.prune()
    assert store.count(ns) == before - pruned_now  # it says what it deleted
    assert store.count(ns) <= 20 * (5 * 2 + 1) + 3
    assert learner.prune() == 0  # nothing more to forget until more pages come
    kept, removed = learner.filter(_blocks(_story(1), _story(2), promo))
    assert [b["text"] for b in kept] == [_story(1), _story(2)] and removed["learned-boilerplate"] == 1
    assert not learner.observe("https://news.example/199", _blocks("again"))  # recent: still counted once
    with pytest.raises(ValueError):
        BoilerplateLearner(store, "x", prune_after=0)


# --------------------------------------------------------------------------- must survive


def test_story_paragraphs_about_apps_whatsapp_newsletters_survive():
    story = [
        "The health ministry urged residents to download the new vaccination app, which lets families book "
        "appointments and receive reminders, and said more than two million people had installed it so far.",
        "Investigators said the group coordinated the attacks through a WhatsApp channel and a Telegram group, and "
        "that several messages had been recovered from phones seized at the scene.",
        "The company's weekly newsletter, which she started in 2019, now reaches forty thousand subscribers and "
        "earns more from subscriptions than the print edition ever did.",
        "Read more about the programme in the council's annual report, she said, adding that figures would be "
        "updated each quarter and that residents could follow the project's progress online.",
    ]
    html = page(
        f'<p>Users can find the app at <a href="https://apps.apple.com/app/id9">the App Store</a> and on Google Play, '
        "the ministry said, although older phones are not supported and officials promised a web version by March.</p>",
        story=story,
        tail="<blockquote><p>“Follow us on this journey,” the founder told staff in a memo seen by reporters.</p></blockquote>"
             "<ul><li>Road repairs: $4 million for resurfacing twelve streets</li><li>Libraries: longer hours on weekends</li>"
             "<li>Parks: six new staff positions</li></ul>"
             "<p>The council meets again on March 3.</p>",
    )
    text, removed = run(html)
    assert_story_intact(text, story)
    assert "Users can find the app" in text
    assert "Follow us on this journey" in text  # a block quote
    for item in ("Road repairs", "Libraries: longer hours", "Parks: six new staff"):
        assert item in text  # a content list
    assert text.rstrip().endswith("The council meets again on March 3.")  # the last paragraph
    assert not removed.get("learned-boilerplate")


def test_cited_posts_survive_but_profile_links_go():
    tweet = ('<blockquote class="twitter-tweet"><p>Stadia capture runs at an unstable 60fps here '
             '<a href="https://t.co/4p7">pic.twitter.com/4p7</a></p><p>— Digital Foundry (@digitalfoundry) '
             '<a href="https://twitter.com/digitalfoundry/status/1196551514896162816">November 18, 2019</a></p></blockquote>')
    html = page(
        '<p><a href="https://twitter.com/digitalfoundry/status/1196551514896162816">Posted on social media by the '
        'analysts</a>, the port is not entirely smooth.</p>' + tweet,
        tail='<p><a href="https://twitter.com/newsexample">@newsexample</a></p>',
    )
    text, removed = run(html)
    assert_story_intact(text)
    assert "Posted on social media by the analysts" in text
    assert "Stadia capture runs at an unstable 60fps" in text
    assert "@newsexample" not in text and removed["follow-us"] == 1


def test_dangling_heading_at_end_removed_but_subheads_kept():
    blocks = [
        {"kind": "p", "text": STORY[0], "links": [], "link_chars": 0},
        {"kind": "h", "text": "What happens next", "links": [], "link_chars": 0},
        {"kind": "p", "text": STORY[1], "links": [], "link_chars": 0},
        {"kind": "h", "text": "More from the city desk", "links": [], "link_chars": 0},
        {"kind": "li", "text": "Bus fares rise", "links": ["https://news.example/b"], "link_chars": 14},
        {"kind": "h", "text": "Watch this space", "links": [], "link_chars": 0},
    ]
    kept, removed = clean_blocks(blocks, OUTLET)
    assert [b["text"] for b in kept] == [STORY[0], "What happens next", STORY[1]]
    assert sum(removed.values()) == 3


# --------------------------------------------------------------------------- footers and leftovers

FOOTERS = {
    "shortcode-button": ('<p>[button link="https://news.example/submit-review/" type="big" newwindow="yes"] '
                         'Send us YOUR review[/button]</p>', "shortcode", ["Send us YOUR review", "[button"]),
    "shortcode-caption": ('<p>[caption id="attachment_4107" align="aligncenter" width="640"] Councillors during the '
                          'vote on Tuesday[/caption]</p>', "shortcode", ["[caption", "Councillors during the vote"]),
    "filed-under": ('<p>Filed under: Politics | City Hall |</p>', "taxonomy", ["Filed under"]),
    "tags": ('<p>Tags: budget, council, road repairs, U.S.</p>', "taxonomy", ["Tags:", "road repairs, U.S."]),
    "categories": ('<p>Categories: Local News, Politics</p>', "taxonomy", ["Categories:"]),
    "source": ('<p>SOURCE: News agencies</p>', "source-credit", ["News agencies"]),
    "related-caps": (f'<p><strong>RELATED:</strong> <a href="{LINK.format(20)}">Mayor unveils housing plan</a></p>',
                     "also-read", ["Mayor unveils housing plan"]),
    "related-post": (f'<p>Related post: <a href="{LINK.format(21)}">Bus fares to rise in spring</a></p>',
                     "also-read", ["Bus fares"]),
    "tell-us": ('<p>Tell us what YOU think</p>', "comment-prompt", ["Tell us what"]),
    "hear-from-you": ("<p>The paper is committed to publishing a diversity of letters to the editor. We'd like to hear "
                      "what you think about this or any of our articles.</p>", "comment-prompt", ["diversity of letters"]),
    "magazine": ('<p>Get City Monthly delivered through your letterbox every month. 12 issues for £11.99. '
                 '<a href="https://news.example/subscribe">Click here for more information.</a></p>',
                 "subscription", ["City Monthly", "12 issues"]),
    "membership": ("<p>If you enjoyed this article, we have a proposition for you: join our members' club. Members get "
                   "all of our content, with no paywalls or content meters.</p>", "subscription", ["proposition for you"]),
    "ur-tags": ('<p>ٹیگز: کراچی، بارش، سیلاب</p>', "taxonomy", ["ٹیگز"]),
    "hi-tags": ('<p>टैग: दिल्ली, बारिश, जलभराव</p>', "taxonomy", ["टैग"]),
    "hi-source": ('<p>स्रोत: एजेंसियां</p>', "source-credit", ["एजेंसियां"]),
}


@pytest.mark.parametrize("case", sorted(FOOTERS))
def test_footer_and_leftover_cruft_removed(case):
    markup, category, needles = FOOTERS[case]
    html = page(tail=markup)
    # The extractor keeps these lines: only the decruft rules take them out.
    assert kept_by_extractor(html, needles), case
    text, removed = run(html)
    for needle in needles:
        assert needle.casefold() not in text.casefold(), (case, needle, text[-300:])
    assert removed[category] >= 1, removed
    assert_story_intact(text)


def test_story_sentences_with_footer_words_survive():
    story = [
        "The charges were filed under a 1990 law that bans the export of military equipment without a licence, "
        "prosecutors said, and carry a sentence of up to ten years.",
        "Source: the ministry said the figures were provisional and would be revised next month.",
        "Tags: the council said the new labels would be fitted to every bin by March.",
        "Tell us what you think, the mayor urged residents at the meeting, promising a reply to every letter.",
        "The magazine, which sold 12 issues for £30 a year, closed in 2019 after its advertising revenue collapsed.",
        "[dropcap]T[/dropcap]he vote was the closest in a decade, with the budget passing by a single vote.",
    ]
    html = page(story=STORY[:2] + story)
    text, removed = run(html)
    assert_story_intact(text, STORY[:2] + story)
    for category in ("shortcode", "taxonomy", "source-credit", "subscription", "comment-prompt"):
        assert not removed.get(category), (category, removed)


def test_dom_entries_match_what_each_elements_own_subtree_says():
    """The one bottom-up pass gives every element what a walk of its own subtree would:
    its collapsed text (kept up to DOM_MAX_CHARS), its links and link text, its links by
    category (kept for those short blocks), the last element it holds; figures shared
    between elements are never changed by their ancestors."""
    root = lxml.html.fromstring(
        "<div> Lead\xa0in <b> </b><i>x</i>y <!-- note -->z<span>\u2003q </span>  <p></p>\n"
        "<ul><li><a href='https://apps.apple.com/app/x'>App Store</a></li>"
        "<li><a href='https://play.google.com/store/apps/details?id=x'> Google <b>Play</b></a> tail</li>"
        "<li><a>no href</a><a href='/news/2'></a></li></ul>"
        "<ul id='second'><li><a href='https://apps.apple.com/app/x'>App Store</a></li></ul>"
        f"<p>{'long story text ' * 120}</p></div>"
    )
    order, info = page_entries(root, load_rules())
    assert order == list(root.iter(lxml.etree.Element))
    for index, el in enumerate(order):
        chars, _, _, text, figures, position, end = info[el]
        full = " ".join(el.text_content().split())
        assert chars == len(full), (el.tag, full)
        assert text == (full if len(full) <= DOM_MAX_CHARS else None)
        assert position == index and order[end] is list(el.iter(lxml.etree.Element))[-1]
        if len(full) > DOM_MAX_CHARS:
            assert figures is None
            continue
        links = el.xpath("descendant-or-self::a")
        assert (figures.links if figures else 0) == sum(1 for a in links if a.get("href"))
        assert (figures.link_chars if figures else 0) == sum(len(" ".join(a.text_content().split())) for a in links)
    first, second = root.findall(".//ul")
    assert info[first][FIGURES].hits == Counter({"app-promo": 2})
    assert info[second][FIGURES].hits == Counter({"app-promo": 1})
    assert list(dom_blocks(root, load_rules())) == list(info)


def test_dom_entries_collapse_only_enough_of_a_long_script_to_pass_the_exact_lengths():
    """A long inline script counts in its containers' lengths as in their text: exactly
    while that length is one the rules compare, and as "longer" past CHARS_EXACT_UP_TO,
    without collapsing all of it."""
    script = "var x = 1;\n" * 3000
    short = "a" + " \n" * 6000 + "b"  # long in the source, short once collapsed
    root = lxml.html.fromstring(f"<div><div class='ad'><script>{script}</script></div><p>{short}</p></div>")
    info = dom_blocks(root, load_rules())
    ad, p = root[0], root[1]
    assert CHARS_EXACT_UP_TO < info[ad][CHARS] < len(" ".join(script.split()))
    assert info[root][CHARS] > CHARS_EXACT_UP_TO
    assert info[p][CHARS] == 3 and info[p][TEXT] == "a b"


def test_patterns_that_need_other_scripts_are_not_tried_on_ascii_text():
    assert _needs_non_ascii("ایپ ڈاؤن ?لوڈ کریں") and _needs_non_ascii("(?:ऐप स्टोर|गूगल प्ले) (?:से|पर)")
    assert _needs_non_ascii("x(?:ऐप){1,3}") and _needs_non_ascii("[ऐ]")
    for pattern in ("[ऐओ]+", "ऐ{2}", "(?P<name>ऐ)", "(?>ऐ|ओ)x", "\\u0905", "(?-i:ऐ)", "[\\u0905-\\u0910]", "a\\ऐ", "(?#x)ऐ", "ऐ{x}"):
        assert _needs_non_ascii(pattern), pattern
    for pattern in ("(?:ऐप)?x", "ऐप|x", "(?i)ऐप", "x(?:ऐ|p)", "(?=ऐ)x", "(?!ऐ)x", "\\w+", "(?:ऐप)*",
                    "[aऐ]", "[^ऐ]", "ऐ{0,2}", "ऐ{,2}", "(?i:ऐ)", "(ऐ)\\1", "\\N{DEVANAGARI LETTER AI}"):
        assert not _needs_non_ascii(pattern), pattern
    # Every shipped rule pattern is read without doubt, and the ones in other scripts are found.
    rules = load_rules()
    patterns = [p.pattern for c in rules.text.values() for kind in (c.strong, c.weak, c.heading) for p in kind]
    needing = [p for p in patterns if _needs_non_ascii(p)]
    assert 100 < len(needing) < len(patterns)
    for p in needing:
        assert not any(re.search(p, text) for text in ("", "a", "Download our app", "12 May 2024, 10:30"))
    rules = load_rules()
    assert text_category("Download our app", rules) == "app-promo"
    assert text_category("ایپ ڈاؤن لوڈ کریں", rules) == "app-promo"
    assert text_category("Follow us on Google News “today”", rules) == "follow-us"


def test_class_and_id_tokens_name_the_first_category_in_order():
    assert _category_of_attrs("related-posts-widget") == "related-list"
    assert _category_of_attrs("sidebar widget share") == "share-bar"
    assert _category_of_attrs("post_ad-slot") == "advertisement"
    assert _category_of_attrs("header main--wide") is None


# --------------------------------------------------------------------------- pipeline hold


CRAWL = textwrap.dedent(
    """
    import json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from newscrawl.outlets import Outlet
    from pipelines.work import WORK, Work

    N, STATE, OUT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    OUTLET = Outlet(name="example", display_name="Example", domains=("news.example",), homepage="https://news.example/")

    class Collect:
        def __init__(self): self.items = []
        def process_item(self, item):
            self.items.append(item); return item
        def close_spider(self):
            json.dump(self.items, open(OUT, "w"))

    class Items(scrapy.Spider):
        name = "items"; outlet = OUTLET
        async def start(self):
            for n in range(N):
                yield {"url": f"https://news.example/{n}", "outlet": "example", "title": None,
                       "cleaning": {"removed": {}}, WORK: Work(blocks=[
                           {"kind": "p", "text": f"Story {n} about " + " ".join(["alpha", "bravo", "delta", "kilo", "lima", "oscar", "papa", "tango"][k] for k in range(8) if n >> (k % 4) & 1 or k == n % 8) + ", as the city desk reported from the council chamber after a long evening of debate.", "links": [], "link_chars": 0},
                           {"kind": "p", "text": "Example Daily is part of the Example Media Group.", "links": [], "link_chars": 0}])}

    process = CrawlerProcess({"ITEM_PIPELINES": {"pipelines.decruft.DecruftPipeline": 200, "__main__.Collect": 900},
                              "NEWSCRAWL_STATE_DIR": STATE, "NEWSCRAWL_BOILERPLATE_WARMUP": 12,
                              "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False})
    crawler = process.create_crawler(Items)
    process.crawl(crawler)
    process.start()
    json.dump(crawler.stats.get_stats(), open(OUT + ".stats", "w"), default=str)
    """
)


@pytest.mark.e2e
@pytest.mark.parametrize("n", [5, 15])
def test_pipeline_holds_warmup_without_deadlock_and_loses_nothing(tmp_path, n):
    script = tmp_path / "crawl.py"
    script.write_text(CRAWL)
    out = tmp_path / "out.json"
    subprocess.run([sys.executable, str(script), str(n), str(tmp_path / "state"), str(out)],
                   cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=90, check=True)
    items = json.loads(out.read_text())
    assert sorted(i["url"] for i in items) == sorted(f"https://news.example/{k}" for k in range(n))
    stats = json.loads((tmp_path / "out.json.stats").read_text())
    # Fewer articles than the warm-up: all held until the crawl had nothing else to do.
    # More: the first eleven held until the twelfth completed the warm-up.
    released = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("newscrawl/cruft_hold/")}
    assert released == ({"released_idle": 5} if n == 5 else {"released_warmup": 11})
    for item in items:
        assert "Example Media Group" not in item["text"]
        assert item["text"].startswith("Story ")
        assert WORK not in item


# --------------------------------------------------------------------------- real spider


@pytest.mark.e2e
def test_cruft_benchmark_first_crawl_through_the_real_spider(tmp_path):
    """Two synthetic outlets of the cruft benchmark, 14 articles each, served on 127.0.0.1
    and crawled by `scrapy crawl <outlet>` from fresh state: a first crawl, warm-up and all."""
    from bench import cruft

    if not (cruft.DATA / "ground-truth.json").exists():
        missing("aeb-dev", "the aeb-dev data set is not on this machine")
    styles, pages = cruft.build_pages(outlets=("harbourpost", "indusnews"), per_outlet=14)
    outputs = cruft.crawl_outlets(styles, pages, tmp_path,
                                  {"NEWSCRAWL_AUDIT_CRUFT": True, "NEWSCRAWL_AUDIT_CRUFT_FILE": True})
    for name in styles:
        mine = [p for p in pages if p.outlet == name]
        assert len(mine) == 14
        assert all(outputs[p.url] for p in mine), "a page was not written"
        ours, alone = cruft.Score(), cruft.Score()
        for p in mine:
            ours.add(p, outputs[p.url])
            alone.add(p, cruft.trafilatura_alone(p))
        assert ours.leakage <= 0.01, (name, ours.examples)
        assert cruft.f1(ours.prs) >= 0.98, name
        assert alone.leakage > 0.1  # the cruft is there to remove: the extractor alone keeps it
        # The audit, per article and per run: what went, DOM-level removals included.
        out = tmp_path / name / "output" / name
        records = list(read_parts(out))
        audit = list(read_parts(out / "cruft"))
        assert len(records) == len(audit) == 14
        assert {r["url"] for r in records} == {a["url"] for a in audit}
        for record in records:
            removed = record["cleaning"]["removed_text"]
            counted = sum(record["cleaning"]["removed"].values())
            assert len(removed) == counted and all(len(r["text"]) <= 300 for r in removed)
            categories = {r["category"] for r in removed}
            assert {"app-promo", "learned-boilerplate"} <= categories, categories


# --------------------------------------------------------------------------- shared stories

# A developing story re-run at new URLs: each version a new first paragraph over the same
# three long background paragraphs (as wire copy is re-sent with a new lede).
PORT_LEDES = [
    "Dock workers at the Eastport container terminal walked off the job before dawn on Monday.",
    "The Eastport dock strike entered its second day on Tuesday, with lorries queued to the ring road.",
    "Talks to end the Eastport dock strike collapsed on Wednesday after the union rejected a new offer.",
    "The government asked a mediator on Thursday to step into the Eastport dock dispute.",
    "Eastport dock workers voted on Friday to accept a pay deal, ending their five-day strike.",
]
PORT_BACKGROUND = [
    "The dispute began in March, when the port authority announced that it would bring in automated "
    "cranes at two of the terminal's four berths and cut the number of shifts worked by crane operators. "
    "The union said the plan had been drawn up without consulting the workforce and would put as many as "
    "four hundred jobs at risk over the next three years, while the authority argued that the terminal "
    "had lost business to rival ports that had already modernised their equipment and could turn a ship "
    "around in half the time. Both sides agreed at the time to a review by an independent panel, "
    "but its report, published in June, was rejected by the union as one-sided within hours of its release.",
    "Eastport handles roughly a third of the country's container traffic, including most of its imports "
    "of machinery, medicines and fuel additives, and freight companies have warned that even a short "
    "stoppage causes delays that take weeks to clear. Shipping lines diverted several vessels to smaller "
    "harbours along the coast during a one-day walkout last year, and some of them never came back, "
    "according to figures published by the chamber of commerce in its annual review of the port's "
    "performance. "
    "Port officials say the terminal has since won back some of that trade by offering discounts to the "
    "lines that returned, at a cost the authority has not disclosed.",
    "Union leaders have said that they are not opposed to new technology as such, but want guarantees "
    "that no permanent worker will be dismissed, that retraining will be paid for by the authority, and "
    "that the savings from automation will be shared through higher wages for the staff who remain. The "
    "port authority has offered a two-year freeze on compulsory redundancies and a training fund, but "
    "says that it cannot tie future pay rises to productivity figures that depend on world trade and "
    "the price of fuel. "
    "Both sides have said that they want an agreement before the harvest season, when exports of fruit "
    "and grain through the terminal usually double.",
]
# A live story: each new page repeats the earlier updates under the newest one.
CYCLONE_UPDATES = [
    "06:40 — Welcome to our live coverage of Cyclone Mira, which is expected to reach the southern coast "
    "tonight. We will bring you the latest warnings, evacuation orders and travel news here through the day. "
    "The meteorological office has raised its warning for the southern coast to the highest "
    "level as Cyclone Mira strengthens over the bay. Forecasters expect winds of up to 160 kilometres an "
    "hour when the storm reaches land late tonight, and fishing boats have been ordered back to harbour.",
    "09:15 — Evacuations are under way in low-lying districts, where officials say about 80,000 people "
    "have been moved to schools and cyclone shelters since last night. Buses have been laid on from the "
    "fishing villages, but some families told reporters they would stay to guard their homes and boats.",
    "12:30 — The airport has cancelled all flights for the rest of the day and the railway has suspended "
    "services on the coastal line. Power has been cut pre-emptively in two towns to reduce the risk of "
    "fires from fallen cables, and the army has moved rescue teams and boats into the region.",
    "15:05 — Heavy rain has begun to fall across the coast and the first bands of the storm are lashing "
    "the harbour town of Marapur, where waves have broken over the sea wall. The district chief said the "
    "shelters were full and asked residents who had not left to move to the upper floors of solid buildings.",
    "18:50 — Cyclone Mira has made landfall south of Marapur, the meteorological office said, earlier than "
    "expected and with winds of about 150 kilometres an hour. Trees and power lines are down across the "
    "district, and rescue teams say they will not be able to reach the worst-hit villages before morning.",
]
# Template lines the outlet puts at the end of every article: short, recurring, not story.
# A template line the text rules do not know (a "follow us" line would go by the rules)
LEDGER_NOTE = "The Daily Ledger newsroom sits on the third floor of the Corn Exchange."
LEDGER_GROUP = "The Daily Ledger is part of the Ledger Media Group, serving the valley since 1921."


def _ledger_page(title: str, paragraphs: list[str]) -> bytes:
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": "2025-06-02T08:00:00+00:00", "author": {"@type": "Person", "name": "Staff Reporter"}})
    body = "".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{htmllib.escape(title)} | The Daily Ledger</title><meta property='og:type' content='article'>"
        f"<script type='application/ld+json'>{ld}</script></head><body>"
        "<header><a href='/'>The Daily Ledger</a><nav><a href='/world'>World</a> <a href='/business'>Business</a></nav></header>"
        f"<main><article><h1>{htmllib.escape(title)}</h1><div class='byline'>By Staff Reporter</div>"
        f"<div class='story-body'>{body}<p>{htmllib.escape(LEDGER_NOTE)}</p><p>{htmllib.escape(LEDGER_GROUP)}</p></div>"
        "</article></main><footer><p>© 2025 The Daily Ledger</p></footer></body></html>"
    ).encode("utf-8")


def _ledger_articles() -> dict[str, tuple[str, list[str]]]:
    """Path -> (title, true body paragraphs), in publication order: five versions of the
    port story, five pages of the live cyclone story, and two stories of their own."""
    articles = {}
    for n, lede in enumerate(PORT_LEDES, 1):
        articles[f"/business/eastport-strike-day-{n}"] = (f"Eastport dock strike: day {n}", [lede, *PORT_BACKGROUND])
    for n in range(1, len(CYCLONE_UPDATES) + 1):
        articles[f"/live/cyclone-mira-update-{n}"] = (f"Live: Cyclone Mira, update {n}", CYCLONE_UPDATES[:n][::-1])
    articles["/city/council-approves-budget"] = ("Council approves budget", STORY)
    articles["/world/floods-northern-valley"] = ("Floods in the northern valley", texts.WIRE_STORY.split("\n\n"))
    return articles


def _serve_ledger(site, paths: list[str], articles: dict) -> None:
    from newscrawl.webserver import Page as Served

    for path in paths:
        site.routes[path] = Served(_ledger_page(*articles[path]))
    urls = "".join(f"<url><loc>{site.url}{path}</loc><lastmod>2025-06-02</lastmod></url>" for path in paths)
    site.routes["/sitemap.xml"] = Served(
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        .encode("utf-8"), content_type="application/xml")
    site.routes["/robots.txt"] = Served(f"User-agent: *\nAllow: /\nSitemap: {site.url}/sitemap.xml\n".encode(),
                                        content_type="text/plain")
    site.routes["/"] = Served(b"<!DOCTYPE html><html><head><title>The Daily Ledger</title></head>"
                              b"<body><h1>The Daily Ledger</h1></body></html>")


@pytest.mark.e2e
def test_shared_story_paragraphs_survive_the_learned_layer_in_a_real_crawl(tmp_path):
    """An outlet whose articles share long paragraphs: five versions of a developing story
    (a new first paragraph over the same three), a live story whose pages repeat the
    earlier updates, and two stories of their own, each page ending in the outlet's two
    template lines. Two runs of `scrapy crawl`: the first holds its 8 pages for the
    warm-up, so every page is cleaned with all eight counted (the shared paragraphs are
    boilerplate by their counts, on 4 of 8 pages); the second starts from what the first
    learned. Every article comes out whole, the template lines go as learned boilerplate
    (shown in the audit), and the versions of the developing story are marked as
    near-duplicates by the dedupe stage, not cut by decruft."""
    from newscrawl.webserver import LocalSite
    from tests.crawling import crawl

    articles = _ledger_articles()
    port = [p for p in articles if p.startswith("/business/")]
    live = [p for p in articles if p.startswith("/live/")]
    first = port[:4] + live[:3] + ["/city/council-approves-budget"]
    second = first + [port[4], *live[3:], "/world/floods-northern-valley"]
    settings = {"NEWSCRAWL_BOILERPLATE_WARMUP": 8}
    with LocalSite() as site:
        outlet = Outlet(name="ledger", display_name="The Daily Ledger", domains=(site.host_port,),
                        homepage=site.url + "/", sitemaps=(site.url + "/sitemap.xml",))
        _serve_ledger(site, first, articles)
        run1 = crawl(outlet, tmp_path, {**settings, "NEWSCRAWL_AUDIT_CRUFT": True})
        records1 = {urlsplit(r["url"]).path: r for r in run1.records("ledger")}
        _serve_ledger(site, second, articles)
        run2 = crawl(outlet, tmp_path, {**settings, "NEWSCRAWL_AUDIT_CRUFT_FILE": True})
    records = {urlsplit(r["url"]).path: r for r in run2.records("ledger")}
    # The first seven pages waited for the eighth: all were cleaned with eight pages counted.
    assert run1.stat("newscrawl/cruft_hold/released_warmup") == 7
    assert set(records1) == set(first) and set(records) == set(second), (run1.rejects("ledger"), run2.rejects("ledger"))

    for path, (_, paragraphs) in articles.items():
        if path not in records:
            continue
        record = records[path]
        assert record["text"].split("\n\n") == paragraphs, path  # whole, and nothing else
        assert record["cleaning"]["removed"].get("learned-boilerplate") == 2, (path, record["cleaning"])
    # The audit shows each learned removal with its text: in the records (first run) ...
    for path in first:
        learned = [r["text"] for r in records1[path]["cleaning"]["removed_text"] if r["category"] == "learned-boilerplate"]
        assert learned == [LEDGER_NOTE, LEDGER_GROUP], path
    # ... and in the run's audit file (second run).
    audit = list(read_parts(tmp_path / "output" / "ledger" / "cruft"))
    assert {urlsplit(a["url"]).path for a in audit} == set(second) - set(first)
    for line in audit:
        assert [r["text"] for r in line["removed"] if r["category"] == "learned-boilerplate"] == [LEDGER_NOTE, LEDGER_GROUP]

    # The versions of the developing story: one original, the others near-copies of it.
    roots = [records[p]["id"] for p in port if records[p]["duplicate_of"] is None]
    assert len(roots) == 1
    assert sorted(records[p]["duplicate_of"] or "" for p in port) == sorted(["", *roots * 4])
    assert records["/city/council-approves-budget"]["duplicate_of"] is None


# --------------------------------------------------------------------------- label lines in any language

LABEL_LINES = {
    "photo-credit": ["Photo: AFP", "Фото: Дмитрий Азаров, Коммерсантъ", "Foto: picture alliance/dpa | Kay Nietfeld",
                     "(AP Photo/Evan Vucci)", "Crédit photo : Ludovic Marin / AFP", "fot. PAP/Radek Pietruszka",
                     "사진=연합뉴스", "Image: Getty Images"],
    "byline": ["(dmk)", "박준석 기자 외 1명", "Additional reporting from PA", "– additional reporting by Donald Matthys",
               "With reports from Reforma and El Economista",
               "—Associated Press writer John Leicester in Paris contributed to this report.",
               "Reporting by Maya Gebeilly in Beirut; Writing by David Clarke; Editing by Daniel Flynn",
               "Übersetzung: Tristan Oetker-Kast, Redaktion: Theresa Bäuerlein, Schlussredaktion: Lea Schönborn",
               "Aus dem Englischen von Jan Doolan"],
    "dateline": ["18.05.2026", "Stand: 22.04.2024, 06:00 Uhr", "17:41 JST, October 13, 2024",
                 "Sendung: Antenne Brandenburg, 24.04.2024, 15:10 Uhr", "Publié le 22 novembre 2024 à 16h05",
                 "Updated: March 3, 2024 at 5:00 p.m. EST", "Opublikowano: 12.03.2025 10:15", "2024年10月13日",
                 "02:57 Min.. Verfügbar bis 06.05.2024.", "(Published 10 February 2026, 14:32 IST)",
                 "Published in Dawn, February 9th, 2026", "Published in The Express Tribune, February 10th, 2026."],
    "reading-time": ["Lesedauer: 4 Minuten", "Tempo de leitura: 2 minutos", "5 min read", "Temps de lecture : 3 min"],
    "copyright": ["© dpa-infocom, dpa:230428-99-483045/5", "© Copyright Chemnitzer Verlag und Druck GmbH & Co. KG",
                  "<Copyright ⓒ 한국일보. All rights reserved. 무단 전재 및 재배포 금지>", "© The Financial Times Ltd. 2024",
                  "Copyright 2024 The Associated Press. All rights reserved."],
    "embed-notice": ["Empfohlener redaktioneller Inhalt", "Ein Klick für den Datenschutz",
                     "Následuje obsah vložený z jiného webu. Zde jej můžete přeskočit.",
                     "Přejít před obsah vložený z jiného webu.", "Allow Twitter content?"],
    "contact-prompt": ["Got a story? Get in touch with our news team by emailing us at webnews@metro.co.uk."],
    "also-read": ["À lire aussi La natalité russe menacée d’effondrement", "Czytaj więcej", "Lesen Sie auch:",
                  "Mehr zur Lage im Nahen Osten lesen Sie in unserem Liveblog:", "Leggi anche", "Читайте также",
                  "For more stories like this, check our news page.", "Läs också: Regeringen backar",
                  "READ: Fishermen protest against trawlers off Gwadar coast"],
    "advertisement": ["Passer la publicité", "Anzeige", "Reklama", "Publicidad", "광고"],
    "subscription": ["Nouveau : découvrez nos offres Premium !", "Je découvre les offres", "2 Wochen kostenlos testen",
                     "Suscríbete"],
    "donation": ["Unabhängiger Journalismus braucht deine Unterstützung."],
    "comment-prompt": ["You must confirm your public display name before commenting",
                       "Please logout and then login again, you will then be prompted to enter your display name."],
    "follow-us": ["Follow Metro.co.uk on Twitter and Facebook for the latest news updates.", "Síguenos en Instagram",
                  "Folgen Sie uns auf Instagram"],
    "share-bar": ["기사 URL이 복사되었습니다.", "Link copied"],
    "source-credit": ["Quelle: AFP", "(Quelle: APA/sda/dpa)", "Fuente: EFE", "Źródło: PAP"],
    "syndication": ["Dieser Artikel ist zuerst bei \"Capital\" erschienen.",
                    "Dies ist eine maschinelle Übersetzung eines Artikels unserer US-Kollegen."],
}


@pytest.mark.parametrize("category,text", [(c, t) for c, lines in LABEL_LINES.items() for t in lines])
def test_label_lines_in_many_languages_go_by_their_category(category, text):
    assert text_category(text, load_rules()) in {category, *(("photo-credit",) if category == "source-credit" else ())}


# Story sentences that open with the same words as a label line: never cruft.
STORY_LINES = [
    "Photo opportunities were rare during the summit, and the leaders met mostly behind closed doors.",
    "Photo: the ministry said the image showed the damaged bridge.",
    "Foto: Das Bild zeigt den zerstörten Marktplatz nach dem Angriff.",
    "Фото: на снимке показан разрушенный мост, сообщил губернатор.",
    "Stand by your word, the minister told the committee on Tuesday.",
    "Stand: Die Verhandlungen sind nach Angaben der Gewerkschaft gescheitert.",
    "Stand der Dinge ist, dass am 22.04.2024 niemand mehr kam.",
    "Von Berlin aus reiste er am Montag weiter nach Warschau.",
    "Quelle: Das Ministerium teilte mit, dass die Zahlen steigen.",
    "Source: the ministry said the figures were rising.",
    "Copyright law changes were debated in parliament on Tuesday.",
    "Auch interessant ist, dass die Zahl der Anträge gestiegen ist.",
    "Par ailleurs, le gouvernement a annoncé de nouvelles mesures.",
    "Lesen ist für viele Kinder eine Herausforderung, sagte die Ministerin.",
    "Reporting by the BBC revealed that the company had hidden the losses.",
    "Additional reporting by local journalists showed the scale of the damage.",
    "29 November 2018 | 20 January 2019",
    "Reklamacje klientów wzrosły o 20 procent w ubiegłym roku.",
    "Publicidad engañosa: la empresa fue multada por el regulador.",
    "Je profite de ma retraite depuis deux ans, raconte-t-elle.",
    "The meeting on 18.05.2026 was postponed until the autumn.",
    "By Tuesday, the council had voted to approve the budget.",
    "(Published Monday, Nov. 18, 2019)",  # an editor's note (aeb-dev's ground truth keeps it)
    "Published in Nature, the study found that rates rose in January 2024.",
    "Read the full judgment, the lawyer said, and you will see the court agreed with us.",
]


@pytest.mark.parametrize("text", STORY_LINES)
def test_story_sentences_that_open_like_label_lines_stay(text):
    from pipelines.cruft_rules import is_byline

    assert text_category(text, load_rules()) is None
    assert not is_byline(text, ["Anna Sleegers"])
    kept, removed = clean_blocks([{"kind": "p", "text": text, "links": [], "link_chars": 0}], OUTLET, ["Anna Sleegers"])
    assert [b["text"] for b in kept] == [text] and not removed


def test_bylines_go_by_their_names_or_the_records_authors():
    from pipelines.cruft_rules import is_byline

    for line in ("Von Nina Magoley", "von Katja Belousova", "Von Anna Sleegers, Frankfurt", "By Jane Doe and John Roe",
                 "Par Jean Dupont", "Por Juan Pérez", "Av Kari Nordmann"):
        assert is_byline(line), line
    for line in ("By The Numbers", "Von Berlin aus", "By Tuesday, the council had voted", "by the time we arrived",
                 "Di sera la piazza era piena", "Par avion"):
        assert not is_byline(line), line
    # The record's own authors: a name alone, or under a "by" word whatever its case.
    assert is_byline("Daniel Aragón", ["Daniel Aragón"]) and not is_byline("Daniel Aragón")
    assert is_byline("MTHOBISI SITHOLE", ["Mthobisi Sithole"])
    assert is_byline("Par Les Echos", ["Les Echos"]) and not is_byline("Par Les Echos")
    blocks = [{"kind": "p", "text": t, "links": [], "link_chars": 0} for t in ("Von Nina Magoley", *STORY[:2])]
    kept, removed = clean_blocks(blocks, OUTLET, ["Nina Magoley"])
    assert [b["text"] for b in kept] == STORY[:2] and removed == Counter({"byline": 1})


def test_whole_block_labels_never_judge_a_heading_or_an_element_in_the_page():
    """A date may head a section of a timeline, or sit in a <span> inside a sentence: the
    whole-block categories (dates, bylines, reading times) judge extracted paragraphs only."""
    heading = {"kind": "h", "text": "18.05.2026", "links": [], "link_chars": 0}
    para = {"kind": "p", "text": "The ministry announced the new rules in a statement on Monday evening.", "links": [],
            "link_chars": 0}
    kept, removed = clean_blocks([heading, para], OUTLET)
    assert [b["text"] for b in kept] == ["18.05.2026", para["text"]] and not removed
    tree = lxml.html.fromstring("<html><body><article><p>The meeting on <span>18.05.2026</span> was moved, "
                                "<span>Von Anna Sleegers</span> wrote.</p><p>Photo: AFP</p></article></body></html>")
    removed = preclean_dom(tree, OUTLET)
    assert "18.05.2026" in tree.text_content() and "Von Anna Sleegers" in tree.text_content()
    assert removed == Counter({"photo-credit": 1})


def teaser_card(i: int) -> str:
    """A teaser card as news sites list them: one link holding a headline, a date and a
    long excerpt of another story."""
    excerpt = (f"OTHER STORY {i}: An official said on Tuesday that the talks on the harbour project number {i} would "
               "resume next month, after a pause that lasted most of the summer, and that both sides expected to "
               "settle the remaining questions of cost, schedule and the share of work given to local firms before "
               "the end of the year, although several members of the council said they remained doubtful about it")
    return (f"<li><a href='/other/{i}'><div><h3>Harbour talks to resume, part {i}</h3><div>2024-10-14</div>"
            f"<p>{excerpt}</p></div></a></li>")


def test_an_announced_list_of_long_teaser_cards_goes_and_the_story_stays():
    # Four cards: past the length up to which the DOM rules judge a block by its words,
    # and holding long paragraphs of their own, as a story's container would.
    cards = "".join(teaser_card(i) for i in range(4))
    story = STORY + [f"{para} (Part {part}.)" for part in ("two", "three") for para in STORY]
    html = page(story=story, tail=f"<div class='box'><h2>You might also like</h2><ul>{cards}</ul></div>")
    text, removed = run(html)
    assert_story_intact(text, story)
    assert "OTHER STORY" not in text and "Harbour talks" not in text
    assert removed["also-read"] >= 1


def test_a_story_container_that_opens_with_an_announcement_is_not_taken_for_a_list():
    # The story's own paragraphs are not link text: announced or not, its container stays.
    html = page(story=["Related"] + STORY, tail="<p><a href='/other/1'>Another story entirely</a></p>")
    text, _ = run(html)
    assert_story_intact(text)
