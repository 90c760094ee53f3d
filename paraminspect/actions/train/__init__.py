"""``paraminspect train``: train a model on a synthetic, seeded data set (or the user's
``--data``) and record how every layer's weights and gradients move.

One concept a module: :mod:`.options` (what was asked, checked), :mod:`.data` (the
synthetic teacher and the user's data), :mod:`.norms` (what is read at every step),
:mod:`.records` (one logged step), :mod:`.loop` (build, then the training loop).
"""

from __future__ import annotations

from paraminspect.actions.train.data import synthetic_data
from paraminspect.actions.train.layers import layer_names
from paraminspect.actions.train.loop import PROBE_SAMPLES, fit, prepare, train
from paraminspect.actions.train.norms import StepNorms, _grad_square
from paraminspect.actions.train.options import TrainOptions, validate
from paraminspect.actions.train.records import make_record
from paraminspect.actions.train.relu import ReluProbe, dead_relu

# what the CLI, the API, the tests and the benchmarks take from the package
__all__ = [
    "PROBE_SAMPLES",
    "ReluProbe",
    "StepNorms",
    "TrainOptions",
    "_grad_square",
    "dead_relu",
    "fit",
    "layer_names",
    "make_record",
    "prepare",
    "synthetic_data",
    "train",
    "validate",
]
