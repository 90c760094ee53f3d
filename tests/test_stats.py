"""Chunked statistics against plain float64 numpy, and zero-copy NDArray reads."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import paraminspect.stats as stats_mod
from paraminspect.stats import host_view, ndarray_stats, tensor_stats


def reference(a: np.ndarray) -> dict:
    """The statistics computed the obvious way: mask, widen to float64, numpy reductions."""
    flat = np.asarray(a).reshape(-1)
    finite = np.isfinite(flat.astype(np.float64))
    x = flat[finite].astype(np.float64)
    out = {
        "nan": int(np.isnan(flat.astype(np.float64)).sum()),
        "inf": int(np.isinf(flat.astype(np.float64)).sum()),
        "zeros": float(np.mean(flat == 0)) if flat.size else math.nan,
    }
    if x.size:
        out.update(
            mean=x.mean(),
            std=x.std(),
            min=x.min(),
            max=x.max(),
            abs_max=np.abs(x).max(),
            l2=math.sqrt(float(np.sum(x * x))),
        )
    return out


def assert_matches(a: np.ndarray, rtol: float = 0.0) -> None:
    """Within ``rtol`` (default: 1e-6 for float16/32, reduced in float32 chunks as issue 24
    asks; 1e-9 for the rest, reduced in float64) of the float64 reference; the mean relative
    to the spread too (a mean near 0 is the difference of large sums)."""
    a = np.asarray(a)
    if not rtol:
        rtol = 1e-6 if a.dtype.kind == "f" and a.dtype.itemsize <= 4 else 1e-9
    got = tensor_stats(a)
    want = reference(a)
    assert got.size == a.size
    assert (got.nan, got.inf) == (want["nan"], want["inf"])
    if math.isnan(want["zeros"]):
        assert math.isnan(got.zeros)
    else:
        assert got.zeros == want["zeros"]
    for key in ("mean", "std", "min", "max", "abs_max", "l2"):
        if key not in want:
            assert math.isnan(getattr(got, key)), key
            continue
        # std is compared relative to the spread of the data (its own scale can be 0)
        spread = want.get("std", 0.0) * (1.0 if key == "mean" else 1e-3)
        scale = max(abs(want[key]), spread, 1e-300)
        atol = 1e-12 * max(abs(want.get("mean", 0.0)), want.get("std", 0.0))
        assert abs(getattr(got, key) - want[key]) <= rtol * scale + atol, (
            key,
            getattr(got, key),
            want[key],
        )


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 elements in dot-product rows of 3, so every array crosses many chunk and
    row boundaries (and most chunks end in a partial row)."""
    monkeypatch.setattr(stats_mod, "CHUNK", 7)
    monkeypatch.setattr(stats_mod, "ROW", 3)


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(
    "make",
    [
        lambda r: r.uniform(-0.07, 0.07, size=(256, 20)).astype(np.float32),
        lambda r: r.normal(0, 1, size=1001).astype(np.float32),
        lambda r: np.full((50, 3), 0.25, dtype=np.float32),  # constant: std exactly 0
        lambda r: np.zeros(33, dtype=np.float32),
        lambda r: (1e4 + r.uniform(0, 1, size=999)).astype(np.float32),  # huge mean
        lambda r: (-3e7 + r.normal(0, 1, size=500)).astype(np.float64),
        lambda r: r.integers(-5, 5, size=(9, 9)).astype(np.int32),
        lambda r: r.normal(size=40).astype(np.float16),
        lambda r: np.array([], dtype=np.float32),
        lambda r: np.array([np.nan, np.inf, -np.inf], dtype=np.float32),  # nothing finite
    ],
)
def test_matches_float64_numpy(make, chunked, monkeypatch):
    if chunked:
        monkeypatch.setattr(stats_mod, "CHUNK", 7)
        monkeypatch.setattr(stats_mod, "ROW", 3)
    assert_matches(make(np.random.default_rng(0)))


def test_nan_inf_are_counted_and_left_out(small_chunks):
    a = np.arange(30, dtype=np.float32) - 10
    a[[3, 17]] = np.nan
    a[[5]] = np.inf
    a[[25, 26]] = -np.inf
    s = tensor_stats(a)
    assert (s.nan, s.inf) == (2, 3)
    assert_matches(a)
    finite = a[np.isfinite(a)].astype(np.float64)
    assert s.mean == pytest.approx(finite.mean(), rel=1e-15)
    assert s.zeros == 1 / 30  # the single 0.0 (index 10)


def test_huge_mean_keeps_std_accurate():
    # |mean| / std = 1e8: a naive sum-of-squares variance would be pure rounding noise.
    rng = np.random.default_rng(1)
    a = 1e8 + rng.uniform(-1, 1, size=10_000)
    s = tensor_stats(a)
    assert s.std == pytest.approx(np.std(a), rel=1e-7)


def test_a_multi_chunk_array_with_default_chunks():
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 2.0, size=stats_mod.CHUNK * 2 + 12345).astype(np.float32)
    a[::1000] = 0
    assert_matches(a)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(0, 60),
        elements=st.one_of(
            st.floats(-1e6, 1e6, width=32),
            st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf")]),
        ),
    ),
    st.integers(1, 16),
    st.integers(1, 9),
)
def test_property_equals_numpy_for_any_chunking(a, chunk, row):
    old = stats_mod.CHUNK, stats_mod.ROW
    stats_mod.CHUNK, stats_mod.ROW = chunk, row
    try:
        assert_matches(a)
    finally:
        stats_mod.CHUNK, stats_mod.ROW = old


# --------------------------------------------------------------------------- NDArrays


def test_host_view_is_the_ndarray_buffer_itself():
    import mxnet as mx

    nd = mx.nd.arange(24).reshape((4, 6))
    view = host_view(nd)
    assert view is not None
    np.testing.assert_array_equal(view, nd.asnumpy())
    assert not view.flags.writeable and view.flags.c_contiguous
    nd[1, 2] = 100.0  # written by MXNet: the view sees it, so it is no copy
    nd.wait_to_read()
    assert view[1, 2] == 100.0


def test_host_view_of_slices_and_dtypes():
    import mxnet as mx

    base = mx.nd.random.uniform(shape=(10, 7))
    for nd in (base[3:6], base[9], base.reshape((70,))[5:50]):
        np.testing.assert_array_equal(host_view(nd), nd.asnumpy())
    for dtype in ("float16", "float64", "int32", "uint8", "int64"):
        nd = mx.nd.array(np.arange(12).reshape(3, 4), dtype=dtype)
        view = host_view(nd)
        assert view is not None and view.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(view, nd.asnumpy())


def test_unsafe_arrays_fall_back_to_a_copy():
    import mxnet as mx

    sparse = mx.nd.array(np.eye(4, dtype=np.float32)).tostype("csr")
    assert host_view(sparse) is None
    s = ndarray_stats(sparse)
    assert (s.size, s.zeros, s.l2) == (16, 0.75, 2.0)


def test_ndarray_stats_of_live_parameters_and_gradients():
    """After a real forward and backward pass (oneDNN kernels may relayout arrays), the
    in-place statistics equal those of the asnumpy() copy, for weights and gradients."""
    import mxnet as mx
    from mxnet.gluon import nn

    mx.random.seed(3)
    net = nn.HybridSequential()
    net.add(nn.Dense(64, activation="relu"), nn.Dense(32, activation="relu"), nn.Dense(5))
    net.initialize()
    net.hybridize()
    x = mx.nd.random.normal(shape=(16, 20))
    with mx.autograd.record():
        y = net(x)
    y.backward()
    for p in net.collect_params().values():
        for nd in (p.data(), p.grad()):
            copy = nd.asnumpy()
            np.testing.assert_array_equal(host_view(nd), copy)
            assert ndarray_stats(nd) == tensor_stats(copy)
            assert_matches(copy)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.0],
        [3.0, -4.0],
        [1.0, np.inf, 2.0],
        [1.0, np.nan, 2.0],
        [np.inf, np.nan, -np.inf],
        [3e38, -3e38, 1e-45],
    ],
)
def test_array_l2_is_numpys_float64_norm(values, small_chunks):
    a = np.array(values, dtype=np.float32)
    want = np.linalg.norm(a.astype(np.float64))
    got = stats_mod.array_l2(a)
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-7)


def test_array_l2_agrees_with_the_statistics_l2_and_float64():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3 * stats_mod.CHUNK + 17,)).astype(np.float32)
    want = np.linalg.norm(a.astype(np.float64))
    assert stats_mod.array_l2(a) == pytest.approx(want, rel=1e-7)
    assert tensor_stats(a).l2 == pytest.approx(want, rel=1e-7)


def test_ndarray_l2_reads_mxnet_arrays():
    from mxnet import nd

    x = nd.array(np.arange(-5, 7, dtype=np.float32).reshape(3, 4))
    assert stats_mod.ndarray_l2(x) == pytest.approx(np.linalg.norm(x.asnumpy().astype(np.float64)))
    assert stats_mod.ndarray_l2(x[1:]) == pytest.approx(np.linalg.norm(np.arange(-1, 7)))


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_threads_give_the_single_thread_result_bit_for_bit(monkeypatch, workers):
    rng = np.random.default_rng(11)
    a = rng.normal(0.3, 1.7, size=40 * 7 + 3).astype(np.float32)
    a[[5, 77, 150]] = [np.nan, np.inf, 0.0]
    a[200:214] = np.nan  # two whole chunks with nothing finite
    monkeypatch.setattr(stats_mod, "CHUNK", 7)
    monkeypatch.setattr(stats_mod, "_workers", lambda: 1)
    one = tensor_stats(a)
    monkeypatch.setattr(stats_mod, "_workers", lambda: workers)
    monkeypatch.setattr(stats_mod, "_POOL", None)
    calls = []
    real = stats_mod._chunk_partials
    monkeypatch.setattr(
        stats_mod, "_chunk_partials", lambda arr, starts: calls.append(1) or real(arr, starts)
    )
    many = tensor_stats(a)
    assert len(calls) == workers  # the split really happened
    assert dataclasses.astuple(many) == pytest.approx(dataclasses.astuple(one), nan_ok=True, rel=0)
    assert many.nan == 15 and many.inf == 1


@pytest.mark.parametrize("chunk", [1, 2, 16])
def test_tiny_float32_values_keep_their_spread(chunk):
    # 1.76e-37 squares to 0 in float32: found by hypothesis, summed in float64 since
    old = stats_mod.CHUNK
    stats_mod.CHUNK = chunk
    try:
        assert_matches(np.array([1.7589764e-37, 0.0, -3e-30, 2e-25], dtype=np.float32))
        assert_matches(np.array([1.7589764e-37, 0.0], dtype=np.float32))
        assert_matches(np.array([1.5e-44, 0.0], dtype=np.float32))  # subnormal
    finally:
        stats_mod.CHUNK = old


@pytest.mark.parametrize(
    "make",
    [
        lambda r, n: np.full(n, 0.1, dtype=np.float32),  # a float32 dot's worst case
        lambda r, n: r.lognormal(0, 2, size=n).astype(np.float32),
        lambda r, n: (1000 + r.normal(size=n)).astype(np.float32),
    ],
)
def test_default_dot_rows_keep_float64_accuracy(make):
    # The sums come from BLAS dot products over rows of ROW values: at the default sizes
    # (many full rows, a partial last row) mean and l2 stay within 1e-7 of float64.
    a = make(np.random.default_rng(5), 2 * stats_mod.CHUNK + 3 * stats_mod.ROW + 7)
    w = a.astype(np.float64)
    s = tensor_stats(a)
    assert s.mean == pytest.approx(w.mean(), rel=1e-7)
    assert s.l2 == pytest.approx(np.linalg.norm(w), rel=1e-7)
    assert stats_mod.array_l2(a) == pytest.approx(np.linalg.norm(w), rel=1e-7)
    assert s.std == pytest.approx(w.std(), rel=1e-6, abs=1e-12)
