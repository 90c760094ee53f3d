"""Summary statistics of one tensor, computed once per array (no MXNet needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """Compute :class:`TensorStats` for ``array`` (any shape, any float or int dtype)."""
    a = np.asarray(array).reshape(-1)
    size = int(a.size)
    if size == 0:
        nan = float("nan")
        return TensorStats(nan, nan, nan, nan, nan, nan, nan, 0, 0, 0)
    finite_mask = np.isfinite(a)
    n_nan = int(np.count_nonzero(np.isnan(a)))
    n_inf = size - n_nan - int(np.count_nonzero(finite_mask))
    a_fin = a[finite_mask] if n_nan or n_inf else a
    zeros = int(size - np.count_nonzero(a)) / size
    if a_fin.size == 0:
        nan = float("nan")
        return TensorStats(nan, nan, nan, nan, nan, nan, zeros, n_nan, n_inf, size)
    x = a_fin.astype(np.float64, copy=False)
    total = float(np.sum(x))
    sumsq = float(np.dot(x, x))
    n = x.size
    mean = total / n
    var = max(sumsq / n - mean * mean, 0.0)
    # The one-pass variance loses precision when |mean| >> std; redo it in two passes then.
    if var < 1e-8 * max(mean * mean, 1e-300):
        var = float(np.mean((x - mean) ** 2))
    lo, hi = float(np.min(x)), float(np.max(x))
    return TensorStats(
        mean=mean,
        std=math.sqrt(var),
        min=lo,
        max=hi,
        abs_max=max(abs(lo), abs(hi)),
        l2=math.sqrt(sumsq),
        zeros=zeros,
        nan=n_nan,
        inf=n_inf,
        size=size,
    )
