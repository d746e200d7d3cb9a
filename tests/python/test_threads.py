"""Threads: one Filter shared by many threads, the GIL released while scanning, scan_many."""
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


def test_scan_releases_the_gil(default_filter):
    text, took = _big_text(default_filter, 0.25)
    pause, total = _longest_pause(lambda: default_filter.scan(text))
    # Holding the GIL would freeze this thread for the whole scan (pause ≈ total).
    assert pause < total / 3, (pause, total)


def test_scan_many_releases_the_gil(default_filter):
    text, took = _big_text(default_filter, 0.05)
    batch = [text] * 6
    pause, total = _longest_pause(lambda: default_filter.scan_many(batch, threads=2))
    assert pause < total / 3, (pause, total)
