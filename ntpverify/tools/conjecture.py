"""Conjectures as code: a plain function of one :class:`~ntpverify.core.instance.Instance` that raises
``AssertionError`` (or returns ``False``) when the statement fails on that instance.

```python
import ntpverify as nv
from hypothesis import assume

@nv.conjecture
def w_mm_ignores_the_weights(inst):
    '''W^mm depends only on (H, supports), not on the weights π.'''
    W = nv.w_mm(inst)
    assume(W is not None)
    ...
```

:func:`conjecture` registers the function (with its Hypothesis strategy, default
``strategies.search_instances()``: the default sizes, and up to m = 100) in the registry of the
file that defines it; :func:`load` imports a
conjecture file and returns what it registered; :func:`evaluate` runs one conjecture on one
instance and sorts the outcome into ``pass`` / ``fail`` / ``inconclusive``: only an
``AssertionError`` or a ``False`` return is a failure, and only on an instance whose limit objects
the solvers certify; any other exception (``Inconclusive`` included) is inconclusive with its
reason; :func:`evaluate_once` does the same for one given instance (a replay). :func:`ntpverify.target`
(suite/enforcement.py) steers the search toward violations (a pass-through to ``hypothesis.target`` that is a no-op
outside Hypothesis, so the conjecture can also be called directly).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis.errors import HypothesisException
from hypothesis.strategies import SearchStrategy

from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance
from ntpverify.core.status import Inconclusive

__all__ = ["Conjecture", "ConjectureError", "Evaluation", "conjecture", "evaluate", "evaluate_once", "load",
           "select", "split_spec"]


class ConjectureError(InputError):
    """A conjecture file or name that cannot be used; ``field`` is the file (the CLI exits 2)."""


@dataclass(frozen=True)
class Conjecture:
    """A registered conjecture: ``name``, the function, the strategy its instances come from, the
    absolute path of the file that defines it (recorded in archives so the case replays), and
    whether that strategy is the default one (any valid instance is then fair game)."""

    name: str
    func: Callable[[Instance], Any]
    strategy: SearchStrategy[Instance]
    file: str
    default_strategy: bool = True

    def __call__(self, inst: Instance) -> Any:
        return self.func(inst)

    @property
    def statement(self) -> str:
        """The docstring's first paragraph (the statement), or the name if there is none."""
        doc = (self.func.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split()) if doc else self.name


#: Every conjecture registered in this process, in definition order.
REGISTRY: list[Conjecture] = []


@overload
def conjecture(func: Callable[[Instance], Any], /) -> Conjecture: ...


@overload
def conjecture(*, strategy: SearchStrategy[Instance] | None = None,
               name: str | None = None) -> Callable[[Callable[[Instance], Any]], Conjecture]: ...


def conjecture(func=None, /, *, strategy=None, name=None):
    """Register a conjecture; use as ``@conjecture`` or ``@conjecture(strategy=..., name=...)``.

    ``strategy`` draws the instances (default ``ntpverify.suite.strategies.search_instances()``); ``name``
    defaults to the function's name and names the archive directory of its counterexamples.
    Returns a :class:`Conjecture`, still callable on an instance.
    """
    if strategy is not None and not isinstance(strategy, SearchStrategy):
        raise TypeError(f"strategy must be a Hypothesis strategy, got {type(strategy).__name__}")

    def register(f: Callable[[Instance], Any]) -> Conjecture:
        from ntpverify.suite.strategies import search_instances

        conj = Conjecture(name or f.__name__, f, strategy if strategy is not None else search_instances(),
                          str(Path(f.__code__.co_filename).resolve()), strategy is None)
        REGISTRY.append(conj)
        return conj

    return register if func is None else register(func)


# --- loading conjecture files --------------------------------------------------------------------


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"PATH::NAME"`` -> ``(PATH, NAME)``; ``"PATH"`` -> ``(PATH, None)``."""
    path, sep, name = spec.partition("::")
    if sep and not name:
        raise ConjectureError(path, "empty conjecture name after '::'")
    return path, (name if sep else None)


def load(path: str | Path) -> list[Conjecture]:
    """Import the conjecture file ``path`` as a fresh module and return the conjectures it defines.

    Every import gets a new module (named after the file's path) so that a file edited between two
    loads is read again; conjectures the file merely imports from elsewhere are not its own.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise ConjectureError(str(path), "no such file")
    module_name = f"ntpverify_conjectures_{hashlib.sha256(str(file).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ConjectureError(str(path), "not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up there
    start = len(REGISTRY)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file: report it, in one line
        raise ConjectureError(str(path), f"cannot import: {type(e).__name__}: {e}") from e
    found = [c for c in REGISTRY[start:] if c.func.__module__ == module_name]
    names = [c.name for c in found]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConjectureError(str(path), f"conjecture name(s) defined twice: {', '.join(dupes)}")
    return found


def select(path: str | Path, name: str | None = None) -> list[Conjecture]:
    """The conjectures of ``path`` (all, or the one called ``name``); at least one."""
    defined = load(path)
    if not defined:
        raise ConjectureError(str(path), "defines no @ntpverify.conjecture")
    if name is None:
        return defined
    found = [c for c in defined if c.name == name]
    if not found:
        known = ", ".join(c.name for c in defined)
        raise ConjectureError(str(path), f"no conjecture named {name!r} (defined: {known})")
    return found


# --- running one conjecture on one instance ------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The outcome of a conjecture on one instance, with the failure message or the reason."""

    outcome: Literal["pass", "fail", "inconclusive"]
    detail: str = ""


def _message(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _uncertified(inst: Instance) -> str | None:
    """Why the solvers cannot certify ``inst``'s limit objects, or None if they can.

    A failure is only a counterexample on an instance whose F, compatibility, separability and
    W^mm are all certified: an assertion that tripped over an inconclusive status is no
    refutation (theory.md §7)."""
    from ntpverify.core.solution import solve

    sol = solve(inst)
    if sol.conclusive:
        return None
    return "; ".join(f"{what} inconclusive: {s.reason}" for what, s in sol.status.items()
                     if s.state == "inconclusive")


def evaluate(conj: Conjecture, inst: Instance) -> Evaluation:
    """Run ``conj`` on ``inst``: ``fail`` on ``AssertionError`` or a ``False`` return (on a
    certified instance), ``inconclusive`` on any other exception, ``pass`` otherwise.

    Hypothesis's own exceptions (``assume`` rejecting the instance, or a misuse such as ``target``
    called twice with one label) propagate: they are the search's business.
    """
    try:
        value = conj.func(inst)
    except AssertionError as e:
        failure = _message(e)
    except HypothesisException:
        raise
    except Inconclusive as e:
        return Evaluation("inconclusive", f"{e.what}: {e.reason}")
    except Exception as e:  # noqa: BLE001 - anything else cannot refute the statement
        return Evaluation("inconclusive", _message(e))
    else:
        if not (isinstance(value, (bool, np.bool_)) and not value):
            return Evaluation("pass")
        failure = "returned False"
    reason = _uncertified(inst)
    if reason is not None:
        return Evaluation("inconclusive", f"{failure} (not a counterexample: {reason})")
    return Evaluation("fail", failure)


def evaluate_once(conj: Conjecture, inst: Instance) -> Evaluation:
    """Evaluate ``conj`` on ``inst`` alone (a replay), inside a one-example Hypothesis run so that
    ``assume`` and ``target`` behave as in the search. A rejected precondition, or any Hypothesis
    error, is inconclusive."""
    seen: list[Evaluation] = []

    @settings(database=None, deadline=None, phases=[Phase.explicit], verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck))
    @example(inst)
    @given(conj.strategy)
    def run(drawn: Instance) -> None:
        seen.append(evaluate(conj, drawn))

    try:
        run()
    except HypothesisException as e:
        return Evaluation("inconclusive", f"hypothesis: {_message(e)}")
    # Hypothesis skips an explicit example that assume() rejects: nothing was recorded then
    return seen[-1] if seen else Evaluation("inconclusive", "an assume() precondition does not hold")
