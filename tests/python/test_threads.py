"""Threads: one Filter shared by many threads, the GIL released while scanning, scan_many."""
import gc
import multiprocessing
import os
import threading
import time

import pytest

import scriptqa


def test_shared_filter_many_threads(default_filter, messages):
    expected = [default_filter.scan(m) for m in messages]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(20):
                got = [default_filter.scan(m) for m in messages]
                assert got == expected
            results[k] = True
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_scan_many_equals_scan(default_filter, messages, threads, chunk_size):
    batch = messages * 5
    got = default_filter.scan_many(batch, threads=threads, chunk_size=chunk_size)
    assert got == [default_filter.scan(m) for m in batch]


def test_scan_many_accepts_iterables_and_options(default_filter, messages):
    expected = [default_filter.scan(m, min_severity="review", categories=["ad_law", "off_platform"]) for m in messages]
    got = default_filter.scan_many(iter(messages), min_severity="review", categories=["ad_law", "off_platform"])
    assert got == expected
    assert default_filter.scan_many([]) == []
    mixed = [m.encode() if i % 2 else m for i, m in enumerate(messages)]
    assert [[f.start for f in fs] for fs in default_filter.scan_many(mixed)] == [
        [f.start for f in default_filter.scan(m)] for m in messages]


def _big_text(default_filter, seconds):
    """A message that takes at least `seconds` to scan."""
    unit = "您好，这个订单已经为您催促仓库发货了，最晚明天送达。 " * 200
    text = unit
    while True:
        t0 = time.perf_counter()
        default_filter.scan(text)
        took = time.perf_counter() - t0
        if took >= seconds:
            return text, took
        text = text * 2


def _longest_pause(call):
    """Runs call() in a thread while this thread keeps executing Python; returns the longest
    pause this thread saw and how long the call took."""
    stamps = []
    done = threading.Event()
    t = threading.Thread(target=lambda: (call(), done.set()))
    start = time.perf_counter()
    stamps.append(start)
    t.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    stamps.append(time.perf_counter())  # a freeze until the call ended is a pause, too
    t.join()
    took = time.perf_counter() - start
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return max(gaps), took


def _runs_without_the_gil(call):
    # Holding the GIL would freeze this thread for the whole call (pause ≈ total) every time; a
    # busy machine may preempt it now and then, so one clean run out of three is enough.
    runs = []
    for _ in range(3):
        pause, total = _longest_pause(call)
        runs.append((pause, total))
        if pause < total / 3:
            return runs
    raise AssertionError(f"this thread was frozen while the call ran: (pause, total) = {runs}")


def test_scan_releases_the_gil(default_filter):
    text, _ = _big_text(default_filter, 0.25)
    _runs_without_the_gil(lambda: default_filter.scan(text))


def test_scan_many_releases_the_gil(default_filter):
    text, _ = _big_text(default_filter, 0.05)
    batch = [text] * 6
    _runs_without_the_gil(lambda: default_filter.scan_many(batch, threads=2))


def test_fork_while_another_thread_scans(default_filter, hit_examples):
    # A thread is inside a scan (GIL released) when the process forks. In the child that thread
    # does not exist, but a new thread may get its id (glibc reuses the stack): it must get a
    # working scanner, not the parent's busy one.
    msgs = [m for _, m in hit_examples]
    expected = [default_filter.scan(m) for m in msgs]
    text, took = _big_text(default_filter, 0.3)
    inside = threading.Event()

    def long_scan():
        inside.set()
        default_filter.scan(text)

    def child():
        result = {}

        def work():
            result["got"] = [default_filter.scan(m) for m in msgs]
            result["many"] = default_filter.scan_many(msgs, threads=2)

        th = threading.Thread(target=work)
        th.start()
        th.join()
        os._exit(0 if result.get("got") == expected and result.get("many") == expected else 3)

    t = threading.Thread(target=long_scan)
    t.start()
    inside.wait()
    time.sleep(took / 2)  # well inside the scan (reading the text takes a few per cent)
    p = multiprocessing.get_context("fork").Process(target=child)
    p.start()
    p.join(60)
    t.join()
    assert p.exitcode == 0


def test_finalizers_that_scan_while_results_are_built(default_filter, hit_examples):
    # Building result objects can run the garbage collector, and so __del__ methods that scan
    # on the same thread (same scanner). The outer call's results must not be disturbed.
    singles = [m for _, m in hit_examples]
    # Messages with many findings, so that a nested scan overwriting the outer call's buffers
    # would show up in the outer results.
    msgs = singles + ["。".join(singles[i:i + 8]) for i in range(0, len(singles), 8)]
    expected = [default_filter.scan(m) for m in msgs]
    nested_text = "。".join(reversed(singles[:16]))
    nested_expected = default_filter.scan(nested_text)
    nested = []

    class Scans:
        def __init__(self):
            self.me = self  # a cycle: only the collector frees it

        def __del__(self):
            nested.append(default_filter.scan(nested_text) == nested_expected)

    scan, scan_many = default_filter.scan, default_filter.scan_many
    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        for _ in range(2):
            for m, want in zip(msgs, expected):
                # Garbage with finalizers, pending: the first allocation inside the next scan's
                # result building runs the collector (nothing is allocated before it).
                gc.disable()
                for _ in range(3):
                    Scans()
                gc.enable()
                got = scan(m)
                assert got == want
            gc.disable()
            for _ in range(3):
                Scans()
            gc.enable()
            got = scan_many(msgs, threads=2)
            assert got == expected
    finally:
        gc.set_threshold(*old)
        gc.enable()
        gc.collect()
    assert nested and all(nested)  # the finalizers did run, and scanned correctly


@pytest.mark.parametrize("threads,chunk_size", [(2, 1), (2, 7), (3, 64), (8, 5)])
def test_scan_many_reports_the_first_failure(default_filter, messages, threads, chunk_size):
    batch = messages * 10
    for first in (0, len(batch) // 3, len(batch) - 1):
        bad = list(batch)
        for i in (first, first + 5, first + 40, len(batch) - 1):
            if i < len(bad):
                bad[i] = "x\ud800"
        with pytest.raises(scriptqa.EncodingError) as info:
            default_filter.scan_many(bad, threads=threads, chunk_size=chunk_size)
        assert info.value.index == first and info.value.position == 1
    # And the filter still works afterwards, in parallel.
    assert default_filter.scan_many(batch, threads=threads, chunk_size=chunk_size) == [
        default_filter.scan(m) for m in batch]


def test_filters_freed_right_after_parallel_scans():
    # Helper threads that start late outlive their scan_many call; freeing the filter right after
    # must not disturb them (they hold only the scanner pool), nor the next filter's scans.
    msgs = ["这款是最佳选择", "加我薇信", "您好"] * 50
    for _ in range(30):
        f = scriptqa.Filter.from_terms(["最佳", "薇信"])
        expected = [f.scan(m) for m in msgs]
        for _ in range(5):
            assert f.scan_many(msgs, threads=8, chunk_size=3) == expected
        del f
        gc.collect()


CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "corpus",
                      "jddc_sample_dialogues.jsonl")


def _many_messages(messages, n):
    """n messages of every storage kind (ASCII, Latin-1, UCS-2, UCS-4 str; bytes), mixing the
    flagged examples with plain chatter, so that findings land in chunks of every worker."""
    out = []
    i = 0
    while len(out) < n:
        m = messages[i % len(messages)]
        kind = i % 7
        if kind == 1:
            m = "café " + m
        elif kind == 2:
            m = m + " 😀"
        elif kind == 3:
            m = m.encode("utf-8")
        elif kind == 4:
            m = "您好，这边马上为您处理，请稍等。" * (1 + i % 3)
        out.append(m)
        i += 1
    return out


@pytest.mark.parametrize("threads,chunk_size", [(2, 64), (2, 1), (3, 17), (8, 256)])
def test_scan_many_parallel_equals_one_thread_on_many_messages(default_filter, messages, threads, chunk_size):
    batch = _many_messages(messages, 30000)
    one = default_filter.scan_many(batch, threads=1)
    assert sum(map(bool, one)) > 1000  # findings in chunks of every worker
    assert default_filter.scan_many(batch, threads=threads, chunk_size=chunk_size) == one
    # The results are independent lists (empty ones too).
    got = default_filter.scan_many(batch, threads=threads, chunk_size=chunk_size)
    assert len({id(x) for x in got}) == len(got)


@pytest.mark.skipif(not os.path.exists(CORPUS), reason="the shared corpus is not on this machine")
def test_scan_many_parallel_equals_one_thread_on_the_corpus(default_filter):
    import json

    with open(CORPUS, encoding="utf-8") as fh:
        msgs = [r["text"] for r in map(json.loads, fh) if r.get("role") == "agent" and r.get("text")]
    batch = msgs * 3
    one = default_filter.scan_many(batch, threads=1)
    assert one == [default_filter.scan(m) for m in batch]
    for threads in (2, 3):
        assert default_filter.scan_many(batch, threads=threads) == one


def test_finalizer_that_empties_the_input_while_results_are_built(default_filter, messages):
    # The result lists are built while the helpers scan; a finalizer run by the collector then
    # may change the caller's list. scan_many scans the texts it was given, all of them.
    batch = _many_messages(messages, 5000)
    expected = default_filter.scan_many(list(batch), threads=1)

    class Clears:
        def __init__(self, target):
            self.me = self  # a cycle: only the collector frees it
            self.target = target

        def __del__(self):
            self.target.clear()
            self.target.append("加我薇信")

    old = gc.get_threshold()
    try:
        for threads in (1, 2):
            victim = [(m + m[:1])[:-1] for m in batch]  # texts only this list holds
            assert victim == batch and victim[0] is not batch[0]
            # The collector runs after 1,000 allocations: inside the building of the 5,000
            # result lists, not in the few allocations before the native call.
            gc.collect()
            gc.set_threshold(1000)
            Clears(victim)
            got = default_filter.scan_many(victim, threads=threads)
            gc.set_threshold(*old)
            assert victim == ["加我薇信"]  # the finalizer did run, during the call
            assert got == expected
    finally:
        gc.set_threshold(*old)


@pytest.mark.parametrize("threads,chunk_size", [(1, 64), (2, 64), (2, 5), (3, 1)])
def test_scan_many_first_failure_of_either_kind(default_filter, messages, threads, chunk_size):
    # Invalid UTF-8 in bytes is found by the scan of a chunk, a lone surrogate before it (while
    # the chunk's texts are read): whichever comes first in the batch is reported, also when
    # both are in one chunk.
    batch = _many_messages(messages, 2000)
    for bad_bytes_at, surrogate_at in ((100, 103), (103, 100), (1500, 1501), (7, 700), (1999, 64)):
        bad = list(batch)
        bad[bad_bytes_at] = b"ok\xff"
        bad[surrogate_at] = "ab\ud800"
        with pytest.raises(scriptqa.EncodingError) as info:
            default_filter.scan_many(bad, threads=threads, chunk_size=chunk_size)
        assert (info.value.index, info.value.position) == (min(bad_bytes_at, surrogate_at), 2)
        got = default_filter.scan_many(bad, threads=threads, chunk_size=chunk_size, errors="replace")
        assert got == [default_filter.scan(m, errors="replace") for m in bad]
