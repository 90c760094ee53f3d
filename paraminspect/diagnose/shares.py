"""How much of a shared parameter's gradient each of its uses contributes.

A parameter read by several layers gets one gradient, the sum of each use's contribution:
``G = sum_i g_i``. Use ``i``'s share is the part of ``G`` along which it pushes,
``share_i = <g_i, G> / ||G||^2`` (in float64): the shares add up to 1 exactly when the
contributions add up to ``G``, a share above 1 means the other uses pull back against it,
and a negative share means it pulls against the step the optimizer takes. With ``G = 0``
(or a non-finite ``G``) there is no direction to project on: the shares are undefined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class GradientShares:
    """Each use's share of a shared parameter's accumulated gradient."""

    shares: Optional[Tuple[float, ...]]  # one per use, in the order given; None: undefined
    reason: Optional[str]  # why the shares are undefined (None when they are defined)
    accumulated_l2: float  # ||G||
    # ||sum g_i - G|| / ||G||: how far the contributions are from adding up to G (0 when
    # they do; the shares then sum to 1). NaN when ||G|| is 0 or non-finite.
    residual: float

    @property
    def total(self) -> Optional[float]:
        """The shares' sum (1 when the contributions add up to ``G``)."""
        return None if self.shares is None else math.fsum(self.shares)


def gradient_shares(contributions: Sequence[np.ndarray], accumulated: np.ndarray) -> GradientShares:
    """``share_i = <g_i, G> / ||G||^2`` for each use's contribution ``g_i``.

    Args:
        contributions: each use's gradient, every one shaped like ``accumulated``.
        accumulated: the parameter's gradient ``G`` (what backward wrote into its buffer).

    Returns:
        The shares, or ``shares=None`` with a reason when ``G`` is zero or not finite.

    Raises:
        ValueError: no contributions, or one shaped unlike ``accumulated``.
    """
    total = np.asarray(accumulated, dtype=np.float64).reshape(-1)
    if not contributions:
        raise ValueError("no contributions: a shared parameter has at least one use")
    flats = []
    for i, g in enumerate(contributions):
        g = np.asarray(g)
        if g.shape != np.shape(accumulated):
            raise ValueError(
                f"contribution {i} has shape {g.shape}, the accumulated gradient "
                f"{np.shape(accumulated)}"
            )
        flats.append(g.astype(np.float64, copy=False).reshape(-1))
    if not np.all(np.isfinite(total)):
        bad = int(np.count_nonzero(~np.isfinite(total)))
        return GradientShares(
            None,
            f"the accumulated gradient holds {bad} NaN/Inf values: no direction to share",
            float("nan"),
            float("nan"),
        )
    square = float(np.dot(total, total))
    norm = math.sqrt(square)
    if square == 0.0:
        return GradientShares(
            None,
            "the accumulated gradient is 0: no direction to share (the uses cancel or "
            "nothing reaches the parameter)",
            0.0,
            float("nan"),
        )
    shares = tuple(float(np.dot(g, total)) / square for g in flats)
    residual = float(np.linalg.norm(np.sum(flats, axis=0) - total)) / norm
    return GradientShares(shares, None, norm, residual)
