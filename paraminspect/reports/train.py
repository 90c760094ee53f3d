"""The report of ``train``: settings, records at logged steps, per-step norms, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

from paraminspect.model.layout import Labelled
from paraminspect.reports._rich import RichReport
from paraminspect.reports.params import Histogram, ModelInfo
from paraminspect.stats import TensorStats


@dataclass(frozen=True, eq=False)
class ParamStep:
    """One unique parameter at one logged step."""

    name: str
    layers: Tuple[int, ...]
    weight: TensorStats
    grad: Optional[TensorStats]  # None for grad_req='null' (batch-norm running stats)
    update_ratio: float  # ||w_after - w_before|| / ||w_before|| over this step
    grad_hist: Optional[Histogram] = None  # with train --hist, for the selected parameters

    @property
    def grad_to_weight(self) -> float:
        if self.grad is None:
            return float("nan")
        return _ratio(self.grad.l2, self.weight.l2)


@dataclass(frozen=True)
class LayerStep(Labelled):
    """One layer at one logged step; norms are over every parameter the layer uses."""

    index: int
    name: str
    params: Tuple[str, ...]
    weight_l2: Optional[float]  # None for a layer without parameters
    grad_l2: Optional[float]
    update_ratio: Optional[float]
    dead_relu: Optional[float]  # fraction of ReLU units that are 0 for every probe sample
    shares_with: Optional[int] = None  # the layer whose parameters it uses
    path: str = ""  # its Gluon path (``3``, ``features.4.0``; a graph node's name)

    @property
    def grad_to_weight(self) -> Optional[float]:
        if self.weight_l2 is None or self.grad_l2 is None:
            return None
        return _ratio(self.grad_l2, self.weight_l2)


@dataclass(frozen=True)
class SharedStep:
    """A shared parameter at one logged step: were the using layers' weights identical?"""

    parameter: str
    layers: Tuple[int, ...]
    identical: bool  # every using layer's weight array was compared and found equal
    max_abs_diff: float  # largest difference found between the layers' arrays
    grad_l2: float  # the accumulated gradient's norm
    # --contributions: each use's share <g_i, G>/||G||^2 of the step's gradient G, in the
    # order of ``layers`` (None: not asked for, or undefined: see shares_note)
    shares: Optional[Tuple[float, ...]] = None
    shares_note: Optional[str] = None


@dataclass(frozen=True, eq=False)
class TrainRecord:
    """One logged step (the end of an epoch, or every --every K steps)."""

    epoch: int  # 1-based
    step: int  # optimizer steps so far, 1-based
    loss: float  # mean batch loss over the steps since the previous record
    data_loss: float  # loss over the whole synthetic data set after this step
    parameters: Tuple[ParamStep, ...]
    layers: Tuple[LayerStep, ...]
    shared: Tuple[SharedStep, ...]
    warnings: Tuple[str, ...] = ()
    # diagnose.trouble.Event: the named trouble that started since the previous record
    events: Tuple[Any, ...] = ()


@dataclass(frozen=True)
class TrainSettings:
    """How the run was configured."""

    samples: int
    batch_size: int
    epochs: int
    lr: float
    optimizer: str
    loss: str
    every: Optional[int]
    seed: Optional[int]
    hybridized: bool
    shared_focus: bool
    data: str  # how the synthetic data set was made
    explode: float  # the warning thresholds of the gradient norm (see train)
    vanish: float


@dataclass(frozen=True, eq=False)
class TrainReport(RichReport):
    """The whole run: settings, the loss before training, and every logged record."""

    model: ModelInfo
    settings: TrainSettings
    initial_loss: float
    history: Tuple[TrainRecord, ...]
    steps: int  # optimizer steps taken
    stopped: Optional[str] = None  # why training stopped early (non-finite loss)
    # Wall seconds from the first step to the last record (the loop: steps, per-step work
    # and logged records; not the build, the data set or the loss before training).
    seconds: float = 0.0
    # Layer index -> ||g|| of its trained parameters after every step (steps 1..steps),
    # for each layer that has trained parameters; see train.StepNorms.
    step_grad_l2: Mapping[int, Tuple[float, ...]] = field(default_factory=dict)
    notes: Tuple[str, ...] = ()
    log: Tuple[str, ...] = field(default=())
    stop_on: Tuple[str, ...] = ()  # --stop-on kinds
    stopped_by: Any = None  # the diagnose.trouble.Event that stopped the run (--stop-on)

    @property
    def events(self) -> Tuple[Any, ...]:
        """Every named trouble of the run, in order."""
        return tuple(e for r in self.history for e in r.events)

    @property
    def failure(self) -> Optional[str]:
        """Why the command fails (exit 1) after printing: shared weights that differ between
        their layers, or a run that stopped early."""
        differ = sorted({s.parameter for r in self.history for s in r.shared if not s.identical})
        if differ:
            return f"shared weights differ between layers for {', '.join(differ)}"
        return self.stopped

    @property
    def final_loss(self) -> float:
        return self.history[-1].data_loss if self.history else self.initial_loss

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return float("nan") if num == 0 else float("inf")
    return num / den
