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
from paraminspect.model.sources import open_spec_source


def synthetic_data(model: Model, loss: str, samples: int) -> Tuple[Any, Any, str]:
    """``(X, Y, description)``: see the module docstring."""
    from mxnet import nd

    from paraminspect.model.build import draw_input

    plan = model.plan
    features = tuple(plan.input_shape[1:])
    d = int(np.prod(features))
    out = output_shape(plan)
    k = int(np.prod(out[1:]))
    shape = (samples, *features)
    dist = model.loaded.spec.input.dist
    x = draw_input(shape, dist)
    teacher = nd.random.normal(scale=1.0 / math.sqrt(d), shape=(d, k))
    flat = x.reshape((samples, d))
    draw = f"X: {samples} samples ~ {dist}{shape[1:]}; teacher A ~ N(0, 1/{d}) of shape ({d}, {k})"
    if loss == "l2":
        y = nd.dot(flat, teacher).reshape((samples, *out[1:]))
        return x, y, f"{draw}; regression target Y = X A"
    centered = flat - flat.mean(axis=0, keepdims=True)
    y = nd.argmax(nd.dot(centered, teacher), axis=1)
    return x, y, f"{draw}; {k} classes, label = argmax((X - mean X) A) (linearly separable)"


def read_data(spec: Optional[str], opts: TrainOptions) -> Optional[Dataset]:
    """``--data``/``--targets``, checked against the spec's input and output shapes and the
    loss before anything is built (no MXNet); None for the synthetic data set.

    Raises:
        DataError, OptionError: see :func:`paraminspect.model.data.load_data`; a
            ``--batch-size`` larger than the file's samples.
    """
    if opts.data is None:
        return None
    source = open_spec_source("shared" if spec is None and opts.shared else spec)
    plan = source.plan
    check_loss(plan, opts.loss)
    dataset = load_data(
        opts.data,
        opts.targets,
        input_shape=tuple(plan.input_shape),
        output_shape=output_shape(plan),
        loss=opts.loss,
    )
    if opts.batch_size > dataset.samples:
        raise OptionError(
            f"{opts.batch_size} is more than the {dataset.samples} samples of {opts.data}; "
            f"use at most {dataset.samples}",
            "--batch-size",
        )
    return dataset
