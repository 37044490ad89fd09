"""Readable reprs for the public strategies: ``repr(instances(regime="orthogonal"))`` reads
``instances(regime='orthogonal')``, the call that made it (as Hypothesis's own strategies and
extra/numpy do), not the internal composite with its precomputed tables."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from hypothesis.strategies import SearchStrategy

T = TypeVar("T")
P = ParamSpec("P")


class Described(SearchStrategy[T]):
    """``inner``, drawn as is, shown as ``text``."""

    def __init__(self, inner: SearchStrategy[T], text: str) -> None:
        super().__init__()
        self.inner = inner
        self.text = text

    def do_draw(self, data: Any) -> T:
        return data.draw(self.inner)

    def do_validate(self) -> None:
        self.inner.validate()

    def __repr__(self) -> str:
        return self.text


def described(fn: Callable[P, SearchStrategy[T]]) -> Callable[P, SearchStrategy[T]]:
    """Wrap a strategy factory so its strategies repr as the call; arguments are still validated
    eagerly, by ``fn``, at call time."""

    @functools.wraps(fn)
    def factory(*args: P.args, **kwargs: P.kwargs) -> SearchStrategy[T]:
        inner = fn(*args, **kwargs)
        shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return Described(inner, f"{fn.__name__}({', '.join(shown)})")

    return factory
