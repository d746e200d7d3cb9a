"""Pickling: a Filter travels as its serialized database and is not recompiled on arrival."""
import concurrent.futures
import multiprocessing
import pickle

import pytest

import scriptqa

_worker_filter = None


def _init_worker(f):
    global _worker_filter
    _worker_filter = f


def _scan_in_worker(text):
    return _worker_filter.scan(text), scriptqa.counters()["compiled"]


def test_round_trip(default_filter, messages):
    data = pickle.dumps(default_filter)
    assert default_filter.serialize() in data  # the compiled database itself travels
    before = scriptqa.counters()
    g = pickle.loads(data)
    assert scriptqa.counters()["compiled"] == before["compiled"]  # nothing recompiled
    assert scriptqa.counters()["unpickled"] == before["unpickled"] + 1
    assert g is not default_filter and g.info == default_filter.info
    assert [r.id for r in g.rules] == [r.id for r in default_filter.rules]
    assert [g.scan(m) for m in messages] == [default_filter.scan(m) for m in messages]


def test_findings_and_profiles_pickle(default_filter, messages):
    findings = [default_filter.scan(m) for m in messages]
    assert pickle.loads(pickle.dumps(findings)) == findings
    p = default_filter.profile(categories=["ad_law", "privacy"], deny_terms=["亲亲"])
    f2, p2 = pickle.loads(pickle.dumps((default_filter, p)))
    assert p2.filter is f2 and p2.options == p.options
    assert [f2.scan(m, profile=p2) for m in messages] == [default_filter.scan(m, profile=p) for m in messages]


def test_loaded_filters_pickle_too(default_filter, messages):
    loaded = scriptqa.Filter.load(default_filter.serialize())
    g = pickle.loads(pickle.dumps(loaded))
    assert [g.scan(m) for m in messages] == [default_filter.scan(m) for m in messages]


def test_database_from_another_machine_is_recompiled(messages):
    f = scriptqa.Filter.from_terms(["最佳", "加微信"], category="custom")
    data = pickle.dumps(f)
    blob = f.serialize()
    # As if made elsewhere: a database format this library does not read (FailedPrecondition,
    # the same path as another engine version or CPU platform).
    foreign = blob[:8] + (99).to_bytes(4, "little") + blob[12:]
    assert data.count(blob) == 1
    before = scriptqa.counters()["compiled"]
    g = pickle.loads(data.replace(blob, foreign))
    assert scriptqa.counters()["compiled"] == before + 1  # rebuilt from the dictionary text it carries
    assert [g.scan(m) for m in messages] == [f.scan(m) for m in messages]
    # Without dictionary text (a filter loaded from a database) there is nothing to rebuild from.
    loaded = scriptqa.Filter.load(blob)
    data = pickle.dumps(loaded)
    try:
        pickle.loads(data.replace(blob, foreign))
    except scriptqa.IncompatibleDatabaseError:
        pass
    else:
        raise AssertionError("an incompatible database without dictionaries must not load")


def test_process_pool_gets_the_filter_cheaply(default_filter, messages):
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_worker,
                                                initargs=(default_filter,)) as pool:
        results = list(pool.map(_scan_in_worker, messages, chunksize=16))
    assert [r for r, _ in results] == [default_filter.scan(m) for m in messages]
    assert all(compiled == 0 for _, compiled in results)  # the workers compiled nothing


def _many_regex_filter(limits):
    text = "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n" + "".join(
        f"rule p.r{i}\n  regex w{i}[xy]\n  reason r\n" for i in range(1001)
    )
    return scriptqa.Filter.from_dictionaries(scriptqa.DictionarySource.text("many.rules", text), limits=limits)


def test_recompiling_elsewhere_keeps_the_compile_bounds():
    # 1,001 regexes need limits={"max_regexes": ...}: a filter recompiled from its pickle on a
    # machine its database does not fit must use the same bounds, or it would be refused there.
    f = _many_regex_filter({"max_regexes": 0})
    data = pickle.dumps(f)
    blob = f.serialize()
    foreign = blob[:8] + (99).to_bytes(4, "little") + blob[12:]
    before = scriptqa.counters()["compiled"]
    g = pickle.loads(data.replace(blob, foreign))
    assert scriptqa.counters()["compiled"] == before + 1
    assert g.info == f.info
    assert [x.rule for x in g.scan("w1000x")] == ["p.r1000"]


def test_pickles_from_before_limits_still_load(messages):
    # Their recipe has four fields (no bounds): recompiled with the default bounds.
    from scriptqa import _filter

    f = scriptqa.Filter.from_terms(["最佳", "加微信"], category="custom")
    blob = f.serialize()
    foreign = blob[:8] + (99).to_bytes(4, "little") + blob[12:]
    old_recipe = f._recipe[:4]
    g = pickle.loads(pickle.dumps(_filter._unpickle(blob, old_recipe)))
    assert [g.scan(m) for m in messages] == [f.scan(m) for m in messages]
    h = _filter._unpickle(foreign, old_recipe)
    assert [h.scan(m) for m in messages] == [f.scan(m) for m in messages]


def test_an_unpickled_profile_works_with_its_filter(default_filter, messages):
    # Pickled on its own (as a task argument is), a profile arrives with a copy of its filter: the
    # filter it was made for, and every filter with the same rules and engine, accept it.
    p = default_filter.profile(categories=["ad_law", "privacy"], deny_terms=["亲亲"])
    expected = [default_filter.scan(m, profile=p) for m in messages]
    p2 = pickle.loads(pickle.dumps(p))
    assert p2.filter is not default_filter and p2.options == p.options
    assert [default_filter.scan(m, profile=p2) for m in messages] == expected
    g = pickle.loads(pickle.dumps(default_filter))
    assert [g.scan(m, profile=p) for m in messages] == expected
    assert [g.scan(m, profile=p2) for m in messages] == expected
    assert g.scan_many(messages, profile=p2) == expected
    assert [g.has_finding(m, profile=p2) for m in messages] == [bool(x) for x in expected]
    # A filter with other rules still refuses it.
    other = scriptqa.Filter.from_terms(["最佳"])
    with pytest.raises(ValueError, match="another filter"):
        other.scan("最佳", profile=p2)
