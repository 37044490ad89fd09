"""Vocabulary sizes and support patterns ``S_j``, by kind (:data:`SUPPORT_KINDS`)."""

from __future__ import annotations

import math

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntpverify.suite.strategies.arguments import check_int, check_range
from ntpverify.suite.strategies.described import described
from ntpverify.suite.strategies.grids import bit_mask

SUPPORT_KINDS: tuple[str, ...] = (
    "one_hot",
    "full",
    "nested",
    "disjoint",
    "overlapping",
    "shared",
    "mixed",
)
"""Support-pattern kinds, in shrinking order (earlier is simpler)."""


def vocab_sizes(min_V: int = 2, max_V: int = 6) -> st.SearchStrategy[int]:
    """Vocabulary sizes ``V`` in ``[min_V, max_V]`` (``min_V >= 2``); shrinks to ``min_V``."""
    min_V, max_V = check_range("min_V", min_V, "max_V", max_V, 2)
    return st.integers(min_V, max_V)


def kind_min_m(kind: str, allow_all_full: bool, full_context: bool = False) -> float:
    """The smallest ``m`` for which ``kind`` can be built (``math.inf``: none)."""
    if full_context and kind != "full":
        if kind in ("one_hot", "disjoint"):
            return math.inf  # a full support is not a singleton, nor disjoint from another support
        return 1 + kind_min_m(kind, allow_all_full)  # m - 1 contexts of the kind, one full context
    if kind == "overlapping":
        return 2
    if kind == "full" and not allow_all_full:
        return 2
    return 1


def kind_min_V(kind: str, m: int, allow_all_full: bool, full_context: bool = False) -> int:
    if full_context and kind != "full":
        return kind_min_V(kind, m - 1, allow_all_full)
    if kind == "disjoint":
        return max(2, m)
    if kind == "overlapping" or (kind == "shared" and not allow_all_full):
        return 3
    return 2


def _kind_feasible(kind: str, m: int, V: int, allow_all_full: bool, full_context: bool = False) -> bool:
    return (m >= kind_min_m(kind, allow_all_full, full_context)
            and V >= kind_min_V(kind, m, allow_all_full, full_context))


def feasible_support_kinds(m: int, V: int, allow_all_full: bool = False,
                           full_support_context: bool = False) -> tuple[str, ...]:
    """The kinds in :data:`SUPPORT_KINDS` that :func:`support_patterns` can build for ``(m, V)``.

    ``disjoint`` needs ``V >= m``; ``overlapping`` needs ``m >= 2`` and ``V >= 3``;
    ``shared`` needs ``V >= 3`` unless ``allow_all_full``; ``full`` needs ``m >= 2``
    unless ``allow_all_full`` (so that at least one context is full and one is not).
    With ``full_support_context``: ``one_hot`` and ``disjoint`` never; ``full`` as
    above; the others as above for ``m - 1`` contexts (so ``m >= 2``).
    """
    m = check_int("m", m, 1)
    V = check_int("V", V, 2)
    full_context = bool(full_support_context)
    return tuple(k for k in SUPPORT_KINDS if _kind_feasible(k, m, V, allow_all_full, full_context))


def _subset(draw, n: int, label: str, *, proper: bool = False, anchor: int | None = None) -> list[int]:
    """A nonempty subset of ``range(n)`` (proper if asked, needs ``n >= 2``).

    Shrinks to the singleton ``{anchor}`` (``{0}`` when the anchor is drawn).
    """
    if anchor is None:
        anchor = draw(st.integers(0, n - 1), label=f"{label}.anchor") if n > 1 else 0
    excluded = None
    if proper:
        e = draw(st.integers(0, n - 2), label=f"{label}.excluded") if n > 2 else 0
        excluded = e if e < anchor else e + 1
    members = {anchor}
    if n > 1:
        flags = bit_mask(draw, n, f"{label}.members")
        members.update(i for i, f in enumerate(flags) if f)
    members.discard(excluded)
    return sorted(members)


def _token_order(draw, V: int, label: str) -> list[int]:
    return list(draw(st.permutations(range(V)), label=label))


def _permute_contexts(draw, sets: list, label: str) -> list:
    if len(sets) < 2:
        return sets
    order = draw(st.permutations(range(len(sets))), label=label)
    return [sets[i] for i in order]


def build_supports(draw, m: int, V: int, kind: str, allow_all_full: bool,
                    full_context: bool = False) -> tuple[tuple[int, ...], ...]:
    if full_context and kind != "full":  # ("full" has full-support contexts already)
        with_full = list(build_supports(draw, m - 1, V, kind, allow_all_full))
        at = draw(st.integers(0, m - 1), label="full_context.position")  # m >= 2 (kind_min_m)
        with_full.insert(at, tuple(range(V)))
        return tuple(with_full)
    full = list(range(V))
    if kind == "one_hot":
        tokens = draw(st.lists(st.integers(0, V - 1), min_size=m, max_size=m), label="one_hot.tokens")
        sets = [[t] for t in tokens]
    elif kind == "full":
        if allow_all_full:
            sets = [full] * m
        else:  # m >= 2: one non-full context, the others full
            sets = [_subset(draw, V, "full.exception", proper=True)] + [full] * (m - 1)
            sets = _permute_contexts(draw, sets, "full.context_order")
    elif kind == "nested":
        order = _token_order(draw, V, "nested.token_order")
        first_max = V if allow_all_full else V - 1
        first = draw(st.integers(1, first_max), label="nested.size[0]")
        rest = draw(st.lists(st.integers(1, V), min_size=m - 1, max_size=m - 1), label="nested.sizes")
        sets = [sorted(order[:k]) for k in [first, *rest]]
        sets = _permute_contexts(draw, sets, "nested.context_order")
    elif kind == "disjoint":
        order = _token_order(draw, V, "disjoint.token_order")
        budget = V - m  # extra tokens beyond one per context
        if m == 1 and not allow_all_full:
            budget = V - 2  # the single support must not be full
        sizes = []
        for j in range(m):
            extra = draw(st.integers(0, budget), label=f"disjoint.extra[{j}]") if budget > 0 else 0
            budget -= extra
            sizes.append(1 + extra)
        sets, start = [], 0
        for k in sizes:
            sets.append(sorted(order[start:start + k]))
            start += k
        sets = _permute_contexts(draw, sets, "disjoint.context_order")
    elif kind == "overlapping":
        order = _token_order(draw, V, "overlapping.token_order")
        budget = V - 3
        a = 1 + (draw(st.integers(0, budget), label="overlapping.extra_only_first") if budget else 0)
        budget -= a - 1
        c = 1 + (draw(st.integers(0, budget), label="overlapping.extra_common") if budget else 0)
        budget -= c - 1
        b = 1 + (draw(st.integers(0, budget), label="overlapping.extra_only_second") if budget else 0)
        first = sorted(order[: a + c])
        second = sorted(order[a: a + c + b])
        others = [_subset(draw, V, f"overlapping.other[{j}]") for j in range(m - 2)]
        sets = _permute_contexts(draw, [first, second, *others], "overlapping.context_order")
    elif kind == "shared":
        order = _token_order(draw, V, "shared.token_order")
        # class 0 = the twin tokens order[0], order[1]; class i >= 1 = {order[i + 1]}
        classes = [[order[0], order[1]]] + [[t] for t in order[2:]]
        n = len(classes)
        proper = not allow_all_full
        first = _subset(draw, n, "shared.first", proper=proper, anchor=0)
        others = [_subset(draw, n, f"shared.other[{j}]") for j in range(m - 1)]
        sets = [sorted(t for c in cs for t in classes[c]) for cs in [first, *others]]
        sets = _permute_contexts(draw, sets, "shared.context_order")
    elif kind == "mixed":
        first = _subset(draw, V, "mixed.first", proper=not allow_all_full)
        others = [_subset(draw, V, f"mixed.other[{j}]") for j in range(m - 1)]
        sets = _permute_contexts(draw, [first, *others], "mixed.context_order")
    else:  # pragma: no cover - guarded by the callers
        raise InvalidArgument(f"unknown support kind {kind!r}")
    return tuple(tuple(int(t) for t in s) for s in sets)


@st.composite
def _support_patterns(draw, m, V, kind, kinds, allow_all_full, full_context=False):
    k = kind if kind is not None else draw(st.sampled_from(kinds), label="support_kind")
    return build_supports(draw, m, V, k, allow_all_full, full_context)


@described
def support_patterns(m: int, V: int, kind: str | None = None, allow_all_full: bool = False,
                     full_support_context: bool = False) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Supports ``S_0, ..., S_{m-1}`` (a tuple of sorted token tuples) of one kind.

    ``kind`` is one of :data:`SUPPORT_KINDS` or ``None`` (a kind is drawn among
    :func:`feasible_support_kinds`, label ``"support_kind"``). Every support is
    nonempty; unless ``allow_all_full`` at least one has ``|S_j| < V``; with
    ``full_support_context`` at least one has ``S_j = [V]`` (module docs). A kind
    that cannot be built for ``(m, V)`` raises ``InvalidArgument`` (no filtering).
    """
    m = check_int("m", m, 1)
    V = check_int("V", V, 2)
    allow_all_full = bool(allow_all_full)
    full_context = bool(full_support_context)
    kinds = feasible_support_kinds(m, V, allow_all_full, full_context)
    if not kinds:
        raise InvalidArgument(f"no support kind can be built for m={m}, V={V}, allow_all_full={allow_all_full}, "
                              f"full_support_context={full_context}")
    if kind is not None:
        if kind not in SUPPORT_KINDS:
            raise InvalidArgument(f"unknown support kind {kind!r}; expected one of {SUPPORT_KINDS}")
        if kind not in kinds:
            raise InvalidArgument(
                f"support kind {kind!r} is impossible for m={m}, V={V}, "
                f"allow_all_full={allow_all_full}, full_support_context={full_context}"
            )

    return _support_patterns(m, V, kind, kinds, allow_all_full, full_context)
