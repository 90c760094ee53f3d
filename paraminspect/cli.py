"""The command line: parse options, call one core function, pick a renderer. No logic here.

Heavy imports (MXNet, pydantic, rich) happen inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable, Optional

import click

from paraminspect import __version__

FORMAT_CHOICES = ("table", "json")


class PICommand(click.Command):
    """Turns the tool's own errors into one-line messages (exit 1) or usage errors (exit 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        from paraminspect.errors import OptionError, ParamInspectError

        debug = bool(ctx.find_root().params.get("debug"))
        try:
            return super().invoke(ctx)
        except OptionError as e:
            if debug:
                traceback.print_exc()
            raise click.BadParameter(
                str(e), ctx=ctx, param_hint=f"'{e.option}'" if e.option else None
            ) from e
        except ParamInspectError as e:
            if debug:
                traceback.print_exc()
            raise click.ClickException(str(e)) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as e:
            if debug:
                raise
            raise click.ClickException(
                f"internal error: {type(e).__name__}: {e} (this is a bug in paraminspect; "
                "re-run with --debug for the traceback and report it)"
            ) from e


class PIGroup(click.Group):
    """The root group; every command in it handles errors as :class:`PICommand` does."""

    command_class = PICommand


class Consoles:
    """stdout for data, stderr for progress and warnings."""

    def __init__(self, no_color: bool) -> None:
        import os

        from rich.console import Console

        # A pipe has no width; rich would assume 80 columns and squeeze the tables.
        width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120
        self.out = Console(no_color=no_color or None, highlight=False, width=width)
        self.err = Console(stderr=True, no_color=no_color or None, highlight=False)


def consoles() -> Consoles:
    ctx = click.get_current_context()
    return Consoles(bool(ctx.find_root().params.get("no_color")))


# --------------------------------------------------------------------------- shared options


def spec_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("spec", required=False, metavar="[SPEC]")(f)


def seed_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--seed",
        type=int,
        default=None,
        help="Call mx.random.seed(N) first. Without it, MXNet's default "
        "stream gives the book's numbers.",
    )(f)


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMAT_CHOICES),
        default="table",
        show_default=True,
        help="table: rich tables; json: the documented JSON schema.",
    )(f)


def view_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--layer, --select, --values, --grad, --slice, --stats (shared by all net commands)."""
    options = [
        click.option(
            "--layer",
            "layers",
            multiple=True,
            metavar="N|NAME",
            help="Only the parameters this layer uses, like net[N].params "
            "(repeatable; index, negative index or name).",
        ),
        click.option(
            "--select",
            metavar="REGEX",
            help="Only names that re.match REGEX, like collect_params('.*weight').",
        ),
        click.option("--values", is_flag=True, help="Print data() of each shown parameter."),
        click.option(
            "--grad",
            is_flag=True,
            help="Print grad() of each shown parameter (zeros before backward).",
        ),
        click.option(
            "--slice",
            "slice_",
            metavar="EXPR",
            help="numpy index applied to each printed array: '0', '0,:5', ':3,-2:'.",
        ),
        click.option(
            "--stats",
            is_flag=True,
            help="mean, std, min, max, abs_max, l2, zeros, nan, inf per parameter.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_view(
    layers: tuple,
    select: Optional[str],
    values: bool,
    grad: bool,
    slice_: Optional[str],
    stats: bool,
    **extra: Any,
) -> Any:
    from paraminspect.view import ViewOptions

    return ViewOptions(
        layers=tuple(layers),
        select=select,
        values=values,
        grad=grad,
        slice=slice_,
        stats=stats,
        **extra,
    )


def pop_view(kwargs: dict) -> Any:
    keys = ("layers", "select", "values", "grad", "slice_", "stats")
    return make_view(**{k: kwargs.pop(k) for k in keys})


def render(report: Any, fmt: str) -> None:
    from paraminspect.render import render_report

    c = consoles()
    render_report(report, fmt, c.out, c.err)


def examples(*lines: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Append an Examples section to a command's help text."""

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        block = "\n".join(f"  {line}" for line in lines)
        f.__doc__ = (f.__doc__ or "").rstrip() + "\n\n\b\nExamples:\n" + block + "\n"
        return f

    return deco


def save_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--save PATH, --force (net commands: write save_parameters output atomically)."""
    f = click.option(
        "--force", is_flag=True, help="With --save: overwrite PATH if it already exists."
    )(f)
    return click.option(
        "--save",
        "save_path",
        metavar="PATH",
        type=click.Path(dir_okay=False),
        help="Write the parameters as net.save_parameters(PATH) does, atomically "
        "(temporary file in the same folder, then rename).",
    )(f)


def load_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--load PATH, --allow-missing, --ignore-extra (net commands: load before acting)."""
    f = click.option(
        "--ignore-extra",
        is_flag=True,
        help="With --load: skip keys of the file that the net does not have.",
    )(f)
    f = click.option(
        "--allow-missing",
        is_flag=True,
        help="With --load: keep the initialized values of parameters the file lacks.",
    )(f)
    return click.option(
        "--load",
        "load_path",
        metavar="PATH",
        type=click.Path(dir_okay=False),
        help="Load a parameter file (save_parameters keys such as 0.weight, or names "
        "such as dense0_weight) into the net before acting, like net.load_parameters.",
    )(f)


def pop_save(kwargs: dict) -> Any:
    """Take --save/--force out of ``kwargs``: a SaveRequest, or None without --save."""
    from paraminspect.checkpoint import SaveRequest
    from paraminspect.errors import OptionError

    path, force = kwargs.pop("save_path"), kwargs.pop("force")
    if path is None:
        if force:
            raise OptionError("--force only applies with --save PATH", "--force")
        return None
    return SaveRequest(path, force)


def pop_load(kwargs: dict) -> Any:
    """Take --load/--allow-missing/--ignore-extra out of ``kwargs``: a LoadRequest or None."""
    from paraminspect.checkpoint import LoadRequest
    from paraminspect.errors import OptionError

    path = kwargs.pop("load_path")
    allow_missing, ignore_extra = kwargs.pop("allow_missing"), kwargs.pop("ignore_extra")
    if path is None:
        for flag, on in (("--allow-missing", allow_missing), ("--ignore-extra", ignore_extra)):
            if on:
                raise OptionError(f"{flag} only applies with --load PATH", flag)
        return None
    return LoadRequest(path, allow_missing, ignore_extra)


# --------------------------------------------------------------------------- commands


@click.group(cls=PIGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paraminspect")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
@click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is respected too).")
def cli(debug: bool, no_color: bool) -> None:
    """Look inside the parameters of MXNet Gluon networks built from YAML specs.

    SPEC is a YAML file or a built-in name (mlp, shared, ...); without it, the book's MLP
    (Dive into Deep Learning, section 4.2) is used.
    """


@cli.command()
@spec_argument
@view_options
@click.option(
    "--before-forward",
    is_flag=True,
    help="Stop after initialize(), before the first forward pass (exercise 2): "
    "deferred shapes such as (256, 0), and no values yet.",
)
@click.option(
    "--shapes-only",
    is_flag=True,
    help="Names, shapes, sizes and bytes from the spec alone: no MXNet, nothing allocated "
    "(also what a spec too large for memory gets automatically).",
)
@click.option(
    "--check",
    "check_",
    is_flag=True,
    help="Compare each shown parameter with the theory of the initializer that set it (the "
    "spec's own, or its latest init step); values moved afterwards fail. Exit 1 on failure.",
)
@seed_option
@load_options
@save_options
@format_option
@examples(
    "paraminspect show",
    "paraminspect show benchmarks/specs/huge.yaml --shapes-only",
    "paraminspect show --select dense0_weight --values --slice 0",
    "paraminspect show --layer 1 --select '.*bias' --values",
    "paraminspect show shared --stats --format json",
    "paraminspect show --check",
    "paraminspect show --seed 1 --save run.params",
    "paraminspect show --load run.params --select dense0_weight --values",
)
def show(
    spec: Optional[str],
    before_forward: bool,
    shapes_only: bool,
    check_: bool,
    seed: Optional[int],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Build SPEC, initialize it, run one forward pass, and show its parameters.

    Shared parameters appear once, with every layer that uses them; totals count each use
    (like Block.summary's "Total params") and each tensor once ("unique").
    """
    if check_:
        from paraminspect.actions.init import show_check

        if before_forward:
            raise click.UsageError("--check needs values: drop --before-forward")
        render_edit(show_check(spec, pop_view(kwargs), seed=seed), fmt)
        return
    from paraminspect.actions.show import show as run_show

    load, save = pop_load(kwargs), pop_save(kwargs)
    report = run_show(
        spec,
        pop_view(kwargs),
        seed=seed,
        before_forward=before_forward,
        shapes_only=shapes_only,
        load=load,
        save=save,
    )
    render(report, fmt)


@cli.command()
@spec_argument
@format_option
@examples("paraminspect check configs/mlp.yaml", "paraminspect check my_spec.yaml --format json")
def check(spec: Optional[str], fmt: str) -> None:
    """Validate SPEC without running MXNet: keys, types, sizes and every sharing link."""
    from paraminspect.actions.check import check as run_check

    result = run_check(spec)
    if fmt == "json":
        import json

        p = result.plan
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "source": result.source,
                    "layers": len(p.layers),
                    "total": p.total_params,
                    "unique": p.unique_count,
                    "bytes": p.param_bytes,
                },
                indent=2,
            )
        )
    else:
        click.echo(result.summary)


@cli.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the schema to this file (atomically) instead of stdout.",
)
@examples(
    "paraminspect schema > spec.schema.json", "paraminspect schema -o configs/spec.schema.json"
)
def schema(output: Optional[str]) -> None:
    """Print the JSON Schema of the spec format (generated from the validation models).

    Editors with the YAML language server validate and complete a spec whose first line is

    \b
      # yaml-language-server: $schema=spec.schema.json
    """
    import json

    from paraminspect.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from paraminspect.fileio import write_text_atomic

    write_text_atomic(output, text)
    click.echo(f"wrote {output}", err=True)


# --------------------------------------------------------------------------- grad, train

LOSS_CHOICES = ("sum", "l2", "softmax-ce")


@cli.command()
@spec_argument
@view_options
@click.option(
    "--loss",
    type=click.Choice(LOSS_CHOICES),
    default="sum",
    show_default=True,
    help="sum: the sum of the outputs (no targets); l2, softmax-ce: against synthetic "
    "targets drawn after X and the weights (see README).",
)
@seed_option
@format_option
@examples(
    "paraminspect grad",
    "paraminspect grad shared --loss l2 --seed 1",
    "paraminspect grad --select dense1_bias --grad --format json",
)
def grad(spec: Optional[str], loss: str, seed: Optional[int], fmt: str, **kwargs: Any) -> None:
    """Forward SPEC under autograd.record(), compute a loss, backward, show the gradients.

    Every shown parameter gets its gradient statistics, its weight norm ||w|| and the
    ratio ||g||/||w||. A shared parameter appears once, with each using layer's
    contribution (from an unshared copy holding the same weights) and a check that they
    sum to the accumulated gradient; a failed check exits with status 1.
    """
    from paraminspect.actions.grad import grad as run_grad
    from paraminspect.errors import CheckFailed
    from paraminspect.render_train import render_grad

    report = run_grad(spec, pop_view(kwargs), seed=seed, loss=loss)
    c = consoles()
    render_grad(report, fmt, c.out, c.err)
    if report.failed:
        names = ", ".join(s.parameter for s in report.failed)
        raise CheckFailed(
            f"shared gradient check failed for {names}: the layers' contributions do not sum "
            "to the accumulated gradient"
        )


@cli.command()
@spec_argument
@click.option(
    "--shared",
    is_flag=True,
    help="Focus on shared parameters: without SPEC, train the built-in 'shared' spec "
    "(the book's In[14]); tables show the sharing layers and the weight-identity check.",
)
@click.option("--samples", type=int, default=256, show_default=True, help="Synthetic samples.")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Samples per step.")
@click.option("--epochs", type=int, default=5, show_default=True, help="Passes over the data.")
@click.option("--lr", type=float, default=0.1, show_default=True, help="Learning rate (> 0).")
@click.option(
    "--optimizer",
    default="sgd",
    show_default=True,
    help="Any optimizer MXNet registers for gluon.Trainer (sgd, adam, nag, rmsprop, ...).",
)
@click.option(
    "--loss",
    type=click.Choice(("l2", "softmax-ce")),
    default="l2",
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
    help="Write one JSON record per logged step, flushed as it goes.",
)
@click.option(
    "--plot",
    "plot_path",
    metavar="FILE.png",
    help="Draw weight and gradient norms per layer over the steps (needs matplotlib: "
    "pip install 'paraminspect[plot]').",
)
@click.option(
    "--hybridize/--no-hybridize",
    default=True,
    show_default=True,
    help="Hybridize the layers before training.",
)
@seed_option
@format_option
@examples(
    "paraminspect train --shared --seed 1",
    "paraminspect train mlp --epochs 3 --optimizer adam --lr 0.01 --log run.jsonl",
    "paraminspect train shared --loss softmax-ce --every 4 --plot norms.png",
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
    seed: Optional[int],
    fmt: str,
) -> None:
    """Train SPEC on a synthetic seeded data set and watch every layer's weights and grads.

    After each epoch (or every K steps) a table per layer shows ||w||, ||g||, ||g||/||w||,
    the update ratio ||Δw||/||w|| and the fraction of dead ReLU units; shared parameters are
    checked to be identical in every layer that uses them. At the end: sparklines of each
    layer's gradient norm. A progress bar goes to stderr.
    """
    from paraminspect.actions.train import TrainOptions, validate
    from paraminspect.actions.train import train as run_train
    from paraminspect.errors import CheckFailed
    from paraminspect.render_train import (
        JsonlLog,
        TrainPrinter,
        check_plot_target,
        print_train_summary,
        train_json,
        write_plot,
    )

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
    )
    validate(opts)
    if plot_path is not None:
        check_plot_target(plot_path)
    c = consoles()
    log = JsonlLog(log_path) if log_path is not None else None
    printer = TrainPrinter(c.out, c.err, fmt, log)
    printer.shared_focus = shared
    with printer:
        report = run_train(spec, opts, on_step=printer.on_step, on_record=printer.on_record)
    if fmt == "json":
        from paraminspect.render import print_json

        print_json(c.out, train_json(report))
    else:
        print_train_summary(c.out, report)
    if plot_path is not None and report.history:
        write_plot(report, plot_path)
        c.err.print(f"wrote {plot_path}")
    not_identical = {s.parameter for r in report.history for s in r.shared if not s.identical}
    if not_identical:
        raise CheckFailed(
            f"shared weights differ between layers for {', '.join(sorted(not_identical))}"
        )
    if report.stopped:
        raise CheckFailed(report.stopped)


# --------------------------------------------------------------------------- init, set, run


def edit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--check, --trace, --save, --force (shared by init and set)."""
    options = [
        click.option(
            "--check",
            "check_",
            is_flag=True,
            help="Compare each changed parameter with its initializer's theory (bounds, "
            "mean/std, exact values, orthogonality, KS test); exit 1 if one fails.",
        ),
        click.option(
            "--trace",
            is_flag=True,
            help="Also show the parameters after the first forward pass and after each of "
            "the spec's steps.",
        ),
        click.option(
            "--save",
            metavar="PATH",
            help="Write the parameters afterwards (net.save_parameters; atomic: never a "
            "half-written file).",
        ),
        click.option("--force", is_flag=True, help="Let --save replace an existing file."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def render_edit(report: Any, fmt: str) -> None:
    """Render an EditReport; exit 1 (after printing it) when a --check failed."""
    from paraminspect.errors import CheckFailed
    from paraminspect.render import render_edit_report

    c = consoles()
    render_edit_report(report, fmt, c.out, c.err)
    if report.failed:
        names = ", ".join(r.parameter for r in report.failed)
        raise CheckFailed(
            f"{len(report.failed)} of {len(report.checks)} parameters do not match their "
            f"initializer's theory: {names}"
        )


@cli.command("init")
@spec_argument
@click.option(
    "--method",
    metavar="NAME",
    help="An initializer: uniform, normal, constant, one, zero, xavier, msraprelu, "
    "orthogonal, bilinear, lstmbias, myinit (see --list).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="An initializer parameter, e.g. sigma=0.01, magnitude=2.34, rnd_type=gaussian "
    "(repeatable; checked against the catalog).",
)
@click.option(
    "--plugin",
    metavar="FILE.py:CLASS",
    help="Use CLASS, an mxnet.init.Initializer subclass, from FILE.py instead of --method. "
    "This IMPORTS AND RUNS THE CODE IN FILE.py; only use files you trust. Honoured on the "
    "command line only, never from a spec. --param values become its keyword arguments.",
)
@click.option("--list", "list_", is_flag=True, help="Show the catalog of initializers and exit.")
@view_options
@edit_options
@seed_option
@format_option
@examples(
    "paraminspect init --method xavier",
    "paraminspect init --method normal --param sigma=0.01 --values --slice 0,:5",
    "paraminspect init --method xavier --param rnd_type=gaussian --check",
    "paraminspect init --method myinit --select '.*weight' --stats",
    "paraminspect init --list",
)
def init_command(
    spec: Optional[str],
    method: Optional[str],
    params: tuple,
    plugin: Optional[str],
    list_: bool,
    check_: bool,
    trace: bool,
    save: Optional[str],
    force: bool,
    seed: Optional[int],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Build SPEC as show does, then re-initialize parameters with force_reinit=True.

    Without --select/--layer every parameter is re-initialized like
    net.initialize(init, force_reinit=True): parameters with an initializer of their own
    (a Dense bias's zeros) keep it, which is why the book's biases stay 0. With a
    selection each chosen parameter gets the initializer, like
    net[0].weight.initialize(init=..., force_reinit=True). The selection is also what is
    shown. A spec's steps run first.
    """
    if list_:
        from paraminspect.actions.init import catalog
        from paraminspect.render import catalog_json, catalog_table, print_json

        c = consoles()
        if fmt == "json":
            print_json(c.out, catalog_json(catalog()))
        else:
            c.out.print(catalog_table(catalog()))
        return
    from paraminspect.actions.init import init as run_init

    report = run_init(
        spec,
        method,
        params,
        pop_view(kwargs),
        seed=seed,
        plugin=plugin,
        check=check_,
        trace=trace,
        save=save,
        force=force,
    )
    render_edit(report, fmt)


@cli.command("set")
@spec_argument
@click.option("--add", type=float, metavar="X", help="data + X (the book's In[13]: --add 1).")
@click.option("--scale", type=float, metavar="X", help="data * X.")
@click.option("--fill", type=float, metavar="X", help="every value = X.")
@view_options
@edit_options
@seed_option
@format_option
@examples(
    "paraminspect set --select dense0_weight --add 1 --values --slice 0",
    "paraminspect set --layer 1 --select '.*bias' --fill 0.5 --values",
    "paraminspect set chapter4_2 --select dense1_weight --scale 2 --check",
)
def set_command(
    spec: Optional[str],
    add: Optional[float],
    scale: Optional[float],
    fill: Optional[float],
    check_: bool,
    trace: bool,
    save: Optional[str],
    force: bool,
    seed: Optional[int],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Build SPEC, run its steps, then change the selected parameters with set_data.

    Exactly one of --add, --scale, --fill; --select or --layer says which parameters.
    """
    import math

    from paraminspect.actions.init import set_ as run_set
    from paraminspect.errors import OptionError

    given = [(op, v) for op, v in (("add", add), ("scale", scale), ("fill", fill)) if v is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --add X, --scale X, --fill X")
    op, value = given[0]
    if not math.isfinite(value):
        raise OptionError(f"must be a finite number, got {value}", f"--{op}")
    report = run_set(
        spec,
        op,
        value,
        pop_view(kwargs),
        seed=seed,
        check=check_,
        trace=trace,
        save=save,
        force=force,
    )
    render_edit(report, fmt)


@cli.command("run")
@click.argument("spec", metavar="SPEC")
@view_options
@click.option(
    "--check",
    "check_",
    is_flag=True,
    help="After the last step, compare each shown parameter with the initializer that last "
    "set it; values moved afterwards (a set step) fail. Exit 1 if one fails.",
)
@seed_option
@format_option
@examples(
    "paraminspect run chapter4_2 --select dense0_weight --values --slice 0",
    "paraminspect run chapter4_2 --stats --format json",
)
def run_command(spec: str, check_: bool, seed: Optional[int], fmt: str, **kwargs: Any) -> None:
    """Build SPEC and replay its steps, showing the parameters after every one (a trace)."""
    from paraminspect.actions.init import run as run_steps

    render_edit(run_steps(spec, pop_view(kwargs), seed=seed, check=check_), fmt)


@cli.command(name="inspect")
@click.argument("file", metavar="FILE")
@click.option(
    "--select",
    metavar="REGEX",
    help="Only keys that re.match REGEX (with or without their arg:/aux: prefix).",
)
@click.option("--values", is_flag=True, help="Print each shown array.")
@click.option(
    "--slice",
    "slice_",
    metavar="EXPR",
    help="numpy index applied to each printed array: '0', '0,:5', ':3,-2:'.",
)
@click.option(
    "--stats", is_flag=True, help="mean, std, min, max, abs_max, l2, zeros, nan, inf per array."
)
@format_option
@examples(
    "paraminspect inspect model-0000.params",
    "paraminspect inspect net.params --select '.*weight' --stats",
    "paraminspect inspect net.params --select 0.weight --values --slice 0,:5",
)
def inspect_cmd(
    file: str,
    select: Optional[str],
    values: bool,
    slice_: Optional[str],
    stats: bool,
    fmt: str,
) -> None:
    """Show every array in an MXNet parameter FILE (no spec needed).

    FILE is anything mx.nd.save wrote: Gluon save_parameters output (0.weight, ...), Module
    checkpoints (arg:/aux: keys), plain lists. Arrays saved twice (shared parameters saved
    without deduplicate=True) are marked with the key they repeat. The file is read with
    mx.nd.load only: arrays, never code.
    """
    from paraminspect.actions.checkpoint import inspect_file
    from paraminspect.render import render_inspect

    c = consoles()
    render_inspect(inspect_file(file, select, values, slice_, stats), fmt, c.out, c.err)


@cli.command(name="diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option(
    "--select",
    metavar="REGEX",
    help="Only keys that re.match REGEX (with or without their arg:/aux: prefix).",
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with status 1 when A and B differ, 0 when they do not (like git diff).",
)
@seed_option
@format_option
@examples(
    "paraminspect diff before.params after.params",
    "paraminspect diff mlp trained.params --select '.*weight'",
    "paraminspect diff a.params b.params --exit-code --format json",
)
def diff_cmd(
    a: str, b: str, select: Optional[str], exit_code: bool, seed: Optional[int], fmt: str
) -> None:
    """Compare two parameter files key by key.

    For each key: only in A, only in B, shape or dtype changed, or the maximum absolute
    difference, the relative l2 difference ||A-B||/||A|| and the cosine similarity. A side
    may also be a spec (a path or built-in name): its freshly initialized parameters (after
    the first forward pass, --seed applies), keyed like save_parameters (0.weight, ...).
    """
    from paraminspect.actions.checkpoint import diff as run_diff
    from paraminspect.render import render_diff

    c = consoles()
    report = run_diff(a, b, select=select, seed=seed)
    render_diff(report, fmt, c.out, c.err)
    if exit_code and report.differ:
        click.get_current_context().exit(1)


def main(argv: Optional[list] = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="paraminspect")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])


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
@seed_option
@format_option
@examples(
    "paraminspect summary",
    "paraminspect summary shared --batch 64",
    "paraminspect summary deep_tanh --method xavier",
    "paraminspect summary deep_tanh --compare xavier --compare uniform --compare normal:sigma=1",
    "paraminspect summary deep_tanh --method normal --param sigma=1 --format json",
)
def summary(
    spec: Optional[str],
    batch: Optional[int],
    method: Optional[str],
    params: tuple,
    compare: tuple,
    hybridize: bool,
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
    from paraminspect.render_summary import render_summary

    report = run_summary(
        spec,
        seed=seed,
        batch=batch,
        method=method,
        params=params,
        compare=compare,
        hybridize=hybridize,
    )
    c = consoles()
    render_summary(report, fmt, c.out, c.err)
