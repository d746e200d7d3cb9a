"""The shared golden cases (tests/testdata/golden.jsonl), also read by the C++ and CLI tests."""
import json
import os

import pytest

from conftest import TESTDATA

FIELDS = ("rule", "category", "severity", "byte_start", "byte_end", "start", "end", "matched", "suggestion")


def load_cases():
    with open(os.path.join(TESTDATA, "golden.jsonl"), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


CASES = load_cases()


def as_golden(f):
    matched = f.matched.decode("utf-8", "replace") if isinstance(f.matched, bytes) else f.matched
    return {
        "rule": f.rule, "category": f.category, "severity": str(f.severity), "byte_start": f.byte_start,
        "byte_end": f.byte_end, "start": f.start, "end": f.end, "matched": matched, "suggestion": f.suggestion,
    }


def test_golden_file_has_cases():
    assert len(CASES) >= 10
    assert any(c["findings"] for c in CASES) and any(not c["findings"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:16] for c in CASES])
def test_golden_case(default_filter, case):
    expected = [{k: e[k] for k in FIELDS} for e in case["findings"]]
    if "text_bytes_hex" in case:
        # Not valid UTF-8: the exact bytes, repaired (offsets as decode("utf-8", "replace")).
        raw = bytes.fromhex(case["text_bytes_hex"])
        got = default_filter.scan(raw, errors="replace")
        assert [as_golden(f) for f in got] == expected
        for f in got:
            assert raw[f.byte_start:f.byte_end] == f.matched
        # The decoded str (U+FFFD instead of the bad bytes) has the same str offsets.
        text_findings = default_filter.scan(case["text"])
        assert [(f.rule, f.start, f.end, f.matched) for f in text_findings] == [
            (e["rule"], e["start"], e["end"], e["matched"]) for e in expected
        ]
    else:
        text = case["text"]
        got = default_filter.scan(text)
        assert [as_golden(f) for f in got] == expected
        for f in got:
            assert text[f.start:f.end] == f.matched
        # bytes in, same spans out
        got_bytes = default_filter.scan(text.encode("utf-8"))
        assert [as_golden(f) for f in got_bytes] == expected
