"""Summary statistics of one tensor in one chunked pass; NDArrays are read in place.

MXNet is imported only by the NDArray entry points, inside them."""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

STAT_KEYS = ("mean", "std", "min", "max", "abs_max", "l2", "zeros", "nan", "inf")


@dataclass(frozen=True)
class TensorStats:
    """Statistics of one array.

    ``mean``/``std``/``min``/``max``/``abs_max``/``l2`` are over the finite entries (float64
    accumulation, population std); ``zeros`` is the fraction of exact zeros among all
    entries; ``nan`` and ``inf`` count the entries left out. Empty or all-non-finite arrays
    give NaN for the value statistics.
    """

    mean: float
    std: float
    min: float
    max: float
    abs_max: float
    l2: float
    zeros: float
    nan: int
    inf: int
    size: int

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in STAT_KEYS}


def tensor_stats(array: np.ndarray) -> TensorStats:
    """Compute :class:`TensorStats` for ``array`` (any shape, any float or int dtype).

    One pass over the data in cache-sized chunks: each chunk is widened to float64 once
    (in a reused scratch buffer) and gives its sum, sum of squares, min, max and zero
    count while it is still in cache, so no full-size temporary is ever made. Large arrays
    are split between a few threads (numpy releases the GIL in its loops); the per-chunk
    results are combined in chunk order, so the result does not depend on the threads.
    """
    a = np.asarray(array).reshape(-1)
    size = int(a.size)
    if size == 0:
        nan = float("nan")
        return TensorStats(nan, nan, nan, nan, nan, nan, nan, 0, 0, 0)
    acc = _Moments()
    for part in _partials(a):
        acc.merge(part)
    zeros = acc.zeros / size
    n = acc.count
    if n == 0:
        nan = float("nan")
        return TensorStats(nan, nan, nan, nan, nan, nan, zeros, acc.nan, acc.inf, size)
    mean = acc.total / n
    var = max(acc.sumsq / n - mean * mean, 0.0)
    # The one-pass variance loses precision when |mean| >> std; redo it in two passes then
    # (another chunked pass, still without a full-size temporary).
    if var < 1e-6 * mean * mean:
        scratch = np.empty(min(size, CHUNK), dtype=np.float64)
        var = _centered_sumsq(a, mean, scratch, acc.nan + acc.inf > 0) / n
    return TensorStats(
        mean=mean,
        std=math.sqrt(var),
        min=acc.lo,
        max=acc.hi,
        abs_max=max(abs(acc.lo), abs(acc.hi)),
        l2=math.sqrt(acc.sumsq),
        zeros=zeros,
        nan=acc.nan,
        inf=acc.inf,
        size=size,
    )


# Elements per chunk: 512 KiB of float32 plus a 1 MiB float64 scratch buffer stay in a 2 MiB
# L2 cache while the statistics of the chunk are computed (on the benchmark machine 2**14
# doubles the per-call overhead and 2**19 spills the cache).
CHUNK = 1 << 17


# One chunk's contribution: (finite count, sum, sum of squares, min, max, zeros, nan, inf).
_Partial = Tuple[int, float, float, float, float, int, int, int]

# Arrays of at least this many chunks are split between threads.
PARALLEL_CHUNKS = 8
_POOL: Optional[ThreadPoolExecutor] = None


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_workers(), thread_name_prefix="paraminspect-stats")
    return _POOL


def _partials(a: np.ndarray) -> List[_Partial]:
    """Every chunk's :data:`_Partial` of the flat array ``a``, in chunk order."""
    starts = range(0, a.size, CHUNK)
    blas = _blas()
    with blas:
        workers = _workers() if blas.available else 1
        if len(starts) < PARALLEL_CHUNKS or workers < 2:
            return _chunk_partials(a, starts)
        step = -(-len(starts) // workers)
        groups = [starts[i : i + step] for i in range(0, len(starts), step)]
        out: List[_Partial] = []
        for part in _pool().map(lambda g: _chunk_partials(a, g), groups):
            out.extend(part)
        return out


def _chunk_partials(a: np.ndarray, starts: Sequence[int]) -> List[_Partial]:
    n = min(a.size, CHUNK)
    scratch = np.empty(n, dtype=np.float64)  # one pair per thread, reused for every chunk
    is_zero = np.empty(n, dtype=np.bool_)
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf in a chunk sum is expected
        return [_chunk_partial(a[s : s + CHUNK], scratch, is_zero) for s in starts]


def _chunk_partial(chunk: np.ndarray, scratch: np.ndarray, is_zero: np.ndarray) -> _Partial:
    wide = scratch[: chunk.size]
    np.copyto(wide, chunk, casting="unsafe")
    # count_nonzero on floats is 20x slower than on the bool array of a comparison.
    zeros = int(np.count_nonzero(np.equal(chunk, 0, out=is_zero[: chunk.size])))
    total = float(np.add.reduce(wide))
    n_nan = n_inf = 0
    if not math.isfinite(total):
        # A nan or inf (or a float64 sum overflowing): keep only the finite entries.
        finite = np.isfinite(wide)
        n_nan = int(np.count_nonzero(np.isnan(wide)))
        n_inf = int(wide.size - n_nan - np.count_nonzero(finite))
        wide = wide[finite]
        if wide.size == 0:
            return (0, 0.0, 0.0, math.inf, -math.inf, zeros, n_nan, n_inf)
        total = float(wide.sum())
        lo, hi = float(wide.min()), float(wide.max())
    else:
        lo, hi = float(chunk.min()), float(chunk.max())
    return (int(wide.size), total, _sumsq(wide), lo, hi, zeros, n_nan, n_inf)


def _sumsq(wide: np.ndarray) -> float:
    return float(np.dot(wide, wide))


class _BlasThreads:
    """Switch numpy's bundled OpenBLAS to one thread while statistics run, then back.

    OpenBLAS runs a dot product of more than 10,000 elements on all its threads; for the
    in-cache chunks here waking them costs more than it saves (1.5x slower on 2 cores),
    and from several of our threads at once it oversubscribes the cores (2x slower). This
    is what ``threadpoolctl`` does, for numpy's OpenBLAS only; where that library cannot be
    found (another BLAS), nothing is changed and the statistics stay on one thread.
    """

    def __init__(self) -> None:
        self.get: Any = None
        self.set: Any = None
        self.lock = threading.Lock()
        self.depth = 0
        self.saved = 0
        try:
            import ctypes

            libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
            with open("/proc/self/maps", encoding="ascii", errors="replace") as f:
                paths = {line.split()[-1] for line in f if libs in line and "openblas" in line}
            for path in sorted(paths):
                lib = ctypes.CDLL(path)
                for suffix in ("64_", ""):
                    get = getattr(lib, f"openblas_get_num_threads{suffix}", None)
                    set_ = getattr(lib, f"openblas_set_num_threads{suffix}", None)
                    if get is not None and set_ is not None:
                        get.restype, get.argtypes = ctypes.c_int, []
                        set_.restype, set_.argtypes = None, [ctypes.c_int]
                        self.get, self.set = get, set_
                        return
        except (OSError, ValueError, AttributeError):  # no /proc, no such library
            pass

    @property
    def available(self) -> bool:
        return self.set is not None

    def __enter__(self) -> None:
        if self.set is None:
            return
        with self.lock:
            if self.depth == 0:
                self.saved = int(self.get())
                if self.saved != 1:
                    self.set(1)
            self.depth += 1

    def __exit__(self, *exc: Any) -> None:
        if self.set is None:
            return
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.saved != 1:
                self.set(self.saved)


_BLAS: Optional[_BlasThreads] = None


def _blas() -> _BlasThreads:
    global _BLAS
    if _BLAS is None:
        _BLAS = _BlasThreads()
    return _BLAS


class _Moments:
    """Running sums over chunks: finite count, sum, sum of squares, min, max, zeros."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.sumsq = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.zeros = 0
        self.nan = 0
        self.inf = 0

    def merge(self, part: _Partial) -> None:
        count, total, sumsq, lo, hi, zeros, n_nan, n_inf = part
        self.zeros += zeros
        self.nan += n_nan
        self.inf += n_inf
        if count == 0:  # nothing finite in this chunk
            return
        self.count += count
        self.total += total
        self.sumsq += sumsq
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)


def _centered_sumsq(a: np.ndarray, mean: float, scratch: np.ndarray, filter_: bool) -> float:
    out = 0.0
    for start in range(0, a.size, CHUNK):
        chunk = a[start : start + CHUNK]
        wide = scratch[: chunk.size]
        np.copyto(wide, chunk, casting="unsafe")
        if filter_:
            wide = wide[np.isfinite(wide)]
        wide -= mean
        out += float(np.dot(wide, wide))
    return out


# --------------------------------------------------------------------------- MXNet arrays

# Device types whose memory the CPU can read directly.
_HOST_DEVICES = ("cpu", "cpu_pinned", "cpu_shared")


def host_view(nd: Any) -> Optional[np.ndarray]:
    """A numpy array over an NDArray's own buffer (no copy), or None when that is unsafe.

    Safe means: default (dense) storage in host memory with a numpy dtype, and every
    pending write finished (``wait_to_read``). ``MXNDArrayGetData`` converts a oneDNN-laid-out
    array to the default row-major layout first and points at the array's first element
    (a slice's offset included), and a dense MXNet array is always C-contiguous, so the view
    holds exactly what ``asnumpy()`` would copy out. The view keeps ``nd`` alive, but it is
    only meaningful until the next MXNet operation that writes to ``nd``: read it right away.
    """
    import ctypes

    from mxnet.base import _LIB, check_call

    if nd.stype != "default" or nd.context.device_type not in _HOST_DEVICES:
        return None
    dtype = np.dtype(nd.dtype)
    size = int(nd.size)
    if size == 0 or dtype.hasobject:
        return None
    nd.wait_to_read()
    pointer = ctypes.c_void_p()
    check_call(_LIB.MXNDArrayGetData(nd.handle, ctypes.byref(pointer)))
    if not pointer.value or pointer.value % dtype.alignment:
        return None
    buffer = (ctypes.c_char * (size * dtype.itemsize)).from_address(pointer.value)
    buffer._owner = nd  # type: ignore[attr-defined]  # keep the NDArray alive with the view
    flat: np.ndarray = np.frombuffer(memoryview(buffer), dtype=dtype)
    view = flat.reshape(nd.shape)
    view.flags.writeable = False
    return view


def ndarray_stats(nd: Any) -> TensorStats:
    """:func:`tensor_stats` of an MXNet NDArray, read in place when :func:`host_view` can
    (else through one ``asnumpy()`` copy). Equal to ``tensor_stats(nd.asnumpy())``."""
    view = host_view(nd)
    return tensor_stats(view if view is not None else nd.asnumpy())


def array_l2(array: np.ndarray) -> float:
    """``np.linalg.norm(array.astype(np.float64))`` without the full-size float64 copy.

    The same chunks as :func:`tensor_stats` are widened into one small scratch buffer, so
    for an array without NaN/Inf the result is bit-for-bit ``tensor_stats(array).l2``; a NaN
    or Inf propagates as in ``np.linalg.norm`` (NaN wins over Inf).
    """
    a = np.asarray(array).reshape(-1)
    if a.size == 0:
        return 0.0
    scratch = np.empty(min(a.size, CHUNK), dtype=np.float64)
    sumsq = 0.0
    with _blas(), np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, a.size, CHUNK):
            chunk = a[start : start + CHUNK]
            wide = scratch[: chunk.size]
            np.copyto(wide, chunk, casting="unsafe")
            sumsq += _sumsq(wide)
    return math.sqrt(sumsq)


def ndarray_l2(nd: Any) -> float:
    """:func:`array_l2` of an MXNet NDArray, read in place when :func:`host_view` can."""
    view = host_view(nd)
    return array_l2(view if view is not None else nd.asnumpy())
