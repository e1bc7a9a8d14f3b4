"""The fundus-dev scoring rules: body normalisation and tokens, metadata comparisons."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bench.metadata_eval import (authors_correct, fundus_field_correct, fundus_title_correct, parse_when,
                                 published_same)
from bench.metrics import fundus_tokens, score_page, tokenize


def test_han_and_kana_are_one_token_per_character():
    assert tokenize("東京都に住む") == ["東京都に住む"]
    assert fundus_tokens("東京都に住む") == ["東", "京", "都", "に", "住", "む"]
    assert fundus_tokens("カタカナ・ｶﾅ") == ["カ", "タ", "カ", "ナ", "ｶ", "ﾅ"]
    # Hangul is written with spaces: words stay whole, as do Latin words beside Han.
    assert fundus_tokens("한국어 단어 abc漢字") == ["한국어", "단어", "abc", "漢", "字"]


def test_one_differing_character_costs_only_nearby_shingles_in_japanese():
    truth = "政府は本日新しい経済対策を発表した"
    extracted = "政府は本日新しい経済政策を発表した"
    assert score_page(truth, extracted).f1 == 0.0  # one \w+ token each, and they differ
    assert score_page(truth, extracted, tokens=fundus_tokens).f1 > 0.6


def test_composed_and_decomposed_accents_match():
    composed, decomposed = "Café naïve résumé über", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 u\u0308ber"
    assert fundus_tokens(composed) == fundus_tokens(decomposed) == ["Café", "naïve", "résumé", "über"]
    assert score_page(composed, decomposed, tokens=fundus_tokens).f1 == 1.0
    assert score_page(composed, decomposed).f1 < 1.0


def test_invisible_characters_do_not_split_words():
    shown = "Donau\u00addampf\u00adschiff\u200bfahrt und Zero\u200cwidth\u200dJoin\u2060er \ufeffBOM"
    assert fundus_tokens(shown) == ["Donaudampfschifffahrt", "und", "ZerowidthJoiner", "BOM"]
    assert score_page("Donaudampfschifffahrt ist ein langes Wort", "Donau\u00addampf\u00adschifffahrt ist ein "
                      "langes Wort", tokens=fundus_tokens).f1 == 1.0


def test_title_ignores_quotes_spacing_and_case():
    assert fundus_title_correct("Merz: „Wir schaffen das“", "MERZ:  \"Wir schaffen das\"")
    assert fundus_title_correct("L’été «chaud»", "l'été chaud")
    assert not fundus_title_correct("Merz: Wir schaffen das", "Merz: Wir schaffen das | Die Zeit")
    assert not fundus_title_correct("", None)


def test_authors_compare_as_lower_cased_sets():
    assert authors_correct(["Anne-Marie Slaughter", "Bob Roe"], ["bob roe", "ANNE-MARIE SLAUGHTER"])
    assert not authors_correct(["Anne-Marie Slaughter", "Bob Roe"], ["Anne-Marie Slaughter"])
    assert not authors_correct(["Anne-Marie Slaughter"], ["Anne-Marie Slaughter", "dpa"])
    assert authors_correct([], None)


def test_midnight_is_a_date_only():
    assert parse_when("2024-04-30 00:00:00") == date(2024, 4, 30)
    assert parse_when("2025-11-03 00:00:00+00:00") == date(2025, 11, 3)
    assert isinstance(parse_when("2025-06-05 12:36:40+02:00"), datetime)
    # Midnight against a time later that day: the dates agree, so it is right.
    assert published_same("2025-11-03 00:00:00+00:00", "2025-11-03T17:45:00+01:00")
    assert published_same("2024-04-30 00:00:00", "2024-04-30")
    assert not published_same("2024-04-30 00:00:00", "2024-04-29T23:00:00+02:00")


def test_published_times_compare_as_instants_to_the_minute():
    truth = "2025-06-05 12:36:40+02:00"
    assert published_same(truth, "2025-06-05T10:36:05Z")
    assert published_same(truth, "2025-06-05T12:36+02:00")
    assert not published_same(truth, "2025-06-05T12:36:40+00:00")  # same wall clock, other instant
    assert not published_same(truth, "2025-06-05T12:37:40+02:00")
    assert published_same(truth, "2025-06-05")  # one side without a time: the date decides
    assert not published_same(truth, "2025-06-06")
    assert not published_same(truth, None) and not published_same(truth, "yesterday")


def test_a_naive_ground_truth_time_is_the_pages_wall_clock():
    assert published_same("2024-04-25 04:21:02", "2024-04-25T04:21:59-04:00")
    assert not published_same("2024-04-25 04:21:02", "2024-04-25T08:21:02+00:00")


def test_fundus_fields_read_the_ground_truth_names():
    truth = {"title": "A title", "authors": ["Ann Lee"], "published": "2024-01-07 01:20:00+00:00"}
    got = {"title": "a title", "authors": ["ann lee"], "published": "2024-01-07T02:20:30+01:00"}
    assert all(fundus_field_correct(f, truth, got) for f in ("title", "authors", "published"))
    with pytest.raises(ValueError):
        fundus_field_correct("language", truth, got)
