"""The data ``train`` fits: the synthetic, seeded data set (a random linear teacher), or
the user's ``--data``.

The data set (documented in README, "paraminspect train"): ``samples`` inputs shaped like
the spec's input (``nd.random.uniform`` or ``normal`` as the spec says) and a fixed random
linear teacher ``A ~ N(0, 1/d)`` of shape ``(d, k)`` (``d`` input features, ``k`` outputs):
``l2`` regresses ``Y = X A``; ``softmax-ce`` classifies ``argmax((X - mean X) A)``, classes
a linear model can separate. Everything is drawn from MXNet's stream after the network is
built, so ``--seed`` fixes the whole run.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from paraminspect.actions.train.options import TrainOptions
from paraminspect.errors import OptionError
from paraminspect.model.build import Model
from paraminspect.model.data import Dataset, load_data
from paraminspect.model.losses import check_loss, output_shape
from paraminspect.model.sources import open_source, open_spec_source, parse_model_ref


def model_output_shape(model: Model, x: Any) -> Tuple[int, ...]:
    """The shape of the model's one output for a batch like ``x`` (a spec's from its plan;
    other sources run one sample through the net, outside autograd: no random draw).

    Raises:
        OptionError: the model has several outputs (train fits one).
    """
    if model.source.kind == "spec":
        return output_shape(model.plan)
    out = model.net(x[:1])
    if isinstance(out, (list, tuple)):
        raise OptionError(
            f"{model.source.label} has {len(out)} outputs; train fits a model with one "
            "output (several are not implemented yet); use grad for this model",
            "MODEL",
        )
    return (int(x.shape[0]), *(int(d) for d in out.shape[1:]))


def synthetic_data(model: Model, loss: str, samples: int) -> Tuple[Any, Any, str]:
    """``(X, Y, description)``: see the module docstring. X is drawn for the model's (one)
    input, past its batch axis; the teacher maps it to the model's output shape."""
    from mxnet import nd

    from paraminspect.model.build import draw_input

    (inp,) = model.layout.inputs  # prepare() refuses several inputs
    features = tuple(inp.shape[1:])
    d = int(np.prod(features))
    shape = (samples, *features)
    dist = model.loaded.spec.input.dist if model.source.kind == "spec" else _dist(inp.dist)
    x = draw_input(shape, dist)
    out = model_output_shape(model, x)
    k = int(np.prod(out[1:]))
    teacher = nd.random.normal(scale=1.0 / math.sqrt(d), shape=(d, k))
    flat = x.reshape((samples, d))
    draw = f"X: {samples} samples ~ {dist}{shape[1:]}; teacher A ~ N(0, 1/{d}) of shape ({d}, {k})"
    if loss == "l2":
        y = nd.dot(flat, teacher).reshape((samples, *out[1:]))
        return x, y, f"{draw}; regression target Y = X A"
    centered = flat - flat.mean(axis=0, keepdims=True)
    y = nd.argmax(nd.dot(centered, teacher), axis=1)
    return x, y, f"{draw}; {k} classes, label = argmax((X - mean X) A) (linearly separable)"


def _dist(dist: str) -> str:
    # an --input FILE.npy sample fixes the shape; the data set is drawn as the first pass is
    return dist if dist in ("uniform", "normal") else "uniform"


def read_data(
    spec: Any, opts: TrainOptions, inputs: Optional[Any] = None, mode: Optional[str] = None
) -> Optional[Dataset]:
    """``--data``/``--targets``, checked against the model's input shape (and a spec's
    output shape) and the loss before anything is built (no MXNet); None for the
    synthetic data set.

    Raises:
        DataError, OptionError: see :func:`paraminspect.model.data.load_data`; a
            ``--batch-size`` larger than the file's samples.
    """
    if opts.data is None:
        return None
    ref = "shared" if spec is None and opts.shared else spec
    if ref is not None and (not isinstance(ref, str) or parse_model_ref(ref) != "spec"):
        layout = open_source(ref, inputs=inputs, mode=mode).layout
        shape = layout.inputs[0].shape if len(layout.inputs) == 1 else ()
        input_shape: Optional[Tuple[int, ...]] = tuple(shape) or None
        out: Optional[Tuple[int, ...]] = None  # known after the build
    else:
        plan = open_spec_source(ref).plan
        check_loss(plan, opts.loss)
        input_shape, out = tuple(plan.input_shape), output_shape(plan)
    dataset = load_data(
        opts.data, opts.targets, input_shape=input_shape, output_shape=out, loss=opts.loss
    )
    if opts.batch_size > dataset.samples:
        raise OptionError(
            f"{opts.batch_size} is more than the {dataset.samples} samples of {opts.data}; "
            f"use at most {dataset.samples}",
            "--batch-size",
        )
    return dataset
