"""pandas front end: audit a DataFrame of messages (imported on first use of audit_frame)."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import pandas as pd

from ._filter import Filter, Profile, SeverityLike
from ._scorecard import Scorecard, resolve
from ._util import fold, listing, names, seen, suggestions, templates
from ._types import Finding
from .errors import EncodingError

__all__ = ["audit_frame", "AuditResult", "FINDING_COLUMNS", "SUMMARY_COLUMNS"]

#: Columns of the findings frame (before any ``keep`` columns).
FINDING_COLUMNS = (
    "rule",
    "category",
    "severity",
    "start",
    "end",
    "byte_start",
    "byte_end",
    "matched",
    "suggestion",
    "suggestions",
    "reason",
)
#: Columns of the summary frame (before any ``keep`` columns).
SUMMARY_COLUMNS = (
    "findings",
    "block",
    "review",
    "advice",
    "max_severity",
    "categories",
    "rules",
    "flagged",
)
SEVERITY_DTYPE = pd.CategoricalDtype(["advice", "review", "block"], ordered=True)


class _Frames(NamedTuple):
    findings: pd.DataFrame
    summary: pd.DataFrame


class AuditResult(_Frames):
    """``findings``: one row per finding, indexed by the label of the message it was found in
    (so ``df.join(findings)`` and ``findings.loc[label]`` work); ``summary``: one row per scanned
    message, same index as the input rows it covers. It unpacks as ``findings, summary``.

    With conversations scored (a ``conversation_id`` column, or ``conversations=True``), also
    ``conversations``: the frame of :func:`scriptqa.audit_conversations` (one row per
    conversation), and ``scores``: the summary of those rows per agent, shop and day — the
    ``"conversations"`` object of the CLI's summary.json for the same input. Otherwise both are
    None."""

    def __new__(cls, findings: pd.DataFrame, summary: pd.DataFrame, conversations: Optional[pd.DataFrame] = None,
                scores: Optional[Dict[str, Any]] = None) -> "AuditResult":
        self = super().__new__(cls, findings, summary)
        self.conversations = conversations
        self.scores = scores
        return self

    def __reduce__(self) -> Any:
        return (AuditResult, (self.findings, self.summary, self.conversations, self.scores))


def audit_frame(
    df: pd.DataFrame,
    filter: Optional[Filter] = None,
    *,
    text: str = "text",
    role: Optional[str] = "role",
    roles: Optional[Iterable[str]] = ("agent",),
    keep: Sequence[str] = (),
    threads: Optional[int] = None,
    mask: bool = True,
    min_severity: Optional[SeverityLike] = None,
    categories: Optional[Iterable[str]] = None,
    profile: Optional[Profile] = None,
    overlap: str = "longest",
    errors: str = "strict",
    conversations: Optional[bool] = None,
    scorecard: Union[Scorecard, str, "os.PathLike[str]", None] = None,
    conversation: str = "conversation_id",
    customer_roles: Iterable[str] = ("customer",),
    turn: Optional[str] = "turn",
    timestamp: Optional[str] = "timestamp",
    agent: Optional[str] = "agent_id",
    shop: Optional[str] = "shop_id",
    timezone: str = "UTC",
) -> AuditResult:
    """Scans the messages of a DataFrame; returns ``(findings, summary)`` frames.

    Works on the corpus format as loaded by ``pandas.read_json(path, lines=True)`` (columns
    ``conversation_id``, ``turn``, ``role``, ``text``)::

        df = pandas.read_json("dialogues.jsonl", lines=True)
        findings, summary = scriptqa.audit_frame(df, keep=["conversation_id", "turn"])

    ``text``: the message column. ``role``/``roles``: only rows whose ``role`` column holds one
    of ``roles`` are scanned (agent messages by default; compared without regard to case, so
    ``"Agent"`` is an agent). A frame without the ``role`` column, or ``roles`` that match no row
    of a non-empty frame, raise :class:`ValueError` naming the columns or role values present:
    to scan every row, say so with ``role=None`` (there is no role column) or ``roles=None``
    (every role). ``roles`` and ``keep`` are lists of names: a single ``str`` raises
    :class:`TypeError`. Missing texts (None/NaN) count as empty messages. ``keep``: input columns
    copied into both result frames. ``threads`` and the scan options are those of
    :meth:`Filter.scan_many` (default filter: :meth:`Filter.default`).

    ``mask`` (default True): personal data is masked in the result, which is meant to be shared
    (reports, QA tools): ``matched`` is each finding's :attr:`Finding.masked`, suggestions are
    rendered from it, and the message column, when it is one of ``keep``, holds
    :meth:`Filter.mask` of each message. Masking does not depend on the scan options: a
    ``categories`` or ``profile`` without ``privacy`` still masks phone numbers. ``mask=False``
    gives the raw text (``matched == message[start:end]``). Other ``keep`` columns are copied as
    they are.

    The findings frame has the columns of :data:`FINDING_COLUMNS` (``severity`` is an ordered
    categorical advice < review < block); the summary counts findings per message and severity,
    with ``max_severity``, the sorted ``categories`` and ``rules`` found (comma-separated) and
    ``flagged`` (any finding).

    Conversations: when the frame has the ``conversation`` column (or ``conversations=True``,
    which makes a missing column an error; ``False`` skips them), the conversations are scored as
    :func:`scriptqa.audit_conversations` scores them — with ``roles`` as the agent roles,
    ``customer_roles``, ``scorecard``, the ``turn``, ``timestamp``, ``agent`` and ``shop`` columns
    and ``timezone`` — into ``result.conversations`` and ``result.scores`` (see
    :class:`AuditResult`).
    """
    result = _audit(df, filter, text=text, role=role, roles=roles, keep=keep, threads=threads, mask=mask,
                    min_severity=min_severity, categories=categories, profile=profile, overlap=overlap,
                    errors=errors)
    want = conversations if conversations is not None else (conversation in df.columns and role is not None
                                                            and roles is not None)
    if not want:
        return result
    if role is None or roles is None:
        raise ValueError("audit_frame: conversations need the role column and the agent roles (role=, roles=)")
    from . import _conversations as conv

    f = filter if filter is not None else Filter.default()
    card = resolve(scorecard)
    rows, state = conv.run(df, f, card, conversation=conversation, role=role, text=text, turn=turn,
                           timestamp=timestamp, agent=agent, shop=shop, roles=names(roles, "roles", "audit_frame"),
                           customer_roles=names(customer_roles, "customer_roles", "audit_frame") or (),
                           timezone=timezone, mask=mask, partition=False, call="audit_frame",
                           min_severity=min_severity, categories=categories, profile=profile, overlap=overlap,
                           errors=errors)
    return AuditResult(result.findings, result.summary, conv.rows_frame(json.loads(r) for r in rows),
                       conv.summary(card, [state], timestamp))


def _role_matches(values: pd.Series, roles: Sequence[Any]) -> pd.Series:
    """Which of ``values`` is one of ``roles``, without regard to case."""
    wanted = {fold(r) for r in roles}
    return values.map(fold).isin(wanted)


def _audit(
    df: pd.DataFrame,
    filter: Optional[Filter],
    *,
    text: str,
    role: Optional[str],
    roles: Optional[Iterable[str]],
    keep: Sequence[str],
    threads: Optional[int],
    mask: bool,
    partition: bool = False,
    **options: Any,
) -> AuditResult:
    """audit_frame; `partition`: one part of a larger frame (Dask), where a part without
    a matching role is no error."""
    f = filter if filter is not None else Filter.default()
    roles = names(roles, "roles", "audit_frame")
    keep = names(keep, "keep", "audit_frame") or ()
    if text not in df.columns:
        raise KeyError(f"audit_frame: no column {text!r} (columns: {listing(df.columns)}; pass text=<message column>)")
    for k in keep:
        if k not in df.columns:
            raise KeyError(f"audit_frame: keep: no column {k!r} (columns: {listing(df.columns)})")
    rows = df
    if roles is not None and role is not None:
        if role not in df.columns:
            raise ValueError(
                f"audit_frame: no column {role!r} to select the {seen(roles)} messages by (columns: "
                f"{listing(df.columns)}); pass role=<the column that says who wrote each message>, "
                "or role=None to scan every row"
            )
        selected = _role_matches(df[role], roles)
        if len(df) and not partition and not selected.any():
            raise ValueError(
                f"audit_frame: no row has role {' or '.join(repr(r) for r in roles)} in column {role!r} "
                f"(roles seen: {seen(df[role].unique())}); pass roles=[...] with the ones to scan, "
                "or roles=None to scan every row"
            )
        rows = df[selected]
    values = [_message(v) for v in rows[text].tolist()]
    try:
        results = f.scan_many(values, threads=threads, **options)
    except EncodingError as e:
        label = rows.index[e.index] if e.index is not None else None
        raise EncodingError(
            f"row {label!r}: {e.message}", e.code, position=e.position, index=label
        ) from None
    shown = None
    if mask and text in keep:
        errors = options.get("errors", "strict")
        shown = [f.mask(v, errors=errors) if isinstance(v, (str, bytes)) else v for v in rows[text].tolist()]
    templ = templates(f) if mask else {}
    return AuditResult(
        _findings_frame(rows, results, keep, mask, templ, text, shown),
        _summary_frame(rows, results, keep, text, shown),
    )


def _message(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return v


def _index_name(df: pd.DataFrame) -> Any:
    return df.index.name if df.index.name is not None else "message"


def _findings_frame(rows: pd.DataFrame, results: List[List[Finding]], keep: Sequence[str], mask: bool,
                    templ: Dict[str, Tuple[str, ...]], text: str, shown: Optional[List[Any]]) -> pd.DataFrame:
    positions = [i for i, fs in enumerate(results) for _ in fs]
    flat = [x for fs in results for x in fs]
    shown_suggestions = [suggestions(x, mask, templ) for x in flat]
    cols = {
        "rule": [x.rule for x in flat],
        "category": [x.category for x in flat],
        "severity": pd.Categorical([x.severity.value for x in flat], dtype=SEVERITY_DTYPE),
        "start": pd.array([x.start for x in flat], dtype="int64"),
        "end": pd.array([x.end for x in flat], dtype="int64"),
        "byte_start": pd.array([x.byte_start for x in flat], dtype="int64"),
        "byte_end": pd.array([x.byte_end for x in flat], dtype="int64"),
        "matched": [x.masked if mask else x.matched for x in flat],
        "suggestion": [t[0] if t else "" for t in shown_suggestions],
        "suggestions": shown_suggestions,
        "reason": [x.reason for x in flat],
    }
    index = rows.index.take(positions)
    index.name = _index_name(rows)
    out = pd.DataFrame(cols, index=index)
    for k in keep:
        if k == text and shown is not None:
            out[k] = pd.Series(shown, dtype=object).take(positions).to_numpy()
        else:
            out[k] = rows[k].take(positions).to_numpy()
    for c in ("rule", "category", "matched", "suggestion", "suggestions", "reason"):
        out[c] = out[c].astype(object)
    return out


def _summary_frame(rows: pd.DataFrame, results: List[List[Finding]], keep: Sequence[str], text: str,
                   shown: Optional[List[Any]]) -> pd.DataFrame:
    counts = {"block": [], "review": [], "advice": []}  # type: dict
    max_sev: List[Optional[str]] = []
    cats: List[str] = []
    rules: List[str] = []
    for fs in results:
        c = {"block": 0, "review": 0, "advice": 0}
        for x in fs:
            c[x.severity.value] += 1
        for k in counts:
            counts[k].append(c[k])
        max_sev.append(max(fs, key=lambda x: x.severity.rank).severity.value if fs else None)
        cats.append(",".join(sorted({x.category for x in fs})))
        rules.append(",".join(sorted({x.rule for x in fs})))
    n = [len(fs) for fs in results]
    index = rows.index.copy()
    index.name = _index_name(rows)
    out = pd.DataFrame(
        {
            "findings": pd.array(n, dtype="int64"),
            "block": pd.array(counts["block"], dtype="int64"),
            "review": pd.array(counts["review"], dtype="int64"),
            "advice": pd.array(counts["advice"], dtype="int64"),
            "max_severity": pd.Categorical(max_sev, dtype=SEVERITY_DTYPE),
            "categories": pd.Series(cats, dtype=object).to_numpy(),
            "rules": pd.Series(rules, dtype=object).to_numpy(),
            "flagged": [k > 0 for k in n],
        },
        index=index,
    )
    out["flagged"] = out["flagged"].astype(bool)
    for k in keep:
        if k == text and shown is not None:
            out[k] = pd.Series(shown, dtype=object).to_numpy()
        else:
            out[k] = rows[k].to_numpy()
    return out
