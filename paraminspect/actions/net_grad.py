"""``grad`` on an exported graph, a zoo model, a factory or a live Block.

The inputs are drawn (or read), then one forward pass under ``autograd.record()``, the
loss on every output (summed over the outputs), and ``backward()``. ``--mode`` sets
``record(train_mode=...)``; without it, Gluon's default inside ``record`` (train mode).
Per-use contributions of parameters read by several nodes or blocks come from
:mod:`paraminspect.model.per_use` (each use gets its own copy of the variable in the
graph; a Block is traced into its graph first, which works for any HybridBlock and for
containers of them such as ``nn.Sequential``).

``loss`` is one of the CLI's names or, from the API, a function of the outputs (the one
output, or a tuple of several) returning the loss NDArray; a loss that is not a scalar is
back-propagated as MXNet does, with a head gradient of ones (as if summed).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.view import ViewOptions, collect_report, weight_norms
from paraminspect.choices import LOSSES
from paraminspect.diagnose.shares import gradient_shares
from paraminspect.errors import BuildError, OptionError
from paraminspect.model import fixgamma
from paraminspect.model.forward import draw_inputs, mode_note
from paraminspect.model.grad_mode import (
    GradMode,
    grad_mode,
    onednn_active,
    refuse_untraceable,
    twin_net,
)
from paraminspect.model.heads import HeadLoss, head_loss
from paraminspect.model.losses import draw_targets, loss_value
from paraminspect.model.model import Model
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.per_use import SHARE_RTOL
from paraminspect.model.selection import apply_slice, format_index, select_names
from paraminspect.model.source import Source
from paraminspect.reports.grad import Contribution, GradReport, SharedGrad
from paraminspect.reports.params import ArrayView
from paraminspect.stats import tensor_stats

Loss = Union[str, Callable[[Any], Any]]
LossOf = Callable[[Sequence[Any]], Any]


def _outputs(out: Any) -> List[Any]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def check_net_loss(loss: str, shapes: Sequence[Tuple[int, ...]]) -> None:
    """Refuse a loss the outputs cannot feed (softmax-ce needs (batch, classes>=2))."""
    if loss not in LOSSES:
        raise OptionError(f"unknown loss '{loss}' (choose from {', '.join(LOSSES)})", "--loss")
    if loss == "softmax-ce":
        for shape in shapes:
            if len(shape) != 2 or shape[1] < 2:
                raise OptionError(
                    "softmax-ce needs outputs of shape (batch, classes) with at least 2 "
                    f"classes, but an output is {shape}; use --loss l2 or --loss sum",
                    "--loss",
                )


def net_target_note(loss: str, shapes: Sequence[Tuple[int, ...]]) -> str:
    shown = ", ".join(str(s) for s in shapes)
    if loss == "sum":
        return "loss = sum of every output of net(X) (no targets)"
    if loss == "l2":
        return (
            f"targets T ~ N(0, 1) of shape {shown}, drawn after X and the weights; loss = "
            "mean over samples of 0.5 * mean((y - T)^2), summed over the outputs"
        )
    return (
        f"labels drawn uniformly for each sample of outputs {shown}, after X and the "
        "weights; loss = mean over samples of -log softmax(y)[label], summed over the outputs"
    )


def _user_loss(loss: Callable[[Any], Any]) -> LossOf:
    """The user's function of the outputs, fed the one output or a tuple of several."""

    def compute(outs: Sequence[Any]) -> Any:
        return call_loss(loss, outs[0] if len(outs) == 1 else tuple(outs))

    return compute


def call_loss(loss: Callable[[Any], Any], outputs: Any) -> Any:
    """The user's loss function on the outputs: what it raises (or a value that is not an
    NDArray) becomes a :class:`~paraminspect.errors.UserCodeError` naming it.

    Raises:
        UserCodeError: the function raised, called sys.exit, or returned no NDArray.
    """
    from paraminspect.errors import UserCodeError
    from paraminspect.usercode import user_code

    name = f"the loss function {getattr(loss, '__name__', type(loss).__name__)}"
    with user_code(name):
        value = loss(outputs)
    if not hasattr(value, "backward"):
        raise UserCodeError(
            f"{name} returned {type(value).__name__}, not an NDArray; return the loss computed "
            "from the outputs (e.g. (out - y).square().mean())"
        )
    return value


def _loss_of(loss: str, targets: Sequence[Optional[Any]]) -> LossOf:
    def compute(outs: Sequence[Any]) -> Any:
        total = None
        for y, t in zip(outs, targets):
            part = loss_value(loss, y, t)
            total = part if total is None else total + part
        return total

    return compute


def _graph_of(model: Model) -> Tuple[Any, List[str]]:
    """The net's graph and its input names: a SymbolBlock's own, or a HybridBlock traced."""
    import mxnet as mx

    names = [d.name for d in model.layout.inputs]
    if isinstance(model.net, mx.gluon.SymbolBlock):
        return model.net._cached_graph[1], names
    try:
        out = model.net(*[mx.sym.var(n) for n in names])
    except Exception as e:  # a forward that only works on NDArrays (asnumpy, Python control)
        raise _NoGraph(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    return (mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out), names


class _NoGraph(Exception):
    """The Block cannot be called on symbols, so it has no graph to split."""


def _head_loss(
    model: Model,
    loss: Loss,
    outs: Sequence[Any],
    xs: Sequence[Any],
    targets: Sequence[Optional[Any]],
    shapes: Sequence[Tuple[int, ...]],
) -> Optional[HeadLoss]:
    """The loss value and line when the graph's own loss heads are among the outputs."""
    if not model.layout.loss_heads or not isinstance(loss, str):
        return None
    return head_loss(
        model.layout.loss_heads,
        [y.asnumpy() for y in outs],
        {d.name: x.asnumpy() for d, x in zip(model.layout.inputs, xs)},
        lambda k: float(loss_value(loss, outs[k], targets[k]).asscalar()),
        net_target_note(loss, shapes),
    )


def _grad_mode(model: Model, mode: Optional[str]) -> GradMode:
    """How to differentiate in ``mode`` (see :mod:`paraminspect.model.grad_mode`)."""
    if mode != "predict":
        return grad_mode(mode, None, model.source.label)
    try:
        symbol, _names = _graph_of(model)
    except _NoGraph as e:
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
    import mxnet as mx

    from paraminspect.model.per_use import use_gradients

    layout = model.layout
    shared = [p.name for p in layout.params if len(p.users) > 1 and p.trainable]
    if not shared:
        return (), []
    try:
        symbol, names = _graph_of(model)
    except _NoGraph as e:
        return (), [
            f"per-use contributions need the net's graph, but it cannot be traced on "
            f"symbols ({e}); the accumulated gradients are shown"
        ]
    if twin_json is not None:
        symbol = mx.sym.load_json(twin_json)
    xs = model.X if isinstance(model.X, tuple) else (model.X,)
    parts = use_gradients(symbol, names, model.params, shared, xs, loss_of, train_mode)
    by_node = {x.name: x.index for x in layout.layers}
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
        split = gradient_shares(arrays, accumulated)  # as the spec path gives them
        shares = split.shares if split.shares is not None else (None,) * len(arrays)
        contribs = []
        for i, a, share in zip(layers, arrays, shares):
            shown = None
            if view.grad:
                where = f"[{format_index(index)}]" if index is not None else ""
                shown = ArrayView(
                    f"{name}.grad{where} from layer {i}",
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


def net_dataset(
    source: Source, data: Optional[str], targets: Optional[str], loss: Loss
) -> Optional[Any]:
    """``--data``/``--targets`` for a non-spec source, checked against its one input before
    anything is built (the outputs are checked after the build).

    Raises:
        OptionError: --targets without --data; a model with several inputs.
        DataError: see :func:`paraminspect.model.data.load_data`.
    """
    from paraminspect.model.data import load_data

    if targets is not None and data is None:
        raise OptionError("--targets goes with --data X.npy; add --data", "--targets")
    if data is None:
        return None
    inputs = source.layout.inputs
    if len(inputs) != 1:
        raise OptionError(
            f"--data feeds a model with one input; {source.label} has {len(inputs)} "
            f"({', '.join(d.name for d in inputs)}): feed them with --input NAME=FILE.npy",
            "--data",
        )
    shape = tuple(inputs[0].shape) or None
    return load_data(data, targets, input_shape=shape, output_shape=None, loss=str(loss))


def net_grad(
    source: Source,
    view: ViewOptions,
    seed: Optional[int] = None,
    loss: Loss = "sum",
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    dataset: Optional[Any] = None,
) -> GradReport:
    """``grad`` on any non-spec source (see the module docstring).

    The gradients stay in the parameters' buffers afterwards, as ``backward()`` leaves them.

    Raises:
        OptionError: bad selection or a loss the outputs cannot feed.
        BuildError: MXNet refused the recorded or the backward pass.
    """
    import mxnet as mx
    from mxnet import autograd

    view.index()
    if isinstance(loss, str) and loss not in LOSSES:
        check_net_loss(loss, [])
    preflight(load, save)
    if view.layers or view.select is not None:
        # a bad selection fails before anything is allocated; without one, the Layout
        # comes with the build (shape inference once, not twice)
        select_names(source.layout, view.layers, view.select)
    # The loaders already ran the pass that finishes deferred initialization (Blocks) or
    # need none (graphs), so the recorded pass is the first one: no extra forward.
    model = source.build(seed=seed, forward=False, backward=True)
    model.log.extend(apply_load(model, load))
    if dataset is not None:  # --data: the user's batch, nothing drawn
        xs = (mx.nd.array(dataset.X, dtype=model.layout.inputs[0].dtype),)
    else:
        xs = draw_inputs(model.layout.inputs, getattr(source, "arrays", None))
    model.X = xs[0] if len(xs) == 1 else xs
    mode = getattr(source, "mode", None)
    how = _grad_mode(model, mode)
    train_mode = how.train_mode
    net = model.net if how.twin_json is None else twin_net(how.twin_json, model)
    stored_gammas = fixgamma.snapshot(model.params, model.layout.fixed_gammas)
    try:
        with autograd.record(train_mode=train_mode):
            outs = _outputs(net(*xs))
        shapes = [tuple(y.shape) for y in outs]
        targets: List[Optional[Any]] = [None] * len(outs)
        if isinstance(loss, str):
            check_net_loss(loss, shapes)
            targets = [draw_targets(loss, s) for s in shapes] if dataset is None else []
            if dataset is not None:
                targets = [_file_targets(dataset, shapes, loss, source.label)]
            loss_of = _loss_of(loss, targets)
        else:
            loss_of = _user_loss(loss)
        with autograd.record(train_mode=train_mode):
            value = loss_of(outs)
        value.backward(train_mode=train_mode)  # MXNet's default, True, is wrong after predict
        model.forward_done = True
        loss_float = float(value.sum().asscalar())
    except mx.base.MXNetError as e:
        from paraminspect.model.graph import mxnet_reason

        raise BuildError(f"the backward pass failed for {source.label}: {mxnet_reason(e)}") from e
    except (RuntimeError, ValueError, TypeError, AttributeError) as e:
        if isinstance(loss, str):
            raise
        raise BuildError(  # the user's loss function failed: its error in one line
            f"the loss function failed for {source.label}: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    own = _head_loss(model, loss, outs, xs, targets, shapes)
    model.log.extend(fixgamma.restore(model.params, stored_gammas))
    model.log.append(mode_note(mode, recording=True))
    model.log.extend(apply_save(model, save))
    full = dataclasses.replace(view, grad_stats=True, hist_grad=True)
    base = collect_report(model, full, command="grad", seed=seed)
    shown = {row.name for row in base.parameters}
    checked, notes = per_use_check(model, view, loss_of, train_mode, how.twin_json)
    if how.note:
        notes.insert(0, how.note)
    if notes:
        base = dataclasses.replace(base, notes=base.notes + tuple(notes))
    weight_l2 = weight_norms(model, base)
    return GradReport(
        base=base,
        loss=loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
        loss_value=loss_float if own is None else own.value,
        target_note=(
            dataset.description
            if dataset is not None
            else net_target_note(loss, shapes)
            if own is None
            else own.note
        )
        if isinstance(loss, str)
        else "loss computed by the given function of the outputs",
        weight_l2=weight_l2,
        shared=tuple(s for s in checked if s.parameter in shown),
        x=xs[0].asnumpy(),
        targets=None if targets[0] is None else targets[0].asnumpy(),
    )


def _file_targets(dataset: Any, shapes: List[Tuple[int, ...]], loss: str, label: str) -> Any:
    """``--targets`` (or a .npz's y) as the loss's targets, checked against the output."""
    import mxnet as mx

    from paraminspect.model.data import fit_targets

    if len(shapes) != 1:
        raise OptionError(
            f"{label} has {len(shapes)} outputs; --data/--targets give one output's targets",
            "--data",
        )
    y = fit_targets(dataset, shapes[0], loss)
    return None if y is None else mx.nd.array(y)
