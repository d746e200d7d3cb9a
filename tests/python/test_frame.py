"""pandas: audit_frame on the corpus format (one JSON object per message)."""
import json

import pandas as pd
import pytest

import scriptqa


def write_corpus(path, messages):
    """Synthetic dialogues in the corpus format: customer and agent turns alternate."""
    rows = []
    for i, msg in enumerate(messages):
        conv, turn = f"conv-{i // 4:03d}", i % 4
        rows.append({"conversation_id": conv, "turn": turn, "role": "agent" if turn % 2 else "customer", "text": msg})
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return rows


@pytest.fixture()
def corpus(tmp_path, messages):
    rows = write_corpus(tmp_path / "dialogues.jsonl", messages)
    return pd.read_json(tmp_path / "dialogues.jsonl", lines=True), rows


def test_audit_frame_on_the_corpus_format(default_filter, corpus):
    df, rows = corpus
    findings, summary = scriptqa.audit_frame(df, keep=["conversation_id", "turn"], mask=False)
    agent = [i for i, r in enumerate(rows) if r["role"] == "agent"]
    assert list(summary.index) == agent
    expected = [(i, f) for i in agent for f in default_filter.scan(rows[i]["text"])]
    assert len(findings) == len(expected) > 0
    assert list(findings.index) == [i for i, _ in expected]
    got = list(findings[["rule", "category", "start", "end", "byte_start", "byte_end", "matched", "suggestion", "reason"]]
               .itertuples(index=False, name=None))
    assert got == [(f.rule, f.category, f.start, f.end, f.byte_start, f.byte_end, f.matched, f.suggestion, f.reason)
                   for _, f in expected]
    assert list(findings["severity"].astype(str)) == [str(f.severity) for _, f in expected]
    assert findings["severity"].cat.ordered and findings["severity"].max() in ("advice", "review", "block")
    assert list(findings["conversation_id"]) == [rows[i]["conversation_id"] for i, _ in expected]
    # Keyed to the input: joining brings back each finding's message.
    joined = findings.join(df[["text"]])
    assert all(t[s:e] == m for t, s, e, m in zip(joined["text"], joined["start"], joined["end"], joined["matched"]))
    # Summary consistent with the findings.
    for i in agent:
        fs = default_filter.scan(rows[i]["text"])
        row = summary.loc[i]
        assert row["findings"] == len(fs) and row["flagged"] == bool(fs)
        assert row["block"] == sum(f.severity == "block" for f in fs)
        assert row["categories"] == ",".join(sorted({f.category for f in fs}))
        if fs:
            assert row["max_severity"] == max(f.severity for f in fs)
        else:
            assert pd.isna(row["max_severity"])


def test_audit_frame_roles_options_and_missing_text(default_filter, corpus):
    df, rows = corpus
    every = scriptqa.audit_frame(df, roles=None)
    assert len(every.summary) == len(df)
    customers = scriptqa.audit_frame(df, roles=["customer"])
    assert set(customers.summary.index) == {i for i, r in enumerate(rows) if r["role"] == "customer"}
    blocks = scriptqa.audit_frame(df, roles=None, min_severity="block")
    assert (blocks.findings["severity"] == "block").all()
    assert len(blocks.findings) == (every.findings["severity"] == "block").sum()
    plain = pd.DataFrame({"body": ["最佳选择", None, float("nan"), "您好"]}, index=["a", "b", "c", "d"])
    with pytest.raises(ValueError):
        scriptqa.audit_frame(plain, text="body")  # no role column: say so
    res = scriptqa.audit_frame(plain, text="body", role=None)  # every row
    assert list(res.summary.index) == ["a", "b", "c", "d"]
    assert list(res.summary["findings"]) == [len(default_filter.scan(t)) for t in ["最佳选择", "", "", "您好"]]
    with pytest.raises(KeyError):
        scriptqa.audit_frame(plain)  # no "text" column
    with pytest.raises(ValueError):
        scriptqa.audit_frame(plain, text="body", role="speaker")


def test_audit_frame_empty_and_encoding_errors(default_filter):
    empty = pd.DataFrame({"role": pd.Series([], dtype=object), "text": pd.Series([], dtype=object)})
    findings, summary = scriptqa.audit_frame(empty)
    assert len(findings) == 0 and len(summary) == 0
    assert list(summary.columns) == list(scriptqa.SUMMARY_COLUMNS)
    assert list(findings.columns) == list(scriptqa.FINDING_COLUMNS)
    bad = pd.DataFrame({"role": ["agent", "agent"], "text": ["ok", "x\ud800"]}, index=[10, 20])
    with pytest.raises(scriptqa.EncodingError) as info:
        scriptqa.audit_frame(bad)
    assert info.value.index == 20
    assert len(scriptqa.audit_frame(bad, errors="replace").summary) == 2
