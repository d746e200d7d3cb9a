"""pandas front end of the conversation checks (C++ scriptqa/conversation.h): one row per
conversation, the same rows as the CLI's conversations.jsonl, and the same summary."""

from __future__ import annotations

import datetime
import json
import math
import numbers
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import pandas as pd

from . import _scriptqa as _native
from ._filter import Filter, Profile, SeverityLike
from ._scorecard import Scorecard, resolve
from ._util import listing, names, seen
from .errors import EncodingError, ScorecardError, code_name

__all__ = ["audit_conversations", "read_conversations", "CONVERSATION_COLUMNS"]

#: Columns of the conversation frame, in the order of the keys of a conversations.jsonl row
#: (``conversation_id`` is the index).
CONVERSATION_COLUMNS = (
    "conversation_id",
    "agent_id",
    "shop_id",
    "day",
    "start_ms",
    "turns",
    "agent_turns",
    "customer_turns",
    "score",
    "first_response_s",
    "replies",
    "replies_within",
    "reply_limit_s",
    "longest_wait_s",
    "untimed_replies",
    "promotion",
    "block",
    "review",
    "advice",
    "first_response",
    "reply_time",
    "longest_wait",
    "greeting",
    "closing",
    "unanswered",
    "upset",
    "repeat_question",
    "findings",
    "deductions",
    "promises",
    "reply_s",
)

_WORST = 10

# Column types, fixed so that frames of any rows (none, or all without times) concatenate and
# compare equal: counts int64, seconds float64 (NaN: not measured), start_ms nullable Int64,
# promotion bool, the rest objects (str, None for unknown, lists).
_INT = ("turns", "agent_turns", "customer_turns", "score", "replies", "replies_within", "untimed_replies", "block",
        "review", "advice")
_FLOAT = ("first_response_s", "reply_limit_s", "longest_wait_s")


def rows_frame(rows: Iterable[Dict[str, Any]]) -> pd.DataFrame:
    """The conversation frame of parsed conversations.jsonl rows."""
    df = pd.DataFrame(list(rows), columns=list(CONVERSATION_COLUMNS))
    types: Dict[str, Any] = {c: "int64" for c in _INT}
    types.update({c: "float64" for c in _FLOAT})
    types["start_ms"] = "Int64"
    types["promotion"] = "bool"
    for c in CONVERSATION_COLUMNS:
        if c not in types:
            types[c] = "object"
    df = df.astype(types)
    return df.set_index("conversation_id")


def read_conversations(path: Union[str, "os.PathLike[str]"]) -> pd.DataFrame:
    """Reads the CLI's conversations.jsonl into the frame :func:`audit_conversations` returns
    (equal to it for the same input, scorecard and options)."""
    with open(path, encoding="utf-8") as fh:
        return rows_frame(json.loads(line) for line in fh if line.strip())


def _missing(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _fold(v: Any) -> Any:
    return v.strip().casefold() if isinstance(v, str) else v


def _time(v: Any, zone: str) -> Optional[int]:
    """Epoch ms of a timestamp value as the CLI reads it (None: absent or unreadable)."""
    if _missing(v) or isinstance(v, bool):
        return None
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        t = pd.Timestamp(v)
        if t.tzinfo is not None:
            return int(t.value // 1_000_000)
        return _native.parse_timestamp(t.isoformat(), zone)
    if isinstance(v, numbers.Real):
        f = float(v)
        return None if math.isnan(f) else _native.parse_timestamp(f, zone)
    if isinstance(v, (str, bytes)):
        return _native.parse_timestamp(v, zone)
    return None


def _turn(v: Any) -> Optional[int]:
    if _missing(v) or isinstance(v, bool):
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real) and float(v).is_integer():
        return int(v)
    return None  # a string turn names no position (as in the CLI)


def _id(v: Any) -> Optional[str]:
    if _missing(v):
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real) and float(v).is_integer():
        return str(int(v))
    return v if isinstance(v, str) else str(v)


def _text(v: Any, errors: str, label: Any) -> Union[str, bytes]:
    if _missing(v):
        return ""
    if isinstance(v, bytes):
        return v
    if not isinstance(v, str):
        raise TypeError(f"audit_conversations: row {label!r}: the message is a {type(v).__name__}, not a str")
    try:
        v.encode("utf-8")
        return v
    except UnicodeEncodeError as e:
        if errors == "replace":
            return v.encode("utf-8", "replace")
        raise EncodingError(
            f"row {label!r}: text contains a lone surrogate at index {e.start} and cannot be encoded as UTF-8 "
            "(pass errors=\"replace\" to read it as '?')", "INVALID_ARGUMENT", position=e.start, index=label
        ) from None


def _columns(df: pd.DataFrame, conversation: str, role: str, text: str, call: str) -> None:
    for col, flag in ((conversation, "conversation"), (role, "role"), (text, "text")):
        if col not in df.columns:
            raise KeyError(f"{call}: no column {col!r} (columns: {listing(df.columns)}; pass {flag}=<the column>)")


def run(
    df: pd.DataFrame,
    f: Filter,
    card: Scorecard,
    *,
    conversation: str,
    role: str,
    text: str,
    turn: Optional[str],
    timestamp: Optional[str],
    agent: Optional[str],
    shop: Optional[str],
    roles: Sequence[Any],
    customer_roles: Sequence[Any],
    timezone: str,
    mask: bool,
    partition: bool,
    call: str,
    min_severity: Optional[SeverityLike] = None,
    categories: Optional[Iterable[str]] = None,
    profile: Optional[Profile] = None,
    overlap: str = "longest",
    errors: str = "strict",
) -> Tuple[List[str], bytes]:
    """The conversation rows (JSON strings, as the CLI writes them) and the serialized summary."""
    _columns(df, conversation, role, text, call)
    agent_roles = {_fold(r) for r in roles}
    cust_roles = {_fold(r) for r in customer_roles}
    role_values = [_fold(v) for v in df[role].tolist()]
    codes = [0 if v in agent_roles else 1 if v in cust_roles else 2 for v in role_values]
    if len(df) and not partition and all(c == 2 for c in codes):
        raise ValueError(
            f"{call}: no row has role {' or '.join(repr(r) for r in list(roles) + list(customer_roles))} in column "
            f"{role!r} (roles seen: {seen(df[role].unique())}); pass roles=[...] (agents) and customer_roles=[...]"
        )
    labels = df.index.tolist()
    convs = []
    for label, v in zip(labels, df[conversation].tolist()):
        c = _id(v)
        if c is None:
            raise ValueError(f"{call}: row {label!r} has no conversation id (column {conversation!r})")
        convs.append(c)
    texts = [_text(v, errors, label) for label, v in zip(labels, df[text].tolist())]

    def column(name: Optional[str], convert: Any) -> List[Any]:
        if name is None or name not in df.columns:
            return [None] * len(df)
        return [convert(v) for v in df[name].tolist()]

    turns = column(turn, _turn)
    times = column(timestamp, lambda v: _time(v, timezone))
    agents = column(agent, _id)
    shops = column(shop, _id)
    native_options, _ = f._options(min_severity, categories, profile, overlap, "replace")
    try:
        rows, state = _native.audit_conversations(
            f._native, card._native, native_options, convs, codes, texts, turns, times, agents, shops,
            bool(mask), timezone, timestamp or "timestamp", _WORST)
    except _native.StatusError as e:
        code, message = e.args
        raise ScorecardError(message, code_name(code)) from None
    return rows, state


def summary(card: Scorecard, states: Sequence[bytes], timestamp: Optional[str]) -> Dict[str, Any]:
    """The summary.json "conversations" object of one or more parts' serialized summaries."""
    return json.loads(_native.conversation_summary(card._native, list(states), timestamp or "timestamp", _WORST))


def audit_conversations(
    df: pd.DataFrame,
    filter: Optional[Filter] = None,
    *,
    scorecard: Union[Scorecard, str, "os.PathLike[str]", None] = None,
    conversation: str = "conversation_id",
    role: str = "role",
    text: str = "text",
    turn: Optional[str] = "turn",
    timestamp: Optional[str] = "timestamp",
    agent: Optional[str] = "agent_id",
    shop: Optional[str] = "shop_id",
    roles: Iterable[str] = ("agent",),
    customer_roles: Iterable[str] = ("customer",),
    timezone: str = "UTC",
    mask: bool = True,
    min_severity: Optional[SeverityLike] = None,
    categories: Optional[Iterable[str]] = None,
    profile: Optional[Profile] = None,
    errors: str = "strict",
) -> pd.DataFrame:
    """Scores each conversation of a frame of messages against a scorecard; one row per
    conversation, indexed by ``conversation_id``, with the columns of :data:`CONVERSATION_COLUMNS`
    — the rows and values of the CLI's conversations.jsonl for the same input
    (:func:`read_conversations` reads that file into an equal frame)::

        df = pandas.read_json("dialogues.jsonl", lines=True, dtype=False, convert_dates=False)
        conv = scriptqa.audit_conversations(df)
        conv.sort_values("score").head(10)[["agent_id", "score", "deductions"]]

    The columns name the fields (``turn``, ``timestamp``, ``agent``, ``shop`` may be None or
    absent). Rows whose ``role`` is one of ``roles`` are the agent's (their messages are scanned
    with ``filter`` and the scan options, and the findings count by severity), of
    ``customer_roles`` the customer's; roles are compared without regard to case. Timestamps may
    be epoch seconds or milliseconds, ISO 8601 strings or pandas Timestamps; one without an offset
    is read in ``timezone``, which also fixes each conversation's day. ``scorecard``: a
    :class:`Scorecard` or a path (default: the shipped one). ``mask`` masks personal data in the
    promise phrases (the rows carry no other text). Rows come in the order the conversations
    started (for input grouped by conversation, input order)."""
    f = filter if filter is not None else Filter.default()
    card = resolve(scorecard)
    roles_t = names(roles, "roles", "audit_conversations") or ()
    cust_t = names(customer_roles, "customer_roles", "audit_conversations") or ()
    rows, _ = run(df, f, card, conversation=conversation, role=role, text=text, turn=turn, timestamp=timestamp,
                  agent=agent, shop=shop, roles=roles_t, customer_roles=cust_t, timezone=timezone, mask=mask,
                  partition=False, call="audit_conversations", min_severity=min_severity, categories=categories,
                  profile=profile, errors=errors)
    return rows_frame(json.loads(r) for r in rows)
