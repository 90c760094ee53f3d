"""Tables that fit (issue 17): at 80, 100 and 120 columns no number or word is cut, no
line is wider than the terminal, dropped columns are named, and no line ends in spaces."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

COMMANDS = [
    ["show", "shared", "--seed", "1"],
    ["show", "shared", "--stats", "--values", "--seed", "1"],
    ["grad", "shared", "--layer", "1", "--loss", "l2", "--seed", "1"],
    ["grad", "--stats", "--seed", "0"],
    ["summary", "shared"],
    [
        "summary",
        "deep_tanh",
        "--compare",
        "xavier",
        "--compare",
        "uniform",
        "--compare",
        "normal:sigma=1",
    ],
    ["train", "--shared", "--seed", "1", "--epochs", "3"],
    ["init", "--list"],
    ["run", "chapter4_2", "--select", "dense0_weight", "--values", "--slice", "0"],
    [
        "init",
        "--method",
        "normal",
        "--param",
        "sigma=0.01",
        "--select",
        ".*weight",
        "--check",
        "--seed",
        "0",
    ],
]


def _run(args, width):
    from paraminspect.cli import cli

    r = CliRunner().invoke(cli, args, env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("width", [80, 100, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_tables_fit_the_terminal(args, width):
    out = _run(args, width)
    for line in out.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} > {width}: {line!r}"
        assert "…" not in line, line
        assert line == line.rstrip(), f"trailing spaces: {line!r}"


def test_a_dropped_column_is_named_with_how_to_see_it():
    out = _run(["summary", "shared"], 80)
    # MACs is one of the columns summary exists for: it stays; train and act. mem go
    assert (
        "(not shown at 80 columns: train (all yes), act. mem; a wider terminal or --format json"
        in (" ".join(out.split()))
    )
    assert "MACs" in out.split("not shown")[0]
    wide = _run(["summary", "shared"], 200)
    assert "not shown" not in wide and "MACs" in wide


def test_shared_gradient_verdict_is_kept_whole_at_80_columns():
    out = _run(["grad", "shared", "--layer", "1", "--loss", "l2", "--seed", "1"], 80)
    assert "accumulated?" in out
    # the verdict outranks the mean and abs_max (the share column takes their room)
    assert "(not shown at 80 columns: mean, abs_max;" in out
    verdict = [line for line in out.splitlines() if "accumulated grad()" in line]
    assert len(verdict) == 2 and all("ok (max |diff|" in line for line in verdict)


def test_fit_table_never_breaks_a_word_and_names_what_it_drops():
    from paraminspect.render._common import new_table

    table = new_table("a title: with a second phrase that is long", drop_first=("b",))
    for name in ("a", "b", "c"):
        table.add_column(name, no_wrap=name != "c")
    table.add_row("x" * 20, "y" * 20, "internationalization words here")
    buf = io.StringIO()
    Console(file=buf, width=50, color_system=None).print(table)
    text = buf.getvalue()
    assert "yyyy" not in text  # b went first
    assert "internationalization" in text  # a word is never folded
    assert "(not shown at 50 columns: b;" in text
    assert text.splitlines()[0] == "a title: with a second phrase that is long"
    assert all(cell_len(line) <= 50 and line == line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize(
    "text, width, lines",
    [
        (
            "epoch 1, step 8: loss 0.13 (data set 0.12)",
            30,
            ["epoch 1, step 8:", "loss 0.13 (data set 0.12)"],
        ),
        ("short", 30, ["short"]),
        # a word wider than the line (a long path) is cut: no line is wider than the terminal
        ("averyveryverylongword and more", 10, ["averyveryv", "erylongwor", "d and more"]),
    ],
)
def test_phrase_lines(text, width, lines):
    from paraminspect.render._common import phrase_lines

    assert phrase_lines(text, width) == lines
