"""Scoring a filter on labelled messages (the library's Evaluate, as ``scriptqa eval`` runs it)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from . import _scriptqa as _native
from ._filter import Filter, _status
from ._types import Severity

__all__ = ["evaluate", "Evaluation"]

_RANK = {"advice": 0, "review": 1, "block": 2}


class Evaluation:
    """The report of :func:`evaluate`: the same numbers and problems as ``scriptqa eval``.

    ``overall``, ``by_category`` (category -> counts), ``by_evasion``, ``evasions`` and
    ``by_rule`` hold counts and rates (``recall``, ``false_alarm_rate``, ``precision``,
    ``category_accuracy``, ``span_accuracy``); ``problems`` lists every miss, wrong category and
    false alarm with its findings. ``to_dict()`` is the JSON of ``scriptqa eval --json``;
    ``str(evaluation)`` the text report.
    """

    __slots__ = ("_data", "_text")

    def __init__(self, data: Dict[str, Any], text: str) -> None:
        self._data = data
        self._text = text

    @property
    def overall(self) -> Dict[str, Any]:
        return self._data["overall"]

    @property
    def by_category(self) -> Dict[str, Dict[str, Any]]:
        return dict(self._data["by_category"])

    @property
    def by_evasion(self) -> Dict[str, Dict[str, Any]]:
        return dict(self._data["by_evasion"])

    @property
    def evasions(self) -> Dict[str, Any]:
        return self._data["evasions"]

    @property
    def by_rule(self) -> List[Dict[str, Any]]:
        return self._data["by_rule"]

    @property
    def problems(self) -> List[Dict[str, Any]]:
        return self._data["problems"]

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._data))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        o = self.overall
        return (f"<Evaluation recall={o['recall']:.3f} false_alarm_rate={o['false_alarm_rate']:.3f} "
                f"violations={o['violations']} harmless={o['harmless']}>")


def evaluate(
    data: Union[str, "os.PathLike[str]", Iterable[Mapping[str, Any]]],
    filter: Optional[Filter] = None,
    *,
    flag_at: Union[Severity, str] = Severity.REVIEW,
    max_listed: int = 30,
) -> Evaluation:
    """Scores ``filter`` (default: the default packs) on labelled messages.

    ``data`` is the path of a labelled JSONL file (``text``, ``expect`` flag|pass, ``category``,
    optional ``span`` and ``evasion``, as in ``tests/quality/``), or an iterable of records with
    those keys (a list of dicts, ``DataFrame.to_dict("records")``). A message counts as flagged
    with a finding at or above ``flag_at``. ``max_listed`` bounds the problems listed by
    ``str()`` (0: all); ``problems`` always has them all.

    Bad input raises ``ValueError`` naming the line (the record's position for an iterable).
    """
    if isinstance(data, bytes):
        raise TypeError("evaluate() takes a path or an iterable of records, not bytes")
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        with open(path, encoding="utf-8") as f:
            content = f.read()
        name = path
    else:
        if isinstance(data, Mapping):
            raise TypeError("evaluate() takes an iterable of records: pass [record]")
        lines = []
        for i, rec in enumerate(data):
            if not isinstance(rec, Mapping):
                raise TypeError(f"record {i + 1} is a {type(rec).__name__}, not a mapping")
            lines.append(json.dumps(dict(rec), ensure_ascii=False))
        content = "\n".join(lines) + ("\n" if lines else "")
        name = "<records>"
    try:
        sev = Severity(flag_at).value
    except ValueError:
        raise ValueError(f"flag_at must be advice, review or block, not {flag_at!r}") from None
    if not isinstance(max_listed, int) or max_listed < 0:
        raise ValueError("max_listed must be a non-negative int")
    flt = filter if filter is not None else Filter.default()
    try:
        js, text = _native.evaluate_jsonl(flt._native, content, name, _RANK[sev], max_listed)
    except _native.StatusError as e:
        raise ValueError(_status(e)[1]) from None
    return Evaluation(json.loads(js), text)
