"""Errors raised for input that ntpverify refuses to interpret.

An :class:`InputError` always names where the problem is: a key of the input (``field``), the row
of that key when there is one (``row``), and what is wrong (``detail``). Problems that belong to no
key use a pseudo-field in angle brackets: ``<file>`` (missing, unreadable, empty or oversized
file) and ``<json>`` (text that is not a JSON document, or a document that is not an object).
"""

from __future__ import annotations


class InputError(ValueError):
    """Malformed input; ``str(e)`` is one line ``field[row]: detail`` (``[row]`` only if known)."""

    def __init__(self, field: str, detail: str, row: int | None = None) -> None:
        # One line always: the CLI prints exactly one line per failure.
        self.field = field
        self.row = row
        self.detail = " ".join(detail.split())
        # args mirror the constructor so the error survives pickling (parallel workers).
        super().__init__(field, self.detail, row)

    def __str__(self) -> str:
        where = self.field if self.row is None else f"{self.field}[{self.row}]"
        return f"{where}: {self.detail}"
