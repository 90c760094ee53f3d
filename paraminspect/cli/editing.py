"""Commands that change parameters: ``init``, ``set``, ``run``."""

from __future__ import annotations

from typing import Any, Optional

import click

from paraminspect.cli.base import cli, emit
from paraminspect.cli.options import (
    complete_method,
    examples,
    feed_options,
    model_argument,
    net_options,
    option_group,
    pop_net,
    pop_view,
    view_options,
)

# --------------------------------------------------------------------------- init, set, run


# --check, --trace (shared by init and set; --load/--save come from net_options).
edit_options = option_group(
    click.option(
        "--check",
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
)


@cli.command("init", short_help="Re-initialize parameters (force_reinit=True); --list")
@model_argument
@click.option(
    "--method",
    metavar="NAME",
    shell_complete=complete_method,
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
@net_options
@examples(
    "paraminspect init --method xavier",
    "paraminspect init --method normal --param sigma=0.01 --values --slice 0,:5",
    "paraminspect init --method xavier --param rnd_type=gaussian --check",
    "paraminspect init --method myinit --select '.*weight' --stats",
    "paraminspect init --method xavier --seed 1 --save xavier.params",
    "paraminspect init --list",
)
def init_command(spec: Optional[str], list_: bool, fmt: str, **kwargs: Any) -> None:
    """Build SPEC as show does, then re-initialize parameters with force_reinit=True.

    Without --select/--layer every parameter is re-initialized like
    net.initialize(init, force_reinit=True): parameters with an initializer of their own
    (a Dense bias's zeros) keep it, which is why the book's biases stay 0. With a
    selection each chosen parameter gets the initializer, like
    net[0].weight.initialize(init=..., force_reinit=True). The selection is also what is
    shown. A spec's steps run first (after --load, which comes right after the build);
    --save writes the parameters at the end.
    """
    net = pop_net(kwargs)
    if list_ and (net["load"] is not None or net["save"] is not None):
        raise click.UsageError("--list only prints the catalog; drop --load/--save")
    if list_:
        from paraminspect.actions.init import catalog
        from paraminspect.reports.catalog import CatalogReport

        emit(CatalogReport(catalog()), fmt)
        return
    from paraminspect.actions.init import init as run_init

    emit(run_init(spec, view=pop_view(kwargs), **net, **kwargs), fmt)


@cli.command("set", short_help="Change parameters with set_data: --add, --scale, --fill")
@model_argument
@click.option("--add", type=float, metavar="X", help="data + X (the book's In[13]: --add 1).")
@click.option("--scale", type=float, metavar="X", help="data * X.")
@click.option("--fill", type=float, metavar="X", help="every value = X.")
@view_options
@edit_options
@net_options
@examples(
    "paraminspect set --select dense0_weight --add 1 --values --slice 0",
    "paraminspect set --layer 1 --select '.*bias' --fill 0.5 --values",
    "paraminspect set chapter4_2 --select dense1_weight --scale 2 --check",
    "paraminspect set --load run.params --select '.*bias' --fill 0 --save run0.params",
    "paraminspect set zoo:resnet18_v1 --select '.*conv0_weight' --scale 0.5 --stats",
)
def set_command(
    spec: Optional[str],
    add: Optional[float],
    scale: Optional[float],
    fill: Optional[float],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Build SPEC, run its steps, then change the selected parameters with set_data.

    Exactly one of --add, --scale, --fill; --select or --layer says which parameters.
    --load comes right after the build (before the steps), --save at the end.
    """
    import math

    from paraminspect.actions.init import set_ as run_set
    from paraminspect.errors import OptionError

    given = [(op, v) for op, v in (("add", add), ("scale", scale), ("fill", fill)) if v is not None]
    if len(given) != 1:
        names = " and ".join(f"--{op}" for op, _ in given)
        got = f"{names} were given" if given else "no change was given"
        raise click.UsageError(f"{got}; give exactly one of --add X, --scale X, --fill X")
    net = pop_net(kwargs)
    op, value = given[0]
    if not math.isfinite(value):
        raise OptionError(f"must be a finite number, got {value}", f"--{op}")
    emit(run_set(spec, op, value, pop_view(kwargs), **net, **kwargs), fmt)


@cli.command("run", short_help="Replay a spec's steps, showing the parameters after each")
@click.argument("spec", metavar="MODEL")
@feed_options
@view_options
@click.option(
    "--check",
    is_flag=True,
    help="After the last step, compare each shown parameter with the initializer that last "
    "set it; values moved afterwards (a set step) fail. Exit 1 if one fails.",
)
@net_options
@examples(
    "paraminspect run chapter4_2 --select dense0_weight --values --slice 0",
    "paraminspect run chapter4_2 --stats --format json",
    "paraminspect run chapter4_2 --load trained.params --save stepped.params",
)
def run_command(spec: str, fmt: str, **kwargs: Any) -> None:
    """Build SPEC and replay its steps, showing the parameters after every one (a trace).

    --load comes right after the build (the steps then act on the loaded values), --save
    writes the state after the last step.
    """
    from paraminspect.actions.init import run as run_steps

    net = pop_net(kwargs)
    emit(run_steps(spec, pop_view(kwargs), **net, **kwargs), fmt)
