"""Conjectures as code (ntpverify/tools/conjecture.py): the decorator, loading files, and how one
evaluation is sorted into pass / fail / inconclusive."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

import ntpverify as nv
from ntpverify.suite import results
from ntpverify.tools.conjecture import (REGISTRY, Conjecture, ConjectureError, Evaluation, evaluate,
                                  evaluate_once, load, select, split_spec)
from ntpverify.core.status import Status

# example A of theory.md §8: certified (compatible and separable)
EXAMPLE_A = nv.Instance([[1.0, 1.0], [-2.0, -1.0]], [0.5, 0.5], [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])


def conj(func) -> Conjecture:
    """``func`` as a conjecture, without leaving it in the registry."""
    c = nv.conjecture(func)
    REGISTRY.remove(c)
    return c


def write(tmp_path: Path, text: str, name: str = "conj.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --- the decorator -------------------------------------------------------------------------------


def test_decorator_bare_and_with_arguments():
    def f(inst):
        """First paragraph
        spans two lines.

        Details."""

    bare = conj(f)
    assert bare.name == "f" and bare.func is f and bare.file == str(Path(__file__).resolve())
    assert bare.statement == "First paragraph spans two lines."
    assert bare.strategy is not None  # the default, instances()
    strategy = st.just(EXAMPLE_A)
    named = nv.conjecture(strategy=strategy, name="other")(f)
    REGISTRY.remove(named)
    assert named.name == "other" and named.strategy is strategy


def test_conjecture_is_callable_and_rejects_a_non_strategy():
    assert conj(lambda inst: inst.V)(EXAMPLE_A) == 3
    with pytest.raises(TypeError, match="Hypothesis strategy"):
        nv.conjecture(strategy=[EXAMPLE_A])


def test_target_is_a_no_op_outside_a_search_and_recorded_inside():
    assert nv.target(1.5, "outside") == 1.5  # no InvalidArgument outside a test
    results.current_claim = "t-claim"
    try:
        @settings(max_examples=5, database=None)
        @given(st.floats(0, 10))
        def run(x):
            nv.target(x, "x")

        run()
    finally:
        results.current_claim = None
    assert ("t-claim", "x") in results.best_targets


# --- files ---------------------------------------------------------------------------------------


def test_split_spec():
    assert split_spec("a/b.py") == ("a/b.py", None)
    assert split_spec("a/b.py::name") == ("a/b.py", "name")
    with pytest.raises(ConjectureError, match="empty conjecture name"):
        split_spec("a/b.py::")


def test_load_returns_the_file_own_conjectures_in_order(tmp_path):
    write(tmp_path, """
        import ntpverify as nv

        @nv.conjecture
        def first(inst):
            pass
    """, "other.py")
    path = write(tmp_path, f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import ntpverify as nv
        from other import first  # imported, not defined here

        @nv.conjecture(name="second")
        def g(inst):
            pass

        @nv.conjecture
        def third(inst):
            return False
    """)
    assert [c.name for c in load(path)] == ["second", "third"]
    assert [c.name for c in select(path, "third")] == ["third"]
    assert load(path)[0].file == str(path.resolve())


@pytest.mark.parametrize("text, spec_name, message", [
    ("x = 1\n", None, "defines no @ntpverify.conjecture"),
    ("import ntpverify as nv\n@nv.conjecture\ndef a(inst): pass\n", "b", "no conjecture named 'b' \\(defined: a\\)"),
    ("def broken(:\n", None, "cannot import: SyntaxError"),
    ("import ntpverify as nv\n@nv.conjecture\ndef a(inst): pass\n@nv.conjecture(name='a')\ndef b(inst): pass\n",
     None, "defined twice: a"),
])
def test_unusable_files_are_conjecture_errors(tmp_path, text, spec_name, message):
    path = write(tmp_path, text)
    with pytest.raises(ConjectureError, match=message):
        select(path, spec_name)


def test_missing_file(tmp_path):
    with pytest.raises(ConjectureError, match="no such file"):
        load(tmp_path / "nope.py")


# --- evaluating one instance ---------------------------------------------------------------------


def fails_with(exc):
    def f(inst):
        raise exc
    return conj(f)


@pytest.mark.parametrize("func, outcome, detail", [
    (lambda inst: None, "pass", ""),
    (lambda inst: True, "pass", ""),
    (lambda inst: 0, "pass", ""),  # only a boolean False refutes
    (lambda inst: False, "fail", "returned False"),
    (lambda inst: np.bool_(False), "fail", "returned False"),
])
def test_return_values(func, outcome, detail):
    assert evaluate(conj(func), EXAMPLE_A) == Evaluation(outcome, detail)


@pytest.mark.parametrize("exc, outcome, detail", [
    (AssertionError("too big"), "fail", "AssertionError: too big"),
    (nv.Inconclusive("W_mm", "KKT residual 1e-3"), "inconclusive", "W_mm: KKT residual 1e-3"),
    (ValueError("bad   shape\nhere"), "inconclusive", "ValueError: bad shape here"),
    (ZeroDivisionError(), "inconclusive", "ZeroDivisionError"),
])
def test_exceptions(exc, outcome, detail):
    ev = evaluate(fails_with(exc), EXAMPLE_A)
    assert (ev.outcome, ev.detail) == (outcome, detail)


def test_assume_is_left_to_hypothesis():
    seen = []

    @settings(max_examples=3, database=None)
    @given(st.just(EXAMPLE_A))
    def run(inst):
        try:
            evaluate(conj(lambda inst: assume(False)), inst)
        except UnsatisfiedAssumption:
            seen.append(True)
            raise

    with pytest.raises(Exception):  # Hypothesis: unable to satisfy assumptions
        run()
    assert seen


@pytest.mark.filterwarnings("error")  # no "assume outside a property-based test" deprecation
@pytest.mark.parametrize("func, outcome, detail", [
    (lambda inst: assume(inst.V == 2), "inconclusive", "an assume() precondition does not hold"),
    (lambda inst: nv.target(1.0, "t") and assume(inst.V == 3) and False, "fail", "returned False"),
    (lambda inst: (nv.target(1.0, "t"), nv.target(2.0, "t")), "inconclusive", "hypothesis: InvalidArgument"),
    (lambda inst: None, "pass", ""),
])
def test_evaluate_once_replays_one_instance_inside_hypothesis(func, outcome, detail):
    ev = evaluate_once(conj(func), EXAMPLE_A)
    assert ev.outcome == outcome and ev.detail.startswith(detail)


def test_a_failure_on_an_uncertified_instance_is_inconclusive(monkeypatch):
    uncertain = SimpleNamespace(conclusive=False, status={"F": Status("ok"),
                                                          "W_mm": Status("inconclusive", "KKT 1e-4")})
    monkeypatch.setattr("ntpverify.core.solution.solve", lambda inst: uncertain)
    ev = evaluate(conj(lambda inst: False), EXAMPLE_A)
    assert ev.outcome == "inconclusive"
    assert ev.detail == "returned False (not a counterexample: W_mm inconclusive: KKT 1e-4)"
