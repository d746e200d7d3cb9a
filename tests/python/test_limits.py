"""Compile-time bounds on dictionaries (C++ CompileLimits) through the ``limits`` argument.

A dictionary past a bound is refused with a DictionaryError that names the rule, the bound and
the argument that raises it; ``limits`` raises, lowers or (0) lifts each bound.
"""
import pytest

import scriptqa
from scriptqa import DictionarySource, Filter

ACCEPTED = "max_regex_bytes, max_regexes, max_total_regex_bytes, max_literals"


def many_regex_rules(n):
    """`n` rules of one small regex each ("w<i>[xy]", with a hit and a miss example): past the
    default bound of 1,000 regexes from n = 1,001. Compiling 1,001 of them takes about a second."""
    lines = ["%format scriptqa-rules 1", "%default category privacy", "%default severity block"]
    for i in range(n):
        lines += [f"rule p.r{i}", f"  regex w{i}[xy]", "  reason r", f"  hit w{i}x", f"  miss w{i}z"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def many_rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "many.rules"
    path.write_text(many_regex_rules(1001), encoding="utf-8")
    return str(path)


def test_default_bound_refuses_and_names_the_argument(many_rules):
    with pytest.raises(scriptqa.DictionaryError) as info:
        Filter.from_dictionaries(many_rules)
    e = info.value
    assert (e.file, e.line, e.rule_id) == (many_rules, 5004, "p.r1000")
    assert len(e.problems) == 1
    assert "more than 1000 regexes" in e.problems[0].message
    assert "FilterOptions::limits.max_regexes" in str(e)  # the library's words are kept
    assert "raise it with limits={'max_regexes': N} (0 lifts it)" in str(e)


@pytest.mark.parametrize("bound", [2000, 0])
def test_raised_or_lifted_bound_accepts_the_dictionary(many_rules, bound):
    f = Filter.from_dictionaries(many_rules, limits={"max_regexes": bound})
    assert f.info.regex_count == 1001
    assert [x.rule for x in f.scan("w1000y")] == ["p.r1000"]
    assert f.scan("w1000z") == []


def test_lower_bound_refuses_earlier(many_rules):
    with pytest.raises(scriptqa.DictionaryError) as info:
        Filter.from_dictionaries(many_rules, limits={"max_regexes": 10})
    assert info.value.rule_id == "p.r10"
    assert "more than 10 regexes" in str(info.value)


def test_every_bound_reaches_the_library():
    long_regex = DictionarySource.text(
        "long.rules",
        "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
        "rule t.long\n  regex " + "a" * 1100 + "[0-9]\n  reason r\n",
    )
    with pytest.raises(scriptqa.DictionaryError) as info:
        Filter.from_dictionaries(long_regex)
    assert "regex of 1105 bytes" in str(info.value)
    assert "raise it with limits={'max_regex_bytes': N}" in str(info.value)
    f = Filter.from_dictionaries(long_regex, limits={"max_regex_bytes": 2048})
    assert [x.rule for x in f.scan("a" * 1100 + "7")] == ["t.long"]

    with pytest.raises(scriptqa.DictionaryError, match="max_total_regex_bytes"):
        Filter.from_dictionaries(long_regex, limits={"max_regex_bytes": 0, "max_total_regex_bytes": 1000})

    # Term lists are literals: max_literals is their bound, through from_terms too.
    with pytest.raises(scriptqa.DictionaryError) as info:
        Filter.from_terms(["最佳", "第一", "唯一"], limits={"max_literals": 2})
    assert "raise it with limits={'max_literals': N}" in str(info.value)
    assert len(Filter.from_terms(["最佳", "第一", "唯一"], limits={"max_literals": 3}).rules) == 3

    # The shipped packs through default(): with a bound given they are compiled with it.
    with pytest.raises(scriptqa.DictionaryError, match="max_literals"):
        Filter.default(limits={"max_literals": 1})
    assert Filter.default(limits={}) is Filter.default()  # no bound given: the pre-compiled filter


@pytest.mark.parametrize(
    "limits, error, text",
    [
        ({"foo": 1}, ValueError, "unknown bound 'foo' (accepted: " + ACCEPTED + ")"),
        ({"MAX_REGEXES": 1}, ValueError, "accepted: " + ACCEPTED),
        ({1: 1}, ValueError, "accepted: " + ACCEPTED),
        ({"max_regexes": -1}, ValueError, "must not be negative"),
        ({"max_regexes": 2**64}, ValueError, "larger than 2**64-1"),
        ({"max_regexes": "2000"}, TypeError, "expected an int >= 0, got str"),
        ({"max_regexes": 2000.0}, TypeError, "got float"),
        ({"max_regexes": None}, TypeError, "got NoneType"),
        ({"max_regexes": True}, TypeError, "got bool"),
        ([("max_regexes", 2000)], TypeError, "expected a dict"),
        ("max_regexes=2000", TypeError, "expected a dict"),
    ],
)
def test_bad_limits_are_refused_before_compiling(limits, error, text):
    before = scriptqa.counters()["compiled"]
    with pytest.raises(error) as info:
        Filter.from_dictionaries(DictionarySource.text("t.txt", "最佳\n"), limits=limits)
    assert text in str(info.value)
    with pytest.raises(error):
        Filter.from_terms(["最佳"], limits=limits)
    with pytest.raises(error):
        Filter.default(limits=limits)
    assert scriptqa.counters()["compiled"] == before


def test_integer_types_other_than_int():
    class Index:
        def __index__(self):
            return 5

    f = Filter.from_terms(["最佳"], limits={"max_literals": Index()})
    assert len(f.rules) == 1
