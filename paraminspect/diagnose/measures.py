"""One pass of summary numbers per array: size, l2, abs max, std, NaN/Inf, constant.

Arrays are read in flat chunks of :data:`CHUNK` values, each widened to float64 once into a
buffer that stays in the CPU cache, so an array of hundreds of MB costs no extra memory and
each pass over a chunk is cheap; means and variances of the chunks are merged with Chan et
al.'s pairwise formula (no ``sum(x*x) - n*mean**2`` cancellation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

import numpy as np

CHUNK = 1 << 16  # values per chunk: 512 KiB of float64, within a core's L2 cache


@dataclass(frozen=True)
class ArrayStats:
    """Summary numbers of one array.

    ``l2``, ``abs_max``, ``mean`` and ``std`` are over the finite values only (0.0 when
    there are none). ``constant`` means at least two values, all equal (NaN is never equal);
    ``zeros`` means constant and equal to zero.
    """

    key: str
    shape: Tuple[int, ...]
    dtype: str
    size: int
    nbytes: int
    l2: float
    abs_max: float
    mean: float
    std: float
    nan: int
    posinf: int
    neginf: int
    constant: bool
    zeros: bool

    @property
    def nonfinite(self) -> int:
        return self.nan + self.posinf + self.neginf


class _Moments:
    """Running count, mean and sum of squared deviations (merged chunk by chunk)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sumsq = 0.0
        self.abs_max = 0.0

    def add(self, x: np.ndarray, total: float) -> None:
        """Fold in a float64 chunk of finite values whose sum is ``total`` (overwrites x)."""
        n = int(x.size)
        if n == 0:
            return
        self.abs_max = max(self.abs_max, float(x.max()), -float(x.min()))
        self.sumsq += float(np.dot(x, x))
        mean = total / n
        np.subtract(x, mean, out=x)
        m2 = float(np.dot(x, x))
        count = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / count
        self.m2 += m2 + delta * delta * self.n * n / count
        self.n = count


def measure(key: str, array: np.ndarray) -> ArrayStats:
    """Summary numbers of one array (see :class:`ArrayStats`)."""
    flat = array.reshape(-1)
    is_float = np.issubdtype(array.dtype, np.floating)
    moments = _Moments()
    nan = posinf = neginf = 0
    buffer = np.empty(min(CHUNK, flat.size), np.float64)
    for start in range(0, flat.size, CHUNK):
        chunk = flat[start : start + CHUNK]
        wide = buffer[: chunk.size]
        wide[...] = chunk
        total = float(wide.sum())
        if is_float and not math.isfinite(total):
            # rare path (NaN/Inf, or a float64 sum that overflowed): count and drop them
            nan += int(np.count_nonzero(np.isnan(wide)))
            posinf += int(np.count_nonzero(wide == np.inf))
            neginf += int(np.count_nonzero(wide == -np.inf))
            wide = wide[np.isfinite(wide)]
            total = float(wide.sum())
        moments.add(wide, total)
    # min and max in the array's own dtype: exact for int64; NaN is never equal
    constant = bool(flat.size >= 2 and nan == 0 and flat.min() == flat.max())
    n = moments.n
    return ArrayStats(
        key=key,
        shape=tuple(int(d) for d in array.shape),
        dtype=array.dtype.name,
        size=int(array.size),
        nbytes=int(array.nbytes),
        l2=math.sqrt(moments.sumsq),
        abs_max=moments.abs_max,
        mean=moments.mean if n else 0.0,
        std=math.sqrt(max(moments.m2 / n, 0.0)) if n else 0.0,
        nan=nan,
        posinf=posinf,
        neginf=neginf,
        constant=constant,
        zeros=bool(constant and flat[0] == 0),
    )


def measure_all(arrays: Mapping[str, np.ndarray]) -> Dict[str, ArrayStats]:
    """:func:`measure` for every array, in the mapping's order."""
    return {key: measure(key, a) for key, a in arrays.items()}
