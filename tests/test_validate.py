import asyncio
import json

import pytest
from jsonschema import Draft202012Validator
from scrapy.exceptions import DropItem

from pipelines.normalise import NormalisePipeline, normalise_record
from pipelines.write import WritePipeline
from pipelines.validate import ValidatePipeline, schema, validate_record
from pipelines.parts import read_parts
from tests import texts
from tests.pipeline_run import make_crawler, outlet, raw_record, run

DAILY = outlet("daily-a", "Asia/Karachi")


def good_record(text=texts.WIRE_AT_A, **fields):
    record, _ = normalise_record(raw_record("https://daily-a.test/n/1", text, "daily-a", **fields), DAILY)
    return {k: v for k, v in record.items() if not k.startswith("_")}


def test_shipped_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(schema())
    assert schema()["additionalProperties"] is False
    assert {"schema_version", "id", "cleaning", "revision", "discovered_from"} <= set(schema()["required"])


def test_normalised_record_is_valid():
    assert validate_record(good_record()) == []


@pytest.mark.parametrize("change, reason", [
    ({"text": ""}, "text is empty"),
    ({"title": None}, "title: None is not of type 'string'"),
    ({"published_at": "2025-08-04 10:00"}, "published_at: '2025-08-04 10:00' is not a 'date-time'"),
    ({"url": "not a url"}, "url: 'not a url' is not a 'uri'"),
    ({"surprise": 1}, "Additional properties are not allowed ('surprise' was unexpected)"),
    ({"cleaning": {"removed": {"nav": -1}, "extractor": "x", "pipeline_version": "1"}}, "cleaning/removed/nav"),
    ({"revision": 0}, "revision: 0 is less than the minimum of 1"),
    ({"duplicate_of": "xyz"}, "duplicate_of: 'xyz' does not match"),
])
def test_invalid_records_have_readable_reasons(change, reason):
    reasons = validate_record({**good_record(), **change})
    assert any(reason in r for r in reasons), reasons


def test_missing_field_is_a_reason():
    record = good_record()
    del record["language"]
    assert "record: 'language' is a required property" in validate_record(record)


def test_short_text_is_rejected_by_min_words():
    record = good_record(text="Too short to be an article.")
    assert validate_record(record) == ["text has 6 words, fewer than 50"]
    assert validate_record(record, min_words=3) == []


def test_pipeline_writes_rejects_with_reasons_and_counts_them(tmp_path):
    crawler = make_crawler(tmp_path, DAILY, NEWSCRAWL_MIN_WORDS=20)
    items = [
        raw_record("https://daily-a.test/n/ok", texts.WIRE_AT_A, "daily-a"),
        raw_record("https://daily-a.test/n/short", "Subscribe to our newsletter.", "daily-a"),
        raw_record("https://daily-a.test/n/empty", "\u200b \n ", "daily-a", title=""),
    ]
    kept, dropped = run(crawler, items, stages=(NormalisePipeline, ValidatePipeline, WritePipeline))
    assert [r["url"] for r in kept] == ["https://daily-a.test/n/ok"]
    assert "_debug" not in kept[0]  # internal fields travel with the item and are dropped at the write
    assert len(dropped) == 2 and all(d.startswith("invalid record:") for d in dropped)

    rejects = list(read_parts(tmp_path / "output" / "daily-a" / "rejects"))
    assert [p.name for p in (tmp_path / "output" / "daily-a" / "rejects").iterdir()] == ["2025-08-04"]
    assert [r["url"] for r in rejects] == ["https://daily-a.test/n/short", "https://daily-a.test/n/empty"]
    assert rejects[0]["reasons"] == ["text has 4 words, fewer than 20"]
    assert "text is empty" in rejects[1]["reasons"]
    assert any(r.startswith("title:") for r in rejects[1]["reasons"])
    assert rejects[1]["record"]["url"] == "https://daily-a.test/n/empty"

    stats = crawler.stats.get_stats()
    assert stats["newscrawl/rejected"] == 2
    assert stats["newscrawl/rejected/too_short"] == 1
    assert stats["newscrawl/rejected/empty_text"] == 1
    assert stats["newscrawl/rejected/schema/title/type"] == 1
    assert stats["newscrawl/valid"] == 1


def test_pipeline_raises_dropitem_directly(tmp_path):
    crawler = make_crawler(tmp_path, DAILY)
    pipe = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match="text is empty"):
        asyncio.run(pipe.process_item({**good_record(), "text": ""}))
    pipe.close_spider()
    line = (tmp_path / "output" / "daily-a" / "rejects").glob("*/part-*.jsonl").__next__().read_text()
    assert json.loads(line)["reasons"][0] == "text is empty"


def _odd_values():
    """Values of every JSON type and a few that are not JSON, for every field."""
    from decimal import Decimal

    return [None, "", "x", " ", "x\n", 0, 1, -1, 1.0, 1.5, float("nan"), True, False, Decimal(1), [], ["a"],
            ["a", "a"], [""], [1], ("a",), [("a",)], [{"a"}], {}, {"a": 1}, {"category": "c", "text": "t"},
            "https://x.test/a", "https://x.test/a\n", "2025-08-04T10:00:00+00:00", "2025-08-04T10:00:00+00:00\n",
            "2025-13-04T10:00:00+00:00", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef\n",
            "en", "en-Latn", "en\n", "sha256:" + "0" * 64]


def test_quick_validator_gives_jsonschemas_verdict_and_reasons():
    """check_record trusts the compiled validator only when it passes a record; every
    record it passes must be one jsonschema passes too, and the reasons are jsonschema's."""
    from pipelines.validate import _schema_errors, _validator

    def full(record):
        return [(e.validator, list(e.absolute_path), e.message) for e in
                sorted(_validator().full.iter_errors(record), key=lambda e: list(e.absolute_path))]

    base = good_record()
    cleaning = base["cleaning"]
    records = [base]
    for field in [*base, "surprise"]:
        records += [{**base, field: value} for value in _odd_values()]
    for field in ["removed", "extractor", "pipeline_version", "removed_text", "surprise"]:
        records += [{**base, "cleaning": {**cleaning, field: value}} for value in _odd_values()]
    records += [{**base, "cleaning": {**cleaning, "removed_text": [value]}} for value in _odd_values()]
    records += [{**base, "cleaning": {**cleaning, "removed": {"nav": value}}} for value in _odd_values()]
    records += [{k: v for k, v in base.items() if k != field} for field in base]
    passed = 0
    for record in records:
        errors = [(e.validator, list(e.absolute_path), e.message) for e in _schema_errors(record)]
        assert errors == full(record), record
        passed += not errors
    assert 50 < passed < len(records) / 2  # both verdicts well represented
