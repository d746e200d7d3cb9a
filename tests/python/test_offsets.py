"""str offsets: Finding.start/end index the caller's str, whatever mix of ASCII, CJK, emoji
(astral characters) and combining marks surrounds or sits inside the match."""
import pytest

import scriptqa

# Prefixes end with a CJK character and a clause break, so the context checks (negation cues,
# allow contexts, and the ASCII letter/digit boundary, which looks through skipped punctuation)
# see the same neighbourhood as without the prefix.
PREFIXES = [
    "",
    "ok 好的。",
    "亲亲。",
    "😀。",
    "👍🏽 a\u0301 e\u0301 好！\n",        # emoji with skin-tone modifier, combining accents
    "𠀀𠀁𪚥。",                          # astral CJK (Extension B)
    "ＡＢＣ１２３好。",                  # full width
    "mixed 中文 and emoji 🎉🎉 here 好。",
]
SUFFIXES = ["", "。😀", "，谢谢🙏", "哦。ok"]


def reference_chars(encoded: bytes, byte_offset: int) -> int:
    """The str index of a UTF-8 byte offset, computed by Python itself."""
    return len(encoded[:byte_offset].decode("utf-8", "replace"))


def check_spans(text, findings):
    encoded = text.encode("utf-8")
    for f in findings:
        assert text[f.start:f.end] == f.matched
        assert encoded[f.byte_start:f.byte_end].decode("utf-8") == f.matched
        assert reference_chars(encoded, f.byte_start) == f.start
        assert reference_chars(encoded, f.byte_end) == f.end


def test_spans_shift_with_any_prefix(default_filter, hit_examples):
    for _, msg in hit_examples:
        base = default_filter.scan(msg)
        assert base
        for prefix in PREFIXES:
            for suffix in SUFFIXES:
                text = prefix + msg + suffix
                got = default_filter.scan(text)
                check_spans(text, got)
                # The message's own findings, moved by the prefix's length in str units and bytes.
                shift, bshift = len(prefix), len(prefix.encode("utf-8"))
                moved = [(f.rule, f.start + shift, f.end + shift, f.byte_start + bshift, f.byte_end + bshift)
                         for f in base]
                spans = [(f.rule, f.start, f.end, f.byte_start, f.byte_end) for f in got]
                for m in moved:
                    assert m in spans, (text, m, spans)


def test_emoji_inside_a_match(default_filter, hit_examples):
    # Noise characters between the characters of a match (the evasion the normaliser defeats):
    # the span covers them, and still indexes the str.
    checked = 0
    for rule_id, msg in hit_examples:
        for f in default_filter.scan(msg):
            if f.rule != rule_id or len(f.matched) < 2 or not all("\u4e00" <= c <= "\u9fff" for c in f.matched):
                continue
            spread = f.matched[0] + "😀" + "🎉 ".join(f.matched[1:])
            text = "😀" + msg[:f.start] + spread + msg[f.end:]
            got = default_filter.scan(text)
            check_spans(text, got)
            ours = [g for g in got if g.rule == rule_id and g.start == 1 + f.start]
            assert ours, (text, got)
            assert ours[0].matched == spread
            checked += 1
    assert checked >= 5


def test_bytes_and_str_agree(default_filter, messages):
    for prefix in PREFIXES:
        for msg in messages:
            text = prefix + msg
            from_str = default_filter.scan(text)
            from_bytes = default_filter.scan(text.encode("utf-8"))
            assert [f._replace(matched=f.matched.encode("utf-8"), masked=f.masked.encode("utf-8"))
                    for f in from_str] == from_bytes


def test_invalid_utf8_offsets_match_python_replace_decoding(default_filter, hit_examples):
    bad_chunks = [b"\xff", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"a\x80b"]
    for _, msg in hit_examples[:20]:
        base = default_filter.scan(msg)
        for bad in bad_chunks:
            raw = bad + "。".encode() + msg.encode("utf-8")
            decoded = raw.decode("utf-8", "replace")
            got = default_filter.scan(raw, errors="replace")
            for f in got:
                assert raw[f.byte_start:f.byte_end] == f.matched
                assert decoded[f.start:f.end] == f.matched.decode("utf-8", "replace")
                assert reference_chars(raw, f.byte_start) == f.start
            shift = len(decoded) - len(msg)
            assert [(f.rule, f.start + shift) for f in base] == [(g.rule, g.start) for g in got if g.start >= shift]


def test_lone_surrogates_raise_by_default(default_filter, hit_examples):
    _, msg = hit_examples[0]
    text = "ab\ud800" + msg
    with pytest.raises(scriptqa.EncodingError) as info:
        default_filter.scan(text)
    assert info.value.position == 2
    assert isinstance(info.value, ValueError)
    # A surrogate pair written as two code points is still two lone surrogates in a str.
    with pytest.raises(scriptqa.EncodingError) as info:
        default_filter.scan("x\ud83d\ude00" + msg)
    assert info.value.position == 1


def test_lone_surrogates_replaced_keep_str_offsets(default_filter, hit_examples):
    for _, msg in hit_examples[:20]:
        text = "\udcff。" + msg + "\ud800"
        got = default_filter.scan(text, errors="replace")
        assert got
        for f in got:
            assert text[f.start:f.end] == f.matched
        # Same spans as scanning the text with U+FFFD in place of each surrogate.
        same = default_filter.scan("\ufffd。" + msg + "\ufffd")
        assert [(f.rule, f.start, f.end, f.byte_start, f.byte_end) for f in got] == [
            (f.rule, f.start, f.end, f.byte_start, f.byte_end) for f in same
        ]


def test_long_text_offsets(default_filter, hit_examples):
    # Many findings in one long message: every span still indexes the str.
    parts = []
    for i, (_, msg) in enumerate(hit_examples):
        parts.append(PREFIXES[i % len(PREFIXES)] + msg + "。")
    text = "".join(parts) * 3
    got = default_filter.scan(text)
    assert len(got) >= len(hit_examples)
    check_spans(text, got)
