"""The ``ntpverify`` command line: input handling (exit 2, one line naming the field and row),
usage errors, internal failures (exit 1), and the solve/gd outputs against the shared cases."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ntpverify.tools import cli
from ntpverify.core import exactjson

REPO = Path(__file__).resolve().parents[1]
MATRIX_TOL = 1e-8  # after scaling by max(1, ‖expected‖)


@pytest.fixture
def example_a(shared_cases_dir: Path) -> dict:
    return json.loads((shared_cases_dir / "example-A.json").read_text())


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``ntpverify argv``."""
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, out: str, err: str, prefix: str) -> None:
    assert status == 2
    assert out == "", "nothing may be written to stdout on failure"
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(prefix), err


# --- malformed instance files (formats.md's list and more) ----------------------------------------


def mutate(change: Callable[[dict], None]) -> Callable[[dict], str]:
    """A file text made from the example by ``change`` (applied to a copy)."""

    def make(data: dict) -> str:
        change(data)
        return json.dumps(data)

    return make


def literal(field: str, row: int, entry: int, text: str) -> Callable[[dict], str]:
    """A file text with a raw JSON literal (e.g. NaN) at ``data[field][row][entry]``."""

    def make(data: dict) -> str:
        data[field][row][entry] = "@@"
        return json.dumps(data).replace('"@@"', text)

    return make


def text(raw: str) -> Callable[[dict], str]:
    return lambda data: raw


def huge(data: dict) -> None:
    """V×d = 40000×4000 > 2^27 (instance.MAX_ARRAY_ENTRIES): a small file declaring a huge decoder."""
    data.update(embeddings=[[1.0] * 4000], weights=[1.0], next_token_probs=[[1.0] + [0.0] * 39999])


MALFORMED = {
    "missing key": (mutate(lambda d: d.pop("weights")), "weights: missing"),
    "wrong weights length": (mutate(lambda d: d["weights"].append(0.0)), "weights: has 3 entries"),
    "wrong number of rows": (
        mutate(lambda d: d["next_token_probs"].append([1.0, 0.0, 0.0])),
        "next_token_probs: has 3 rows",
    ),
    "ragged row": (mutate(lambda d: d["embeddings"][1].pop()), "embeddings[1]: row has 1 entries"),
    "NaN": (literal("embeddings", 1, 0, "NaN"), "embeddings[1]: entry 0: the literal NaN"),
    "Infinity": (
        literal("next_token_probs", 0, 2, "Infinity"),
        "next_token_probs[0]: entry 2: the literal Infinity",
    ),
    "overflowing number": (literal("embeddings", 0, 1, "-1e999"), "embeddings[0]: entry 1:"),
    "string entry": (literal("embeddings", 0, 1, '"1"'), "embeddings[0]: entry 1 is a string"),
    "boolean weight": (mutate(lambda d: d.update(weights=[True, 0.5])), "weights[0]: is a boolean"),
    "negative probability": (
        mutate(lambda d: d.update(next_token_probs=[[0.5, 0.5, 0.0], [-0.1, 0.6, 0.5]])),
        "next_token_probs[1]: entry 0 is -0.1, expected ≥ 0",
    ),
    "row not summing to 1": (
        mutate(lambda d: d.update(next_token_probs=[[0.5, 0.5, 0.0], [0.0, 0.5, 0.4]])),
        "next_token_probs[1]: row sums to 0.9",
    ),
    "zero weight": (mutate(lambda d: d.update(weights=[1.0, 0.0])), "weights[1]: is 0.0"),
    "negative weight": (mutate(lambda d: d.update(weights=[1.5, -0.5])), "weights[1]: is -0.5"),
    "weights not summing to 1": (
        mutate(lambda d: d.update(weights=[0.5, 0.4])),
        "weights: sum to 0.9",
    ),
    "unknown format": (
        mutate(lambda d: d.update(format="ntpverify.instance/2")),
        "format: is 'ntpverify.instance/2'",
    ),
    "missing format": (mutate(lambda d: d.pop("format")), "format: missing"),
    "unknown key": (mutate(lambda d: d.update(note="hi")), "note: unknown key"),
    "V < 2": (
        mutate(lambda d: d.update(next_token_probs=[[1.0], [1.0]])),
        "next_token_probs: rows have 1 entries (V = 1)",
    ),
    "m = 0": (
        mutate(lambda d: d.update(embeddings=[], weights=[], next_token_probs=[])),
        "embeddings: has no rows (m = 0)",
    ),
    "d = 0": (mutate(lambda d: d.update(embeddings=[[], []])), "embeddings: rows are empty"),
    "non-list embeddings": (mutate(lambda d: d.update(embeddings="H")), "embeddings: expected"),
    "huge dimensions": (mutate(huge), "next_token_probs: V×d = 40000×4000"),
    "truncated file": (lambda d: json.dumps(d)[:40], "<json>: "),
    "empty file": (text(""), "<file>: is empty"),
    "non-object": (text("[1, 2]"), "<json>: expected a JSON object at the top level, got a list"),
}  # fmt: skip


@pytest.mark.parametrize("command", [["solve"], ["gd", "--steps", "3"]])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_file_exits_2_naming_field_and_row(
    case: str, command: list[str], example_a: dict, tmp_path: Path, capsys
) -> None:
    make, where = MALFORMED[case]
    path = tmp_path / "case.json"
    path.write_text(make(example_a))
    status, out, err = run([command[0], str(path), *command[1:]], capsys)
    assert_one_line_error(status, out, err, f"ntpverify: error: {path}: {where}")


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "absent.json"
    status, out, err = run(["solve", str(path)], capsys)
    assert_one_line_error(status, out, err, f"ntpverify: error: {path}: <file>: cannot be read")


def test_subprocess_prints_no_traceback(example_a: dict, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(MALFORMED["NaN"][0](example_a))
    proc = subprocess.run(
        [sys.executable, "-m", "ntpverify.tools.cli", "solve", str(path), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"ntpverify: error: {path}: embeddings[1]:")


# --- usage ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        [],  # --steps is required
        ["--steps", "0"],
        ["--steps", "-3"],
        ["--steps", "abc"],
        ["--steps", "1.5"],
        ["--steps", "10", "--eta", "0"],
        ["--steps", "10", "--eta", "-1"],
        ["--steps", "10", "--eta", "nan"],
        ["--steps", "10", "--eta", "inf"],
        ["--steps", "10", "--eta", "x"],
        ["--steps", "10", "--checkpoints", "0,5"],
        ["--steps", "10", "--checkpoints", "5,3"],
        ["--steps", "10", "--checkpoints", "3,3"],
        ["--steps", "10", "--checkpoints", "3,x"],
        ["--steps", "10", "--checkpoints", "5,11"],
    ],
)
def test_bad_gd_options_exit_2(options: list[str], shared_cases_dir: Path, capsys) -> None:
    path = shared_cases_dir / "example-A.json"
    status, out, err = run(["gd", str(path), *options], capsys)
    assert_one_line_error(status, out, err, "ntpverify")
    assert "error: " in err


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["solve"], ["solve", "a.json", "--bogus"]])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert_one_line_error(*run(argv, capsys), "ntpverify")


def test_help_lists_the_commands(capsys) -> None:
    status, out, _ = run(["--help"], capsys)
    assert status == 0 and "solve" in out and "gd" in out


def test_internal_failure_exits_1_with_one_line(
    shared_cases_dir: Path, monkeypatch, capsys
) -> None:
    def broken(args):
        raise RuntimeError("boom\nsecond line")

    broken_solve = dataclasses.replace(cli.COMMANDS["solve"], run=broken)
    monkeypatch.setitem(cli.COMMANDS, "solve", broken_solve)
    status, out, err = run(["solve", str(shared_cases_dir / "example-A.json")], capsys)
    assert status == 1 and out == ""
    assert err == "ntpverify: internal error: RuntimeError: boom second line\n"


# --- outputs (need the lead's ntpverify.core.solution and ntpverify.optim.gd) --------------------------------


@pytest.fixture
def math_modules() -> None:
    pytest.importorskip("ntpverify.core.solution")
    pytest.importorskip("ntpverify.optim.gd")


def matches(actual: object, expected: object) -> bool:
    """Booleans, nulls and integers exactly; floats to 1e-8; matrices to 1e-8 after scaling."""
    if expected is None or isinstance(expected, (bool, int)):
        return actual == expected and type(actual) is type(expected)
    if isinstance(expected, float):
        return isinstance(actual, float) and abs(actual - expected) <= MATRIX_TOL
    A, B = np.array(actual, dtype=float), np.array(expected, dtype=float)
    scale = max(1.0, float(np.linalg.norm(B)))
    return A.shape == B.shape and float(np.max(np.abs(A - B))) / scale <= MATRIX_TOL


@pytest.mark.usefixtures("math_modules")
def test_solve_json_matches_expected_answers(case_files: list[Path], capsys) -> None:
    failures = []  # collected so that one run shows every case that disagrees
    for path in case_files:
        status, out, err = run(["solve", str(path), "--json"], capsys)
        if status != 0 or err:
            failures.append(f"{path.name}: exit {status}: {err.strip()}")
            continue
        data = exactjson.loads(out)
        if data.get("format") != "ntpverify.solution/1":
            failures.append(f"{path.name}: format = {data.get('format')!r}")
        failures += [
            f"{path.name}: {key} = {data.get(key)!r}, expected {value!r}"
            for key, value in json.loads(path.read_text())["x-expected"].items()
            if not matches(data.get(key), value)
        ]
    assert not failures, "\n".join(failures)


@pytest.mark.usefixtures("math_modules")
def test_solve_prints_a_readable_summary(shared_cases_dir: Path, capsys) -> None:
    status, out, err = run(["solve", str(shared_cases_dir / "example-A.json")], capsys)
    assert status == 0 and err == "" and out.strip() and not out.lstrip().startswith("{")


@pytest.mark.usefixtures("math_modules")
def test_gd_json_has_the_trajectory_shape(shared_cases_dir: Path, capsys) -> None:
    path = shared_cases_dir / "example-A.json"
    argv = ["gd", str(path), "--steps", "50", "--checkpoints", "10,50", "--json"]
    status, out, err = run(argv, capsys)
    assert status == 0 and err == ""
    data = exactjson.loads(out)
    assert data.get("format", "ntpverify.trajectory/1") == "ntpverify.trajectory/1"
    assert data["steps"] == 50
    H = np.array([[1.0, 1.0], [-2.0, -1.0]])
    default_eta = 1.0 / np.linalg.eigvalsh(0.5 * H.T @ H).max()  # 1/λ_max(Σ π_j h_j h_jᵀ)
    assert data["eta"] == pytest.approx(default_eta, rel=1e-12)
    checkpoints = {c["k"]: c for c in data["checkpoints"]}
    assert {10, 50} <= set(checkpoints)
    assert all(c["loss_gap"] >= 0 and c["norm"] >= 0 for c in checkpoints.values())
    W = np.array(data["W_final"])
    assert W.shape == (3, 2)
    assert checkpoints[50]["norm"] == pytest.approx(np.linalg.norm(W), rel=1e-12)


@pytest.mark.usefixtures("math_modules")
def test_gd_honours_eta_and_prints_a_summary(shared_cases_dir: Path, capsys) -> None:
    path = str(shared_cases_dir / "example-A.json")
    status, out, _ = run(["gd", path, "--steps", "5", "--eta", "0.125", "--json"], capsys)
    assert status == 0 and exactjson.loads(out)["eta"] == 0.125
    status, out, err = run(["gd", path, "--steps", "5"], capsys)
    assert status == 0 and err == "" and out.strip()
