"""``paraminspect grad``: one forward pass under ``autograd.record()``, a loss, ``backward()``.

Shared parameters get one gradient buffer that every using layer adds to. To show each
layer's part, the same network is rebuilt without sharing (each layer its own copy of the
shared tensors, same values), run on the same X and targets; its per-layer gradients are
the contributions, and their sum is checked against the accumulated gradient.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

import numpy as np

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.view import ViewOptions, collect_report, weight_norms
from paraminspect.diagnose.shares import gradient_shares
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.data import load_data
from paraminspect.model.losses import (
    check_loss,
    draw_targets,
    loss_value,
    output_shape,
    target_note,
)
from paraminspect.model.memory import check_plan_memory
from paraminspect.model.model import Model
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.per_use import SHARE_RTOL
from paraminspect.model.selection import apply_slice, format_index
from paraminspect.model.sources import ModelRef, open_source
from paraminspect.reports.grad import Contribution, GradReport, SharedGrad
from paraminspect.reports.params import ArrayView
from paraminspect.stats import tensor_stats


@dataclasses.dataclass
class Backward:
    """The result of :func:`run_backward`: the loss and what it was computed from.

    The passes are queued, not finished: MXNet computes them in its own threads while
    Python reads what is ready (the weights first). :meth:`finish` waits for all of it.
    """

    loss: Any  # the loss NDArray, shape (1,) or ()
    targets: Optional[Any]  # NDArray or None
    dropout_seed: Optional[int]

    def finish(self, model: Model) -> float:
        """Wait for the forward and backward passes; the loss as a float.

        Raises:
            BuildError: MXNet failed while computing them.
        """
        return _wrap_mxnet(model, lambda: float(self.loss.asscalar()))


def has_dropout(model: Model) -> bool:
    return any(layer.type == "dropout" for layer in model.plan.layers)


T = TypeVar("T")


def _wrap_mxnet(model: Model, work: Callable[[], T]) -> T:
    """``work()``, with an MXNet failure turned into a :class:`BuildError`."""
    import mxnet as mx

    try:
        return work()
    except mx.base.MXNetError as e:
        raise BuildError(
            f"the backward pass failed for {model.loaded.source}: {str(e).splitlines()[0]}"
        ) from e


def record_and_backward(model: Model, compute_loss: Callable[[], Any]) -> Any:
    """Queue ``compute_loss()`` under ``autograd.record()``, then ``backward()``; the loss
    NDArray (read it, or any gradient, to wait for the passes).

    Raises:
        BuildError: MXNet refused the recorded pass or the backward pass.
    """
    from mxnet import autograd

    def queue() -> Any:
        with autograd.record():
            value = compute_loss()
        value.backward()
        return value

    return _wrap_mxnet(model, queue)


def run_backward(model: Model, loss: str, targets: Optional[Any] = None) -> Backward:
    """Draw targets (after X and the weights; unless ``targets`` are given, the user's
    ``--targets``), then forward under record, loss, backward.

    With dropout layers, one more integer is drawn and ``mx.random.seed`` set to it before
    the recorded forward pass, so the unshared copy can replay the same dropout masks.
    """
    import mxnet as mx
    from mxnet import nd

    if targets is None:
        targets = draw_targets(loss, output_shape(model.plan))
    seed = None
    if has_dropout(model):
        seed = int(nd.random.randint(0, 2**31 - 1, shape=(1,)).asscalar())
        mx.random.seed(seed)
    result = record_and_backward(model, lambda: loss_value(loss, model.net(model.X), targets))
    return Backward(result, targets, seed)


def first_backward(model: Model, loss: str) -> Backward:
    """Draw X, then the first forward pass (which finishes deferred initialization) under
    ``autograd.record()``, the loss and ``backward()``: one forward pass instead of two.

    Only for a loss without targets and a net without dropout: then nothing is drawn between
    the weights and the recorded pass, so the random stream, and every number, is the same
    as a plain first forward followed by :func:`run_backward` (batch norm's running
    statistics are updated once either way: the plain pass does not update them).
    """
    from paraminspect.model.build import run_first_forward

    result = record_and_backward(
        model, lambda: loss_value(loss, run_first_forward(model, wait=False), None)
    )
    return Backward(result, None, None)


def unshared_copy(model: Model) -> Any:
    """The same network with every layer owning its own parameters, holding equal values.

    Shapes are given explicitly (``in_units``), and ``initialize`` uses ``Zero`` before the
    values are copied, so building the copy draws nothing from MXNet's random stream.
    """
    import mxnet as mx
    from mxnet.gluon import nn

    from paraminspect.model.build import make_layer

    copy = nn.Sequential(prefix="unshared_")
    for lp in model.plan.layers:
        copy.add(make_layer(lp, f"unshared{lp.index}_", explicit_shapes=True))
    copy.initialize(mx.init.Zero())
    sync_copy(model, copy)
    return copy


def sync_copy(model: Model, copy: Any) -> None:
    """Copy the model's current values into :func:`unshared_copy`'s layers."""
    for lp in model.plan.layers:
        for p in lp.params:
            getattr(copy[lp.index], p.short).set_data(getattr(model.net[lp.index], p.short).data())


def batch_contributions(
    model: Model, copy: Any, loss: str, x: Any, targets: Any
) -> Dict[Tuple[str, int], np.ndarray]:
    """Each (shared parameter, using layer) -> that use's gradient on the batch ``x``, from
    ``copy`` (an :func:`unshared_copy`) synced to the model's current values."""
    from mxnet import autograd

    sync_copy(model, copy)
    with autograd.record():
        value = loss_value(loss, copy(x), targets)
    value.backward()
    shorts = {p.name: p.short for p in model.plan.unique_params}
    return {
        (name, i): getattr(copy[i], shorts[name]).grad().asnumpy()
        for name, layers in model.plan.users.items()
        if len(layers) > 1
        for i in layers
    }


def contributions(model: Model, loss: str, back: Backward) -> Dict[Tuple[str, int], np.ndarray]:
    """Each (shared parameter, using layer) -> that layer's gradient, from an unshared copy."""
    import mxnet as mx

    users = {name: layers for name, layers in model.plan.users.items() if len(layers) > 1}
    if not users:
        return {}
    copy = unshared_copy(model)
    if back.dropout_seed is not None:
        mx.random.seed(back.dropout_seed)  # the same dropout masks as the accumulated pass
    return batch_contributions(model, copy, loss, model.X, back.targets)


def check_shared(
    model: Model, parts: Dict[Tuple[str, int], np.ndarray], view: ViewOptions
) -> Tuple[SharedGrad, ...]:
    """Compare every shared gradient with the sum of its contributions (float64 sum)."""
    index = view.index()
    out: List[SharedGrad] = []
    params = model.params
    for name, layers in model.plan.users.items():
        if len(layers) < 2:
            continue
        accumulated = params[name].grad().asnumpy()
        arrays = [parts[(name, i)] for i in layers]
        total = np.sum([a.astype(np.float64) for a in arrays], axis=0)
        diff = float(np.max(np.abs(total - accumulated))) if total.size else 0.0
        scale = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
        tolerance = SHARE_RTOL * scale
        split = gradient_shares(arrays, accumulated)
        shares = split.shares if split.shares is not None else (None,) * len(arrays)
        contribs = []
        for i, a, share in zip(layers, arrays, shares):
            shown = None
            if view.grad:
                where = f"[{format_index(index)}]" if index is not None else ""
                label = f"{name}.grad{where} from layer {i}"
                shown = ArrayView(label, apply_slice(a, index, name) if index is not None else a)
            contribs.append(Contribution(i, tensor_stats(a), a, shown, share))
        out.append(
            SharedGrad(
                parameter=name,
                layers=layers,
                contributions=tuple(contribs),
                accumulated=tensor_stats(accumulated),
                max_abs_diff=diff,
                tolerance=tolerance,
                ok=bool(np.isfinite(diff) and diff <= tolerance),
                shares_note=split.reason,
            )
        )
    return tuple(out)


def grad(
    spec: ModelRef,
    view: ViewOptions,
    seed: Optional[int] = None,
    loss: str = "sum",
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
    data: Optional[str] = None,
    targets: Optional[str] = None,
) -> GradReport:
    """Build ``spec`` as ``show`` does, then forward under record, ``loss``, and backward.

    Args:
        spec: a path or built-in name (None: ``mlp``).
        view: which parameters and what of them to show (grad stats are always computed).
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        loss: ``sum``, ``l2`` or ``softmax-ce`` (see :mod:`paraminspect.losses`).
        load: load this parameter file right after the build; the gradients are then those
            of the loaded weights (on the same X).
        save: write the parameters (not the gradients) after the backward pass.
        inputs, mode: ``--input`` and ``--mode`` for other sources (see
            :mod:`paraminspect.actions.net_grad`, which runs them).
        data: ``--data X.npy``: the batch to take the gradients on, instead of the drawn X.
        targets: ``--targets T.npy``: the loss's targets for ``data`` (not for ``sum``).

    Raises:
        OptionError: bad --slice, --layer, --select or a loss the output cannot feed.
        DataError: a bad ``data`` or ``targets`` file (see
            :func:`paraminspect.model.data.load_data`).
        BuildError: MXNet refused the network or the backward pass.
    """
    from paraminspect.model.selection import select_names

    source = open_source(spec, inputs, load, mode)
    if source.kind != "spec":
        from paraminspect.actions.net_grad import net_dataset, net_grad

        dataset = net_dataset(source, data, targets, loss)
        return net_grad(source, view, seed=seed, loss=loss, load=load, save=save, dataset=dataset)
    # imported only for a spec: it brings pydantic and PyYAML, which a graph does not need
    from paraminspect.model.sources.spec import SpecSource

    assert isinstance(source, SpecSource)
    view.index()  # bad --slice, --layer, --select fail before MXNet is imported
    plan = source.plan
    select_names(plan, view.layers, view.select)
    check_loss(plan, loss)
    if targets is not None and data is None:
        raise OptionError("--targets goes with --data X.npy; add --data", "--targets")
    dataset = None
    if data is not None:  # checked before MXNet is imported
        dataset = load_data(
            data, targets, input_shape=tuple(plan.input_shape),
            output_shape=output_shape(plan), loss=loss,
        )  # fmt: skip
    preflight(load, save)
    # With no targets to draw, no dropout and nothing to load, the recorded pass can be the
    # first one (as in a hand-written script); otherwise the book's order: a plain first
    # pass (which finishes deferred initialization), the load, then targets and the
    # recorded pass.
    single = (
        load is None
        and dataset is None
        and loss == "sum"
        and not any(layer.type == "dropout" for layer in plan.layers)
    )
    check_plan_memory(plan, forward=True, backward=True)
    # MXNet runs a backward pass in bulks of up to 15 operators, so all the gradients of a
    # small net appear at one moment. One operator per bulk lets the statistics read each
    # gradient while MXNet computes the next (the numbers are the same). MXNet reads this
    # when it is first imported (later it would only leak into child processes); a value
    # the user set wins.
    if "mxnet" not in sys.modules:
        os.environ.setdefault("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN_BWD", "1")
    model = source.build(seed=seed, forward=not single, backward=True)
    model.log.extend(apply_load(model, load))
    given = None
    if dataset is not None:
        from mxnet import nd

        model.X = nd.array(dataset.X)  # after the first pass: shapes are known
        given = None if dataset.y is None else nd.array(dataset.y)
    back = first_backward(model, loss) if single else run_backward(model, loss, given)
    if save is not None:
        back.finish(model)  # a failed pass stops the command before a file is written
    model.log.extend(apply_save(model, save))
    # While MXNet computes, the statistics read what is ready (see collect_rows).
    full = dataclasses.replace(view, grad_stats=True, hist_grad=True)
    base = _wrap_mxnet(model, lambda: collect_report(model, full, command="grad", seed=seed))
    loss_float = back.finish(model)
    shown = {row.name for row in base.parameters}
    checked = check_shared(model, contributions(model, loss, back), view)
    shared = tuple(s for s in checked if s.parameter in shown)
    weight_l2 = weight_norms(model, base)
    return GradReport(
        base=base,
        loss=loss,
        loss_value=loss_float,
        target_note=(
            target_note(loss, output_shape(model.plan))
            if dataset is None
            else f"data {dataset.description}"
        ),
        weight_l2=weight_l2,
        shared=shared,
        x=model.X.asnumpy(),
        targets=None if back.targets is None else back.targets.asnumpy(),
    )
