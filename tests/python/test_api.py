"""The Pythonic API: construction, loading and saving, scan options, rewrite, explain."""
import glob
import io
import os
import stat

import pytest

import scriptqa
from conftest import DICTIONARIES


def test_default_is_shared_and_precompiled(default_filter):
    assert scriptqa.Filter.default() is scriptqa.Filter.default()
    # The fixture is the database the build compiled from the same packs (conftest.py).
    assert scriptqa.Filter.default().info.rules_hash == default_filter.info.rules_hash
    info = default_filter.info
    assert info.rule_count == len(default_filter.rules) > 0
    assert info.literal_count > 0 and info.database_bytes > 0 and info.engine_version
    assert set(["ad_law", "deflection", "off_platform", "review", "privacy", "script_quality"]) <= set(
        default_filter.categories)


def test_default_equals_compiling_the_packs(default_filter, messages):
    paths = sorted(glob.glob(os.path.join(DICTIONARIES, "*.rules")))
    compiled = scriptqa.Filter.from_dictionaries(paths)
    assert compiled.info.rules_hash == default_filter.info.rules_hash
    assert [r.id for r in compiled.rules] == [r.id for r in default_filter.rules]
    assert [compiled.scan(m) for m in messages] == [default_filter.scan(m) for m in messages]


def test_every_rule_example(default_filter):
    # The packs' own hit/miss examples, through the binding, as `scriptqa lint` checks them: does
    # the rule fire at all, whatever longer finding of its category may cover it (overlap="all").
    for rule in default_filter.rules:
        for msg in rule.hit_examples:
            assert rule.id in [f.rule for f in default_filter.scan(msg, overlap="all")], (rule.id, msg)
        for msg in rule.miss_examples:
            assert rule.id not in [f.rule for f in default_filter.scan(msg, overlap="all")], (rule.id, msg)


def test_finding_fields(default_filter, hit_examples):
    rule_id, msg = hit_examples[0]
    f = next(x for x in default_filter.scan(msg) if x.rule == rule_id)
    rule = default_filter.rule(rule_id)
    assert isinstance(f, scriptqa.Finding) and isinstance(f, tuple)
    assert f.category == rule.category and f.reason == rule.reason and f.severity is rule.severity
    assert f.span == (f.start, f.end)
    assert f.suggestion == (f.suggestions[0] if f.suggestions else "")
    assert f == scriptqa.Finding(*tuple(f))
    assert default_filter.rule("no.such.rule") is None


def test_severity_order_and_names():
    S = scriptqa.Severity
    assert S.ADVICE < S.REVIEW < S.BLOCK
    assert S.BLOCK > "review" and S.ADVICE <= "advice" and not (S.REVIEW < "advice")
    assert S.BLOCK == "block" and str(S.REVIEW) == "review" and {S.BLOCK: 1}["block"] == 1
    assert S.parse("BLOCK") is S.BLOCK and sorted([S.BLOCK, S.ADVICE, S.REVIEW]) == [S.ADVICE, S.REVIEW, S.BLOCK]
    with pytest.raises(ValueError):
        S.parse("fatal")
    with pytest.raises(ValueError):
        S.BLOCK < "fatal"


def test_save_and_load(tmp_path, default_filter, messages):
    path = tmp_path / "f.sqdb"
    default_filter.save(path)
    from_file = scriptqa.Filter.load(path)
    from_str_path = scriptqa.Filter.load(str(path))
    from_bytes = scriptqa.Filter.load(default_filter.serialize())
    buf = io.BytesIO()
    default_filter.save(buf)
    from_stream = scriptqa.Filter.load(buf.getvalue())
    expected = [default_filter.scan(m) for m in messages]
    for g in (from_file, from_str_path, from_bytes, from_stream):
        assert g.info.rules_hash == default_filter.info.rules_hash
        assert [g.scan(m) for m in messages] == expected
    assert not [p for p in os.listdir(tmp_path) if p != "f.sqdb"]  # no temp file left


def test_save_never_writes_through_a_link_or_over_a_special_file(tmp_path, default_filter):
    # The temporary file beside the target used to have a predictable name (<path>.tmp<pid>) that
    # was opened following links, and the rename replaced whatever <path> was.
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    path = tmp_path / "out.sqdb"
    os.symlink(victim, f"{path}.tmp{os.getpid()}")
    default_filter.save(path)
    assert victim.read_bytes() == b"keep me"
    assert scriptqa.Filter.load(path).info == default_filter.info
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        default_filter.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(OSError):
        default_filter.save(tmp_path)  # a directory
    # A link to a regular file: the link is replaced by the new file, its target left alone.
    link = tmp_path / "link.sqdb"
    os.symlink(victim, link)
    default_filter.save(link)
    assert victim.read_bytes() == b"keep me" and not os.path.islink(link)
    leftovers = {p for p in os.listdir(tmp_path)} - {"victim.txt", "out.sqdb", f"out.sqdb.tmp{os.getpid()}",
                                                   "fifo", "link.sqdb"}
    assert not leftovers


def test_from_terms(messages):
    terms = ["最佳", "加微信", ("闭眼入", "放心选购")]
    f = scriptqa.Filter.from_terms(terms, category="custom_terms", severity="block", reason="测试词表")
    assert f.categories[-1] == "custom_terms"
    got = f.scan("这款最佳，加 微-信，闭眼入")
    assert [x.matched for x in got] == ["最佳", "加 微-信", "闭眼入"]
    assert all(x.category == "custom_terms" and x.severity == "block" and x.reason == "测试词表" for x in got)
    assert got[2].suggestion == "放心选购"
    for bad in ["#x", "%x", "a\nb", "a\tb", ""]:
        with pytest.raises(ValueError):
            scriptqa.Filter.from_terms([bad])


def test_dictionary_sources_in_memory():
    rules = "\n".join([
        "%format scriptqa-rules 1",
        "%default category ad_law",
        "%default severity block",
        "rule t.best",
        "  literal 最佳",
        "  suggest 很好的{match}",
        "  reason 测试",
        "  allow 最佳饮用时间",
    ])
    f = scriptqa.Filter.from_dictionaries([scriptqa.DictionarySource.text("mem.rules", rules)])
    got = f.scan("最佳选择，最佳饮用时间")
    assert [(x.rule, x.start, x.end) for x in got] == [("t.best", 0, 2)]
    assert got[0].suggestion == "很好的最佳"  # {match} rendered per hit
    assert f.rule("t.best").file == "mem.rules" and f.rule("t.best").allow == ("最佳饮用时间",)
    terms = scriptqa.DictionarySource.text("extra.terms", "好评返现\n", kind="terms", category="review",
                                           severity="review")
    g = scriptqa.Filter.from_dictionaries([scriptqa.DictionarySource.text("mem.rules", rules), terms])
    assert [x.rule for x in g.scan("好评返现，最佳")] == ["extra.1", "t.best"]


def test_filter_options(default_filter, hit_examples):
    rule_id, msg = next((r, m) for r, m in hit_examples if default_filter.rule(r).severity == "review")
    category = default_filter.rule(rule_id).category
    up = scriptqa.Filter.default(severity_overrides={rule_id: "block"})
    assert [f.severity for f in up.scan(msg) if f.rule == rule_id] == [scriptqa.Severity.BLOCK]
    off = scriptqa.Filter.default(disabled_rules=[category])
    assert not [f for f in off.scan(msg) if f.category == category]
    assert up is not default_filter and off.rule(rule_id) is None


def test_scan_options(default_filter, messages):
    for msg in messages:
        everything = default_filter.scan(msg)
        blocks = default_filter.scan(msg, min_severity="block")
        assert blocks == [f for f in everything if f.severity == "block"]
        reviews = default_filter.scan(msg, min_severity=scriptqa.Severity.REVIEW)
        assert reviews == [f for f in everything if f.severity >= "review"]
        ad = default_filter.scan(msg, categories=["ad_law"])
        assert ad == [f for f in everything if f.category == "ad_law"]
        assert default_filter.has_finding(msg) == bool(everything)
        assert default_filter.has_finding(msg, "block") == bool(blocks)
        every_hit = default_filter.scan(msg, overlap="all")
        assert set(everything) <= set(every_hit)


def test_profiles(default_filter, hit_examples):
    rule_id, msg = hit_examples[0]
    p = default_filter.profile(disabled=[rule_id], deny_terms=["亲亲"], deny_severity="block")
    got = default_filter.scan("亲亲，" + msg, profile=p)
    assert rule_id not in [f.rule for f in got]
    deny = [f for f in got if f.rule == "shop.shop_deny"]
    assert [(f.start, f.end, f.matched, f.severity, f.category, f.reason) for f in deny] == [
        (0, 2, "亲亲", "block", "shop", "店铺自定义禁用词")]
    assert default_filter.scan_many(["亲亲，" + msg], profile=p) == [got]
    first = default_filter.scan(msg)[0]
    allowed = default_filter.scan(msg, profile=default_filter.profile(allow_terms=[first.matched]))
    assert first not in allowed and set(allowed) <= set(default_filter.scan(msg))
    other = scriptqa.Filter.from_terms(["x"])
    with pytest.raises(ValueError):
        other.scan(msg, profile=p)
    with pytest.raises(ValueError):
        default_filter.scan(msg, profile=p, categories=["ad_law"])


def test_rewrite(default_filter, hit_examples):
    for _, msg in hit_examples:
        before = default_filter.scan(msg)
        r = default_filter.rewrite(msg)
        assert isinstance(r, scriptqa.Rewritten) and isinstance(r.text, str)
        assert r.clean == (not default_filter.has_finding(r.text, "review"))
        # A replacement covers whole claims: every finding lies inside one, and each one is
        # a confirmed hit widened (over overlapping hits and a rule's companions).
        for x in before:
            assert any(y.start <= x.start and x.end <= y.end for y in r.replaced), (msg, x)
        confirmed = default_filter.scan(msg, overlap="all")
        for y in r.replaced:
            assert msg[y.start : y.end] == y.matched
            assert any(c.rule == y.rule and y.start <= c.start and c.end <= y.end for c in confirmed), (msg, y)
        if r.replaced:
            assert r.text != msg
    assert default_filter.rewrite("您好").text == "您好"
    assert default_filter.rewrite(b"\xe6\x82\xa8\xe5\xa5\xbd").text == "您好".encode()


def test_explain(default_filter, messages):
    for msg in messages:
        e = default_filter.explain(msg)
        assert e.findings == default_filter.scan(msg)
        assert e.normalized == default_filter.normalize(msg)
        assert [t.byte_start for t in e.traces] == sorted(t.byte_start for t in e.traces)
        reported = [(t.rule, t.start, t.end) for t in e.traces if t.decision == "reported"]
        # Overlap resolution demotes a reported trace to "overlapped"; nothing else is reported.
        assert sorted((f.rule, f.start, f.end) for f in e.findings) == sorted(reported)
        for t in e.traces:
            assert msg[t.start:t.end] == t.matched
        assert str(e).startswith("normalized: ")
    # Something suppressed, with the reason: a miss example next to its rule's hit.
    suppressed = [t for m in messages for t in default_filter.explain(m).traces if t.decision != "reported"]
    assert suppressed and all(t.detail for t in suppressed)


def test_normalize(default_filter):
    assert default_filter.normalize("加 Ｖ-信") == default_filter.normalize("加v信")
    assert default_filter.normalization == scriptqa.NormalizationOptions()


def test_scan_is_one_method_however_it_is_called(default_filter, messages):
    import inspect

    bound = default_filter.scan
    for m in messages:
        expected = default_filter.scan(m)
        assert bound(m) == expected
        assert scriptqa.Filter.scan(default_filter, m) == expected
        assert default_filter.scan(m, overlap="longest") == expected  # the keyword path
    params = inspect.signature(bound).parameters
    assert list(params)[:2] == ["text", "min_severity"] and "Finding" in scriptqa.Filter.scan.__doc__ + str(
        inspect.signature(scriptqa.Filter.scan).return_annotation)
    with pytest.raises(TypeError):
        bound()
    with pytest.raises(TypeError):
        bound("a", "b")


def _default_in_copy(tmp_path, damage):
    """Runs Filter.default() in a fresh interpreter on a copy of the package; returns the
    counters and the findings of a few messages."""
    import json
    import shutil
    import subprocess
    import sys

    pkg = os.path.dirname(scriptqa.__file__)
    shutil.copytree(pkg, tmp_path / "scriptqa", ignore=shutil.ignore_patterns("__pycache__"))
    damage(tmp_path / "scriptqa" / "default.sqdb")
    code = ("import json, scriptqa; f = scriptqa.Filter.default(); "
            "print(json.dumps([scriptqa.counters(), [[x.rule for x in f.scan(m)] for m in "
            "['这款是最佳选择', '加我薇信', '您好']]]))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), SCRIPTQA_DICTIONARIES="")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_default_loads_the_prebuilt_database_or_compiles(tmp_path, default_filter):
    expected = [[x.rule for x in default_filter.scan(m)] for m in ["这款是最佳选择", "加我薇信", "您好"]]
    counts, got = _default_in_copy(tmp_path / "ok", lambda p: None)
    assert counts["compiled"] == 0 and got == expected  # the database made at build time

    def truncate(p):
        p.write_bytes(p.read_bytes()[:100])

    counts, got = _default_in_copy(tmp_path / "damaged", truncate)
    assert counts["compiled"] == 1 and got == expected  # compiled from the bundled packs
    counts, got = _default_in_copy(tmp_path / "missing", lambda p: p.unlink())
    assert counts["compiled"] == 1 and got == expected
