"""Instance validation, immutability, identity and exact serialization (formats.md).

The malformed *files* of formats.md's list are exercised end to end in test_cli.py; here: the
Python API (numpy inputs, booleans, strings, caps), file-level refusals, and bit-exact round trips.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ntpverify.core import exactjson, instance
from ntpverify.core.errors import InputError
from ntpverify.core.instance import FORMAT, MAX_ARRAY_ENTRIES, MAX_ENTRIES, MAX_FILE_BYTES, Instance

FAST = settings(max_examples=200, deadline=None)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)


def valid_arrays() -> dict:
    """Example A of theory.md §8 as constructor arguments."""
    return {
        "embeddings": [[1.0, 1.0], [-2.0, -1.0]],
        "weights": [0.5, 0.5],
        "next_token_probs": [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]],
    }


def bits(a: np.ndarray) -> bytes:
    """The raw float64 bytes of ``a`` (distinguishes -0.0 from 0.0)."""
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


# --- exactjson ------------------------------------------------------------------------------------


@FAST
@given(finite_floats)
@example(5e-324)
@example(-5e-324)
@example(2.2250738585072009e-308)  # largest subnormal
@example(-0.0)
@example(1.7976931348623157e308)
def test_float_round_trip_is_bit_exact(x: float) -> None:
    back = exactjson.loads(exactjson.dumps([x, {"v": x}]))
    assert back[0].hex() == x.hex() and back[1]["v"].hex() == x.hex()


@FAST
@given(st.lists(finite_floats, min_size=1, max_size=8))
def test_numpy_arrays_and_scalars_are_written_exactly(xs: list[float]) -> None:
    arr = np.array(xs)
    assert exactjson.dumps(arr) == exactjson.dumps(xs)
    assert exactjson.dumps([np.float64(x) for x in xs]) == exactjson.dumps(xs)
    assert bits(np.array(exactjson.loads(exactjson.dumps(arr)))) == bits(arr)


def test_dumps_keeps_key_order_and_converts_numpy_types() -> None:
    obj = {"b": np.int64(3), "a": np.bool_(True), "c": np.float32(0.1), "d": np.zeros((1, 2))}
    expected = '{"b": 3, "a": true, "c": 0.10000000149011612, "d": [[0.0, 0.0]]}'
    assert exactjson.dumps(obj) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.array([1.0, np.nan])])
def test_dumps_refuses_non_finite_naming_where(value: object) -> None:
    with pytest.raises(ValueError, match=r"\['x'\].* is (nan|inf|-inf): JSON has no NaN"):
        exactjson.dumps({"x": value})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_loads_rejects_non_finite_literals_naming_field_and_row(literal: str) -> None:
    with pytest.raises(InputError) as info:
        exactjson.loads(f'{{"weights": [1.0], "embeddings": [[0.5], [1.0, {literal}]]}}')
    assert (info.value.field, info.value.row) == ("embeddings", 1)
    assert "entry 1" in info.value.detail and literal in info.value.detail


def test_loads_rejects_repeated_keys_and_bad_syntax() -> None:
    with pytest.raises(InputError, match="weights: key appears more than once"):
        exactjson.loads('{"weights": [1.0], "weights": [0.5]}')
    with pytest.raises(InputError, match=r"<json>: .* line 1 column"):
        exactjson.loads('{"weights": [1.0,')
    with pytest.raises(InputError, match="<json>: empty document"):
        exactjson.loads("  \n")


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    exactjson.write(target, {"x": [0.1, -0.0]})
    assert exactjson.loads(target.read_text()) == {"x": [0.1, -0.0]}
    with pytest.raises(ValueError):
        exactjson.write(target, {"x": math.nan})
    assert exactjson.loads(target.read_text()) == {"x": [0.1, -0.0]}  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


# --- the shared cases -----------------------------------------------------------------------------


def test_shared_cases_round_trip_exactly(case_files: list[Path], tmp_path: Path) -> None:
    assert case_files, "no shared cases found"
    for path in case_files:
        text = path.read_text()
        inst = Instance.load(path)
        assert inst.to_dict("dense") == json.loads(text), path.name
        # they were written by the same rules, dense (the auto form is sparse for the one-hot I)
        assert exactjson.dumps(inst.to_dict("dense"), 1) == text, path.name
        assert inst.name == path.stem
        assert set(inst.extras) == {"x-note", "x-expected"}
        inst.save(tmp_path / path.name)
        again = Instance.load(tmp_path / path.name)
        assert again == inst and again.extras == inst.extras and again.name == inst.name


def test_shape_attributes_and_supports() -> None:
    inst = Instance(**valid_arrays())
    assert (inst.m, inst.d, inst.V) == (2, 2, 3)
    assert inst.supports == ((0, 1), (1, 2))
    assert inst.support_mask.tolist() == [[True, True, False], [False, True, True]]
    assert inst.name is None and dict(inst.extras) == {}
    arrays = (inst.embeddings, inst.weights, inst.next_token_probs)
    assert all(a.dtype == np.float64 for a in arrays)


# --- bit-exact round trips of random instances ----------------------------------------------------


@st.composite
def random_instances(draw: st.DrawFn) -> Instance:
    """Instances with arbitrary finite embeddings (subnormals, -0.0, huge values) and normalized
    weights and probabilities (whose low bits are arbitrary)."""
    m, d, V = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(2, 5))
    H = draw(st.lists(st.lists(finite_floats, min_size=d, max_size=d), min_size=m, max_size=m))
    w = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=m, max_size=m)))
    P = np.array(draw(st.lists(st.lists(st.floats(0.0, 1.0), min_size=V, max_size=V),
                               min_size=m, max_size=m)))  # fmt: skip
    P[:, 0] += 1e-3  # every row needs some mass
    extras = {"x-values": draw(st.lists(finite_floats, max_size=3))}
    name = draw(st.none() | st.text(max_size=5))
    return Instance(H, w / w.sum(), P / P.sum(axis=1, keepdims=True), name=name, extras=extras)


@settings(max_examples=100, deadline=None)
@given(random_instances())
def test_json_round_trip_is_bit_for_bit(inst: Instance) -> None:
    back = Instance.from_json(inst.to_json())
    for attr in ("embeddings", "weights", "next_token_probs"):
        assert bits(getattr(back, attr)) == bits(getattr(inst, attr))
    assert [x.hex() for x in back.extras["x-values"]] == [x.hex() for x in inst.extras["x-values"]]
    assert back == inst and hash(back) == hash(inst) and back.name == inst.name
    assert pickle.loads(pickle.dumps(inst)) == inst


# --- immutability, identity -----------------------------------------------------------------------


def test_instance_is_immutable_and_owns_its_arrays() -> None:
    arrays = {k: np.array(v) for k, v in valid_arrays().items()}
    inst = Instance(**arrays, extras={"x-list": [1, 2]})
    arrays["embeddings"][0, 0] = 99.0
    assert inst.embeddings[0, 0] == 1.0
    for attr in ("embeddings", "weights", "next_token_probs", "support_mask"):
        with pytest.raises(ValueError):
            getattr(inst, attr)[0] = 0
    with pytest.raises(AttributeError):
        inst.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.extras["x-new"] = 1  # type: ignore[index]


def test_weights_are_used_as_given() -> None:
    w = [0.5, 0.5 + 5e-10]  # within 1e-9 of summing to 1: accepted, not renormalized
    assert Instance(**{**valid_arrays(), "weights": w}).weights.tolist() == w


def test_equality_is_on_exact_content() -> None:
    a = Instance(**valid_arrays(), name="n")
    assert a == Instance(**valid_arrays(), name="n")
    assert len({a, Instance.from_json(a.to_json())}) == 1
    assert a != Instance(**valid_arrays(), name="other")
    assert a != Instance(**valid_arrays(), name="n", extras={"x-k": 1})
    negative_zero = {**valid_arrays(), "next_token_probs": [[0.5, 0.5, -0.0], [0.0, 0.5, 0.5]]}
    assert Instance(**negative_zero) != Instance(**valid_arrays())  # -0.0 is not 0.0 bitwise
    canonical = exactjson.canonical(a.to_dict()).encode()
    assert a.content_hash() == hashlib.sha256(canonical).hexdigest()


def test_repr_is_short() -> None:
    text = repr(Instance(**valid_arrays(), name="example-A"))
    assert text.startswith("Instance('example-A', m=2, d=2, V=3") and len(text) < 80


# --- invalid Python inputs ------------------------------------------------------------------------


def replaced(key: str, value: object) -> dict:
    return {**valid_arrays(), key: value}


@pytest.mark.parametrize(
    ("kwargs", "field", "row", "fragment"),
    [
        (replaced("embeddings", np.array([[1.0, 1.0], [np.nan, 1.0]])), "embeddings", 1, "entry 0"),
        (replaced("embeddings", [[1.0, True], [1.0, 1.0]]), "embeddings", 0, "boolean"),
        (replaced("embeddings", np.array([[True, False], [1, 0]], dtype=bool)), "embeddings", 0,
         "boolean"),
        (replaced("embeddings", [[1.0, 1.0], [1.0, "2"]]), "embeddings", 1, "string"),
        (replaced("embeddings", "abc"), "embeddings", None, "string"),
        (replaced("embeddings", {"0": [1.0]}), "embeddings", None, "object"),
        (replaced("embeddings", None), "embeddings", None, "null"),
        (replaced("embeddings", [[1.0, 1.0], 3.0]), "embeddings", 1, "number"),
        (replaced("embeddings", [[1.0, [1.0]], [1.0, 1.0]]), "embeddings", 0, "list"),
        (replaced("weights", [0.5, None]), "weights", 1, "null"),
        (replaced("weights", 1.0), "weights", None, "number"),
        (replaced("weights", [0.5, math.inf]), "weights", 1, "finite"),
        (replaced("weights", np.array([[0.5], [0.5]])), "weights", 0, "list"),
        (replaced("next_token_probs", [[0.5, 0.5, 10**400], [0.0, 0.5, 0.5]]), "next_token_probs",
         0, "too large"),
        (replaced("next_token_probs", [[0.5, 0.5, 0.0], "abc"]), "next_token_probs", 1, "string"),
        ({**valid_arrays(), "name": 3}, "name", None, "string"),
        ({**valid_arrays(), "extras": {"note": 1}}, "note", None, "x-"),
        ({**valid_arrays(), "extras": {"x-bad": math.nan}}, "x-bad", None, "JSON"),
        ({**valid_arrays(), "extras": {"x-obj": object()}}, "x-obj", None, "JSON"),
    ],
)  # fmt: skip
def test_invalid_python_input_names_field_and_row(kwargs, field, row, fragment) -> None:
    with pytest.raises(InputError) as info:
        Instance(**kwargs)
    assert (info.value.field, info.value.row) == (field, row)
    assert fragment in info.value.detail
    assert "\n" not in str(info.value)


def test_error_message_format() -> None:
    with pytest.raises(InputError) as info:
        Instance(**replaced("next_token_probs", [[0.5, 0.5, 0.0], [0.0, 0.5, 0.4]]))
    assert str(info.value) == "next_token_probs[1]: row sums to 0.9, expected 1 within 1e-09"
    assert pickle.loads(pickle.dumps(info.value)).args == info.value.args


@pytest.mark.parametrize(
    ("m", "d", "V", "field", "what"),
    [
        (2, MAX_ARRAY_ENTRIES // 2 + 1, 2, "embeddings", "m×d"),
        (2, 1, MAX_ENTRIES // 2 + 1, "next_token_probs", "m×V"),
        (1, MAX_ARRAY_ENTRIES // 4 + 1, 4, "next_token_probs", "V×d"),
    ],
)
def test_resource_caps_are_checked_before_allocating(m, d, V, field, what) -> None:
    # Broadcast views: the shapes are huge, the memory is not, and nothing may be materialized.
    H = np.broadcast_to(np.ones(1), (m, d))
    P = np.broadcast_to(np.full(1, 1.0 / V), (m, V))
    with pytest.raises(InputError) as info:
        Instance(H, np.full(m, 1.0 / m), P)
    assert info.value.field == field and what in info.value.detail and "cap" in info.value.detail


# --- file-level refusals (those not covered through the CLI in test_cli.py) -----------------------


def write_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "case.json"
    path.write_bytes(data)
    return path


def test_file_over_the_byte_cap_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, no memory
    with pytest.raises(InputError, match="<file>: is larger than the cap"):
        Instance.load(path)


def test_byte_cap_applies_to_the_bytes_read(tmp_path: Path, monkeypatch) -> None:
    path = write_bytes(tmp_path, Instance(**valid_arrays()).to_json().encode())
    monkeypatch.setattr(instance, "MAX_FILE_BYTES", 10)
    with pytest.raises(InputError, match="larger than the cap of 10 bytes"):
        Instance.load(path)


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (b"\xff\xfe{}", "<file>", "UTF-8"),
        (b'{"format": "ntpverify.instance/1", "format": "x"}', "format", "more than once"),
        (b'"just a string"', "<json>", "object"),
        (b"[[[[[[[[", "<json>", "line 1"),
    ],
)
def test_undecodable_files_name_the_problem(tmp_path: Path, data: bytes, field, fragment) -> None:
    with pytest.raises(InputError) as info:
        Instance.load(write_bytes(tmp_path, data))
    assert info.value.field == field and fragment in info.value.detail


def test_a_directory_is_not_an_instance(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="<file>: cannot be read"):
        Instance.load(tmp_path)


def test_x_keys_keep_arbitrary_json_and_order(tmp_path: Path) -> None:
    data = {"format": FORMAT, **valid_arrays(), "name": "n",
            "x-b": {"nested": [1, "two", None, True, -0.0]}, "x-a": 5e-324}  # fmt: skip
    inst = Instance.from_dict(data)
    inst.save(tmp_path / "i.json")
    text = (tmp_path / "i.json").read_text()
    assert exactjson.loads(text) == Instance.load(tmp_path / "i.json").to_dict()
    assert list(exactjson.loads(text)) == ["format", "name", *valid_arrays(), "x-b", "x-a"]
    assert math.copysign(1.0, Instance.from_json(text).extras["x-b"]["nested"][4]) == -1.0


def test_drop_contexts_keeps_the_other_contexts_and_renormalizes_the_weights() -> None:
    inst = Instance([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.5, 0.25, 0.25],
                    [[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]], name="three", extras={"x-k": 1})
    sub = instance.drop_contexts(inst, [1])
    assert bits(sub.embeddings) == bits(inst.embeddings[[0, 2]])
    assert bits(sub.next_token_probs) == bits(inst.next_token_probs[[0, 2]])
    assert sub.weights.tolist() == [2 / 3, 1 / 3]  # π_j / Σ_{i kept} π_i
    assert (sub.name, dict(sub.extras)) == (None, {})
    assert instance.drop_contexts(inst, np.array([0, 2]), name="middle").name == "middle"
    assert instance.drop_contexts(inst, []) == Instance(inst.embeddings, inst.weights, inst.next_token_probs)


# --- the sparse form of next_token_probs (formats.md) ---------------------------------------------


def _sparse_doc(**changes) -> dict:
    doc = {"format": "ntpverify.instance/1", "embeddings": [[1.0, 0.5], [-2.0, 0.25], [0.0, 1.0]],
           "weights": [0.5, 0.25, 0.25],
           "next_token_probs": {"V": 5, "tokens": [[3], [0, 4], [1, 2, 3]], "probs": [[1.0], [0.1, 0.9],
                                                                                     [0.2, 0.3, 0.5]]}}
    doc["next_token_probs"].update(changes)
    return doc


def test_sparse_and_dense_forms_are_the_same_instance_bit_for_bit(case_files: list[Path]) -> None:
    for path in case_files:
        inst = Instance.load(path)
        dense = Instance.from_json(exactjson.dumps(inst.to_dict("dense")))
        sparse = Instance.from_json(exactjson.dumps(inst.to_dict("sparse")))
        for other in (dense, sparse):
            assert other == inst and other.content_hash() == inst.content_hash()
            assert other.next_token_probs.tobytes() == inst.next_token_probs.tobytes()
            assert other.supports == inst.supports
    inst = Instance.from_dict(_sparse_doc())
    assert inst.V == 5 and inst.supports == ((3,), (0, 4), (1, 2, 3))
    assert inst.next_token_probs[1].tolist() == [0.1, 0.0, 0.0, 0.0, 0.9]
    assert isinstance(inst.to_dict()["next_token_probs"], dict)  # 6 of 15 entries: sparse is smaller
    assert Instance.from_dict(inst.to_dict()) == inst == Instance.from_dict(inst.to_dict("dense"))


@pytest.mark.parametrize("changes, field, row", [
    ({"V": 1}, "next_token_probs.V", None),
    ({"V": 2.5}, "next_token_probs.V", None),
    ({"tokens": [[3], [0, 4]]}, "next_token_probs.tokens", None),
    ({"tokens": [[3], [4, 0], [1, 2, 3]]}, "next_token_probs.tokens", 1),
    ({"tokens": [[3], [0, 5], [1, 2, 3]]}, "next_token_probs.tokens", 1),
    ({"tokens": [[3], [0, 0], [1, 2, 3]]}, "next_token_probs.tokens", 1),
    ({"tokens": [[], [0, 4], [1, 2, 3]], "probs": [[], [0.1, 0.9], [0.2, 0.3, 0.5]]}, "next_token_probs.tokens", 0),
    ({"probs": [[1.0], [0.1], [0.2, 0.3, 0.5]]}, "next_token_probs.probs", 1),
    ({"probs": [[1.0], [0.0, 1.0], [0.2, 0.3, 0.5]]}, "next_token_probs.probs", 1),
    ({"probs": [[1.0], [0.1, 0.8], [0.2, 0.3, 0.5]]}, "next_token_probs", 1),
    ({"extra": 1}, "next_token_probs.extra", None),
])
def test_a_bad_sparse_form_names_its_field_and_row(changes, field, row) -> None:
    with pytest.raises(InputError) as info:
        Instance.from_dict(_sparse_doc(**changes))
    assert info.value.field == field and info.value.row == row, str(info.value)
