"""The exact archive of counterexamples (format ``ntpverify.counterexample/1``).

One file per (claim or conjecture, shrunk instance, parameters), at
``<root>/<claim>/<hash>.json`` where ``hash`` is the SHA-256 of the canonical JSON of exactly
that triple: the path is known before the file exists (failure messages print it), the same
counterexample found twice lands in the same file, and different ones never collide. Files are
written to a temporary name in the same directory and renamed (atomic on POSIX), so concurrent
pytest-xdist workers or search jobs never see or leave a half-written file.

During a Hypothesis run every failing example is *noted* (:func:`note_failure`) but only the last
one is written: Hypothesis replays the minimal (shrunk) failing example last, so the pytest hook
or the search runner calls :func:`write_noted` once the run has failed.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ntpverify.core import exactjson
from ntpverify.core.instance import Instance

if TYPE_CHECKING:
    from ntpverify.suite.verdict import Verdict

FORMAT = "ntpverify.counterexample/1"
ENV_ROOT = "NTPVERIFY_ARCHIVE_DIR"
DEFAULT_ROOT = Path("reports") / "counterexamples"


def root() -> Path:
    """Archive root: ``$NTPVERIFY_ARCHIVE_DIR`` or ``reports/counterexamples`` (relative to cwd)."""
    return Path(os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def identity_hash(claim: str, inst: Instance, params: dict[str, Any] | None = None) -> str:
    """SHA-256 of the canonical JSON of ``(claim, instance, params)``."""
    key = {"claim": claim, "instance": inst.to_dict(), "params": params or {}}
    return hashlib.sha256(exactjson.canonical(key).encode()).hexdigest()


def path_for(claim: str, inst: Instance, params: dict[str, Any] | None = None) -> Path:
    """Where the counterexample of ``claim`` on ``inst`` is (or will be) archived."""
    return root() / _safe(claim) / f"{identity_hash(claim, inst, params)[:20]}.json"


@functools.cache
def git_revision() -> str | None:
    """The current git revision of the working tree, if there is one (asked once per process)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class Noted:
    """The last failure seen in this process (the shrunk one, once Hypothesis has finished)."""

    verdict: Verdict
    inst: Instance
    params: dict[str, Any] = field(default_factory=dict)


_last: Noted | None = None


def note_failure(verdict: Verdict, inst: Instance, params: dict[str, Any] | None = None) -> None:
    global _last
    _last = Noted(verdict, inst, dict(params or {}))


def take_noted() -> Noted | None:
    """Return and clear the last noted failure."""
    global _last
    noted, _last = _last, None
    return noted


def write(claim: dict[str, Any], verdict: Verdict, inst: Instance, params: dict[str, Any] | None = None,
          replay: dict[str, Any] | None = None, hypothesis: dict[str, Any] | None = None) -> Path:
    """Write one counterexample file atomically and return its path.

    ``claim`` holds ``id``, ``kind``, ``statement`` and ``tolerance``; ``replay`` says how to re-run
    it (``kind`` "claim" or "conjecture", and for conjectures the file and name). A counterexample
    archived before (same claim, instance and params) keeps its first file: the date, seed and
    replay blob of its discovery.
    """
    from ntpverify._version import __version__

    path = path_for(claim["id"], inst, params)
    if path.exists():
        return path
    doc = {
        "format": FORMAT,
        "claim": claim,
        "instance": inst.to_dict(),
        "params": params or {},
        "observed": exactjson.number_or_text(verdict.observed),
        "bound": exactjson.number_or_text(verdict.bound),
        "source": verdict.source,
        "detail": verdict.detail,
        "package_version": __version__,
        "git_revision": git_revision(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hypothesis": hypothesis or {},
        "replay": {**(replay or {"kind": "claim"}), "command": f"ntpverify replay {path}"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    exactjson.write(path, doc)
    return path


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a counterexample file, checking its format; the instance is rebuilt exactly."""
    from ntpverify.core.errors import InputError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError("<file>", f"{path}: cannot be read: {e}") from None
    doc = exactjson.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError("format", f"expected {FORMAT!r}")
    for key in ("claim", "instance", "params"):
        if not isinstance(doc.get(key), dict):
            raise InputError(key, "missing or not an object")
    doc["instance"] = Instance.from_dict(doc["instance"])
    return doc
