"""Three outcomes, never two: every limit object carries a status and the reason for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["ok", "infeasible", "inconclusive", "undefined"]


@dataclass(frozen=True)
class Status:
    """The outcome of computing one object.

    ``ok``: computed and verified. ``infeasible``: the defining system has no solution, and a
    certificate proving it was verified. ``inconclusive``: neither could be verified (``reason``
    says why). ``undefined``: the object does not exist by definition (W^mm when every context
    has full support, theory.md §5), which is an answer, not a failure.
    """

    state: State
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "reason": self.reason}


class Inconclusive(Exception):
    """Raised where a caller asked for a value that could not be established (``reason``)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} is inconclusive: {reason}")
        self.what = what
        self.reason = reason
