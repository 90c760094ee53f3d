"""Leaving MXNet: ``export`` (MODEL -> a checked ONNX file) and ``compare`` (MODEL
against an ONNX file, parameter by parameter and node by node)."""

from __future__ import annotations

from typing import Any, Optional

import click

from paraminspect.choices import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, ONNX_OPSETS
from paraminspect.cli.base import cli, emit
from paraminspect.cli.options import (
    complete_spec,
    examples,
    format_option,
    input_option,
    load_options,
    map_option,
    option_group,
    pop_load,
    seed_option,
)


def _model_argument(f: Any) -> Any:
    return click.argument("model", metavar="MODEL", shell_complete=complete_spec)(f)


def _tolerance_option(name: str, default: float, help: str) -> Any:
    return click.option(
        name, type=click.FloatRange(min=0), default=default, show_default=True, help=help
    )


_tolerance_options = option_group(
    _tolerance_option(
        "--rtol",
        DEFAULT_RTOL,
        "Relative part of the match rule (times the largest |value| MXNet gives).",
    ),
    _tolerance_option(
        "--atol",
        DEFAULT_ATOL,
        "Absolute part of the match rule max|a-b| <= rtol * max|mxnet| + atol.",
    ),
)


@cli.command(short_help="Export MODEL to ONNX and prove the file in onnxruntime")
@_model_argument
@click.argument("out", metavar="OUT.onnx", type=click.Path(dir_okay=False))
@input_option
@load_options
@click.option(
    "--opset",
    type=click.Choice([str(v) for v in ONNX_OPSETS]),
    default=str(DEFAULT_OPSET),
    show_default=True,
    help="ONNX opset of the file (the ones MXNet's exporter has rules for).",
)
@click.option("--dynamic-batch", is_flag=True, help="Name the first axis N: any batch size.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--keep-failed",
    is_flag=True,
    help="Write OUT even when onnxruntime's outputs do not match MXNet's (exit 1 still).",
)
@_tolerance_options
@seed_option
@format_option
@examples(
    "paraminspect export model-symbol.json model.onnx --input data=1x3x112x112",
    "paraminspect export zoo:resnet18_v1 r18.onnx --input data=1x3x224x224 --dynamic-batch",
    "paraminspect export net.py:build net.onnx --input data=1x20 --opset 12 --format json",
)
def export(model: str, out: str, opset: str, fmt: str, **kwargs: Any) -> None:
    """Export MODEL to ONNX and prove the file in onnxruntime.

    onnxruntime runs OUT.onnx on the inputs (given or drawn) and each output is held
    against MXNet's: max|a-b| <= rtol * max|mxnet| + atol.

    MXNet's own exporter builds the nodes; what it gets wrong is mended (opset stamp,
    PReLU slopes, fix_gamma, names, left-out defaults) and listed. Loss heads are left
    out. A file that does not match is not written (exit 1) unless --keep-failed.
    """
    from paraminspect.actions.port.export import export as run_export
    from paraminspect.model.inputs import parse_inputs

    feed = parse_inputs(kwargs.pop("inputs"))
    load = pop_load(kwargs)
    emit(run_export(model, out, inputs=feed, load=load, opset=int(opset), **kwargs), fmt)


class CompareFailed(click.ClickException):
    """The comparison could not run: exit 2, as ``cmp`` does (1 means they differ)."""

    exit_code = 2


@cli.command(short_help="Compare MODEL with an ONNX file, parameters and nodes")
@_model_argument
@click.argument("other", metavar="OTHER.onnx", type=click.Path(dir_okay=False))
@input_option
@load_options
@map_option
@_tolerance_options
@seed_option
@format_option
@examples(
    "paraminspect compare model-symbol.json model.onnx --input data=1x3x112x112",
    "paraminspect compare net.py:build port.onnx --input data=1x20 --map 'fc_(.*)=fc.\\1'",
    "paraminspect compare zoo:resnet18_v1 r18.onnx --input data=1x3x224x224 --format json",
)
def compare(
    model: str,
    other: str,
    maps: tuple,
    rtol: float,
    atol: float,
    seed: Optional[int],
    fmt: str,
    **kwargs: Any,
) -> None:
    """Compare MODEL with an ONNX file, parameter by parameter and node by node.

    Parameters are matched by name (after arg:/aux: and --map), then by shape; every MXNet
    node output is held against the ONNX tensor of the same name, in graph order,
    onnxruntime against MXNet on the same inputs.

    Exit 0 when equal, 1 when they differ, 2 when the comparison could not run. The first
    divergence names the MXNet node and the parameter it reads that differs.
    """
    from paraminspect.actions.port.compare import compare as run_compare
    from paraminspect.actions.port.deps import MissingExtraError
    from paraminspect.errors import OptionError, ParamInspectError
    from paraminspect.model.inputs import parse_inputs
    from paraminspect.weights.match import parse_maps

    feed = parse_inputs(kwargs.pop("inputs"))
    load = pop_load(kwargs)
    parse_maps(maps)  # a bad --map fails before anything is built
    try:
        report = run_compare(
            model, other, feed, load=load, maps=maps, rtol=rtol, atol=atol, seed=seed
        )
    except (MissingExtraError, OptionError):
        raise
    except ParamInspectError as e:
        raise CompareFailed(str(e)) from e
    emit(report, fmt)
