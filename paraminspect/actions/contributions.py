"""Each use's part of a shared parameter's gradient, for every source.

MXNet accumulates one gradient per parameter: every layer (or graph node) that reads a
shared weight adds its part into the same buffer. :mod:`paraminspect.model.per_use` splits
it: in the net's graph, each use reads its own copy of the variable; one more forward and
backward pass on the same inputs and loss gives each copy's gradient, and by the chain rule
they add up to the accumulated one, which is checked here. A Block (a YAML spec builds one)
is traced into its graph first (``net(mx.sym.var(...))``), which works for any HybridBlock
and for containers of them such as ``nn.Sequential``; a Block that cannot be traced keeps
its accumulated gradients, with a note.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from paraminspect.actions.view import ViewOptions
from paraminspect.diagnose.shares import gradient_shares
from paraminspect.model.grad_mode import GradMode, grad_mode, onednn_active, refuse_untraceable
from paraminspect.model.model import Model
from paraminspect.model.mxlog import load_symbol
from paraminspect.model.per_use import SHARE_RTOL
from paraminspect.model.selection import apply_slice, format_index
from paraminspect.reports.grad import Contribution, SharedGrad
from paraminspect.reports.params import ArrayView
from paraminspect.stats import tensor_stats

LossOf = Callable[[Sequence[Any]], Any]


def graph_of(model: Model) -> Tuple[Any, List[str]]:
    """The net's graph and its input names: a SymbolBlock's own, or a HybridBlock traced."""
    import mxnet as mx

    names = [d.name for d in model.layout.inputs]
    if isinstance(model.net, mx.gluon.SymbolBlock):
        return model.net._cached_graph[1], names
    try:
        out = model.net(*[mx.sym.var(n) for n in names])
    except Exception as e:  # a forward that only works on NDArrays (asnumpy, Python control)
        raise NoGraph(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    return (mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out), names


class NoGraph(Exception):
    """The Block cannot be called on symbols, so it has no graph to split."""


def grad_mode_of(model: Model, mode: Optional[str]) -> GradMode:
    """How to differentiate in ``mode`` (see :mod:`paraminspect.model.grad_mode`)."""
    if mode != "predict":
        return grad_mode(mode, None, model.source.label)
    try:
        symbol, _names = graph_of(model)
    except NoGraph as e:
        if onednn_active() and any("MaxPool" in x.type for x in model.layout.layers):
            raise refuse_untraceable(model.source.label, str(e)) from e
        return grad_mode(mode, None, model.source.label)
    return grad_mode(mode, symbol.tojson(), model.source.label)


def per_use_check(
    model: Model,
    view: ViewOptions,
    loss_of: LossOf,
    train_mode: bool,
    twin_json: Optional[str] = None,
) -> Tuple[Tuple[SharedGrad, ...], List[str]]:
    """Each shared parameter's per-use gradients and the check that they add up.

    ``loss_of`` maps the outputs to the same loss the accumulated pass back-propagated;
    ``twin_json`` is the graph that pass ran instead of the net's own, if any.
    """

    from paraminspect.model.per_use import use_gradients

    layout = model.layout
    shared = [p.name for p in layout.params if len(p.users) > 1 and p.trainable]
    if not shared:
        return (), []
    try:
        symbol, names = graph_of(model)
    except NoGraph as e:
        return (), [
            f"per-use contributions need the net's graph, but it cannot be traced on "
            f"symbols ({e}); the accumulated gradients are shown"
        ]
    if twin_json is not None:
        symbol = load_symbol(twin_json)
    xs = model.X if isinstance(model.X, tuple) else (model.X,)
    parts = use_gradients(symbol, names, model.params, shared, xs, loss_of, train_mode)
    by_node: Dict[str, int] = {}
    for x in layout.layers:  # a node with several outputs: its first row
        by_node.setdefault(x.name, x.index)
    index = view.index()
    out, notes = [], []
    for name in shared:
        uses = parts[name]
        users = layout.param(name).users
        layers = [by_node.get(node) for node, _ in uses]
        if any(i is None for i in layers):  # a traced Block: nodes are ops, layers blocks
            if len(uses) != len(users):
                notes.append(f"{name}: {len(uses)} graph uses for {len(users)} layers; skipped")
                continue
            layers = list(users)
        arrays = [g.asnumpy() for _, g in uses]
        accumulated = model.params[name].grad().asnumpy()
        total = np.sum([a.astype(np.float64) for a in arrays], axis=0)
        diff = float(np.max(np.abs(total - accumulated))) if total.size else 0.0
        tolerance = SHARE_RTOL * max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
        split = gradient_shares(arrays, accumulated)
        shares = split.shares if split.shares is not None else (None,) * len(arrays)
        contribs = []
        for i, a, share in zip(layers, arrays, shares):
            shown = None
            if view.grad:
                where = f"[{format_index(index)}]" if index is not None else ""
                shown = ArrayView(
                    f"{name}.grad{where} from layer {layout.layers[int(i or 0)].label}",
                    apply_slice(a, index, name) if index is not None else a,
                )
            contribs.append(Contribution(int(i or 0), tensor_stats(a), a, shown, share))
        out.append(
            SharedGrad(
                parameter=name,
                layers=tuple(int(i or 0) for i in layers),
                contributions=tuple(contribs),
                accumulated=tensor_stats(accumulated),
                max_abs_diff=diff,
                tolerance=tolerance,
                ok=bool(np.isfinite(diff) and diff <= tolerance),
                shares_note=split.reason,
            )
        )
    return tuple(out), notes
