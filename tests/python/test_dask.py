"""Dask: the same audit on a distributed.LocalCluster with two worker processes gives exactly the
single-process results, and each worker receives the filter once."""
import logging
import time

import dask
import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest


import scriptqa
import scriptqa.dask

import distributed


def records(messages):
    return [{"conversation_id": f"c{i // 4}", "turn": i % 4, "role": "agent" if i % 2 else "customer", "text": m}
            for i, m in enumerate(messages)]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as c:
        yield c


def unpickled_per_worker(client):
    return {w: c["unpickled"] for w, c in client.run(scriptqa.counters).items()}


def test_scan_bag_equals_single_process(client, default_filter, messages):
    batch = messages * 3
    got = scriptqa.dask.scan_bag(db.from_sequence(batch, npartitions=6)).compute()
    assert got == [default_filter.scan(m) for m in batch]
    recs = records(batch)
    opts = dict(min_severity="review", categories=["ad_law", "off_platform", "privacy"])
    got = scriptqa.dask.scan_bag(db.from_sequence(recs, npartitions=5), text="text", **opts).compute()
    assert got == [default_filter.scan(r["text"], **opts) for r in recs]


def test_audit_bag_equals_single_process(client, default_filter, messages):
    recs = records(messages * 2)
    got = scriptqa.dask.audit_bag(db.from_sequence(recs, npartitions=4), keep=["conversation_id", "turn"],
                                  mask=False).compute()
    expected = [
        {"conversation_id": r["conversation_id"], "turn": r["turn"], "rule": f.rule, "category": f.category,
         "severity": str(f.severity), "start": f.start, "end": f.end, "byte_start": f.byte_start,
         "byte_end": f.byte_end, "matched": f.matched, "suggestion": f.suggestion, "reason": f.reason}
        for r in recs if r["role"] == "agent" for f in default_filter.scan(r["text"])
    ]
    assert got == expected and len(got) > 0


def test_audit_dataframe_equals_audit_frame(client, default_filter, messages):
    df = pd.DataFrame(records(messages * 2))
    ddf = dd.from_pandas(df, npartitions=3)
    result = scriptqa.dask.audit_dataframe(ddf, keep=["conversation_id"])
    findings, summary = dask.compute(*result)
    local = scriptqa.audit_frame(df, keep=["conversation_id"])
    pd.testing.assert_frame_equal(findings, local.findings)
    pd.testing.assert_frame_equal(summary, local.summary)
    assert len(findings) > 0


def test_conversations_equal_one_process(client):
    # Conversations span partitions (they are shuffled together), the filter and the scorecard
    # travel to the workers: the rows and the summary equal audit_frame's in one process.
    import os
    from conftest import ROOT

    df = pd.read_json(os.path.join(ROOT, "examples", "sample_transcripts.jsonl"), lines=True, dtype=False,
                      convert_dates=False)
    df = pd.concat([df, df.assign(conversation_id=df["conversation_id"] + "-b")], ignore_index=True)
    local = scriptqa.audit_frame(df)
    result = scriptqa.dask.audit_dataframe(dd.from_pandas(df, npartitions=5))
    rows, scores = dask.compute(result.conversations, result.scores)
    assert len(rows) == 12
    pd.testing.assert_frame_equal(rows.sort_index(), local.conversations.sort_index())
    assert scores == local.scores
    alone = scriptqa.dask.audit_conversations(dd.from_pandas(df, npartitions=3)).compute()
    pd.testing.assert_frame_equal(alone.sort_index(), local.conversations.sort_index())


def test_profiles_work_on_the_workers(client, default_filter, messages):
    # The profile travels with the tasks and the filter by the worker plugin: the worker's filter
    # must accept the profile made for the client's.
    p = default_filter.profile(categories=["ad_law", "off_platform"], deny_terms=["亲亲"])
    batch = messages + ["亲亲，这款是最佳选择"]
    got = scriptqa.dask.scan_bag(db.from_sequence(batch, npartitions=3), profile=p).compute()
    assert got == [default_filter.scan(m, profile=p) for m in batch] and any(got)
    recs = records(batch)
    got = scriptqa.dask.audit_bag(db.from_sequence(recs, npartitions=3), roles=None, profile=p).compute()
    assert [r["rule"] for r in got] == [f.rule for r in recs for f in default_filter.scan(r["text"], profile=p)]


def test_filter_shipped_once_per_worker(client, default_filter, messages):
    # Runs after the tests above: however many tasks and calls, one copy per worker — also after
    # the scheduler's active memory manager (2 s interval) had time to drop spare replicas.
    time.sleep(2.5)
    scriptqa.dask.scan_bag(db.from_sequence(messages * 4, npartitions=8)).compute()
    counts = unpickled_per_worker(client)
    assert len(counts) == 2 and set(counts.values()) == {1}, counts
    # A different filter is shipped separately (once more per worker), and can be released.
    other = scriptqa.Filter.from_terms(["最佳"])
    got = scriptqa.dask.scan_bag(db.from_sequence(messages, npartitions=4), other).compute()
    assert got == [other.scan(m) for m in messages]
    assert set(unpickled_per_worker(client).values()) == {2}
    ref = scriptqa.dask.ship(other)  # the same installation, not a new one
    assert isinstance(ref, scriptqa.dask.FilterRef)
    assert set(client.run(lambda: len(ref.resolve().rules)).values()) == {len(other.rules)}
    assert set(unpickled_per_worker(client).values()) == {2}
    scriptqa.dask.release(other)

    def gone():
        try:
            ref.resolve()
        except RuntimeError:
            return True
        return False

    assert set(client.run(gone).values()) == {True}


def test_local_scheduler_without_client(default_filter, messages):
    # No distributed client in this call's scheduler: the threaded scheduler, filter passed as is.
    with dask.config.set(scheduler="threads"):
        got = scriptqa.dask.scan_bag(db.from_sequence(messages, npartitions=3), client=None).compute()
    assert got == [default_filter.scan(m) for m in messages]
