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
    "--check",
    "check_",
    is_flag=True,
    help="Compare each shown parameter with the theory of the initializer that set it (the "
    "spec's own, or its latest init step); values moved afterwards fail. Exit 1 on failure.",
)
@seed_option
@format_option
@examples(
    "paraminspect show",
    "paraminspect show --select dense0_weight --values --slice 0",
    "paraminspect show --layer 1 --select '.*bias' --values",
    "paraminspect show shared --stats --format json",
    "paraminspect show --check",
)
def show(
    spec: Optional[str],
    before_forward: bool,
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

    render(run_show(spec, pop_view(kwargs), seed=seed, before_forward=before_forward), fmt)


@cli.command()
@spec_argument
@format_option
@examples("paraminspect check configs/mlp.yaml", "paraminspect check my_spec.yaml --format json")
def check(spec: Optional[str], fmt: str) -> None:
    """Validate SPEC without running MXNet: keys, types, sizes and every sharing link."""
    from paraminspect.actions.show import check as run_check

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


def main(argv: Optional[list] = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="paraminspect")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
