"""Dead ReLU units: per ReLU layer, the fraction of its units that output 0 for every
sample of a batch.

- A spec (a ``HybridSequential``): its layers are run one by one outside
  ``autograd.record()`` (dropout off, batch norm on its running statistics).
- A HybridBlock (zoo models, factories, Blocks): the net is traced once into a graph
  whose outputs are the ReLU layers' outputs (forward hooks catch their symbols during
  the trace), wrapped in a ``SymbolBlock`` over the same parameters; one pass gives
  every layer's output and the fractions are reduced inside MXNet, so a batch costs one
  host read for all layers.
- Not measured (with a note): exported graphs (their ReLUs are op nodes, not layers of
  the Layout) and Blocks that cannot be traced (a plain ``Block``).
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from paraminspect.actions.train.layers import relu_indices
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
        from mxnet import nd

        outs = self._block(x)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        parts = [
            ((h.reshape((h.shape[0], -1)) != 0).sum(axis=0) == 0).mean().reshape((1,)) for h in outs
        ]
        values = nd.concat(*parts, dim=0).asnumpy()
        return {i: float(v) for i, v in zip(self.indices, values)}


def _trace(model: Model, indices: Tuple[int, ...]) -> Tuple[Any, Tuple[int, ...]]:
    """A SymbolBlock whose outputs are the ReLU layers' outputs, and their indices."""
    import mxnet as mx
    from mxnet import gluon

    from paraminspect.model.sources.block import walk_blocks

    net = model.net
    if not isinstance(net, gluon.HybridBlock):
        return None, indices
    nodes = walk_blocks(net)
    caught: Dict[int, Any] = {}
    hooks: List[Any] = []
    for index in indices:

        def keep(block: Any, args: Any, out: Any, index: int = index) -> None:
            if isinstance(out, mx.sym.Symbol):
                caught[index] = out

        hooks.append(nodes[index].block.register_forward_hook(keep))
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
    group = mx.sym.Group([caught[i] for i in found])
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
