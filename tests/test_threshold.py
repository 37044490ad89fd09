"""`ntpverify threshold` (tools/threshold.py): the Wilson interval, the curve's reproducibility
(serial = parallel), Lemma 1 at d ≥ m, the d* interpolation, and the command's errors."""

from __future__ import annotations

import json

import pytest

from ntpverify import data
from ntpverify.tools.cli import main
from ntpverify.tools.threshold import Row, ThresholdReport, threshold, wilson


def test_wilson_interval_matches_a_textbook_value():
    lo, hi = wilson(7, 20)  # p = 0.35, n = 20: [0.1812, 0.5671] (Wilson 1927; Newcombe 1998 table)
    assert abs(lo - 0.1812) < 1e-4 and abs(hi - 0.5671) < 1e-4
    assert wilson(0, 0) == (0.0, 1.0) and wilson(20, 20)[1] == 1.0


def test_wilson_interval_contains_the_fraction_exactly_at_the_ends():
    # at n = 3, 6, 7, ... the textbook centre − half rounds to ~1e-17 > 0 for k = 0, which put the
    # interval on the wrong side of the fraction (and gave the plot negative error bars)
    for n in range(1, 200):
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0
        for k in range(n + 1):
            lo, hi = wilson(k, n)
            assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_the_curve_is_reproducible_and_lemma_1_holds_from_d_equal_m():
    serial = threshold(None, [2, 6, 12], 12, jobs=1, random=(8, 12, 3))
    parallel = threshold(None, [2, 6, 12], 12, jobs=2, random=(8, 12, 3))
    assert serial.rows == parallel.rows
    last = serial.rows[-1]
    assert last.d == 12 and last.separable == last.decided == 12  # rank H = m: always separable


def test_d_star_interpolates_the_half_crossing():
    rows = [Row(2, 0, 10, 0), Row(4, 2, 10, 0), Row(6, 8, 10, 0)]
    report = ThresholdReport("x", 10, 5, 10, rows, 0.0)
    assert report.threshold() == pytest.approx(4 + 0.3 / 0.6 * 2)
    assert ThresholdReport("x", 10, 5, 10, rows[:2], 0.0).threshold() is None


def test_threshold_command_on_an_instance_and_a_builtin(tmp_path, capsys):
    plot = tmp_path / "curve.png"
    path = str(data.DIR / "example-A.json")
    assert main(["threshold", path, "--d", "1,2,3", "--seeds", "5", "--json", "--plot", str(plot)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "ntpverify.threshold/1" and len(doc["rows"]) == 3 and plot.stat().st_size > 0
    assert main(["threshold", "--builtin", "this", "--window", "1", "--d", "8,128", "--seeds", "2"]) == 0
    assert "d*" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["--d", "2,4"], "exactly one"),
    (["--random", "5,4", "--d", "2"], "--random"),
    (["--random", "5,4,2", "--d", "4,2"], "--d"),
    (["--random", "5,4,2", "--d", "2", "--seeds", "0"], "--seeds"),
])
def test_bad_options_exit_2(argv, needle, capsys):
    assert main(["threshold", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
