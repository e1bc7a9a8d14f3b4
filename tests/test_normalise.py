import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscrawl.urls import canonicalize_url
from pipelines.normalise import (
    choose_canonical_url,
    choose_language,
    clean_authors,
    normalise_record,
    normalise_text,
    parse_datetime,
)
from pipelines.words import tokens, word_count
from tests import texts
from tests.pipeline_run import make_crawler, outlet, raw_record, run
from pipelines.normalise import NormalisePipeline

KARACHI = outlet("daily-a", "Asia/Karachi")


# --- text ------------------------------------------------------------------------------

@pytest.mark.parametrize("broken, fixed", [
    ("CafÃ© au lait", "Café au lait"),
    ("naÃ¯ve rÃ©sumÃ©", "naïve résumé"),
    ("Itâ€™s a â€œtestâ€\x9d", "It’s a “test”"),
])
def test_mojibake_is_repaired(broken, fixed):
    assert normalise_text(broken) == fixed


@pytest.mark.parametrize("raw, expected", [
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("caf&eacute; &#x2019;", "café ’"),
    ("AT&T and R&D", "AT&T and R&D"),  # no entity: nothing for ftfy to do
    ("a &amp\x00; b", "a & b"),  # ftfy removes the NUL, then decodes the entity it leaves
])
def test_html_entities_are_decoded(raw, expected):
    assert normalise_text(raw) == expected


MOJIBAKE_SAMPLES = [
    "CafÃ© au lait", "Itâ€™s a â€œtestâ€\x9d", "Ã\xa0 la carte", "Ø³Ù„Ø§Ù…", "вЂ™", "Ð¼Ð¾Ñ\x81ÐºÐ²Ð°",
    "ÃƒÂ©tÃƒÂ©", "Î¼ÎµÏ„Î¬", "the 25Â° mark", "Â£5", "â\x80\x94", "ГўВЂВњquoteГўВЂВќ",
    "naïve café, Zürich, 5 × 3 ½, £5 and €3, “quoted” — fine", "São Paulo; Ça va? Øresund",
    "В Москве «сегодня» — 5 °C", "Ω ≈ 3 √2 ≠ 1", "ÀÉÎÕÜ ñ ß œ Œ",
]


@pytest.mark.parametrize("text", MOJIBAKE_SAMPLES + [getattr(texts, name) for name in (
    "URDU", "ARABIC", "PERSIAN", "HINDI", "MARATHI", "NEPALI", "BENGALI", "CHINESE", "ENGLISH")])
def test_mojibake_check_agrees_with_ftfy(text):
    import ftfy.badness

    from pipelines.normalise import _looks_like_mojibake

    for variant in (text, f"x{text}y", f"{text} {text}", text[3:], text[:-3]):
        assert _looks_like_mojibake(variant) == ftfy.badness.is_bad(variant), variant


def _badness_matches():
    import ftfy.badness

    return st.from_regex(ftfy.badness.BADNESS_RE, fullmatch=True)


@settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(match=st.deferred(_badness_matches), before=st.text(alphabet="abc \u00e9", max_size=12),
       after=st.text(alphabet="abc \u00e9", max_size=12))
def test_every_match_of_ftfys_mojibake_check_holds_a_marked_character(match, before, after):
    """_looks_like_mojibake searches ftfy's badness regex only within _MOJIBAKE_MAX_LEN
    characters of a character of _mojibake_mark_re(). That gives is_bad's answer while every
    text the regex matches holds one such character and is no longer than that: checked on
    texts drawn from the regex itself, alone and inside clean text."""
    import ftfy.badness

    from pipelines.normalise import _MOJIBAKE_MAX_LEN, _looks_like_mojibake, _mojibake_mark_re

    assert len(match) <= _MOJIBAKE_MAX_LEN and _mojibake_mark_re().search(match), match
    text = before + match + after
    assert _looks_like_mojibake(text) == ftfy.badness.is_bad(text), text


def test_invisible_and_control_characters_are_removed():
    text = "Zero\u200bwidth\ufeff word\u2060join, soft\u00adhyphen, \u202eevil\u202c \u2066iso\u2069\x07\x00 end\u200f"
    assert normalise_text(text) == "Zerowidth wordjoin, softhyphen, evil iso end"


def test_joiners_needed_by_persian_and_indic_scripts_are_kept():
    assert "\u200c" in normalise_text(texts.PERSIAN)
    assert normalise_text("क्\u200dष") == "क्\u200dष"


def test_whitespace_and_paragraphs():
    raw = "  First\u00a0 para\tgraph  \r\n\r\n\r\n\n   Second\u2003line one\nline two  \n \n\nThird\u2029Fourth"
    assert normalise_text(raw) == "First para graph\n\nSecond line one\nline two\n\nThird\n\nFourth"


def test_nfc():
    assert normalise_text("e\u0301") == "\u00e9"


@pytest.mark.parametrize("name", ["URDU", "ARABIC", "PERSIAN", "HINDI", "MARATHI", "NEPALI", "BENGALI", "CHINESE"])
def test_non_latin_scripts_pass_intact(name):
    assert normalise_text(getattr(texts, name)) == getattr(texts, name)


def test_word_count_counts_cjk_characters_and_indic_words():
    assert word_count("Hello, world — again!") == 3
    assert word_count("国务院总理") == 5
    assert word_count("प्रधानमंत्री ने आज") == 3


@pytest.mark.parametrize("text, words", [
    ("“Hello,” he said — 3.5% x_y _", ["hello", "he", "said", "3.5%", "x_y"]),
    ("国务院 (abc中) said.", ["国", "务", "院", "(abc", "中", "said"]),  # a word with CJK is cut, not stripped
])
def test_tokens(text, words):
    from pipelines.words import _WORD_EDGE_PUNCTUATION

    assert tokens(text) == words
    assert not any(ch.isalnum() for ch in _WORD_EDGE_PUNCTUATION)  # tokens() relies on it


def test_worker_shingle_hashes_and_word_count_are_those_of_the_normalised_text():
    from pipelines.normalise import normalise_stage, shingle_hashes
    from pipelines.work import WORK

    for text in (texts.WIRE_STORY, texts.CHINESE, "Too short."):
        record, _ = normalise_stage(raw_record("https://daily-a.test/n/1", text, "daily-a"), KARACHI)
        assert record[WORK].shingle_hashes == shingle_hashes(record["text"])
        assert record["word_count"] == word_count(record["text"])


# --- dates -----------------------------------------------------------------------------

NOW = __import__("datetime").datetime.fromisoformat("2025-08-04T09:30:00+00:00")


@pytest.mark.parametrize("value, expected", [
    ("2025-08-01T10:15:00+02:00", "2025-08-01T10:15:00+02:00"),  # offset given: kept
    ("2025-08-01T10:15:00Z", "2025-08-01T10:15:00+00:00"),
    ("2025-08-01 10:15", "2025-08-01T10:15:00+05:00"),  # naive: outlet zone
    ("August 1, 2025 10:15 AM", "2025-08-01T10:15:00+05:00"),
    ("2025-08-01", "2025-08-01T00:00:00+05:00"),  # date only: midnight in outlet zone
    ("2025-08-05T10:00:00+05:00", "2025-08-05T10:00:00+05:00"),  # a day ahead: clock skew, kept
    ("2025-08-01T10:15:00.123Z", "2025-08-01T10:15:00+00:00"),
    ("2025-08-01T10:15:00+0530", "2025-08-01T10:15:00+05:30"),
    ("2025-08-01T10:15:00.1234567+02:00", "2025-08-01T10:15:00+02:00"),  # 7 digits: dateutil's
    ("2025-08-01T24:00:00+05:00", "2025-08-02T00:00:00+05:00"),  # 24:00: dateutil's
])
def test_dates_are_iso_8601_with_offset(value, expected):
    assert parse_datetime(value, "Asia/Karachi", now=NOW) == (expected, None)


DAYS = ("2025-08-01", "2024-02-29", "1999-12-31")


@pytest.mark.parametrize("value", [*DAYS, *(
    f"{day}{time}{fraction}{offset}"
    for day in DAYS
    for time in ("T00:00:00", "T10:15:59", "T23:59:59", "T24:00:00")
    for fraction in ("", ".0", ".123", ".123456")
    for offset in ("", "Z", "+00:00", "-00:00", "+0000", "+05:30", "-0800", "+14:00")
)])
def test_plain_iso_dates_read_as_dateutil_reads_them(value):
    from dateutil import parser

    from pipelines.normalise import _PLAIN_ISO_RE, _parse_date_text

    def reading(parse):
        try:
            dt = parse(value)
            return dt, dt.utcoffset()
        except (ValueError, OverflowError) as exc:
            return type(exc)

    def dateutils(text):
        try:
            return parser.isoparse(text)
        except (ValueError, OverflowError):
            return parser.parse(text)

    assert _PLAIN_ISO_RE.fullmatch(value)
    assert reading(_parse_date_text) == reading(dateutils)


@pytest.mark.parametrize("value, warning", [
    ("2099-12-31", "future"),
    ("1970-01-01T00:00:00Z", "before 1990"),
    ("next Tuesday-ish", "unparseable"),
])
def test_impossible_dates_are_dropped_with_a_warning(value, warning):
    iso, message = parse_datetime(value, "Asia/Karachi", now=NOW)
    assert iso is None and warning in message


def test_dropped_date_is_logged_and_counted_by_the_pipeline(tmp_path, caplog):
    crawler = make_crawler(tmp_path, KARACHI)
    item = raw_record("https://daily-a.test/a/1", texts.WIRE_AT_A, "daily-a", published_at="2099-01-01")
    [record], _ = run(crawler, [item], stages=(NormalisePipeline,))
    assert record["published_at"] is None
    assert crawler.stats.get_value("newscrawl/warnings/published_at") == 1
    assert "future" in caplog.text


# --- authors ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("By John Smith and Jane Doe", ["John Smith", "Jane Doe"]),
    ("Staff Reporter", []),
    ("Our Correspondent, Lahore", []),
    ("PTI", ["PTI"]),
    ("John Smith, Reuters", ["John Smith", "Reuters"]),
    ("By AFP", ["AFP"]),
    ("reuters", ["Reuters"]),
    (["By John Smith", "JOHN SMITH", "john smith"], ["John Smith"]),
    ("By Ayesha Khan ayesha.khan@example.com | https://example.com/ayesha", ["Ayesha Khan"]),
    ("Written by Ravi Kumar & Meera Nair; PTI", ["Ravi Kumar", "Meera Nair", "PTI"]),
    ([{"name": "Sara Ali"}, "  "], ["Sara Ali"]),
    (None, []),
])
def test_authors(raw, expected):
    assert clean_authors(raw) == expected


# --- language --------------------------------------------------------------------------

@pytest.mark.parametrize("name, code", [
    ("URDU", "ur"), ("ARABIC", "ar"), ("PERSIAN", "fa"),
    ("HINDI", "hi"), ("MARATHI", "mr"), ("NEPALI", "ne"),
    ("BENGALI", "bn"), ("CHINESE", "zh"), ("ENGLISH", "en"),
])
def test_language_detected_when_not_declared(name, code):
    assert choose_language(None, getattr(texts, name)) == (code, None)


@pytest.mark.parametrize("declared, expected", [
    ("en-US", "en"), ("EN_gb", "en"), ("zh-Hant-TW", "zh-Hant"), ("ur-PK", "ur"), ("en, fr", "en"),
])
def test_declared_language_is_normalised(declared, expected):
    text = texts.URDU if expected == "ur" else texts.ENGLISH
    if expected.startswith("zh"):
        text = texts.CHINESE
    assert choose_language(declared, text)[0] == expected


def test_template_default_language_is_overridden_by_the_text():
    language, warning = choose_language("en-US", texts.URDU * 2)
    assert language == "ur" and "overridden" in warning


def test_garbage_declaration_falls_back_to_detection():
    assert choose_language("<?php echo $lang ?>", texts.ARABIC)[0] == "ar"


# --- canonical URLs --------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("https://Daily-A.TEST/news/1?utm_source=fb&utm_medium=social#comments", "https://daily-a.test/news/1"),
    ("https://daily-a.test/news/1?id=7&fbclid=abc&gclid=x&page=2", "https://daily-a.test/news/1?id=7&page=2"),
    ("HTTP://daily-a.test:80", "http://daily-a.test/"),
    ("https://daily-a.test:8443/a?mc_cid=1&_ga=2", "https://daily-a.test:8443/a"),
])
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


def test_canonical_link_on_the_same_site_is_used():
    url = "https://m.daily-a.test/story/9?utm_source=x"
    assert choose_canonical_url(url, "https://www.daily-a.test/story/9#top", KARACHI) == (
        "https://www.daily-a.test/story/9", None)
    assert choose_canonical_url(url, "/story/9-slug", KARACHI)[0] == "https://m.daily-a.test/story/9-slug"


@pytest.mark.parametrize("declared, why", [
    ("https://aggregator.example/story/9", "other site"),
    ("https://daily-a.test/", "home page"),
    ("javascript:void(0)", "not http"),
])
def test_bad_canonical_link_falls_back_to_the_fetched_url(declared, why):
    canonical, warning = choose_canonical_url("https://daily-a.test/story/9?fbclid=1", declared, KARACHI)
    assert canonical == "https://daily-a.test/story/9" and why in warning


# --- the whole record ------------------------------------------------------------------

def test_record_through_the_pipeline_keeps_rtl_text_and_computes_fields(tmp_path):
    crawler = make_crawler(tmp_path, KARACHI)
    body = "\u202b" + texts.URDU + "\u202c\n\n\n" + texts.URDU.replace("۔", "۔\u200b")
    item = raw_record("https://daily-a.test/urdu/1?utm_campaign=z", body, "daily-a", language=None,
                      authors=["By Staff Reporter"], published_at="2025-08-01 18:00")
    [record], _ = run(crawler, [item], stages=(NormalisePipeline,))
    assert record["text"] == texts.URDU + "\n\n" + texts.URDU
    assert record["language"] == "ur"
    assert record["authors"] == []
    assert record["published_at"] == "2025-08-01T18:00:00+05:00"
    assert record["canonical_url"] == "https://daily-a.test/urdu/1"
    assert len(record["id"]) == 32 and record["content_hash"].startswith("sha256:")
    assert record["schema_version"] == 1 and record["revision"] == 1
    assert record["cleaning"]["pipeline_version"]


def test_same_canonical_url_gives_the_same_id():
    a, _ = normalise_record(raw_record("https://daily-a.test/x?utm_source=1", "t", "daily-a"), KARACHI)
    b, _ = normalise_record(raw_record("https://DAILY-A.test/x#frag", "t", "daily-a"), KARACHI)
    assert a["id"] == b["id"]


def test_bracketed_initials_after_a_name_are_dropped():
    assert clean_authors(["Elena Oberholzer (obe)", "Jo Roe [@jroe]"]) == ["Elena Oberholzer", "Jo Roe"]


def test_a_bracket_left_open_is_dropped():
    assert clean_authors(["Elena Oberholzer (obe"]) == ["Elena Oberholzer"]


def test_last_comma_first_is_one_person():
    assert clean_authors(["You, Xiaoying"]) == ["Xiaoying You"]
    # Two names a side, or a wire and a place, are a list.
    assert clean_authors(["Jane Doe, John Roe"]) == ["Jane Doe", "John Roe"]
    assert clean_authors(["AP, Reuters"]) == ["AP", "Reuters"]


def test_url_slugs_and_handles_are_not_authors():
    assert clean_authors(["Sophie Foster", "sophie-foster", "@sfoster"]) == ["Sophie Foster"]


def test_and_in_other_languages_splits_a_byline():
    assert clean_authors(["Trine Jørgensen og Tôrtia Reimer"]) == ["Trine Jørgensen", "Tôrtia Reimer"]
    assert clean_authors(["Ana Ruiz y Luis Gil"]) == ["Ana Ruiz", "Luis Gil"]
    assert clean_authors(["John E Smith"]) == ["John E Smith"]  # an initial, not "and"


def test_author_label_and_korean_reporter_title_are_dropped():
    assert clean_authors(["Autor Monika Bolliger", "신현주 기자"]) == ["Monika Bolliger", "신현주"]
