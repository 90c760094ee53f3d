"""``.params`` files in the array encodings MXNet wrote before 1.0, written byte by byte.

No MXNet this session can write them (1.9.1 saves V2 arrays), but 1.9.1 still reads them, so
they are made here by following its reader, ``src/ndarray/ndarray.cc`` of MXNet 1.x:

- the file (``NDArray::Load(dmlc::Stream*, data, keys)``): uint64 0x112, uint64 0, the
  arrays as a dmlc vector (uint64 count, then each array), the names as a dmlc vector of
  strings (uint64 count, then uint64 length + bytes each; count 0 for a list);
- an array (``NDArray::Load``): a uint32 magic; anything but ``NDARRAY_V2_MAGIC``
  (0xF993FAC9) or V3 goes to ``NDArray::LegacyLoad``, which reads the shape with
  ``LegacyTShapeLoad``: after ``NDARRAY_V1_MAGIC`` (0xF993FAC8) a ``TShape::Load`` (int32
  ndim, then ndim int64 dims); otherwise the magic itself is the ndim and ndim uint32 dims
  follow. Then ``Context::Load`` (int32 dev_type, 1 for cpu; int32 dev_id), an int32 type
  flag (mshadow's codes: 0 float32, 1 float64, 2 float16, 3 uint8, 4 int32, 5 int8,
  6 int64) and the values, C order, little-endian.
"""

from __future__ import annotations

import struct
from typing import Callable, Dict

import numpy as np

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
CPU = (1, 0)  # Context: dev_type kCPU, dev_id 0
TYPE_FLAGS = {
    "float32": 0,
    "float64": 1,
    "float16": 2,
    "uint8": 3,
    "int32": 4,
    "int8": 5,
    "int64": 6,
}


def _context_type_values(a: np.ndarray) -> bytes:
    values = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return struct.pack("<ii", *CPU) + struct.pack("<i", TYPE_FLAGS[a.dtype.name]) + values.tobytes()


def legacy_array(a: np.ndarray) -> bytes:
    """Before V1: the first uint32 is the ndim, then uint32 dims."""
    shape = struct.pack("<I", a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape)
    return shape + _context_type_values(a)


def v1_array(a: np.ndarray) -> bytes:
    """V1: the magic, then an int64 TShape (int32 ndim, int64 dims)."""
    shape = struct.pack("<Ii", V1_MAGIC, a.ndim) + struct.pack(f"<{a.ndim}q", *a.shape)
    return shape + _context_type_values(a)


ENCODINGS: Dict[str, Callable[[np.ndarray], bytes]] = {"legacy": legacy_array, "v1": v1_array}


def params_bytes(arrays: Dict[str, np.ndarray], encoding: str, named: bool = True) -> bytes:
    """A whole ``mx.nd.save``-style file whose arrays use ``encoding`` (see ENCODINGS)."""
    out = struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))
    out += b"".join(ENCODINGS[encoding](a) for a in arrays.values())
    if not named:
        return out + struct.pack("<Q", 0)
    out += struct.pack("<Q", len(arrays))
    for key in arrays:
        name = key.encode()
        out += struct.pack("<Q", len(name)) + name
    return out


def sample_arrays(seed: int = 0) -> Dict[str, np.ndarray]:
    """One array of each type flag those encodings had, NaN/Inf and zeros among them."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, dtype in enumerate(TYPE_FLAGS):
        shape = (3, 40 + i)
        if dtype.startswith("float"):
            out[f"a_{dtype}"] = (rng.standard_normal(shape) * 40).astype(dtype)
        else:  # the whole range of the type, zeros included
            info = np.iinfo(dtype)
            lo, hi = max(int(info.min), -(2**40)), min(int(info.max), 2**40)
            out[f"a_{dtype}"] = rng.integers(lo, hi, shape, endpoint=True).astype(dtype)
            out[f"a_{dtype}"][0, :3] = 0
    special = rng.standard_normal((4, 5, 6)).astype(np.float32)
    special[0, 0, :4] = [np.nan, np.inf, -np.inf, 0.0]
    out["special"] = special
    return out
