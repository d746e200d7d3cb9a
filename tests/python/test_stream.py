"""Streaming (StreamScanner), explain with str offsets, and the error and module surfaces users
asked for: the same findings as a whole-message scan, str offsets everywhere, masked output."""
import threading

import pytest

import scriptqa
import scriptqa.dask


def chunks(text, size):
    return [text[i : i + size] for i in range(0, len(text), size)]


def key(findings):
    return [(f.rule, f.start, f.end, f.severity, f.matched) for f in findings]


def test_stream_gives_the_findings_of_a_whole_scan_with_str_offsets(default_filter, messages):
    stream = default_filter.stream(min_scan_bytes=0)
    for message in messages[::7] + ["😀😀 这款是全网最低价，加我薇信 13812345678 哦"]:
        for size in (1, 4):
            stream.reset()
            released, found = [], []
            for piece in chunks(message, size):
                u = stream.write(piece)
                released.append(u.released)
                found.extend(u.new_findings)
                # What was released so far is a prefix no later finding can touch.
                shown = "".join(released)
                assert message.startswith(shown)
                for f in u.new_findings:
                    assert message[f.start : f.end] == f.matched
            last = stream.finish()
            released.append(last.released)
            found.extend(last.new_findings)
            assert last.finished and stream.finished
            assert "".join(released) == message
            assert stream.text == message
            assert sorted(key(found)) == sorted(key(default_filter.scan(message))), message
            assert key(stream.findings) == key(default_filter.scan(message)), message


def test_stream_masks_personal_data_and_takes_profiles(default_filter):
    p = default_filter.profile(categories=["privacy"])
    stream = scriptqa.StreamScanner(default_filter, profile=p)
    for piece in chunks("电话13812345678，这款是全网最低价", 2):
        stream.write(piece)
    stream.finish()
    assert [f.category for f in stream.findings] == ["privacy"]
    assert "13812345678" not in stream.findings[0].masked


def test_stream_bytes_chunks_split_inside_characters(default_filter):
    data = "亲，加我薇信".encode()
    stream = default_filter.stream()
    out = b""
    for i in range(len(data)):
        out += stream.write(data[i : i + 1]).released
    out += stream.finish().released
    assert out == data
    assert [(f.rule, f.byte_start, f.byte_end) for f in stream.findings] == [
        (f.rule, f.byte_start, f.byte_end) for f in default_filter.scan(data)
    ]
    assert isinstance(stream.findings[0].matched, bytes)


def test_stream_misuse_is_an_error_not_a_crash(default_filter):
    stream = default_filter.stream()
    stream.write("你好")
    with pytest.raises(TypeError):
        stream.write(b"bytes")  # str and bytes chunks are not mixed in one message
    with pytest.raises(TypeError):
        stream.write(5)
    stream.finish()
    with pytest.raises(scriptqa.ScanError):
        stream.write("more")  # after finish: reset() first
    stream.reset()
    assert stream.write("加我薇信").released is not None
    with pytest.raises(scriptqa.EncodingError) as e:
        stream.write("ok\ud800")
    assert e.value.position == 6  # str index in the whole message
    with pytest.raises(ValueError):
        default_filter.stream(min_scan_bytes=-1)


def test_one_stream_used_from_two_threads_at_once_raises_instead_of_corrupting(default_filter):
    stream = default_filter.stream(min_scan_bytes=0)
    errors, barrier = [], threading.Barrier(2)

    def writer():
        barrier.wait()
        for _ in range(50):
            try:
                stream.write("您好，订单已经发出了" * 120)  # long enough to release the GIL
            except scriptqa.ScanError as e:
                errors.append(e)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        assert "in use" in str(e) and e.code == "FAILED_PRECONDITION", e


def test_explanation_str_has_str_offsets_and_masks(default_filter):
    msg = "😀😀这款是最佳选择，电话13812345678"
    e = default_filter.explain(msg)
    assert e.traces and e.findings
    for t in e.traces:
        assert msg[t.start : t.end] == t.matched
    report = str(e)
    best = next(f for f in e.findings if f.category == "ad_law")
    assert f"[{best.start},{best.end})" in report  # str indices, not UTF-8 bytes
    assert f"[{best.byte_start},{best.byte_end})" not in report
    assert "13812345678" not in report


def test_profile_error_lists_the_categories(default_filter):
    with pytest.raises(scriptqa.ProfileError) as e:
        default_filter.profile(categories=["adlaw"])
    assert "adlaw" in str(e.value)
    for c in default_filter.categories:
        assert c in str(e.value)
    assert e.value.categories == default_filter.categories


def test_dask_module_declares_its_public_names():
    assert set(scriptqa.dask.__all__) >= {"scan_bag", "audit_bag", "audit_dataframe", "ship", "release"}
    for name in scriptqa.dask.__all__:
        assert hasattr(scriptqa.dask, name)
    assert "StreamScanner" in scriptqa.__all__
