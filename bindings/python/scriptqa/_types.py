"""Value types of the scriptqa package: severities, findings, rules, explanations.

Offsets convention (the same as the C++ library's, see scriptqa/types.h):

* ``start``/``end`` are half-open ``str`` indices (code points) into the message exactly as you
  passed it, so ``message[f.start:f.end] == f.matched``. Astral characters (emoji) count one, as
  they do in Python.
* ``byte_start``/``byte_end`` are half-open offsets into the message's UTF-8 encoding
  (``message.encode()[f.byte_start:f.byte_end]``).
* For a ``bytes`` message, ``start``/``end`` index ``message.decode("utf-8", "replace")`` (each
  maximal invalid UTF-8 sequence counts one) and ``matched`` is ``bytes``.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Tuple, Union

__all__ = [
    "Severity",
    "Finding",
    "Trace",
    "Rule",
    "FilterInfo",
    "Rewritten",
    "Explanation",
    "NormalizationOptions",
    "DictionarySource",
    "StreamUpdate",
]

_RANK = {"advice": 0, "review": 1, "block": 2}


class Severity(str, enum.Enum):
    """How bad a finding is, ordered ``ADVICE < REVIEW < BLOCK``.

    A ``str`` enum, so ``finding.severity == "block"`` holds and pandas columns show plain names.
    Comparisons with ``<``/``>`` use the rank, not the spelling, and accept names:
    ``Severity.BLOCK > "review"`` is true.
    """

    ADVICE = "advice"  #: a script-quality hint
    REVIEW = "review"  #: should be rephrased before it is sent
    BLOCK = "block"  #: must not be sent

    @property
    def rank(self) -> int:
        """0 for advice, 1 for review, 2 for block."""
        return _RANK[self.value]

    @classmethod
    def parse(cls, value: Union["Severity", str]) -> "Severity":
        """A Severity from a member or a name (``"block"``, case-insensitive)."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, str):
            try:
                return cls(value.lower())
            except ValueError:
                pass
        raise ValueError(f"unknown severity {value!r} (advice, review or block)")

    def _cmp(self, other: object) -> int:
        if isinstance(other, (Severity, str)):
            return self.rank - Severity.parse(other).rank
        return NotImplemented  # type: ignore[return-value]

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        c = self._cmp(other)
        return c if c is NotImplemented else c < 0  # type: ignore[return-value]

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        c = self._cmp(other)
        return c if c is NotImplemented else c <= 0  # type: ignore[return-value]

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        c = self._cmp(other)
        return c if c is NotImplemented else c > 0  # type: ignore[return-value]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        c = self._cmp(other)
        return c if c is NotImplemented else c >= 0  # type: ignore[return-value]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Severity.{self.name}"

    # Keep str's hash and equality: Severity.BLOCK == "block" and both hash alike.
    __hash__ = str.__hash__


_SEVERITIES = (Severity.ADVICE, Severity.REVIEW, Severity.BLOCK)


class Finding(NamedTuple):
    """One problem found in a message.

    A tuple (cheap to create, compare, pickle and put in a DataFrame) with named fields. It is
    built directly by the extension; the field order is part of the binary contract with it.
    """

    rule: str  #: rule id, e.g. ``"ad_law.best"``
    category: str  #: e.g. ``"ad_law"``
    severity: Severity  #: effective severity (rule, then filter and profile overrides)
    start: int  #: str index where the match starts (code points)
    end: int  #: str index just past the match
    byte_start: int  #: UTF-8 byte offset where the match starts
    byte_end: int  #: UTF-8 byte offset just past the match
    matched: Union[str, bytes]  #: the original text matched (``message[start:end]``)
    suggestions: Tuple[str, ...]  #: compliant replacements, rendered for this match
    reason: str  #: why the wording is not allowed
    #: ``matched`` with personal data masked, for output others see: cut at the same span from
    #: the masked message (:meth:`Filter.mask`), so a phone number inside an off-platform finding
    #: is masked too. The same object as ``matched`` when nothing in it is masked.
    masked: Union[str, bytes]

    @property
    def suggestion(self) -> str:
        """The first suggestion (the one ``rewrite`` applies), or ``""``."""
        return self.suggestions[0] if self.suggestions else ""

    @property
    def span(self) -> Tuple[int, int]:
        """``(start, end)``, as ``re.Match.span()``."""
        return (self.start, self.end)


class Trace(NamedTuple):
    """One raw hit of the matcher and what became of it (see :meth:`Filter.explain`)."""

    rule: str
    category: str
    severity: Severity  #: the rule's severity
    decision: str  #: ``"reported"``, ``"allow_context"``, ``"negated"``, ``"overlapped"``, ...
    detail: str  #: e.g. the allow-context or negation cue that suppressed it
    start: int  #: str index where the hit starts (as :attr:`Finding.start`)
    end: int
    byte_start: int
    byte_end: int
    matched: Union[str, bytes]  #: ``message[start:end]``
    normalized_start: int  #: byte span in :attr:`Explanation.normalized`'s UTF-8
    normalized_end: int
    #: ``matched`` with personal data masked (as :attr:`Finding.masked`)
    masked: Union[str, bytes] = ""


class Rule(NamedTuple):
    """A rule as loaded from a dictionary (see docs/dictionary-format.md)."""

    id: str
    category: str
    severity: Severity
    reason: str
    literals: Tuple[str, ...]
    regexes: Tuple[str, ...]
    suggestions: Tuple[str, ...]
    allow: Tuple[str, ...]
    negate: Tuple[str, ...]
    near: Tuple[str, ...]
    window: int
    validator: str  #: ``""`` or ``cn_mobile``, ``cn_id18``, ``luhn``, ``cn_landline``
    boundary: str  #: ``none``, ``alpha``, ``digit`` or ``alnum``
    hit_examples: Tuple[str, ...]
    miss_examples: Tuple[str, ...]
    file: str
    line: int


class FilterInfo(NamedTuple):
    """What a filter is made of."""

    rule_count: int
    literal_count: int
    regex_count: int
    rules_hash: int  #: hash of the rules, options and normalisation tables
    engine_version: str
    database_bytes: int


class StreamUpdate(NamedTuple):
    """What one :meth:`StreamScanner.write` or :meth:`StreamScanner.finish` changed."""

    #: the next piece of the message that may be shown to the customer: every finding touching it
    #: has been reported. The pieces of all updates, joined, are the message (``str`` for ``str``
    #: chunks, ``bytes`` for ``bytes`` chunks).
    released: Union[str, bytes]
    #: findings that became certain in this call; their offsets index the whole message
    new_findings: List[Finding]
    finished: bool  #: True after :meth:`StreamScanner.finish`


class Rewritten(NamedTuple):
    """Result of :meth:`Filter.rewrite`."""

    text: Union[str, bytes]  #: the message with suggestions applied (and masked if needed)
    replaced: List[Finding]  #: findings of the original message that were replaced
    clean: bool  #: the result has no block or review finding


@dataclass(frozen=True)
class Explanation:
    """Every decision the scanner made on one message (see :meth:`Filter.explain`).

    ``str(explanation)`` is a readable report; its ``[start,end)`` are ``str`` indices into the
    message (as :attr:`Trace.start` and :attr:`Finding.start`), and personal data is masked::

        normalized: 最佳饮用时间是开封后三天内
        hit ad_law.best [0,2) allow_context: inside allow-context '最佳饮用' "最佳"
    """

    normalized: str  #: the text the matcher saw
    traces: List[Trace]  #: every raw hit, in order of position
    findings: List[Finding]  #: what was reported
    #: :attr:`normalized` with personal data masked, for the report
    normalized_masked: str = field(default="", repr=False)

    def __str__(self) -> str:
        lines = [f"normalized: {self.normalized_masked or self.normalized}"]
        if not self.traces:
            lines.append("no raw hits")
        for t in self.traces:
            detail = f": {t.detail}" if t.detail else ""
            lines.append(f"hit {t.rule} [{t.start},{t.end}) {t.decision}{detail} {_quoted(t.masked)}")
        for f in self.findings:
            lines.append(
                f"finding {f.rule} {f.severity} [{f.start},{f.end}) {_quoted(f.masked)} -> {_quoted(f.suggestion)}"
            )
        return "\n".join(lines) + "\n"


def _quoted(text: Union[str, bytes]) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return '"' + text + '"'


@dataclass(frozen=True)
class NormalizationOptions:
    """How messages and patterns are normalised; fixed per filter (see scriptqa/filter.h).

    =========================  =======  =====================================================
    option                     default  effect
    =========================  =======  =====================================================
    fold_width                 True     NFKC per character: full width to half width, ① to 1
    fold_case                  True     Unicode simple case folding
    traditional_to_simplified  True     絕對 to 绝对 (conservative)
    skip_noise                 True     white space, punctuation, symbols, emoji are skipped
    significant                "%@"     characters never skipped as noise
    extra_noise                ""       characters skipped in addition to the built-in set
    collapse_repeats           False    a run of one character counts as one
    =========================  =======  =====================================================
    """

    fold_width: bool = True
    fold_case: bool = True
    traditional_to_simplified: bool = True
    skip_noise: bool = True
    significant: str = "%@"
    extra_noise: str = ""
    collapse_repeats: bool = False

    def _native(self) -> tuple:
        return (
            self.fold_width,
            self.fold_case,
            self.traditional_to_simplified,
            self.skip_noise,
            self.significant,
            self.extra_noise,
            self.collapse_repeats,
        )


_KINDS = {"auto": 0, "rules": 1, "terms": 2}


@dataclass(frozen=True)
class DictionarySource:
    """One dictionary to load: a file, or text held in memory.

    Use :meth:`file` and :meth:`text`; plain paths passed to :meth:`Filter.from_dictionaries` are
    turned into ``DictionarySource.file(path)``.
    """

    name: str  #: the path, or a display name for errors when ``content`` is given
    content: Optional[bytes] = None  #: the dictionary's UTF-8 text; None: read ``name``
    kind: str = "auto"  #: ``"auto"`` (from the %format line), ``"rules"`` or ``"terms"``
    category: str = ""  #: for term lists without a %category header
    severity: Severity = Severity.REVIEW  #: for term lists without a %severity header

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be 'auto', 'rules' or 'terms', not {self.kind!r}")
        object.__setattr__(self, "severity", Severity.parse(self.severity))

    @classmethod
    def file(
        cls,
        path: Union[str, "os.PathLike[str]"],
        *,
        kind: str = "auto",
        category: str = "",
        severity: Union[Severity, str] = Severity.REVIEW,
    ) -> "DictionarySource":
        """A dictionary file (``*.rules`` or a term list)."""
        return cls(os.fspath(path), None, kind, category, severity)  # type: ignore[arg-type]

    @classmethod
    def text(
        cls,
        name: str,
        content: Union[str, bytes],
        *,
        kind: str = "auto",
        category: str = "",
        severity: Union[Severity, str] = Severity.REVIEW,
    ) -> "DictionarySource":
        """Dictionary text held in memory; ``name`` is what error messages call it."""
        if isinstance(content, str):
            content = content.encode("utf-8")
        return cls(name, content, kind, category, severity)  # type: ignore[arg-type]
