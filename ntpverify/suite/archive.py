"""The exact archive of counterexamples (format ``ntpverify.counterexample/2``).

One file per (claim or conjecture, shrunk instance, parameters), at
``<root>/<name>/<hash>.json`` where ``hash`` is the SHA-256 of the canonical JSON of exactly
that triple: the path is known before the file exists (failure messages print it), the same
counterexample found twice lands in the same file, and different ones never collide. ``<name>`` is
the claim id or conjecture name made safe as one directory name (:func:`safe_name`): whatever a
conjecture is called (``..``, ``a/b``, an absolute path, NUL, 10 000 characters), its cases stay
inside the root. Files are written to a temporary name in the same directory and renamed (atomic
on POSIX), so concurrent pytest-xdist workers or search jobs never see or leave a half-written file.

Format ``/2`` adds ``content_sha256``, the SHA-256 of the canonical JSON of the whole document
without that key: the replay block (``replay.file``, the code a conjecture case names) included,
which the file name's hash does not cover. :func:`load_checked` says whether it matches, so that
an edited file is told apart. Files of format ``/1`` (no such hash) are still read.

During a Hypothesis run every failing example is *noted* (:func:`note_failure`) but only the last
one is written: Hypothesis replays the minimal (shrunk) failing example last, so the pytest hook
or the search runner calls :func:`write_noted` once the run has failed.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import re
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ntpverify.core import exactjson
from ntpverify.core.errors import InputError
from ntpverify.core.instance import MAX_FILE_BYTES, Instance

if TYPE_CHECKING:
    from ntpverify.suite.verdict import Verdict

FORMAT = "ntpverify.counterexample/2"
#: Formats :func:`load` reads: the current one and ``/1``, which had no content hash.
FORMATS = (FORMAT, "ntpverify.counterexample/1")
#: Longest directory name given to a claim or conjecture (file systems allow 255 bytes).
MAX_NAME = 100
REPLAY_KINDS = ("claim", "conjecture")
ContentCheck = Literal["ok", "mismatch", "absent"]
ENV_ROOT = "NTPVERIFY_ARCHIVE_DIR"
DEFAULT_ROOT = Path("reports") / "counterexamples"


def root() -> Path:
    """Archive root: ``$NTPVERIFY_ARCHIVE_DIR`` or ``reports/counterexamples`` (relative to cwd)."""
    return Path(os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def safe_name(name: str) -> str:
    """``name`` as one directory name inside the root: ASCII letters, digits and ``-_.`` are kept,
    any other character (a separator, NUL, a space) becomes ``_``, leading dots are dropped (never
    ``.`` or ``..``, nor hidden), and it is at most MAX_NAME characters long. A name that had to
    change ends with 8 hex digits of its SHA-256, so that two names never share a directory."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")
    if cleaned == name and 0 < len(name) <= MAX_NAME:
        return name
    tag = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned[:MAX_NAME - len(tag) - 1] or '_'}-{tag}"


def identity_hash(claim: str, inst: Instance, params: dict[str, Any] | None = None) -> str:
    """SHA-256 of the canonical JSON of ``(claim, instance, params)``."""
    key = {"claim": claim, "instance": inst.to_dict(), "params": params or {}}
    return hashlib.sha256(exactjson.canonical(key).encode()).hexdigest()


def path_for(claim: str, inst: Instance, params: dict[str, Any] | None = None) -> Path:
    """Where the counterexample of ``claim`` on ``inst`` is (or will be) archived."""
    return root() / safe_name(claim) / f"{identity_hash(claim, inst, params)[:20]}.json"


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


def content_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``doc`` (parsed JSON) without its ``content_sha256``."""
    body = {key: value for key, value in doc.items() if key != "content_sha256"}
    return hashlib.sha256(exactjson.canonical(body).encode()).hexdigest()


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
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "hypothesis": hypothesis or {},
        "replay": {**(replay or {"kind": "claim"}), "command": f"ntpverify replay {path}"},
    }
    # hashed as it will be read back (JSON types, exact floats), so that load_checked agrees
    doc["content_sha256"] = content_hash(exactjson.loads(exactjson.dumps(doc)))
    path.parent.mkdir(parents=True, exist_ok=True)
    exactjson.write(path, doc)
    return path


def read_regular(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of the regular file ``path`` (at most MAX_FILE_BYTES), else an InputError
    ``<file>``. Opened without blocking and checked with fstat before any read: a FIFO would
    block forever and a device (``/dev/zero``) never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise InputError("<file>", f"cannot be read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("<file>", "is not a regular file (a FIFO, a device or a directory)")
        if info.st_size > MAX_FILE_BYTES:
            raise InputError("<file>", f"is larger than the cap of {MAX_FILE_BYTES} bytes")
        raw = f.read(MAX_FILE_BYTES + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("<file>", f"is not UTF-8 text (bad byte at offset {e.start})") from None


def _check_replay(replay: Any) -> dict[str, Any]:
    """The replay block, checked: an object with a known ``kind``; a conjecture names its file."""
    if not isinstance(replay, dict):
        raise InputError("replay", "not an object")
    kind = replay.setdefault("kind", "claim")
    if kind not in REPLAY_KINDS:
        raise InputError("replay", f"unknown kind {kind!r}, expected 'claim' or 'conjecture'")
    for key in ("file", "name") if kind == "conjecture" else ():
        if not isinstance(replay.get(key), str) or not replay[key]:
            raise InputError("replay", f"{key!r} missing or not a non-empty string")
    return replay


def load_checked(path: str | os.PathLike[str]) -> tuple[dict[str, Any], ContentCheck]:
    """Read a counterexample file, checking its format and fields (an InputError names the
    field), with its instance rebuilt exactly; and whether its ``content_sha256`` matches
    (``"absent"`` for format ``/1``)."""
    doc = exactjson.loads(read_regular(path))
    if not isinstance(doc, dict):
        raise InputError("<json>", "expected a JSON object at the top level")
    if doc.get("format") not in FORMATS:
        raise InputError("format", f"expected one of {', '.join(map(repr, FORMATS))}, got {doc.get('format')!r}")
    check: ContentCheck = "absent"
    if doc["format"] == FORMAT:
        claimed = doc.get("content_sha256")
        if not isinstance(claimed, str):
            raise InputError("content_sha256", "missing or not a string")
        check = "ok" if claimed == content_hash(doc) else "mismatch"
    for key in ("claim", "instance", "params"):
        if not isinstance(doc.get(key), dict):
            raise InputError(key, "missing or not an object")
    if not isinstance(doc["claim"].get("id"), str):
        raise InputError("claim", "'id' missing or not a string")
    doc["replay"] = _check_replay(doc.get("replay", {}))
    doc["instance"] = Instance.from_dict(doc["instance"])
    return doc, check


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a counterexample file (:func:`load_checked` without the content check)."""
    return load_checked(path)[0]
