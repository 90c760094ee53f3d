"""Commands that show parameters: ``show``, ``check``, ``schema``, ``inspect``, ``diff``."""

from __future__ import annotations

import traceback
from typing import Any, Optional

import click

from paraminspect.choices import (
    DIFF_SORT_KEYS,
    FAIL_ON,
    GROUP_BY,
    MIN_ABS_GAMMA,
    MIN_RUNNING_VAR,
    SCALE_FACTOR,
    SORT_KEYS,
)
from paraminspect.cli.base import cli, data_stream, emit
from paraminspect.cli.options import (
    SLICE_HELP,
    bins_option,
    complete_spec,
    examples,
    format_option,
    inputs_option,
    key_select_option,
    map_option,
    model_argument,
    net_options,
    path_option,
    pop_net,
    pop_view,
    seed_option,
    sort_option,
    spec_argument,
    top_option,
    view_options,
)


@cli.command(short_help="Build, initialize and run MODEL once; show its parameters")
@model_argument
@view_options
@click.option(
    "--before-forward",
    is_flag=True,
    help="Stop after initialize(), before the first forward pass (exercise 2): "
    "deferred shapes such as (256, 0), and no values yet; for every MODEL (a factory "
    "or zoo net runs no pass either).",
)
@click.option(
    "--shapes-only",
    is_flag=True,
    help="Names, shapes, sizes and bytes from the spec alone: no MXNet, nothing allocated "
    "(also what a spec too large for memory gets automatically).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Compare each shown parameter with the theory of the initializer that set it (the "
    "spec's own, or its latest init step); values moved afterwards fail. Exit 1 on failure.",
)
@net_options
@examples(
    "paraminspect show",
    "paraminspect show huge --shapes-only",
    "paraminspect show --select dense0_weight --values --slice 0",
    "paraminspect show --layer 1 --select '.*bias' --values",
    "paraminspect show shared --stats --format json",
    "paraminspect show --check",
    "paraminspect show --hist --select dense0_weight",
    "paraminspect show --seed 1 --save run.params",
    "paraminspect show --load run.params --select dense0_weight --values",
    "paraminspect show model-symbol.json --input data=1x3x112x112 --stats",
    "paraminspect show zoo:resnet18_v1 --shapes-only --layer features.4.0",
)
def show(spec: Optional[str], check: bool, fmt: str, **kwargs: Any) -> None:
    """Build MODEL, initialize it, run one forward pass, and show its parameters.

    Shared parameters appear once, with every layer that uses them; totals count each use
    (like Block.summary's "Total params") and each tensor once ("unique").
    """
    net = pop_net(kwargs)
    if check:
        from paraminspect.actions.init import show_check

        if kwargs.pop("before_forward"):
            raise click.UsageError("--check needs values: drop --before-forward")
        if kwargs.pop("shapes_only"):
            raise click.UsageError("--check needs values: drop --shapes-only")
        emit(show_check(spec, pop_view(kwargs), **net, **kwargs), fmt)
        return
    from paraminspect.actions.show import show as run_show

    emit(run_show(spec, pop_view(kwargs), **net, **kwargs), fmt)


@cli.command(short_help="Validate a spec without importing MXNet")
@spec_argument
@format_option
@examples(
    "paraminspect check mlp",
    "paraminspect specs mlp > my_spec.yaml && paraminspect check my_spec.yaml --format json",
)
def check(spec: Optional[str], fmt: str) -> None:
    """Validate SPEC without running MXNet: keys, types, sizes and every sharing link.

    Every problem is listed with its line; with --format json an invalid spec prints
    {"ok": false, "problems": [{"line", "path", "message"}, ...]} (exit 1).
    """
    from paraminspect.actions.check import check as run_check
    from paraminspect.actions.check import invalid_spec
    from paraminspect.errors import SpecError

    try:
        report = run_check(spec)
    except SpecError as e:
        if fmt != "json":
            raise
        if click.get_current_context().find_root().params.get("debug"):
            traceback.print_exc()
        emit(invalid_spec(spec, e), fmt)
        return
    emit(report, fmt)


@cli.command(short_help="Print the JSON Schema of the spec format")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the schema to this file (atomically) instead of stdout.",
)
@click.option("--force", is_flag=True, help="With -o: overwrite the file if it already exists.")
@examples("paraminspect schema > spec.schema.json", "paraminspect schema -o spec.schema.json")
def schema(output: Optional[str], force: bool) -> None:
    """Print the JSON Schema of the spec format (generated from the validation models).

    Editors with the YAML language server validate and complete a spec whose first line is

    \b
      # yaml-language-server: $schema=spec.schema.json
    """
    import json

    from paraminspect.spec.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False, file=data_stream())
        return
    from paraminspect.fileio import write_text_atomic

    write_text_atomic(output, text, force=force, option="-o")
    click.echo(f"wrote {output}", err=True)


@cli.command("inspect", short_help="Every array in a weight file, no spec needed")
@click.argument("file", metavar="FILE")
@key_select_option
@click.option("--values", is_flag=True, help="Print each shown array.")
@click.option("--slice", "slice_", metavar="EXPR", help=SLICE_HELP)
@click.option(
    "--stats", is_flag=True, help="mean, std, min, max, abs_max, l2, zeros, nan, inf per array."
)
@click.option(
    "--index",
    "index_only",
    is_flag=True,
    help="Names, shapes, dtypes and bytes from the file's index alone, in milliseconds for "
    "any size: no value is read, so no statistics and no findings (--fail-on is refused).",
)
@click.option("--hist", is_flag=True, help="Draw a text histogram of each shown array.")
@bins_option()
@sort_option(SORT_KEYS, "largest first, or names A to Z")
@top_option
@click.option(
    "--group",
    type=click.Choice(GROUP_BY),
    default=None,
    help="Group the arrays by the layer they belong to: their name prefix "
    "(aux:bn3_moving_var -> bn3), or the graph's op with --symbol. E.g. --group layer "
    "--sort size --top 3: the 3 largest layers.",
)
@path_option(
    "--symbol",
    metavar="GRAPH",
    help="An exported -symbol.json: each array's reading op nodes (node, op type, slot), and "
    "kinds and layers from the ops that use it (a PReLU slope is not a norm gamma; "
    "fix_gamma BatchNorms are known), e.g. --symbol model-symbol.json.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=None,
    help="Exit 1 when there is any finding (for CI), e.g. --fail-on findings.",
)
@click.option(
    "--min-running-var",
    type=float,
    default=MIN_RUNNING_VAR,
    show_default=True,
    metavar="X",
    help="A BatchNorm running variance below X is a finding (0 or more), e.g. "
    "--min-running-var 1e-4.",
)
@click.option(
    "--min-abs-gamma",
    type=float,
    default=MIN_ABS_GAMMA,
    show_default=True,
    metavar="X",
    help="A norm gamma with |gamma| below X is a finding (0 or more), e.g. --min-abs-gamma 1e-3.",
)
@click.option(
    "--scale-factor",
    type=float,
    default=SCALE_FACTOR,
    show_default=True,
    metavar="F",
    help="A weight whose std is more than F times off its peers' median is a finding "
    "(more than 1), e.g. --scale-factor 10.",
)
@format_option
@examples(
    "paraminspect inspect model-0000.params",
    "paraminspect inspect big-0000.params --index",
    "paraminspect inspect model.safetensors --stats",
    "paraminspect inspect model-0000.params --min-running-var 1e-4 --scale-factor 10",
    "paraminspect inspect model-0000.params --symbol model-symbol.json",
    "paraminspect inspect model-0000.params --sort size --top 5",
    "paraminspect inspect model-0000.params --symbol model-symbol.json --group layer",
    "paraminspect inspect net.params --select '.*weight' --stats",
    "paraminspect inspect net.params --select 0.weight --values --slice 0,:5",
    "paraminspect inspect net.params --fail-on findings --format json",
)
def inspect_cmd(file: str, fmt: str, **kwargs: Any) -> None:
    """Show every array in a weight FILE (no spec needed), with a diagnosis.

    FILE is anything mx.nd.save wrote (Gluon save_parameters output: 0.weight, ...; Module
    checkpoints: arg:/aux: keys; plain lists), a numpy .npz, a .safetensors file, or an
    .onnx model's initializers. Files of any size are read in chunks, in bounded memory.
    An overview comes first (arrays, values and bytes by kind and dtype; the largest
    arrays), then the arrays, then the findings over
    the whole file: NaN/Inf, constant and all-zero arrays, all-zero filters and rows,
    BatchNorm channels with running variance below --min-running-var or |gamma| below
    --min-abs-gamma, arrays saved twice, and weights whose std is over --scale-factor times
    off their peers'. Only arrays are read, never code (no pickles).
    """
    from paraminspect.actions.inspect_file import inspect_file
    from paraminspect.cli.base import byte_progress

    if kwargs["index_only"] and (kwargs["values"] or kwargs["stats"] or kwargs["hist"]):
        raise click.UsageError("--index reads no value: drop --values, --stats and --hist")
    with byte_progress(fmt, "reading") as progress:
        report = inspect_file(file, progress=progress, **kwargs)
    emit(report, fmt)


@cli.command("diff", short_help="Compare two weight files (or MODELs) key by key")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@key_select_option
@click.option(
    "--exit-code",
    "strict",
    is_flag=True,
    help="Exit with status 1 when A and B differ, 0 when they do not (like git diff).",
)
@inputs_option("Input shapes for a side that is an exported graph (see show --input).")
@map_option
@click.option(
    "--model",
    metavar="MODEL",
    help="Read save_parameters keys (0.weight, ...) on either side as this MODEL's parameter "
    "names (a side that is a MODEL does this by itself), e.g. --model mlp.",
)
@sort_option(
    DIFF_SORT_KEYS,
    "most different first (cosine smallest first), size largest first, or names A to Z",
)
@top_option
@seed_option
@format_option
@examples(
    "paraminspect diff before.params after.params",
    "paraminspect diff model-0000.params model.onnx",
    "paraminspect diff saved.params model-0000.params --model model-symbol.json",
    "paraminspect diff model-symbol.json other-0000.params --input data=1x3x112x112",
    "paraminspect diff before.params after.params --sort rel_l2 --top 5",
    "paraminspect diff mlp trained.params --select '.*weight'",
    "paraminspect diff a.params b.params --exit-code --format json",
)
def diff_cmd(a: str, b: str, inputs: tuple, fmt: str, **kwargs: Any) -> None:
    """Compare two weight files key by key, reading both side by side in chunks.

    A and B may be .params (mx.nd.save), .npz, .safetensors or .onnx files, in any pair.
    For each key: only in A, only in B, shape or dtype changed, or the maximum absolute
    difference, the relative l2 difference ||A-B||/||A|| and the cosine similarity. A side
    may also be a spec (a path or built-in name): its freshly initialized parameters (after
    the first forward pass, --seed applies), keyed like save_parameters (0.weight, ...); or
    any other MODEL (PATH-symbol.json with its weights, zoo:NAME, FILE.py:FUNC), keyed by
    parameter name. Keys pair when equal, after --map, after dropping arg:/aux: prefixes,
    or read through a MODEL's structure; a note says how they were paired.
    """
    from paraminspect.actions.diff import diff as run_diff
    from paraminspect.cli.base import byte_progress
    from paraminspect.model.inputs import parse_inputs

    with byte_progress(fmt, "comparing") as progress:
        report = run_diff(a, b, inputs=parse_inputs(inputs), progress=progress, **kwargs)
    emit(report, fmt)


@cli.command(short_help="List the model-zoo names a MODEL can give as zoo:NAME")
@examples("paraminspect models", "paraminspect summary zoo:resnet18_v1 --shapes-only")
def models() -> None:
    """List the Gluon model-zoo architectures a MODEL can name as zoo:NAME.

    They are built with pretrained=False (nothing is ever downloaded); give weights with
    --load. Extra arguments follow the name: zoo:resnet18_v1,classes=10. The other MODEL
    forms are a YAML spec or built-in name (see `paraminspect specs`), PATH-symbol.json and
    FILE.py:FUNC.
    """
    from paraminspect.model.sources.zoo import zoo_names

    for name in zoo_names():
        click.echo(f"zoo:{name}", file=data_stream())


@cli.command(short_help="List the built-in specs, or print one to copy")
@click.argument("name", required=False, shell_complete=complete_spec)
@examples("paraminspect specs", "paraminspect specs shared > my_spec.yaml")
def specs(name: Optional[str]) -> None:
    """List the built-in specs, one line each; with NAME, print that spec to copy and edit.

    A built-in name works as SPEC anywhere (paraminspect show shared), from any folder.
    """
    from paraminspect.spec.load import builtin_names, read_spec_text

    if name is None:
        import shutil

        from paraminspect._text import phrase_lines

        width = shutil.get_terminal_size().columns  # COLUMNS, the terminal's, else 80
        for builtin in builtin_names():
            text, _ = read_spec_text(builtin)
            lines = phrase_lines(_first_comment(text), max(20, width - 13))
            click.echo(f"{builtin:<12} {lines[0] if lines else ''}".rstrip(), file=data_stream())
            for line in lines[1:]:
                click.echo(" " * 13 + line, file=data_stream())
        return
    if name not in builtin_names():
        from paraminspect._text import did_you_mean
        from paraminspect.errors import SpecError

        raise SpecError(
            f"no built-in spec '{name}'{did_you_mean(name, builtin_names())} "
            f"(built-ins: {', '.join(builtin_names())})"
        )
    click.echo(read_spec_text(name)[0], nl=False, file=data_stream())


def _first_comment(text: str) -> str:
    """The spec's description: its first comment line after the schema line."""
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""
