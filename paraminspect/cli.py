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
@seed_option
@load_options
@save_options
@format_option
@examples(
    "paraminspect show",
    "paraminspect show --select dense0_weight --values --slice 0",
    "paraminspect show --layer 1 --select '.*bias' --values",
    "paraminspect show shared --stats --format json",
    "paraminspect show --seed 1 --save run.params",
    "paraminspect show --load run.params --select dense0_weight --values",
)
def show(
    spec: Optional[str], before_forward: bool, seed: Optional[int], fmt: str, **kwargs: Any
) -> None:
    """Build SPEC, initialize it, run one forward pass, and show its parameters.

    Shared parameters appear once, with every layer that uses them; totals count each use
    (like Block.summary's "Total params") and each tensor once ("unique").
    """
    from paraminspect.actions.show import show as run_show

    load, save = pop_load(kwargs), pop_save(kwargs)
    report = run_show(
        spec, pop_view(kwargs), seed=seed, before_forward=before_forward, load=load, save=save
    )
    render(report, fmt)


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
