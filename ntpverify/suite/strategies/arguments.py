"""Validation of strategy arguments: a bad argument is an ``InvalidArgument`` at call time, naming it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis.errors import InvalidArgument


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")
    return int(value)


def check_range(lo_name: str, lo, hi_name: str, hi, minimum: int) -> tuple[int, int]:
    lo = check_int(lo_name, lo, minimum)
    hi = check_int(hi_name, hi, minimum)
    if lo > hi:
        raise InvalidArgument(f"{lo_name}={lo} must be <= {hi_name}={hi}")
    return lo, hi


def choice_names(value, universe: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Normalise ``None`` / a name / a sequence of names to a tuple of names."""
    if value is None:
        return universe
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value:
        raise InvalidArgument(f"{what} must be a name or a nonempty sequence of names")
    for name in value:
        if name not in universe:
            raise InvalidArgument(f"unknown {what} {name!r}; expected one of {universe}")
    # keep the canonical (shrinking) order, drop repeats
    return tuple(n for n in universe if n in value)
