"""``paraminspect summary``: one row per layer of any MODEL."""

from __future__ import annotations

from typing import Any, Optional

import click

from paraminspect.cli.base import cli, emit
from paraminspect.cli.options import (
    bins_option,
    complete_method,
    examples,
    format_option,
    load_options,
    model_argument,
    pop_inputs,
    pop_load,
    seed_option,
)

# --------------------------------------------------------------------------- summary


@cli.command(short_help="One row per layer: shapes, parameters, MACs, memory")
@model_argument
@click.option(
    "--shapes-only",
    is_flag=True,
    help="Shapes, counts, MACs and memory by shape inference: nothing allocated "
    "(exported graphs, zoo: and FILE.py:FUNC models).",
)
@click.option(
    "--depth",
    type=click.IntRange(1, 100),
    default=None,
    metavar="N",
    help="Nested blocks: show the first N levels of the tree (as torchinfo's depth).",
)
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
@load_options
@format_option
@examples(
    "paraminspect summary",
    "paraminspect summary shared --batch 64",
    "paraminspect summary deep_tanh --method xavier",
    "paraminspect summary deep_tanh --compare xavier --compare uniform --compare normal:sigma=1",
    "paraminspect summary deep_tanh --method normal --param sigma=1 --format json",
    "paraminspect summary deep_tanh --method normal --param sigma=1 --hist",
    "paraminspect summary zoo:resnet152_v1 --shapes-only --depth 2",
    "paraminspect summary model-symbol.json --input data=1x3x112x112",
    "paraminspect summary model-symbol.json --input data=1x3x112x112 --load model-0004.params",
)
def summary(spec: Optional[str], hist: bool, bins: int, fmt: str, **kwargs: Any) -> None:
    """One row per layer: shapes, parameters, MACs, memory, and activation statistics.

    Runs the book's first forward pass and captures every layer's output on X (layer by
    layer, so hybridized nets work too): mean, std, dead ReLU outputs, saturated tanh /
    sigmoid outputs, nan / inf, and a sparkline of the std across depth. Nets too large to
    allocate get shapes, counts and MACs from the spec alone.
    """
    from paraminspect.actions.summary import summary as run_summary

    feed = pop_inputs(kwargs)
    load = pop_load(kwargs)
    emit(run_summary(spec, hist_bins=bins if hist else None, load=load, **feed, **kwargs), fmt)
