"""``paraminspect train``: train a spec on a synthetic, seeded data set and record how every
layer's weights and gradients move.

The data set (documented in README, "paraminspect train"): ``samples`` inputs shaped like
the spec's input (``nd.random.uniform`` or ``normal`` as the spec says) and a fixed random
linear teacher ``A ~ N(0, 1/d)`` of shape ``(d, k)`` (``d`` input features, ``k`` outputs):
``l2`` regresses ``Y = X A``; ``softmax-ce`` classifies ``argmax((X - mean X) A)``, classes
a linear model can separate. Everything is drawn from MXNet's stream after the network is
built, so ``--seed`` fixes the whole run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

import paraminspect.choices as choices
from paraminspect._text import did_you_mean
from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.view import histogram, model_info
from paraminspect.choices import (
    DIVERGE_FACTOR,
)
from paraminspect.diagnose.trouble import Event, TroubleDetector, should_stop
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.build import Model
from paraminspect.model.data import Dataset, load_data
from paraminspect.model.losses import check_loss, loss_value, output_shape
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.sources import open_spec_source, parse_model_ref
from paraminspect.reports.train import (
    LayerStep,
    ParamStep,
    SharedStep,
    TrainRecord,
    TrainReport,
    TrainSettings,
)
from paraminspect.stats import host_view, ndarray_l2, tensor_stats

PROBE_SAMPLES = 256  # dead ReLU units are counted over the first samples of the data set


@dataclass(frozen=True)
class TrainOptions:
    """What ``train`` was asked to do (validated by :func:`validate`)."""

    samples: int = choices.DEFAULT_SAMPLES
    batch_size: int = choices.DEFAULT_BATCH_SIZE
    epochs: int = choices.DEFAULT_EPOCHS
    lr: float = choices.DEFAULT_LR
    optimizer: str = choices.DEFAULT_OPTIMIZER
    loss: str = choices.DEFAULT_TRAIN_LOSS
    every: Optional[int] = None
    seed: Optional[int] = None
    hybridize: bool = True
    shared: bool = False
    explode: float = choices.EXPLODE_NORM
    vanish: float = choices.VANISH_NORM
    hist_bins: Optional[int] = None  # --hist: histogram gradients at each record, N bins
    hist_select: Optional[str] = None  # --select: which parameters (default: all trained)
    diverge_factor: float = DIVERGE_FACTOR  # --diverge-factor (see diagnose.trouble)
    stop_on: Tuple[str, ...] = ()  # --stop-on: stop at the first event of these kinds
    contributions: bool = False  # --contributions: per-use gradient shares at each record
    data: Optional[str] = None  # --data FILE.npz (X, y) or X.npy: the user's data set
    targets: Optional[str] = None  # --targets y.npy (with a .npy --data)


StepCallback = Callable[[int, int, float], None]  # (step, total steps, batch loss)
RecordCallback = Callable[[TrainRecord], None]
EventCallback = Callable[[Event], None]  # named trouble, as soon as it starts


def optimizer_names() -> List[str]:
    """The names ``gluon.Trainer`` accepts: MXNet's registered optimizers."""
    import mxnet as mx

    return sorted(mx.optimizer.Optimizer.opt_registry)


def validate(opts: TrainOptions) -> None:
    """Refuse bad numbers and names with usage errors (MXNet is not imported).

    Raises:
        OptionError: non-positive counts or learning rate, a batch larger than the data set,
            or a loss training cannot minimize.
    """
    for flag, value in (
        ("--samples", opts.samples),
        ("--batch-size", opts.batch_size),
        ("--epochs", opts.epochs),
    ):
        if value < 1:
            raise OptionError(f"{value} is not a positive integer; use 1 or more", flag)
    if opts.every is not None and opts.every < 1:
        raise OptionError(f"{opts.every} is not a positive integer; use 1 or more", "--every")
    if not (opts.lr > 0 and math.isfinite(opts.lr)):
        raise OptionError(f"{opts.lr} is not a positive learning rate; use e.g. 0.1", "--lr")
    for flag, norm in (("--explode-above", opts.explode), ("--vanish-below", opts.vanish)):
        if not (norm >= 0 and math.isfinite(norm)):
            raise OptionError(f"{norm} is not a finite norm >= 0; use e.g. 1e3 or 1e-7", flag)
    if opts.vanish >= opts.explode:
        raise OptionError(
            f"{opts.vanish:g} is not below --explode-above {opts.explode:g}; a gradient cannot "
            "both vanish and explode",
            "--vanish-below",
        )
    TroubleDetector(opts.diverge_factor, opts.explode, opts.vanish)  # --diverge-factor
    if opts.hist_bins is not None and opts.hist_bins < 1:
        raise OptionError(f"{opts.hist_bins} is not a positive integer; use e.g. 16", "--bins")
    if opts.hist_select is not None and opts.hist_bins is None:
        raise OptionError("--select chooses what --hist draws; add --hist", "--select")
    if opts.targets is not None and opts.data is None:
        raise OptionError("--targets goes with --data X.npy; add --data", "--targets")
    if opts.data is None and opts.batch_size > opts.samples:
        raise OptionError(
            f"{opts.batch_size} is more than --samples {opts.samples}; use at most {opts.samples}",
            "--batch-size",
        )
    if opts.loss not in choices.TRAIN_LOSSES:
        raise OptionError(
            f"train minimizes {' or '.join(choices.TRAIN_LOSSES)}; '{opts.loss}' has no minimum",
            "--loss",
        )


def check_optimizer(name: str) -> str:
    """The registered optimizer name for ``name`` (case-insensitive).

    Raises:
        OptionError: unknown name, with the closest one and the list.
    """
    names = optimizer_names()
    key = name.strip().lower()
    if key not in names:
        raise OptionError(
            f"unknown optimizer '{name}'{did_you_mean(key, names)} "
            f"(MXNet's optimizers: {', '.join(names)})",
            "--optimizer",
        )
    return key


def synthetic_data(model: Model, loss: str, samples: int) -> Tuple[Any, Any, str]:
    """``(X, Y, description)``: see the module docstring."""
    from mxnet import nd

    from paraminspect.model.build import draw_input

    plan = model.plan
    features = tuple(plan.input_shape[1:])
    d = int(np.prod(features))
    out = output_shape(plan)
    k = int(np.prod(out[1:]))
    shape = (samples, *features)
    dist = model.loaded.spec.input.dist
    x = draw_input(shape, dist)
    teacher = nd.random.normal(scale=1.0 / math.sqrt(d), shape=(d, k))
    flat = x.reshape((samples, d))
    draw = f"X: {samples} samples ~ {dist}{shape[1:]}; teacher A ~ N(0, 1/{d}) of shape ({d}, {k})"
    if loss == "l2":
        y = nd.dot(flat, teacher).reshape((samples, *out[1:]))
        return x, y, f"{draw}; regression target Y = X A"
    centered = flat - flat.mean(axis=0, keepdims=True)
    y = nd.argmax(nd.dot(centered, teacher), axis=1)
    return x, y, f"{draw}; {k} classes, label = argmax((X - mean X) A) (linearly separable)"


def dead_relu(model: Model, probe: Any) -> Dict[int, float]:
    """Layer -> fraction of its ReLU units that output 0 for every probe sample.

    Runs the layers one by one (each hybridized child works on its own), outside
    ``autograd.record()``, so dropout is off and batch norm uses its running statistics.
    """
    out: Dict[int, float] = {}
    h = probe
    for lp in model.plan.layers:
        h = model.net[lp.index](h)
        if lp.activation == "relu":
            a = h.asnumpy().reshape(h.shape[0], -1)
            out[lp.index] = float(np.mean(np.all(a == 0, axis=0)))
    return out


def layer_names(model: Model) -> Dict[int, str]:
    """Layer index -> the name trouble is reported under: ``0 (dense0)``."""
    return {lp.index: f"{lp.index} ({lp.name})" for lp in model.plan.layers}


def use_shares(model: Model, copy: Any, loss: str, x: Any, y: Any) -> Dict[str, Any]:
    """Shared parameter -> :class:`GradientShares` of its current gradient on ``(x, y)``."""
    from paraminspect.actions.grad import batch_contributions
    from paraminspect.diagnose.shares import gradient_shares

    parts = batch_contributions(model, copy, loss, x, y)
    params = model.params
    return {
        name: gradient_shares([parts[(name, i)] for i in layers], params[name].grad().asnumpy())
        for name, layers in model.plan.users.items()
        if len(layers) > 1
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
    """Compare the arrays each using layer holds for every shared parameter."""
    out = []
    shorts = {p.name: p.short for p in model.plan.unique_params}
    params = model.params
    for name, layers in model.plan.users.items():
        if len(layers) < 2:
            continue
        arrays = [getattr(model.net[i], shorts[name]).data().asnumpy() for i in layers]
        diff = max(float(np.max(np.abs(a - arrays[0]))) if a.size else 0.0 for a in arrays)
        identical = all(np.array_equal(a, arrays[0]) for a in arrays[1:])
        grad = params[name].grad().asnumpy()
        out.append(SharedStep(name, layers, identical, diff, tensor_stats(grad).l2))
    return tuple(out)


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


class StepNorms:
    """Each layer's gradient norm after every step: cheap enough to run at every step.

    ``||g||^2`` of a parameter is one float32 dot product over MXNet's buffer read in place
    (no copy; OpenBLAS keeps several partial sums, so it is within about 1e-6 relative of a
    float64 sum), taken once per parameter even when several layers share it. A layer's
    norm is over all the trained parameters it uses, as in the records.
    """

    def __init__(self, model: Model) -> None:
        params = model.params
        trained = {
            lp.index: [p.name for p in lp.params if params[p.name].grad_req != "null"]
            for lp in model.plan.layers
        }
        self.layers = [(index, names) for index, names in trained.items() if names]
        self.params = {name: params[name] for _, names in self.layers for name in names}
        self.values: Dict[int, List[float]] = {index: [] for index, _ in self.layers}

    def add(self) -> None:
        """Read the current gradients (call after ``backward``)."""
        squares = {name: _grad_square(p.grad()) for name, p in self.params.items()}
        for index, names in self.layers:
            self.values[index].append(math.sqrt(sum(squares[n] for n in names)))

    def result(self) -> Dict[int, Tuple[float, ...]]:
        return {index: tuple(values) for index, values in self.values.items()}


def _grad_square(grad: Any) -> float:
    view = host_view(grad)
    if view is None:  # not readable in place (another device, sparse): copy it out
        return ndarray_l2(grad) ** 2
    flat = view.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        square = float(np.dot(flat, flat))
    if not math.isfinite(square):  # float32 squares overflow above ~1.8e19: widen to float64
        return ndarray_l2(grad) ** 2
    return square


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
    layer) and ``shared`` are computed from ``probe`` and the Sequential's layers unless given
    (the watcher of a user's own loop measures them on its own net).
    """
    params = model.params
    users = model.plan.users
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
    for lp in model.plan.layers:
        trained = [p.name for p in lp.params if p.grad_req != "null"]
        if not trained:
            layers.append(
                LayerStep(lp.index, lp.name, (), None, None, None, dead.get(lp.index), None)
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


def hist_names(plan: Any, opts: TrainOptions) -> frozenset:
    """The trained parameters ``--hist`` draws: those ``--select`` matches, else all.

    Raises:
        OptionError: a bad ``--select`` regex, or one that matches no trained parameter.
    """
    from paraminspect.model.selection import select_names

    if opts.hist_bins is None:
        return frozenset()
    names = select_names(plan, (), opts.hist_select)
    trained = [p.name for p in plan.unique_params if p.grad_req != "null"]
    chosen = [n for n in names if n in trained]
    if not chosen:
        raise OptionError(
            f"'{opts.hist_select}' matches no trained parameter, and frozen ones have no "
            f"gradient (trained: {', '.join(trained)})",
            "--select",
        )
    return frozenset(chosen)


def prepare(
    spec: Optional[str],
    opts: TrainOptions,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
) -> Tuple[Model, str]:
    """Validate everything, then build ``spec`` (``shared`` when ``opts.shared`` and no spec)
    and load ``load`` into it. ``save`` is only checked here (before the build).

    Returns:
        The built model (first forward pass done) and the registered optimizer name.

    Raises:
        OptionError: bad settings, unknown optimizer, ``--shared`` on a spec without sharing.
        OutputError, CheckpointError: a refused ``save`` target, a bad ``load`` file.
        BuildError: MXNet refused the network.
    """
    validate(opts)
    if spec is not None and parse_model_ref(spec) != "spec":
        if parse_model_ref(spec) == "symbol":
            from paraminspect.model.trainable import check_trainable

            check_trainable(spec)
        raise OptionError(
            f"train runs YAML specs only for now; {spec} can be inspected with show, "
            "summary and grad (training other sources is not implemented yet)",
            "MODEL",
        )
    source = open_spec_source("shared" if spec is None and opts.shared else spec)
    loaded, plan = source.loaded, source.plan
    check_loss(plan, opts.loss)
    if opts.shared and not any(len(v) > 1 for v in plan.users.values()):
        raise OptionError(
            f"{loaded.source} has no shared parameters; add `share:` to a layer, or run "
            "`paraminspect train --shared` for the built-in shared spec",
            "--shared",
        )
    hist_names(plan, opts)  # a bad --select fails before MXNet is imported
    optimizer = check_optimizer(opts.optimizer)
    preflight(load, save)
    model = source.build(seed=opts.seed, forward=True, backward=True)
    model.log.extend(apply_load(model, load))
    return model, optimizer


def read_data(spec: Optional[str], opts: TrainOptions) -> Optional[Dataset]:
    """``--data``/``--targets``, checked against the spec's input and output shapes and the
    loss before anything is built (no MXNet); None for the synthetic data set.

    Raises:
        DataError, OptionError: see :func:`paraminspect.model.data.load_data`; a
            ``--batch-size`` larger than the file's samples.
    """
    if opts.data is None:
        return None
    source = open_spec_source("shared" if spec is None and opts.shared else spec)
    plan = source.plan
    check_loss(plan, opts.loss)
    dataset = load_data(
        opts.data,
        opts.targets,
        input_shape=tuple(plan.input_shape),
        output_shape=output_shape(plan),
        loss=opts.loss,
    )
    if opts.batch_size > dataset.samples:
        raise OptionError(
            f"{opts.batch_size} is more than the {dataset.samples} samples of {opts.data}; "
            f"use at most {dataset.samples}",
            "--batch-size",
        )
    return dataset


def train(
    spec: Optional[str],
    opts: TrainOptions,
    on_step: Optional[StepCallback] = None,
    on_record: Optional[RecordCallback] = None,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    on_event: Optional[EventCallback] = None,
) -> TrainReport:
    """Train ``spec`` and record every logged step (:func:`prepare`, then :func:`fit`).

    Args:
        spec: a path or built-in name; None means ``shared`` with ``--shared``, else ``mlp``.
        opts: the run's settings.
        on_step: called after every optimizer step (progress bars).
        on_record: called with each record as soon as it exists (tables, JSON lines).
        load: start from this parameter file (loaded right after the build).
        save: write the trained parameters at the end (also after a run stopped early, so
            its last state can be inspected; after ``--stop-on``, the last good ones: the
            step that went wrong is not applied).
        on_event: called with each named trouble (:class:`Event`) at the step it starts.
    """
    dataset = read_data(spec, opts)  # before the build: a bad file costs no MXNet import
    if dataset is not None:
        opts = replace(opts, samples=dataset.samples)
    model, optimizer = prepare(spec, opts, load, save)
    report = fit(model, optimizer, opts, on_step, on_record, on_event, dataset)
    saved = apply_save(model, save)
    return replace(report, log=report.log + tuple(saved)) if saved else report


def fit(
    model: Model,
    optimizer: str,
    opts: TrainOptions,
    on_step: Optional[StepCallback] = None,
    on_record: Optional[RecordCallback] = None,
    on_event: Optional[EventCallback] = None,
    dataset: Optional[Dataset] = None,
) -> TrainReport:
    """Draw the synthetic data set (or take ``dataset``, the user's ``--data``), hybridize,
    and train ``model`` in place.

    Every step's loss, layer gradient norms and (with ReLU layers) dead fractions on the
    batch feed a :class:`TroubleDetector` after ``backward`` and before ``trainer.step``, so
    a ``--stop-on`` event stops the run with the step that went wrong not applied.

    Raises:
        OptionError: MXNet refused the optimizer.
        BuildError: a training step failed.
    """
    import mxnet as mx
    from mxnet import autograd, gluon, nd

    loaded = model.loaded
    if dataset is not None:
        x, y = nd.array(dataset.X), nd.array(dataset.y)
        description = dataset.description
        opts = replace(opts, samples=dataset.samples)
    else:
        x, y, description = synthetic_data(model, opts.loss, opts.samples)
    net = model.net
    if opts.hybridize:
        net.hybridize()  # the whole HybridSequential: one cached graph, as a hand-written loop
    try:
        trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": opts.lr})
    except (mx.base.MXNetError, ValueError, TypeError) as e:
        raise OptionError(f"MXNet refused optimizer '{optimizer}': {e}", "--optimizer") from e

    def data_loss() -> float:
        return float(loss_value(opts.loss, net(x), y).asscalar())

    probe = x[: min(opts.samples, PROBE_SAMPLES)]
    n_batches = math.ceil(opts.samples / opts.batch_size)
    total = opts.epochs * n_batches
    initial = data_loss()
    norms = StepNorms(model)
    detector = TroubleDetector(opts.diverge_factor, opts.explode, opts.vanish)
    names = layer_names(model)
    has_relu = any(lp.activation == "relu" for lp in model.plan.layers)
    pending: List[Event] = []  # events since the last record
    copy = None
    if opts.contributions and any(len(u) > 1 for u in model.plan.users.values()):
        from paraminspect.actions.grad import unshared_copy

        copy = unshared_copy(model)
    stopped_by: Optional[Event] = None
    drawn = hist_names(model.plan, opts)
    start = time.perf_counter()
    history: List[TrainRecord] = []
    window: List[float] = []
    step = 0
    stopped: Optional[str] = None
    try:
        for epoch in range(1, opts.epochs + 1):
            order = nd.random.shuffle(nd.arange(opts.samples))
            xs, ys = nd.take(x, order), nd.take(y, order)
            for b in range(n_batches):
                step += 1
                if opts.every is None:
                    log_now = b == n_batches - 1
                else:
                    log_now = step % opts.every == 0 or step == total
                xb = xs[b * opts.batch_size : (b + 1) * opts.batch_size]
                yb = ys[b * opts.batch_size : (b + 1) * opts.batch_size]
                # The weights before a planned record's step, for its update ratios.
                before = (
                    {n: p.data().asnumpy().astype(np.float64) for n, p in model.params.items()}
                    if log_now
                    else None
                )
                with autograd.record():
                    batch_loss = loss_value(opts.loss, net(xb), yb)
                batch_loss.backward()
                value = float(batch_loss.asscalar())
                norms.add()
                events = detector.observe(
                    step,
                    value,
                    {names[i]: norms.values[i][-1] for i, _ in norms.layers},
                    {names[i]: f for i, f in dead_relu(model, xb).items()} if has_relu else None,
                    lr=opts.lr,
                )
                pending.extend(events)
                for event in events:
                    if on_event is not None:
                        on_event(event)
                stopped_by = should_stop(events, opts.stop_on)
                # shares of this step's gradient, from the weights it was computed at
                shares = use_shares(model, copy, opts.loss, xb, yb) if copy and log_now else {}
                if stopped_by is None:
                    trainer.step(1)  # the loss is already the batch mean
                window.append(value)
                if on_step is not None:
                    on_step(step, total, value)
                if stopped_by is not None:
                    stopped = (
                        f"stopped at step {step} (epoch {epoch}) on {stopped_by.kind} "
                        f"(--stop-on): {stopped_by.message}; that step was not applied"
                    )
                    log_now = True
                    before = None  # no update ratios: the step was not taken
                elif not math.isfinite(value):
                    stopped = (
                        f"the loss became {value} at step {step} (epoch {epoch}); "
                        "training stopped; try a smaller --lr"
                    )
                    log_now = True  # (an unplanned record: no update ratios, see make_record)
                if log_now:
                    record = make_record(
                        model,
                        epoch,
                        step,
                        float(np.mean(window)),
                        data_loss(),
                        before,
                        probe,
                        opts.explode,
                        opts.vanish,
                        (opts.hist_bins or 0, drawn),
                    )
                    window = []
                    if shares:
                        record = replace(record, shared=with_shares(record.shared, shares))
                    if pending:
                        record = replace(record, events=tuple(pending))
                        pending = []
                    if detector.diverged_at is not None or detector.dead_layers:
                        # tiny gradients after a blow-up or behind dead ReLUs are not the
                        # problem: the events name it (diagnose.trouble's precedence)
                        warns = tuple(w for w in record.warnings if "vanishing" not in w)
                        record = replace(record, warnings=warns)
                    history.append(record)
                    if on_record is not None:
                        on_record(record)
                if stopped:
                    break
            if stopped:
                break
    except mx.base.MXNetError as e:
        raise BuildError(
            f"training failed at step {step} for {loaded.source}: {str(e).splitlines()[0]}"
        ) from e
    seconds = time.perf_counter() - start
    notes = [
        f"data: {description}",
        f"loss {opts.loss}, optimizer {optimizer}, lr {opts.lr:g}, "
        f"{n_batches} batches of up to {opts.batch_size} per epoch; "
        + ("the layers are hybridized" if opts.hybridize else "imperative (not hybridized)"),
    ]
    settings = TrainSettings(
        samples=opts.samples,
        batch_size=opts.batch_size,
        epochs=opts.epochs,
        lr=opts.lr,
        optimizer=optimizer,
        loss=opts.loss,
        every=opts.every,
        seed=opts.seed,
        hybridized=opts.hybridize,
        shared_focus=opts.shared,
        data=description,
        explode=opts.explode,
        vanish=opts.vanish,
    )
    return TrainReport(
        model=model_info(model, opts.seed),
        settings=settings,
        initial_loss=initial,
        history=tuple(history),
        steps=step,
        stopped=stopped,
        notes=tuple(notes),
        log=tuple(model.log),
        seconds=seconds,
        step_grad_l2=norms.result(),
        stop_on=opts.stop_on,
        stopped_by=stopped_by,
    )
