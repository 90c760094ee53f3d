"""What ``train`` reads at every step: each layer's gradient norm, the number the trouble
detector is fed with the dead ReLU fractions (:mod:`.relu`)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

import numpy as np

from paraminspect.actions.train.layers import train_layers
from paraminspect.model.build import Model
from paraminspect.stats import host_view, ndarray_l2


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
            lp.index: [name for name in lp.params if params[name].grad_req != "null"]
            for lp in train_layers(model)
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
