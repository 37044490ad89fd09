"""``ntpverify search``: look for counterexamples to conjectures with Hypothesis.

Each conjecture (conjecture.py) becomes a Hypothesis test, ``@given(its strategy)``, run under the
``search`` profile (random generation, targeting and shrinking; no example database) and seeded,
so a run can be repeated. The test body counts what it sees: passes, inconclusive examples (with
their reasons; they do not stop the search), ``assume`` rejections, and the first failure. A
failure is noted (``archive.note_failure``) and raised as :class:`Refutation`; Hypothesis replays
the shrunk example last, so the note left after the run is the shrunk counterexample. It is
replayed once more on its own, as ``ntpverify replay`` will, and archived exactly (archive.py)
with what is needed to replay it.

A conjecture on the default strategy is first tried on the theory's edge cases shipped in
``ntpverify/data/`` (explicit examples, on top of ``max_examples``): shared embeddings, full-support
contexts and conditions failing one at a time are where plausible statements break, and random
draws reach some of them only rarely. The generated search runs anyway, and its shrunk
counterexample, if any, is the one archived; the failing edge case otherwise. A custom strategy may
encode assumptions those cases break, so it gets none.

Verdicts: ``refuted`` (a certified counterexample that replays, archived), ``survived`` (no
counterexample in ``max_examples`` examples, at most ``INCONCLUSIVE_BUDGET`` of them inconclusive),
``inconclusive`` (too many inconclusive examples, no example met the assumptions, a failure that
did not replay, or a broken strategy). Conjectures are spread over ``jobs`` processes, each
importing the conjecture file itself. An interrupt (Ctrl-C, or SIGTERM turned into
KeyboardInterrupt by the CLI) stops the parent, which terminates the workers and waits for them:
the workers ignore Ctrl-C (the terminal sends it to the whole process group; the parent decides)
and unwind on SIGTERM, so that an archive file being written is removed, not left half-written.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from queue import Empty
from typing import Any, Literal

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, event, example, given, settings
from hypothesis.errors import Flaky, Unsatisfiable, UnsatisfiedAssumption

from ntpverify import data
from ntpverify.core.instance import Instance
from ntpverify.suite import archive, profiles, results
from ntpverify.suite.verdict import INCONCLUSIVE_BUDGET, Verdict
from ntpverify.tools.conjecture import Conjecture, evaluate, evaluate_once, select

DEFAULT_MAX_EXAMPLES = profiles.BUDGETS["search"].solver_examples
Status = Literal["refuted", "survived", "inconclusive"]
Progress = Callable[[str, int], None]


class Refutation(AssertionError):
    """Raised by the search body when the conjecture failed on a certified instance."""


@dataclass
class Tally:
    """What one search saw. ``examples`` counts the instances the conjecture was evaluated on, in
    every phase (edge cases, generation, targeting, shrinking), ``rejected`` those its ``assume``
    turned away: Hypothesis's ``max_examples`` counts the former. ``first_failure_at`` is
    ``examples`` when the first failure came (at most the number of edge cases plus
    ``max_examples`` for a failure found before shrinking)."""

    examples: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    rejected: int = 0
    first_failure_at: int | None = None
    reasons: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class SearchRecord:
    """The outcome of searching one conjecture (one entry of ``--json``'s ``records``)."""

    conjecture: str
    file: str
    statement: str
    status: Status
    examples: int
    passed: int
    failed: int
    inconclusive: int
    rejected: int
    first_failure_at: int | None
    counterexample: str | None
    detail: str
    inconclusive_reasons: dict[str, int]
    best_targets: dict[str, float]
    seed: int
    max_examples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One readable line (two for a refutation: the archive path)."""
        if self.status == "refuted":
            return (f"refuted       {self.conjecture}: failed at example {self.first_failure_at} "
                    f"({self.examples} evaluated with shrinking): {self.detail}\n"
                    f"              counterexample: {self.counterexample}")
        if self.status == "survived":
            return (f"survived      {self.conjecture}: {self.passed} examples passed, "
                    f"{self.inconclusive} inconclusive, {self.rejected} rejected by assume")
        return f"inconclusive  {self.conjecture}: {self.detail}"


@dataclass(frozen=True)
class SearchReport:
    """All records of one ``ntpverify search`` run; exit status 1 if any conjecture was refuted."""

    records: list[SearchRecord]

    @property
    def exit_status(self) -> int:
        return 1 if any(r.status == "refuted" for r in self.records) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"format": "ntpverify.search/1", "records": [r.to_dict() for r in self.records]}

    def summary(self) -> str:
        return "\n".join(r.line() for r in self.records)


@functools.cache
def edge_cases() -> tuple[Instance, ...]:
    """The shipped example instances, the explicit examples of default-strategy searches."""
    return tuple(data.load(name) for name in data.names())


def _settings(max_examples: int) -> settings:
    """The ``search`` profile, quiet, one bug per run (the one archived), no health check: a
    conjecture may be slow or reject most instances, and that is reported, not an error."""
    profiles.register()
    return settings(settings.get_profile("search"), max_examples=max_examples, verbosity=Verbosity.quiet,
                    report_multiple_bugs=False, print_blob=False, suppress_health_check=list(HealthCheck))


def _replays(conj: Conjecture, noted: archive.Noted) -> bool:
    """Does the shrunk failure fail again when replayed alone, as ``ntpverify replay`` will?
    (Hypothesis replays generated failures itself, but not failing explicit examples.)"""
    return evaluate_once(conj, noted.inst).outcome == "fail"


def _conclusion(tally: Tally, error: Exception | None) -> tuple[Status, str]:
    """Status and detail of a search that found no replayable counterexample."""
    if isinstance(error, (Flaky, Refutation)):  # a Refutation here did not replay
        return "inconclusive", f"a failure did not replay (flaky conjecture): {error}"
    if isinstance(error, Unsatisfiable):
        return "inconclusive", f"no instance satisfied the assumptions ({tally.rejected} rejected)"
    if error is not None:
        return "inconclusive", f"the search stopped: {type(error).__name__}: {error}"
    looked = tally.passed + tally.inconclusive
    if tally.passed == 0 or tally.inconclusive > INCONCLUSIVE_BUDGET * looked:
        top = "; ".join(f"{n}× {why}" for why, n in tally.reasons.most_common(3))
        return "inconclusive", (f"{tally.inconclusive} of {looked} examples inconclusive (budget "
                                f"{INCONCLUSIVE_BUDGET:.0%}): {top or 'no example ran'}")
    return "survived", ""


def _archive(conj: Conjecture, noted: archive.Noted, seed: int, max_examples: int) -> str:
    """Write the shrunk counterexample of ``conj`` and return its path."""
    claim = {"id": conj.name, "kind": "user conjecture", "title": conj.name, "statement": conj.statement,
             "hypotheses": "", "tolerance": "as written in the conjecture"}
    path = archive.write(claim, noted.verdict, noted.inst, noted.params,
                         replay={"kind": "conjecture", "file": conj.file, "name": conj.name},
                         hypothesis={"profile": "search", "seed": seed, "max_examples": max_examples,
                                     "version": hypothesis.__version__})
    return str(path)


def _body(conj: Conjecture, tally: Tally, progress: Progress | None) -> Callable[[Instance], None]:
    """The Hypothesis test body: evaluate, count, note and raise a failure."""

    def body(inst: Instance) -> None:
        if not isinstance(inst, Instance):
            raise TypeError(f"the strategy of {conj.name} drew a {type(inst).__name__}, not an Instance")
        try:
            ev = evaluate(conj, inst)
        except UnsatisfiedAssumption:
            tally.rejected += 1
            raise
        tally.examples += 1
        if progress is not None:
            progress(conj.name, tally.examples)
        if ev.outcome == "pass":
            tally.passed += 1
        elif ev.outcome == "inconclusive":
            tally.inconclusive += 1
            tally.reasons[ev.detail[:200]] += 1
            event(f"inconclusive: {ev.detail[:80]}")
        else:
            tally.failed += 1
            tally.first_failure_at = tally.first_failure_at or tally.examples
            archive.note_failure(Verdict(conj.name, "fail", detail=ev.detail), inst)
            raise Refutation(ev.detail)

    return body


@dataclass(frozen=True)
class Attempt:
    """One Hypothesis run: the counterexample it left (replayed, or None) and the error it raised."""

    found: archive.Noted | None
    error: Exception | None


def _attempt(conj: Conjecture, test: Callable[[], None]) -> Attempt:
    """Run ``test``; its last noted failure is the counterexample if it was a refutation that
    replays."""
    archive.take_noted()  # forget any failure noted before this run in this process
    try:
        test()
    except Exception as e:  # noqa: BLE001 - sorted out by the caller: a refutation or why there is none
        noted = archive.take_noted()
        replayed = isinstance(e, Refutation) and noted is not None and _replays(conj, noted)
        return Attempt(noted if replayed else None, None if replayed else e)
    return Attempt(None, None)


def run_conjecture(conj: Conjecture, max_examples: int, seed: int,
                   progress: Progress | None = None) -> SearchRecord:
    """Search ``conj`` for a counterexample in this process: the edge cases first (default
    strategy only), then ``max_examples`` generated examples with targeting and shrinking. The
    shrunk generated counterexample is archived if there is one, else the failing edge case."""
    tally = Tally()
    body = _body(conj, tally, progress)
    explicit = settings(_settings(max_examples), phases=[Phase.explicit])
    edge_test = given(conj.strategy)(body)
    for inst in reversed(edge_cases()):  # the decorator applied last runs first
        edge_test = example(inst)(edge_test)
    results.current_claim = conj.name
    start = time.perf_counter()
    try:
        edge = _attempt(conj, explicit(edge_test)) if conj.default_strategy else Attempt(None, None)
        generated = _attempt(conj, hypothesis.seed(seed)(_settings(max_examples)(given(conj.strategy)(body))))
    finally:
        results.current_claim = None
    seconds = time.perf_counter() - start
    found = generated.found or edge.found
    status: Status
    if found is not None:
        status, detail = "refuted", found.verdict.detail
        path = _archive(conj, found, seed, max_examples)
    else:
        (status, detail), path = _conclusion(tally, generated.error or edge.error), None
    targets = {label: score for (claim, label), score in results.best_targets.items() if claim == conj.name}
    return SearchRecord(conj.name, conj.file, conj.statement, status, tally.examples, tally.passed,
                        tally.failed, tally.inconclusive, tally.rejected, tally.first_failure_at, path,
                        detail, dict(tally.reasons), targets, seed, max_examples, round(seconds, 3))


# --- several conjectures, several processes ------------------------------------------------------

_worker_progress: Progress | None = None
_worker_busy = False  # a task is running in this worker (SIGTERM then unwinds it)
#: Seconds the workers get to exit after SIGTERM before they are killed.
_STOP_GRACE = 5.0


def _worker_terminated(signum: int, frame: object) -> None:
    """A worker's SIGTERM: unwind the running task (its cleanups run: a temporary archive file is
    removed), or exit at once when idle."""
    if _worker_busy:
        raise KeyboardInterrupt
    os._exit(1)


def _init_worker(queue: Any) -> None:
    """Pool initializer: progress goes to the parent through ``queue`` (None: no progress); Ctrl-C
    is left to the parent and SIGTERM unwinds (see the module docstring)."""
    global _worker_progress
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_terminated)
    if queue is not None:
        _worker_progress = _Throttled(lambda name, n: queue.put((name, n)))


def _search_in_worker(file: str, name: str, max_examples: int, seed: int) -> SearchRecord:
    """Pool task: import the conjecture file here and search the one named ``name``. Stopped by
    SIGTERM, the worker exits once the task has unwound: the executor would otherwise hand it the
    next task."""
    global _worker_busy
    _worker_busy = True
    try:
        (conj,) = select(file, name)
        return run_conjecture(conj, max_examples, seed, _worker_progress)
    except KeyboardInterrupt:
        os._exit(1)
    finally:
        _worker_busy = False


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process for the block (main thread only, where handlers are set):
    processes started meanwhile ignore it from their first instruction, as Python keeps an
    ignored SIGINT ignored, so that a Ctrl-C while a worker still imports prints no traceback
    there. (The worker initializer sets it again, for workers started otherwise.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_workers() -> None:
    """SIGTERM every worker of this process, SIGKILL those left after ``_STOP_GRACE``, and reap."""
    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(_STOP_GRACE)
        if worker.is_alive():
            worker.kill()
            worker.join()


class _Throttled:
    """Forward progress at most every ``interval`` seconds per conjecture (terminals are slow)."""

    def __init__(self, send: Progress, interval: float = 0.2) -> None:
        self.send, self.interval = send, interval
        self.last: dict[str, float] = {}

    def __call__(self, name: str, n: int) -> None:
        now = time.monotonic()
        if now - self.last.get(name, 0.0) >= self.interval:
            self.last[name] = now
            self.send(name, n)


class _ProgressLine:
    """``search: name 120 | other 35`` redrawn in place on stderr."""

    def __init__(self, names: Sequence[str]) -> None:
        self.counts = dict.fromkeys(names, 0)

    def __call__(self, name: str, n: int) -> None:
        self.counts[name] = n
        width = shutil.get_terminal_size().columns - 1
        text = "search: " + " | ".join(f"{k} {v}" for k, v in self.counts.items())
        sys.stderr.write("\r" + text[:width].ljust(width))
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def search(conjectures: Sequence[Conjecture], max_examples: int = DEFAULT_MAX_EXAMPLES,
           seed: int | None = None, jobs: int = 1, progress: bool | None = None) -> SearchReport:
    """Search every conjecture, ``jobs`` at a time (in this process when one job suffices).

    ``seed`` (default: drawn at random, and recorded) seeds every conjecture's search.
    ``progress`` (default: when stderr is a terminal) shows examples tried per conjecture.
    """
    seed = secrets.randbits(32) if seed is None else seed
    show = sys.stderr.isatty() if progress is None else progress
    line = _ProgressLine([c.name for c in conjectures]) if show else None
    workers = min(jobs, len(conjectures))
    try:
        if workers <= 1:
            tick = _Throttled(line) if line else None
            records = [run_conjecture(c, max_examples, seed, tick) for c in conjectures]
        else:
            records = _search_pool(conjectures, max_examples, seed, workers, line)
    finally:
        if line:
            line.close()
    return SearchReport(records)


def _search_pool(conjectures: Sequence[Conjecture], max_examples: int, seed: int, workers: int,
                 line: _ProgressLine | None) -> list[SearchRecord]:
    """Run the searches in ``workers`` spawned processes, relaying progress to ``line``."""
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads (numba, BLAS)
    queue = ctx.Queue() if line else None

    def drain() -> None:
        while queue is not None and line is not None:
            try:
                line(*queue.get_nowait())
            except Empty:
                return

    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(queue,)) as pool:
        with _sigint_ignored():  # the workers start in submit() and inherit it (module docstring)
            futures = [pool.submit(_search_in_worker, c.file, c.name, max_examples, seed) for c in conjectures]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                show = line
                for future in done if show is not None else ():
                    if show is not None and future.exception() is None:  # the final count, which
                        show(future.result().conjecture, future.result().examples)  # throttling may skip
        except BaseException:  # an interrupt: no worker may outlive the parent
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_workers()
            raise
        return [f.result() for f in futures]
