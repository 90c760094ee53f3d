"""What ``train`` is asked to do: its options, checked before MXNet is imported, and
the optimizer and ``--hist`` names, checked against MXNet and the model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import paraminspect.choices as choices
from paraminspect._text import did_you_mean
from paraminspect.choices import (
    DIVERGE_FACTOR,
)
from paraminspect.diagnose.trouble import Event, TroubleDetector
from paraminspect.errors import OptionError
from paraminspect.reports.train import (
    TrainRecord,
)


@dataclass(frozen=True)
class TrainOptions:
    """What ``train`` was asked to do (validated by :func:`validate`)."""

    samples: int = choices.DEFAULT_SAMPLES
    batch_size: int = choices.DEFAULT_BATCH_SIZE
    epochs: int = choices.DEFAULT_EPOCHS
    lr: float = choices.DEFAULT_LR
    optimizer: str = choices.DEFAULT_OPTIMIZER
    loss: str = choices.DEFAULT_TRAIN_LOSS
    every: Optional[int] = None
    seed: Optional[int] = None
    hybridize: bool = True
    shared: bool = False
    explode: float = choices.EXPLODE_NORM
    vanish: float = choices.VANISH_NORM
    hist_bins: Optional[int] = None  # --hist: histogram gradients at each record, N bins
    hist_select: Optional[str] = None  # --select: which parameters (default: all trained)
    diverge_factor: float = DIVERGE_FACTOR  # --diverge-factor (see diagnose.trouble)
    stop_on: Tuple[str, ...] = ()  # --stop-on: stop at the first event of these kinds
    contributions: bool = False  # --contributions: per-use gradient shares at each record
    data: Optional[str] = None  # --data FILE.npz (X, y) or X.npy: the user's data set
    targets: Optional[str] = None  # --targets y.npy (with a .npy --data)


StepCallback = Callable[[int, int, float], None]  # (step, total steps, batch loss)
RecordCallback = Callable[[TrainRecord], None]
EventCallback = Callable[[Event], None]  # named trouble, as soon as it starts


def optimizer_names() -> List[str]:
    """The names ``gluon.Trainer`` accepts: MXNet's registered optimizers."""
    import mxnet as mx

    return sorted(mx.optimizer.Optimizer.opt_registry)


def validate(opts: TrainOptions) -> None:
    """Refuse bad numbers and names with usage errors (MXNet is not imported).

    Raises:
        OptionError: non-positive counts or learning rate, a batch larger than the data set,
            or a loss training cannot minimize.
    """
    for flag, value in (
        ("--samples", opts.samples),
        ("--batch-size", opts.batch_size),
        ("--epochs", opts.epochs),
    ):
        if value < 1:
            raise OptionError(f"{value} is not a positive integer; use 1 or more", flag)
    if opts.every is not None and opts.every < 1:
        raise OptionError(f"{opts.every} is not a positive integer; use 1 or more", "--every")
    if not (opts.lr > 0 and math.isfinite(opts.lr)):
        raise OptionError(f"{opts.lr} is not a positive learning rate; use e.g. 0.1", "--lr")
    for flag, norm in (("--explode-above", opts.explode), ("--vanish-below", opts.vanish)):
        if not (norm >= 0 and math.isfinite(norm)):
            raise OptionError(f"{norm} is not a finite norm >= 0; use e.g. 1e3 or 1e-7", flag)
    if opts.vanish >= opts.explode:
        raise OptionError(
            f"{opts.vanish:g} is not below --explode-above {opts.explode:g}; a gradient cannot "
            "both vanish and explode",
            "--vanish-below",
        )
    TroubleDetector(opts.diverge_factor, opts.explode, opts.vanish)  # --diverge-factor
    if opts.hist_bins is not None and opts.hist_bins < 1:
        raise OptionError(f"{opts.hist_bins} is not a positive integer; use e.g. 16", "--bins")
    if opts.hist_select is not None and opts.hist_bins is None:
        raise OptionError("--select chooses what --hist draws; add --hist", "--select")
    if opts.targets is not None and opts.data is None:
        raise OptionError("--targets goes with --data X.npy; add --data", "--targets")
    if opts.data is None and opts.batch_size > opts.samples:
        raise OptionError(
            f"{opts.batch_size} is more than --samples {opts.samples}; use at most {opts.samples}",
            "--batch-size",
        )
    if opts.loss not in choices.TRAIN_LOSSES:
        raise OptionError(
            f"train minimizes {' or '.join(choices.TRAIN_LOSSES)}; '{opts.loss}' has no minimum",
            "--loss",
        )


def check_optimizer(name: str) -> str:
    """The registered optimizer name for ``name`` (case-insensitive).

    Raises:
        OptionError: unknown name, with the closest one and the list.
    """
    names = optimizer_names()
    key = name.strip().lower()
    if key not in names:
        raise OptionError(
            f"unknown optimizer '{name}'{did_you_mean(key, names)} "
            f"(MXNet's optimizers: {', '.join(names)})",
            "--optimizer",
        )
    return key


def hist_names(layout: Any, opts: TrainOptions) -> frozenset:
    """The trained parameters ``--hist`` draws: those ``--select`` matches, else all.

    Raises:
        OptionError: a bad ``--select`` regex, or one that matches no trained parameter.
    """
    from paraminspect.model.selection import select_names

    if opts.hist_bins is None:
        return frozenset()
    names = select_names(layout, (), opts.hist_select)
    trained = [p.name for p in layout.params if p.grad_req != "null"]
    chosen = [n for n in names if n in trained]
    if not chosen:
        raise OptionError(
            f"'{opts.hist_select}' matches no trained parameter, and frozen ones have no "
            f"gradient (trained: {', '.join(trained)})",
            "--select",
        )
    return frozenset(chosen)
