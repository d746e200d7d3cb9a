"""Audit messages with Dask: a dask.bag or dask.dataframe, on one machine or a cluster.

The filter is shipped once per worker, not once per task: with a ``distributed`` client (the
current one, or ``client=``) it is installed on every worker by a worker plugin (also on workers
that join later) and the tasks carry only a small handle to it. It pickles as its compiled
database, so a worker loads it in milliseconds and compiles nothing. (Scattering it with
``broadcast=True`` is not enough: the scheduler's active memory manager drops the extra replicas
between computations, and the next task fetches and unpickles it again.) Without a client (Dask's
local schedulers) the filter object itself is passed to the tasks. Within a worker, the tasks of
all its threads share one filter (each thread scans with its own C++ scanner).

The same code runs on a laptop and on a multi-machine cluster::

    from distributed import Client
    import dask.bag as db, json, scriptqa, scriptqa.dask

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster(n_workers=2))
    messages = db.read_text("s3://bucket/dialogues-*.jsonl").map(json.loads)
    findings = scriptqa.dask.audit_bag(messages, keep=["conversation_id", "turn"])
    findings.to_dataframe().to_parquet("s3://bucket/findings/")

Every worker needs the ``scriptqa`` package importable by the same Python version
(docs/python.md, "Dask clusters"); a worker whose CPU differs from the client's recompiles the
filter from the dictionary text carried in the pickle.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Mapping
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import dask
import dask.bag

from ._filter import Filter, Profile
from ._scorecard import Scorecard, resolve
from ._types import Finding
from ._util import fold, listing, names, suggestions, templates

try:
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # dask without distributed: only the local schedulers
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["scan_bag", "audit_bag", "audit_dataframe", "audit_conversations", "ship", "release", "FilterRef"]

# Client side: Filter -> {client id: plugin name}, so a filter is installed once per cluster.
_shipped: "weakref.WeakKeyDictionary[Filter, Dict[str, str]]" = weakref.WeakKeyDictionary()
# Worker side: plugin name -> the filter it installed.
_installed: Dict[str, Filter] = {}


class _FilterPlugin(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """Installs one filter in each worker process (pickled once per worker)."""

    def __init__(self, name: str, filter: Filter) -> None:
        self.name = name
        self.filter = filter

    def setup(self, worker: Any) -> None:
        _installed[self.name] = self.filter

    def teardown(self, worker: Any) -> None:
        _installed.pop(self.name, None)


class FilterRef:
    """What tasks carry instead of a filter installed on the workers: its plugin name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def resolve(self) -> Filter:
        try:
            return _installed[self.name]
        except KeyError:
            raise RuntimeError(
                f"scriptqa filter {self.name} is not installed in this process (it is installed on "
                "the workers of the client that shipped it; was it released?)"
            ) from None

    def __reduce__(self) -> Any:
        return (FilterRef, (self.name,))

    def __repr__(self) -> str:
        return f"<scriptqa.dask.FilterRef {self.name}>"


def _resolve(f: Union[Filter, FilterRef]) -> Filter:
    return f.resolve() if isinstance(f, FilterRef) else f


def _current_client(client: Any) -> Any:
    if client is False:
        return None
    if client is not None:
        return client
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        c = get_client()
    except ValueError:  # no client in this process
        return None
    # Only when Dask will run the graph on it (not, e.g., under dask.config.set(scheduler="threads")).
    scheduler = dask.base.get_scheduler()
    return c if getattr(scheduler, "__self__", None) is c else None


def ship(filter: Optional[Filter] = None, client: Any = None) -> Union[Filter, FilterRef]:
    """What to pass to tasks for ``filter``: with a distributed client, a :class:`FilterRef` to
    the filter installed on every worker (once per client and filter; later calls reuse it);
    else the filter itself.

    ``client``: a ``distributed.Client``; None: the current client if Dask's default scheduler is
    one; False: never install (the filter is pickled into the graph instead, e.g. when you will
    compute with ``scheduler="processes"``).
    """
    f = filter if filter is not None else Filter.default()
    client = _current_client(client)
    if client is None:
        return f
    per_client = _shipped.setdefault(f, {})
    name = per_client.get(client.id)
    if name is None:
        name = f"scriptqa-filter-{uuid.uuid4().hex}"
        client.register_worker_plugin(_FilterPlugin(name, f), name=name)
        per_client[client.id] = name
    return FilterRef(name)


def release(filter: Filter, client: Any = None) -> None:
    """Removes ``filter`` from the workers of ``client`` (default: the current client)."""
    client = _current_client(client)
    if client is None:
        return
    name = _shipped.get(filter, {}).pop(client.id, None)
    if name is not None:
        client.unregister_worker_plugin(name)


class _ProfileSpec:
    """What tasks carry instead of a Profile: the identity of its filter and its options, not the
    filter itself (a profile pickles with its filter, megabytes per task). Resolved on the worker
    against the filter installed there, once per worker and profile."""

    __slots__ = ("identity", "options", "profile")

    def __init__(self, identity: Tuple[Any, ...], options: Dict[str, Any], profile: Optional[Profile] = None) -> None:
        self.identity = identity
        self.options = options
        self.profile = profile  # in the client's process only

    def resolve(self, f: Filter) -> Profile:
        if self.profile is not None and self.profile.filter is f:
            return self.profile
        return f._adopt(self.identity, self.options)

    def __reduce__(self) -> Any:
        return (_ProfileSpec, (self.identity, self.options))


def _portable(options: Dict[str, Any]) -> Dict[str, Any]:
    """Scan options for tasks: a profile as a _ProfileSpec."""
    p = options.get("profile")
    if isinstance(p, Profile):
        options = dict(options, profile=_ProfileSpec(p.filter._identity, p.options, p))
    return options


def _local(f: Filter, options: Dict[str, Any]) -> Dict[str, Any]:
    """Scan options in a task: a _ProfileSpec as this filter's profile."""
    p = options.get("profile")
    if isinstance(p, _ProfileSpec):
        options = dict(options, profile=p.resolve(f))
    return options


def _record(it: Any, text: str, call: str) -> Any:
    """The message of a record; None counts as an empty message, a missing key is an error."""
    if not isinstance(it, Mapping):
        raise TypeError(f"{call}: expected a mapping holding the message under {text!r} (e.g. json.loads of "
                        f"each line), got {type(it).__name__}")
    try:
        v = it[text]
    except KeyError:
        raise ValueError(f"{call}: a record has no key {text!r} (its keys: {listing(it)}); "
                         "pass text=<the key that holds the message>") from None
    return "" if v is None else v


def _texts(items: Iterable[Any], text: Optional[str], call: str) -> List[Any]:
    if text is None:
        return list(items)
    return [_record(it, text, call) for it in items]


def _scan_partition(items: Iterable[Any], filter: Union[Filter, FilterRef], text: Optional[str], threads: int,
                    options: Dict[str, Any]) -> List[List[Finding]]:
    f = _resolve(filter)
    return f.scan_many(_texts(items, text, "scan_bag"), threads=threads, **_local(f, options))


def scan_bag(
    bag: dask.bag.Bag,
    filter: Optional[Filter] = None,
    *,
    text: Optional[str] = None,
    client: Any = None,
    threads: int = 1,
    **options: Any,
) -> dask.bag.Bag:
    """A bag of ``list[Finding]``, one per element of ``bag``, in the same partitions.

    Elements are messages (``str``/``bytes``), or mappings whose ``text`` key holds the message
    (a record without that key raises :class:`ValueError` naming its keys; None counts as an
    empty message). ``threads`` per task (default 1: Dask already runs one task per worker
    thread); ``options`` are the scan options of :meth:`Filter.scan`. A ``profile`` travels to
    the workers as its options and is rebuilt there for the shipped filter. The findings carry
    the raw ``matched`` text and its :attr:`Finding.masked` form.
    """
    ref = ship(filter, client)
    return bag.map_partitions(_scan_partition, ref, text, threads, _portable(options))


def _has_role(it: Any, role: str, wanted: Any) -> bool:
    if not isinstance(it, Mapping):
        raise TypeError(f"audit_bag: expected a mapping with the keys {role!r} and the message (e.g. json.loads "
                        f"of each line), got {type(it).__name__}")
    try:
        v = it[role]
    except KeyError:
        raise ValueError(f"audit_bag: a record has no key {role!r} (its keys: {listing(it)}); pass "
                         "role=<the key that says who wrote each message>, or role=None to scan every record") from None
    return fold(v) in wanted


def _audit_partition(items: Iterable[Any], filter: Union[Filter, FilterRef], text: str, role: Optional[str],
                     roles: Optional[Sequence[str]], keep: Sequence[str], threads: int, mask: bool,
                     options: Dict[str, Any]) -> List[Dict[str, Any]]:
    f = _resolve(filter)
    if roles is not None and role is not None:
        wanted = {fold(r) for r in roles}
        items = [it for it in items if _has_role(it, role, wanted)]
    else:
        items = list(items)
    texts = _texts(items, text, "audit_bag")
    options = _local(f, options)
    results = f.scan_many(texts, threads=threads, **options)
    templ = templates(f) if mask else {}
    errors = options.get("errors", "strict")
    out = []
    for it, message, fs in zip(items, texts, results):
        if not fs:
            continue
        base = {k: it.get(k) for k in keep}
        if mask and text in base and isinstance(base[text], (str, bytes)):
            base[text] = f.mask(message, errors=errors)
        for x in fs:
            shown = suggestions(x, mask, templ)
            rec = dict(base)
            rec.update(
                rule=x.rule, category=x.category, severity=x.severity.value, start=x.start, end=x.end,
                byte_start=x.byte_start, byte_end=x.byte_end, matched=x.masked if mask else x.matched,
                suggestion=shown[0] if shown else "", reason=x.reason,
            )
            out.append(rec)
    return out


def audit_bag(
    bag: dask.bag.Bag,
    filter: Optional[Filter] = None,
    *,
    text: str = "text",
    role: Optional[str] = "role",
    roles: Optional[Iterable[str]] = ("agent",),
    keep: Sequence[str] = (),
    client: Any = None,
    threads: int = 1,
    mask: bool = True,
    **options: Any,
) -> dask.bag.Bag:
    """A bag of finding records (dicts), one per finding, from a bag of message records (e.g.
    ``db.read_text("*.jsonl").map(json.loads)``). Only records whose ``role`` is in ``roles`` are
    scanned, compared without regard to case; to scan every record pass ``role=None`` (the
    records have no role key) or ``roles=None`` (every role). A record without the ``role`` or
    ``text`` key raises :class:`ValueError` naming its keys; an element that is not a mapping
    :class:`TypeError`; ``roles`` or ``keep`` given as a single ``str`` :class:`TypeError`. Each
    finding record holds the ``keep`` keys of its message (a missing one is None) and the
    finding's ``rule, category, severity, start, end, byte_start, byte_end, matched, suggestion,
    reason`` (``.to_dataframe()`` makes a Dask DataFrame of it).

    ``mask`` (default True): as for :func:`scriptqa.audit_frame`, personal data is masked in
    ``matched``, ``suggestion`` and a kept message key; ``mask=False`` gives the raw text."""
    roles_t = names(roles, "roles", "audit_bag")
    keep_t = names(keep, "keep", "audit_bag") or ()
    ref = ship(filter, client)
    return bag.map_partitions(_audit_partition, ref, text, role, roles_t, keep_t, threads, bool(mask),
                              _portable(options))


def _audit_frame_partition(part: Any, filter: Union[Filter, FilterRef], kwargs: Dict[str, Any]) -> Any:
    from ._frame import _audit

    f = _resolve(filter)
    return _audit(part, f, partition=True, **_local(f, kwargs))


_ORDER = ("__scriptqa_part", "__scriptqa_pos")


def _tag(part: Any, partition_info: Any = None) -> Any:
    """Each message's place in the input: (partition, position), to restore input order after the
    shuffle that brings each conversation's messages together."""
    part = part.copy()
    part[_ORDER[0]] = partition_info["number"] if partition_info else 0
    part[_ORDER[1]] = range(len(part))
    return part


def _conversation_partition(part: Any, filter: Union[Filter, FilterRef], card: Scorecard,
                            kwargs: Dict[str, Any]) -> Tuple[Any, bytes]:
    from . import _conversations as conv

    f = _resolve(filter)
    part = part.sort_values(list(_ORDER), kind="stable").drop(columns=list(_ORDER))
    rows, state = conv.run(part, f, card, partition=True, call="audit_conversations", **_local(f, kwargs))
    return conv.rows_frame(json.loads(r) for r in rows), state


def _scores(card: Scorecard, timestamp: Optional[str], *states: bytes) -> Dict[str, Any]:
    from . import _conversations as conv

    return conv.summary(card, list(states), timestamp)


def _conversations(ddf: Any, f: Filter, card: Scorecard, client: Any, kwargs: Dict[str, Any]) -> Tuple[Any, Any]:
    """(Dask frame of the conversation rows, delayed summary dict) of a Dask frame of messages."""
    import dask.dataframe as dd

    from . import _conversations as conv

    for col in (kwargs["conversation"], kwargs["role"], kwargs["text"]):
        if col not in ddf.columns:
            raise KeyError(f"audit_conversations: no column {col!r} (columns: {listing(ddf.columns)})")
    meta = ddf._meta.assign(**{_ORDER[0]: 0, _ORDER[1]: 0})
    tagged = ddf.map_partitions(_tag, meta=meta)
    # Every conversation's messages in one partition (then put back in input order there).
    grouped = tagged.shuffle(kwargs["conversation"], npartitions=ddf.npartitions)
    ref = ship(f, client)
    portable = _portable(kwargs)
    parts = [dask.delayed(_conversation_partition, pure=True, nout=2)(p, ref, card, portable)
             for p in grouped.to_delayed()]
    rows = dd.from_delayed([p[0] for p in parts], meta=conv.rows_frame([]), verify_meta=False)
    scores = dask.delayed(_scores, pure=True)(card, kwargs.get("timestamp"), *[p[1] for p in parts])
    return rows, scores


def audit_conversations(
    ddf: Any,
    filter: Optional[Filter] = None,
    *,
    scorecard: Union[Scorecard, str, None] = None,
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
    client: Any = None,
    mask: bool = True,
    **options: Any,
) -> Any:
    """:func:`scriptqa.audit_conversations` over a ``dask.dataframe.DataFrame``: a Dask frame of
    the same rows (one per conversation, indexed by ``conversation_id``, the columns of
    ``scriptqa.CONVERSATION_COLUMNS``) with the same values as one process gives. The messages
    are shuffled by conversation id first, so a conversation may span input partitions; within
    it, input order is kept. The rows come in the order of the shuffled partitions: sort by the
    index to compare with :func:`scriptqa.audit_conversations`. The arguments are those of
    :func:`scriptqa.audit_conversations`; the filter travels as in :func:`audit_bag`, the
    scorecard as its text (its cue file is looked for on the worker beside the scorecard's path,
    then among the shipped dictionaries)."""
    f = filter if filter is not None else Filter.default()
    card = resolve(scorecard)
    kwargs = dict(conversation=conversation, role=role, text=text, turn=turn, timestamp=timestamp, agent=agent,
                  shop=shop, roles=names(roles, "roles", "audit_conversations") or (),
                  customer_roles=names(customer_roles, "customer_roles", "audit_conversations") or (),
                  timezone=timezone, mask=bool(mask), **options)
    rows, _ = _conversations(ddf, f, card, client, kwargs)
    return rows


def audit_dataframe(
    ddf: Any,
    filter: Optional[Filter] = None,
    *,
    text: str = "text",
    role: Optional[str] = "role",
    roles: Optional[Iterable[str]] = ("agent",),
    keep: Sequence[str] = (),
    client: Any = None,
    threads: int = 1,
    mask: bool = True,
    conversations: Optional[bool] = None,
    scorecard: Union[Scorecard, str, None] = None,
    conversation: str = "conversation_id",
    customer_roles: Iterable[str] = ("customer",),
    turn: Optional[str] = "turn",
    timestamp: Optional[str] = "timestamp",
    agent: Optional[str] = "agent_id",
    shop: Optional[str] = "shop_id",
    timezone: str = "UTC",
    **options: Any,
) -> Any:
    """:func:`scriptqa.audit_frame` over a ``dask.dataframe.DataFrame``, partition by partition.

    Returns an ``AuditResult`` of two Dask DataFrames, ``(findings, summary)``, with the columns
    and index of :func:`scriptqa.audit_frame`'s results (and the input's divisions, when known).
    Both come from one scan per partition: compute them together,
    ``findings, summary = dask.compute(*result)``. The arguments are those of
    :func:`scriptqa.audit_frame` (``mask=True`` by default); a missing ``role`` column is
    reported here, before anything is computed. A partition without rows of the wanted roles
    gives empty frames (only a whole frame whose roles match nothing is an error).

    Conversations are scored as :func:`scriptqa.audit_frame` scores them (when the frame has the
    ``conversation`` column, or ``conversations=True``): ``result.conversations`` is the Dask frame
    of :func:`audit_conversations`, ``result.scores`` a ``dask.delayed`` summary dict; compute them
    together, ``rows, scores = dask.compute(result.conversations, result.scores)``.
    """
    import dask.dataframe as dd

    from ._frame import AuditResult, audit_frame

    f = filter if filter is not None else Filter.default()
    kwargs = dict(text=text, role=role, roles=names(roles, "roles", "audit_dataframe"),
                  keep=names(keep, "keep", "audit_dataframe") or (), threads=threads, mask=bool(mask), **options)
    meta = audit_frame(ddf._meta, f, conversations=False, **kwargs)  # empty frames: columns and dtypes
    ref = ship(f, client)
    kwargs = _portable(kwargs)
    parts = [dask.delayed(_audit_frame_partition, pure=True)(p, ref, kwargs) for p in ddf.to_delayed()]
    divisions = ddf.divisions if ddf.known_divisions else None
    findings = dd.from_delayed([p[0] for p in parts], meta=meta.findings, divisions=divisions, verify_meta=False)
    summary = dd.from_delayed([p[1] for p in parts], meta=meta.summary, divisions=divisions, verify_meta=False)
    want = conversations if conversations is not None else (conversation in ddf.columns and role is not None
                                                            and roles is not None)
    if not want:
        return AuditResult(findings, summary)
    conv_kwargs = dict(conversation=conversation, role=role, text=text, turn=turn, timestamp=timestamp, agent=agent,
                       shop=shop, roles=names(roles, "roles", "audit_dataframe") or (),
                       customer_roles=names(customer_roles, "customer_roles", "audit_dataframe") or (),
                       timezone=timezone, mask=bool(mask), **options)
    rows, scores = _conversations(ddf, f, resolve(scorecard), client, conv_kwargs)
    return AuditResult(findings, summary, rows, scores)
