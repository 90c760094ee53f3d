"""Every dtype MXNet 1.9.1 saves, as MXNet itself writes it (issue 24's test list): bfloat16
too, which ``amp_cast`` makes (numpy has no such dtype: ``asnumpy()`` gives records of one
uint16 field). ``inspect --stats`` and ``diff`` of two ``.params`` files, streamed or fallen
back, against numpy in float64 of the values MXNet gives back."""

from __future__ import annotations

import json

import mxnet as mx
import numpy as np
import pytest

from tests.weights.test_readers import DTYPES
from tests.weights.test_stream_figures import _close

BFLOAT16 = np.dtype([("bfloat16", np.uint16)])  # MXNet 1.9.1's name for it (type flag 12)


def _js(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _nd(a: np.ndarray):
    return mx.nd.array(a, dtype=a.dtype)


def _bfloat16(values: np.ndarray):
    """An MXNet bfloat16 array of ``values`` (rounded by MXNet), and its values as MXNet
    gives them back in float32."""
    b = mx.nd.amp_cast(mx.nd.array(values, dtype="float32"), dtype=BFLOAT16)
    assert b.dtype == BFLOAT16
    return b, mx.nd.amp_cast(b, dtype="float32").asnumpy()


def _pair(seed: int):
    """Arrays of every dtype, A and B (B changes each of them), as MXNet saves them, with
    their values in numpy."""
    rng = np.random.default_rng(seed)
    a, b = {}, {}
    for i, dt in enumerate(DTYPES):
        shape = (40, 300 + i)
        if dt == "bool":
            x = rng.uniform(size=shape) > 0.5
            y = x ^ (rng.uniform(size=shape) > 0.9)
        elif dt.startswith("float"):
            x = (rng.standard_normal(shape) * 20).astype(dt)
            y = (x + rng.standard_normal(shape)).astype(dt)
        else:  # integers: differences that wrap around in the dtype itself
            info = np.iinfo(dt)
            lo, hi = max(int(info.min), -(10**6)), min(int(info.max), 10**6)
            x = rng.integers(lo, hi, shape, endpoint=True).astype(dt)
            y = rng.integers(lo, hi, shape, endpoint=True).astype(dt)
        a[f"a_{dt}"], b[f"a_{dt}"] = x, y
    saved_a = {k: _nd(v) for k, v in a.items()}
    saved_b = {k: _nd(v) for k, v in b.items()}
    x = rng.standard_normal(5000).astype(np.float32) * 7
    x[[10, 20]] = [0.0, -0.0]
    saved_a["a_bfloat16"], a["a_bfloat16"] = _bfloat16(x)
    saved_b["a_bfloat16"], b["a_bfloat16"] = _bfloat16(x + rng.standard_normal(x.shape))
    return a, b, saved_a, saved_b


def _check_stats(row, a):
    st = row["stats"]
    wide = a.astype(np.float64).reshape(-1)
    std = float(wide.std())
    assert _close(st["mean"], float(wide.mean()), max(abs(wide.mean()), std)), row["key"]
    assert _close(st["std"], std), row["key"]
    assert _close(st["l2"], float(np.sqrt(np.sum(wide * wide)))), row["key"]
    assert (st["min"], st["max"], st["abs_max"]) == (wide.min(), wide.max(), np.abs(wide).max())
    assert st["zeros"] == float(np.mean(wide == 0)), row["key"]


def _check_diff(rows, a, b):
    assert set(rows) == set(a)
    for key, row in rows.items():
        x = a[key].astype(np.float64).reshape(-1)
        y = b[key].astype(np.float64).reshape(-1)
        d = x - y
        assert row["status"] == "changed", key
        assert _close(row["max_abs"], float(np.abs(d).max())), key
        assert _close(row["rel_l2"], float(np.linalg.norm(d) / np.linalg.norm(x))), key
        cos = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert _close(row["cosine"], cos), key


@pytest.mark.parametrize("sparse", [False, True], ids=["streamed", "fallback"])
def test_every_dtype_mxnet_saves_inspect_and_diff_equal_float64_numpy(cli, tmp_path, sparse):
    """With a row_sparse array in each file, the whole file falls back to mx.nd.load."""
    a, b, saved_a, saved_b = _pair(1)
    if sparse:
        rows = np.zeros((20, 3), np.float32)
        rows[[2, 9]] = [[1, 2, 3], [4, 5, 6]]
        saved_a["sparse"] = mx.nd.array(rows).tostype("row_sparse")
        saved_b["sparse"] = mx.nd.array(rows * 2).tostype("row_sparse")
        a["sparse"], b["sparse"] = rows, rows * 2
    path_a, path_b = tmp_path / "a.params", tmp_path / "b.params"
    mx.nd.save(str(path_a), saved_a)
    mx.nd.save(str(path_b), saved_b)
    data = _js(cli("inspect", str(path_a), "--stats", "--format", "json"))
    assert any("cannot be streamed" in n for n in data["notes"]) == sparse
    for row in data["arrays"]:
        want = a[row["key"]]
        dtype = "bfloat16" if row["key"] == "a_bfloat16" else want.dtype.name
        nbytes = want.size * 2 if dtype == "bfloat16" else want.nbytes
        assert (tuple(row["shape"]), row["dtype"], row["bytes"]) == (want.shape, dtype, nbytes)
        _check_stats(row, want)
    assert {row["key"] for row in data["arrays"]} == set(a)
    diff = _js(cli("diff", str(path_a), str(path_b), "--format", "json"))
    _check_diff({r["key"]: r for r in diff["keys"]}, a, b)
    assert len(diff["log"]) == (2 if sparse else 0)
