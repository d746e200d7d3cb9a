"""Calls that used to lose findings silently now raise: a bare str where a list is expected, a
frame or record without the role or text field, role values that match nothing."""
import dask
import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest

import scriptqa
import scriptqa.dask


def test_scan_many_refuses_a_bare_message(default_filter):
    for text in ["全网最低", b"\xe5\x85\xa8\xe7\xbd\x91\xe6\x9c\x80\xe4\xbd\x8e"]:
        with pytest.raises(TypeError, match=r"scan_many\(\[text\]\)"):
            default_filter.scan_many(text)
    assert default_filter.scan_many(["全网最低"]) == [default_filter.scan("全网最低")]
    assert default_filter.scan_many(iter(["全网最低"])) == [default_filter.scan("全网最低")]


def test_from_terms_refuses_a_bare_term():
    with pytest.raises(TypeError, match=r"\['全网最低'\]"):
        scriptqa.Filter.from_terms("全网最低")
    assert [x.matched for x in scriptqa.Filter.from_terms(["全网最低"]).scan("全网最低价")] == ["全网最低"]


def _frame():
    return pd.DataFrame({
        "conversation_id": ["c1", "c1", "c2"],
        "role": ["customer", "agent", "Agent"],
        "text": ["最佳选择就是它了", "这款是最佳选择", "全网最低价"],
    })


def test_audit_frame_refuses_a_bare_str_for_a_list_of_names():
    df = _frame()
    with pytest.raises(TypeError, match=r"roles=\['agent'\]"):
        scriptqa.audit_frame(df, roles="agent")
    with pytest.raises(TypeError, match=r"keep=\['conversation_id'\]"):
        scriptqa.audit_frame(df, keep="conversation_id")


def test_audit_frame_roles_match_without_regard_to_case():
    summary = scriptqa.audit_frame(_frame()).summary
    assert list(summary.index) == [1, 2]  # "agent" and "Agent"
    assert list(scriptqa.audit_frame(_frame(), roles=["AGENT"]).summary.index) == [1, 2]


def test_audit_frame_without_role_column_is_an_error_unless_asked_to_scan_every_row():
    df = _frame().drop(columns=["role"])
    with pytest.raises(ValueError, match=r"no column 'role'.*conversation_id, text.*role=None"):
        scriptqa.audit_frame(df)
    with pytest.raises(ValueError, match=r"no column 'speaker'"):
        scriptqa.audit_frame(_frame(), role="speaker")
    assert list(scriptqa.audit_frame(df, role=None).summary.index) == [0, 1, 2]
    assert list(scriptqa.audit_frame(_frame(), roles=None).summary.index) == [0, 1, 2]


def test_audit_frame_roles_that_match_nothing_are_an_error():
    with pytest.raises(ValueError, match=r"no row has role 'staff'.*'agent', 'customer'"):
        scriptqa.audit_frame(_frame(), roles=["staff"])
    empty = _frame().iloc[:0]
    assert len(scriptqa.audit_frame(empty).summary) == 0  # nothing in, nothing out


def test_audit_frame_missing_text_column_names_the_columns():
    with pytest.raises(KeyError, match=r"no column 'body'.*conversation_id, role, text"):
        scriptqa.audit_frame(_frame(), text="body")


def test_dask_helpers_refuse_the_same_footguns(default_filter):
    recs = _frame().to_dict("records")
    bag = db.from_sequence(recs, npartitions=2)
    with pytest.raises(TypeError, match=r"roles=\['agent'\]"):
        scriptqa.dask.audit_bag(bag, roles="agent")
    with pytest.raises(TypeError, match=r"keep=\['conversation_id'\]"):
        scriptqa.dask.audit_bag(bag, keep="conversation_id")
    ddf = dd.from_pandas(_frame(), npartitions=2)
    with pytest.raises(TypeError, match=r"roles=\['agent'\]"):
        scriptqa.dask.audit_dataframe(ddf, roles="agent")
    with pytest.raises(ValueError, match=r"no column 'role'"):
        scriptqa.dask.audit_dataframe(ddf.drop(columns=["role"]))
    with dask.config.set(scheduler="sync"):
        got = scriptqa.dask.audit_bag(bag).compute()
        assert [r["matched"] for r in got] == ["最佳", "全网最低价"]  # "Agent" too
        no_role = [{"text": r["text"]} for r in recs]
        with pytest.raises(ValueError, match=r"no key 'role'.*text.*role=None"):
            scriptqa.dask.audit_bag(db.from_sequence(no_role)).compute()
        assert len(scriptqa.dask.audit_bag(db.from_sequence(no_role), role=None).compute()) == 3
        with pytest.raises(ValueError, match=r"no key 'body'.*conversation_id, role, text"):
            scriptqa.dask.audit_bag(bag, text="body").compute()
        with pytest.raises(ValueError, match=r"no key 'body'"):
            scriptqa.dask.scan_bag(bag, text="body").compute()
        with pytest.raises(TypeError, match=r"expected a mapping"):
            scriptqa.dask.audit_bag(db.from_sequence(["这款是最佳选择"])).compute()
        with pytest.raises(TypeError, match=r"expected a mapping"):
            scriptqa.dask.scan_bag(db.from_sequence(["这款是最佳选择"]), text="text").compute()
        texts = scriptqa.dask.scan_bag(db.from_sequence(["这款是最佳选择"])).compute()
        assert texts == [default_filter.scan("这款是最佳选择")]
