"""Summary statistics of one tensor in one chunked pass; NDArrays are read in place.

MXNet is imported only by the NDArray entry points, inside them."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

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
    """Compute :class:`TensorStats` for ``array`` (any shape, any float, int or bool dtype).

    The fused pass of :class:`StatsPass` over cache-sized chunks (see there); large arrays
    are split between a few threads (numpy releases the GIL in its loops), and the per-chunk
    results are combined in chunk order, so the result does not depend on the threads.
    """
    return array_moments(array).tensor_stats()


def array_moments(array: np.ndarray) -> Moments:
    """The :class:`Moments` of an array in memory (threads for large ones)."""
    a = np.asarray(array).reshape(-1)
    acc = StatsPass(a.dtype)
    for part in _partials(a):
        acc.merge(part)
    acc.size = int(a.size)
    acc.first = a[0].item() if a.size else None
    return acc.result()


# Elements per chunk of an array in memory: 2 MiB of float32, in a core's L2 or the L3
# while every statistic of the chunk is taken. numpy's reductions run at about the same
# speed from either here, so a larger chunk mostly saves the fixed Python cost of each
# chunk (about 13 us, as much as summing 64 Ki floats); measured single-threaded on 8
# arrays of 8 Mi float32: 3.97x one numpy.sum pass at 64 Ki, 2.88x at 512 Ki, 3.20x at 2 Mi.
CHUNK = 1 << 19

# Values per BLAS dot product in :func:`_sums`: a float32 dot of 512 values is good to about
# 1e-7 of its magnitude (measured: 5e-8 on constant data, the worst case), and the row
# results are added in float64.
ROW = 512


# One chunk's contribution: finite count, mean, sum of squared deviations (M2), finite min,
# finite max, zeros, NaN, +Inf, -Inf.
_Partial = Tuple[int, float, float, Any, Any, int, int, int, int]

# Arrays of at least this many chunks are split between threads.
PARALLEL_CHUNKS = 4
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
    workers = _workers()
    if len(starts) < PARALLEL_CHUNKS or workers < 2:
        return _chunk_partials(a, starts)
    step = -(-len(starts) // workers)
    groups = [starts[i : i + step] for i in range(0, len(starts), step)]
    out: List[_Partial] = []
    for part in _pool().map(lambda g: _chunk_partials(a, g), groups):
        out.extend(part)
    return out


def _chunk_partials(a: np.ndarray, starts: Sequence[int]) -> List[_Partial]:
    scratch = Scratch(min(a.size, CHUNK))  # one set per thread, reused for every chunk
    return [chunk_partial(a[s : s + CHUNK], scratch) for s in starts]


class Scratch:
    """Reused buffers for :func:`chunk_partial` (one set per thread): a widened copy of the
    chunk, the squared deviations, and a boolean mask."""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self.buffers: Dict[Tuple[str, str], np.ndarray] = {}

    def get(self, role: str, dtype: Any, n: int) -> np.ndarray:
        dt = np.dtype(dtype)
        buf = self.buffers.get((role, dt.str))
        if buf is None or buf.size < n:
            buf = np.empty(max(n, self.n), dtype=dt)
            self.buffers[(role, dt.str)] = buf
        return buf[:n]


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    """float32 reductions for float16/float32 (exact widening), float64 for the rest: a
    float64 reduction of int64 values keeps 53 bits, as numpy's own float64 reference."""
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def chunk_partial(chunk: np.ndarray, scratch: Scratch) -> _Partial:
    """One flat chunk's :data:`_Partial`, in one fused pass while the chunk is in cache.

    BLAS dot products over rows of the chunk in its compute dtype (float32 for float16/32,
    :func:`_sums`) give the chunk's sum and sum of squares; numpy gives its minimum, maximum
    and zero count; chunks are combined in float64 (:meth:`StatsPass.merge`). Where the
    mean is large against the spread (``E[x^2] - E[x]^2`` would cancel), the deviations
    are summed instead.
    """
    n = int(chunk.size)
    if n == 0:
        return (0, 0.0, 0.0, math.inf, -math.inf, 0, 0, 0, 0)
    work = _compute_dtype(chunk.dtype)
    x = chunk
    if chunk.dtype != work:
        x = scratch.get("wide", work, n)
        np.copyto(x, chunk, casting="unsafe")
    with np.errstate(over="ignore", invalid="ignore"):
        total = _sums(x, squares=False)
        n_nan = n_pos = n_neg = 0
        if not math.isfinite(total) and chunk.dtype.kind == "f":
            # NaN or Inf in the chunk, or a float32 sum that overflowed: count and drop the
            # non-finite values, and redo the chunk in float64 (rare: a copy is fine here).
            n_nan = int(np.count_nonzero(np.isnan(chunk)))
            n_pos = int(np.count_nonzero(chunk == np.inf))
            n_neg = int(np.count_nonzero(chunk == -np.inf))
            x = chunk[np.isfinite(chunk)].astype(np.float64)
            if x.size == 0:
                zeros = 0
                return (0, 0.0, 0.0, math.inf, -math.inf, zeros, n_nan, n_pos, n_neg)
            total = float(np.add.reduce(x))
        count = int(x.size)
        lo, hi = _min_max(chunk if not (n_nan or n_pos or n_neg) else x)
        if x.dtype == np.float32 and 0 < max(-lo, hi) < TINY_SQUARE_ROOT:
            # squares below float32's normal range lose their digits (1.76e-37 squares to
            # 0): a chunk this small is summed in float64 (rare: a copy is fine here)
            x = x.astype(np.float64)
            total = float(np.add.reduce(x))
        zeros = 0
        if lo <= 0 <= hi:
            flags = scratch.get("flags", np.bool_, n)
            zeros = int(np.count_nonzero(np.equal(chunk, 0, out=flags)))
        total, m2 = _deviations(x, total, scratch)
        mean = total / count
    return (count, mean, m2, lo, hi, zeros, n_nan, n_pos, n_neg)


_ONES: Dict[Tuple[str, int], np.ndarray] = {}


def _sums(x: np.ndarray, squares: bool) -> float:
    """The sum (or the sum of squares) of a flat float32/float64 chunk, as a Python float.

    One BLAS dot product per row of :data:`ROW` values (``numpy.matmul`` over the stacked
    rows: a single pass that neither allocates the squares nor holds the GIL per row), the
    row results added in float64; the last partial row in float64. A NaN or Inf, or a
    float32 overflow, shows as a non-finite result, as with ``numpy.add.reduce``.
    """
    n = x.size
    body = n - n % ROW
    total = 0.0
    if body:
        rows = x[:body].reshape(-1, 1, ROW)
        key = (x.dtype.str, ROW)
        ones = _ONES.get(key)
        if ones is None:
            ones = _ONES[key] = np.ones((ROW, 1), dtype=x.dtype)
        other = rows.transpose(0, 2, 1) if squares else ones
        total = float(np.add.reduce(np.matmul(rows, other).reshape(-1), dtype=np.float64))
    if body < n:
        tail = x[body:].astype(np.float64)
        total += float(np.dot(tail, tail)) if squares else float(np.add.reduce(tail))
    return total


def _min_max(x: np.ndarray) -> Tuple[Any, Any]:
    """Minimum and maximum as Python numbers (ints exact, bools as 0/1)."""
    lo, hi = np.minimum.reduce(x), np.maximum.reduce(x)
    if x.dtype.kind in "iub":
        return int(lo), int(hi)
    return float(lo), float(hi)


# float32 values below this in magnitude have squares under float32's normal range (1.2e-38)
TINY_SQUARE_ROOT = 1.1e-19 * 16

# Below this share of the sum of squares, sum(x^2) - sum(x)^2/n has lost too many digits:
# a float32 pairwise sum of squares is good to about 1e-7 of itself, so the deviations keep
# about 1e-6 here; smaller ones are recomputed from the deviations.
CANCELLATION = 0.1


def _deviations(x: np.ndarray, total: float, scratch: Scratch) -> Tuple[float, float]:
    """(sum, M2 = sum((x - mean)^2)) of a finite chunk whose pairwise sum is ``total``.

    Where the sum of squares would cancel, the chunk is centred on its mean rounded to
    x's dtype (``x - c`` is exact near c) and both sums are taken again from the small
    deviations: sum = n c + sum(d), M2 = sum(d^2) - sum(d)^2 / n.
    """
    n = x.size
    sumsq = _sums(x, squares=True)
    if not math.isfinite(sumsq):  # float32 squares overflowed: in float64
        w = x.astype(np.float64)
        sumsq = float(np.dot(w, w))
    m2 = sumsq - total * total / n
    if m2 >= CANCELLATION * sumsq:
        return total, m2
    squares = scratch.get("squares", x.dtype, n)
    centre = x.dtype.type(total / n)
    np.subtract(x, centre, out=squares)
    shift = float(np.add.reduce(squares))
    np.multiply(squares, squares, out=squares)
    q = float(np.add.reduce(squares))
    if not math.isfinite(q):  # pragma: no cover - deviations overflow only if squares did
        w = x.astype(np.float64) - float(centre)
        q, shift = float(np.dot(w, w)), float(w.sum())
    return n * float(centre) + shift, max(q - shift * shift / n, 0.0)


@dataclass(frozen=True)
class Moments:
    """What the fused pass found in one array: sizes, finite moments, extremes and counts.

    ``lo``/``hi`` are the finite minimum and maximum (ints and bools exact; ``inf``/``-inf``
    when nothing is finite); ``first`` is the first value (None for an empty array).
    """

    size: int
    count: int  # finite values
    mean: float
    m2: float  # sum of squared deviations from the mean, over the finite values
    lo: Any
    hi: Any
    zeros: int
    nan: int
    posinf: int
    neginf: int
    first: Optional[float] = None

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    @property
    def sumsq(self) -> float:
        return self.m2 + self.count * self.mean * self.mean

    @property
    def l2(self) -> float:
        return math.sqrt(self.sumsq)

    @property
    def abs_max(self) -> float:
        return float(max(abs(self.lo), abs(self.hi))) if self.count else math.nan

    @property
    def inf(self) -> int:
        return self.posinf + self.neginf

    @property
    def constant(self) -> bool:
        """At least two values, all equal (NaN is never equal to anything)."""
        if self.size < 2 or self.nan:
            return False
        if self.count == self.size:
            return bool(self.lo == self.hi)
        return self.posinf == self.size or self.neginf == self.size

    def tensor_stats(self) -> TensorStats:
        nan = math.nan
        if self.size == 0:
            return TensorStats(nan, nan, nan, nan, nan, nan, nan, 0, 0, 0)
        zeros = self.zeros / self.size
        if self.count == 0:
            return TensorStats(nan, nan, nan, nan, nan, nan, zeros, self.nan, self.inf, self.size)
        return TensorStats(
            mean=self.mean,
            std=self.std,
            min=float(self.lo),
            max=float(self.hi),
            abs_max=self.abs_max,
            l2=self.l2,
            zeros=zeros,
            nan=self.nan,
            inf=self.inf,
            size=self.size,
        )


class StatsPass:
    """The statistics of one array fed chunk by chunk (from a file or from memory).

    ``add(chunk)`` takes each flat chunk in order (it may reuse its buffer afterwards);
    ``result()`` gives the :class:`Moments`. Chunks are merged in float64 with Chan et al.'s
    pairwise update, so the result is within about 1e-7 relative of a float64 computation.
    """

    def __init__(self, dtype: Any = np.float32, scratch: Optional[Scratch] = None) -> None:
        self.dtype = np.dtype(dtype)
        self.scratch = scratch or Scratch(CHUNK)
        self.size = self.count = self.zeros = self.nan = self.posinf = self.neginf = 0
        self.mean = self.m2 = 0.0
        self.lo: Any = math.inf
        self.hi: Any = -math.inf
        self.first: Optional[float] = None

    def add(self, chunk: np.ndarray) -> _Partial:
        """Fold in the next chunk; returns its own partial (its zero count is ``[5]``)."""
        if self.first is None and chunk.size:
            self.first = chunk[0].item()
        self.size += int(chunk.size)
        part = chunk_partial(chunk, self.scratch)
        self.merge(part)
        return part

    def merge(self, part: _Partial) -> None:
        count, mean, m2, lo, hi, zeros, n_nan, n_pos, n_neg = part
        self.zeros += zeros
        self.nan += n_nan
        self.posinf += n_pos
        self.neginf += n_neg
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.count * count / total
        self.count = total
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)

    def result(self) -> Moments:
        return Moments(
            self.size,
            self.count,
            self.mean,
            self.m2,
            self.lo,
            self.hi,
            self.zeros,
            self.nan,
            self.posinf,
            self.neginf,
            self.first,
        )


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

    Squares are summed by :func:`_sums` per chunk (BLAS dot products of rows in float32 for
    float16/32 arrays, the rows and chunks in float64): within about 1e-7 relative of
    numpy's float64 norm. A NaN or Inf propagates as in ``np.linalg.norm`` (NaN wins).
    """
    a = np.asarray(array).reshape(-1)
    if a.size == 0:
        return 0.0
    work = _compute_dtype(a.dtype)
    wide = None if a.dtype == work else np.empty(min(a.size, CHUNK), dtype=work)
    sumsq = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, a.size, CHUNK):
            chunk = a[start : start + CHUNK]
            d = chunk
            if wide is not None:
                d = wide[: chunk.size]
                np.copyto(d, chunk, casting="unsafe")
            part = _sums(d, squares=True)
            if math.isinf(part) and work != np.float64:  # float32 overflow, or a real Inf
                w = chunk.astype(np.float64)
                part = float(np.dot(w, w))
            sumsq += part
    return math.sqrt(sumsq)


def ndarray_l2(nd: Any) -> float:
    """:func:`array_l2` of an MXNet NDArray, read in place when :func:`host_view` can."""
    view = host_view(nd)
    return array_l2(view if view is not None else nd.asnumpy())
