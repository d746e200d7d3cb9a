"""Scorecards of the conversation checks (C++ scriptqa/conversation.h; docs/scorecard.md)."""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Dict, Optional, Tuple, Union

from . import _scriptqa as _native
from .errors import ScorecardError, code_name

__all__ = ["Scorecard"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _status(e: BaseException) -> Tuple[int, str]:
    code, message = e.args
    return code, message


class Scorecard:
    """Which conversation checks apply, their thresholds and points, and the cue vocabulary.

    Immutable and thread-safe. ``Scorecard.default()`` is the shipped scorecard
    (``dictionaries/default.scorecard``, derived from the service standards); ``from_file(path)``
    reads your own (the format is in docs/scorecard.md); ``from_text(text, base_dir=...)`` parses
    one in memory. A scorecard pickles as its text, so Dask workers rebuild it (the cue file it
    names is looked for beside it, then among the shipped dictionaries)."""

    __slots__ = ("_native", "_spec", "_settings")

    _default: "Optional[Scorecard]" = None
    _cache: Dict[Tuple[str, str, str], "Scorecard"] = {}
    _lock = threading.Lock()

    def __init__(self) -> None:
        raise TypeError("use Scorecard.default(), Scorecard.from_file(path) or Scorecard.from_text(text)")

    @classmethod
    def _make(cls, native: Any, spec: Tuple[str, str, str]) -> "Scorecard":
        self = object.__new__(cls)
        self._native = native
        self._spec = spec
        self._settings = json.loads(native.to_json())
        return self

    @classmethod
    def from_text(cls, text: str, base_dir: Union[str, "os.PathLike[str]", None] = None,
                  name: str = "<scorecard>") -> "Scorecard":
        base = os.fspath(base_dir) if base_dir is not None else os.getcwd()
        key = (text, name, base)
        with cls._lock:
            hit = cls._cache.get(key)
        if hit is not None:
            return hit
        try:
            native = _native.NativeScorecard.from_text(text, name, base)
        except _native.StatusError as e:
            code, message = _status(e)
            raise ScorecardError(message, code_name(code)) from None
        card = cls._make(native, key)
        with cls._lock:
            if len(cls._cache) > 32:
                cls._cache.clear()
            cls._cache[key] = card
        return card

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"]) -> "Scorecard":
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise ScorecardError(f"cannot read scorecard {path!r}: {e.strerror}", "NOT_FOUND") from None
        return cls.from_text(text, os.path.dirname(os.path.abspath(path)), name=path)

    @classmethod
    def default(cls) -> "Scorecard":
        """The shipped scorecard (the package's copy, else the library's default path)."""
        if cls._default is None:
            path = os.path.join(_HERE, "dictionaries", "default.scorecard")
            if not os.path.isfile(path) or os.environ.get("SCRIPTQA_DICTIONARIES"):
                path = _native.NativeScorecard.default_path()
            cls._default = cls.from_file(path)
        return cls._default

    @property
    def settings(self) -> Dict[str, Any]:
        """The checks and their settings, as the summary's ``scorecard`` shows them."""
        return json.loads(json.dumps(self._settings))

    @property
    def source(self) -> str:
        return self._settings["source"]

    def __reduce__(self) -> Any:
        return (Scorecard.from_text, (self._spec[0], self._spec[2], self._spec[1]))

    def __repr__(self) -> str:
        on = [c["check"] for c in self._settings["checks"] if c["enabled"]]
        return f"<scriptqa.Scorecard {self._settings['source']}: {', '.join(on)}>"


def resolve(scorecard: Union[Scorecard, str, "os.PathLike[str]", None]) -> Scorecard:
    """A scorecard argument: a Scorecard, a path, or None (the default)."""
    if scorecard is None:
        return Scorecard.default()
    if isinstance(scorecard, Scorecard):
        return scorecard
    if isinstance(scorecard, (str, os.PathLike)):
        return Scorecard.from_file(scorecard)
    raise TypeError(f"scorecard: expected a scriptqa.Scorecard or a path, got {type(scorecard).__name__}")
