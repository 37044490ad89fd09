"""`ntpverify paper` (tools/paper.py) in its --quick form: the files it writes, exact and finite
numbers, App. A.1's row sharing of W^mm by equal-pattern tokens with its negative control, and the
command's errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ntpverify.core import exactjson
from ntpverify.core.instance import Instance
from ntpverify.tools.cli import main
from ntpverify.tools.paper import ROW_RTOL, row_sharing, support_patterns, wrong_w_mm


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("paper")
    assert main(["paper", "--quick", "--jobs", "1", "--out", str(out)]) == 0
    return out, exactjson.loads((out / "paper.json").read_text(encoding="utf-8"))


def _numbers(node: Any) -> list[float]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _numbers(v)]
    if isinstance(node, list):
        return [x for v in node for x in _numbers(v)]
    return [node] if isinstance(node, float) else []


def test_the_files_are_written(quick):
    out, doc = quick
    assert doc["format"] == "ntpverify.paper/1" and doc["quick"] is True
    page = (out / "paper.md").read_text(encoding="utf-8")
    assert doc["figures"]
    for fig in doc["figures"]:
        assert (out / fig["file"]).stat().st_size > 1000
        assert f"]({fig['file']})" in page


def test_the_numbers_are_finite_and_round_trip_exactly(quick):
    out, doc = quick
    numbers = _numbers(doc)
    assert len(numbers) > 100 and all(math.isfinite(x) for x in numbers)
    assert exactjson.loads(exactjson.dumps(doc)) == doc
    assert exactjson.dumps(doc, indent=1) + "\n" == (out / "paper.json").read_text(encoding="utf-8")


def test_equal_pattern_tokens_share_a_w_mm_row(quick):
    a1 = quick[1]["A1"]
    inst = Instance.from_dict(a1["instance"])
    W_mm = np.array(a1["W_mm"])
    check = row_sharing(inst, W_mm)
    assert check.outcome == "pass" and check.deviation <= ROW_RTOL
    assert check.groups == a1["row_sharing"]["groups"] and check.groups
    for group in check.groups:  # the groups really are equal support patterns
        assert group in support_patterns(inst)
        assert all((inst.support_mask[:, z] == inst.support_mask[:, group[0]]).all() for z in group)


def test_a_wrong_w_mm_is_rejected(quick):
    a1 = quick[1]["A1"]
    inst = Instance.from_dict(a1["instance"])
    W_mm = np.array(a1["W_mm"])
    assert row_sharing(inst, wrong_w_mm(inst, W_mm)).outcome == "fail"
    assert a1["negative_control"]["outcome"] == "fail"
    # a perturbation far below O(1) but above the tolerance is rejected too
    W = W_mm.copy()
    W[a1["row_sharing"]["groups"][0][0]] += 1e-6 * np.linalg.norm(W_mm)
    assert row_sharing(inst, W).outcome == "fail"


def test_a_draw_without_a_shared_pattern_is_vacuous():
    P = np.eye(3)  # every token its own context: no two tokens share a pattern
    inst = Instance(np.eye(3), np.full(3, 1 / 3), P)
    assert row_sharing(inst, np.ones((3, 3))).outcome == "vacuous"


def test_bad_options_exit_2_with_one_line(tmp_path, capsys):
    assert main(["paper", "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--jobs" in err[0]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["paper", "--quick", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]
