"""MXNet parameter files: check, read, write atomically, and move parameters in and out of a net.

Values are only ever read by ``mx.nd.load`` (arrays only: no pickle, no code). Before it runs,
:func:`check_file` walks the file's structure (headers, shapes, sizes; never the values) so
that an empty, truncated, random or corrupt file gets a one-line error naming the file instead
of MXNet's ``Invalid NDArray file format`` or a ``bad_alloc`` from a huge declared count.

The format (``src/ndarray/ndarray.cc`` in MXNet 1.9.1, little endian)::

    uint64 0x112, uint64 0,
    uint64 count, count x NDArray,
    uint64 nkeys (0 for a list, else count), nkeys x (uint64 length, bytes)

    NDArray (V2): uint32 0xF993FAC9, int32 stype, [sparse: shape], shape, [ctx, int32 dtype,
                  [sparse: aux types and shapes], data, [aux data]]
    shape: int32 ndim, ndim x int64; ndim 0 means an empty array (nothing follows)
    ctx: int32 dev_type, int32 dev_id
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

import numpy as np

from paraminspect.errors import CheckpointError
from paraminspect.fileio import atomic_write as atomic_write
from paraminspect.fileio import check_target as check_target

LIST_MAGIC = 0x112
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
MAX_NDIM = 32


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ArrayHeader:
    """What the file says about one array before its values (offset of the data in bytes)."""

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
    headers: Tuple[ArrayHeader, ...]  # empty when the arrays use a legacy encoding
    named: bool  # a dict (keys saved) rather than a list
    trailing: int  # bytes after the key list (nd.load ignores them)


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
        keys = self.keys
        if not keys:
            return "empty"
        if not self.named:
            return "list"
        if all(k.startswith(("arg:", "aux:")) for k in keys):
            return "module"
        if all("." in k for k in keys):
            return "gluon"
        return "names"


def plural(n: int, word: str) -> str:
    """``1 array``, ``2 arrays``, ``1,000 arrays``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _quote(path: str) -> str:
    return f"'{path}'"


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
                f"{_quote(self.path)} is truncated: {what} needs {n:,} bytes at offset "
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
            raise CheckpointError(f"{_quote(self.path)} is corrupt: {what} has {ndim:,} dimensions")
        dims = self.unpack(f"<{ndim}q", what)
        if any(d < 0 for d in dims):
            raise CheckpointError(f"{_quote(self.path)} is corrupt: {what} has shape {dims}")
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


def _open_for_reading(path: str) -> Tuple[BinaryIO, int]:
    p = Path(path)
    if not p.exists():
        parent = p.parent
        where = "" if parent.is_dir() else f" (and folder '{parent}' does not exist)"
        raise CheckpointError(f"cannot read {_quote(path)}: no such file{where}")
    if p.is_dir():
        raise CheckpointError(f"cannot read {_quote(path)}: it is a folder, not a parameter file")
    try:
        f = open(p, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as e:
        raise CheckpointError(f"cannot read {_quote(path)}: {e.strerror or e}") from e
    return f, os.fstat(f.fileno()).st_size


def check_file(path: str) -> FileLayout:
    """Walk the structure of an ``mx.nd.save`` file without reading its values.

    Raises:
        CheckpointError: missing, unreadable, empty, not a parameter file, truncated, or a
            header that cannot be right (a count larger than the file could hold, ...).
    """
    f, size = _open_for_reading(path)
    with f:
        q = _quote(path)
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
        headers: List[ArrayHeader] = []
        for i in range(count):
            h = _read_array_header(r, i, count)
            if h is None:  # a legacy encoding: leave the rest to nd.load
                return FileLayout(size, count, (), named=True, trailing=0)
            headers.append(h)
        (nkeys,) = r.unpack("<Q", "the key count")
        if nkeys not in (0, count):
            raise CheckpointError(
                f"{q} is corrupt: it has {plural(count, 'array')} but {plural(nkeys, 'name')} "
                "(must be 0 or equal)"
            )
        for i in range(nkeys):
            (length,) = r.unpack("<Q", f"the name of array #{i}")
            r.skip(length, f"the name of array #{i}")
        return FileLayout(size, count, tuple(headers), nkeys > 0, size - r.pos)


def _read_array_header(r: _Reader, i: int, count: int) -> Optional[ArrayHeader]:
    what = f"array #{i} of {count:,}"
    q = _quote(r.path)
    (magic,) = r.unpack("<I", what)
    if magic == V3_MAGIC:
        raise CheckpointError(
            f"{q} was saved with numpy semantics (npx.save, magic 0xF993FACA); "
            "this tool reads classic mx.nd.save files"
        )
    if magic != V2_MAGIC:
        return None
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
        raise CheckpointError(f"mx.nd.load could not read {_quote(path)}: {last}") from e
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
                f"{_quote(path)}: array '{key}' cannot be converted to numpy: {e}"
            ) from e
    return ParamFile(path=str(path), named=named, arrays=arrays, size=layout.size)


# --------------------------------------------------------------------------- writing


# atomic_write and check_target live in paraminspect.fileio (one implementation for every
# output file); they are re-exported here for the checkpoint code and its callers.


# --------------------------------------------------------------------------- a net's parameters


def structural_params(net: Any) -> Dict[str, Any]:
    """The net's parameters keyed as ``save_parameters`` keys them (``0.weight``, ...).

    A shared parameter appears under every layer that uses it (``deduplicate=False``).
    """
    return dict(net._collect_params_with_prefix())


def net_arrays(model: Any) -> Dict[str, np.ndarray]:
    """The values ``save_parameters`` would write, as numpy (raises on deferred params)."""
    missing = [k for k, p in structural_params(model.net).items() if not _has_data(p)]
    if missing:
        raise CheckpointError(
            f"parameters {', '.join(missing)} have no values yet (deferred initialization); "
            "run without --before-forward"
        )
    return {k: p.data().asnumpy() for k, p in structural_params(model.net).items()}


def _has_data(param: Any) -> bool:
    return getattr(param, "_data", None) is not None


@dataclass(frozen=True)
class SaveRequest:
    """``--save PATH [--force]``."""

    path: str
    force: bool = False


@dataclass(frozen=True)
class LoadRequest:
    """``--load PATH [--allow-missing] [--ignore-extra]``."""

    path: str
    allow_missing: bool = False
    ignore_extra: bool = False


@dataclass(frozen=True)
class SaveResult:
    path: str
    arrays: int
    values: int
    size: int

    @property
    def message(self) -> str:
        return (
            f"saved {plural(self.arrays, 'array')} ({self.values:,} values) to {self.path} "
            f"({self.size:,} bytes)"
        )


@dataclass(frozen=True)
class LoadResult:
    path: str
    loaded: Tuple[str, ...]  # parameter names that got values from the file
    missing: Tuple[str, ...] = ()  # kept their values (--allow-missing)
    ignored: Tuple[str, ...] = ()  # file keys nobody used (--ignore-extra)
    notes: Tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        msg = f"loaded {plural(len(self.loaded), 'parameter')} from {self.path}"
        if self.missing:
            msg += f"; kept {len(self.missing)} missing ({', '.join(self.missing)})"
        if self.ignored:
            msg += f"; ignored {len(self.ignored)} extra ({', '.join(self.ignored)})"
        return msg


def save_params(model: Any, path: str, force: bool = False) -> SaveResult:
    """``model.net.save_parameters(path)``, atomically (see :func:`atomic_write`).

    Raises:
        CheckpointError: a parameter has no values yet, or the file cannot be written.
    """
    params = structural_params(model.net)
    deferred = [k for k, p in params.items() if not _has_data(p)]
    if deferred:
        raise CheckpointError(
            f"cannot save {_quote(path)}: {', '.join(deferred)} have no values yet "
            "(deferred initialization); run without --before-forward"
        )

    def write(tmp: str) -> None:
        model.net.save_parameters(tmp)

    size = atomic_write(path, write, force)
    values = sum(math.prod(p.shape) for p in params.values())
    return SaveResult(str(path), len(params), values, size)


def _short_list(items: List[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _shape_fits(want: Tuple[int, ...], got: Tuple[int, ...]) -> bool:
    """A net shape with 0 (deferred input width) accepts any size there, as MXNet does."""
    return len(want) == len(got) and all(w in (0, g) for w, g in zip(want, got))


def load_params(
    model: Any, path: str, allow_missing: bool = False, ignore_extra: bool = False
) -> LoadResult:
    """Load a parameter file into ``model.net``, like ``net.load_parameters``.

    Keys may be structural (``0.weight``, from ``save_parameters``, shared parameters under
    one or all of their layers) or parameter names (``dense0_weight``, optionally with
    Module-style ``arg:``/``aux:`` prefixes). Every problem is found before anything is
    changed and reported in one error.

    Raises:
        CheckpointError: unreadable file; missing keys (unless ``allow_missing``), extra keys
            (unless ``ignore_extra``), shape or dtype mismatches (always), or a shared
            parameter stored twice with different values.
    """
    import mxnet as mx

    pf = read_params(path)
    if not pf.named and pf.arrays:
        raise CheckpointError(
            f"cannot load {_quote(path)}: it holds a plain list of arrays without names, "
            "so they cannot be matched to parameters"
        )
    arrays = dict(pf.arrays)
    if arrays and all(k.startswith(("arg:", "aux:")) for k in arrays):
        arrays = {k[4:]: v for k, v in arrays.items()}
    if any("." in k for k in arrays) or not arrays:
        # keys as save_parameters writes them: each parameter under every layer using it
        by_param: Dict[int, List[str]] = {}
        params: Dict[int, Any] = {}
        for key, p in structural_params(model.net).items():
            by_param.setdefault(id(p), []).append(key)
            params[id(p)] = p
        groups = [(params[i], keys) for i, keys in by_param.items()]
    else:
        groups = [(p, [name]) for name, p in model.params.items()]

    known = {k for _, keys in groups for k in keys}
    missing = [keys[0] for _, keys in groups if not any(k in arrays for k in keys)]
    extra = [k for k in arrays if k not in known]
    mismatched: List[str] = []
    conflicts: List[str] = []
    plan: List[Tuple[Any, str]] = []
    for p, keys in groups:
        present = [k for k in keys if k in arrays]
        if not present:
            continue
        for k in present:
            a = arrays[k]
            want = tuple(p.shape)
            if not _shape_fits(want, a.shape):
                mismatched.append(f"{k}: file {tuple(a.shape)} vs net {want}")
            elif np.dtype(p.dtype) != a.dtype:
                mismatched.append(f"{k}: file {a.dtype.name} vs net {np.dtype(p.dtype).name}")
        first = arrays[present[0]]
        for k in present[1:]:
            other = arrays[k]
            if other.shape == first.shape and other.tobytes() != first.tobytes():
                conflicts.append(f"{present[0]} and {k}")
        plan.append((p, present[0]))

    problems = []
    if missing and not allow_missing:
        problems.append(f"missing {len(missing)} ({_short_list(missing)})")
    if extra and not ignore_extra:
        problems.append(f"extra {len(extra)} ({_short_list(extra)})")
    if mismatched:
        problems.append(f"{len(mismatched)} mismatched ({_short_list(mismatched, 4)})")
    if conflicts:
        problems.append(
            f"shared parameter stored with different values under {_short_list(conflicts, 4)}"
        )
    if problems:
        hints = []
        if missing and not allow_missing:
            hints.append("--allow-missing keeps initialized values for missing keys")
        if extra and not ignore_extra:
            hints.append("--ignore-extra skips extra keys")
        raise CheckpointError(
            f"cannot load {_quote(path)} into {model.loaded.source}: "
            + "; ".join(problems)
            + (f" ({'; '.join(hints)})" if hints else "")
        )

    for p, key in plan:
        p._load_init(mx.nd.array(arrays[key], dtype=arrays[key].dtype), None)
    label = Path(path).name
    loaded = tuple(p.name for p, _ in plan)
    for name in loaded:
        model.init[name] = f"loaded({label})"
    return LoadResult(str(path), loaded, tuple(missing), tuple(extra))
