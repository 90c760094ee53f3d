"""Per-array numbers against plain numpy, sorting, top N, the overview, duplicate hashing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import paraminspect.stats as stats
from paraminspect.diagnose import scan
from paraminspect.diagnose.kinds import classify_all
from paraminspect.diagnose.measures import measure, measure_all
from paraminspect.diagnose.ordering import SORT_KEYS, check_sort_key, sort_keys, sort_rows, top
from paraminspect.diagnose.overview import make_overview
from paraminspect.errors import OptionError


def test_measure_matches_numpy():
    a = np.random.default_rng(1).normal(3, 2, (7, 5, 3)).astype(np.float32)
    m = measure("a", a)
    x = a.astype(np.float64)
    assert m.shape == (7, 5, 3) and m.size == 105 and m.nbytes == 420 and m.dtype == "float32"
    assert m.l2 == pytest.approx(float(np.sqrt((x * x).sum())))
    assert m.abs_max == pytest.approx(float(np.abs(x).max()))
    assert m.mean == pytest.approx(float(x.mean()))
    assert m.std == pytest.approx(float(x.std()))
    assert not m.constant and not m.zeros and m.nonfinite == 0


def test_chunks_merge_to_the_same_numbers(monkeypatch):
    a = np.random.default_rng(2).normal(1e3, 1e-2, 10_001).astype(np.float32)
    whole = measure("a", a)
    monkeypatch.setattr(stats, "CHUNK", 97)
    chunked = measure("a", a)
    # mean 1e3, std 1e-2: the deviations path keeps the std within float32 rounding of float64
    wide = a.astype(np.float64)
    assert chunked.std == pytest.approx(float(wide.std()), rel=1e-6)
    assert whole.std == pytest.approx(float(wide.std()), rel=1e-6)
    assert chunked.mean == pytest.approx(whole.mean, rel=1e-9)
    assert chunked.l2 == pytest.approx(whole.l2, rel=1e-9)


def test_nonfinite_values_are_counted_and_left_out_of_the_numbers():
    a = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, np.nan], np.float32)
    m = measure("a", a)
    assert (m.nan, m.posinf, m.neginf) == (2, 1, 1)
    assert m.mean == 2.0 and m.abs_max == 3.0 and not m.constant
    assert not measure("n", np.full(4, np.nan, np.float32)).constant


@pytest.mark.parametrize(
    ("array", "constant", "zeros"),
    [
        (np.ones(5, np.float32), True, False),
        (np.zeros((2, 3), np.float16), True, True),
        (np.array([0.0, -0.0]), True, True),
        (np.array([7]), False, False),  # one value: not called constant
        (np.zeros(0, np.float32), False, False),
        (np.array([2**60, 2**60 + 1], np.int64), False, False),  # exact for int64
        (np.array([True, True]), True, False),
    ],
)
def test_constant_flag(array, constant, zeros):
    m = measure("a", array)
    assert (m.constant, m.zeros) == (constant, zeros)


rows_strategy = st.lists(
    hnp.arrays(np.float32, st.integers(0, 6), elements=st.floats(-100, 100, width=32)),
    max_size=12,
).map(lambda arrays: list(measure_all({f"k{i}": a for i, a in enumerate(arrays)}).values()))


@given(rows_strategy, st.sampled_from(SORT_KEYS))
def test_sort_is_a_stable_permutation(rows, by):
    ordered = sort_rows(rows, by)
    assert sorted(r.key for r in ordered) == sorted(r.key for r in rows)
    values = [getattr(r, "key" if by == "name" else by) for r in ordered]
    if by == "name":
        assert values == sorted(values)
    else:
        assert values == sorted(values, reverse=True)
        position = {r.key: i for i, r in enumerate(rows)}
        for a, b in zip(ordered, ordered[1:]):  # ties keep the input order
            if getattr(a, by) == getattr(b, by):
                assert position[a.key] < position[b.key]


def test_nan_sorts_last_and_top():
    rows = [measure(k, np.array(v, np.float32)) for k, v in [("a", [1, 2]), ("b", [5, 9])]]
    nan_row = rows[0].__class__(**{**rows[0].__dict__, "key": "c", "std": math.nan})
    assert sort_keys([nan_row, *rows], "std") == ("b", "a", "c")
    assert [r.key for r in top(rows, "l2", 1)] == ["b"]
    assert top(rows, "name", None) == tuple(rows)
    with pytest.raises(OptionError, match="--top must be 0 or more, not -1"):
        top(rows, "size", -1)


def test_bad_sort_key_says_what_to_use():
    with pytest.raises(OptionError) as e:
        check_sort_key("szie")
    assert str(e.value) == (
        "unknown sort key 'szie'; did you mean 'size'? (choose from size, l2, abs_max, std, name)"
    )
    assert e.value.option == "--sort"
    with pytest.raises(OptionError, match="unknown sort key 'xyz' \\(choose from"):
        sort_rows([], "xyz")


def test_overview_counts():
    arrays = {
        "arg:c_weight": np.zeros((4, 2, 3, 3), np.float32),
        "arg:c_bias": np.zeros(4, np.float16),
        "arg:bn_gamma": np.ones(4, np.float32),
        "aux:bn_moving_var": np.ones(4, np.float32),
        "misc": np.arange(3, dtype=np.int64),
    }
    ov = make_overview(measure_all(arrays), classify_all(arrays), largest=2)
    assert (ov.arrays, ov.values, ov.bytes) == (5, 72 + 4 + 4 + 4 + 3, 288 + 8 + 16 + 16 + 24)
    assert [(r.label, r.arrays, r.values, r.bytes) for r in ov.by_kind] == [
        ("weight", 1, 72, 288),
        ("bias", 1, 4, 8),
        ("norm", 1, 4, 16),
        ("running", 1, 4, 16),
        ("other", 1, 3, 24),
    ]
    assert [(r.label, r.bytes) for r in ov.by_dtype] == [
        ("float32", 320),
        ("int64", 24),
        ("float16", 8),
    ]
    assert [r.key for r in ov.largest] == ["arg:c_weight", "arg:c_bias"]


def _groups(arrays):
    from paraminspect.diagnose.findings import Thresholds
    from paraminspect.diagnose.kinds import classify_all
    from paraminspect.weights.base import MemoryReader

    return scan.scan_reader(MemoryReader(arrays), classify_all(arrays), Thresholds())[1]


def test_duplicate_groups_hash_in_chunks_and_confirm_bytes(monkeypatch):
    monkeypatch.setattr(scan, "CHUNK", 5)
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    arrays = {
        "a": base,
        "b": base.copy(),
        "t": np.ascontiguousarray(base.T).T,  # same values, not C-contiguous
        "c": base + 1,
        "d": base.reshape(4, 3).copy(),  # same bytes, other shape
        "e": (base + 1).copy(),
        "nan1": np.full(3, np.nan, np.float32),
        "nan2": np.full(3, np.nan, np.float32),
        "empty1": np.zeros(0, np.float32),
        "empty2": np.zeros(0, np.float32),
    }
    assert _groups(arrays) == (("a", "b", "t"), ("c", "e"), ("nan1", "nan2"))

    # equal digests and equal summary numbers must not merge arrays whose bytes differ
    class Same:
        def __init__(self, **kwargs):
            pass

        def update(self, data):
            pass

        def digest(self):
            return b"same"

    monkeypatch.setattr(scan.hashlib, "blake2b", Same)
    x = np.arange(40, dtype=np.float32)
    y = x.copy()
    y[[38, 39]] = y[[39, 38]]  # same values (same statistics), same first bytes
    assert _groups({"x": x, "y": y, "z": x.copy()}) == (("x", "z"),)


def test_only_candidates_are_hashed(monkeypatch):
    base = np.arange(40, dtype=np.float32)
    other = base.copy()
    other[0] = -1  # different first bytes: never a candidate
    hashed = []
    real = scan.hashlib.blake2b

    def counting(**kwargs):
        hashed.append(1)
        return real(**kwargs)

    monkeypatch.setattr(scan.hashlib, "blake2b", counting)
    assert _groups({"a": base, "b": base.copy(), "c": other}) == (("a", "b"),)
    assert len(hashed) == 2
