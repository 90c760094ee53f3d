"""Commands that run the network: ``grad``, ``train``, ``summary``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Optional

import click
from click.core import ParameterSource

import paraminspect.choices as choices
from paraminspect.choices import (
    DEFAULT_STOP_ON,
    DIVERGE_FACTOR,
    TROUBLE_KINDS,
)
from paraminspect.cli.base import cli, consoles, emit
from paraminspect.cli.options import (
    bins_option,
    data_options,
    examples,
    model_argument,
    net_options,
    pop_net,
    pop_view,
    view_options,
)

# --------------------------------------------------------------------------- grad, train


def _size_option(name: str, default: int, help: str) -> Any:
    """A size of the run (--samples, --batch-size, --epochs): a whole number, default shown."""
    return click.option(name, type=int, default=default, show_default=True, help=help)


def _norm_option(name: str, dest: str, default: float, help: str) -> Any:
    """A warning threshold of a gradient norm ||g|| (--explode-above, --vanish-below)."""
    return click.option(
        name, dest, type=float, default=default, show_default=True, metavar="NORM", help=help
    )


@cli.command(short_help="Gradients after one backward pass; shared sums checked")
@model_argument
@view_options
@click.option(
    "--loss",
    type=click.Choice(choices.LOSSES),
    default="sum",
    show_default=True,
    help="sum: the sum of the outputs (no targets); l2, softmax-ce: against synthetic "
    "targets drawn after X and the weights (see README), or --targets.",
)
@data_options
@net_options
@examples(
    "paraminspect grad",
    "paraminspect grad net.yaml --data X.npy --targets T.npy --loss l2",
    "paraminspect grad shared --loss l2 --seed 1",
    "paraminspect grad --select dense1_bias --grad --format json",
    "paraminspect grad --hist --bins 8 --select dense0_weight",
    "paraminspect grad --load trained.params --loss l2 --seed 1",
    "paraminspect grad model-symbol.json --input data=8x3x112x112 --stats",
)
def grad(spec: Optional[str], fmt: str, **kwargs: Any) -> None:
    """Forward MODEL under autograd.record(), compute a loss, backward, show the gradients.

    Every shown parameter gets its gradient statistics, its weight norm ||w|| and the
    ratio ||g||/||w||. A shared parameter appears once, with each using layer's
    contribution (each use reading its own copy of the weights in the net's graph) and a
    check that they sum to the accumulated gradient; a failed check exits with status 1.

    --load replaces the weights right after the build (X is still drawn first), so the
    gradients are those of the loaded weights; --save writes the parameters (not the
    gradients). --data X.npy (with --targets T.npy for l2 and softmax-ce) takes the
    gradients on your batch instead of the drawn X.
    """
    from paraminspect.actions.grad import grad as run_grad

    net = pop_net(kwargs)
    emit(run_grad(spec, pop_view(kwargs), **net, **kwargs), fmt)


@cli.command(short_help="Train MODEL and follow every layer's weight and gradient norms")
@model_argument
@click.option(
    "--shared",
    is_flag=True,
    help="Focus on shared parameters: without SPEC, train the built-in 'shared' spec "
    "(the book's In[14]); tables show the sharing layers and the weight-identity check.",
)
@_size_option("--samples", choices.DEFAULT_SAMPLES, "Synthetic samples.")
@_size_option("--batch-size", choices.DEFAULT_BATCH_SIZE, "Samples per step.")
@_size_option("--epochs", choices.DEFAULT_EPOCHS, "Passes over the data.")
@click.option(
    "--lr", type=float, default=choices.DEFAULT_LR, show_default=True, help="Learning rate (> 0)."
)
@click.option(
    "--optimizer",
    default=choices.DEFAULT_OPTIMIZER,
    show_default=True,
    help="Any optimizer MXNet registers for gluon.Trainer (sgd, adam, nag, rmsprop, ...).",
)
@click.option(
    "--loss",
    type=click.Choice(choices.TRAIN_LOSSES),
    default=choices.DEFAULT_TRAIN_LOSS,
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
@_norm_option(
    "--explode-above",
    "explode",
    choices.EXPLODE_NORM,
    "Warn when a parameter's gradient norm ||g|| is above NORM (exploding).",
)
@_norm_option(
    "--vanish-below",
    "vanish",
    choices.VANISH_NORM,
    "Warn when a trained parameter's ||g|| is below NORM (vanishing; 0 turns it off).",
)
@data_options
@click.option(
    "--contributions",
    is_flag=True,
    help="At each logged step (every K with --every K), each use's share <g_i, G>/||G||^2 "
    "of a shared parameter's gradient G (each use reading its own copy of the weights; the "
    "shares add to 1), e.g. "
    "train --shared --contributions --every 4.",
)
@click.option(
    "--stop-on",
    metavar="KINDS",
    default="none",
    show_default=True,
    help=f"Stop at the first named trouble of these kinds ({', '.join(TROUBLE_KINDS)}, or "
    f"none) and exit 1; the step that went wrong is not applied, so --save writes the last "
    f"good parameters. E.g. --stop-on {DEFAULT_STOP_ON}.",
)
@click.option(
    "--diverge-factor",
    type=float,
    default=DIVERGE_FACTOR,
    show_default=True,
    metavar="F",
    help="The loss diverges when its moving average (weight 0.9 on the past) rises above "
    "F times its best so far and above its first value, e.g. --diverge-factor 5.",
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
@net_options
@examples(
    "paraminspect train --shared --seed 1",
    "paraminspect train mlp --epochs 3 --optimizer adam --lr 0.01 --log run.jsonl",
    "paraminspect train shared --loss softmax-ce --every 4 --plot norms.png",
    "paraminspect train --seed 1 --epochs 3 --save trained.params",
    "paraminspect train --hist --select '.*weight' --bins 24",
    "paraminspect train --shared --contributions --every 4",
    "paraminspect train net.yaml --data digits.npz --loss softmax-ce --batch-size 64",
    "paraminspect train model.py:make_net --input data=1x16 --epochs 3",
    "paraminspect train --lr 20 --seed 1   # warns: step 6: loss rose 3.2x",
    f"paraminspect train --lr 50 --stop-on {DEFAULT_STOP_ON} --save last-good.params",
)
def train(
    spec: Optional[str],
    log_path: Optional[str],
    plot_path: Optional[str],
    stop_on: str,
    hist: bool,
    bins: int,
    select: Optional[str],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Train MODEL (a spec, PATH-symbol.json, zoo:NAME or FILE.py:FUNC; --input sets a
    graph's or factory's input shape) on a synthetic seeded data set (or --data) and watch
    every layer's weights and grads.

    After each epoch (or every K steps) a table per layer shows ||w||, ||g||, ||g||/||w||,
    the update ratio ||Δw||/||w|| and the fraction of dead ReLU units; shared parameters are
    checked to be identical in every layer that uses them. At the end: sparklines of each
    layer's gradient norm. A progress bar goes to stderr.

    Trouble is named at the step it starts (stderr warnings, and "events" in the JSON and
    the --log records): the loss diverging (non-finite, or rising past --diverge-factor
    times its best), a layer whose ReLUs are all dead on the batch, and exploding,
    vanishing or NaN gradients (a layer's ||g|| against --explode-above/--vanish-below).

    --load starts from a parameter file (loaded right after the build); --save writes the
    trained parameters at the end.
    """
    from paraminspect.actions._prologue import preflight
    from paraminspect.actions.train import TrainOptions, validate
    from paraminspect.actions.train import train as run_train
    from paraminspect.diagnose.trouble import parse_stop_on
    from paraminspect.errors import CheckFailed
    from paraminspect.render.jsonl import JsonlLog
    from paraminspect.render.plot import check_plot_target, write_plot
    from paraminspect.render.progress import TrainPrinter

    # the options named as TrainOptions' fields go there as they are
    own = {f.name for f in fields(TrainOptions)} & kwargs.keys()
    opts = TrainOptions(
        **{name: kwargs.pop(name) for name in own},
        hist_bins=bins if hist else None,
        hist_select=select,
        stop_on=parse_stop_on(stop_on),
    )
    ctx = click.get_current_context()
    if opts.data is not None and ctx.get_parameter_source("samples") != ParameterSource.DEFAULT:
        raise click.BadParameter(
            "--samples sizes the synthetic data set; --data uses every sample of its file",
            ctx=ctx,
            param_hint="'--samples'",
        )
    validate(opts)
    if plot_path is not None:
        check_plot_target(plot_path)
    net = pop_net(kwargs)
    preflight(net["load"], net["save"])  # before --log truncates its file
    c = consoles()
    from paraminspect.cli.options import input_files

    log = JsonlLog(log_path, input_files(ctx.params)) if log_path is not None else None
    printer = TrainPrinter(c.out.console, c.err.console, fmt, log)
    printer.shared_focus = opts.shared
    with printer:
        report = run_train(
            spec,
            opts,
            on_step=printer.on_step,
            on_record=printer.on_record,
            on_event=printer.on_event,
            **net,
        )
    if plot_path is not None and report.history:
        write_plot(report, plot_path)
        c.err.print(f"wrote {plot_path}")
    if log is not None and log.error is not None:
        # the run finished and its report is shown, but the log it was asked for is short
        problem = f"--log {log_path}: {log.error}"
        try:
            emit(report, fmt)
        except CheckFailed as e:
            raise CheckFailed(f"{e}; {problem}") from None
        except click.exceptions.Exit:
            pass
        raise CheckFailed(problem)
    emit(report, fmt)
