"""Dead ReLU units: per ReLU layer, the fraction of its units that output 0 for every
sample of a batch.

One probe for every source: the net's graph, whose outputs are the ReLU layers' outputs,
with each layer's dead units counted in the same graph, wrapped in a ``SymbolBlock`` over
the same parameters: a batch costs one cached pass and one host read for all layers. The
pass runs outside ``autograd.record()`` (dropout off, batch norm on its running
statistics). A Block (a YAML spec builds one) is traced once on symbols, forward hooks
catching its ReLU layers' symbols; an exported graph's ReLU op nodes are layers of its
Layout, their outputs read from the graph's internals. Blocks that cannot be traced (a
plain ``Block``) are not measured, with a note.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, List, Optional, Tuple

from paraminspect.actions.train.layers import relu_indices
from paraminspect.actions.train.norms import StepNorms
from paraminspect.model.model import Model


def dead_relu(model: Model, probe: Any) -> Dict[int, float]:
    """Layer -> fraction of its ReLU units that output 0 for every probe sample."""
    return ReluProbe(model)(probe)


class ReluProbe:
    """Measures the dead fractions of a model's ReLU layers on a batch (see the module
    docstring); :attr:`note` says why some are not measured."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.indices: Tuple[int, ...] = relu_indices(model.layout)
        self.note: Optional[str] = None
        self._block: Any = None
        if not self.indices:
            return
        self._block, self.indices = _trace(model, self.indices)
        if self._block is None:
            self.note = "dead ReLUs are not measured: the net cannot be traced (not a HybridBlock)"
            self.indices = ()

    def __call__(self, x: Any) -> Dict[int, float]:
        if not self.indices:
            return {}
        # one cached pass returns, per layer, its dead units and its units (exact integers
        # in float32); the fraction is taken here in float64, as numpy's mean of the mask is
        values = self._block(x).asnumpy()
        n = len(self.indices)
        return {i: float(values[k]) / float(values[n + k]) for k, i in enumerate(self.indices)}


class StepDeadRelu:
    """The dead fractions ``train`` feeds its trouble detector at every step, measured only
    at the steps where one can reach 1.0 (the detector keeps the last values it was given).

    A ReLU fused into a layer with trained parameters of its own (``Dense(activation=
    'relu')``, a spec's ``activation: relu``) and read by no other layer passes no gradient
    to them when it is dead on the batch: every pre-activation is <= 0, so the mask
    ``out > 0`` is all zero and the layer's ``||g||`` is exactly 0 (NaN when the gradient
    coming in is NaN: NaN * 0). So while such a layer's gradient norm at this step is
    finite and above 0, it is not dead, and nothing is measured for it. It is measured when
    its norm is 0 or non-finite, and at every step after it was last seen dead (to see it
    revive). Other ReLU layers (standalone activations, shared parameters, frozen layers)
    are measured at every step. The gate only skips work: the events are the same (a test
    runs both ways).

    Args:
        probe: measures the fractions on the batch.
        norms: this run's per-step gradient norms (read after ``norms.add()``).
        gate: False measures at every step (the reference the gate is checked against).
    """

    def __init__(self, probe: ReluProbe, norms: StepNorms, gate: bool = True) -> None:
        layout = probe.model.layout
        users = layout.users
        gated = set()
        if gate:
            for index in probe.indices:
                layer = layout.layers[index]
                own = [n for n in layer.params if len(users[n]) == 1]
                if layer.params and own == list(layer.params) and index in norms.values:
                    gated.add(index)
        self.probe = probe
        self.norms = norms
        self.gated = frozenset(gated)
        self.always = frozenset(probe.indices) - self.gated
        self._dead: set = set()  # gated layers last measured dead
        self.measured = 0  # steps at which the probe ran

    def __call__(self, x: Any) -> Optional[Dict[int, float]]:
        """Fractions by layer index at this step, or None when none can be 1.0."""
        if not self.probe.indices:
            return None
        if not self.always and not self._dead:
            last = self.norms.values
            if all(math.isfinite(v) and v > 0 for v in (last[i][-1] for i in self.gated)):
                return None
        self.measured += 1
        fractions = self.probe(x)
        self._dead = {i for i in self.gated if fractions.get(i, 0.0) >= 1.0}
        return fractions


def _relu_symbols(model: Model, indices: Tuple[int, ...]) -> Optional[Dict[int, Any]]:
    """Each ReLU layer's output symbol: an exported graph's from its internals, a Block's
    caught by forward hooks while it is called on symbols; None if it cannot be traced."""
    import mxnet as mx
    from mxnet import gluon

    from paraminspect.model.sources.block import walk_blocks

    net = model.net
    layers = model.layout.layers
    if model.source.kind == "symbol":
        internals = net._cached_graph[1].get_internals()
        outputs = set(internals.list_outputs())
        return {
            i: internals[f"{layers[i].name}_output"]
            for i in indices
            if f"{layers[i].name}_output" in outputs
        }
    if not isinstance(net, gluon.HybridBlock):
        return None
    by_path = {node.path: node.block for node in walk_blocks(net)}
    caught: Dict[int, Any] = {}
    hooks: List[Any] = []
    for index in indices:

        def keep(block: Any, args: Any, out: Any, index: int = index) -> None:
            if isinstance(out, mx.sym.Symbol) and index not in caught:
                caught[index] = out

        hooks.append(by_path[layers[index].path].register_forward_hook(keep))
    try:
        net(*[mx.sym.var(d.name) for d in model.layout.inputs])
    except Exception:  # not traceable (Python control flow on values, ...)
        return None
    finally:
        for hook in hooks:
            hook.detach()
    return caught


def _trace(model: Model, indices: Tuple[int, ...]) -> Tuple[Any, Tuple[int, ...]]:
    """A SymbolBlock over the net's parameters whose one output is, for each ReLU layer
    found, the count of its units that are 0 for every sample, then each one's number of
    units; and the indices of those layers."""
    import mxnet as mx
    from mxnet import gluon

    caught = _relu_symbols(model, indices)
    if caught is None:
        return None, indices
    data = [mx.sym.var(d.name) for d in model.layout.inputs]
    net = model.net
    found = tuple(i for i in indices if i in caught)
    if not found:
        return None, indices
    dead, units = [], []
    for i in found:
        h = mx.sym.reshape(caught[i], shape=(0, -1))
        ones = mx.sym.ones_like(mx.sym.slice_axis(h, axis=1, begin=0, end=1))  # (batch, 1)
        # samples where each unit is not 0 (NaN counts: numpy's all(a == 0) is False for
        # it); a BLAS product, as MXNet's axis-0 reductions cost several times more
        alive = mx.sym.dot(h != 0, ones, transpose_a=True)  # (units, 1)
        dead.append(mx.sym.sum(alive == 0).reshape((1,)))
        units.append(mx.sym.sum(mx.sym.ones_like(alive)).reshape((1,)))
    group = mx.sym.concat(*dead, *units, dim=0)
    with warnings.catch_warnings():  # "Cannot decide type for data": float32, as the net's
        warnings.simplefilter("ignore", UserWarning)
        block = gluon.SymbolBlock(group, data, params=net.collect_params())
    return block, found
