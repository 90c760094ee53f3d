"""The report of ``summary``: one row per layer, activation statistics, totals, comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from paraminspect.model.layout import Labelled
from paraminspect.reports._rich import RichReport
from paraminspect.reports.params import Histogram

# A tanh output with |a| > SATURATION, or a sigmoid output within 1 - SATURATION of 0 or 1,
# is "saturated": the derivative there is below 0.02, so almost no gradient flows back.
SATURATION = 0.99


@dataclass(frozen=True)
class ActivationStats:
    """Statistics of one layer's output on the drawn batch.

    ``mean``/``std``/``min``/``max`` are over the finite entries (float64, population std);
    ``zeros`` is the fraction of exact zeros; ``dead`` the same fraction for a ReLU output
    and ``dead_units`` the units that are zero for every sample (None for other
    activations); ``saturated`` the fraction of a sigmoid / tanh output within
    ``1 - SATURATION`` of its flat ends (None for other activations).
    """

    mean: float
    std: float
    min: float
    max: float
    zeros: float
    dead: Optional[float]
    dead_units: Optional[int]
    saturated: Optional[float]
    nan: int
    inf: int


@dataclass(frozen=True)
class LayerSummary(Labelled):
    """One row of ``paraminspect summary``.

    ``params`` counts every parameter the layer uses (Block.summary's "Param #");
    ``unique_params`` is 0 for a layer that uses another layer's parameters
    (``shares_with``), so the unique column adds up to the model's unique count.
    """

    index: int
    name: str
    type: str
    activation: Optional[str]
    in_shape: Tuple[int, ...]
    out_shape: Tuple[int, ...]
    params: int
    unique_params: int
    trainable: int  # of ``params``, those with grad_req != 'null'
    shares_with: Optional[int]
    macs: int  # forward multiply-accumulates for the batch
    backward_macs: int
    activation_bytes: int  # the layer's output for the batch
    stats: Optional[ActivationStats]
    hist: Optional[Histogram] = None  # summary --hist: the output's histogram
    depth: int = 0  # nesting of a child block (0 for top-level layers and graph nodes)
    path: str = ""  # the Gluon path (``3`` is ``net[3]``; a graph node's name)
    shares_path: str = ""  # the path of ``shares_with``


@dataclass(frozen=True)
class SummaryTotals:
    """Totals of a summary. ``total`` counts each use, the rest each tensor once."""

    total: int
    unique: int
    trainable: int
    non_trainable: int
    param_bytes: int
    grad_bytes: int
    activation_bytes: int  # the input batch plus every layer's output
    forward_macs: int
    backward_macs: int

    @property
    def training_macs(self) -> int:
        return self.forward_macs + self.backward_macs


@dataclass(frozen=True)
class CompareRun:
    """The activation statistics of every layer for one initializer (``--compare``)."""

    label: str  # short: the method and its non-default parameters, e.g. normal(sigma=1)
    init: str  # in full, e.g. xavier(rnd_type=uniform, factor_type=avg, magnitude=3)
    stats: Tuple[ActivationStats, ...]


@dataclass(frozen=True)
class SummaryReport(RichReport):
    """What ``paraminspect summary`` reports."""

    name: str
    source: str
    input_shape: Tuple[int, ...]
    seed: Optional[int]
    init: str  # the net-wide initializer used for the main table
    hybridized: bool
    ran: bool  # False: shapes and MACs from the plan only, no statistics
    missing_reason: Optional[str]  # why the statistics are missing (when not ran)
    layers: Tuple[LayerSummary, ...]
    totals: SummaryTotals
    compare: Tuple[CompareRun, ...] = ()
    compare_seed: Optional[int] = None
    notes: Tuple[str, ...] = ()
    log: Tuple[str, ...] = ()
    kind: str = "spec"  # the source: spec, symbol, zoo, factory, block
