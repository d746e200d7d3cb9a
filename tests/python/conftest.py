"""Shared fixtures of the Python tests.

Run them with Debian's interpreter and the built package on PYTHONPATH (ctest does this):
    PYTHONPATH=build-py/bindings/python /usr/bin/python3 -m pytest tests/python
"""
import os

import pytest

import scriptqa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTDATA = os.path.join(ROOT, "tests", "testdata")
DICTIONARIES = os.path.join(ROOT, "dictionaries")


@pytest.fixture(scope="session")
def default_filter() -> scriptqa.Filter:
    # The database the build compiled from the shipped packs (tests/CMakeLists.txt), when ctest
    # names it: compiling them again in every test process takes seconds.
    db = os.environ.get("SCRIPTQA_TEST_DEFAULT_DB")
    if db and os.path.exists(db):
        return scriptqa.Filter.load(db)
    return scriptqa.Filter.default()


@pytest.fixture(scope="session")
def hit_examples(default_filter):
    """(rule id, message) for every `hit` example of the shipped packs that the default filter
    flags with that rule; the raw material of the offset and concurrency tests."""
    out = []
    for rule in default_filter.rules:
        for msg in rule.hit_examples:
            if any(f.rule == rule.id for f in default_filter.scan(msg)):
                out.append((rule.id, msg))
    assert len(out) >= 20, "the shipped packs should have many hit examples"
    return out


@pytest.fixture(scope="session")
def messages(default_filter, hit_examples):
    """A mixed batch: flagged examples, their look-alikes (`miss` examples), plain chatter."""
    out = [m for _, m in hit_examples]
    for rule in default_filter.rules:
        out.extend(rule.miss_examples)
    out += ["您好", "", "好的，亲，马上为您处理", "ok", "😀😀", "订单号 1234567890123456789 已发货"]
    return out


def finding_dicts(findings):
    return [f._asdict() for f in findings]
