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

import uuid
import weakref
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import dask
import dask.bag

from ._filter import Filter
from ._types import Finding

try:
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # dask without distributed: only the local schedulers
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["scan_bag", "audit_bag", "audit_dataframe", "ship", "release", "FilterRef"]

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


def _texts(items: Iterable[Any], text: Optional[str]) -> List[Any]:
    out = []
    for it in items:
        v = it if text is None else it.get(text)
        out.append("" if v is None else v)
    return out


def _scan_partition(items: Iterable[Any], filter: Union[Filter, FilterRef], text: Optional[str], threads: int,
                    options: Dict[str, Any]) -> List[List[Finding]]:
    items = list(items)
    return _resolve(filter).scan_many(_texts(items, text), threads=threads, **options)


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

    Elements are messages (``str``/``bytes``), or mappings whose ``text`` key holds the message.
    ``threads`` per task (default 1: Dask already runs one task per worker thread); ``options``
    are the scan options of :meth:`Filter.scan`.
    """
    ref = ship(filter, client)
    return bag.map_partitions(_scan_partition, ref, text, threads, options)


def _audit_partition(items: Iterable[Any], filter: Union[Filter, FilterRef], text: str, role: Optional[str],
                     roles: Optional[Sequence[str]], keep: Sequence[str], threads: int,
                     options: Dict[str, Any]) -> List[Dict[str, Any]]:
    items = [it for it in items if roles is None or role is None or it.get(role) in roles]
    results = _resolve(filter).scan_many(_texts(items, text), threads=threads, **options)
    out = []
    for it, fs in zip(items, results):
        base = {k: it.get(k) for k in keep}
        for x in fs:
            rec = dict(base)
            rec.update(
                rule=x.rule, category=x.category, severity=x.severity.value, start=x.start, end=x.end,
                byte_start=x.byte_start, byte_end=x.byte_end, matched=x.matched,
                suggestion=x.suggestion, reason=x.reason,
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
    **options: Any,
) -> dask.bag.Bag:
    """A bag of finding records (dicts), one per finding, from a bag of message records (e.g.
    ``db.read_text("*.jsonl").map(json.loads)``). Only records whose ``role`` is in ``roles`` are
    scanned (``roles=None``: all). Each record holds the ``keep`` keys of its message and the
    finding's ``rule, category, severity, start, end, byte_start, byte_end, matched, suggestion,
    reason`` (``.to_dataframe()`` makes a Dask DataFrame of it)."""
    ref = ship(filter, client)
    roles_t = None if roles is None else tuple(roles)
    return bag.map_partitions(_audit_partition, ref, text, role, roles_t, tuple(keep), threads, options)


def _audit_frame_partition(part: Any, filter: Union[Filter, FilterRef], kwargs: Dict[str, Any]) -> Any:
    from ._frame import audit_frame

    return audit_frame(part, _resolve(filter), **kwargs)


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
    **options: Any,
) -> Any:
    """:func:`scriptqa.audit_frame` over a ``dask.dataframe.DataFrame``, partition by partition.

    Returns an ``AuditResult`` of two Dask DataFrames, ``(findings, summary)``, with the columns
    and index of :func:`scriptqa.audit_frame`'s results (and the input's divisions, when known).
    Both come from one scan per partition: compute them together,
    ``findings, summary = dask.compute(*result)``.
    """
    import dask.dataframe as dd

    from ._frame import AuditResult, audit_frame

    f = filter if filter is not None else Filter.default()
    kwargs = dict(text=text, role=role, roles=None if roles is None else tuple(roles), keep=tuple(keep),
                  threads=threads, **options)
    meta = audit_frame(ddf._meta, f, **kwargs)  # empty frames with the right columns and dtypes
    ref = ship(f, client)
    parts = [dask.delayed(_audit_frame_partition, pure=True)(p, ref, kwargs) for p in ddf.to_delayed()]
    divisions = ddf.divisions if ddf.known_divisions else None
    findings = dd.from_delayed([p[0] for p in parts], meta=meta.findings, divisions=divisions, verify_meta=False)
    summary = dd.from_delayed([p[1] for p in parts], meta=meta.summary, divisions=divisions, verify_meta=False)
    return AuditResult(findings, summary)
