"""Each table keeps the columns it exists for (issue 23): at 80, 100 and 120 columns every
command's defining columns are in its header, no line is wider than the terminal, and no
line ends in spaces. On the three kinds of model: built-in specs, an exported graph (built
here with Gluon's export, and MobileFaceNet when ../shared/data has it) and a zoo model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from tests.conftest import SHARED_DATA, needs_shared_data

WIDTHS = (80, 100, 120)
RULE = re.compile(r"^ ?─{3,}$")
MFN = SHARED_DATA / "mobilefacenet-symbol.json"
MFN_PARAMS = SHARED_DATA / "mobilefacenet-0000.params"
needs_mfn = pytest.mark.skipif(
    not (MFN.is_file() and MFN_PARAMS.is_file()),
    reason=needs_shared_data(MFN.name, MFN_PARAMS.name),
)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Dict[str, str]:
    """A small exported graph with long names (Gluon's HybridBlock.export), a second
    parameter file for it, and a Module-style checkpoint saved by mx.nd.save."""
    import mxnet as mx
    from mxnet.gluon import nn

    folder = tmp_path_factory.mktemp("columns")
    mx.random.seed(3)
    net = nn.HybridSequential(prefix="convolutional_feature_extractor_")
    with net.name_scope():
        net.add(
            nn.Conv2D(8, 3, in_channels=3, activation="relu"),
            nn.BatchNorm(in_channels=8),
            nn.Flatten(),
            nn.Dense(10, in_units=8 * 6 * 6),
        )
    net.initialize()
    net.hybridize()
    net(mx.nd.random.uniform(shape=(2, 3, 8, 8)))
    base = str(folder / "tiny_network_with_rather_long_layer_names")
    net.export(base)
    other = {k: v * 1.5 for k, v in mx.nd.load(base + "-0000.params").items()}
    mx.nd.save(str(folder / "other.params"), other)
    return {
        "symbol": base + "-symbol.json",
        "params": base + "-0000.params",
        "other": str(folder / "other.params"),
    }


def _headers(out: str) -> str:
    """Every table's header lines (the two lines above each rule), joined."""
    lines = out.splitlines()
    return " ".join(
        " ".join(lines[max(0, i - 2) : i]) for i, x in enumerate(lines) if RULE.match(x)
    )


def _run(args: Sequence[str], width: int) -> str:
    from paraminspect.cli import cli

    r = CliRunner().invoke(cli, list(args), env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert r.exit_code in (0, 1), r.output  # --check may find a failure; that is a table too
    return r.output


def _check(args: Sequence[str], keep: Sequence[str], width: int) -> str:
    out = _run(args, width)
    for line in out.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} > {width}: {line!r}"
        assert line == line.rstrip(), f"trailing spaces: {line!r}"
        # a cell is never cut at its end (a name shortened in the middle keeps both ends)
        assert not re.search(r"…(\s|$)", line), line
    headers = " ".join(_headers(out).split())
    for column in keep:
        assert column in headers, f"{column!r} missing at {width} columns:\n{out}"
    return out


SPEC_CASES: List[Tuple[Sequence[str], Sequence[str]]] = [
    (["show", "shared", "--seed", "1"], ["parameter", "shape", "size"]),
    (["show", "chapter4_2", "--shapes-only"], ["parameter", "shape", "size"]),
    (["show", "shared", "--stats", "--seed", "1"], ["mean", "std", "l2"]),
    (["grad", "shared", "--layer", "1", "--loss", "l2", "--seed", "1"], ["||g||", "share"]),
    (["summary", "shared", "--seed", "0"], ["output", "params", "MACs", "dead (units)"]),
    (["train", "--shared", "--seed", "1", "--epochs", "1"], ["||g||", "dead ReLU"]),
    (["show", "chapter4_2", "--check"], ["check", "expected", "observed", "result"]),
    (["init", "--list"], ["method", "formula"]),
]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args, keep", SPEC_CASES, ids=lambda a: " ".join(a[:2]))
def test_spec_tables_keep_their_columns(args, keep, width):
    _check(args, keep, width)


def _graph_cases(f: Dict[str, str]) -> List[Tuple[List[str], List[str]]]:
    g, data = f["symbol"], "data=2x3x8x8"
    return [
        (["show", g, "--input", data], ["parameter", "shape", "size"]),
        (["show", g, "--input", data, "--shapes-only"], ["parameter", "shape"]),
        (["grad", g, "--input", data], ["||g||", "||g||/||w||"]),
        (["summary", g, "--input", data], ["output", "params", "MACs"]),
        (
            ["train", g, "--input", data, "--epochs", "1", "--samples", "8", "--batch-size", "4"],
            ["||g||", "dead ReLU"],
        ),
        (["inspect", f["params"], "--symbol", g], ["shape", "size", "read by"]),
        (["inspect", f["params"], "--stats"], ["shape", "mean", "std"]),
        (["diff", f["params"], f["other"]], ["status", "max_abs", "rel_l2"]),
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", range(8), ids=lambda i: f"graph{i}")
def test_exported_graph_tables_keep_their_columns(files, case, width):
    args, keep = _graph_cases(files)[case]
    _check(args, keep, width)


ZOO_CASES: List[Tuple[Sequence[str], Sequence[str]]] = [
    # the case: a shapes view that lost its shapes at 80 columns
    (["show", "zoo:resnet18_v1", "--shapes-only", "--layer", "features.4.0"], ["shape", "size"]),
    (["summary", "zoo:resnet18_v1", "--shapes-only"], ["output", "params", "MACs"]),
    (["grad", "zoo:mobilenet0.25", "--input", "data=2x3x32x32"], ["||g||", "||g||/||w||"]),
    (
        [
            "train",
            "zoo:mobilenet0.25",
            "--input",
            "data=2x3x32x32",
            "--epochs",
            "1",
            "--samples",
            "8",
            "--batch-size",
            "4",
        ],
        ["||g||", "dead ReLU"],
    ),
]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args, keep", ZOO_CASES, ids=lambda a: " ".join(a[:2]))
def test_zoo_tables_keep_their_columns(args, keep, width):
    _check(args, keep, width)


MFN_CASES: List[Tuple[Sequence[str], Sequence[str]]] = [
    (["summary", str(MFN), "--input", "data=1x3x112x112", "--shapes-only"], ["output", "MACs"]),
    (["show", str(MFN), "--input", "data=1x3x112x112", "--shapes-only"], ["shape", "size"]),
    (
        ["inspect", str(MFN_PARAMS), "--symbol", str(MFN), "--sort", "size", "--top", "8"],
        ["shape", "size", "read by"],
    ),
]


@needs_mfn
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args, keep", MFN_CASES, ids=lambda a: " ".join(a[:1]))
def test_mobilefacenet_tables_keep_their_columns(args, keep, width):
    out = _check(args, keep, width)
    # MXNet's own upgrade log lines are kept off; the report says it once
    assert "legacy_json_util" not in out
    if args[0] != "inspect":  # inspect reads the graph's JSON without MXNet
        assert out.count("graph saved by MXNet 1.0.0, upgraded on load") == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_export_and_compare_keep_the_node_and_its_difference(files, width, tmp_path):
    pytest.importorskip("onnxruntime", reason="needs the onnx extra: pip install '.[onnx]'")
    g, onnx = files["symbol"], str(tmp_path / f"net{width}.onnx")
    _check(["export", g, onnx, "--input", "data=2x3x8x8"], ["output", "max|a-b|", "match"], width)
    _check(["compare", g, onnx, "--input", "data=2x3x8x8"], ["node", "max|a-b|", "match"], width)


def test_a_long_name_folds_at_its_parts_and_the_shape_stays():
    """The issue's case at 80 columns: shape and size beside whole parameter names."""
    out = _run(["show", "zoo:resnet18_v1", "--shapes-only", "--layer", "features.4.0"], 80)
    assert "(64, 64, 3, 3)" in out and "36,864" in out
    # a folded name breaks after a '_' or '.', never inside a word
    names = re.findall(r"resnetv1\d+_\S*", out)  # Gluon counts prefixes per process
    ends = ("_", ")", "weight", "gamma", "beta", "mean", "var")
    assert names and all(n.endswith(ends) for n in names), names
    said = " ".join(out.split())
    assert "(not shown at 80 columns: dtype (all float32)" in said


def test_what_a_narrow_show_leaves_out_is_named():
    """Below 100 columns dtype and grad_req used to vanish silently."""
    out = _run(["show", "shared", "--seed", "1"], 80)
    assert "(not shown at 80 columns: dtype (all float32), grad_req (all write);" in out
    assert "0 (dense0)" in out  # the same label at every width


def test_train_keeps_the_same_columns_every_epoch():
    out = _run(["train", "--shared", "--seed", "1", "--epochs", "3"], 80)
    heads = [
        " ".join(lines[i - 1].split())
        for lines in [out.splitlines()]
        for i, x in enumerate(lines)
        if RULE.match(x) and lines[i - 1].startswith(" layer ") and "dead ReLU" in lines[i - 1]
    ]
    assert len(heads) == 3 and len(set(heads)) == 1, heads


def test_fold_and_shorten_names():
    from paraminspect._text import fold_name, fold_width, middle

    assert fold_name("features.4.0.body.0", 30) == "features.4.0.body.0"
    assert (
        fold_name("resnetv10_stage1_batchnorm0_gamma", 20) == "resnetv10_stage1_\nbatchnorm0_gamma"
    )
    assert fold_name("  features.4.0.body.0", 14) == "  features.4.\n  0.body.0"
    assert middle("resnetv10_stage1_batchnorm0_running_mean", 15) == "resnetv…ng_mean"
    assert len(middle("x" * 50, 15)) == 15
    # a name too long for three lines at its parts is shortened in the middle
    assert fold_name("a" * 40, 10) == middle("a" * 40, 10)
    assert fold_width("resnetv10_stage1_batchnorm0_gamma") == 17
    # a class name folds at its capital, not inside a word
    assert fold_name("HybridSequential", 12) == "Hybrid\nSequential"
    # a label's "(name)" aside goes before the path is cut or shortened
    label = "    features.4.0.body.0 (resnetv10_stage1_conv0)"
    assert fold_name(label, 16) == "    features.4.\n    0.body.0"
    assert fold_name(label, 40) == "    features.4.0.body.0 (resnetv10_\n    stage1_conv0)"


def test_fit_table_keeps_declared_columns_and_drops_the_optional_first():
    import io

    from rich.console import Console

    from paraminspect.render._common import new_table

    table = new_table("t", keep=("value",), drop_first=("note",), names=("name",))
    for col in ("name", "note", "other", "value"):
        table.add_column(col, no_wrap=True)
    table.add_row("a_rather_long_parameter_name_here", "n" * 12, "o" * 12, "1.234")
    table.add_row("short", "n" * 12, "o" * 12, "5.678")
    buf = io.StringIO()
    Console(file=buf, width=40, color_system=None).print(table)
    text = buf.getvalue()
    assert "value" in text and "1.234" in text and "5.678" in text
    assert "nnnn" not in text.split("(not shown")[0]  # drop_first went first
    assert "(not shown at 40 columns: note (all nnnnnnnnnnnn)" in " ".join(text.split())
    assert all(cell_len(x) <= 40 for x in text.splitlines())


def test_help_fits_80_columns_and_summaries_are_whole():
    from paraminspect.cli import cli

    r = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "80"})
    assert "..." not in r.output.split("Commands:")[1]
    for name in cli.list_commands(None):
        help_text = CliRunner().invoke(cli, [name, "--help"], env={"COLUMNS": "80"}).output
        assert all(len(x) <= 80 for x in help_text.splitlines()), name
        assert f"  {name} " in r.output


def test_a_parameter_file_given_as_a_model_says_so(files):
    r = CliRunner().invoke(__import__("paraminspect.cli", fromlist=["cli"]).cli,
                           ["show", files["params"]])  # fmt: skip
    assert r.exit_code == 1
    assert f"this is a parameter file: paraminspect inspect {files['params']}" in r.output


def test_the_plot_uses_the_figure_width(tmp_path):
    """train --plot: the panels and their legends fill the figure (the right half was empty)."""
    pytest.importorskip("matplotlib")
    import numpy as np
    from matplotlib import image

    png = tmp_path / "run.png"
    _run(["train", "--shared", "--seed", "1", "--epochs", "2", "--plot", str(png)], 100)
    pixels = image.imread(str(png))
    ink = (pixels[..., :3] < 0.9).any(axis=2)  # anything not white
    used = np.flatnonzero(ink.any(axis=0))
    assert used[-1] > 0.9 * ink.shape[1], (used[-1], ink.shape)


def test_shared_data_skips_say_where_the_folder_comes_from():
    assert "../shared/data" in needs_mfn.kwargs["reason"]
    assert (
        Path(__file__)
        .parents[1]
        .joinpath("docs", "development.md")
        .read_text()
        .count("shared/data")
    )


def test_a_narrow_summary_folds_nested_paths_whole():
    """At 80 columns a nesting level indents one space and labels fold rather than lose
    their middle down to depth 3 (deeper ones may be shortened: the JSON has them whole);
    class names fold at a capital, never inside a word."""
    out = _run(["summary", "zoo:resnet18_v1", "--shapes-only"], 80)
    shortened = [x.split()[0] for x in out.splitlines() if "…" in x]
    assert all(x.startswith("     ") for x in out.splitlines() if "…" in x), shortened
    assert "Sequenti\n" not in out and "HybridSequential" not in out  # folded at the capital
    # a depth-3 row: its path in two pieces, the second starting where the first stopped
    lines = out.splitlines()
    at = next(i for i, x in enumerate(lines) if x.split()[:2] == ["features.", "Conv2D"])
    assert lines[at + 1].split()[0] == "4.0.body.0"
