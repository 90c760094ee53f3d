"""Read MXNet parameter files (``mx.nd.save`` / ``save_parameters``) without running code.

The format is parsed by hand so that a truncated, random or hostile file is refused with a
one-line message before MXNet sees it, and so that ``inspect`` needs no MXNet for headers.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Tuple

import numpy as np

from paraminspect._text import plural, quote
from paraminspect.errors import CheckpointError
from paraminspect.fileio import special_file_kind

LIST_MAGIC = 0x112


# 0xF993FAC8 marks a V1 array (int64 shape, no storage type); before it, an array began
# with its dimension count (uint32 dims). Both are dense; MXNet 1.x still loads them
# (NDArray::LegacyLoad) but writes V2/V3, which this reader streams.
V1_MAGIC = 0xF993FAC8


V2_MAGIC = 0xF993FAC9


V3_MAGIC = 0xF993FACA  # numpy-shape semantics (npx.save); plain nd.load refuses it


# MXNet dtype codes the Python frontend of 1.9.1 can turn into numpy (ndarray._DTYPE_MX_TO_NP)
DTYPES: Dict[int, Tuple[str, int]] = {
    0: ("float32", 4),
    1: ("float64", 8),
    2: ("float16", 2),
    3: ("uint8", 1),
    4: ("int32", 4),
    5: ("int8", 1),
    6: ("int64", 8),
    7: ("bool", 1),
    12: ("bfloat16", 2),
}


AUX_COUNT = {0: 0, 1: 1, 2: 2}  # storage type -> number of aux arrays (dense, row_sparse, csr)
LEGACY_STYPE = -1  # ArrayHeader.stype of a dense array in a pre-V2 encoding (no storage type)


MAX_NDIM = 32


@dataclass(frozen=True)
class ArrayHeader:
    """What the file says about one array before its values (offset of the data in bytes).

    ``stype``: 0 dense, 1 row_sparse, 2 csr (V2 arrays), or :data:`LEGACY_STYPE`."""

    index: int
    shape: Tuple[int, ...]
    dtype: str
    stype: int
    data_offset: int
    data_bytes: int


@dataclass(frozen=True)
class FileLayout:
    """The structure of a parameter file as :func:`check_file` found it."""

    size: int
    count: int
    headers: Tuple[ArrayHeader, ...]
    named: bool  # a dict (keys saved) rather than a list
    trailing: int  # bytes after the key list (nd.load ignores them)
    keys: Tuple[str, ...] = ()  # the saved names, in file order (empty for a list)

    def index(self) -> Dict[str, ArrayHeader]:
        """Saved name -> its array's header (empty for a list)."""
        if len(self.keys) != len(self.headers):
            return {}
        return dict(zip(self.keys, self.headers))


def layout_kind(keys: Tuple[str, ...], named: bool) -> str:
    """``gluon`` (save_parameters: ``0.weight``), ``module`` (``arg:``/``aux:``), ``list``
    (nd.save of a list), ``names`` (any other dict), or ``empty``."""
    if not keys:
        return "empty"
    if not named:
        return "list"
    if all(k.startswith(("arg:", "aux:")) for k in keys):
        return "module"
    if all("." in k for k in keys):
        return "gluon"
    return "names"


@dataclass(frozen=True, eq=False)
class ParamFile:
    """Every array in a parameter file, as numpy, in file order.

    ``keys`` are the saved names, or ``[0]``, ``[1]``, ... for a plain list.
    """

    path: str
    named: bool
    arrays: Dict[str, np.ndarray]
    size: int  # file size in bytes

    @property
    def keys(self) -> Tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def kind(self) -> str:
        """``gluon`` (save_parameters: ``0.weight``), ``module`` (``arg:``/``aux:``),
        ``list`` (nd.save of a list), ``names`` (any other dict), or ``empty``."""
        return layout_kind(self.keys, self.named)


class _Reader:
    """Reads little-endian fields from a file, failing with a 'truncated' error."""

    def __init__(self, f: BinaryIO, path: str, size: int) -> None:
        self.f, self.path, self.size = f, path, size

    @property
    def pos(self) -> int:
        return self.f.tell()

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise CheckpointError(
                f"{quote(self.path)} is truncated: {what} needs {n:,} bytes at offset "
                f"{self.pos:,} but the file ends at {self.size:,} (an interrupted save, "
                "download or copy?)"
            )

    def unpack(self, fmt: str, what: str) -> Tuple[Any, ...]:
        n = struct.calcsize(fmt)
        self.need(n, what)
        return struct.unpack(fmt, self.f.read(n))

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.f.seek(n, os.SEEK_CUR)

    def shape(self, what: str) -> Tuple[int, ...]:
        (ndim,) = self.unpack("<i", what)
        if ndim <= 0:  # 0: empty array; -1: unknown shape (numpy semantics)
            return ()
        if ndim > MAX_NDIM:
            raise CheckpointError(f"{quote(self.path)} is corrupt: {what} has {ndim:,} dimensions")
        dims = self.unpack(f"<{ndim}q", what)
        if any(d < 0 for d in dims):
            raise CheckpointError(f"{quote(self.path)} is corrupt: {what} has shape {dims}")
        return tuple(dims)


def _not_params_hint(head: bytes) -> str:
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "; it looks like JSON (a Module's -symbol.json? its weights are in NAME-0000.params)"
    if head.startswith(b"\x93NUMPY"):
        return "; it is a numpy .npy file"
    if head.startswith(b"PK\x03\x04"):
        return "; it is a zip archive (a numpy .npz or a PyTorch checkpoint?)"
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return "; it is a Python pickle (never loaded here: pickles can run code)"
    if head.startswith(b"\x89HDF"):
        return "; it is an HDF5 file (Keras?)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:  # may also be a multi-byte character cut at byte 64
        return ""
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        return "; it is a text file"
    return ""


def open_for_reading(path: str) -> Tuple[BinaryIO, int]:
    p = Path(path)
    if not p.exists():
        parent = p.parent
        where = "" if parent.is_dir() else f" (and folder '{parent}' does not exist)"
        raise CheckpointError(f"cannot read {quote(path)}: no such file{where}")
    if p.is_dir():
        raise CheckpointError(f"cannot read {quote(path)}: it is a folder, not a parameter file")
    kind = special_file_kind(p)
    if kind is not None:
        raise CheckpointError(
            f"cannot read {quote(path)}: it is {kind}, not a parameter file "
            "(give a file written by save_parameters or mx.nd.save)"
        )
    try:
        f = open(p, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise CheckpointError(f"cannot read {quote(path)}: {e.strerror or e}") from e
    return f, os.fstat(f.fileno()).st_size


def check_file(path: str) -> FileLayout:
    """Walk the structure of an ``mx.nd.save`` file without reading its values.

    Raises:
        CheckpointError: missing, unreadable, empty, not a parameter file, truncated, or a
            header that cannot be right (a count larger than the file could hold, ...).
    """
    f, size = open_for_reading(path)
    with f:
        q = quote(path)
        if size == 0:
            raise CheckpointError(f"{q} is empty (0 bytes), not an MXNet parameter file")
        head = f.read(64)
        f.seek(0)
        if size < 16 or struct.unpack("<Q", head[:8])[0] != LIST_MAGIC:
            raise CheckpointError(
                f"{q} is not an MXNet parameter file (written by mx.nd.save or "
                f"save_parameters): it does not start with the 0x112 header{_not_params_hint(head)}"
            )
        r = _Reader(f, path, size)
        r.skip(16, "the header")
        (count,) = r.unpack("<Q", "the array count")
        # Each array takes at least 4 bytes, so a bigger count is corruption (and would make
        # MXNet try to allocate it: bad_alloc).
        if count > (size - r.pos) // 4:
            raise CheckpointError(
                f"{q} is corrupt: its header declares {plural(count, 'array')} but the file "
                f"has only {size:,} bytes"
            )
        headers: List[ArrayHeader] = [_read_array_header(r, i, count) for i in range(count)]
        (nkeys,) = r.unpack("<Q", "the key count")
        if nkeys not in (0, count):
            raise CheckpointError(
                f"{q} is corrupt: it has {plural(count, 'array')} but {plural(nkeys, 'name')} "
                "(must be 0 or equal)"
            )
        keys = []
        for i in range(nkeys):
            (length,) = r.unpack("<Q", f"the name of array #{i}")
            r.need(length, f"the name of array #{i}")
            keys.append(f.read(length).decode("utf-8", errors="replace"))
        return FileLayout(size, count, tuple(headers), nkeys > 0, size - r.pos, tuple(keys))


def _read_array_header(r: _Reader, i: int, count: int) -> ArrayHeader:
    what = f"array #{i} of {count:,}"
    q = quote(r.path)
    (magic,) = r.unpack("<I", what)
    if magic == V3_MAGIC:
        raise CheckpointError(
            f"{q} was saved with numpy semantics (npx.save, magic 0xF993FACA); "
            "this tool reads classic mx.nd.save files"
        )
    if magic != V2_MAGIC:
        return _read_legacy_header(r, i, what, magic)
    (stype,) = r.unpack("<i", what)
    if stype not in AUX_COUNT:
        raise CheckpointError(f"{q} is corrupt: {what} has unknown storage type {stype}")
    nad = AUX_COUNT[stype]
    if nad:
        r.shape(what)  # the storage shape; the data size comes from the aux shapes below
    shape = r.shape(what)
    if not shape:  # an empty NDArray: nothing more is stored
        return ArrayHeader(i, (), "none", stype, r.pos, 0)
    r.skip(8, what)  # context: dev_type, dev_id
    (code,) = r.unpack("<i", what)
    if code not in DTYPES:
        raise CheckpointError(f"{q} is corrupt: {what} has unknown dtype code {code}")
    dtype, itemsize = DTYPES[code]
    aux_bytes = 0
    aux_shapes = []
    for _ in range(nad):
        (aux_code,) = r.unpack("<i", what)
        aux_shapes.append(r.shape(what))
        aux_bytes += math.prod(aux_shapes[-1]) * DTYPES.get(aux_code, ("", 8))[1]
    # MXNet sizes sparse data from the index arrays (NDArray::CheckAndAlloc), not from the
    # stored storage shape (which is (0,) for a CSR array made by tostype('csr')).
    if stype == 2:  # csr: aux = (indptr, idx); one value per column index
        values = math.prod(aux_shapes[1])
    elif stype == 1:  # row_sparse: aux = (idx,); one row per index
        values = (aux_shapes[0][0] if aux_shapes[0] else 0) * math.prod(shape[1:])
    else:
        values = math.prod(shape)
    data_bytes = itemsize * values
    offset = r.pos
    r.skip(data_bytes + aux_bytes, f"the data of {what} (shape {shape}, {dtype})")
    return ArrayHeader(i, shape, dtype, stype, offset, data_bytes)


def _read_legacy_header(r: _Reader, i: int, what: str, magic: int) -> ArrayHeader:
    """A dense array saved before the V2 layout, walked as MXNet 1.9.1's
    ``NDArray::LegacyLoad`` reads it: a V1 array (``magic`` 0xF993FAC8) has an int32 ndim
    and int64 dims; an older one has no magic, its first uint32 is the ndim, and uint32
    dims follow. Then the context (2 x int32), the dtype code (int32) and the values. A
    0-d shape reads as one value (1.9.1 takes it as a scalar, not an empty array)."""
    q = quote(r.path)
    if magic == V1_MAGIC:
        (ndim,) = r.unpack("<i", what)
        if not 0 <= ndim <= MAX_NDIM:
            raise CheckpointError(f"{q} is corrupt: {what} has {ndim:,} dimensions")
        code = "q"
    else:
        ndim, code = magic, "I"
    if ndim > MAX_NDIM:
        raise CheckpointError(
            f"{q} is corrupt: {what} starts with 0x{magic:08X}, neither an NDArray magic "
            f"(0x{V2_MAGIC:08X}) nor a dimension count"
        )
    shape = r.unpack(f"<{ndim}{code}", what) if ndim else ()
    if any(d < 0 for d in shape):
        raise CheckpointError(f"{q} is corrupt: {what} has shape {shape}")
    r.skip(8, what)  # context: dev_type, dev_id
    (dtype_code,) = r.unpack("<i", what)
    if dtype_code not in DTYPES:
        raise CheckpointError(f"{q} is corrupt: {what} has unknown dtype code {dtype_code}")
    dtype, itemsize = DTYPES[dtype_code]
    offset = r.pos
    data_bytes = itemsize * math.prod(shape)
    r.skip(data_bytes, f"the data of {what} (shape {shape}, {dtype})")
    return ArrayHeader(i, tuple(shape), dtype, LEGACY_STYPE, offset, data_bytes)


def read_params(path: str) -> ParamFile:
    """Check ``path`` and read every array with ``mx.nd.load`` (the only reader of values).

    Raises:
        CheckpointError: see :func:`check_file`; also when ``nd.load`` itself refuses.
    """
    layout = check_file(path)
    import mxnet as mx

    try:
        loaded = mx.nd.load(str(path))
    except mx.base.MXNetError as e:
        lines = [x for x in str(e).splitlines() if x.strip()]
        last = lines[-1].strip() if lines else type(e).__name__
        raise CheckpointError(f"mx.nd.load could not read {quote(path)}: {last}") from e
    if isinstance(loaded, dict):
        items = list(loaded.items())
        named = True
    else:
        items = [(f"[{i}]", v) for i, v in enumerate(loaded)]
        named = False
    arrays: Dict[str, np.ndarray] = {}
    for key, value in items:
        try:
            arrays[key] = value.asnumpy()
        except (mx.base.MXNetError, TypeError, ValueError) as e:
            raise CheckpointError(
                f"{quote(path)}: array '{key}' cannot be converted to numpy: {e}"
            ) from e
    return ParamFile(path=str(path), named=named, arrays=arrays, size=layout.size)
