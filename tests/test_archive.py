"""The counterexample archive (ntpverify/suite/archive.py) with the property suite's hooks
(properties/conftest.py) and its regression set (properties/test_archive_regression.py).

Fake claims stand in for catalogue claims: ``Z1`` fails on every instance with ``V ≥ 3``, ``Z2``
always holds, ``Z3`` is always inconclusive. They are installed in this process with monkeypatch
(fixture ``fake_claims``) and in subprocesses by the pytest plugin ``ntpv_fake_claims`` written
next to them (``-p ntpv_fake_claims`` through ``PYTEST_ADDOPTS``).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ntpverify.suite import archive, results
from ntpverify.tools import cli
from ntpverify.core import exactjson
from ntpverify.core.instance import Instance
from ntpverify.suite.verdict import Verdict

REPO = Path(__file__).resolve().parents[1]

FAKE_CLAIMS = '''
"""Fake claims for ntpverify's tests: Z1 fails when V >= 3, Z2 holds, Z3 is inconclusive."""
import sys
import types

from ntpverify.suite.verdict import inconclusive, within

MODULE = "ntpverify.suite.checks._fake_for_tests"


def check_Z1(inst, limit=2.0):
    return within("Z1", float(inst.V), float(limit), "test", "V against limit")


def check_Z2(inst):
    return within("Z2", 0.0, 1.0, "test", "always holds")


def check_Z3(inst):
    return inconclusive("Z3", "always inconclusive")


def install(setitem):
    from ntpverify.suite import claims

    module = types.ModuleType(MODULE)
    module.check_Z1, module.check_Z2, module.check_Z3 = check_Z1, check_Z2, check_Z3
    setitem(sys.modules, MODULE, module)
    for cid in ("Z1", "Z2", "Z3"):
        setitem(claims.BY_ID, cid, claims.Claim(cid, "derived", f"fake {cid}", f"statement of {cid}",
                                                "none", "exact", f"_fake_for_tests:check_{cid}"))
'''

PROPERTIES = '''
import pytest
from hypothesis import given, settings

from ntpverify.suite import claims, strategies as nst
from ntpverify.suite.enforcement import enforce


@pytest.mark.claim("Z1")
@settings(max_examples=60)
@given(nst.instances())
def test_Z1_fails_on_purpose(inst):
    enforce(claims.get("Z1").checker()(inst), inst)


@pytest.mark.claim("Z2")
@settings(max_examples=20)
@given(nst.instances())
def test_Z2_holds(inst):
    enforce(claims.get("Z2").checker()(inst), inst)
'''


@pytest.fixture
def fake_claims(tmp_path: Path, monkeypatch) -> Path:
    """Install Z1–Z3 here and, through a plugin on PYTHONPATH, in every pytest subprocess;
    the archive goes to ``tmp_path/archive``. Returns the plugin's directory."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "ntpv_fake_claims.py").write_text(FAKE_CLAIMS + "\ninstall(lambda d, k, v: d.__setitem__(k, v))\n")
    namespace: dict = {}
    exec(FAKE_CLAIMS, namespace)
    namespace["install"](monkeypatch.setitem)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(plugins), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p ntpv_fake_claims")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "archive"))
    return plugins


def property_suite(tmp_path: Path, text: str = PROPERTIES) -> Path:
    """A properties directory with the real conftest and the given test file."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO / "properties" / "conftest.py", suite / "conftest.py")
    (suite / "test_fake.py").write_text(text)
    return suite


def pytest_run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, cwd=cwd)


# --- the archive itself --------------------------------------------------------------------------

WRITER = '''
import sys, time
from pathlib import Path
from ntpverify.suite import archive
from ntpverify.core.instance import Instance
from ntpverify.suite.verdict import Verdict

first, count, go = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
while not go.exists():  # start together with the other writer
    time.sleep(0.001)
for i in range(first, first + count):
    inst = Instance([[1.0, i / 7.0]], [1.0], [[0.1 + i * 1e-17, 0.9 - i * 1e-17]], name=f"case-{i}")
    archive.write({"id": "Z1", "kind": "derived", "statement": "s", "tolerance": "t"},
                  Verdict("Z1", "fail", float(i), 0.0, "test", "detail"), inst, {"i": i})
'''


def test_two_processes_archiving_at_once_lose_and_corrupt_nothing(tmp_path):
    """Two writers, 100 cases each, 50 of them shared, into one directory at the same time."""
    go = tmp_path / "go"
    env = {**os.environ, archive.ENV_ROOT: str(tmp_path / "archive"), "OPENBLAS_NUM_THREADS": "1"}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(first), "100", str(go)], env=env)
               for first in (0, 50)]
    go.touch()
    assert [w.wait(timeout=600) for w in writers] == [0, 0]
    files = sorted((tmp_path / "archive" / "Z1").iterdir())
    assert len(files) == 150, "every distinct case is there, shared ones once"
    seen = set()
    for path in files:
        doc = archive.load(path)  # parses: nothing half-written
        inst, params = doc["instance"], doc["params"]
        assert path.stem == archive.identity_hash("Z1", inst, params)[:20]
        assert inst.name == f"case-{params['i']}" and doc["observed"] == float(params["i"])
        seen.add(params["i"])
    assert seen == set(range(150))


def test_floats_survive_bit_for_bit_and_a_case_keeps_its_first_file(tmp_path, monkeypatch):
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path))
    tiny, third = 5e-324, 0.1 + 0.2
    inst = Instance([[third, -0.0], [tiny, 1e300]], [1 / 3, 2 / 3], [[1 / 3, 2 / 3], [1.0, 0.0]])
    claim = {"id": "Z1", "kind": "derived", "statement": "s", "tolerance": "t"}
    params = {"W": [[third, tiny]]}
    path = archive.write(claim, Verdict("Z1", "fail", third, 0.0, "test", "first"), inst, params)
    again = archive.write(claim, Verdict("Z1", "fail", 1.0, 0.0, "test", "second"), inst, params)
    assert again == path and len(list(path.parent.iterdir())) == 1
    doc = archive.load(path)
    assert doc["detail"] == "first", "the discovery is kept"
    back = doc["instance"]
    for a, b in ((back.embeddings, inst.embeddings), (back.weights, inst.weights),
                 (back.next_token_probs, inst.next_token_probs)):
        assert a.tobytes() == b.tobytes()
    assert np.float64(doc["params"]["W"][0][1]).tobytes() == np.float64(tiny).tobytes()



@pytest.mark.parametrize("observed", [math.nan, math.inf, -math.inf])
def test_a_non_finite_observation_is_archived_recorded_and_replayed_as_text(tmp_path, monkeypatch, observed):
    """A check that observed NaN or ±∞ (a diverging run) still leaves its counterexample: JSON has
    no such numbers, so the archive, the results rows and the replay JSON spell them as text."""
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "archive"))
    monkeypatch.setenv(results.ENV_DIR, str(tmp_path / "results"))
    inst = Instance([[1.0]], [1.0], [[0.5, 0.5]])
    claim = {"id": "Z1", "kind": "derived", "statement": "s", "tolerance": "t"}
    verdict = Verdict("Z1", "fail", observed, 1.0, "test", "diverged")
    doc = archive.load(archive.write(claim, verdict, inst, {}))
    results.record(verdict, inst)
    row = results.read_all(tmp_path / "results")[-1]
    for value in (doc["observed"], row["observed"]):
        back = exactjson.number_from(value)
        assert isinstance(value, str) and (math.isnan(back) if math.isnan(observed) else back == observed)


# --- a failing property, archived by the pytest hooks --------------------------------------------


def test_a_failing_property_leaves_one_shrunk_archive_file_that_replays(fake_claims, tmp_path, capsys):
    suite = property_suite(tmp_path)
    done = pytest_run(str(suite), "-n", "2", "--hypothesis-profile", "ci", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 failed, 1 passed" in done.stdout
    (path,) = (tmp_path / "archive" / "Z1").iterdir()
    assert not (tmp_path / "archive" / "Z2").exists()
    doc = archive.load(path)
    assert doc["instance"].V == 3, "the shrunk example (smallest failing V)"
    assert doc["replay"]["nodeid"].endswith("test_fake.py::test_Z1_fails_on_purpose")
    assert doc["hypothesis"]["profile"] == "ci" and doc["observed"] == 3.0 and doc["bound"] == 2.0
    assert f"shrunk counterexample archived at {path}" in done.stdout
    assert cli.main(["replay", str(path)]) == 1
    assert capsys.readouterr().out.startswith("still fails  Z1: V against limit (observed 3.0, bound 2.0)")


def test_the_archive_is_a_regression_set(fake_claims, tmp_path):
    """An archived case that still fails fails ``pytest properties/``; one that holds passes."""
    claim = {"id": "Z1", "kind": "derived", "statement": "s", "tolerance": "t"}
    verdict = Verdict("Z1", "fail", 3.0, 2.0, "test", "V against limit")
    failing = Instance([[1.0]], [1.0], [[0.2, 0.3, 0.5]])
    holding = Instance([[1.0]], [1.0], [[0.2, 0.8]])
    for inst in (failing, holding):
        archive.write(claim, verdict, inst)
    conjecture_case = archive.write({**claim, "id": "my_conjecture"}, verdict, failing,
                                    replay={"kind": "conjecture", "file": "x.py", "name": "my_conjecture"})
    regression = REPO / "properties" / "test_archive_regression.py"
    done = pytest_run(str(regression), "-v", cwd=REPO)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 failed, 1 passed" in done.stdout
    failed = archive.path_for("Z1", failing).stem
    assert f"test_archived_counterexample_now_holds[Z1-{failed}] FAILED" in done.stdout
    assert conjecture_case.stem not in done.stdout, "conjecture cases are not the theory's regression"
    selected = pytest_run(str(regression), "-k", "Z2", cwd=REPO)
    assert selected.returncode == 5, "-k selects archived cases by claim id"


def test_regression_set_is_empty_without_an_archive(tmp_path, monkeypatch):
    monkeypatch.setenv(archive.ENV_ROOT, str(tmp_path / "none"))
    done = pytest_run(str(REPO / "properties" / "test_archive_regression.py"), cwd=REPO)
    assert done.returncode == 0 and "1 skipped" in done.stdout, textwrap.shorten(done.stdout, 500)
