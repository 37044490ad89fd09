"""Exact JSON: every float64 survives a write/read cycle bit for bit (formats.md).

Writing uses Python's shortest round-trip ``repr`` for floats (what :mod:`json` already does), so
``float(repr(x)) == x`` bit for bit, ``-0.0`` and subnormals included. Reading refuses what has no
float64 value: the non-standard literals ``NaN``, ``Infinity``, ``-Infinity``, and number literals
such as ``1e999`` that overflow to infinity. It also refuses an object with a repeated key, since
picking one of the values would be a guess.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ntpverify.core.errors import InputError


def _to_builtin(obj: Any) -> Any:
    """``json`` fallback: numpy arrays become nested lists and numpy scalars Python scalars.

    Both conversions are exact for float64 (``tolist``/``item`` return the same double).
    """
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        value = obj.item()
        # longdouble.item() returns itself; encoding it again would recurse forever.
        if not isinstance(value, np.generic):
            return value
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON text of ``obj``: keys in insertion order, floats exact.

    NaN and infinity have no JSON form: they raise ValueError naming where they are in ``obj``.
    """
    try:
        return json.dumps(obj, indent=indent, allow_nan=False, default=_to_builtin)
    except ValueError:
        found = _find(obj, _is_non_finite_float)
        if found is None:
            raise
        path, value = found
        where = _location(path) or "the value"
        raise ValueError(f"{where} is {value}: JSON has no NaN or infinity") from None


def number_or_text(x: float | None) -> float | str | None:
    """A measured value for a JSON field: ``x`` itself if finite (or None), else the text
    ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``. A check may observe NaN or infinity (a diverging
    run, a broken solver); JSON has no such numbers, and dropping the value would hide what failed."""
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def number_from(value: float | str | None) -> float | None:
    """The inverse of :func:`number_or_text` (``float`` parses the three texts)."""
    return float(value) if isinstance(value, str) else value


def canonical(obj: Any) -> str:
    """The one JSON text of ``obj`` used for hashing: sorted keys, no whitespace, floats exact."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_to_builtin
    )


class _NonFinite:
    """Placeholder for a number literal without a finite float64 value, until its path is known."""

    __slots__ = ("literal", "reason")

    def __init__(self, literal: str, reason: str) -> None:
        self.literal = literal
        self.reason = reason


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that keeps key order and rejects a key given twice in one object."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InputError(key, "key appears more than once in the same object")
        obj[key] = value
    return obj


def _is_non_finite_float(value: Any) -> bool:
    """NaN or ±infinity (Python or numpy float)."""
    return isinstance(value, (float, np.floating)) and not math.isfinite(value)


def _find(node: Any, hit: Callable[[Any], bool]) -> tuple[list[Any], Any] | None:
    """The path (keys/indices) to the first value inside ``node`` for which ``hit`` holds, and
    that value; None if there is none."""
    if hit(node):
        return [], node
    if isinstance(node, np.ndarray):
        return _find(node.tolist(), hit)
    if isinstance(node, dict):
        children: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, (list, tuple)):
        children = enumerate(node)
    else:
        return None
    for key, child in children:
        found = _find(child, hit)
        if found is not None:
            return [key, *found[0]], found[1]
    return None


def _location(path: list[Any]) -> str:
    """``path`` written as subscripts, e.g. ``['W'][0][1]``."""
    return "".join(f"[{k}]" if isinstance(k, int) else f"[{k!r}]" for k in path)


def _error_at(path: list[str | int], detail: str) -> InputError:
    """An InputError for ``path``: its top-level key is the field, a following index the row."""
    field: str = "<json>"
    row: int | None = None
    if path and isinstance(path[0], str):
        field, path = path[0], path[1:]
        if path and isinstance(path[0], int):
            row, path = path[0], path[1:]
    if len(path) == 1 and isinstance(path[0], int):
        detail = f"entry {path[0]}: {detail}"
    elif path:
        detail = f"at {_location(path)}: {detail}"
    return InputError(field, detail, row)


def loads(text: str) -> Any:
    """Parse JSON text exactly; any problem is an :class:`InputError` naming where it is.

    Syntax errors use the pseudo-field ``<json>`` with line and column; a non-finite number names
    the top-level key and row that hold it.
    """
    if not text.strip():
        raise InputError("<json>", "empty document")
    rejected = False

    def non_finite(literal: str, reason: str = "is not a finite number") -> _NonFinite:
        nonlocal rejected
        rejected = True
        return _NonFinite(literal, reason)

    def parse_float(literal: str) -> float | _NonFinite:
        value = float(literal)
        return value if math.isfinite(value) else non_finite(literal, "overflows float64")

    try:
        data = json.loads(
            text, parse_float=parse_float, parse_constant=non_finite, object_pairs_hook=_unique_keys
        )
    except InputError:
        raise
    except json.JSONDecodeError as e:
        raise InputError("<json>", f"{e.msg} at line {e.lineno} column {e.colno}") from None
    except (ValueError, RecursionError) as e:
        # e.g. an integer literal longer than Python converts, or absurdly deep nesting
        raise InputError("<json>", f"cannot parse: {e}") from None
    found = _find(data, lambda node: isinstance(node, _NonFinite)) if rejected else None
    if found is not None:
        path, node = found
        raise _error_at(path, f"the literal {node.literal} {node.reason}")
    return data


def write(path: str | os.PathLike[str], obj: Any, indent: int | None = 1) -> None:
    """Write ``dumps(obj, indent)`` to ``path`` atomically.

    The text goes to a temporary file in the same directory (same file system, so the rename is
    atomic), is fsynced, then ``os.replace``-d over ``path``: readers and parallel writers see
    the old file or the new one, never a partial one.
    """
    text = dumps(obj, indent) + "\n"  # serialize first: a failure must leave no file behind
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; results are meant to be shared like any ordinary file.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
