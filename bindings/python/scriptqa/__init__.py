"""scriptqa — compliance checks for e-commerce customer-service messages, from Python.

Checks agent messages for Advertising-Law absolute terms, deflection, off-platform solicitation,
paid reviews and leaked personal data, with exact spans (str indices), suggestions and reasons::

    import scriptqa

    f = scriptqa.Filter.default()                  # the shipped rule packs, pre-compiled
    for x in f.scan("這款產品絕對是最佳選擇"):
        print(x.rule, x.span, x.matched, "->", x.suggestion)
    f.rewrite("加我薇信").text                      # suggestions applied, re-checked
    print(f.explain("第一时间为您处理"))            # every raw hit and why it was kept or not
    stream = f.stream()                            # a reply checked while it is written
    f.scan_many(messages, threads=2)              # parallel, GIL released
    findings, summary = scriptqa.audit_frame(df)  # pandas (imported on first use), masked
    scriptqa.audit_conversations(df)              # one scored row per conversation (scorecard)
    scriptqa.mask("加微信 13812345678")           # personal data masked for output

A private extension module (``scriptqa._scriptqa``) does the work in C++; this package is the
Pythonic layer (the design of RE2's Python binding). See docs/python.md.
"""

from __future__ import annotations

from typing import Any

from ._types import (
    DictionarySource,
    Explanation,
    FilterInfo,
    Finding,
    NormalizationOptions,
    Rewritten,
    Rule,
    Severity,
    StreamUpdate,
    Trace,
)
from .errors import (
    DatabaseError,
    DictionaryError,
    DictionaryProblem,
    EncodingError,
    Error,
    IncompatibleDatabaseError,
    ProfileError,
    ScanError,
    ScorecardError,
)
from ._filter import Filter, Profile, StreamScanner, counters, mask
from ._evaluate import Evaluation, evaluate
from ._scorecard import Scorecard

from ._version import __version__

__all__ = [
    "Filter",
    "Profile",
    "StreamScanner",
    "StreamUpdate",
    "Finding",
    "Severity",
    "Trace",
    "Rule",
    "FilterInfo",
    "Rewritten",
    "Explanation",
    "NormalizationOptions",
    "DictionarySource",
    "Error",
    "DictionaryError",
    "DictionaryProblem",
    "DatabaseError",
    "IncompatibleDatabaseError",
    "ProfileError",
    "EncodingError",
    "ScanError",
    "ScorecardError",
    "Scorecard",
    "counters",
    "mask",
    "evaluate",
    "Evaluation",
    "audit_frame",
    "AuditResult",
    "FINDING_COLUMNS",
    "SUMMARY_COLUMNS",
    "audit_conversations",
    "read_conversations",
    "CONVERSATION_COLUMNS",
]


def __getattr__(name: str) -> Any:
    # pandas is imported only by those who use it.
    if name in ("audit_frame", "AuditResult", "FINDING_COLUMNS", "SUMMARY_COLUMNS"):
        from . import _frame

        return getattr(_frame, name)
    if name in ("audit_conversations", "read_conversations", "CONVERSATION_COLUMNS"):
        from . import _conversations

        return getattr(_conversations, name)
    raise AttributeError(f"module 'scriptqa' has no attribute {name!r}")
