"""Summary numbers per array for triage: size, l2, abs max, std, NaN/Inf, constant.

They come from the one fused statistics pass (:mod:`paraminspect.stats`), over an array in
memory or over a file's chunks (:mod:`paraminspect.diagnose.scan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

import numpy as np

from paraminspect.stats import Moments, array_moments


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


def from_moments(
    key: str, shape: Tuple[int, ...], dtype: str, nbytes: int, m: Moments
) -> ArrayStats:
    """The :class:`ArrayStats` of an array whose fused pass (:class:`paraminspect.stats.StatsPass`)
    gave ``m``: the same numbers ``show --stats`` and ``inspect --stats`` print."""
    constant = m.constant
    return ArrayStats(
        key=key,
        shape=tuple(int(d) for d in shape),
        dtype=dtype,
        size=m.size,
        nbytes=int(nbytes),
        l2=m.l2,
        abs_max=m.abs_max if m.count else 0.0,
        mean=m.mean if m.count else 0.0,
        std=m.std if m.count else 0.0,
        nan=m.nan,
        posinf=m.posinf,
        neginf=m.neginf,
        constant=constant,
        zeros=bool(constant and m.first == 0),
    )


def measure(key: str, array: np.ndarray) -> ArrayStats:
    """Summary numbers of one array (see :class:`ArrayStats`)."""
    a = np.asarray(array)
    return from_moments(key, a.shape, a.dtype.name, a.nbytes, array_moments(a))


def measure_all(arrays: Mapping[str, np.ndarray]) -> Dict[str, ArrayStats]:
    """:func:`measure` for every array, in the mapping's order."""
    return {key: measure(key, a) for key, a in arrays.items()}
