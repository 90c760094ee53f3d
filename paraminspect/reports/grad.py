"""The report of ``grad``: the parameter report plus gradient norms and shared-use contributions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from paraminspect.reports._rich import RichReport
from paraminspect.reports.params import ArrayView, ParamReport, WrapsParamReport
from paraminspect.stats import TensorStats


@dataclass(frozen=True, eq=False)
class Contribution:
    """The gradient one using layer adds to a shared parameter (its use's own copy)."""

    layer: int
    stats: TensorStats
    array: np.ndarray  # the whole contribution (tests and --grad use it)
    view: Optional[ArrayView] = None  # what --grad/--slice print
    share: Optional[float] = None  # <g_i, G> / ||G||^2 (None when G is 0 or not finite)


@dataclass(frozen=True, eq=False)
class SharedGrad:
    """A shared parameter's accumulated gradient against the sum of its layers' contributions."""

    parameter: str
    layers: Tuple[int, ...]
    contributions: Tuple[Contribution, ...]
    accumulated: TensorStats
    max_abs_diff: float  # max |sum of contributions - accumulated gradient|
    tolerance: float
    ok: bool
    shares_note: Optional[str] = None  # why the shares are undefined (G is 0 or not finite)

    @property
    def shares_sum(self) -> Optional[float]:
        """The contributions' shares added up (1 when they add up to the accumulated one)."""
        shares = [c.share for c in self.contributions]
        return None if any(x is None for x in shares) else math.fsum(shares)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class GradReport(WrapsParamReport, RichReport):
    """What ``paraminspect grad`` reports: ``base`` is the parameter report (with grad_stats)."""

    base: ParamReport
    loss: str
    loss_value: float
    target_note: str
    weight_l2: Dict[str, float]  # every shown parameter's ||w||
    shared: Tuple[SharedGrad, ...]
    x: np.ndarray  # the input batch the gradients are for
    targets: Optional[np.ndarray]

    def ratio(self, name: str, grad_l2: float) -> Optional[float]:
        """``||g|| / ||w||``; None for an all-zero weight, whose ratio means nothing."""
        w = self.weight_l2[name]
        if w == 0:
            return None
        return grad_l2 / w

    @property
    def ratio_note(self) -> str:
        """Why some ``||g||/||w||`` are missing ('' when none is)."""
        zero = [r.name for r in self.base.parameters if self.weight_l2.get(r.name) == 0]
        if not zero:
            return ""
        # Dense, Conv and BatchNorm biases (beta) start at zero unless loaded or edited
        biases = all(name.endswith(("bias", "beta")) for name in zero)
        why = " (biases start at zero)" if biases else ""
        return (
            f"||g||/||w|| is - for {', '.join(zero)}: every value is 0{why}, so there is "
            "no scale to compare the gradient with"
        )

    @property
    def failed(self) -> Tuple[SharedGrad, ...]:
        return tuple(s for s in self.shared if not s.ok)

    @property
    def base_report(self) -> ParamReport:
        return self.base

    @property
    def failure(self) -> Optional[str]:
        """Why the command fails (exit 1) after printing: a shared-gradient sum check."""
        if not self.failed:
            return None
        names = ", ".join(s.parameter for s in self.failed)
        return (
            f"shared gradient check failed for {names}: the layers' contributions do not sum "
            "to the accumulated gradient"
        )
