""".params encodings the streaming reader cannot stream (issue 24 item 1): arrays saved before
MXNet 1.0 (no magic, or the V1 magic) and sparse arrays are loaded whole by ``mx.nd.load``;
``inspect --stats`` and ``diff`` still give numpy's float64 figures and say that they fell
back. The legacy files are written by hand (:mod:`tests.weights.legacy_files`) and MXNet
1.9.1 itself reads them back first; their headers are checked before MXNet sees them.
"""

from __future__ import annotations

import json
import struct

import mxnet as mx
import numpy as np
import pytest

from paraminspect._text import human_bytes
from paraminspect.errors import CheckpointError
from paraminspect.model.params_file import LEGACY_STYPE, check_file
from tests.weights.legacy_files import V1_MAGIC, legacy_array, params_bytes, sample_arrays
from tests.weights.test_stream_figures import _close

WHY = {
    "legacy": "holds a legacy layout (saved before MXNet 1.0), which cannot be streamed: ",
    "sparse": "holds sparse arrays, which cannot be streamed: ",
}
LOADED = "it was loaded whole with mx.nd.load (about "
# what the reader says when it opens such a file (diff, inspect --index), before any value
TO_LOAD = "reading its values loads it whole with mx.nd.load (about "
NOTE = {kind: why + LOADED for kind, why in WHY.items()}


def _js(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _sparse_arrays(seed: int = 0):
    """Dense numpy arrays, and the same values as MXNet stores them: row_sparse, csr and a
    dense one with NaN/Inf."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((50, 8), np.float32)
    rows[[3, 17, 40]] = rng.standard_normal((3, 8)) * 5
    grid = (rng.standard_normal((30, 20)) * (rng.uniform(size=(30, 20)) < 0.2)).astype(np.float32)
    dense = rng.standard_normal(300).astype(np.float32)
    dense[[7, 8, 9]] = [np.nan, np.inf, -np.inf]
    empty = np.zeros((0, 4), np.float32)
    truth = {"rows": rows, "grid": grid, "dense": dense, "empty": empty}
    saved = {
        "rows": mx.nd.array(rows).tostype("row_sparse"),
        "grid": mx.nd.array(grid).tostype("csr"),
        "dense": mx.nd.array(dense),
        "empty": mx.nd.array(empty),
    }
    assert [saved[k].stype for k in truth] == ["row_sparse", "csr", "default", "default"]
    return truth, saved


def _write(tmp_path, kind: str, seed: int = 0, name: str = "old.params"):
    """A fall-back file of ``kind`` (legacy, v1 or sparse) and its arrays in numpy."""
    path = tmp_path / name
    if kind == "sparse":
        truth, saved = _sparse_arrays(seed)
        mx.nd.save(str(path), saved)
        return path, truth
    truth = sample_arrays(seed)
    path.write_bytes(params_bytes(truth, kind))
    return path, truth


@pytest.mark.parametrize("named", [True, False])
@pytest.mark.parametrize("encoding", ["legacy", "v1"])
def test_mxnet_reads_the_hand_written_files(tmp_path, encoding, named):
    arrays = sample_arrays()
    path = tmp_path / "old.params"
    path.write_bytes(params_bytes(arrays, encoding, named=named))
    loaded = mx.nd.load(str(path))
    if named:
        assert list(loaded) == list(arrays)
        loaded = list(loaded.values())
    assert len(loaded) == len(arrays)
    for got, want in zip(loaded, arrays.values()):
        got = got.asnumpy()
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        np.testing.assert_array_equal(got, want)  # NaN == NaN here


@pytest.mark.parametrize("kind", ["legacy", "v1", "sparse"])
def test_inspect_stats_of_a_fall_back_file_equal_float64_numpy(cli, tmp_path, kind):
    path, truth = _write(tmp_path, kind)
    stypes = {h.stype for h in check_file(str(path)).headers}
    assert stypes == ({0, 1, 2} if kind == "sparse" else {LEGACY_STYPE})
    data = _js(cli("inspect", str(path), "--stats", "--format", "json"))
    note = NOTE["sparse" if kind == "sparse" else "legacy"]
    assert [n for n in data["notes"] if note in n] == [
        n for n in data["notes"] if "mx.nd.load" in n
    ]
    assert len([n for n in data["notes"] if note in n]) == 1, data["notes"]
    assert [a["key"] for a in data["arrays"]] == list(truth)
    for row in data["arrays"]:
        a = truth[row["key"]]
        assert (tuple(row["shape"]), row["dtype"]) == (a.shape, a.dtype.name), row["key"]
        st = row["stats"]
        wide = a.astype(np.float64).reshape(-1)
        finite = wide[np.isfinite(wide)]
        assert (st["nan"], st["inf"]) == (int(np.isnan(wide).sum()), int(np.isinf(wide).sum()))
        if not a.size:
            assert st["mean"] is None and st["zeros"] is None and st["l2"] is None
            continue
        assert st["zeros"] == pytest.approx(float(np.mean(wide == 0)), rel=1e-12), row["key"]
        std = float(finite.std())
        assert _close(st["mean"], float(finite.mean()), max(abs(finite.mean()), std)), row["key"]
        assert _close(st["std"], std), row["key"]
        assert _close(st["l2"], float(np.sqrt(np.sum(finite * finite)))), row["key"]
        assert (st["min"], st["max"]) == (finite.min(), finite.max()), row["key"]
        assert st["abs_max"] == np.abs(finite).max(), row["key"]
    table = cli("inspect", str(path), "--stats")
    assert table.exit_code == 0, table.output
    assert f"'{path}' {note}" in _flat(table.output)


@pytest.mark.parametrize("kind", ["legacy", "v1", "sparse"])
def test_index_of_a_fall_back_file_reads_no_value(cli, tmp_path, monkeypatch, kind):
    """``inspect --index`` gives names, shapes, dtypes and bytes from the headers alone:
    mx.nd.load is not run, and the note says it would be."""
    import paraminspect.weights.params as params

    def refuse(path):
        raise AssertionError("mx.nd.load was reached")

    monkeypatch.setattr(params, "read_params", refuse)
    path, truth = _write(tmp_path, kind)
    data = _js(cli("inspect", str(path), "--index", "--format", "json"))
    assert [(a["key"], tuple(a["shape"]), a["dtype"], a["bytes"]) for a in data["arrays"]] == [
        (k, a.shape, a.dtype.name, a.nbytes) for k, a in truth.items()
    ]
    assert data["notes"][0].startswith("--index: names, shapes, dtypes and bytes")
    held = sum(a.nbytes for a in truth.values())
    why = WHY["sparse" if kind == "sparse" else "legacy"]
    assert data["notes"][1] == (
        f"'{path}' {why}{TO_LOAD}{human_bytes(held + (190 << 20))} of memory: the arrays, as "
        "dense numpy, and MXNet itself)"
    )


def test_a_legacy_list_is_keyed_by_position(cli, tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "list.params"
    path.write_bytes(params_bytes(arrays, "legacy", named=False))
    data = _js(cli("inspect", str(path), "--stats", "--format", "json"))
    assert [a["key"] for a in data["arrays"]] == [f"[{i}]" for i in range(len(arrays))]
    assert data["file"]["kind"] == "list"
    first = arrays["a_float32"].astype(np.float64)
    assert _close(data["arrays"][0]["stats"]["l2"], float(np.sqrt((first * first).sum())))


@pytest.mark.parametrize("kind", ["legacy", "v1", "sparse"])
def test_diff_of_a_fall_back_file_equals_float64_numpy(cli, tmp_path, kind):
    """A: a fall-back file; B: the same arrays, some changed, saved by mx.nd.save (V2,
    streamed). Only A's note is given."""
    path_a, a = _write(tmp_path, kind)
    rng = np.random.default_rng(5)
    b = dict(a)
    changed = [k for k in a if a[k].dtype.kind == "f" and a[k].size and np.isfinite(a[k]).all()]
    changed = changed[:3]
    for key in changed:
        b[key] = (a[key] + rng.standard_normal(a[key].shape) * 2).astype(a[key].dtype)
    path_b = tmp_path / "new.params"
    mx.nd.save(str(path_b), {k: mx.nd.array(v, dtype=v.dtype) for k, v in b.items()})
    data = _js(cli("diff", str(path_a), str(path_b), "--format", "json"))
    note = WHY["sparse" if kind == "sparse" else "legacy"] + TO_LOAD  # said on opening A
    assert len(data["log"]) == 1 and data["log"][0].startswith(f"'{path_a}' {note}"), data["log"]
    rows = {r["key"]: r for r in data["keys"]}
    assert set(rows) == set(a)
    for key, row in rows.items():
        x = a[key].astype(np.float64).reshape(-1)
        y = b[key].astype(np.float64).reshape(-1)
        if key not in changed:
            assert (row["status"], row["max_abs"], row["rel_l2"]) == ("equal", 0, 0), key
            continue
        assert row["status"] == "changed", key
        d = x - y
        assert _close(row["max_abs"], float(np.abs(d).max())), key
        assert _close(row["rel_l2"], float(np.linalg.norm(d) / np.linalg.norm(x))), key
        cos = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert _close(row["cosine"], cos), key
    assert data["counts"]["changed"] == len(changed) >= 2
    table = cli("diff", str(path_a), str(path_b))
    assert table.exit_code == 0 and f"'{path_a}' {note}" in _flat(table.output)


def _lies(tmp_path):
    """Legacy and V1 files whose headers cannot be right, with the message for each."""
    w = {"w": np.ones((3, 4), np.float32)}
    legacy = bytearray(params_bytes(w, "legacy"))
    v1 = bytearray(params_bytes(w, "v1"))
    huge_legacy = bytearray(legacy)
    huge_legacy[28:36] = struct.pack("<II", 2**31, 2**31)  # the uint32 dims after the ndim
    huge_v1 = bytearray(v1)
    huge_v1[32:48] = struct.pack("<qq", 2**40, 2**40)  # the int64 dims after magic and ndim
    bad_type = bytearray(legacy)
    bad_type[44:48] = struct.pack("<i", 99)  # after ndim, 2 dims and the context
    cut = bytes(legacy[:60])  # 12 of the 48 data bytes
    return {
        "huge_legacy": (
            huge_legacy,
            "is truncated: the data of array #0 of 1 (shape (2147483648, 2147483648), "
            "float32) needs 18,446,744,073,709,551,616 bytes at offset 48",
        ),
        "huge_v1": (
            huge_v1,
            "is truncated: the data of array #0 of 1 (shape (1099511627776, 1099511627776), "
            "float32) needs 4,835,703,278,458,516,698,824,704 bytes at offset 60",
        ),
        "bad_type": (bad_type, "is corrupt: array #0 of 1 has unknown dtype code 99"),
        "truncated": (
            cut,
            "is truncated: the data of array #0 of 1 (shape (3, 4), float32) needs 48 bytes "
            "at offset 48 but the file ends at 60",
        ),
        "no_magic": (
            struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<I", 0x12345678) + b"\0" * 64,
            "is corrupt: array #0 of 1 starts with 0x12345678, neither an NDArray magic "
            "(0xF993FAC9) nor a dimension count",
        ),
        "v1_ndim": (
            struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Ii", V1_MAGIC, -3) + b"\0" * 64,
            "is corrupt: array #0 of 1 has -3 dimensions",
        ),
    }


def test_lying_or_cut_legacy_headers_are_refused_before_mxnet_reads_them(
    cli, tmp_path, monkeypatch
):
    """Before, such files went straight to mx.nd.load, which allocates what the header
    claims before it finds the file too short."""
    import paraminspect.weights.params as params

    def refuse(path):
        raise AssertionError("mx.nd.load was reached")

    monkeypatch.setattr(params, "read_params", refuse)
    for name, (content, message) in _lies(tmp_path).items():
        path = tmp_path / f"{name}.params"
        path.write_bytes(bytes(content))
        for args in (["inspect", str(path), "--stats"], ["diff", str(path), str(path)]):
            r = cli(*args)
            assert r.exit_code == 1, (name, r.output)
            assert r.output.startswith(f"Error: '{path}' {message}"), (name, r.output)
            assert r.output.count("\n") == 1, r.output


def test_mxnet_refuses_them_too(tmp_path):
    """The checks are not stricter than MXNet 1.9.1 on these files (the one whose first
    uint32 would be a dimension count of 305 million is left out: MXNet allocates a
    buffer for that many dims before it fails)."""
    for name, (content, _) in _lies(tmp_path).items():
        if name == "no_magic":
            continue
        path = tmp_path / f"{name}.params"
        path.write_bytes(bytes(content))
        with pytest.raises(mx.base.MXNetError):
            mx.nd.load(str(path))


@pytest.mark.parametrize("encoding", ["legacy", "v1"])
def test_every_truncation_of_a_legacy_file_is_caught(tmp_path, encoding):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.int64)}
    good = params_bytes(arrays, encoding)
    path = tmp_path / "cut.params"
    for n in range(len(good)):
        path.write_bytes(good[:n])
        with pytest.raises(CheckpointError) as e:
            check_file(str(path))
        assert str(e.value).startswith(f"'{path}' ") and "\n" not in str(e.value)
    path.write_bytes(good)
    layout = check_file(str(path))
    assert (layout.count, layout.keys) == (2, ("w", "b"))
    assert [(h.shape, h.dtype, h.stype, h.data_bytes) for h in layout.headers] == [
        ((2, 3), "float32", LEGACY_STYPE, 24),
        ((2,), "int64", LEGACY_STYPE, 16),
    ]
    assert good[layout.headers[1].data_offset :][:16] == arrays["b"].tobytes()


def test_a_file_mixing_v2_and_legacy_arrays_falls_back(cli, tmp_path):
    """Each array carries its own magic: one legacy array among V2 ones sends the whole
    file to mx.nd.load."""
    path = tmp_path / "mixed.params"
    mx.nd.save(str(path), [mx.nd.array([1.0, 2.0])])
    v2 = path.read_bytes()
    # the V2 list's array (between the 24-byte header and the 8-byte zero key count), then
    # a legacy one
    old = np.array([[3, -4]], np.int32)
    body = v2[24:-8] + legacy_array(old)
    path.write_bytes(struct.pack("<QQQ", 0x112, 0, 2) + body + struct.pack("<Q", 0))
    loaded = mx.nd.load(str(path))
    np.testing.assert_array_equal(loaded[1].asnumpy(), old)
    data = _js(cli("inspect", str(path), "--stats", "--format", "json"))
    assert any(NOTE["legacy"] in n for n in data["notes"])
    assert [(a["key"], a["stats"]["l2"]) for a in data["arrays"]] == [("[0]", 5**0.5), ("[1]", 5.0)]


def test_a_legacy_0_d_array_is_one_value_as_mxnet_reads_it(cli, tmp_path):
    """MXNet 1.9.1's LegacyLoad takes a shape of 0 dimensions as a scalar (then the context,
    the type flag and one value), so the header check walks it the same way."""
    scalar = np.array(7.5, np.float32)
    path = tmp_path / "scalar.params"
    path.write_bytes(params_bytes({"s": scalar, "w": np.ones(3, np.float64)}, "legacy"))
    loaded = mx.nd.load(str(path))
    assert loaded["s"].shape == () and float(loaded["s"].asnumpy()) == 7.5
    data = _js(cli("inspect", str(path), "--stats", "--format", "json"))
    s, w = data["arrays"]
    assert (s["shape"], s["stats"]["mean"], s["stats"]["l2"]) == ([], 7.5, 7.5)
    assert (w["shape"], w["dtype"], w["stats"]["l2"]) == ([3], "float64", 3**0.5)
