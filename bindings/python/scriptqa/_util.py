"""Argument checks and output helpers shared by the pandas and Dask front ends (no pandas here)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple

from . import _scriptqa as _native
from ._filter import Filter
from ._types import Finding


def names(value: Any, param: str, call: str) -> Optional[Tuple[Any, ...]]:
    """A list-of-names argument as a tuple (None stays None). A bare str, iterated, would be its
    characters and match nothing: TypeError, saying how to pass it."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{call}: {param} is a list of names, not a single {type(value).__name__} "
                        f"(pass {param}=[{value!r}])")
    return tuple(value)


def listing(values: Iterable[Any], limit: int = 20) -> str:
    """Column or key names for an error message, in their order."""
    shown = [str(v) for v in values]
    if not shown:
        return "none"
    more = f", ... ({len(shown)} in all)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def seen(values: Iterable[Any], limit: int = 10) -> str:
    """Distinct values for an error message, sorted, quoted."""
    shown = sorted({repr(v) for v in values})
    if not shown:
        return "none"
    return ", ".join(shown[:limit]) + (", ..." if len(shown) > limit else "")


def fold(v: Any) -> Any:
    """A role value as roles are compared: without regard to case."""
    return v.casefold() if isinstance(v, str) else v


def templates(f: Filter) -> Dict[str, Tuple[str, ...]]:
    """Rule id -> suggestions, for the rules whose suggestions are templates."""
    return {r.id: r.suggestions for r in f.rules if any("{" in t or "}" in t for t in r.suggestions)}


def suggestions(x: Finding, mask: bool, templ: Dict[str, Tuple[str, ...]]) -> Tuple[str, ...]:
    """A finding's suggestions as a shared output shows them: with ``mask``, templates rendered
    from the masked text, so that ``{match}`` cannot bring back what masking hid."""
    if not mask or x.masked is x.matched or x.rule not in templ:
        return x.suggestions
    return tuple(_native.render_suggestion(t, x.masked) for t in templ[x.rule])
