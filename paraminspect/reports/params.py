"""The report of ``show``, and the base of ``init``, ``set``, ``run`` and ``grad``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from paraminspect.model.layout import Labelled
from paraminspect.reports._rich import RichReport
from paraminspect.stats import TensorStats


@dataclass(frozen=True, eq=False)
class ArrayView:
    """A parameter's values (or gradient), possibly sliced; ``values`` is None with a note
    when they do not exist (deferred initialization, ``grad_req='null'``)."""

    label: str  # e.g. dense0_weight[0]
    values: Optional[np.ndarray]
    note: str = ""


@dataclass(frozen=True)
class Histogram:
    """A text-histogram's data (``--hist``): ``counts`` are ``numpy.histogram``'s for
    ``edges`` over the finite values; ``expected`` the counts the initializer's law
    predicts for as many values (None, with ``note`` saying why, when there is no law)."""

    of: str  # "values", "grad" or "output" (summary)
    label: str  # e.g. dense0_weight[0] or dense0_weight.grad
    edges: Tuple[float, ...]
    counts: Tuple[int, ...]
    expected: Optional[Tuple[float, ...]]
    law: Optional[str]  # e.g. "U(-0.07, 0.07) from uniform(scale=0.07)"
    note: str = ""
    nonfinite: int = 0  # NaN/Inf entries left out of the counts

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, eq=False)
class ParamRow:
    """One unique parameter tensor."""

    name: str
    shape: Tuple[int, ...]
    dtype: str
    size: int
    grad_req: str
    init: str
    owner: int
    layers: Tuple[int, ...]  # every layer that uses it (more than one when shared)
    data: Optional[ArrayView] = None
    grad: Optional[ArrayView] = None
    stats: Optional[TensorStats] = None
    grad_stats: Optional[TensorStats] = None
    hist: Optional[Histogram] = None  # --hist (None when not asked for)
    hist_note: str = ""  # why there is no histogram (deferred, no gradient)


@dataclass(frozen=True)
class LayerInfo(Labelled):
    """One layer of the network, for headers and the sharing map.

    ``path`` is its Gluon path (``3`` for ``net[3]``, ``features.4.0.body.1``; a graph
    node's name), ``label`` what every command shows (see
    :func:`paraminspect.model.layout.layer_label`); ``index`` is its place in the layout.
    """

    index: int
    name: str
    type: str
    activation: Optional[str]
    shares_with: Optional[int]
    path: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What was built, from where, and how far it ran."""

    name: str
    source: str
    input_shape: Tuple[int, ...]
    layers: Tuple[LayerInfo, ...]
    forward: bool  # the first forward pass ran (shapes final, weights drawn)
    seed: Optional[int]
    kind: str = "spec"  # the source: spec, symbol, zoo, factory, block

    def path_of(self, index: int) -> str:
        """The Gluon path of layer ``index`` (what JSON and ``--layer`` use)."""
        layer = self.layers[index]
        return layer.path or layer.name

    def label_of(self, index: int) -> str:
        """The label tables show for layer ``index`` (``0 (dense0)``)."""
        return self.layers[index].label


@dataclass(frozen=True)
class Totals:
    """Parameter counts: ``total`` counts every use (Block.summary's "Total params"),
    ``unique`` every tensor once ("Unique parameters in model"); ``trainable`` and
    ``non_trainable`` split the unique count by ``grad_req``; ``bytes`` is unique storage."""

    total: int
    unique: int
    trainable: int
    non_trainable: int
    bytes: int


@dataclass(frozen=True)
class SharedGroup:
    """A parameter used by more than one layer."""

    parameter: str
    layers: Tuple[int, ...]


@dataclass(frozen=True, eq=False)
class ParamReport(RichReport):
    """What ``show`` (and the commands built on it) report."""

    command: str
    model: ModelInfo
    parameters: Tuple[ParamRow, ...]
    totals: Totals
    sharing: Tuple[SharedGroup, ...]
    notes: Tuple[str, ...] = ()  # facts about the report, shown with it
    log: Tuple[str, ...] = field(default=())  # progress lines for stderr (myinit's 'Init ...')
    warnings: Tuple[str, ...] = ()  # numerical trouble found (nan/inf), for stderr


class WrapsParamReport:
    """For reports built on a :class:`ParamReport` (``base``): its log lines and warnings
    are theirs, so the render stage's stderr policy applies to them unchanged."""

    @property
    def base_report(self) -> ParamReport:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def log(self) -> Tuple[str, ...]:
        return self.base_report.log

    @property
    def warnings(self) -> Tuple[str, ...]:
        return self.base_report.warnings
