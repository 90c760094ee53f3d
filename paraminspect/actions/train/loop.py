"""``paraminspect train``: build the model, then train it and record how every layer's
weights and gradients move (the data: :mod:`paraminspect.actions.train.data`)."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.train.data import model_output_shape, read_data, synthetic_data
from paraminspect.actions.train.layers import layer_names, shared_users
from paraminspect.actions.train.norms import StepNorms
from paraminspect.actions.train.options import (
    EventCallback,
    RecordCallback,
    StepCallback,
    TrainOptions,
    check_optimizer,
    hist_names,
    validate,
)
from paraminspect.actions.train.records import make_record, use_shares, with_shares
from paraminspect.actions.train.relu import ReluProbe, StepDeadRelu
from paraminspect.actions.view import model_info
from paraminspect.diagnose.trouble import Event, TroubleDetector, should_stop
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.build import Model
from paraminspect.model.data import Dataset
from paraminspect.model.grad_mode import loop_train_mode
from paraminspect.model.losses import check_loss, loss_value
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.sources import open_source, parse_model_ref
from paraminspect.reports.train import (
    TrainRecord,
    TrainReport,
    TrainSettings,
)

PROBE_SAMPLES = 256  # dead ReLU units are counted over the first samples of the data set


def prepare(
    spec: Any,
    opts: TrainOptions,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> Tuple[Model, str]:
    """Validate everything, then build ``spec`` (``shared`` when ``opts.shared`` and no spec)
    and load ``load`` into it. ``save`` is only checked here (before the build).

    Args:
        spec: any MODEL (a spec, ``PATH-symbol.json``, ``zoo:NAME``, ``FILE.py:FUNC``, a
            Block); ``inputs`` and ``mode`` feed a source that is not a spec (``--input``,
            ``--mode``).

    Returns:
        The built model (first forward pass done) and the registered optimizer name.

    Raises:
        OptionError: bad settings, unknown optimizer, ``--shared`` on a model without
            sharing, a graph ending in a loss op, a model with several inputs or outputs.
        OutputError, CheckpointError: a refused ``save`` target, a bad ``load`` file.
        BuildError: MXNet refused the network.
    """
    validate(opts)
    ref = "shared" if spec is None and opts.shared else spec
    kind = "spec" if ref is None else (parse_model_ref(ref) if isinstance(ref, str) else "block")
    if kind == "symbol":
        from paraminspect.model.trainable import check_trainable

        check_trainable(ref)
    source = open_source(ref, inputs, load, mode)
    layout = source.layout
    if kind == "spec":
        check_loss(source.plan, opts.loss)  # type: ignore[attr-defined]
    elif len(layout.inputs) != 1:
        raise OptionError(
            f"{source.label} has {len(layout.inputs)} inputs "
            f"({', '.join(d.name for d in layout.inputs)}); train draws data for a model "
            "with one input (several are not implemented yet); use grad for this model",
            "MODEL",
        )
    if opts.shared and not any(len(v) > 1 for v in layout.users.values()):
        raise OptionError(
            f"{source.label} has no shared parameters; add `share:` to a layer, or run "
            "`paraminspect train --shared` for the built-in shared spec",
            "--shared",
        )
    hist_names(layout, opts)  # a bad --select fails before MXNet is imported
    optimizer = check_optimizer(opts.optimizer)
    preflight(load, save)
    model = source.build(seed=opts.seed, forward=True, backward=True)
    model.log.extend(apply_load(model, load))
    if kind != "spec":
        from paraminspect.model.losses import check_net_loss

        check_net_loss(opts.loss, [model_output_shape(model, model.X)])
    return model, optimizer


def train(
    spec: Any,
    opts: TrainOptions,
    on_step: Optional[StepCallback] = None,
    on_record: Optional[RecordCallback] = None,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    on_event: Optional[EventCallback] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> TrainReport:
    """Train ``spec`` and record every logged step (:func:`prepare`, then :func:`fit`).

    Args:
        spec: any MODEL (see :func:`prepare`); None means ``shared`` with ``--shared``,
            else ``mlp``.
        opts: the run's settings.
        on_step: called after every optimizer step (progress bars).
        on_record: called with each record as soon as it exists (tables, JSON lines).
        load: start from this parameter file (loaded right after the build).
        save: write the trained parameters at the end (also after a run stopped early, so
            its last state can be inspected; after ``--stop-on``, the last good ones: the
            step that went wrong is not applied).
        on_event: called with each named trouble (:class:`Event`) at the step it starts.
        inputs, mode: ``--input`` and ``--mode`` for a model that is not a spec.
    """
    dataset = read_data(
        spec, opts, inputs, mode
    )  # before the build: a bad file costs no MXNet import
    if dataset is not None:
        opts = replace(opts, samples=dataset.samples)
    model, optimizer = prepare(spec, opts, load, save, inputs, mode)
    if dataset is not None and model.source.kind != "spec":  # the output is known now
        from paraminspect.model.data import fit_targets

        y = fit_targets(dataset, model_output_shape(model, model.X), opts.loss)
        dataset = replace(dataset, y=y)
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

    label = model.source.label
    train_mode = loop_train_mode(model)
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
    relu = ReluProbe(model)
    step_dead = StepDeadRelu(relu, norms)  # only at steps where a layer can be dead
    pending: List[Event] = []  # events since the last record
    contributions = opts.contributions and bool(shared_users(model))
    stopped_by: Optional[Event] = None
    drawn = hist_names(model.layout, opts)
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
                with autograd.record(train_mode=train_mode):
                    batch_loss = loss_value(opts.loss, net(xb), yb)
                batch_loss.backward(train_mode=train_mode)  # as recorded (default: True)
                value = float(batch_loss.asscalar())
                norms.add()
                dead = step_dead(xb)
                events = detector.observe(
                    step,
                    value,
                    {names[i]: norms.values[i][-1] for i, _ in norms.layers},
                    {names[i]: f for i, f in dead.items()} if dead is not None else None,
                    lr=opts.lr,
                )
                pending.extend(events)
                for event in events:
                    if on_event is not None:
                        on_event(event)
                stopped_by = should_stop(events, opts.stop_on)
                # shares of this step's gradient, from the weights it was computed at
                shares = (
                    use_shares(model, opts.loss, xb, yb, train_mode)
                    if contributions and log_now
                    else {}
                )
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
                        dead=relu(probe),
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
            f"training failed at step {step} for {label}: {str(e).splitlines()[0]}"
        ) from e
    seconds = time.perf_counter() - start
    notes = [
        f"data: {description}",
        f"loss {opts.loss}, optimizer {optimizer}, lr {opts.lr:g}, "
        f"{n_batches} batches of up to {opts.batch_size} per epoch; "
        + ("the layers are hybridized" if opts.hybridize else "imperative (not hybridized)"),
    ]
    if relu.note:
        notes.append(relu.note)
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
