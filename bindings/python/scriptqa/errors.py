"""Exceptions raised by scriptqa. All derive from :class:`scriptqa.Error`.

==========================  ===========================================================
class                       raised when
==========================  ===========================================================
DictionaryError             dictionaries do not load or compile (every problem listed)
DatabaseError               a serialized filter is damaged or not a scriptqa database
IncompatibleDatabaseError   a serialized filter was made by another engine version,
                            database format or CPU platform (recompile it)
ProfileError                profile options name unknown rules/categories, bad terms
ScorecardError              a scorecard or its cue file does not load (every problem listed)
EncodingError               a message cannot be read as UTF-8 (lone surrogates in a
                            ``str``, invalid bytes with ``errors="strict"``)
ScanError                   any other failure while scanning
==========================  ===========================================================

The C++ library reports errors as ``absl::Status``; :attr:`Error.code` keeps the status code
name (``"INVALID_ARGUMENT"``, ``"FAILED_PRECONDITION"``, ...).
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional, Tuple

__all__ = [
    "Error",
    "DictionaryError",
    "DictionaryProblem",
    "DatabaseError",
    "IncompatibleDatabaseError",
    "ProfileError",
    "ScorecardError",
    "EncodingError",
    "ScanError",
]

# absl::StatusCode values.
_CODE_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
FAILED_PRECONDITION = 9


class Error(Exception):
    """Base class of scriptqa's exceptions."""

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.message = message
        #: the C++ status code name, e.g. ``"INVALID_ARGUMENT"``
        self.code = code


class DictionaryProblem(NamedTuple):
    """One line of a dictionary error: ``file:line: rule ID: message``."""

    file: Optional[str]  #: None for problems not tied to a file (e.g. a bad option)
    line: Optional[int]
    rule_id: Optional[str]
    message: str

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        rule = f"rule {self.rule_id}: " if self.rule_id else ""
        return where + rule + self.message


# "file:line: rule ID: message" or "file:line: message" ("file" may itself hold colons).
_PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?:rule (?P<rule>[a-z0-9_.\-]+): )?(?P<msg>.*)$")
# "path: cannot open: reason" (an unreadable file)
_OPEN = re.compile(r"^(?P<file>.+?): (?P<msg>cannot open.*)$")
_HEADER = re.compile(r"^\d+ problems? in the dictionaries:$")


def parse_problems(message: str) -> List[DictionaryProblem]:
    """Splits the C++ library's dictionary error message into its problems."""
    out: List[DictionaryProblem] = []
    for line in message.splitlines():
        if not line or _HEADER.match(line):
            continue
        m = _PROBLEM.match(line)
        if m:
            out.append(DictionaryProblem(m["file"], int(m["line"]), m["rule"], m["msg"]))
            continue
        m = _OPEN.match(line)
        if m:
            out.append(DictionaryProblem(m["file"], None, None, m["msg"]))
            continue
        out.append(DictionaryProblem(None, None, None, line))
    return out


class DictionaryError(Error, ValueError):
    """Dictionaries failed to load or compile.

    :attr:`problems` lists every problem found (the C++ library reports them all at once);
    :attr:`file`, :attr:`line` and :attr:`rule_id` are those of the first problem.
    """

    def __init__(self, message: str, code: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, code)
        self.problems: List[DictionaryProblem] = parse_problems(message)
        first = self.problems[0] if self.problems else DictionaryProblem(None, None, None, message)
        self.file: Optional[str] = first.file
        self.line: Optional[int] = first.line
        self.rule_id: Optional[str] = first.rule_id


class DatabaseError(Error, ValueError):
    """A serialized filter could not be loaded: damaged, truncated or not a scriptqa database."""


class IncompatibleDatabaseError(DatabaseError):
    """A serialized filter was made by another engine version, format version or CPU platform.

    Not damage: recompile the filter from its dictionaries on this machine.
    """


class ProfileError(Error, ValueError):
    """Profile options name unknown rules or categories, or hold terms that normalise to nothing.

    The message ends with the filter's categories; :attr:`categories` holds them too.
    """

    def __init__(self, message: str, code: str = "INVALID_ARGUMENT", *, categories: Tuple[str, ...] = ()) -> None:
        super().__init__(message, code)
        #: the category ids of the filter the profile was made for
        self.categories: Tuple[str, ...] = tuple(categories)


class EncodingError(Error, ValueError):
    """A message cannot be read as UTF-8.

    A Python ``str`` holding a lone surrogate (``"\\ud800"``, e.g. from ``surrogateescape``
    decoding or a JSON ``\\ud83d`` escape without its pair) has no UTF-8 form. With the default
    ``errors="strict"`` it is rejected; ``errors="replace"`` reads each lone surrogate as U+FFFD
    (one code point for one, so offsets still index your str). A ``bytes`` message with invalid
    UTF-8 is rejected under ``errors="strict"`` and repaired under ``errors="replace"``.
    """

    def __init__(
        self,
        message: str,
        code: str = "INVALID_ARGUMENT",
        *,
        position: Optional[int] = None,
        index: Optional[int] = None,
    ) -> None:
        super().__init__(message, code)
        #: str index (lone surrogate) or byte offset (invalid UTF-8) of the first bad character
        self.position = position
        #: for batch calls: which message (position in the batch, or the DataFrame index label)
        self.index = index


class ScanError(Error, RuntimeError):
    """Scanning failed for another reason (e.g. the engine could not allocate)."""


class ScorecardError(Error, ValueError):
    """A scorecard (docs/scorecard.md) or the cue file it names does not load: every problem, one
    per line, as ``file:line: message``."""


def code_name(code: int) -> str:
    return _CODE_NAMES.get(code, str(code))
