"""Commands that run the network: ``grad``, ``train``, ``summary``."""

from __future__ import annotations

from typing import Any, Optional

import click

from paraminspect.choices import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_OPTIMIZER,
    DEFAULT_SAMPLES,
    DEFAULT_TRAIN_LOSS,
    EXPLODE_NORM,
    LOSSES,
    TRAIN_LOSSES,
    VANISH_NORM,
)
from paraminspect.cli.base import (
    bins_option,
    cli,
    complete_method,
    consoles,
    emit,
    examples,
    format_option,
    load_options,
    pop_load,
    pop_save,
    pop_view,
    save_options,
    seed_option,
    spec_argument,
    view_options,
)

# --------------------------------------------------------------------------- grad, train


@cli.command()
@spec_argument
@view_options
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    default="sum",
    show_default=True,
    help="sum: the sum of the outputs (no targets); l2, softmax-ce: against synthetic "
    "targets drawn after X and the weights (see README).",
)
@seed_option
@load_options
@save_options
@format_option
@examples(
    "paraminspect grad",
    "paraminspect grad shared --loss l2 --seed 1",
    "paraminspect grad --select dense1_bias --grad --format json",
    "paraminspect grad --hist --bins 8 --select dense0_weight",
    "paraminspect grad --load trained.params --loss l2 --seed 1",
)
def grad(spec: Optional[str], loss: str, seed: Optional[int], fmt: str, **kwargs: Any) -> None:
    """Forward SPEC under autograd.record(), compute a loss, backward, show the gradients.

    Every shown parameter gets its gradient statistics, its weight norm ||w|| and the
    ratio ||g||/||w||. A shared parameter appears once, with each using layer's
    contribution (from an unshared copy holding the same weights) and a check that they
    sum to the accumulated gradient; a failed check exits with status 1.

    --load replaces the weights right after the build (X is still drawn first), so the
    gradients are those of the loaded weights; --save writes the parameters (not the
    gradients).
    """
    from paraminspect.actions.grad import grad as run_grad

    load, save = pop_load(kwargs), pop_save(kwargs)
    emit(run_grad(spec, pop_view(kwargs), seed=seed, loss=loss, load=load, save=save), fmt)


@cli.command()
@spec_argument
@click.option(
    "--shared",
    is_flag=True,
    help="Focus on shared parameters: without SPEC, train the built-in 'shared' spec "
    "(the book's In[14]); tables show the sharing layers and the weight-identity check.",
)
@click.option(
    "--samples", type=int, default=DEFAULT_SAMPLES, show_default=True, help="Synthetic samples."
)
@click.option(
    "--batch-size",
    type=int,
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Samples per step.",
)
@click.option(
    "--epochs", type=int, default=DEFAULT_EPOCHS, show_default=True, help="Passes over the data."
)
@click.option(
    "--lr", type=float, default=DEFAULT_LR, show_default=True, help="Learning rate (> 0)."
)
@click.option(
    "--optimizer",
    default=DEFAULT_OPTIMIZER,
    show_default=True,
    help="Any optimizer MXNet registers for gluon.Trainer (sgd, adam, nag, rmsprop, ...).",
)
@click.option(
    "--loss",
    type=click.Choice(TRAIN_LOSSES),
    default=DEFAULT_TRAIN_LOSS,
    show_default=True,
    help="l2: regress a random linear teacher; softmax-ce: its argmax classes (see README).",
)
@click.option(
    "--every",
    type=int,
    default=None,
    metavar="K",
    help="Log every K steps (and the last); default: the end of every epoch.",
)
@click.option(
    "--log",
    "log_path",
    metavar="FILE.jsonl",
    help="Write one JSON record per logged step, flushed as it goes (replaces FILE).",
)
@click.option(
    "--plot",
    "plot_path",
    metavar="FILE.png",
    help="Draw weight and gradient norms per layer over the steps, replacing FILE (needs "
    "matplotlib; the error says how to install it for this environment).",
)
@click.option(
    "--explode-above",
    "explode",
    type=float,
    default=EXPLODE_NORM,
    show_default=True,
    metavar="NORM",
    help="Warn when a parameter's gradient norm ||g|| is above NORM (exploding).",
)
@click.option(
    "--vanish-below",
    "vanish",
    type=float,
    default=VANISH_NORM,
    show_default=True,
    metavar="NORM",
    help="Warn when a trained parameter's ||g|| is below NORM (vanishing; 0 turns it off).",
)
@click.option(
    "--hist",
    is_flag=True,
    help="At each logged step, histogram each trained parameter's gradient; at the end, "
    "one table per parameter shows how its histogram moved (JSON: grad_hist).",
)
@bins_option()
@click.option(
    "--select",
    metavar="REGEX",
    help="With --hist: only parameters whose names re.match REGEX, e.g. '.*weight'.",
)
@click.option(
    "--hybridize/--no-hybridize",
    default=True,
    show_default=True,
    help="Hybridize the layers before training.",
)
@seed_option
@load_options
@save_options
@format_option
@examples(
    "paraminspect train --shared --seed 1",
    "paraminspect train mlp --epochs 3 --optimizer adam --lr 0.01 --log run.jsonl",
    "paraminspect train shared --loss softmax-ce --every 4 --plot norms.png",
    "paraminspect train --seed 1 --epochs 3 --save trained.params",
    "paraminspect train --hist --select '.*weight' --bins 24",
    "paraminspect train --lr 3 --explode-above 100 --vanish-below 0",
)
def train(
    spec: Optional[str],
    shared: bool,
    samples: int,
    batch_size: int,
    epochs: int,
    lr: float,
    optimizer: str,
    loss: str,
    every: Optional[int],
    log_path: Optional[str],
    plot_path: Optional[str],
    hybridize: bool,
    explode: float,
    vanish: float,
    hist: bool,
    bins: int,
    select: Optional[str],
    seed: Optional[int],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Train SPEC on a synthetic seeded data set and watch every layer's weights and grads.

    After each epoch (or every K steps) a table per layer shows ||w||, ||g||, ||g||/||w||,
    the update ratio ||Δw||/||w|| and the fraction of dead ReLU units; shared parameters are
    checked to be identical in every layer that uses them. At the end: sparklines of each
    layer's gradient norm. A progress bar goes to stderr.

    --load starts from a parameter file (loaded right after the build); --save writes the
    trained parameters at the end.
    """
    from paraminspect.actions._prologue import preflight
    from paraminspect.actions.train import TrainOptions, validate
    from paraminspect.actions.train import train as run_train
    from paraminspect.render.jsonl import JsonlLog
    from paraminspect.render.plot import check_plot_target, write_plot
    from paraminspect.render.progress import TrainPrinter

    opts = TrainOptions(
        samples=samples,
        batch_size=batch_size,
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        loss=loss,
        every=every,
        seed=seed,
        hybridize=hybridize,
        shared=shared,
        explode=explode,
        vanish=vanish,
        hist_bins=bins if hist else None,
        hist_select=select,
    )
    validate(opts)
    if plot_path is not None:
        check_plot_target(plot_path)
    load, save = pop_load(kwargs), pop_save(kwargs)
    preflight(load, save)  # before --log truncates its file
    c = consoles()
    log = JsonlLog(log_path) if log_path is not None else None
    printer = TrainPrinter(c.out.console, c.err.console, fmt, log)
    printer.shared_focus = shared
    with printer:
        report = run_train(
            spec, opts, on_step=printer.on_step, on_record=printer.on_record, load=load, save=save
        )
    if plot_path is not None and report.history:
        write_plot(report, plot_path)
        c.err.print(f"wrote {plot_path}")
    emit(report, fmt)


# --------------------------------------------------------------------------- summary


@cli.command()
@spec_argument
@click.option(
    "--batch",
    type=click.IntRange(1, 10**8),
    default=None,
    metavar="N",
    help="Batch size of X (replaces the spec's first input dimension).",
)
@click.option(
    "--method",
    metavar="NAME",
    shell_complete=complete_method,
    help="Initialize with this catalog initializer (net-wide, instead of the spec's init) "
    "before the forward pass.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    help="A parameter of --method, e.g. sigma=1 (repeatable).",
)
@click.option(
    "--compare",
    multiple=True,
    metavar="METHOD[:K=V,...]",
    help="Also run with this initializer and show every layer's std side by side "
    "(repeatable; e.g. xavier, uniform, normal:sigma=1).",
)
@click.option(
    "--hybridize",
    is_flag=True,
    help="Hybridize the net before the forward pass (Block.summary refuses hybridized nets).",
)
@click.option(
    "--hist",
    is_flag=True,
    help="Also draw every layer's output as a one-line histogram (saturation, dead units, "
    "a collapse with depth; JSON: hist).",
)
@bins_option(24)
@seed_option
@format_option
@examples(
    "paraminspect summary",
    "paraminspect summary shared --batch 64",
    "paraminspect summary deep_tanh --method xavier",
    "paraminspect summary deep_tanh --compare xavier --compare uniform --compare normal:sigma=1",
    "paraminspect summary deep_tanh --method normal --param sigma=1 --format json",
    "paraminspect summary deep_tanh --method normal --param sigma=1 --hist",
)
def summary(
    spec: Optional[str],
    batch: Optional[int],
    method: Optional[str],
    params: tuple,
    compare: tuple,
    hybridize: bool,
    hist: bool,
    bins: int,
    seed: Optional[int],
    fmt: str,
) -> None:
    """One row per layer: shapes, parameters, MACs, memory, and activation statistics.

    Runs the book's first forward pass and captures every layer's output on X (layer by
    layer, so hybridized nets work too): mean, std, dead ReLU outputs, saturated tanh /
    sigmoid outputs, nan / inf, and a sparkline of the std across depth. Nets too large to
    allocate get shapes, counts and MACs from the spec alone.
    """
    from paraminspect.actions.summary import summary as run_summary

    report = run_summary(
        spec,
        seed=seed,
        batch=batch,
        method=method,
        params=params,
        compare=compare,
        hybridize=hybridize,
        hist_bins=bins if hist else None,
    )
    emit(report, fmt)
