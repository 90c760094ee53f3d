"""The rows of ``summary`` for any source: one per layer of the Layout, and each layer's
output statistics from a real forward pass.

Rows are the Layout's layers: for graphs, the op nodes (see :mod:`paraminspect.model.graph`);
for Blocks (a YAML spec builds one), every child block at every depth, a tree (``--depth N``
keeps the first N levels, as torchinfo's ``depth``). A container's parameter count is its
subtree's, as ``block.collect_params()`` gives it.

Shapes, counts, MACs and memory come from the static Layout, so ``--shapes-only``
allocates nothing. When the net is run, each row's output statistics are taken from the
real forward pass: forward hooks on the child blocks, or for graphs (and children a
hybridized parent runs in its cached graph) a SymbolBlock over the same parameters whose
outputs are the listed nodes' outputs. The forward pass runs outside
``autograd.record()``, as the book's ``net(X)`` (dropout is the identity, batch norm uses
its running statistics), unless ``--mode`` asks otherwise.

Conventions:

- MACs are the multiply-accumulates of Convolution, Deconvolution, FullyConnected, the
  fused RNN op and bilinear UpSampling (Conv*, Dense and rnn blocks) over the batch
  (:mod:`paraminspect.model.graph`); every other op counts 0. Backward MACs: the
  weight gradient (as many MACs as the forward pass) plus the input gradient (as many
  again) when some earlier layer has trainable parameters; the first trainable layer does
  not need its input gradient, since X is not a parameter. So backward is 2x forward
  except up to and including that layer (1x).
- ``saturated``: the fraction of a tanh output with ``|a| > SATURATION`` (0.99), or of a
  sigmoid output with ``a < 1 - SATURATION`` or ``a > SATURATION``; there the derivative
  is below 0.02, so almost no gradient flows back.
- ``dead``: the fraction of exact zeros in a ReLU output; ``dead_units`` the units that are
  zero for every sample of the batch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

import numpy as np

from paraminspect.errors import OptionError
from paraminspect.model.layout import DTYPE_BYTES, LayerDesc, Layout
from paraminspect.model.model import Model
from paraminspect.model.selection import layer_params
from paraminspect.reports.params import Histogram
from paraminspect.reports.summary import SATURATION, ActivationStats, LayerSummary, SummaryTotals
from paraminspect.stats import tensor_stats

_ACTIVATION_OPS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}


def activation_stats(values: np.ndarray, activation: Optional[str]) -> ActivationStats:
    """Statistics of one layer output (see the module docstring for dead and saturated)."""
    s = tensor_stats(values)
    dead = dead_units = saturated = None
    flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(1, -1)
    if activation == "relu":
        dead = s.zeros
        dead_units = int(np.count_nonzero(~flat.any(axis=0)))
    elif activation == "tanh" and values.size:
        saturated = float(np.count_nonzero(np.abs(values) > SATURATION)) / values.size
    elif activation == "sigmoid" and values.size:
        flat_ends = (values > SATURATION) | (values < 1 - SATURATION)
        saturated = float(np.count_nonzero(flat_ends)) / values.size
    return ActivationStats(
        mean=s.mean,
        std=s.std,
        min=s.min,
        max=s.max,
        zeros=s.zeros,
        dead=dead,
        dead_units=dead_units,
        saturated=saturated,
        nan=s.nan,
        inf=s.inf,
    )


def _activation(layer: LayerDesc) -> Optional[str]:
    act = layer.activation or _ACTIVATION_OPS.get(layer.type.lower())
    return act.lower() if act else None


def _leaf(layout: Layout, index: int) -> bool:
    layer = layout.layers[index]
    nxt = layout.layers[index + 1] if index + 1 < len(layout.layers) else None
    return not (nxt is not None and layer.path and nxt.path.startswith(layer.path + "."))


def _bytes(layout: Layout) -> int:
    return DTYPE_BYTES.get(layout.inputs[0].dtype, 4) if layout.inputs else 4


def net_rows(
    layout: Layout,
    stats: Optional[Mapping[int, ActivationStats]] = None,
    depth: Optional[int] = None,
    hists: Optional[Mapping[int, Histogram]] = None,
) -> Tuple[LayerSummary, ...]:
    """One :class:`LayerSummary` per layer of ``layout`` (up to ``depth`` levels)."""
    by_name = {p.name: p for p in layout.params}
    rows = []
    trainable_before = False
    for layer in layout.layers:
        names = layer_params(layout, layer.index)
        used = sum(by_name[n].size for n in names)
        unique = sum(by_name[n].size for n in names if by_name[n].users[:1] == (layer.index,))
        own_unique = sum(
            by_name[n].size
            for n in names
            if by_name[n].users and by_name[n].users[0] >= layer.index
        )
        shares_with = None
        if layer.params and all(by_name[n].users[0] != layer.index for n in layer.params):
            shares_with = by_name[layer.params[0]].users[0]
        back = layer.macs * (2 if trainable_before else 1)
        if _leaf(layout, layer.index) and any(by_name[n].trainable for n in layer.params):
            trainable_before = True
        if depth is not None and layer.depth >= depth:
            continue
        out = layer.out_shape or ()
        rows.append(
            LayerSummary(
                index=layer.index,
                name=layer.name,
                type=layer.type,
                activation=_activation(layer),
                in_shape=tuple(layer.in_shape or ()),
                out_shape=tuple(out),
                params=used,
                unique_params=unique if _leaf(layout, layer.index) else own_unique,
                trainable=sum(by_name[n].size for n in names if by_name[n].trainable),
                shares_with=shares_with,
                macs=layer.macs,
                backward_macs=back,
                activation_bytes=math.prod(out) * _bytes(layout) if out else 0,
                stats=(stats or {}).get(layer.index),
                hist=(hists or {}).get(layer.index),
                depth=layer.depth,
                path=layer.path,
                shares_path="" if shares_with is None else layout.layers[shares_with].path,
            )
        )
    return tuple(rows)


def net_totals(layout: Layout) -> SummaryTotals:
    """Totals over the whole layout (containers' outputs are their children's, counted once)."""
    leaves = [x for x in layout.layers if _leaf(layout, x.index)]
    rows = net_rows(layout)
    trainable = layout.trainable_count
    size = _bytes(layout)
    inputs = sum(math.prod(d.shape) * size for d in layout.inputs if d.shape)
    return SummaryTotals(
        total=layout.total_params,
        unique=layout.unique_count,
        trainable=trainable,
        non_trainable=layout.unique_count - trainable,
        param_bytes=layout.param_bytes,
        grad_bytes=sum(p.nbytes for p in layout.params if p.trainable),
        activation_bytes=inputs + sum(math.prod(x.out_shape) * size for x in leaves if x.out_shape),
        forward_macs=sum(x.macs for x in leaves),
        backward_macs=sum(r.backward_macs for r in rows if _leaf(layout, r.index)),
    )


T = TypeVar("T")
Measure = Callable[[np.ndarray, LayerDesc], T]  # a layer's output -> what is kept of it


def output_stats(values: np.ndarray, layer: LayerDesc) -> ActivationStats:
    """The default :data:`Measure`: the output's activation statistics."""
    return activation_stats(values, _activation(layer))


def capture_outputs(model: Model, measure: Measure[T]) -> Dict[int, T]:
    """``measure`` of every layer's output in one forward pass on ``model.X``, by layer
    index, for any source: a graph's nodes, or a Block's children (a spec's too)."""
    if model.source.kind == "symbol":
        return capture_graph_stats(model, measure)
    return capture_block_stats(model, measure)


def capture_block_stats(model: Model, measure: Measure[T]) -> Dict[int, T]:
    """Every child block's output, measured, from one forward pass (forward hooks)."""
    from paraminspect.model.forward import autograd_mode, call_net
    from paraminspect.model.sources.block import walk_blocks

    layout = model.layout
    by_path = {x.path: x for x in layout.layers}
    found: Dict[int, T] = {}
    handles = []
    for node in walk_blocks(model.net):
        layer = by_path.get(node.path)
        if layer is None:
            continue

        def record(block: Any, args: Any, out: Any, layer: LayerDesc = layer) -> None:
            first = out[0] if isinstance(out, (list, tuple)) else out
            if layer.index not in found and hasattr(first, "asnumpy"):
                found[layer.index] = measure(first.asnumpy(), layer)

        handles.append(node.block.register_forward_hook(record))
    try:
        with autograd_mode(getattr(model.source, "mode", None)):
            call_net(model)
    finally:
        for h in handles:
            h.detach()
    missing = [x.index for x in layout.layers if x.index not in found]
    if missing:  # a hybridized parent ran its cached graph, where no child's hook fires
        found.update(capture_traced_stats(model, missing, measure))
    return found


def capture_traced_stats(model: Model, wanted: List[int], measure: Measure[T]) -> Dict[int, T]:
    """Output statistics of the ``wanted`` layers of a (hybridized) HybridBlock: trace it on
    symbols to name each child's output, then run a SymbolBlock over the same parameters
    whose outputs are those internals. Layers it cannot reach are left out."""

    from paraminspect.model.sources.block import trace_block, walk_blocks

    layout = model.layout
    nodes = walk_blocks(model.net)
    by_path = {x.path: x for x in layout.layers}
    inputs = {d.name: d for d in layout.inputs}
    try:
        trace = trace_block(model.net, nodes, inputs)
    except OptionError:
        trace = None
    if trace is None:
        return {}
    internals = trace.symbol.get_internals()
    outputs = set(internals.list_outputs())
    picked = []
    for node in nodes:
        layer = by_path.get(node.path)
        if layer is not None and layer.index in wanted and node.out_sym in outputs:
            picked.append((layer.index, node.out_sym))
    if not picked:
        return {}
    return _internal_stats(model, internals, picked, list(inputs), measure)


def capture_graph_stats(model: Model, measure: Measure[T]) -> Dict[int, T]:
    """Every listed node's output statistics: a SymbolBlock over the same parameters."""

    layout = model.layout
    internals = model.net._cached_graph[1].get_internals()
    outputs = set(internals.list_outputs())
    wanted = []
    for x in layout.layers:  # a single output is NAME_output, one of several NAME_outputK
        names = [f"{x.name}_output{x.output_index}"]
        if x.output_index == 0:
            names.insert(0, f"{x.name}_output")
        found = next((o for o in names if o in outputs), None)
        if found is not None:
            wanted.append((x.index, found))
    return _internal_stats(model, internals, wanted, [d.name for d in layout.inputs], measure)


_HIDDEN = (
    "run inside a hybridized block's cached graph, where no forward hook fires, and the net "
    "cannot be traced on symbols (it is not a HybridBlock)"
)
_HIDDEN_FIX = "pass the hybridized block itself, or call hybridize(False) on it"


def unmeasured_notes(layout: Layout, stats: Mapping[int, Any]) -> List[str]:
    """What a run could not measure: layers hidden inside a hybridized child of a plain
    Block (neither its hooks nor a symbolic trace reach them)."""
    unshaped = [x.path or x.name for x in layout.layers if x.out_shape is None]
    unmeasured = [x.path or x.name for x in layout.layers if x.index not in stats]
    if unshaped and unshaped == unmeasured:
        return [
            f"{', '.join(unshaped)} {_HIDDEN}: their output shapes and activation statistics "
            f"are unknown; {_HIDDEN_FIX}"
        ]
    out = []
    if unshaped:
        out.append(f"output shape unknown for {', '.join(unshaped)}: they {_HIDDEN}")
    if unmeasured:
        out.append(
            f"activation statistics not measured for {', '.join(unmeasured)}: they {_HIDDEN}"
        )
    return out


def _internal_stats(
    model: Model,
    internals: Any,
    picked: Sequence[Tuple[int, Any]],
    input_names: List[str],
    measure: Measure[T],
) -> Dict[int, T]:
    """Run a SymbolBlock over the net's own parameters whose outputs are the ``picked``
    internal outputs (layer index, output name); each one's activation statistics."""
    import mxnet as mx

    from paraminspect.model.forward import autograd_mode

    group = mx.sym.Group([internals[o] for _, o in picked])
    with warnings.catch_warnings():  # "Cannot decide type": the inputs' dtype comes with X
        warnings.simplefilter("ignore", UserWarning)
        probe = mx.gluon.SymbolBlock(
            group, [mx.sym.var(n) for n in input_names], params=model.net.collect_params()
        )
    xs = model.X if isinstance(model.X, tuple) else (model.X,)
    with autograd_mode(getattr(model.source, "mode", None)):
        outs = probe(*xs)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    by_index = {x.index: x for x in model.layout.layers}
    return {i: measure(np.asarray(out.asnumpy()), by_index[i]) for (i, _), out in zip(picked, outs)}
