"""One logged step of ``train`` (and ``pi.watch``): statistics of every weight and
gradient, update ratios, dead ReLU units, shared-parameter checks and their per-use
shares, and the gradient warnings."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

import paraminspect.choices as choices
from paraminspect.actions.train.layers import shared_users, train_layers
from paraminspect.actions.train.relu import dead_relu
from paraminspect.actions.view import histogram
from paraminspect.model.build import Model
from paraminspect.reports.train import (
    LayerStep,
    ParamStep,
    SharedStep,
    TrainRecord,
)
from paraminspect.stats import ndarray_l2, tensor_stats


def use_shares(model: Model, loss: str, x: Any, y: Any, train_mode: bool) -> Dict[str, Any]:
    """Shared parameter -> :class:`GradientShares` of its current gradient on ``(x, y)``.

    Each use's gradient comes from the one per-use method every command uses
    (:func:`paraminspect.model.per_use.use_gradients`, on the net's graph); a net that
    cannot be traced on symbols gets no shares."""
    from paraminspect.actions.contributions import NoGraph, graph_of
    from paraminspect.diagnose.shares import gradient_shares
    from paraminspect.model.losses import loss_value
    from paraminspect.model.per_use import use_gradients

    params = model.params
    shared = [n for n in shared_users(model) if params[n].grad_req != "null"]
    try:
        symbol, names = graph_of(model)
    except NoGraph:
        return {}
    parts = use_gradients(
        symbol, names, params, shared, (x,), lambda outs: loss_value(loss, outs[0], y), train_mode
    )
    return {
        name: gradient_shares([g.asnumpy() for _, g in parts[name]], params[name].grad().asnumpy())
        for name in shared
    }


def with_shares(steps: Tuple[SharedStep, ...], shares: Dict[str, Any]) -> Tuple[SharedStep, ...]:
    """The record's shared steps with each use's share (``--contributions``)."""
    return tuple(
        replace(s, shares=shares[s.parameter].shares, shares_note=shares[s.parameter].reason)
        if s.parameter in shares
        else s
        for s in steps
    )


def shared_steps(model: Model) -> Tuple[SharedStep, ...]:
    """Compare the arrays each using layer holds for every shared parameter.

    Each user is found at its Gluon path and the parameter it registers under that name
    is read, so the check is the same for every source whose layers are blocks (a spec, a
    factory, a zoo model, a Block: the book's ``net[1].weight.data() == net[2].weight.data()``);
    a graph's op nodes all read one variable, so there each use reads the same array.
    """
    from paraminspect.model.sources.block import walk_blocks

    params = model.params
    by_path = {node.path: node.block for node in walk_blocks(model.net)}
    layout = model.layout
    out = []
    for name, layers in shared_users(model).items():
        if params[name].grad_req == "null":
            continue
        arrays = [_held(by_path.get(layout.layers[i].path), name, params[name]) for i in layers]
        diff = max(float(np.max(np.abs(a - arrays[0]))) if a.size else 0.0 for a in arrays)
        identical = all(np.array_equal(a, arrays[0]) for a in arrays[1:])
        out.append(SharedStep(name, layers, identical, diff, ndarray_l2(params[name].grad())))
    return tuple(out)


def _held(block: Any, name: str, default: Any) -> np.ndarray:
    """The values of parameter ``name`` as ``block`` holds it (``default``'s for a graph
    node, which has no block)."""
    own = getattr(block, "_reg_params", {}).values() if block is not None else ()
    held = next((p for p in own if p.name == name), default)
    return held.data().asnumpy()


def grad_warnings(
    step: int,
    steps: Iterable[ParamStep],
    explode: float = choices.EXPLODE_NORM,
    vanish: float = choices.VANISH_NORM,
) -> Tuple[str, ...]:
    """One line per kind of trouble at ``step``: nan/inf gradients, a norm above
    ``explode`` (exploding) or below ``vanish`` (vanishing)."""
    bad: Dict[str, List[str]] = {"nonfinite": [], "explode": [], "vanish": []}
    for s in steps:
        g = s.grad
        if g is None:
            continue
        if g.nan or g.inf:
            bad["nonfinite"].append(f"{s.name} ({g.nan} nan, {g.inf} inf)")
        elif g.l2 > explode:
            bad["explode"].append(f"{s.name} ({g.l2:.3g})")
        elif g.l2 < vanish:
            bad["vanish"].append(f"{s.name} ({g.l2:.3g})")
    out = []
    if bad["nonfinite"]:
        out.append(f"step {step}: non-finite gradients: {', '.join(bad['nonfinite'])}")
    if bad["explode"]:
        out.append(
            f"step {step}: exploding gradients (norm above {explode:g}): "
            f"{', '.join(bad['explode'])}; try a smaller --lr"
        )
    if bad["vanish"]:
        out.append(
            f"step {step}: vanishing gradients (norm below {vanish:g}): {', '.join(bad['vanish'])}"
        )
    return tuple(out)


def _norm(values: List[float]) -> float:
    return math.sqrt(sum(v * v for v in values))


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return float("nan") if num == 0 else float("inf")
    return num / den


def make_record(
    model: Model,
    epoch: int,
    step: int,
    loss: float,
    data_loss: float,
    before: Optional[Dict[str, np.ndarray]],
    probe: Any,
    explode: float = choices.EXPLODE_NORM,
    vanish: float = choices.VANISH_NORM,
    hist: Tuple[int, frozenset] = (0, frozenset()),
    dead: Optional[Dict[int, float]] = None,
    shared: Optional[Tuple[SharedStep, ...]] = None,
) -> TrainRecord:
    """Everything logged at one step, read after ``trainer.step``.

    ``before``: the weights before the step (float64), or None when they were not kept (a
    run stopped at a step it had not planned to log): update ratios are then NaN.
    ``explode``, ``vanish``: the warning thresholds of :func:`grad_warnings`; ``hist``:
    bins and the parameters whose gradient gets a histogram. ``dead`` (dead ReLU fractions by
    layer) and ``shared`` are computed from ``probe`` and the model's layers unless given
    (the watcher of a user's own loop measures them on its own net).
    """
    params = model.params
    users = model.layout.users
    steps: Dict[str, ParamStep] = {}
    delta: Dict[str, float] = {}
    for name, p in params.items():
        w = p.data().asnumpy()
        weight = tensor_stats(w)
        g = p.grad().asnumpy() if p.grad_req != "null" else None
        grad = tensor_stats(g) if g is not None else None
        grad_hist = None
        if g is not None and name in hist[1]:
            grad_hist = histogram(g, hist[0], of="grad", label=f"{name}.grad")
        d = before_l2 = math.nan
        if before is not None:
            with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in a diverged run
                d = float(np.linalg.norm((w.astype(np.float64) - before[name]).reshape(-1)))
            before_l2 = float(np.linalg.norm(before[name].reshape(-1)))
        delta[name] = d
        steps[name] = ParamStep(name, users[name], weight, grad, _ratio(d, before_l2), grad_hist)
    if dead is None:
        dead = dead_relu(model, probe)
    layers = []
    for lp in train_layers(model):
        trained = [n for n in lp.params if params[n].grad_req != "null"]
        if not trained:
            layers.append(
                LayerStep(
                    lp.index, lp.name, (), None, None, None, dead.get(lp.index), None, lp.path
                )
            )
            continue
        w_l2 = _norm([steps[n].weight.l2 for n in trained])
        g_l2 = _norm([steps[n].grad.l2 for n in trained if steps[n].grad is not None])  # type: ignore[union-attr]
        update = math.nan
        if before is not None:
            before_l2 = _norm([float(np.linalg.norm(before[n].reshape(-1))) for n in trained])
            update = _ratio(_norm([delta[n] for n in trained]), before_l2)
        layers.append(
            LayerStep(
                lp.index,
                lp.name,
                tuple(trained),
                w_l2,
                g_l2,
                update,
                dead.get(lp.index),
                lp.shares_with,
                lp.path,
            )
        )
    warns = grad_warnings(step, steps.values(), explode, vanish)
    return TrainRecord(
        epoch=epoch,
        step=step,
        loss=loss,
        data_loss=data_loss,
        parameters=tuple(steps.values()),
        layers=tuple(layers),
        shared=shared_steps(model) if shared is None else shared,
        warnings=tuple(warns),
    )
