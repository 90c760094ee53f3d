"""``paraminspect train``: train a model on a synthetic, seeded data set (or the user's
``--data``) and record how every layer's weights and gradients move.

One concept a module: :mod:`.options` (what was asked, checked), :mod:`.data` (the
synthetic teacher and the user's data), :mod:`.norms` (what is read at every step),
:mod:`.records` (one logged step), :mod:`.loop` (build, then the training loop).
"""

from __future__ import annotations

from paraminspect.actions.train.data import read_data, synthetic_data
from paraminspect.actions.train.layers import layer_names, train_layers
from paraminspect.actions.train.loop import PROBE_SAMPLES, fit, prepare, train
from paraminspect.actions.train.norms import StepNorms, _grad_square
from paraminspect.actions.train.options import (
    EventCallback,
    RecordCallback,
    StepCallback,
    TrainOptions,
    check_optimizer,
    hist_names,
    optimizer_names,
    validate,
)
from paraminspect.actions.train.records import (
    grad_warnings,
    make_record,
    shared_steps,
    use_shares,
    with_shares,
)
from paraminspect.actions.train.relu import ReluProbe, dead_relu

__all__ = [
    "PROBE_SAMPLES",
    "EventCallback",
    "RecordCallback",
    "ReluProbe",
    "StepCallback",
    "StepNorms",
    "TrainOptions",
    "_grad_square",
    "check_optimizer",
    "dead_relu",
    "fit",
    "grad_warnings",
    "hist_names",
    "layer_names",
    "make_record",
    "optimizer_names",
    "prepare",
    "read_data",
    "shared_steps",
    "synthetic_data",
    "train",
    "train_layers",
    "use_shares",
    "validate",
    "with_shares",
]
