"""``summary`` of an exported graph, a zoo model, a factory or a live Block: from its Layout.

Rows are the Layout's layers: for graphs, every op node that reads a parameter or changes
the shape (see :mod:`paraminspect.model.graph`); for Blocks, every child block at every
depth, a tree (``--depth N`` keeps the first N levels, as torchinfo's ``depth``). A
container's parameter count is its subtree's, as ``block.collect_params()`` gives it.

Shapes, counts, MACs and memory come from the static Layout, so ``--shapes-only``
allocates nothing. When the net is run, each row's output statistics are taken from the
real forward pass: forward hooks on the child blocks, or for graphs a SymbolBlock over
the same parameters whose outputs are the listed nodes' outputs.

MACs are the multiply-accumulates of Convolution, Deconvolution and FullyConnected (Conv*
and Dense blocks) over the batch; every other op counts 0. Backward MACs follow the spec
convention: twice the forward MACs, except up to and including the first trainable layer,
whose input gradient is not needed.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect.actions._prologue import apply_load
from paraminspect.actions.spec_summary import activation_stats
from paraminspect.errors import OptionError, ResourceError
from paraminspect.model.layout import DTYPE_BYTES, LayerDesc, Layout
from paraminspect.model.model import Model
from paraminspect.model.params_io import LoadRequest
from paraminspect.model.selection import layer_params
from paraminspect.model.source import Source
from paraminspect.reports.summary import ActivationStats, LayerSummary, SummaryReport, SummaryTotals

_ACTIVATION_OPS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}


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
                name=layer.path or layer.name,
                type=layer.type,
                activation=_activation(layer),
                in_shape=(),
                out_shape=tuple(out),
                params=used,
                unique_params=unique if _leaf(layout, layer.index) else own_unique,
                trainable=sum(by_name[n].size for n in names if by_name[n].trainable),
                shares_with=shares_with,
                macs=layer.macs,
                backward_macs=back,
                activation_bytes=math.prod(out) * _bytes(layout) if out else 0,
                stats=(stats or {}).get(layer.index),
                depth=layer.depth,
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


def capture_block_stats(model: Model) -> Dict[int, ActivationStats]:
    """Every child block's output statistics from one forward pass (forward hooks)."""
    from paraminspect.model.forward import autograd_mode, call_net
    from paraminspect.model.sources.block import walk_blocks

    layout = model.layout
    by_path = {x.path: x for x in layout.layers}
    found: Dict[int, ActivationStats] = {}
    handles = []
    for node in walk_blocks(model.net):
        layer = by_path.get(node.path)
        if layer is None:
            continue

        def record(block: Any, args: Any, out: Any, layer: LayerDesc = layer) -> None:
            first = out[0] if isinstance(out, (list, tuple)) else out
            if layer.index not in found and hasattr(first, "asnumpy"):
                found[layer.index] = activation_stats(first.asnumpy(), _activation(layer))

        handles.append(node.block.register_forward_hook(record))
    try:
        with autograd_mode(getattr(model.source, "mode", None)):
            call_net(model)
    finally:
        for h in handles:
            h.detach()
    missing = [x.index for x in layout.layers if x.index not in found]
    if missing:  # a hybridized parent ran its cached graph, where no child's hook fires
        found.update(capture_traced_stats(model, missing))
    return found


def capture_traced_stats(model: Model, wanted: List[int]) -> Dict[int, ActivationStats]:
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
    return _internal_stats(model, internals, picked, list(inputs))


def capture_graph_stats(model: Model) -> Dict[int, ActivationStats]:
    """Every listed node's output statistics: a SymbolBlock over the same parameters."""

    layout = model.layout
    internals = model.net._cached_graph[1].get_internals()
    outputs = set(internals.list_outputs())
    wanted = [(x.index, f"{x.name}_output") for x in layout.layers]
    wanted = [(i, o) for i, o in wanted if o in outputs]
    return _internal_stats(model, internals, wanted, [d.name for d in layout.inputs])


_HIDDEN = (
    "run inside a hybridized block's cached graph, where no forward hook fires, and the net "
    "cannot be traced on symbols (it is not a HybridBlock)"
)
_HIDDEN_FIX = "pass the hybridized block itself, or call hybridize(False) on it"


def _unmeasured_notes(layout: Layout, stats: Mapping[int, ActivationStats]) -> List[str]:
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


def net_summary(
    source: Source,
    seed: Optional[int] = None,
    shapes_only: bool = False,
    depth: Optional[int] = None,
    load: Optional[LoadRequest] = None,
) -> SummaryReport:
    """Summarize any non-spec source (see the module docstring); ``load`` (``--load``) is
    loaded after the build, before the statistics pass.

    Raises:
        OptionError: a depth below 1.
        ResourceError: never: a net too large to run gets its static table, with a note.
    """
    if depth is not None and depth < 1:
        raise OptionError("--depth must be at least 1", "--depth")
    notes: List[str] = []
    log: List[str] = []
    stats: Optional[Dict[int, ActivationStats]] = None
    reason: Optional[str] = "--shapes-only asks for the table alone" if shapes_only else None
    if not shapes_only:
        try:
            model = source.build(seed=seed, forward=True)
        except ResourceError as e:
            reason = str(e)
        else:
            log.extend(model.log)
            log.extend(apply_load(model, load))
            if source.kind == "symbol":
                stats = capture_graph_stats(model)
            else:
                stats = capture_block_stats(model)
    layout = source.layout
    if reason is not None and not shapes_only:
        notes.append(f"activation statistics not computed: {reason}")
    if stats is not None:
        notes.extend(_unmeasured_notes(layout, stats))
    if any(x.macs == 0 for x in layout.layers):
        notes.append(
            "MACs count Convolution, Deconvolution and FullyConnected (Conv and Dense "
            "blocks) only; other ops show 0"
        )
    inits = sorted({p.init for p in layout.params})
    return SummaryReport(
        name=layout.name,
        source=source.label,
        input_shape=layout.inputs[0].shape if layout.inputs else (),
        seed=seed,
        init=inits[0] if len(inits) == 1 else "per parameter (see show)",
        hybridized=False,
        ran=stats is not None,
        missing_reason=reason,
        layers=net_rows(layout, stats, depth),
        totals=net_totals(layout),
        notes=tuple(notes),
        log=tuple(log),
        kind=source.kind,
    )


def _internal_stats(
    model: Model, internals: Any, picked: Sequence[Tuple[int, Any]], input_names: List[str]
) -> Dict[int, ActivationStats]:
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
    return {
        i: activation_stats(np.asarray(out.asnumpy()), _activation(by_index[i]))
        for (i, _), out in zip(picked, outs)
    }
