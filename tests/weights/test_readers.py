"""One reader interface for .params, .npz, .safetensors and .onnx: index without data, values
in chunks equal to what each format's own loader gives, bad files refused before any read."""

from __future__ import annotations

import json
import struct
import sys

import mxnet as mx
import numpy as np
import pytest

from paraminspect.errors import CheckpointError
from paraminspect.weights import open_weights
from paraminspect.weights.base import FileChunks

DTYPES = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")


def _arrays():
    rng = np.random.default_rng(0)
    out = {}
    for i, dt in enumerate(DTYPES):
        a = rng.standard_normal((3, 5 + i)) * 50
        out[f"a_{dt}"] = (a > 0) if dt == "bool" else a.astype(dt)
    out["empty"] = np.zeros((0,), np.float32)
    out["special"] = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], np.float32)
    return out


def _save_params(path, arrays):
    mx.nd.save(str(path), {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})


def _save_safetensors(path, arrays):
    from safetensors.numpy import save_file

    save_file(arrays, str(path))


def _save_npz(path, arrays):
    np.savez(str(path), **arrays)


def _save_onnx(path, arrays):
    import onnx
    from onnx import helper, numpy_helper

    inits = [numpy_helper.from_array(v, name=k) for k, v in arrays.items()]
    graph = helper.make_graph([], "g", [], [], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))


SAVERS = {
    "params": _save_params,
    "safetensors": _save_safetensors,
    "npz": _save_npz,
    "onnx": _save_onnx,
}


@pytest.mark.parametrize("fmt", list(SAVERS))
def test_every_format_reads_back_every_dtype(tmp_path, fmt):
    arrays = _arrays()
    path = tmp_path / f"w.{fmt}"
    SAVERS[fmt](path, arrays)
    with open_weights(str(path)) as r:
        assert r.format == fmt
        assert {e.key for e in r.entries} == set(arrays)
        for e in r.entries:
            want = arrays[e.key]
            assert (e.shape, e.dtype, e.nbytes) == (want.shape, want.dtype.name, want.nbytes)
            np.testing.assert_array_equal(r.read(e), want)
            # chunks of 4 values, copied out before the next (the buffer is reused)
            got = [c.copy() for c in r.chunks(e, 4)]
            assert all(c.size <= 4 for c in got)
            flat = np.concatenate(got) if got else np.zeros(0, want.dtype)
            np.testing.assert_array_equal(flat, want.reshape(-1))


def test_params_reader_imports_no_mxnet(tmp_path):
    import subprocess

    path = tmp_path / "w.params"
    _save_params(path, _arrays())
    code = (
        "import sys; from paraminspect.weights import open_weights\n"
        f"r = open_weights({str(path)!r})\n"
        "[r.read(e) for e in r.entries]\n"
        "assert 'mxnet' not in sys.modules, 'mxnet imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _bf16_bits(values):
    return (np.asarray(values, np.float32).view(np.uint32) >> 16).astype("<u2")


def test_bfloat16_safetensors_written_by_hand(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, np.inf, 0.0], np.float32)  # exact in bfloat16
    bits = _bf16_bits(values)
    header = json.dumps(
        {"x": {"dtype": "BF16", "shape": [5], "data_offsets": [0, bits.nbytes]}}
    ).encode()
    path = tmp_path / "bf.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bits.tobytes())
    with open_weights(str(path)) as r:
        (e,) = r.entries
        assert (e.dtype, e.nbytes) == ("bfloat16", 10)
        np.testing.assert_array_equal(r.read(e), values)


def test_bfloat16_params_written_by_hand(tmp_path):
    """The layout's bfloat16 code (12) put in by hand, values known bit for bit (MXNet 1.9.1
    writes bfloat16 itself too, from ``amp_cast``: tests/weights/test_mxnet_dtypes.py)."""
    path = tmp_path / "f.params"
    mx.nd.save(str(path), {"x": mx.nd.zeros((4,), dtype="float16")})
    raw = bytearray(path.read_bytes())
    values = np.array([1.5, -0.25, 1024.0, 0.0], np.float32)
    code_at = raw.index(struct.pack("<i", 2), 0x30)  # float16's code, after the context
    raw[code_at : code_at + 4] = struct.pack("<i", 12)
    data_at = code_at + 4
    raw[data_at : data_at + 8] = _bf16_bits(values).tobytes()
    path.write_bytes(bytes(raw))
    with open_weights(str(path)) as r:
        (e,) = r.entries
        assert e.dtype == "bfloat16"
        np.testing.assert_array_equal(r.read(e), values)


@pytest.fixture
def no_data_read(monkeypatch):
    """Fails the test if any value is read from a file."""

    def refuse(self, buf, offset):
        raise AssertionError("a value was read")

    monkeypatch.setattr(FileChunks, "read_into", refuse)


@pytest.mark.parametrize("fmt", ["params", "safetensors", "npz"])
def test_a_truncated_file_is_refused_before_any_value_is_read(tmp_path, fmt, no_data_read):
    path = tmp_path / f"w.{fmt}"
    SAVERS[fmt](path, {"w": np.ones((64, 64), np.float32)})
    good = path.read_bytes()
    path.write_bytes(good[: len(good) - 100] if fmt != "npz" else good[:-300])
    with pytest.raises(CheckpointError) as e:
        open_weights(str(path))
    assert "\n" not in str(e.value)
    assert str(path) in str(e.value)


def test_a_truncated_onnx_is_refused(tmp_path):
    path = tmp_path / "w.onnx"
    _save_onnx(path, {"w": np.ones((64, 64), np.float32)})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"not a readable ONNX model|corrupt"):
        open_weights(str(path))


def test_lying_safetensors_headers(tmp_path, no_data_read):
    def write(entry, data=b"\0" * 16):
        header = json.dumps({"x": entry}).encode()
        path = tmp_path / "lie.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header + data)
        return str(path)

    past_end = write({"dtype": "F32", "shape": [8], "data_offsets": [0, 32]})
    with pytest.raises(CheckpointError, match="truncated or corrupt: tensor 'x' needs bytes"):
        open_weights(past_end)
    overflow = write({"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]})
    with pytest.raises(CheckpointError, match="needs 85,070,591,730,234,615,865,843,651,857,942"):
        open_weights(overflow)
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 10**6) + b"{}")
    with pytest.raises(CheckpointError, match="header declares 1,000,000 bytes"):
        open_weights(str(path))


def test_lying_params_header(tmp_path, no_data_read):
    """A dimension made huge: the declared data runs past the end of the file."""
    path = tmp_path / "w.params"
    mx.nd.save(str(path), {"w": mx.nd.ones((7, 3))})
    raw = bytearray(path.read_bytes())
    at = raw.index(struct.pack("<q", 7))
    raw[at : at + 8] = struct.pack("<q", 2**40)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="is truncated: the data of array #0"):
        open_weights(str(path))


def test_lying_npy_header_in_npz(tmp_path, no_data_read):
    path = tmp_path / "w.npz"
    np.savez(str(path), w=np.ones((4, 4), np.float32))
    raw = path.read_bytes()
    lied = raw.replace(b"'shape': (4, 4)", b"'shape': (4, 9)")
    assert lied != raw
    path.write_bytes(lied)
    with pytest.raises(CheckpointError, match=r"its header says shape \(4, 9\) of float32"):
        open_weights(str(path))


def test_sparse_params_fall_back_to_mxnet_and_say_so(tmp_path):
    path = tmp_path / "sparse.params"
    rsp = mx.nd.sparse.row_sparse_array(([[1, 2], [3, 4]], [1, 3]), shape=(5, 2))
    mx.nd.save(str(path), {"rsp": rsp, "w": mx.nd.ones((2,))})
    with open_weights(str(path)) as r:
        assert [e.kind for e in r.entries] == ["fallback", "fallback"]
        assert [(e.shape, e.dtype, e.nbytes) for e in r.entries] == [
            ((5, 2), "float32", 40),
            ((2,), "float32", 8),
        ]
        (note,) = r.notes
        assert "holds sparse arrays, which cannot be streamed" in note
        assert "reading its values loads it whole with mx.nd.load (about 190" in note
        np.testing.assert_array_equal(r.read(r.entry("rsp")), rsp.asnumpy())
        (note,) = r.notes
        assert "it was loaded whole with mx.nd.load (about 190" in note


def test_compressed_npz_is_read_whole_with_a_note(tmp_path):
    path = tmp_path / "c.npz"
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.savez_compressed(str(path), a=a)
    with open_weights(str(path)) as r:
        assert r.entries[0].kind == "memory"
        assert "compressed (savez_compressed)" in r.notes[0]
        np.testing.assert_array_equal(r.read(r.entries[0]), a)


def test_fortran_order_npz_reads_in_c_order(tmp_path):
    path = tmp_path / "f.npz"
    a = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.savez(str(path), a=a)
    with open_weights(str(path)) as r:
        flat = np.concatenate([c.copy() for c in r.chunks(r.entries[0], 5)])
        np.testing.assert_array_equal(flat, a.reshape(-1))


def test_a_pytorch_zip_is_named_not_loaded(tmp_path):
    import zipfile

    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError, match=r"not a numpy \.npz: member 'archive/data\.pkl'"):
        open_weights(str(path))


def test_onnx_external_data_is_streamed(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    a = np.arange(3000, dtype=np.float32).reshape(30, 100)
    t = numpy_helper.from_array(a, name="big")
    graph = helper.make_graph([], "g", [], [], initializer=[t])
    model = helper.make_model(graph)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path), save_as_external_data=True, location="m.data", size_threshold=0)
    with open_weights(str(path)) as r:
        (e,) = r.entries
        assert e.kind == "stream"
        np.testing.assert_array_equal(r.read(e), a)
    data = tmp_path / "m.data"
    data.write_bytes(data.read_bytes()[:-40])
    with pytest.raises(CheckpointError, match="truncated or corrupt: initializer 'big'"):
        open_weights(str(path))


def test_onnx_float_data_and_bfloat16(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    f = helper.make_tensor("f", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    bits = _bf16_bits([1.0, -2.0, 0.5])
    b = helper.make_tensor("b", TensorProto.BFLOAT16, [3], bits.tobytes(), raw=True)
    graph = helper.make_graph([], "g", [], [], initializer=[f, b])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with open_weights(str(path)) as r:
        np.testing.assert_array_equal(r.read(r.entry("f")), [[1, 2], [3, 4]])
        assert r.entry("b").dtype == "bfloat16"
        np.testing.assert_array_equal(r.read(r.entry("b")), [1.0, -2.0, 0.5])


def test_onnx_without_the_package_names_the_install_line(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    _save_onnx(path, {"w": np.ones(2, np.float32)})
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(CheckpointError) as e:
        open_weights(str(path))
    assert str(e.value) == (
        "reading .onnx files needs the onnx package, which is not installed: "
        "pip install '.[onnx]' (in a clone of paraminspect)"
    )
