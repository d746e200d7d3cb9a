"""The bad-input catalogue through the Python package (docs/reliability.md): the cases that
tests/python does not cover. Registered by tests/fuzz/CMakeLists.txt when the extension is built."""
import pytest

import scriptqa


@pytest.fixture(scope="module")
def f():
    return scriptqa.Filter.default()


INVALID = [
    (b"\x80", 1), (b"\xc2", 1), (b"\xe4\xbd", 1), (b"\xf0\x9f\x98", 1), (b"\xc0\xaf", 2),
    (b"\xe0\x80\xaf", 3), (b"\xf0\x80\x80\xaf", 4), (b"\xc0\x80", 2), (b"\xed\xa0\x80", 3),
    (b"\xed\xa0\xbd\xed\xb8\x80", 6), (b"\xf4\x90\x80\x80", 4), (b"\xf8\x88\x80\x80\x80", 5),
    (b"\xfe", 1), (b"\xff", 1),
]


@pytest.mark.parametrize("bad,chars", INVALID)
def test_invalid_utf8_bytes_strict_and_replace(f, bad, chars):
    msg = "加".encode() + bad + "微信".encode()
    with pytest.raises(scriptqa.EncodingError) as info:
        f.scan(msg)
    assert info.value.position == 3  # a byte offset into the bytes given
    found = [x for x in f.scan(msg, errors="replace") if x.rule == "off_platform.wechat"]
    assert len(found) == 1
    # str offsets of the text Python itself decodes with errors="replace": the channel 微信 (加,
    # before the bad bytes, is the rule's context)
    assert found[0].span == (1 + chars, 3 + chars)
    assert len(msg.decode("utf-8", "replace")) == 3 + chars


@pytest.mark.parametrize("junk", ["\x00", "\x01\x1b", "\ufeff", "\u202e", "\u200b\u200d", "\U000e0020",
                                  "\u00ad", "\ufe0f", "\u3000", "\u2028", "\ufffd"])
def test_control_and_format_characters_do_not_hide_a_phrase(f, junk):
    msg = "亲，加" + junk + "微" + junk + "信"
    found = [x for x in f.scan(msg) if x.rule == "off_platform.wechat"]
    assert len(found) == 1
    assert found[0].span == (3 + len(junk), len(msg))  # the channel 微…信; 加 is its context
    assert msg[found[0].span[0]:found[0].span[1]] == found[0].matched


def test_lone_surrogates_in_str(f):
    with pytest.raises(scriptqa.EncodingError):
        f.scan("加\udc80微信")
    assert [x.rule for x in f.scan("加\udc80微信", errors="replace")] == ["off_platform.wechat"]


def test_mixed_scripts_and_unusual_code_points(f):
    for msg in ["加 vх 聊", "مرحبا 加微信 שלום", "加\u0338微\u0337信", "加\ufffe微信", "加\ue000微信",
                "加\U0010ffff微信", "👨\u200d👩 加微信", "ｖｘ号ＡＢＣ１２３４"]:
        for x in f.scan(msg):
            assert msg[x.span[0]:x.span[1]] == x.matched
        assert f.rewrite(msg).clean


def test_databases(tmp_path, f):
    blob = f.serialize()
    for bad in [b"", b"S", b"\x1f\x8b\x08\x00", blob[:20], blob[: len(blob) // 2], blob + b"xx"]:
        with pytest.raises(scriptqa.DatabaseError):
            scriptqa.Filter.load(bad)
    with pytest.raises(IsADirectoryError):
        scriptqa.Filter.load(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        scriptqa.Filter.load(str(tmp_path / "missing.sqdb"))


def test_dictionaries(tmp_path):
    head = "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
    for text in [head, head + "rule a.nul\n  literal 最\x00佳\n  reason r\n",
                 head + "rule a.long\n  literal " + "佳" * 10000 + "\n  reason r\n",
                 "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
                 "rule p.x\n  regex [0-9]{1,1000}x\n  reason r\n"]:
        with pytest.raises(scriptqa.DictionaryError):
            scriptqa.Filter.from_dictionaries([scriptqa.DictionarySource.text("case.rules", text)])
    p = tmp_path / "bad.rules"
    p.write_bytes(head.encode() + b"rule x.a\n  literal \xe6\x9c\x80\xff\n  reason r\n")
    with pytest.raises(scriptqa.DictionaryError) as info:
        scriptqa.Filter.from_dictionaries([p])
    assert "invalid UTF-8" in str(info.value)
