"""The ``ntpverify`` command line.

Each subcommand is one function registered with :func:`command`; it receives the parsed arguments
and returns a result object with ``to_dict()`` (printed as exact JSON with ``--json``) and
``summary()`` (printed otherwise). Output is written only once the whole result exists, so a
failure never leaves half an answer on stdout.

Exit status: 0 success; 2 bad input or usage, with one line ``ntpverify: error: ...`` on stderr
(a diverging GD run included); 1 internal failure, also one line, or when the result says so
through an ``exit_status`` attribute (a refuted conjecture, a replayed case that still fails, a
failing regression); 130 when interrupted by Ctrl-C or SIGTERM, with the line
``ntpverify: interrupted``: SIGTERM is turned into KeyboardInterrupt so that both unwind the same
way, through every cleanup (temporary files and directories, child processes).
The mathematics is imported inside the handlers so that ``--help`` and input errors stay fast.

Only ``search`` (its PATH arguments) and ``replay`` (``--conjecture-file``, or the file an archive
names with ``--trust-file``) import user code; input files are data and are only read, and only if
they are regular files (a FIFO or a device is refused rather than read).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ntpverify.core import exactjson
from ntpverify.core.errors import InputError
from ntpverify.core.instance import Instance
from ntpverify.optim.gd import MAX_STEPS, Divergence

PROG = "ntpverify"
#: The exit status of an interrupted command (128 + SIGINT, the shell's convention).
INTERRUPTED = 130


class Result(Protocol):
    """What a subcommand returns."""

    def to_dict(self) -> dict[str, Any]: ...

    def summary(self) -> str: ...


Argument = tuple[tuple[str, ...], dict[str, Any]]


@dataclass(frozen=True)
class Command:
    """A registered subcommand: its arguments and the function that runs it."""

    name: str
    help: str
    arguments: tuple[Argument, ...]
    run: Callable[[argparse.Namespace], Result]


COMMANDS: dict[str, Command] = {}


def argument(*flags: str, **options: Any) -> Argument:
    """An ``add_argument(*flags, **options)`` call, recorded for later."""
    return flags, options


def command(name: str, help: str, *arguments: Argument) -> Callable:
    """Register the decorated function as subcommand ``name`` taking ``arguments``."""

    def register(run: Callable[[argparse.Namespace], Result]) -> Callable:
        COMMANDS[name] = Command(name, help, arguments, run)
        return run

    return register


class BadInput(Exception):
    """Bad input or usage found after parsing: exit 2 with this message."""


# --- argument types -------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def step_count(text: str) -> int:
    """An integer in ``[1, MAX_STEPS]``: the cap keeps a run's time bounded (optim/gd.py)."""
    value = positive_int(text)
    if value > MAX_STEPS:
        raise argparse.ArgumentTypeError(f"{value} exceeds the cap of {MAX_STEPS} steps")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def increasing_ints(text: str) -> list[int]:
    """A comma-separated, strictly increasing list of positive integers, e.g. ``10,100,1000``."""
    values = [positive_int(part.strip()) for part in text.split(",")]
    if any(a >= b for a, b in zip(values, values[1:], strict=False)):
        raise argparse.ArgumentTypeError(f"expected strictly increasing integers, got {text!r}")
    return values


FILE = argument("file", metavar="FILE", help="an ntpverify.instance/1 JSON file")
JSON = argument("--json", action="store_true", help="print exact JSON (see formats.md)")


def regular_file(path: str) -> None:
    """Refuse a path that exists but is no regular file, before anything opens it: reading a FIFO
    blocks until someone writes, and a device such as /dev/zero never ends. (A missing or
    unreadable file is left to the reader, which says so in its own words.)"""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
        raise BadInput(f"{path}: <file>: is {kind}, not a regular file")


def read_text(path: str, what: str) -> str:
    """A UTF-8 text file (a regular one); unreadable or undecodable is BadInput naming ``what``."""
    regular_file(path)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: {what}: cannot be read as UTF-8 text: {e}") from None


def load_instance(path: str) -> Instance:
    """The instance in ``path``; an InputError becomes BadInput prefixed with the path."""
    regular_file(path)
    try:
        return Instance.load(path)
    except InputError as e:
        raise BadInput(f"{path}: {e}") from None


# --- subcommands ----------------------------------------------------------------------------------


@command("solve", "decide compatibility and separability; compute W* and W^mm", FILE, JSON)
def solve_command(args: argparse.Namespace) -> Result:
    """``ntpverify solve FILE``: the instance's entropy, F, W⋆ and W^mm with certificates."""
    instance = load_instance(args.file)
    from ntpverify.core.solution import solve

    return solve(instance)


@command(
    "gd",
    "run gradient descent on the cross-entropy from W_0 = 0",
    FILE,
    argument("--steps", type=step_count, required=True, metavar="N",
             help=f"number of steps, at most {MAX_STEPS}"),
    argument("--eta", type=positive_float, metavar="X",
             help="step size (default 1/λ_max(Σ_j π_j h_j h_jᵀ))"),
    argument("--checkpoints", type=increasing_ints, metavar="K1,K2,...",
             help="steps to report, strictly increasing, each ≤ N"),
    JSON,
)  # fmt: skip
def gd_command(args: argparse.Namespace) -> Result:
    """``ntpverify gd FILE --steps N``: GD iterates and their distances to the limits."""
    if args.checkpoints and (last := args.checkpoints[-1]) > args.steps:
        raise BadInput(f"argument --checkpoints: {last} exceeds --steps {args.steps}")
    instance = load_instance(args.file)
    from ntpverify.optim.gd import gd

    try:
        return gd(instance, args.steps, eta=args.eta, checkpoints=args.checkpoints)
    except Divergence as e:
        raise BadInput(f"{args.file}: {e}; try a smaller --eta") from None


@command(
    "optimize",
    "run an optimizer (gd, ngd, heavy-ball, adam, sign-gd, sgd) on the cross-entropy from W_0 = 0",
    FILE,
    argument("--optimizer", required=True, metavar="NAME",
             choices=("gd", "ngd", "heavy-ball", "adam", "sign-gd", "sgd"),
             help="the optimizer (ntpverify.optim.optimizers)"),
    argument("--param", action="append", default=[], metavar="KEY=VALUE",
             help="repeatable: eta, beta, lr, beta1, beta2, eps, batch, over=contexts|tokens, seed"),
    argument("--steps", type=step_count, required=True, metavar="N", help=f"number of steps, at most {MAX_STEPS}"),
    argument("--checkpoints", type=increasing_ints, metavar="K1,K2,...",
             help="steps to report, strictly increasing, each ≤ N"),
    JSON,
)  # fmt: skip
def optimize_command(args: argparse.Namespace) -> Result:
    """``ntpverify optimize FILE --optimizer NAME --param K=V … --steps N``: iterates, limit
    metrics, ℓ∞ margins."""
    if args.checkpoints and (last := args.checkpoints[-1]) > args.steps:
        raise BadInput(f"argument --checkpoints: {last} exceeds --steps {args.steps}")
    from ntpverify.optim.optimizers import from_assignments, optimize

    try:
        optimizer = from_assignments(args.optimizer, args.param)
    except ValueError as e:
        raise BadInput(f"argument --param: {e}") from None
    instance = load_instance(args.file)
    try:
        return optimize(instance, args.steps, optimizer, checkpoints=args.checkpoints)
    except Divergence as e:
        raise BadInput(f"{args.file}: {e}; try a smaller step") from None


@command(
    "corpus",
    "a text to an NTP instance and its answers: is it compatible, separable at dimension d, W* and W^mm",
    argument("text", nargs="?", metavar="TEXT", help="a UTF-8 text file, or - for stdin (or use --builtin)"),
    argument("--builtin", metavar="NAME", help="a corpus shipped with Python (see --list)"),
    argument("--list", action="store_true", help="list the built-in corpora and exit"),
    argument("--sequences", default="lines", metavar="HOW",
             help="what one sequence is: lines (default), paragraphs or file; empty ones are skipped"),
    argument("--tokenize", default="whitespace", metavar="HOW",
             help="whitespace (default: str.split()), words (lowercased runs of letters, digits and "
                  "apostrophes) or chars"),
    argument("--vocab", type=positive_int, metavar="N",
             help="keep the N most frequent tokens (ties by first appearance), the rest become <unk> "
                  "(id N); default: every token"),
    argument("--window", type=positive_int, metavar="L",
             help="contexts are the L tokens before each position (positions with fewer are skipped); "
                  "default: every prefix (--all-prefixes)"),
    argument("--all-prefixes", action="store_true", help="every prefix of each sequence is a context (default)"),
    argument("--embedding", default="gaussian", metavar="KIND",
             help="gaussian (default, seeded N(0, I/d)) or one-hot (d = m)"),
    argument("--d", type=positive_int, default=64, metavar="D", help="embedding dimension (default 64)"),
    argument("--seed", type=int, default=0, metavar="S", help="embedding seed (default 0)"),
    argument("--out", metavar="FILE", help="also save the instance (sparse form where smaller)"),
    JSON,
)  # fmt: skip
def corpus_command(args: argparse.Namespace) -> Result:
    """``ntpverify corpus TEXT``: the instance of a text and its compatibility and separability."""
    from ntpverify.tools.corpus import CorpusOptions, builtin_text, corpus, list_builtins

    if args.list:
        return Text(list_builtins())
    if args.window is not None and args.all_prefixes:
        raise BadInput("argument --all-prefixes: not allowed with argument --window")
    if (args.text is None) == (args.builtin is None):
        raise BadInput("give exactly one of TEXT and --builtin NAME")
    if args.builtin is not None:
        text, source = builtin_text(args.builtin), args.builtin
    elif args.text == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        text, source = read_text(args.text, "TEXT"), args.text
    options = CorpusOptions(args.sequences, args.tokenize, args.vocab, args.window, args.embedding,
                            args.d, args.seed)
    report = corpus(text, source, options)
    if args.out is not None:
        report.instance.save(args.out)
    return report


@dataclass(frozen=True)
class Text:
    """A plain-text result (``--list``): the same lines with or without ``--json``."""

    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}

    def summary(self) -> str:
        return self.text


def random_spec(text: str) -> tuple[int, int, int]:
    """``V,m,S``: three positive integers."""
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected V,m,S, got {text!r}")
    V, m, S = (positive_int(p.strip()) for p in parts)
    return V, m, S


@command(
    "threshold",
    "the certified-separable fraction over embedding dimensions d, with Wilson intervals and d*",
    argument("source", nargs="?", metavar="SOURCE",
             help="an instance file, or a text file with --text (or use --random / --builtin)"),
    argument("--d", dest="ds", type=increasing_ints, required=True, metavar="D1,D2,...",
             help="embedding dimensions, strictly increasing"),
    argument("--seeds", type=positive_int, default=20, metavar="N", help="seeded embeddings per d (default 20)"),
    argument("--random", type=random_spec, metavar="V,m,S",
             help="random supports of at most S tokens, redrawn per seed, instead of SOURCE"),
    argument("--text", action="store_true", help="SOURCE is a text, read with the corpus defaults"),
    argument("--builtin", metavar="NAME", help="a built-in corpus (ntpverify corpus --list) as SOURCE"),
    argument("--window", type=positive_int, metavar="L", help="with a text: the corpus --window"),
    argument("--vocab", type=positive_int, metavar="N", help="with a text: the corpus --vocab"),
    argument("--jobs", type=positive_int, default=1, metavar="K", help="processes (default 1)"),
    argument("--plot", metavar="FILE", help="write the curve as a PNG figure"),
    JSON,
)  # fmt: skip
def threshold_command(args: argparse.Namespace) -> Result:
    """``ntpverify threshold SOURCE --d D1,D2,… --seeds N``: from which d on is it separable?"""
    from ntpverify.tools.threshold import threshold

    given = sum(x is not None and x is not False for x in (args.source, args.random, args.builtin))
    if given != 1:
        raise BadInput("give exactly one of SOURCE, --random V,m,S and --builtin NAME")
    if args.random is not None:
        return threshold(None, args.ds, args.seeds, args.jobs, random=args.random,
                         source=f"random V,m,S = {args.random}", plot=args.plot)
    if args.builtin is not None or args.text:
        from ntpverify.tools.corpus import CorpusOptions, builtin_text, corpus_instance

        if args.builtin is not None:
            text, source = builtin_text(args.builtin), args.builtin
        else:
            text, source = read_text(args.source, "SOURCE"), args.source
        template, _ = corpus_instance(text, CorpusOptions(vocab=args.vocab, window=args.window, d=1), source)
    else:
        template, source = load_instance(args.source), args.source
    return threshold(template, args.ds, args.seeds, args.jobs, source=source, plot=args.plot)


@command(
    "search",
    "search conjectures for counterexamples (shrunk, archived exactly); exit 1 if one is refuted; "
    "imports (runs) the Python files given",
    argument("specs", nargs="+", metavar="PATH[::NAME]",
             help="a file of @ntpverify.conjecture functions, or ::NAME for one of them (imported)"),
    argument("--max-examples", type=positive_int, metavar="N",
             help="examples to generate per conjecture (default 200)"),
    argument("--seed", type=int, metavar="S", help="seed the search (default: random, and reported)"),
    argument("--jobs", type=positive_int, default=1, metavar="K", help="processes to spread conjectures over"),
    JSON,
)  # fmt: skip
def search_command(args: argparse.Namespace) -> Result:
    """``ntpverify search PATH[::NAME]``: refuted / survived / inconclusive per conjecture."""
    from ntpverify.tools.conjecture import select, split_spec
    from ntpverify.tools.search import DEFAULT_MAX_EXAMPLES, search

    conjectures = [c for spec in args.specs for c in select(*split_spec(spec))]
    return search(conjectures, args.max_examples or DEFAULT_MAX_EXAMPLES, args.seed, args.jobs)


@command(
    "replay",
    "re-run archived counterexamples on their exact instances; exit 1 if any still fails; "
    "imports conjecture code only from --conjecture-file, or with --trust-file",
    argument("files", nargs="+", metavar="FILE", help="ntpverify.counterexample files (data, only read)"),
    argument("--conjecture-file", metavar="PATH",
             help="import the code of conjecture cases from PATH (their conjecture name is looked up there)"),
    argument("--trust-file", action="store_true",
             help="import the conjecture file each case names (replay.file), if its content hash "
                  "matches: only for archives you trust"),
    JSON,
)  # fmt: skip
def replay_command(args: argparse.Namespace) -> Result:
    """``ntpverify replay FILE…``: does each archived case still fail?"""
    if args.conjecture_file is not None and args.trust_file:
        raise BadInput("argument --trust-file: not allowed with argument --conjecture-file")
    for path in args.files:
        regular_file(path)
    from ntpverify.tools.replay import replay

    return replay(args.files, args.conjecture_file, args.trust_file)


@command(
    "verify",
    "the main job: run the theorem regression (pytest properties/) and write reports/latest/",
    argument("--profile", metavar="P", help="Hypothesis profile: ci, dev or thorough (default ci)"),
    argument("--jobs", type=positive_int, default=2, metavar="K", help="pytest-xdist workers (default 2)"),
    argument("--seed", type=int, metavar="S", help="Hypothesis seed (default: random, and reported)"),
    argument("--out", default="reports/latest", metavar="DIR",
             help="report directory (default reports/latest); replaced only if verify wrote it "
                  "(marker file .ntpverify-report) or it is empty"),
    JSON,
)  # fmt: skip
def verify_command(args: argparse.Namespace) -> Result:
    """``ntpverify verify``: summary.md, results.json and figures; exit 1 if the regression fails."""
    from ntpverify.tools.verify import DEFAULT_PROFILE, PROFILES, verify

    profile = args.profile or DEFAULT_PROFILE
    if profile not in PROFILES:
        raise BadInput(f"argument --profile: unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return verify(profile=profile, jobs=args.jobs, seed=args.seed, out=args.out)


@command(
    "paper",
    "the paper's experiments (App. A.1, A.2, figure 5, a real corpus) as a report section: "
    "paper.md, PNG figures and paper.json in DIR",
    argument("--out", default="reports/paper", metavar="DIR", help="output directory (default reports/paper)"),
    argument("--quick", action="store_true", help="small runs (seconds, for tests) instead of the full ones"),
    argument("--jobs", type=positive_int, default=2, metavar="K",
             help="processes for the corpus separability curves (default 2)"),
    JSON,
)  # fmt: skip
def paper_command(args: argparse.Namespace) -> Result:
    """``ntpverify paper``: write the paper section and print what it shows."""
    from ntpverify.tools.paper import paper

    return paper(args.out, quick=args.quick, jobs=args.jobs)


# --- plumbing -------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> Parser:
    """The parser with one sub-parser per registered command."""
    parser = Parser(prog=PROG, description="Verify the implicit bias of next-token prediction.",
                    epilog="User code: only 'search' (its PATH arguments) and 'replay' (with "
                           "--conjecture-file or --trust-file) import Python files; every other "
                           "input is data, only read. Interrupted (Ctrl-C, SIGTERM): exit status 130.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        for flags, options in cmd.arguments:
            sub.add_argument(*flags, **options)
        sub.set_defaults(run=cmd.run)
    return parser


def render(result: Result, as_json: bool) -> str:
    """The text to print for ``result``, newline-terminated."""
    text = exactjson.dumps(result.to_dict(), indent=1) if as_json else result.summary()
    return text if text.endswith("\n") else text + "\n"


def fail(message: str) -> None:
    """Print one error line on stderr."""
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM handler: unwind as Ctrl-C does, through every cleanup."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input/usage, 1 internal failure or
    the result's ``exit_status``, 130 interrupted)."""
    # signal handlers can only be set from the main thread (elsewhere, SIGTERM keeps its own)
    handle = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if handle else None
    try:
        return _run(argv)
    except KeyboardInterrupt:
        fail("interrupted")
        return INTERRUPTED
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: Sequence[str] | None) -> int:
    """:func:`main` without the signal handling."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and usage errors: return its status
        return 0 if exit_.code is None else int(exit_.code)
    try:
        result = args.run(args)
        output = render(result, getattr(args, "json", False))
    except (BadInput, InputError, Divergence) as e:
        fail(f"error: {e}")
        return 2
    except Exception as e:  # noqa: BLE001 - any other failure is ours, reported in one line
        fail(f"internal error: {type(e).__name__}: {e}")
        return 1
    sys.stdout.write(output)
    return getattr(result, "exit_status", 0)


if __name__ == "__main__":
    sys.exit(main())
