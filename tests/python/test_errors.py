"""Errors: every failure is a scriptqa.Error subclass carrying what the caller needs."""
import os
import pickle

import pytest

import scriptqa

GOOD_RULE = ["rule t.ok", "  literal 最佳", "  reason 测试"]


def rules_text(*lines):
    return "\n".join(["%format scriptqa-rules 1", "%default category ad_law", "%default severity review", *lines]) + "\n"


def test_dictionary_error_lists_every_problem(tmp_path):
    lines = [
        "rule t.one",                # line 4
        "  literal 最佳",
        "  colour red",              # line 6: unknown key
        "  reason 测试",
        "rule t.two",                # line 8
        "  literal 第一",
        "  severity fatal",          # line 10: unknown severity
        "  reason 测试",
    ]
    path = tmp_path / "bad.rules"
    path.write_text(rules_text(*lines), encoding="utf-8")
    with pytest.raises(scriptqa.DictionaryError) as info:
        scriptqa.Filter.from_dictionaries([path])
    e = info.value
    assert isinstance(e, scriptqa.Error) and isinstance(e, ValueError)
    assert (e.file, e.line, e.rule_id) == (str(path), 6, "t.one")
    assert [(p.file, p.line, p.rule_id) for p in e.problems] == [(str(path), 6, "t.one"), (str(path), 10, "t.two")]
    assert "colour" in e.problems[0].message and "fatal" in e.problems[1].message
    assert str(e.problems[0]).startswith(f"{path}:6: rule t.one: ")
    assert e.code == "INVALID_ARGUMENT"


def test_dictionary_error_across_files_and_missing_files(tmp_path):
    dup_a = scriptqa.DictionarySource.text("a.rules", rules_text(*GOOD_RULE))
    dup_b = scriptqa.DictionarySource.text("b.rules", rules_text(*GOOD_RULE))
    missing = tmp_path / "missing.rules"
    with pytest.raises(scriptqa.DictionaryError) as info:
        scriptqa.Filter.from_dictionaries([dup_a, dup_b, missing])
    problems = info.value.problems
    assert ("b.rules", 4, "t.ok") in [(p.file, p.line, p.rule_id) for p in problems]
    assert any("a.rules:4" in p.message for p in problems)          # names the first definition
    assert (str(missing), None) in [(p.file, p.line) for p in problems]


def test_dictionary_error_bad_regex_and_options():
    bad_regex = rules_text("rule t.re", "  regex 最(佳", "  reason 测试")
    with pytest.raises(scriptqa.DictionaryError) as info:
        scriptqa.Filter.from_dictionaries([scriptqa.DictionarySource.text("re.rules", bad_regex)])
    # The rule starts on line 4, its regex is on line 5 (the core names the rule's line today).
    assert (info.value.file, info.value.rule_id) == ("re.rules", "t.re") and info.value.line in (4, 5)
    assert "最(佳" in info.value.problems[0].message
    with pytest.raises(scriptqa.DictionaryError) as info:
        scriptqa.Filter.from_dictionaries([scriptqa.DictionarySource.text("ok.rules", rules_text(*GOOD_RULE))],
                                          disabled_rules=["no_such_category"])
    assert info.value.file is None and "no_such_category" in info.value.problems[0].message
    with pytest.raises(ValueError):
        scriptqa.DictionarySource.text("x", "y", kind="yaml")


def test_database_errors(default_filter):
    blob = default_filter.serialize()
    with pytest.raises(scriptqa.DatabaseError) as info:
        scriptqa.Filter.load(b"definitely not a database")
    assert not isinstance(info.value, scriptqa.IncompatibleDatabaseError)
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(scriptqa.DatabaseError):
        scriptqa.Filter.load(bytes(damaged))
    with pytest.raises(scriptqa.DatabaseError):
        scriptqa.Filter.load(blob[: len(blob) // 3])
    # Another format version (as if written by another release): incompatible, not damaged.
    other_version = blob[:8] + (99).to_bytes(4, "little") + blob[12:]
    with pytest.raises(scriptqa.IncompatibleDatabaseError) as info:
        scriptqa.Filter.load(other_version)
    assert info.value.code == "FAILED_PRECONDITION"
    with pytest.raises(FileNotFoundError):
        scriptqa.Filter.load("/nonexistent/scriptqa.sqdb")


def test_profile_errors(default_filter):
    with pytest.raises(scriptqa.ProfileError) as info:
        default_filter.profile(categories=["no_such_category"])
    assert "no_such_category" in str(info.value)
    with pytest.raises(scriptqa.ProfileError):
        default_filter.profile(disabled=["no.such.rule"])
    with pytest.raises(scriptqa.ProfileError):
        default_filter.profile(deny_terms=["。。"])  # normalises to nothing
    with pytest.raises(scriptqa.ProfileError):
        default_filter.scan("最佳", categories=["no_such_category"])


def test_encoding_errors(default_filter):
    with pytest.raises(scriptqa.EncodingError) as info:
        default_filter.scan(b"ok\xff")
    assert info.value.position == 2
    assert default_filter.scan(b"ok\xff", errors="replace") == []
    with pytest.raises(scriptqa.EncodingError) as info:
        default_filter.scan_many(["ok", "fine", "x\udc80"])
    assert (info.value.index, info.value.position) == (2, 1)
    with pytest.raises(scriptqa.EncodingError) as info:
        default_filter.scan_many(["ok", b"\xc3"])
    assert info.value.index == 1
    with pytest.raises(scriptqa.EncodingError):
        default_filter.rewrite("\ud800")
    with pytest.raises(scriptqa.EncodingError):
        default_filter.explain("\ud800")
    with pytest.raises(scriptqa.EncodingError):
        default_filter.normalize("\ud800")
    assert default_filter.normalize("\ud800", errors="replace") == default_filter.normalize("\ufffd")


def test_bad_arguments(default_filter):
    with pytest.raises(TypeError):
        default_filter.scan(123)
    with pytest.raises(TypeError):
        default_filter.scan_many(["ok", None])
    with pytest.raises(ValueError):
        default_filter.scan("x", overlap="shortest")
    with pytest.raises(ValueError):
        default_filter.scan("x", errors="ignore")
    with pytest.raises(ValueError):
        default_filter.scan("x", min_severity="fatal")
    with pytest.raises(ValueError):
        default_filter.scan_many(["x"], threads=0)
    with pytest.raises(TypeError):
        scriptqa.Filter()
    with pytest.raises(TypeError):
        scriptqa.Profile()
