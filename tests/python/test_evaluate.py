"""scriptqa.evaluate: the library's labelled-set scoring, with the numbers `scriptqa eval` prints."""

import json
import os

import pytest

import scriptqa

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")

RECORDS = [
    {"id": "a", "text": "亲，这款是全网最低价", "expect": "flag", "category": "ad_law", "span": [5, 9]},
    {"id": "b", "text": "最快明天就能送到您家", "expect": "pass", "category": "ad_law"},
    {"id": "c", "text": "加我薇信聊", "expect": "flag", "category": "off_platform", "evasion": "homophone"},
    {"id": "d", "text": "这款面料挺舒服的", "expect": "flag", "category": "ad_law"},
]


def test_counts_outcomes_and_problems_from_records():
    ev = scriptqa.evaluate(RECORDS)
    o = ev.overall
    assert (o["violations"], o["caught"], o["harmless"], o["false_alarms"]) == (3, 2, 1, 0)
    assert o["recall"] == pytest.approx(2 / 3)
    assert ev.by_category["ad_law"]["caught"] == 1
    assert ev.by_evasion["homophone"]["recall"] == 1.0
    assert [(p["id"], p["outcome"]) for p in ev.problems] == [("d", "missed")]
    assert "ad_law" in str(ev) and "recall" in str(ev)


def test_a_file_gives_what_the_cli_gives(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n", encoding="utf-8")
    assert scriptqa.evaluate(str(path)).to_dict() == scriptqa.evaluate(RECORDS).to_dict()


def test_flag_at_block_ignores_review_findings():
    ev = scriptqa.evaluate(RECORDS, flag_at="block")
    assert ev.by_category["ad_law"]["caught"] == 0  # ad_law findings are review
    assert ev.by_category["off_platform"]["caught"] == 1


def test_a_custom_filter_is_scored():
    f = scriptqa.Filter.from_terms(["舒服"], category="ad_law", severity="review")
    ev = scriptqa.evaluate(RECORDS, f)
    assert [p["id"] for p in ev.problems if p["outcome"] == "missed"] == ["a", "c"]


def test_bad_input_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "expect": "flag", "category": "ad_law"}\n{"text": 5}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        scriptqa.evaluate(str(path))
    with pytest.raises(ValueError, match="flag_at"):
        scriptqa.evaluate(RECORDS, flag_at="severe")
    with pytest.raises(TypeError):
        scriptqa.evaluate(RECORDS[0])
    with pytest.raises(TypeError):
        scriptqa.evaluate(b"x")


def test_the_shipped_test_split_loads():
    ev = scriptqa.evaluate(os.path.join(ROOT, "tests", "quality", "test.jsonl"))
    assert ev.overall["violations"] == 660 and ev.overall["harmless"] == 540
