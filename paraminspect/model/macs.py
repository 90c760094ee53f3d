"""Multiply-accumulates (MACs) of one op over the batch, for graphs and Blocks alike.

- Convolution: output values x (in_channels / num_group) x prod(kernel), i.e.
  ``prod(out) * prod(weight.shape[1:])``.
- Deconvolution: *input* values x (num_filter / num_group) x prod(kernel), i.e.
  ``prod(in) * prod(weight.shape[1:])`` (a transposed convolution does the work of the
  convolution it transposes, whose output is this op's input).
- FullyConnected: output values x in_units.
- UpSampling: a bilinear one is the grouped Deconvolution MXNet runs for it (its weight:
  ``num_filter`` groups of one channel, k x k with k = 2 x scale - scale mod 2), counted as
  that Deconvolution; a nearest one only copies values (0).
- The fused ``RNN`` op (Gluon's ``rnn.GRU``/``rnn.LSTM``/``rnn.RNN``), per time step and
  sample, for each layer and direction: gates x hidden x (input + hidden), plus
  projection x hidden with an LSTM projection (:func:`rnn_macs`): one multiply-add per
  entry of its weight matrices.
- Every other op counts 0: elementwise work (biases, activations, normalization, a gate's
  products) is not counted.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional

from paraminspect.model.layout import Shape

MAC_OPS = frozenset({"Convolution", "Deconvolution", "FullyConnected", "UpSampling"})
RNN_GATES = {"lstm": 4, "gru": 3, "rnn_relu": 1, "rnn_tanh": 1}


def node_macs(
    op: str,
    out_shape: Optional[Shape],
    in_shape: Optional[Shape],
    weight_shape: Optional[Shape],
    attrs: Optional[Mapping[str, str]] = None,
) -> int:
    """Multiply-accumulates of one node over the batch (see the module docstring)."""
    attrs = attrs or {}
    if op == "RNN":
        if not in_shape or len(in_shape) != 3:
            return 0
        steps, batch, features = in_shape  # the RNN op's data is always (T, N, C)
        projection = attrs.get("projection_size", "None")
        return rnn_macs(
            attrs.get("mode", ""),
            int(attrs.get("state_size", 0)),
            int(attrs.get("num_layers", 1)),
            2 if attrs.get("bidirectional", "False") in ("True", "true", "1") else 1,
            None if projection in ("None", "0", "") else int(projection),
            features,
            steps * batch,
        )
    if op == "UpSampling":
        if attrs.get("sample_type", "nearest") != "bilinear":
            return 0  # nearest: copies of the input values, no multiplication
        op = "Deconvolution"  # bilinear: MXNet runs a grouped Deconvolution with its weight
    if op not in MAC_OPS or weight_shape is None or len(weight_shape) < 2:
        return 0
    if op == "Deconvolution":
        return math.prod(in_shape) * math.prod(weight_shape[1:]) if in_shape else 0
    if out_shape is None:
        return 0
    return math.prod(out_shape) * math.prod(weight_shape[1:])


def rnn_macs(
    mode: str,
    hidden: int,
    layers: int,
    directions: int,
    projection: Optional[int],
    features: int,
    steps_times_batch: int,
) -> int:
    """Multiply-accumulates of a fused RNN (the ``RNN`` op, Gluon's ``rnn.GRU``/``LSTM``/
    ``RNN`` layers) over ``steps_times_batch`` time steps and samples: for each layer and
    direction, gates x hidden x (its input width + the recurrent width), plus projection x
    hidden with a projection. A layer after the first reads both directions' outputs
    (``directions x (projection or hidden)`` wide). 0 for an unknown ``mode``."""
    gates = RNN_GATES.get(mode)
    if gates is None or hidden <= 0:
        return 0
    recurrent = projection or hidden
    per_step = 0
    for layer in range(layers):
        width = features if layer == 0 else directions * recurrent
        per_step += directions * (gates * hidden * (width + recurrent) + (projection or 0) * hidden)
    return steps_times_batch * per_step
