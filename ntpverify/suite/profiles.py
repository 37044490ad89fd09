"""Hypothesis profiles and the GD budgets that go with them.

``ci`` derives from Hypothesis's built-in ``ci`` profile (derandomized, no example database, no
deadline); ``dev`` is for local iteration; ``thorough`` for long seeded runs; ``search`` is what
``ntpverify search`` uses for conjectures (random, targeting and shrinking on). Every profile sets
``deadline=None``: GD examples take milliseconds to seconds by design.

``thorough`` has no target phase. From ``max_examples ≥ 1000`` Hypothesis 6.170 (its new
when-to-optimise schedule, HypothesisWorks/hypothesis#4835) alternates hill-climbing passes with
generation, and on this suite's properties a pass stalled workers for over 40 minutes without
running one example (every attempt a data-tree cache hit; reproduce with ``pytest
properties/test_exact.py -k I7 -p no:xdist`` under ``thorough`` with the target phase and
``--hypothesis-seed=1``). Thorough runs are for random coverage over seeds; steering toward large
errors is what ``search`` (200 examples, below the new schedule's threshold) is for.

Example counts: solver-only properties run ``solver_examples``, GD properties ``gd_examples`` with
``gd_steps`` steps (issue 3: ≥ 200 and ≥ 50 in ci; issue 5: ≥ 1e5 steps in ci, 1e6 in thorough).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings


@dataclass(frozen=True)
class Budget:
    """How much each kind of property spends per run."""

    solver_examples: int
    gd_examples: int
    gd_steps: int
    #: Examples per parametrization of the solver claims on the ``large`` size (m ≤ 500,
    #: properties/test_large.py; issue 10 part 5: the thorough profile runs them in full, ci samples
    #: them so that a regression of the structured route at m in the hundreds fails CI too).
    large_examples: int


BUDGETS: dict[str, Budget] = {
    "ci": Budget(solver_examples=200, gd_examples=50, gd_steps=100_000, large_examples=30),
    "dev": Budget(solver_examples=50, gd_examples=10, gd_steps=20_000, large_examples=10),
    "thorough": Budget(solver_examples=1000, gd_examples=1000, gd_steps=1_000_000, large_examples=1000),
    "search": Budget(solver_examples=200, gd_examples=200, gd_steps=20_000, large_examples=200),
}

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

_active = "dev"


def register() -> None:
    """Register every profile with Hypothesis (idempotent).

    Parents are explicit: without one, Hypothesis derives a new profile from the profile loaded
    at that moment, which under ``CI=true`` is its derandomized ``ci`` — so ``dev``, ``thorough``
    and ``search`` would silently stop being random in CI (found by tests/test_report.py).
    """
    base = settings.get_profile("default")
    settings.register_profile("ci", settings.get_profile("ci"), deadline=None, database=None,
                              derandomize=True, print_blob=True, suppress_health_check=_SLOW_OK)
    settings.register_profile("dev", base, deadline=None, print_blob=True, suppress_health_check=_SLOW_OK)
    settings.register_profile("thorough", base, deadline=None, print_blob=True, database=None,
                              suppress_health_check=_SLOW_OK,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    settings.register_profile("search", base, deadline=None, database=None, suppress_health_check=_SLOW_OK,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target,
                                      Phase.shrink])


def activate(name: str) -> None:
    """Load profile ``name`` in Hypothesis and make its :class:`Budget` current."""
    global _active
    if name not in BUDGETS:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(BUDGETS)}")
    register()
    settings.load_profile(name)
    _active = name


def active() -> str:
    return _active


def budget() -> Budget:
    """The budget of the active profile."""
    return BUDGETS[_active]
