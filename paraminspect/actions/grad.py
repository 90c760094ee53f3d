"""``paraminspect grad``: one forward pass under ``autograd.record()``, a loss, ``backward()``.

One path for every source (a YAML spec, an exported graph, a zoo model, a factory, a live
Block). The inputs are drawn before the weights, as the book draws X before the first
forward pass (or read: ``--data``, arrays from Python), then one forward pass under
``autograd.record()``, the loss on every output (summed over the outputs), and
``backward()`` in the same mode. ``--mode`` sets ``record(train_mode=...)``; without it,
Gluon's default inside ``record`` (train mode); where MXNet's predict-mode gradient is
unreliable see :mod:`paraminspect.model.grad_mode`. Targets are drawn after X and the
weights. A net with Dropout in train mode gets one more draw, an integer that seeds
MXNet before the recorded pass and again before the per-use pass, so both see the same
masks.

Per-use contributions of parameters read by several layers or nodes come from
:mod:`paraminspect.actions.contributions`.

``loss`` is one of the CLI's names or, from the API, a function of the outputs (the one
output, or a tuple of several) returning the loss NDArray; a loss that is not a scalar is
back-propagated as MXNet does, with a head gradient of ones (as if summed).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.contributions import LossOf, grad_mode_of, per_use_check
from paraminspect.actions.view import ViewOptions, collect_report, weight_norms
from paraminspect.choices import LOSSES
from paraminspect.errors import BuildError, OptionError
from paraminspect.model import fixgamma
from paraminspect.model.forward import draw_inputs, mode_note, run_first_pass
from paraminspect.model.grad_mode import twin_net
from paraminspect.model.heads import HeadLoss, head_loss
from paraminspect.model.losses import check_net_loss, draw_targets, loss_value, net_target_note
from paraminspect.model.model import Model
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.selection import select_names
from paraminspect.model.source import Source
from paraminspect.model.sources import ModelRef, open_source
from paraminspect.reports.grad import GradReport

Loss = Union[str, Callable[[Any], Any]]


def _outputs(out: Any) -> List[Any]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _user_loss(loss: Callable[[Any], Any]) -> LossOf:
    """The user's function of the outputs, fed the one output or a tuple of several."""

    from paraminspect.usercode import call_loss

    def compute(outs: Sequence[Any]) -> Any:
        return call_loss(loss, outs[0] if len(outs) == 1 else tuple(outs))

    return compute


def _loss_of(loss: str, targets: Sequence[Optional[Any]]) -> LossOf:
    def compute(outs: Sequence[Any]) -> Any:
        total = None
        for y, t in zip(outs, targets):
            part = loss_value(loss, y, t)
            total = part if total is None else total + part
        return total

    return compute


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


def _dataset(source: Source, data: Optional[str], targets: Optional[str], loss: Loss) -> Any:
    """``--data`` (and ``--targets``), checked against the net's one input before MXNet."""
    from paraminspect.model.data import load_data

    if targets is not None and data is None:
        raise OptionError("--targets goes with --data X.npy; add --data", "--targets")
    if data is None:
        return None
    layout = source.layout
    if len(layout.inputs) != 1 or not isinstance(loss, str):
        raise OptionError(
            f"--data feeds a net with one input; {source.label} takes "
            f"{', '.join(d.name for d in layout.inputs)}: give them with --input NAME=FILE.npy",
            "--data",
        )
    last = layout.layers[-1].out_shape if layout.layers else None
    return load_data(
        data, targets, input_shape=tuple(layout.inputs[0].shape), output_shape=last, loss=loss
    )


def _deferred(model: Model) -> bool:
    """Some weight waits for the first forward pass (deferred initialization)."""
    from mxnet.gluon.parameter import DeferredInitializationError

    try:
        for p in model.params.values():
            p.data()
    except DeferredInitializationError:
        return True
    return False


def grad(
    spec: ModelRef,
    view: ViewOptions,
    seed: Optional[int] = None,
    loss: Loss = "sum",
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
    data: Optional[str] = None,
    targets: Optional[str] = None,
) -> GradReport:
    """Build any MODEL, then forward under record, ``loss``, and backward.

    The gradients stay in the parameters' buffers afterwards, as ``backward()`` leaves them.

    Args:
        spec: a MODEL argument (None: ``mlp``), a live Block, or a source.
        view: which parameters and what of them to show (grad stats are always computed).
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        loss: ``sum``, ``l2`` or ``softmax-ce`` (see :mod:`paraminspect.model.losses`), or
            a function of the outputs.
        load: load this parameter file right after the build; the gradients are then those
            of the loaded weights (on the same X).
        save: write the parameters (not the gradients) after the backward pass.
        inputs, mode: ``--input`` and ``--mode`` (not for a spec: its input is its own).
        data: ``--data X.npy``: the batch to take the gradients on, instead of a drawn X.
        targets: ``--targets T.npy``: the loss's targets for ``data`` (not for ``sum``).

    Raises:
        OptionError: bad --slice, --layer, --select or a loss the outputs cannot feed.
        DataError: a bad ``data`` or ``targets`` file.
        BuildError: MXNet refused the network, the backward pass, or the loss function.
    """
    source = open_source(spec, inputs, load, mode)
    view.index()  # a bad --slice fails before anything is built
    if isinstance(loss, str) and loss not in LOSSES:
        check_net_loss(loss, [])
    if view.layers or view.select is not None:
        select_names(source.layout, view.layers, view.select)
    dataset = _dataset(source, data, targets, loss)
    preflight(load, save)
    import mxnet as mx  # after every check of the options and files
    from mxnet import autograd, nd

    # The recorded pass is the first one (it finishes a spec's deferred initialization, as
    # a hand-written script does), unless the weights are needed before it: for a load,
    # or before the integer that seeds Dropout's masks is drawn.
    model = source.build(seed=seed, forward=load is not None, backward=True)
    model.log.extend(apply_load(model, load))
    dropout = any(x.type.lower() == "dropout" for x in model.layout.layers)
    if dropout and _deferred(model):
        run_first_pass(model)
    if dataset is not None:
        xs: Tuple[Any, ...] = (nd.array(dataset.X),)
    elif model.X is not None:
        xs = model.X if isinstance(model.X, tuple) else (model.X,)
    else:
        xs = draw_inputs(model.layout.inputs, getattr(source, "arrays", None))
    model.X = xs[0] if len(xs) == 1 else xs
    how = grad_mode_of(model, getattr(source, "mode", None))
    train_mode = how.train_mode
    net = model.net if how.twin_json is None else twin_net(how.twin_json, model)
    # a BatchNorm with fix_gamma uses 1 for gamma; its stored value is kept (see fixgamma)
    stored_gammas = fixgamma.snapshot(model.params, model.layout.fixed_gammas)
    dropout_seed = None
    if train_mode and dropout:
        dropout_seed = int(nd.random.randint(0, 2**31 - 1, shape=(1,)).asscalar())
        mx.random.seed(dropout_seed)
    try:
        with autograd.record(train_mode=train_mode):
            outs = _outputs(net(*xs))
        model.forward_done = True
        model.drain_log()
        shapes = [tuple(y.shape) for y in outs]
        drawn: List[Optional[Any]] = [None] * len(outs)
        if isinstance(loss, str):
            check_net_loss(loss, shapes)
            if dataset is not None:
                drawn = [None if dataset.y is None else nd.array(dataset.y)]
            else:
                drawn = [draw_targets(loss, s) for s in shapes]
            loss_of = _loss_of(loss, drawn)
        else:
            loss_of = _user_loss(loss)
        with autograd.record(train_mode=train_mode):
            value = loss_of(outs)
        value.backward(train_mode=train_mode)  # MXNet's default, True, is wrong after predict
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
    own = _head_loss(model, loss, outs, xs, drawn, shapes)
    model.log.extend(fixgamma.restore(model.params, stored_gammas))
    if hasattr(source, "mode"):  # a spec's passes are the spec's: no --mode to choose
        model.log.append(mode_note(source.mode, recording=True))
    model.log.extend(apply_save(model, save))
    full = dataclasses.replace(view, grad_stats=True, hist_grad=True)
    base = collect_report(model, full, command="grad", seed=seed)
    shown = {row.name for row in base.parameters}
    if dropout_seed is not None:
        mx.random.seed(dropout_seed)  # the per-use pass sees the recorded pass's masks
    checked, notes = per_use_check(model, view, loss_of, train_mode, how.twin_json)
    if how.note:
        notes.insert(0, how.note)
    if notes:
        base = dataclasses.replace(base, notes=base.notes + tuple(notes))
    if isinstance(loss, str):
        note = own.note if own is not None else net_target_note(loss, shapes)
        if dataset is not None:
            note = f"data {dataset.description}"
    else:
        note = "loss computed by the given function of the outputs"
    return GradReport(
        base=base,
        loss=loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
        loss_value=loss_float if own is None else own.value,
        target_note=note,
        weight_l2=weight_norms(model, base),
        shared=tuple(s for s in checked if s.parameter in shown),
        x=xs[0].asnumpy(),
        targets=None if drawn[0] is None else drawn[0].asnumpy(),
    )
