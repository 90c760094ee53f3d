"""One pass of summary numbers per array: size, l2, abs max, std, NaN/Inf, constant.

Arrays are read in flat chunks of :data:`CHUNK` values, each widened to float64 once, so an
array of hundreds of MB costs a bounded amount of extra memory; means and variances of the
chunks are merged with Chan et al.'s pairwise formula (no ``sum(x*x) - n*mean**2``
cancellation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

import numpy as np

CHUNK = 1 << 22  # values per chunk: 32 MiB of float64


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

    def add(self, x: np.ndarray) -> None:
        """Fold in a float64 chunk of finite values."""
        n = int(x.size)
        if n == 0:
            return
        mean = float(x.sum()) / n
        dev = x - mean
        m2 = float(np.dot(dev, dev))
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.sumsq += float(np.dot(x, x))
        self.abs_max = max(self.abs_max, float(np.max(np.abs(x))))


def measure(key: str, array: np.ndarray) -> ArrayStats:
    """Summary numbers of one array (see :class:`ArrayStats`)."""
    flat = array.reshape(-1)
    is_float = np.issubdtype(array.dtype, np.floating)
    moments = _Moments()
    nan = posinf = neginf = 0
    low = high = None
    for start in range(0, flat.size, CHUNK):
        chunk = flat[start : start + CHUNK]
        wide = chunk.astype(np.float64)
        # min/max in the array's own dtype: exact for int64, NaN propagates for floats
        c_low, c_high = chunk.min(), chunk.max()
        low = c_low if low is None or c_low < low or c_low != c_low else low
        high = c_high if high is None or c_high > high or c_high != c_high else high
        if is_float and not math.isfinite(float(wide.sum())):
            # rare path (NaN/Inf, or a float64 sum that overflowed): count and drop them
            finite = np.isfinite(wide)
            nan += int(np.count_nonzero(np.isnan(wide)))
            posinf += int(np.count_nonzero(wide == np.inf))
            neginf += int(np.count_nonzero(wide == -np.inf))
            wide = wide[finite]
        moments.add(wide)
    constant = bool(flat.size >= 2 and nan == 0 and low == high)
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
        zeros=bool(constant and low == 0),
    )


def measure_all(arrays: Mapping[str, np.ndarray]) -> Dict[str, ArrayStats]:
    """:func:`measure` for every array, in the mapping's order."""
    return {key: measure(key, a) for key, a in arrays.items()}
