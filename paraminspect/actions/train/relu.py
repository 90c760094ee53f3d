"""Dead ReLU units: per ReLU layer, the fraction of its units that output 0 for every
sample of a batch.

- A spec (a ``HybridSequential``): its layers are run one by one outside
  ``autograd.record()`` (dropout off, batch norm on its running statistics).
- A HybridBlock (zoo models, factories, Blocks): the net is traced once into a graph
  whose outputs are the ReLU layers' outputs (forward hooks catch their symbols during
  the trace), with each layer's dead units counted in the same graph, wrapped in a
  ``SymbolBlock`` over the same parameters: a batch costs one cached pass and one host
  read for all layers. The pass runs outside ``autograd.record()`` too.
- Not measured (with a note): exported graphs (their ReLUs are op nodes, not layers of
  the Layout) and Blocks that cannot be traced (a plain ``Block``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from paraminspect.actions.train.layers import relu_indices
from paraminspect.actions.train.norms import StepNorms
from paraminspect.model.model import Model


def dead_relu(model: Model, probe: Any) -> Dict[int, float]:
    """Layer -> fraction of its ReLU units that output 0 for every probe sample (a
    spec's layers run one by one; other sources: :class:`ReluProbe`)."""
    if model.source.kind != "spec":
        return ReluProbe(model)(probe)
    return _layer_by_layer(model, probe)


def _layer_by_layer(model: Model, probe: Any) -> Dict[int, float]:
    out: Dict[int, float] = {}
    h = probe
    for lp in model.layout.layers:
        h = model.net[lp.index](h)
        if lp.activation == "relu":
            a = h.asnumpy().reshape(h.shape[0], -1)
            out[lp.index] = float(np.mean(np.all(a == 0, axis=0)))
    return out


class ReluProbe:
    """Measures the dead fractions of a model's ReLU layers on a batch (see the module
    docstring); :attr:`note` says why some are not measured."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.indices: Tuple[int, ...] = relu_indices(model.layout)
        self.note: Optional[str] = None
        self._block: Any = None
        if model.source.kind == "symbol":
            if _graph_has_relu(model.net):
                self.note = (
                    "dead ReLUs are not measured on exported graphs (their ReLUs are op "
                    "nodes, not layers)"
                )
            self.indices = ()
            return
        if not self.indices or model.source.kind == "spec":
            # a spec's layers one by one: measured cheaper than the traced pass (0.67 vs
            # 0.96 ms for the benchmark's MLP at batch 64), and the reference for it
            return
        self._block, self.indices = _trace(model, self.indices)
        if self._block is None:
            self.note = "dead ReLUs are not measured: the net cannot be traced (not a HybridBlock)"
            self.indices = ()

    def __call__(self, x: Any) -> Dict[int, float]:
        if not self.indices:
            return {}
        if self._block is None:  # a spec
            return _layer_by_layer(self.model, x)
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


def _trace(model: Model, indices: Tuple[int, ...]) -> Tuple[Any, Tuple[int, ...]]:
    """A SymbolBlock over the net's parameters whose one output is, for each ReLU layer
    found, the count of its units that are 0 for every sample, then each one's number of
    units; and the indices of those layers."""
    import mxnet as mx
    from mxnet import gluon

    from paraminspect.model.sources.block import walk_blocks

    net = model.net
    if not isinstance(net, gluon.HybridBlock):
        return None, indices
    if model.source.kind == "spec":  # a HybridSequential: layer i is net[i]
        blocks = {i: net[i] for i in indices}
    else:
        blocks = {i: walk_blocks(net)[i].block for i in indices}
    caught: Dict[int, Any] = {}
    hooks: List[Any] = []
    for index in indices:

        def keep(block: Any, args: Any, out: Any, index: int = index) -> None:
            if isinstance(out, mx.sym.Symbol):
                caught[index] = out

        hooks.append(blocks[index].register_forward_hook(keep))
    data = [mx.sym.var(d.name) for d in model.layout.inputs]
    try:
        net(*data)
    except Exception:  # not traceable (Python control flow on values, ...)
        return None, indices
    finally:
        for hook in hooks:
            hook.detach()
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


def _graph_has_relu(net: Any) -> bool:
    """A SymbolBlock's graph has an ``Activation act_type=relu`` or a ``relu`` node."""
    import json

    graph = getattr(net, "_cached_graph", None)
    if not graph:
        return False
    nodes = json.loads(graph[1].tojson())["nodes"]
    return any(
        n["op"] == "relu"
        or (n["op"] == "Activation" and n.get("attrs", {}).get("act_type") == "relu")
        for n in nodes
    )
