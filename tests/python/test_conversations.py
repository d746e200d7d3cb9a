"""Conversation checks from Python: audit_conversations and audit_frame give the rows and the
summary the command-line tool writes for the same input (conversations.jsonl, summary.json), and
percentiles as pandas computes them."""
import json
import os
import pickle
import subprocess

import pandas as pd
import pytest

import scriptqa
from conftest import DICTIONARIES, ROOT

SAMPLE = os.path.join(ROOT, "examples", "sample_transcripts.jsonl")
CARD = os.path.join(DICTIONARIES, "default.scorecard")


def sample_frame():
    # convert_dates=False: the sample mixes ISO strings, epoch seconds and milliseconds, which
    # pandas' own date conversion cannot read; scriptqa reads each as the CLI does.
    return pd.read_json(SAMPLE, lines=True, dtype=False, convert_dates=False)


@pytest.fixture(scope="module")
def cli_sample(tmp_path_factory):
    cli = os.environ.get("SCRIPTQA_CLI")
    assert cli, "SCRIPTQA_CLI must name the scriptqa executable (ctest sets it)"
    out = tmp_path_factory.mktemp("cli")
    run = subprocess.run([cli, "audit", SAMPLE, "--out", str(out), "--scorecard", CARD, "-q"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    return out


def test_rows_and_summary_equal_the_command_line_tool(default_filter, cli_sample):
    card = scriptqa.Scorecard.from_file(CARD)
    df = sample_frame()
    rows = scriptqa.audit_conversations(df, scorecard=card)
    assert list(rows.columns) == list(scriptqa.CONVERSATION_COLUMNS[1:])
    assert len(rows) == 6 and rows.index.name == "conversation_id"
    pd.testing.assert_frame_equal(rows, scriptqa.read_conversations(cli_sample / "conversations.jsonl"))
    result = scriptqa.audit_frame(df, scorecard=card)
    findings, summary = result  # still unpacks as before
    pd.testing.assert_frame_equal(result.conversations, rows)
    with open(cli_sample / "summary.json", encoding="utf-8") as fh:
        assert result.scores == json.load(fh)["conversations"]
    assert pickle.loads(pickle.dumps(result)).scores == result.scores
    # Deductions name their turn and sum up to the score.
    for _, row in rows.iterrows():
        assert row["score"] == max(0, 100 - sum(d["points"] for d in row["deductions"]))
        assert all(d["turn"] in range(row["turns"]) for d in row["deductions"])


def test_percentiles_are_pandas(cli_sample):
    rows = scriptqa.read_conversations(cli_sample / "conversations.jsonl")
    with open(cli_sample / "summary.json", encoding="utf-8") as fh:
        s = json.load(fh)["conversations"]
    assert s["score"]["median"] == rows["score"].quantile(0.5)
    assert s["score"]["p10"] == rows["score"].quantile(0.1)
    assert s["score"]["p90"] == rows["score"].quantile(0.9)
    assert s["first_response"]["median_s"] == rows["first_response_s"].quantile(0.5)
    assert s["first_response"]["p90_s"] == rows["first_response_s"].quantile(0.9)
    replies = pd.Series([x for r in rows["reply_s"] for x in r])
    assert s["replies"]["count"] == len(replies) > 3
    assert s["replies"]["median_s"] == replies.quantile(0.5)
    assert s["replies"]["p90_s"] == replies.quantile(0.9)
    agents = {a["agent"]: a for a in s["by_agent"]}
    for agent, group in rows.groupby("agent_id"):
        assert agents[agent]["mean_score"] == group["score"].mean()
        assert agents[agent]["median_score"] == group["score"].quantile(0.5)


def test_scorecards_time_zones_and_bad_input(tmp_path):
    df = pd.DataFrame({
        "conversation_id": ["a", "a", "b", "b"],
        "role": ["customer", "Agent", "customer", "agent"],
        "text": ["在吗", "您好，我是客服小安", "我要投诉！", "好的"],
        "timestamp": ["2025-06-18T23:30:00Z", "2025-06-18 23:30:50Z", 1750290000, 1750290000000 + 5000],
    })
    rows = scriptqa.audit_conversations(df)
    assert rows.loc["a", "first_response"] == "fail" and rows.loc["a", "first_response_s"] == 50.0
    assert rows.loc["b", "upset"] == "fail"
    assert rows.loc["a", "day"] == "2025-06-18"
    assert scriptqa.audit_conversations(df, timezone="-02:00").loc["a", "day"] == "2025-06-18"
    assert scriptqa.audit_conversations(df, timezone="+08:00").loc["a", "day"] == "2025-06-19"
    # A scorecard of one's own; pickles (Dask) as its text.
    card_path = tmp_path / "mine.scorecard"
    card_path.write_text("%format scriptqa-scorecard 1\ncues conversation.cues\ncheck first_response\n"
                         "  limit 1m\n  points 40\n", encoding="utf-8")
    card = scriptqa.Scorecard.from_file(card_path)
    assert pickle.loads(pickle.dumps(card)).settings == card.settings
    mine = scriptqa.audit_conversations(df, scorecard=card_path)
    assert mine.loc["a", "first_response"] == "pass" and mine.loc["a", "greeting"] == "off"
    bad = tmp_path / "bad.scorecard"
    bad.write_text("%format scriptqa-scorecard 1\ncheck first_response\n  limit soon\n", encoding="utf-8")
    with pytest.raises(scriptqa.ScorecardError, match=r"bad.scorecard:3: check first_response: limit must be"):
        scriptqa.Scorecard.from_file(bad)
    with pytest.raises(KeyError, match=r"no column 'conversation_id'"):
        scriptqa.audit_conversations(df.drop(columns=["conversation_id"]))
    with pytest.raises(ValueError, match=r"row 1 has no conversation id"):
        scriptqa.audit_conversations(df.assign(conversation_id=["a", None, "b", "b"]))
    with pytest.raises(TypeError, match=r"roles=\['agent'\]"):
        scriptqa.audit_conversations(df, roles="agent")
    with pytest.raises(scriptqa.EncodingError):
        scriptqa.audit_conversations(df.assign(text=["在吗", "x\ud800", "", ""]))
    assert len(scriptqa.audit_conversations(df.assign(text=["在吗", "x\ud800", "", ""]), errors="replace")) == 2
    # Frames without a conversation column are audited as before, without conversations.
    plain = scriptqa.audit_frame(df.drop(columns=["conversation_id"]))
    assert plain.conversations is None and plain.scores is None
    with pytest.raises(KeyError):
        scriptqa.audit_frame(df.drop(columns=["conversation_id"]), conversations=True)
