"""What ``train`` reads at every step: each layer's gradient norm and dead ReLU fraction,
the numbers the trouble detector is fed (cheap enough to run at every step)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

import numpy as np

from paraminspect.model.build import Model
from paraminspect.stats import host_view, ndarray_l2


def dead_relu(model: Model, probe: Any) -> Dict[int, float]:
    """Layer -> fraction of its ReLU units that output 0 for every probe sample.

    Runs the layers one by one (each hybridized child works on its own), outside
    ``autograd.record()``, so dropout is off and batch norm uses its running statistics.
    """
    out: Dict[int, float] = {}
    h = probe
    for lp in model.plan.layers:
        h = model.net[lp.index](h)
        if lp.activation == "relu":
            a = h.asnumpy().reshape(h.shape[0], -1)
            out[lp.index] = float(np.mean(np.all(a == 0, axis=0)))
    return out


def layer_names(model: Model) -> Dict[int, str]:
    """Layer index -> the name trouble is reported under: ``0 (dense0)``."""
    return {lp.index: f"{lp.index} ({lp.name})" for lp in model.plan.layers}


class StepNorms:
    """Each layer's gradient norm after every step: cheap enough to run at every step.

    ``||g||^2`` of a parameter is one float32 dot product over MXNet's buffer read in place
    (no copy; OpenBLAS keeps several partial sums, so it is within about 1e-6 relative of a
    float64 sum), taken once per parameter even when several layers share it. A layer's
    norm is over all the trained parameters it uses, as in the records.
    """

    def __init__(self, model: Model) -> None:
        params = model.params
        trained = {
            lp.index: [p.name for p in lp.params if params[p.name].grad_req != "null"]
            for lp in model.plan.layers
        }
        self.layers = [(index, names) for index, names in trained.items() if names]
        self.params = {name: params[name] for _, names in self.layers for name in names}
        self.values: Dict[int, List[float]] = {index: [] for index, _ in self.layers}

    def add(self) -> None:
        """Read the current gradients (call after ``backward``)."""
        squares = {name: _grad_square(p.grad()) for name, p in self.params.items()}
        for index, names in self.layers:
            self.values[index].append(math.sqrt(sum(squares[n] for n in names)))

    def result(self) -> Dict[int, Tuple[float, ...]]:
        return {index: tuple(values) for index, values in self.values.items()}


def _grad_square(grad: Any) -> float:
    view = host_view(grad)
    if view is None:  # not readable in place (another device, sparse): copy it out
        return ndarray_l2(grad) ** 2
    flat = view.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        square = float(np.dot(flat, flat))
    if not math.isfinite(square):  # float32 squares overflow above ~1.8e19: widen to float64
        return ndarray_l2(grad) ** 2
    return square
