"""An NTP instance (theory.md §1): ``m`` contexts, each with an embedding ``h_j ∈ R^d``, a weight
``π_j > 0`` and a next-token distribution ``p_j`` over ``V`` tokens; file format
``ntpverify.instance/1`` (formats.md), validated exactly as written there, nothing guessed.

The distributions are stored sparsely (CSR: the supports and their probabilities, memory
O(nnz), ``nnz = Σ_j |S_j|``); the dense m×V views ``next_token_probs`` and ``support_mask`` are
built on first use. Sparse input (the sparse form, :meth:`Instance.from_sequences`) is validated
on the sparse data and never makes an m×V array.

Resource caps, checked before any large allocation (an :class:`InputError` beyond them):

- ``m·d`` (the embeddings) and ``V·d`` (the decoder ``W``, ``V×d``, which every solver and GD
  run allocates, often many times; a file of a few kilobytes can declare a huge ``V·d``):
  ``MAX_ARRAY_ENTRIES = 2²⁷`` entries (1 GiB of float64 each), so that a corpus-scale instance
  (issue 10: m = 10⁵ contexts at d = 128 is 1.3·10⁷ entries; one-hot m = 20,000 at d = 2048 is
  4.1·10⁷) fits while a declared size beyond the machine is refused;
- ``m·V`` for dense input, and for any dense view (an instance beyond it exists in sparse form
  only: its dense views raise an InputError saying so): ``MAX_ENTRIES = 10⁷``;
- ``nnz`` for sparse input (checked once the row lengths are read, before the entries):
  ``MAX_ENTRIES``.

``MAX_FILE_BYTES = 64 MiB`` for a file, checked before it is read or parsed (parsed JSON costs
several times its size in memory).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from ntpverify.core import exactjson
from ntpverify.core.embeddings import Context, Embedding, embed_contexts
from ntpverify.core.errors import InputError

FORMAT = "ntpverify.instance/1"
MAX_ENTRIES = 10_000_000
MAX_ARRAY_ENTRIES = 1 << 27
MAX_FILE_BYTES = 64 * 2**20
SUM_TOLERANCE = 1e-9
_ARRAY_KEYS = ("embeddings", "weights", "next_token_probs")
_KNOWN_KEYS = frozenset({"format", "name", *_ARRAY_KEYS})


# --- validation of array-valued fields ------------------------------------------------------------


def _kind(value: Any) -> str:
    """How ``value`` reads as JSON, for error messages ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    if isinstance(value, (str, bytes)):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if _is_list(value):
        return "a list"
    if isinstance(value, (int, float, np.number)):
        return "a number"
    return f"a {type(value).__name__}"


def _is_list(value: Any) -> bool:
    """A JSON array: a list, tuple or numpy array of dimension ≥ 1 (strings do not count)."""
    if isinstance(value, np.ndarray):
        return value.ndim >= 1
    return isinstance(value, (list, tuple))


def _is_number(value: Any) -> bool:
    """A real number: int or float, Python or numpy; booleans are not numbers here."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    """An int (Python or numpy), not a boolean."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _entry_error(field: str, row: int | None, k: int, detail: str) -> InputError:
    """Error for entry ``k``: of row ``row`` of a matrix, or of a vector when ``row`` is None."""
    if row is None:
        return InputError(field, detail, row=k)
    return InputError(field, f"entry {k} {detail}", row=row)


def _length(value: Any, field: str, row: int | None, what: str) -> int:
    """``len(value)`` after checking that ``value`` is a list (``what`` says of what)."""
    if not _is_list(value):
        raise InputError(field, f"expected {what}, got {_kind(value)}", row)
    return len(value)


def _matrix_shape(value: Any, field: str) -> tuple[int, int]:
    """``(rows, columns)`` of a list of equal-length lists; the first ragged row is named."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return value.shape
    rows = _length(value, field, None, "a list of rows")
    columns = [_length(row, field, i, "a list of numbers") for i, row in enumerate(value)]
    for i, n in enumerate(columns):
        if n != columns[0]:
            raise InputError(field, f"row has {n} entries, expected {columns[0]} like row 0", i)
    return rows, columns[0] if columns else 0


def _float_row(values: Any, field: str, row: int | None) -> np.ndarray:
    """``values`` as a float64 copy; each entry must be a real number that fits in float64."""
    if isinstance(values, np.ndarray):
        checked = values.ndim == 1 and values.dtype.kind in "iuf"
    else:  # a list of Python floats and ints needs no entry-by-entry look (corpus-sized files)
        checked = _is_list(values) and set(map(type, values)) <= {int, float}
    if not checked:
        for k, value in enumerate(values):
            if not _is_number(value):
                raise _entry_error(field, row, k, f"is {_kind(value)}, expected a number")
    try:
        out = np.array(values, dtype=np.float64)
    except OverflowError:
        raise InputError(field, "an entry is too large for float64", row) from None
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        k = int(bad[0])
        raise _entry_error(field, row, k, f"is {float(out[k])}, expected a finite number")
    return out


def _float_matrix(value: Any, field: str, shape: tuple[int, int]) -> np.ndarray:
    """A validated float64 copy of a matrix whose shape :func:`_matrix_shape` established."""
    out = np.empty(shape, dtype=np.float64)
    for i, row in enumerate(value):
        out[i] = _float_row(row, field, i)
    return out


def _embeddings_shape(embeddings: Any) -> tuple[int, int]:
    """``(m, d)`` of the embeddings, with ``m ≥ 1`` and ``d ≥ 1``."""
    m, d = _matrix_shape(embeddings, "embeddings")
    if m < 1:
        raise InputError("embeddings", "has no rows (m = 0), expected m ≥ 1")
    if d < 1:
        raise InputError("embeddings", "rows are empty (d = 0), expected d ≥ 1")
    return m, d


def _probs_width(next_token_probs: Any, m: int) -> int:
    """``V`` of the m×V next-token probabilities, with ``V ≥ 2``."""
    rows, V = _matrix_shape(next_token_probs, "next_token_probs")
    if rows != m:
        raise InputError("next_token_probs", f"has {rows} rows, expected m = {m}")
    if V < 2:
        raise InputError("next_token_probs", f"rows have {V} entries (V = {V}), expected V ≥ 2")
    return V


def _check_caps(m: int, d: int, V: int, dense: bool) -> None:
    """The resource caps: MAX_ARRAY_ENTRIES on m·d and V·d, MAX_ENTRIES on a ``dense`` m·V."""
    sizes = [("embeddings", f"m×d = {m}×{d}", m * d, MAX_ARRAY_ENTRIES)]
    if dense:
        sizes.append(("next_token_probs", f"m×V = {m}×{V}", m * V, MAX_ENTRIES))
    sizes.append(("next_token_probs", f"V×d = {V}×{d} (the decoder W)", V * d, MAX_ARRAY_ENTRIES))
    for field, what, size, cap in sizes:
        if size > cap:
            raise InputError(field, f"{what} = {size} entries exceeds the cap of {cap}")


def _check_weights(weights: np.ndarray) -> None:
    """π_j > 0 for every j and Σ_j π_j = 1 within SUM_TOLERANCE (exact sum via fsum)."""
    bad = np.flatnonzero(~(weights > 0))
    if bad.size:
        k = int(bad[0])
        raise InputError("weights", f"is {float(weights[k])!r}, expected > 0", k)
    total = math.fsum(weights.tolist())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise InputError("weights", f"sum to {total!r}, expected 1 within {SUM_TOLERANCE}")


def _check_nonnegative(probs: np.ndarray) -> None:
    """p_{j,z} ≥ 0 for every entry of the dense m×V matrix (the first negative one is named)."""
    bad = np.argwhere(probs < 0)
    if bad.size:
        j, z = (int(i) for i in bad[0])
        detail = f"entry {z} is {float(probs[j, z])!r}, expected ≥ 0"
        raise InputError("next_token_probs", detail, j)


_SPARSE_KEYS = ("V", "tokens", "probs")


class _Rows(NamedTuple):
    """The next-token probabilities in CSR form: row j is ``tokens[indptr[j]:indptr[j+1]]`` (S_j,
    strictly increasing) with ``probs`` at the same positions (each ``> 0``)."""

    V: int
    indptr: np.ndarray
    tokens: np.ndarray
    probs: np.ndarray


def _sparse_width(sparse: Mapping[Any, Any], m: int) -> int:
    """``V`` of the sparse form ``{"V", "tokens", "probs"}`` (formats.md), with ``m`` rows each."""
    for key in sparse:
        if key not in _SPARSE_KEYS:
            raise InputError(f"next_token_probs.{key}", "unknown key of the sparse form (allowed: V, tokens, probs)")
    for key in _SPARSE_KEYS:
        if key not in sparse:
            raise InputError(f"next_token_probs.{key}", "missing (the sparse form has V, tokens and probs)")
    V = sparse["V"]
    if not _is_integer(V) or V < 2:
        raise InputError("next_token_probs.V", f"is {V!r}, expected an integer V ≥ 2")
    for key in ("tokens", "probs"):
        if (rows := _length(sparse[key], f"next_token_probs.{key}", None, "a list of rows")) != m:
            raise InputError(f"next_token_probs.{key}", f"has {rows} rows, expected m = {m}")
    return int(V)


def _sparse_indptr(sparse: Mapping[Any, Any], m: int) -> np.ndarray:
    """Row pointers of the sparse form: every row nonempty, as many probabilities as tokens."""
    lengths = np.empty(m, dtype=np.intp)
    for j in range(m):
        try:
            lengths[j] = _sparse_row_length(sparse["tokens"][j], sparse["probs"][j], j)
        except InputError:
            for i in range(j):  # a row read before this one may have had a problem of its own
                _check_sparse_row(sparse["tokens"][i], sparse["probs"][i], i, int(sparse["V"]))
            raise
    indptr = np.zeros(m + 1, dtype=np.intp)
    np.cumsum(lengths, out=indptr[1:])
    return indptr


def _sparse_row_length(tokens: Any, probs: Any, j: int) -> int:
    """``|S_j|`` of row j of the sparse form: nonempty, as many probabilities as tokens."""
    n = _length(tokens, "next_token_probs.tokens", j, "a list of token ids")
    if n == 0:
        raise InputError("next_token_probs.tokens", "is empty, expected a nonempty support", j)
    if (k := _length(probs, "next_token_probs.probs", j, "a list of numbers")) != n:
        raise InputError("next_token_probs.probs", f"has {k} entries, expected {n} like its tokens", j)
    return n


def _check_sparse_row(tokens: Any, probs: Any, j: int, V: int) -> None:
    """Row j of the sparse form, entry by entry: the first problem, as an InputError naming it."""
    for i, t in enumerate(tokens):
        if not _is_integer(t) or not 0 <= t < V:
            raise _entry_error("next_token_probs.tokens", j, i, f"is {t!r}, expected a token id in 0..{V - 1}")
        if i and t <= tokens[i - 1]:
            raise _entry_error("next_token_probs.tokens", j, i, f"is {t!r}, expected > {tokens[i - 1]!r} "
                               "(strictly increasing)")
    values = _float_row(probs, "next_token_probs.probs", j)
    bad = np.flatnonzero(~(values > 0))
    if bad.size:
        raise _entry_error("next_token_probs.probs", j, int(bad[0]),
                           f"is {float(values[bad[0]])!r}, expected > 0 (the sparse form lists the support)")


def _flat(rows: Sequence[Any], kinds: frozenset[type]) -> list[Any] | None:
    """The rows concatenated, if every entry's type is in ``kinds`` (else None: check row by row)."""
    flat = list(itertools.chain.from_iterable(rows))
    return flat if set(map(type, flat)) <= kinds else None


def _sparse_rows(sparse: Mapping[Any, Any], m: int, V: int) -> _Rows:
    """The CSR form of the sparse ``next_token_probs``, validated without any m×V array.

    Tokens must be strictly increasing ids in ``0..V-1`` and probabilities finite and ``> 0``, so
    that the support is exactly the listed tokens and reading either form gives the same instance.
    The check is vectorized over all entries; only when it finds a problem are the rows walked in
    order, so that the error names the first bad row exactly as a row-by-row reading would."""
    indptr = _sparse_indptr(sparse, m)
    nnz = int(indptr[-1])
    if nnz > MAX_ENTRIES:
        raise InputError("next_token_probs", f"lists {nnz} support entries, exceeding the cap of {MAX_ENTRIES}")
    tok_list = _flat(sparse["tokens"], frozenset({int}))
    prob_list = _flat(sparse["probs"], frozenset({int, float}))
    fast = tok_list is not None and prob_list is not None
    if fast:
        try:  # a token or probability too large for int64/float64 is named by the row walk
            tokens = np.array(tok_list, dtype=np.int64).astype(np.intp, copy=False)
            probs = np.array(prob_list, dtype=np.float64)
        except OverflowError:
            fast = False
    if not (fast and _csr_values_ok(V, indptr, tokens, probs)):
        # rows of other types (numpy arrays), or a problem somewhere: walk the rows in order
        for j in range(m):
            _check_sparse_row(sparse["tokens"][j], sparse["probs"][j], j, V)
        tokens = np.concatenate([np.asarray(t, dtype=np.intp) for t in sparse["tokens"]])
        probs = np.concatenate([np.asarray(p, dtype=np.float64) for p in sparse["probs"]])
    return _Rows(V, indptr, tokens, probs)


def _csr_values_ok(V: int, indptr: np.ndarray, tokens: np.ndarray, probs: np.ndarray) -> bool:
    """Every row's tokens strictly increasing ids in ``0..V-1``, every probability finite and > 0."""
    first = np.zeros(tokens.size, dtype=bool)
    first[indptr[:-1]] = True
    increasing = first | (np.diff(tokens, prepend=-1) > 0)
    return bool(np.all((tokens >= 0) & (tokens < V) & increasing & np.isfinite(probs) & (probs > 0)))


def _dense_rows(P: np.ndarray) -> _Rows:
    """The CSR form of a validated dense m×V matrix: its positive entries."""
    m, V = P.shape
    mask = P > 0
    indptr = np.zeros(m + 1, dtype=np.intp)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    return _Rows(V, indptr, np.nonzero(mask)[1].astype(np.intp), P[mask])


def _check_row_sums(rows: _Rows) -> None:
    """``Σ_{z∈S_j} p_{j,z} = 1`` within SUM_TOLERANCE for every row j, by the exact sum (fsum).

    A vectorized sum screens the rows; only a row whose rounded sum is not clearly within the
    tolerance (farther than the rounding bound ``2 n_j u Σ_z p_{j,z}`` allows) is summed exactly."""
    m = rows.indptr.size - 1
    if m == 0:
        return
    counts = np.diff(rows.indptr)
    approx = np.add.reduceat(rows.probs, rows.indptr[:-1]) if rows.probs.size else np.zeros(m)
    slack = 2.0 * counts * 2.0**-53 * np.abs(approx)
    for j in np.flatnonzero(~(np.abs(approx - 1.0) + slack <= SUM_TOLERANCE)):
        total = math.fsum(rows.probs[rows.indptr[j]:rows.indptr[j + 1]].tolist())
        if abs(total - 1.0) > SUM_TOLERANCE:
            detail = f"row sums to {total!r}, expected 1 within {SUM_TOLERANCE}"
            raise InputError("next_token_probs", detail, int(j))


def _validated_arrays(
    embeddings: Any, weights: Any, next_token_probs: Any
) -> tuple[np.ndarray, np.ndarray, _Rows, np.ndarray | None]:
    """Float64 copies of the embeddings and weights, the CSR rows of ``next_token_probs`` (dense,
    m rows of V, or in the sparse form of formats.md), and the dense matrix itself when it was
    given densely with a ``-0.0`` (content the CSR form does not hold); checked in the order
    structure, caps, values."""
    m, d = _embeddings_shape(embeddings)
    if (n := _length(weights, "weights", None, "a list of numbers")) != m:
        raise InputError("weights", f"has {n} entries, expected m = {m} (one per embedding)")
    sparse = isinstance(next_token_probs, Mapping)
    V = _sparse_width(next_token_probs, m) if sparse else _probs_width(next_token_probs, m)
    _check_caps(m, d, V, dense=not sparse)
    H = _float_matrix(embeddings, "embeddings", (m, d))
    pi = _float_row(weights, "weights", None)
    if sparse:
        rows, signed = _sparse_rows(next_token_probs, m, V), None
        _check_weights(pi)
    else:
        P = _float_matrix(next_token_probs, "next_token_probs", (m, V))
        _check_weights(pi)
        _check_nonnegative(P)
        rows = _dense_rows(P)
        signed = P if np.any(np.signbit(P)) else None  # only -0.0 can be left: negatives are refused
    _check_row_sums(rows)
    return H, pi, rows, signed


# --- other fields ---------------------------------------------------------------------------------


def _validated_name(name: Any) -> str | None:
    """``name`` is optional free text."""
    if name is not None and not isinstance(name, str):
        raise InputError("name", f"expected a string, got {_kind(name)}")
    return name


def _validated_extras(extras: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Read-only private copy of the ``x-*`` keys, each value checked to be exact JSON.

    The copy is a JSON round trip: it detaches the values from the caller's objects and proves
    they can be written (no NaN, no unknown types) without changing any float.
    """
    if extras is None:
        return MappingProxyType({})
    if not isinstance(extras, Mapping):
        raise InputError("extras", f"expected a mapping of 'x-' keys, got {_kind(extras)}")
    copied = {}
    for key, value in extras.items():
        if not (isinstance(key, str) and key.startswith("x-")):
            raise InputError(str(key), "extra keys must start with 'x-'")
        try:
            copied[key] = exactjson.loads(exactjson.dumps(value))
        except (TypeError, ValueError) as e:
            raise InputError(key, f"is not exact JSON: {e}") from None
    return MappingProxyType(copied)


def _check_keys(data: Mapping[Any, Any]) -> None:
    """The ``format`` tag is exactly FORMAT, all array keys are present, and every other key is
    ``name`` or starts with ``x-``."""
    if "format" not in data:
        raise InputError("format", f"missing, expected {FORMAT!r}")
    if data["format"] != FORMAT:
        raise InputError("format", f"is {data['format']!r}, expected {FORMAT!r}")
    for key in data:
        if key not in _KNOWN_KEYS and not (isinstance(key, str) and key.startswith("x-")):
            allowed = ", ".join(sorted(_KNOWN_KEYS))
            raise InputError(str(key), f"unknown key (allowed: {allowed}, or any 'x-' key)")
    for key in _ARRAY_KEYS:
        if key not in data:
            raise InputError(key, "missing")


def _read_text(path: Path) -> str:
    """The text of ``path``, refusing a file over MAX_FILE_BYTES before reading it."""
    too_big = f"is larger than the cap of {MAX_FILE_BYTES} bytes"
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
                raise InputError("<file>", too_big)
            # fstat reports 0 for pipes and special files: bound the read itself too.
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InputError("<file>", f"cannot be read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError("<file>", too_big)
    if not raw.strip():
        raise InputError("<file>", "is empty")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("<file>", f"is not UTF-8 text (bad byte at offset {e.start})") from None


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array`` with writing disabled (it is already a private copy)."""
    array.flags.writeable = False
    return array


# --- the instance ---------------------------------------------------------------------------------


def _dense_refused(field: str, m: int, V: int) -> InputError:
    """The error for a dense m×V view beyond the cap: the instance exists in sparse form only."""
    return InputError(field, f"the dense m×V = {m}×{V} = {m * V} entries exceed the cap of {MAX_ENTRIES}: "
                      "this instance is only available in sparse form (support_indptr, support_tokens, "
                      "support_probs)")


class Instance:
    """An immutable, validated NTP instance (theory.md §1, formats.md ``ntpverify.instance/1``).

    ``embeddings`` is ``H`` (m×d), ``weights`` is ``π`` (m,): read-only float64 copies, used
    exactly as given (weights are not renormalized). The next-token distributions are stored in
    CSR form: ``support_tokens[support_indptr[j]:support_indptr[j+1]]`` is
    ``S_j = {z : p_{j,z} > 0}`` (sorted) and ``support_probs`` the ``p_{j,z}`` there, read-only.
    ``supports[j]`` is ``S_j`` as a tuple. ``next_token_probs`` (``P``, m×V) and ``support_mask``
    (m×V booleans) are dense views built on first use, refused beyond MAX_ENTRIES entries.
    ``name`` and the ``x-*`` ``extras`` are carried along untouched.

    Equality and hashing are on the exact content, bit for bit (``0.0 != -0.0``), name and
    extras included: two instances are equal iff their :meth:`content_hash` is.
    """

    __slots__ = (
        "embeddings", "weights", "support_indptr", "support_tokens", "support_probs", "name",
        "extras", "_V", "_signed_probs", "_dense_probs", "_dense_mask", "_supports", "_content_hash",
    )  # fmt: skip
    embeddings: np.ndarray
    weights: np.ndarray
    support_indptr: np.ndarray
    support_tokens: np.ndarray
    support_probs: np.ndarray
    name: str | None
    extras: Mapping[str, Any]
    _V: int
    #: the dense P as given, when it holds a -0.0 (content that the CSR arrays do not carry)
    _signed_probs: np.ndarray | None
    _dense_probs: np.ndarray | None
    _dense_mask: np.ndarray | None
    _supports: tuple[tuple[int, ...], ...] | None
    _content_hash: str | None

    def __init__(
        self,
        embeddings: Any,
        weights: Any,
        next_token_probs: Any,
        name: str | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> None:
        H, pi, rows, signed = _validated_arrays(embeddings, weights, next_token_probs)
        self._assemble(H, pi, rows, signed, _validated_name(name), _validated_extras(extras))

    def _assemble(self, H: np.ndarray, pi: np.ndarray, rows: _Rows, signed: np.ndarray | None,
                  name: str | None, extras: Mapping[str, Any]) -> None:
        """Set the fields from validated private arrays."""
        init = object.__setattr__  # the instance is frozen; only construction may set fields
        init(self, "embeddings", _read_only(H))
        init(self, "weights", _read_only(pi))
        init(self, "support_indptr", _read_only(rows.indptr))
        init(self, "support_tokens", _read_only(rows.tokens))
        init(self, "support_probs", _read_only(rows.probs))
        init(self, "_V", rows.V)
        init(self, "_signed_probs", None if signed is None else _read_only(signed))
        init(self, "name", name)
        init(self, "extras", extras)
        for cache in ("_dense_probs", "_dense_mask", "_supports", "_content_hash"):
            init(self, cache, None)

    @classmethod
    def _from_parts(cls, H: np.ndarray, pi: np.ndarray, rows: _Rows, signed: np.ndarray | None,
                    name: str | None, extras: Mapping[str, Any]) -> Instance:
        """An instance from arrays already validated (pickling, sub-instances): no copy, no check."""
        inst = cls.__new__(cls)
        inst._assemble(H, pi, rows, signed, name, extras)
        return inst

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (parallel workers, copy) the arrays themselves, never a dense view: slots cannot
        # be restored through the frozen __setattr__, and a pickle is trusted like code anyway.
        rows = _Rows(self.V, self.support_indptr, self.support_tokens, self.support_probs)
        return (_unpickle, (self.embeddings, self.weights, tuple(rows), self._signed_probs, self.name,
                            dict(self.extras)))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Instance is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Instance is immutable; cannot delete {key!r}")

    @property
    def m(self) -> int:
        """Number of contexts."""
        return self.embeddings.shape[0]

    @property
    def d(self) -> int:
        """Embedding dimension."""
        return self.embeddings.shape[1]

    @property
    def V(self) -> int:
        """Vocabulary size."""
        return self._V

    @property
    def nnz(self) -> int:
        """``Σ_j |S_j|``, the number of stored (positive) probabilities."""
        return self.support_tokens.size

    @property
    def support_contexts(self) -> np.ndarray:
        """The context j of each stored entry (nnz,): with ``support_tokens``, the COO indices of
        the support, ``P[support_contexts, support_tokens] = support_probs``."""
        return np.repeat(np.arange(self.m), np.diff(self.support_indptr))

    @property
    def supports(self) -> tuple[tuple[int, ...], ...]:
        """``S_j`` for every j, as sorted tuples of token ids."""
        if self._supports is None:
            object.__setattr__(self, "_supports", tuple(map(tuple, self._row_lists(self.support_tokens))))
        assert self._supports is not None
        return self._supports

    @property
    def next_token_probs(self) -> np.ndarray:
        """``P`` (m×V, read-only), built on first use; an InputError beyond MAX_ENTRIES entries."""
        if self._signed_probs is not None:
            return self._signed_probs
        if self._dense_probs is None:
            if self.m * self.V > MAX_ENTRIES:
                raise _dense_refused("next_token_probs", self.m, self.V)
            P = np.zeros((self.m, self.V))
            P[self.support_contexts, self.support_tokens] = self.support_probs
            object.__setattr__(self, "_dense_probs", _read_only(P))  # a cache, not state
        assert self._dense_probs is not None
        return self._dense_probs

    @property
    def support_mask(self) -> np.ndarray:
        """``P > 0`` (m×V booleans, read-only), built on first use; refused beyond MAX_ENTRIES."""
        if self._dense_mask is None:
            if self.m * self.V > MAX_ENTRIES:
                raise _dense_refused("support_mask", self.m, self.V)
            mask = np.zeros((self.m, self.V), dtype=bool)
            mask[self.support_contexts, self.support_tokens] = True
            object.__setattr__(self, "_dense_mask", _read_only(mask))  # a cache, not state
        assert self._dense_mask is not None
        return self._dense_mask

    def _row_lists(self, values: np.ndarray) -> list[list[Any]]:
        """``values`` (one per stored entry) split into the m rows, as Python lists."""
        flat, ptr = values.tolist(), self.support_indptr.tolist()
        return [flat[a:b] for a, b in zip(ptr[:-1], ptr[1:], strict=True)]

    def _dense_row_lists(self) -> Iterator[list[float]]:
        """The rows of ``P`` as lists, one at a time (no m×V array unless one is already held)."""
        held = self._signed_probs if self._signed_probs is not None else self._dense_probs
        if held is not None:
            yield from (row.tolist() for row in held)
            return
        row, ptr = np.zeros(self.V), self.support_indptr
        for j in range(self.m):
            row.fill(0.0)
            row[self.support_tokens[ptr[j]:ptr[j + 1]]] = self.support_probs[ptr[j]:ptr[j + 1]]
            yield row.tolist()

    # -- dict / JSON / file ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> Instance:
        """Parse the ``ntpverify.instance/1`` object ``data`` (as decoded from JSON)."""
        if not isinstance(data, Mapping):
            detail = f"expected a JSON object at the top level, got {_kind(data)}"
            raise InputError("<json>", detail)
        _check_keys(data)
        extras = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
        return cls(
            data["embeddings"], data["weights"], data["next_token_probs"],
            name=data.get("name"), extras=extras,
        )  # fmt: skip

    def to_dict(self, form: str = "auto") -> dict[str, Any]:
        """The ``ntpverify.instance/1`` object: format, name (if any), arrays, then extras.

        ``form`` of ``next_token_probs``: ``"dense"`` (m rows of V; refused beyond MAX_ENTRIES),
        ``"sparse"`` (formats.md's ``{"V", "tokens", "probs"}``) or ``"auto"``, the smaller one:
        sparse when the supports hold fewer than half the m·V entries (a sparse entry is a token
        id and a probability)."""
        if form not in ("auto", "dense", "sparse"):
            raise ValueError(f"form is {form!r}, expected 'auto', 'dense' or 'sparse'")
        out = self._head()
        if form == "sparse" or (form == "auto" and 2 * self.nnz < self.m * self.V):
            out["next_token_probs"] = {"V": self.V, "tokens": self._row_lists(self.support_tokens),
                                       "probs": self._row_lists(self.support_probs)}
        else:
            if self.m * self.V > MAX_ENTRIES:
                raise _dense_refused("next_token_probs", self.m, self.V)
            out["next_token_probs"] = list(self._dense_row_lists())
        out.update(self.extras)
        return out

    def _head(self) -> dict[str, Any]:
        """The fields of :meth:`to_dict` before ``next_token_probs``."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.name is not None:
            out["name"] = self.name
        out["embeddings"] = self.embeddings.tolist()
        out["weights"] = self.weights.tolist()
        return out

    @classmethod
    def from_json(cls, text: str) -> Instance:
        """Parse JSON text (exact floats; see :mod:`ntpverify.core.exactjson`)."""
        return cls.from_dict(exactjson.loads(text))

    def to_json(self, indent: int | None = None) -> str:
        """JSON text that :meth:`from_json` reads back bit for bit."""
        return exactjson.dumps(self.to_dict(), indent)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Instance:
        """Read an instance file; every problem, the file's own included, is an InputError."""
        return cls.from_json(_read_text(Path(path)))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the instance to ``path`` atomically (temporary file, then rename)."""
        exactjson.write(path, self.to_dict(), indent=1)

    # -- identity ----------------------------------------------------------------------------------

    def content_hash(self) -> str:
        """SHA-256 (hex) of the content, whichever form it was read from or is written in.

        Up to MAX_ENTRIES dense entries, of the canonical JSON of ``to_dict(form="dense")`` (the
        identity archived counterexamples and results carry), streamed row by row so that no m×V
        array is made. Beyond, where no dense form can exist (dense input is capped), of the exact
        bytes of the CSR arrays after a tagged canonical JSON of the other fields (:func:`_csr_digest`)."""
        if self._content_hash is None:
            digest = _dense_digest(self) if self.m * self.V <= MAX_ENTRIES else _csr_digest(self)
            object.__setattr__(self, "_content_hash", digest)  # a cache, not state
            return digest
        return self._content_hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instance):
            return NotImplemented
        return self.content_hash() == other.content_hash()

    def __hash__(self) -> int:
        return int(self.content_hash()[:16], 16)

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name is not None else ""
        return f"Instance({name}m={self.m}, d={self.d}, V={self.V}, #{self.content_hash()[:12]})"

    # -- from a corpus -----------------------------------------------------------------------------

    @classmethod
    def from_sequences(
        cls,
        sequences: Iterable[Sequence[int]],
        context_length: int | None,
        embed: Embedding,
        vocab_size: int | None = None,
        name: str | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> Instance:
        """The instance of a corpus of token sequences (theory.md §1).

        Contexts are the distinct prefixes ``seq[:L]`` (``L = context_length``) of the sequences
        longer than ``L``, followed by ``seq[L]``; with ``context_length=None``, every prefix
        ``seq[:t]``, ``t = 1..len(seq)-1``, followed by ``seq[t]`` (the paper's appendix C: the
        sum over prefix lengths, re-indexed). Contexts keep the order of first appearance.
        With ``n_j`` occurrences of context j, ``n_{j,z}`` of them followed by z, and
        ``n = Σ_j n_j``: ``π_j = n_j / n`` and ``p_{j,z} = n_{j,z} / n_j``, each one correctly
        rounded integer division (so it equals ``float(Fraction(n_j, n))`` exactly).
        ``V = vocab_size`` or, if None, the largest token + 1. ``embed`` maps contexts to
        ``h_j`` (see :mod:`ntpverify.core.embeddings`). ``name`` and the ``x-*`` ``extras`` (a
        vocabulary, say) are carried as in the constructor. The rows are built in the sparse form
        (memory O(nnz), never m×V).
        """
        tokens, V = _corpus_tokens(sequences, vocab_size)
        counts = _transition_counts(tokens, _context_length(context_length))
        contexts = list(counts)
        # Caps at d = 1 are implied by the caps at any d: refuse before embedding the contexts.
        _check_caps(len(contexts), 1, V, dense=False)
        H = embed_contexts(embed, contexts)
        if len(H) != len(contexts):
            raise InputError("embed", f"gave {len(H)} embeddings for {len(contexts)} contexts")
        occurrences = [sum(following.values()) for following in counts.values()]
        total = sum(occurrences)
        weights = [n / total for n in occurrences]
        rows = [sorted(following.items()) for following in counts.values()]
        sparse = {"V": V, "tokens": [[z for z, _ in row] for row in rows],
                  "probs": [[c / n for _, c in row] for row, n in zip(rows, occurrences, strict=True)]}
        return cls(H, weights, sparse, name=name, extras=extras)


def _unpickle(H: np.ndarray, pi: np.ndarray, rows: tuple[Any, ...], signed: np.ndarray | None,
              name: str | None, extras: dict[str, Any]) -> Instance:
    """The inverse of :meth:`Instance.__reduce__`."""
    return Instance._from_parts(H, pi, _Rows(*rows), signed, name, MappingProxyType(extras))


def _dense_digest(inst: Instance) -> str:
    """SHA-256 of ``exactjson.canonical(inst.to_dict("dense"))``, the dense rows streamed.

    The canonical text is ``{`` the sorted keys ``"k":value`` joined by ``,`` ``}``; the value of
    ``next_token_probs`` is ``[`` its rows ``]``, each the canonical text of one row."""
    head = {**inst._head(), **inst.extras}
    sha = hashlib.sha256()
    keys = sorted([*head, "next_token_probs"])
    for i, key in enumerate(keys):
        sha.update(((",", "{")[i == 0] + json.dumps(key) + ":").encode())
        if key == "next_token_probs":
            sha.update(b"[")
            for k, row in enumerate(inst._dense_row_lists()):
                sha.update(((",", "")[k == 0] + exactjson.canonical(row)).encode())
            sha.update(b"]")
        else:
            sha.update(exactjson.canonical(head[key]).encode())
    sha.update(b"}")
    return sha.hexdigest()


def _csr_digest(inst: Instance) -> str:
    """SHA-256 of a tagged canonical JSON of format, name, shape and extras, then the raw
    little-endian bytes of H, π, indptr, tokens (int64) and probabilities: exact bits, O(nnz)."""
    fields = {"content": "csr", "format": FORMAT, "name": inst.name, "m": inst.m, "d": inst.d,
              "V": inst.V, "nnz": inst.nnz, "extras": dict(inst.extras)}
    sha = hashlib.sha256(exactjson.canonical(fields).encode() + b"\n")
    for array, dtype in ((inst.embeddings, "<f8"), (inst.weights, "<f8"), (inst.support_indptr, "<i8"),
                         (inst.support_tokens, "<i8"), (inst.support_probs, "<f8")):
        sha.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return sha.hexdigest()


# --- sub-instances --------------------------------------------------------------------------------


def drop_contexts(inst: Instance, drop: Sequence[int] | np.ndarray, name: str | None = None) -> Instance:
    """The sub-instance of ``inst`` on the contexts ``K = [m] ∖ drop`` (``drop``: context indices).

    Each kept context keeps its ``h_j`` and ``p_j`` (so its support ``S_j``), in the original
    order; the weights are renormalized, ``π'_j = π_j / Σ_{i∈K} π_i`` for ``j ∈ K``, so the result
    is a valid instance (``Σ π' = 1``; ``K`` must be nonempty). Definitions 1–3 (F, W⋆,
    separability, W^mm) depend on the ``h_j`` and ``p_j`` alone, not on π, so they are those of
    the problem with the constraints of the dropped contexts removed. ``name`` is the sub-instance's
    name (none by default); extras are not carried over. Built from the CSR rows (no m×V array).
    """
    keep = np.ones(inst.m, dtype=bool)
    keep[drop] = False
    if not keep.any():
        raise InputError("drop", "drops every context, expected at least one kept")
    pi = inst.weights[keep]
    pi = pi / pi.sum()
    _check_weights(pi)
    entries = np.repeat(keep, np.diff(inst.support_indptr))
    indptr = np.zeros(int(keep.sum()) + 1, dtype=np.intp)
    np.cumsum(np.diff(inst.support_indptr)[keep], out=indptr[1:])
    rows = _Rows(inst.V, indptr, inst.support_tokens[entries], inst.support_probs[entries])
    signed = None if inst._signed_probs is None else inst._signed_probs[keep]
    return Instance._from_parts(inst.embeddings[keep], pi, rows, signed, _validated_name(name),
                                MappingProxyType({}))


def restrict_vocabulary(inst: Instance, tokens: Sequence[int] | np.ndarray,
                        name: str | None = None) -> tuple[Instance, np.ndarray]:
    """The sub-instance on the vocabulary ``T = tokens`` and the contexts ``K = {j : S_j ∩ T ≠ ∅}``,
    with ``K`` (ascending).

    Token ``T[i]`` becomes token ``i``; context ``K[k]`` keeps ``h_j`` and gets the support
    ``S_j ∩ T`` with ``p_j`` renormalized on it, and ``π`` is renormalized over K. Its constraints
    are exactly those of the instance that involve tokens of T alone: Definition 2's
    ``(e_z − e_v)ᵀ W h_j ≥ 1`` (z ∈ S_j ∩ T, v ∈ T ∖ S_j) and equalities within ``S_j ∩ T``, and
    Definition 1's ``(e_z − e_{z'})ᵀ W h_j = log(p_z/p_{z'})`` (ratios survive renormalization),
    acting on the rows of W in T. So a Farkas certificate of the sub-instance (not separable, or
    not compatible), its tokens and contexts mapped back, is one of the instance; a separable or
    compatible sub-instance says nothing. ``T`` must hold at least two distinct valid tokens and
    meet some support.
    """
    T = np.unique(np.asarray(tokens, dtype=np.intp))
    if T.size < 2 or T[0] < 0 or T[-1] >= inst.V:
        raise InputError("tokens", f"expected at least two distinct tokens in [0, {inst.V}), got {T.size}")
    kept = np.isin(inst.support_tokens, T)
    counts = np.add.reduceat(kept.astype(np.intp), inst.support_indptr[:-1])  # every S_j is nonempty
    K = np.flatnonzero(counts > 0)
    if K.size == 0:
        raise InputError("tokens", "meet no context's support")
    probs = inst.support_probs[kept]
    owner = inst.support_contexts[kept]
    probs = probs / np.bincount(owner, probs, minlength=inst.m)[owner]
    indptr = np.zeros(K.size + 1, dtype=np.intp)
    np.cumsum(counts[K], out=indptr[1:])
    rows = _Rows(int(T.size), indptr, np.searchsorted(T, inst.support_tokens[kept]).astype(np.int64), probs)
    pi = inst.weights[K] / inst.weights[K].sum()
    _check_weights(pi)
    return Instance._from_parts(inst.embeddings[K], pi, rows, None, _validated_name(name),
                                MappingProxyType({})), K


def with_embeddings(inst: Instance, H: np.ndarray) -> Instance:
    """``inst`` with ``H`` in place of its embeddings (same shape, finite), everything else shared:
    the CSR rows as they are, name and extras (no m×V array, so it works beyond MAX_ENTRIES)."""
    H = np.array(H, dtype=np.float64)
    if H.shape != inst.embeddings.shape or not np.all(np.isfinite(H)):
        raise InputError("embeddings", f"expected finite values of shape {inst.embeddings.shape}")
    rows = _Rows(inst.V, inst.support_indptr, inst.support_tokens, inst.support_probs)
    return Instance._from_parts(H, inst.weights, rows, inst._signed_probs, inst.name, inst.extras)


# --- corpus counting (for Instance.from_sequences) ------------------------------------------------


def _context_length(context_length: Any) -> int | None:
    """``context_length`` is None (every prefix length) or an int ≥ 1."""
    if context_length is None:
        return None
    if not _is_integer(context_length):
        raise InputError("context_length", f"expected an int or None, got {_kind(context_length)}")
    if context_length < 1:
        raise InputError("context_length", f"is {context_length}, expected ≥ 1")
    return int(context_length)


def _corpus_tokens(sequences: Any, vocab_size: Any) -> tuple[list[Context], int]:
    """Each sequence as a tuple of ints in ``0..V-1``, and V (``vocab_size`` or max token + 1)."""
    if vocab_size is not None and not (_is_integer(vocab_size) and vocab_size >= 2):
        raise InputError("vocab_size", f"is {vocab_size!r}, expected an int ≥ 2 or None")
    if isinstance(sequences, (str, bytes, Mapping)) or not isinstance(sequences, Iterable):
        raise InputError("sequences", f"expected a list of token sequences, got {_kind(sequences)}")
    tokens = [_sequence_tokens(seq, i, vocab_size) for i, seq in enumerate(sequences)]
    if vocab_size is not None:
        return tokens, int(vocab_size)
    V = 1 + max((max(seq, default=0) for seq in tokens), default=0)
    if V < 2:
        raise InputError("sequences", "tokens span a vocabulary of 1; pass vocab_size ≥ 2")
    return tokens, V


def _sequence_tokens(seq: Any, row: int, vocab_size: int | None) -> Context:
    """One sequence as a tuple of token ids, each an int ≥ 0 and below ``vocab_size`` if given."""
    if not _is_list(seq):
        raise InputError("sequences", f"expected a list of token ids, got {_kind(seq)}", row)
    for k, token in enumerate(seq):
        if not _is_integer(token):
            raise InputError("sequences", f"token {k} is {_kind(token)}, expected an int", row)
        if token < 0 or (vocab_size is not None and token >= vocab_size):
            limit = "≥ 0" if vocab_size is None else f"in 0..{vocab_size - 1}"
            raise InputError("sequences", f"token {k} is {token}, expected {limit}", row)
    return tuple(int(token) for token in seq)


def _prefix_transitions(seq: Context, context_length: int | None) -> Iterable[tuple[Context, int]]:
    """``(seq[:t], seq[t])`` for ``t = context_length`` (if ``len(seq) > t``) or, when it is None,
    for every ``t = 1..len(seq)-1``."""
    lengths = range(1, len(seq)) if context_length is None else [context_length]
    return [(seq[:t], seq[t]) for t in lengths if t < len(seq)]


def _transition_counts(
    tokens: list[Context], context_length: int | None
) -> dict[Context, dict[int, int]]:
    """``n_{j,z}``: for each context (in order of first appearance), how often z follows it."""
    counts: dict[Context, dict[int, int]] = {}
    for seq in tokens:
        for context, nxt in _prefix_transitions(seq, context_length):
            following = counts.setdefault(context, {})
            following[nxt] = following.get(nxt, 0) + 1
    if not counts:
        raise InputError("sequences", "no sequence is longer than the context length: no contexts")
    return counts
