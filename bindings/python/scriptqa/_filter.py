"""Filter and Profile: the Pythonic layer over the C++ Filter, Scanner and Profile."""

from __future__ import annotations

import errno
import glob
import operator
import os
import re
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _scriptqa as _native
from ._types import (
    _KINDS,
    _SEVERITIES,
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
    FAILED_PRECONDITION,
    DatabaseError,
    DictionaryError,
    EncodingError,
    IncompatibleDatabaseError,
    ProfileError,
    ScanError,
    code_name,
)

__all__ = ["Filter", "Profile", "StreamScanner", "counters", "mask"]


Text = Union[str, bytes]
SeverityLike = Union[Severity, str]
PathLike = Union[str, "os.PathLike[str]"]
SourceLike = Union[PathLike, DictionarySource]

_OVERLAP = {"longest": 0, "all": 1}
_ERRORS = {"strict": False, "replace": True}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_DB = os.path.join(_PACKAGE_DIR, "default.sqdb")
_OPTIONS_CACHE_LIMIT = 256
_ADOPTED_LIMIT = 256

# Diagnostics (per process): how many filters were compiled from dictionaries and how many were
# rebuilt from a pickle. See counters().
_stats = {"compiled": 0, "unpickled": 0}


def counters() -> Dict[str, int]:
    """Per-process counts: ``compiled`` (filters compiled from dictionaries, including fallbacks)
    and ``unpickled`` (filters rebuilt from a pickle). For checking that worker processes load
    filters without compiling them, and receive each filter once::

        client.run(scriptqa.counters)   # on every Dask worker
    """
    return dict(_stats)

# What the filter was compiled from: (sources, normalization, severity_overrides, disabled,
# limits). Kept so that a pickled filter can be recompiled where its database does not fit the CPU
# (with the same compile-time bounds, or it might be refused there). Pickles made before `limits`
# existed hold the first four only; _compile reads both.
_Limits = Tuple[int, int, int, int]
_Recipe = Tuple[
    Tuple[Tuple[str, bytes, int, str, int], ...],
    tuple,
    Tuple[Tuple[str, int], ...],
    Tuple[str, ...],
    Optional[_Limits],
]

# The compile-time bounds (C++ scriptqa::CompileLimits) and their defaults, in the order the
# extension takes them.
_DEFAULT_LIMITS: Dict[str, int] = dict(_native.default_limits())
_SIZE_MAX = 2**64 - 1


def _status(e: BaseException) -> Tuple[int, str]:
    code, message = e.args
    return int(code), str(message)


def _dictionary_error(e: BaseException) -> DictionaryError:
    code, message = _status(e)
    return DictionaryError(message, code_name(code))


def _limits(limits: Optional[Mapping[str, int]]) -> Optional[_Limits]:
    """Checks a ``limits`` argument; the full tuple of bounds, or None for the defaults."""
    if limits is None:
        return None
    if not isinstance(limits, Mapping):
        raise TypeError(f"limits: expected a dict such as {{'max_regexes': 2000}}, got {type(limits).__name__}")
    accepted = ", ".join(_DEFAULT_LIMITS)
    values = dict(_DEFAULT_LIMITS)
    for name, value in limits.items():
        if name not in _DEFAULT_LIMITS:
            raise ValueError(f"limits: unknown bound {name!r} (accepted: {accepted})")
        try:
            if isinstance(value, bool):
                raise TypeError
            n = operator.index(value)  # int, or an integer type such as numpy.int64
        except TypeError:
            raise TypeError(f"limits[{name!r}]: expected an int >= 0, got {type(value).__name__}") from None
        if n < 0:
            raise ValueError(f"limits[{name!r}]: must not be negative (0 lifts the bound), got {n}")
        if n > _SIZE_MAX:
            raise ValueError(f"limits[{name!r}]: larger than 2**64-1 (use 0 to lift the bound), got {n}")
        values[name] = n
    if not limits:
        return None
    return tuple(values[n] for n in _DEFAULT_LIMITS)  # type: ignore[return-value]


def _database_error(e: BaseException) -> DatabaseError:
    code, message = _status(e)
    cls = IncompatibleDatabaseError if code == FAILED_PRECONDITION else DatabaseError
    return cls(message, code_name(code))


_INVALID_UTF8 = re.compile(r"^(?:item (\d+): )?invalid UTF-8 at byte (\d+)$")


def _scan_error(e: BaseException) -> Exception:
    if isinstance(e, _native.EncodeError):
        message, index, position = e.args
        if index >= 0:
            message = f"item {index}: {message}"
        return EncodingError(message, position=position, index=index if index >= 0 else None)
    code, message = _status(e)
    m = _INVALID_UTF8.match(message)
    if m:
        index = int(m[1]) if m[1] is not None else None
        return EncodingError(
            message + ' (pass errors="replace" to repair it)',
            code_name(code),
            position=int(m[2]),
            index=index,
        )
    if "profile" in message and code == 3:
        return ProfileError(message, code_name(code))
    return ScanError(message, code_name(code))


def _overrides(severity_overrides: Union[Mapping[str, SeverityLike], Iterable[Tuple[str, SeverityLike]], None]) -> List[Tuple[str, int]]:
    if not severity_overrides:
        return []
    items = severity_overrides.items() if isinstance(severity_overrides, Mapping) else severity_overrides
    return [(str(target), Severity.parse(sev).rank) for target, sev in items]


def _strings(values: Union[str, Iterable[str], None], what: str) -> List[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{what}: expected str, got {type(v).__name__}")
    return out


def _not_one_text(values: Any, call: str) -> None:
    """Refuses a bare str or bytes where an iterable of them is expected (iterating it would
    scan or load one character at a time)."""
    if isinstance(values, (str, bytes, bytearray)):
        raise TypeError(
            f"{call}: expected an iterable of messages, got a single {type(values).__name__} "
            f"(wrap it in a list: {call}([text]))"
        )


def _profile_key(options: Mapping[str, Any]) -> Tuple[Any, ...]:
    """A hashable form of a Profile's options."""
    out = []
    for k in sorted(options):
        v = options[k]
        if isinstance(v, Mapping):
            v = tuple(sorted(v.items()))
        elif isinstance(v, list):
            v = tuple(v)
        out.append((k, v))
    return tuple(out)


def _read_source(src: SourceLike) -> Tuple[str, bytes, int, str, int]:
    if not isinstance(src, DictionarySource):
        src = DictionarySource.file(src)
    content = src.content
    if content is None:
        try:
            with open(src.name, "rb") as fh:
                content = fh.read()
        except OSError:
            # Let the C++ library report it with every other problem ("path: cannot open: ...").
            content = b""
        else:
            # Empty content means "read the file" to the C++ library; a blank line means nothing.
            content = content or b"\n"
    else:
        content = content or b"\n"
    return (src.name, content, _KINDS[src.kind], src.category, src.severity.rank)


class Profile:
    """Per-shop or per-channel configuration of one filter: enabled categories, disabled rules,
    severity overrides, an allow-list and extra deny terms. Create it with :meth:`Filter.profile`
    once and pass it to scans (``f.scan(text, profile=p)``); applying it costs a few table look-ups
    per raw hit. Immutable and thread-safe.

    A profile pickles with its filter. Any filter with the same content as the one it was made
    for (rules hash and engine version, see :attr:`Filter.info`) accepts it, so an unpickled
    profile works with the filter it came from, with that filter's unpickled copies and on Dask
    workers.
    """

    __slots__ = ("_filter", "_native", "options", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("create a Profile with Filter.profile(...)")

    @classmethod
    def _make(cls, filter: "Filter", native: Any, options: Dict[str, Any]) -> "Profile":
        self = object.__new__(cls)
        self._filter = filter
        self._native = native
        #: the options it was created with
        self.options = options
        return self

    @property
    def filter(self) -> "Filter":
        """The filter this profile belongs to."""
        return self._filter

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v)
        return f"<scriptqa.Profile {shown}>"

    def __reduce__(self) -> Any:
        return (_rebuild_profile, (self._filter, self.options))


def _rebuild_profile(filter: "Filter", options: Dict[str, Any]) -> Profile:
    return filter.profile(**options)


class Filter:
    """A compiled, immutable set of rules. Build it once and share it between threads.

    Create one with :meth:`default` (the shipped rule packs, pre-compiled), :meth:`from_dictionaries`,
    :meth:`from_terms` or :meth:`load`. Then::

        f = scriptqa.Filter.default()
        for finding in f.scan("亲，这款是全网最低价，加我薇信发你优惠券"):
            print(finding.rule, finding.span, finding.matched, "->", finding.suggestion)

    Thread safety: every method may be called from any number of threads at once. Each thread
    scans with its own C++ scanner (created on its first call, kept for the filter's lifetime);
    the GIL is released while scanning, so threads run in parallel.

    Pickling: a filter pickles as its serialized database (plus its dictionary text, when it was
    compiled from dictionaries), so unpickling takes milliseconds and compiles nothing; only where
    the database does not fit the CPU (another machine) is it recompiled from that text.

    Scan options (keyword arguments of every scanning method):

    ============  ===========  ==========================================================
    option        default      effect
    ============  ===========  ==========================================================
    min_severity  None         report only findings at least this severe
    categories    None         only these categories (a cached :class:`Profile`)
    profile       None         a :class:`Profile` of this filter
    overlap       "longest"    ``"longest"``: leftmost-longest per category; ``"all"``
    errors        "strict"     ``"strict"``: raise :class:`EncodingError` on a lone
                               surrogate (str) or invalid UTF-8 (bytes); ``"replace"``:
                               read them as ``?`` / U+FFFD and scan anyway
    ============  ===========  ==========================================================
    """

    __slots__ = ("_native", "_recipe", "_blob", "_default_opts", "_scan_default", "_opts", "_profiles", "_rules",
                 "_adopted", "_identity", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "create a Filter with Filter.default(), Filter.from_dictionaries(), "
            "Filter.from_terms() or Filter.load()"
        )

    @classmethod
    def _make(cls, native: Any, recipe: Optional[_Recipe], blob: Optional[bytes] = None) -> "Filter":
        self = object.__new__(cls)
        self._native = native
        self._recipe = recipe
        self._blob = blob
        self._default_opts = native.options(0, 0, False, None)
        # scan(text) with the default options, as one native call (no pybind11 dispatch).
        self._scan_default = _native.bind(native, self._default_opts)
        self._opts: Dict[Any, Any] = {}
        self._profiles: Dict[Any, Profile] = {}
        self._rules: Optional[Tuple[Rule, ...]] = None
        self._adopted: Dict[Any, Profile] = {}
        info = native.info()
        # What "the same filter" means for profiles: the same rules, options and normalisation
        # (the rules hash) under the same engine, whichever object or process holds it.
        self._identity = (info[3], info[4], info[0])
        return self

    # ---- construction -----------------------------------------------------------------------

    @classmethod
    def from_dictionaries(
        cls,
        sources: Union[SourceLike, Iterable[SourceLike]],
        *,
        normalization: Optional[NormalizationOptions] = None,
        severity_overrides: Union[Mapping[str, SeverityLike], Iterable[Tuple[str, SeverityLike]], None] = None,
        disabled_rules: Iterable[str] = (),
        limits: Optional[Mapping[str, int]] = None,
    ) -> "Filter":
        """Loads, validates and compiles dictionaries (rule files and term lists).

        ``sources`` are paths or :class:`DictionarySource` objects. ``severity_overrides`` maps a
        category or rule id to a severity; ``disabled_rules`` lists rule or category ids left out.
        Every problem of every file is reported in one :class:`DictionaryError`
        (``.problems``, and ``.file``/``.line``/``.rule_id`` of the first one).

        ``limits`` raises (or lowers) the compile-time bounds on the dictionaries, which keep an
        untrusted dictionary from making compiling slow or large. Keys and defaults:

        =====================  =======  ===========================================
        key                    default  bound
        =====================  =======  ===========================================
        max_regex_bytes        1024     source bytes of one regex
        max_regexes            1000     regexes in the filter
        max_total_regex_bytes  32768    source bytes of all regexes together
        max_literals           200000   literal patterns (after normalisation)
        =====================  =======  ===========================================

        A value of 0 lifts the bound; keys left out keep their default. For example
        ``limits={"max_regexes": 2000}`` for a trusted dictionary of 1,500 regexes. An unknown
        key or a negative value raises :class:`ValueError`, a value that is not an ``int``
        :class:`TypeError`. A dictionary past a bound raises :class:`DictionaryError` naming the
        rule and the key. The bounds are kept with the filter's pickle, for recompiling it on a
        machine its database does not fit.
        """
        lims = _limits(limits)
        if isinstance(sources, (str, os.PathLike, DictionarySource)):
            sources = [sources]
        srcs = tuple(_read_source(s) for s in sources)
        norm = (normalization or NormalizationOptions())._native()
        recipe: _Recipe = (
            srcs,
            norm,
            tuple(_overrides(severity_overrides)),
            tuple(_strings(disabled_rules, "disabled_rules")),
            lims,
        )
        return cls._compile(recipe)

    @classmethod
    def _compile(cls, recipe: _Recipe) -> "Filter":
        srcs, norm, overrides, disabled = recipe[:4]
        limits = recipe[4] if len(recipe) > 4 else None
        _stats["compiled"] += 1
        try:
            native = _native.NativeFilter.compile(list(srcs), norm, list(overrides), list(disabled), limits)
        except _native.StatusError as e:
            raise _dictionary_error(e) from None
        return cls._make(native, recipe)

    @classmethod
    def from_terms(
        cls,
        terms: Iterable[Union[str, Tuple[str, str]]],
        *,
        category: str = "custom",
        severity: SeverityLike = Severity.REVIEW,
        reason: Optional[str] = None,
        suggestion: Optional[str] = None,
        name: str = "terms",
        normalization: Optional[NormalizationOptions] = None,
        limits: Optional[Mapping[str, int]] = None,
    ) -> "Filter":
        """A filter from plain terms (a term list, see docs/dictionary-format.md).

        Each term is a string, or ``(term, suggestion)``. Terms are normalised like messages, so
        ``加微信`` also matches ``加 微-信``. Rule ids are ``<name>.<line>``. ``limits``: as for
        :meth:`from_dictionaries` (a term list has literals only: ``max_literals`` is the one that
        applies).
        """
        if isinstance(terms, (str, bytes, bytearray)):
            raise TypeError(
                f"from_terms: expected an iterable of terms, got a single {type(terms).__name__} "
                f"(wrap it in a list: from_terms([{terms!r}]))"
            )
        return cls.from_dictionaries(
            [_term_list(terms, category, severity, reason, suggestion, name)],
            normalization=normalization,
            limits=limits,
        )

    @classmethod
    def default(
        cls,
        *,
        normalization: Optional[NormalizationOptions] = None,
        severity_overrides: Union[Mapping[str, SeverityLike], Iterable[Tuple[str, SeverityLike]], None] = None,
        disabled_rules: Iterable[str] = (),
        limits: Optional[Mapping[str, int]] = None,
    ) -> "Filter":
        """The rule packs shipped with scriptqa.

        Without options this loads the database compiled when the package was built (a few
        milliseconds) and returns the same Filter on every call. If that database is missing or
        does not fit this machine (engine version, CPU), or ``$SCRIPTQA_DICTIONARIES`` names other
        packs, or options are given, the packs are compiled instead. ``limits``: as for
        :meth:`from_dictionaries`; useful when ``$SCRIPTQA_DICTIONARIES`` names larger packs (the
        shipped ones are well inside the defaults).
        """
        custom = normalization is not None or severity_overrides or tuple(disabled_rules) or _limits(limits)
        if custom:
            srcs = _default_recipe()[0]
            return cls.from_dictionaries(
                [DictionarySource.text(n, c) for n, c, _, _, _ in srcs],
                normalization=normalization,
                severity_overrides=severity_overrides,
                disabled_rules=disabled_rules,
                limits=limits,
            )
        global _default_filter
        with _default_lock:
            if _default_filter is None:
                _default_filter = cls._load_default()
            return _default_filter

    @classmethod
    def _load_default(cls) -> "Filter":
        recipe = _default_recipe()
        if not os.environ.get("SCRIPTQA_DICTIONARIES"):
            try:
                with open(_DEFAULT_DB, "rb") as fh:
                    blob = fh.read()
                return cls._make(_native.NativeFilter.deserialize(blob), recipe, blob)
            except (OSError, _native.StatusError):
                pass  # missing, damaged or made for another machine: compile below
        return cls._compile(recipe)

    @classmethod
    def load(cls, source: Union[bytes, bytearray, memoryview, PathLike]) -> "Filter":
        """A filter from a serialized database: a file path or the bytes of :meth:`serialize`.

        Raises :class:`IncompatibleDatabaseError` when the database was made by another engine
        version or for another CPU platform, :class:`DatabaseError` when it is damaged.
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            blob = bytes(source)
        else:
            with open(os.fspath(source), "rb") as fh:
                blob = fh.read()
        try:
            native = _native.NativeFilter.deserialize(blob)
        except _native.StatusError as e:
            raise _database_error(e) from None
        return cls._make(native, None, blob)

    def serialize(self) -> bytes:
        """The serialized database (versioned, checksummed; tied to the engine and CPU)."""
        if self._blob is None:
            try:
                self._blob = self._native.serialize()
            except _native.StatusError as e:
                raise _database_error(e) from None
        return self._blob

    def save(self, target: Union[PathLike, Any]) -> None:
        """Writes :meth:`serialize` to a path or to a binary file object.

        A path is replaced atomically by the C++ ``Filter::SaveFile``: the database goes into a
        new temporary file beside it (a fresh name, created exclusively, so no existing file or
        link is ever opened), synced, then renamed over the path. A path that is a link is
        replaced by the file, its target left alone. A path that is not a regular file (a
        directory, FIFO or device) raises :class:`OSError` and is left as it is; on any failure
        the temporary file is removed and the path is unchanged.
        """
        if hasattr(target, "write"):
            target.write(self.serialize())
            return
        path = os.fspath(target)
        try:
            self._native.save_file(path)
        except _native.StatusError as e:
            code, message = e.args
            err = errno.EINVAL if code == 9 else errno.EACCES if code == 7 else errno.EIO
            raise OSError(err, message) from None

    def __reduce__(self) -> Any:
        return (_unpickle, (self.serialize(), self._recipe))

    def __dask_tokenize__(self) -> Any:
        info = self.info
        return ("scriptqa.Filter", info.rules_hash, info.engine_version)

    # ---- profiles and options ---------------------------------------------------------------

    def profile(
        self,
        *,
        categories: Optional[Iterable[str]] = None,
        disabled: Iterable[str] = (),
        severity_overrides: Union[Mapping[str, SeverityLike], Iterable[Tuple[str, SeverityLike]], None] = None,
        allow_terms: Iterable[str] = (),
        deny_terms: Iterable[str] = (),
        deny_category: str = "shop",
        deny_severity: SeverityLike = Severity.REVIEW,
        deny_reason: str = "店铺自定义禁用词",
    ) -> Profile:
        """A per-shop configuration of this filter (see :class:`Profile`).

        ``categories``: only these categories (None: all); ``disabled``: rule or category ids;
        ``allow_terms``: a hit inside one of these is suppressed; ``deny_terms``: extra terms,
        reported as rule ``<deny_category>.shop_deny``. Raises :class:`ProfileError` for unknown
        ids or terms that normalise to nothing.
        """
        options: Dict[str, Any] = {
            "categories": None if categories is None else _strings(categories, "categories"),
            "disabled": _strings(disabled, "disabled"),
            "severity_overrides": {k: _SEVERITIES[v].value for k, v in _overrides(severity_overrides)},
            "allow_terms": _strings(allow_terms, "allow_terms"),
            "deny_terms": _strings(deny_terms, "deny_terms"),
            "deny_category": deny_category,
            "deny_severity": Severity.parse(deny_severity).value,
            "deny_reason": deny_reason,
        }
        try:
            native = self._native.profile(
                options["categories"] or [],
                options["disabled"],
                _overrides(severity_overrides),
                options["allow_terms"],
                options["deny_terms"],
                deny_category,
                Severity.parse(deny_severity).rank,
                deny_reason,
            )
        except _native.StatusError as e:
            code, message = _status(e)
            raise ProfileError(message, code_name(code), categories=self.categories) from None
        return Profile._make(self, native, options)

    def _options(
        self,
        min_severity: Optional[SeverityLike],
        categories: Optional[Iterable[str]],
        profile: Optional[Profile],
        overlap: str,
        errors: str,
    ) -> Tuple[Any, Any]:
        """(native options, bound scan function) for these options; cached."""
        cats = None if categories is None else frozenset(_strings(categories, "categories"))
        key = (min_severity, cats, id(profile) if profile is not None else None, overlap, errors)
        hit = self._opts.get(key)
        if hit is not None and hit[2] is profile:
            return hit[0], hit[1]
        given = profile
        if overlap not in _OVERLAP:
            raise ValueError(f"overlap must be 'longest' or 'all', not {overlap!r}")
        if errors not in _ERRORS:
            raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
        if cats is not None and profile is not None:
            raise ValueError("give either categories= or profile=, not both")
        if cats is not None:
            profile = self._profiles.get(cats)
            if profile is None:
                profile = self.profile(categories=sorted(cats))
                self._profiles[cats] = profile
        if profile is not None:
            if not isinstance(profile, Profile):
                raise TypeError(f"profile: expected scriptqa.Profile, got {type(profile).__name__}")
            if profile._filter is not self:
                profile = self._adopt(profile._filter._identity, profile.options)
        sev = 0 if min_severity is None else Severity.parse(min_severity).rank
        native = self._native.options(sev, _OVERLAP[overlap], _ERRORS[errors], None if profile is None else profile._native)
        bound = _native.bind(self._native, native)
        if len(self._opts) >= _OPTIONS_CACHE_LIMIT:
            self._opts.clear()
        # Keyed by the id of the profile passed in, which the entry keeps alive (so the id is not
        # reused while the entry exists); the profile used may be this filter's copy of it.
        self._opts[key] = (native, bound, given, profile)
        return native, bound

    def _adopt(self, identity: Tuple[Any, ...], options: Mapping[str, Any]) -> Profile:
        """This filter's copy of a profile made for a filter with `identity` (see Profile)."""
        if identity != self._identity:
            raise ValueError(
                "the profile was created for another filter (rules hash %016x, engine %s; this "
                "filter: rules hash %016x, engine %s)" % (identity[0], identity[1], self._identity[0], self._identity[1])
            )
        key = _profile_key(options)
        p = self._adopted.get(key)
        if p is None:
            p = self.profile(**options)
            if len(self._adopted) >= _ADOPTED_LIMIT:
                self._adopted.clear()
            self._adopted[key] = p
        return p

    # ---- scanning ---------------------------------------------------------------------------

    def scan(
        self,
        text: Text,
        *,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
    ) -> List[Finding]:
        """All findings in ``text``, in order of (start, longer first, rule order).

        ``text`` is a ``str`` (offsets are str indices) or UTF-8 ``bytes``. See the class
        docstring for the options.
        """
        if min_severity is None and categories is None and profile is None and overlap == "longest" and errors == "strict":
            scan = self._scan_default
        else:
            scan = self._options(min_severity, categories, profile, overlap, errors)[1]
        try:
            return scan(text)
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None

    def mask(self, text: Text, *, errors: str = "strict") -> Text:
        """``text`` with personal data masked, for output that others see (reports, logs, audit
        files): the spans of this filter's ``privacy`` findings (looked for with the default
        options, whatever a scan was asked to report) and, conservatively, every digit run that
        could be a phone, ID or card number (also one whose checksum fails) and the local part of
        every e-mail address: ``"加微信 13812345678 聊"`` -> ``"加微信 138****5678 聊"``.

        The result has the same length as ``text`` (str: code points; bytes: bytes, and is
        ``bytes``), so every finding's span indexes it too: ``f.mask(text)[x.start:x.end] ==
        x.masked``. ``errors``: as for :meth:`scan` (``"replace"`` returns a lone surrogate as
        ``?``, invalid UTF-8 unchanged).
        """
        if errors not in _ERRORS:
            raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
        if errors == "strict" and isinstance(text, bytes):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise EncodingError(
                    f'invalid UTF-8 at byte {e.start} (pass errors="replace" to repair it)', position=e.start
                ) from None
        try:
            return self._native.mask(text, _ERRORS[errors])
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None

    def has_finding(
        self,
        text: Text,
        at_least: SeverityLike = Severity.ADVICE,
        *,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        errors: str = "strict",
    ) -> bool:
        """Whether ``text`` has a finding at least ``at_least`` severe; the cheapest gate."""
        opts = self._options(None, categories, profile, "longest", errors)[0]
        try:
            return self._native.has_finding(text, Severity.parse(at_least).rank, opts)
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None

    def scan_many(
        self,
        texts: Iterable[Text],
        *,
        threads: Optional[int] = None,
        chunk_size: int = 64,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
    ) -> List[List[Finding]]:
        """Scans many messages in parallel; returns one list of findings per message, in order.

        The messages are scanned by ``threads`` native threads (default: the CPUs this process
        may use), each with its own scanner, handing out ``chunk_size`` messages at a time, all
        with the GIL released. The results equal ``[f.scan(t) for t in texts]``. On an error the
        exception names the first failing message (``EncodingError.index``). A single ``str`` or
        ``bytes`` is refused with :class:`TypeError` (it would be scanned one character at a
        time): pass ``[text]``.
        """
        _not_one_text(texts, "scan_many")
        batch = texts if isinstance(texts, list) else list(texts)
        opts = self._options(min_severity, categories, profile, overlap, errors)[0]
        if threads is None:
            threads = _cpu_count()
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        try:
            return self._native.scan_many(batch, opts, threads, chunk_size)
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None

    def rewrite(
        self,
        text: Text,
        *,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
    ) -> Rewritten:
        """``text`` with the first suggestion of each finding applied, re-checked (up to three
        rounds, then masking with ``*``). ``.text`` is the result, ``.replaced`` the findings of
        the original text that were replaced, ``.clean`` whether no block/review finding remains.
        ``.text`` is at most 4x the UTF-8 size of ``text`` + 4 KiB: a suggestion round that would
        make it longer (a suggestion holding its own term) masks instead.
        """
        opts = self._options(min_severity, categories, profile, overlap, errors)[0]
        try:
            out, replaced, clean = self._native.rewrite(text, opts)
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None
        return Rewritten(out, replaced, clean)

    def explain(
        self,
        text: Text,
        *,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
    ) -> Explanation:
        """Every raw hit and why it was reported or suppressed (allow-context, negation cue,
        overlap, ...), for debugging rules and settling QA disputes. ``str()`` of the result is a
        readable report."""
        opts = self._options(min_severity, categories, profile, overlap, errors)[0]
        try:
            normalized, raw, findings = self._native.explain(text, opts)
            # Traces are shown masked like findings: the masked message has the same offsets.
            shown = self._native.mask(text, _ERRORS[errors]) if raw else text
            normalized_masked = self._native.mask(normalized, True)
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None
        traces = []
        for rule, category, sev, decision, detail, b0, b1, n0, n1, c0, c1 in raw:
            if isinstance(text, bytes):
                matched, masked = text[b0:b1], shown[b0:b1]
            else:
                matched, masked = text[c0:c1], shown[c0:c1]
            traces.append(
                Trace(rule, category, _SEVERITIES[sev], decision, detail, c0, c1, b0, b1, matched, n0, n1, masked)
            )
        return Explanation(normalized, traces, findings, normalized_masked)

    def stream(
        self,
        *,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
        min_scan_bytes: int = 48,
    ) -> "StreamScanner":
        """A :class:`StreamScanner` for checking a message while it is written (LLM tokens)."""
        return StreamScanner(
            self,
            min_severity=min_severity,
            categories=categories,
            profile=profile,
            overlap=overlap,
            errors=errors,
            min_scan_bytes=min_scan_bytes,
        )

    def normalize(self, text: Text, *, errors: str = "strict") -> str:
        """``text`` as the matcher sees it (normalised; noise removed)."""
        if errors not in _ERRORS:
            raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
        try:
            return self._native.normalize(text, _ERRORS[errors])
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None

    # ---- introspection ----------------------------------------------------------------------

    @property
    def rules(self) -> Tuple[Rule, ...]:
        """The rules, in load order."""
        if self._rules is None:
            self._rules = tuple(
                Rule(
                    r[0], r[1], _SEVERITIES[r[2]], r[3], *(tuple(x) for x in r[4:10]),
                    r[10], r[11], r[12], tuple(r[13]), tuple(r[14]), r[15], r[16],
                )
                for r in self._native.rules()
            )
        return self._rules

    def rule(self, rule_id: str) -> Optional[Rule]:
        """The rule with this id, or None."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        return None

    @property
    def categories(self) -> Tuple[str, ...]:
        """Category ids in use: the built-in ones first, then declared ones."""
        return tuple(self._native.categories())

    @property
    def info(self) -> FilterInfo:
        """Counts, the rules hash, the engine version and the database size."""
        return FilterInfo(*self._native.info())

    @property
    def normalization(self) -> NormalizationOptions:
        """The normalisation this filter was compiled with."""
        return NormalizationOptions(*self._native.normalization())

    def __repr__(self) -> str:
        i = self.info
        return f"<scriptqa.Filter: {i.rule_count} rules, {i.literal_count} literals, {i.regex_count} regexes, hash {i.rules_hash:016x}>"


class StreamScanner:
    """Checks one message while it is being written, e.g. a chat bot's reply arriving token by
    token (the C++ ``scriptqa::StreamScanner``)::

        stream = f.stream()                    # or scriptqa.StreamScanner(f, profile=p)
        for token in llm_tokens:
            u = stream.write(token)
            for x in u.new_findings:           # certain: finish() never withdraws them
                if x.severity == "block": ...  # stop the reply
            send_to_customer(u.released)       # text no finding can still touch
        last = stream.finish()                 # the rest; stream.findings == f.scan(message)
        stream.reset()                         # the next message

    Chunks are ``str`` (offsets are ``str`` indices into the whole message) or ``bytes`` (byte
    offsets; a chunk may end inside a UTF-8 character), not both in one message. After
    :meth:`finish`, :attr:`findings` equals :meth:`Filter.scan` of the whole message with the same
    options. Options are those of :meth:`Filter.scan`, plus ``min_scan_bytes``: new text is matched
    once that many bytes wait (and at :meth:`finish`); 0 matches on every chunk.

    Not thread-safe: one StreamScanner per message in flight (a call while another call on it
    runs raises :class:`ScanError`); it may be used by different threads one after another. The
    GIL is released while long chunks are matched.
    """

    __slots__ = ("_filter", "_native")

    def __init__(
        self,
        filter: Filter,
        *,
        min_severity: Optional[SeverityLike] = None,
        categories: Optional[Iterable[str]] = None,
        profile: Optional[Profile] = None,
        overlap: str = "longest",
        errors: str = "strict",
        min_scan_bytes: int = 48,
    ) -> None:
        if not isinstance(filter, Filter):
            raise TypeError(f"filter: expected scriptqa.Filter, got {type(filter).__name__}")
        if isinstance(min_scan_bytes, bool) or not isinstance(min_scan_bytes, int) or min_scan_bytes < 0:
            raise ValueError(f"min_scan_bytes must be an int >= 0, got {min_scan_bytes!r}")
        opts = filter._options(min_severity, categories, profile, overlap, errors)[0]
        self._filter = filter
        try:
            self._native = _native.NativeStream(filter._native, opts, min_scan_bytes)
        except _native.StatusError as e:
            raise _scan_error(e) from None

    def _step(self, chunk: Optional[Text]) -> StreamUpdate:
        try:
            released, found, finished = self._native.write(chunk) if chunk is not None else self._native.finish()
        except (_native.StatusError, _native.EncodeError) as e:
            raise _scan_error(e) from None
        return StreamUpdate(released, found, finished)

    def write(self, chunk: Text) -> StreamUpdate:
        """Appends a chunk of the message; returns what may be shown now and the findings that
        became certain. After :meth:`finish`, raises :class:`ScanError` until :meth:`reset`."""
        if not isinstance(chunk, (str, bytes)):
            raise TypeError(f"chunk: expected str or bytes, got {type(chunk).__name__}")
        return self._step(chunk)

    def finish(self) -> StreamUpdate:
        """Ends the message: releases the rest and reports the remaining findings."""
        return self._step(None)

    def reset(self) -> None:
        """Discards the current message (finished or not) for the next one."""
        try:
            self._native.reset()
        except _native.StatusError as e:
            raise _scan_error(e) from None

    @property
    def text(self) -> Text:
        """The message so far, as written."""
        return self._native.text()

    @property
    def findings(self) -> List[Finding]:
        """Every finding reported so far (after :meth:`finish`: all, in position order)."""
        try:
            return self._native.findings()
        except _native.StatusError as e:
            raise _scan_error(e) from None

    @property
    def finished(self) -> bool:
        return bool(self._native.finished())

    @property
    def filter(self) -> Filter:
        return self._filter

    def __repr__(self) -> str:
        return f"<scriptqa.StreamScanner {'finished' if self.finished else 'open'}>"


def _unpickle(blob: bytes, recipe: Optional[_Recipe]) -> Filter:
    _stats["unpickled"] += 1
    try:
        return Filter._make(_native.NativeFilter.deserialize(blob), recipe, blob)
    except _native.StatusError as e:
        err = _database_error(e)
        if isinstance(err, IncompatibleDatabaseError) and recipe is not None:
            return Filter._compile(recipe)  # another machine: recompile from the dictionaries
        raise err from None


def mask(text: Text, filter: Optional[Filter] = None, *, errors: str = "strict") -> Text:
    """:meth:`Filter.mask` of ``filter`` (default: :meth:`Filter.default`): ``text`` with
    personal data masked, the same length as ``text``."""
    return (filter if filter is not None else Filter.default()).mask(text, errors=errors)


# The extension allocates Finding tuples itself and raises the package's errors from its fast
# path: tell it which class, severities and translation to use.
_native._register(Finding, _SEVERITIES, _scan_error)

# `f.scan(text)` without options runs without a Python frame (see ScanMethod in _scriptqa.cc);
# `Filter.scan` is still the Python function above for help(), inspect and keyword options.
if not TYPE_CHECKING:
    Filter.scan = _native.scan_method(Filter.__dict__["scan"], Filter.__dict__["_scan_default"])

_default_lock = threading.Lock()
_default_filter: Optional[Filter] = None


def _default_dictionary_dir() -> str:
    env = os.environ.get("SCRIPTQA_DICTIONARIES")
    if env:
        return env
    bundled = os.path.join(_PACKAGE_DIR, "dictionaries")
    if glob.glob(os.path.join(bundled, "*.rules")):
        return bundled
    return _native.default_dictionary_dir()


def _default_recipe() -> _Recipe:
    directory = _default_dictionary_dir()
    paths = sorted(glob.glob(os.path.join(directory, "*.rules")))
    if not paths:
        raise DictionaryError(f"{directory}: no *.rules files (set SCRIPTQA_DICTIONARIES)", "NOT_FOUND")
    srcs = []
    for p in paths:
        # Named as in the source tree and in default.sqdb, wherever the files are.
        with open(p, "rb") as fh:
            content = fh.read() or b"\n"
        srcs.append(("dictionaries/" + os.path.basename(p), content, 0, "", 1))
    return (tuple(srcs), NormalizationOptions()._native(), (), (), None)


def _term_list(
    terms: Iterable[Union[str, Tuple[str, str]]],
    category: str,
    severity: SeverityLike,
    reason: Optional[str],
    suggestion: Optional[str],
    name: str,
) -> DictionarySource:
    lines = ["%format scriptqa-terms 1", f"%category {category}", f"%severity {Severity.parse(severity).value}"]
    if reason:
        lines.append(f"%reason {_one_line(reason, 'reason')}")
    if suggestion:
        lines.append(f"%suggest {_one_line(suggestion, 'suggestion')}")
    for t in terms:
        term, sugg = (t, None) if isinstance(t, str) else t
        term = _one_line(term, "term").strip()
        if not term or term[0] in "#%":
            raise ValueError(f"term {term!r}: a term may not be empty or start with '#' or '%'")
        if "\t" in term:
            raise ValueError(f"term {term!r}: a term may not contain a TAB")
        lines.append(term if sugg is None else f"{term}\t{_one_line(sugg, 'suggestion')}")
    return DictionarySource.text(name, "\n".join(lines) + "\n", kind="terms")


def _one_line(s: str, what: str) -> str:
    if "\n" in s or "\r" in s:
        raise ValueError(f"{what} {s!r}: may not contain a line break")
    return s


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
