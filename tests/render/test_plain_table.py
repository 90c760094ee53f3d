"""The string-drawn tables (render/_plain_table.py) print exactly rich's text.

Each case is rendered twice into the same kind of console: once as the CLI does (plain
one-line cells are measured and drawn as strings), once with that path switched off so
rich measures and draws every cell. The two texts must be equal, byte for byte.
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box
from rich.console import Console
from rich.text import Text

from paraminspect.render import _common
from paraminspect.render._common import FitTable, new_table
from tests.conftest import SHARED_DATA

SYMBOL = SHARED_DATA / "mobilefacenet-symbol.json"
PARAMS = SHARED_DATA / "mobilefacenet-0000.params"

COMMANDS = [
    ["show", "shared", "--seed", "1"],
    ["show", "shared", "--stats", "--values", "--seed", "1"],
    ["grad", "shared", "--layer", "1", "--loss", "l2", "--seed", "1"],
    ["grad", "--stats", "--seed", "0"],
    ["grad", "chapter4_2", "--stats", "--seed", "0", "--loss", "l2"],
    ["summary", "shared", "--seed", "0"],
    ["summary", "deep_tanh", "--seed", "0", "--compare", "xavier", "--compare", "normal:sigma=1"],
    ["init", "--list"],
]
if SYMBOL.is_file() and PARAMS.is_file():
    COMMANDS += [
        ["grad", str(SYMBOL), "--input", "data=1x3x112x112", "--stats", "--seed", "0"],
        ["show", str(SYMBOL), "--input", "data=1x3x112x112", "--stats"],
        ["summary", str(SYMBOL), "--input", "data=1x3x112x112", "--shapes-only"],
        ["inspect", str(PARAMS)],
    ]

WIDTHS = [40, 60, 80, 100, 120, 200]


class _Counter:
    """Counts the tables drawn as strings, so a test knows the fast path ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = _common.plain_lines

        def counted(*args, **kw):
            self.calls += 1
            return real(*args, **kw)

        monkeypatch.setattr(_common, "plain_lines", counted)


def _rich_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "cell_texts", lambda console, table: None)


def _run_cli(args, width):
    from paraminspect.cli import cli

    r = CliRunner().invoke(cli, args, env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3])[-40:])
def test_cli_output_is_rich_s_text(args, monkeypatch):
    counter = _Counter(monkeypatch)
    fast = {w: _run_cli(args, w) for w in WIDTHS}
    if args != ["init", "--list"]:  # its descriptions wrap: rich draws that table
        assert counter.calls > 0, "no table took the string path"
    with monkeypatch.context() as m:
        _rich_only(m)
        slow = {w: _run_cli(args, w) for w in WIDTHS}
    for w in WIDTHS:
        assert fast[w] == slow[w], f"differs at {w} columns"


def _render(table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    return out.getvalue()


def _both(make, width, monkeypatch):
    counter = _Counter(monkeypatch)
    fast = _render(make(), width)
    with monkeypatch.context() as m:
        _rich_only(m)
        slow = _render(make(), width)
    return fast, slow, counter.calls


words = st.text(alphabet="abcXYZ019.,-()|_=e+", min_size=0, max_size=12)
cells = st.lists(words, min_size=1, max_size=3).map(" ".join).map(lambda s: s.strip())


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(st.text("hdr_x", min_size=1, max_size=9), min_size=1, max_size=5),
    rows=st.lists(st.lists(cells, min_size=5, max_size=5), min_size=1, max_size=6),
    justify=st.lists(st.sampled_from(["left", "right", "center"]), min_size=5, max_size=5),
    no_wrap=st.lists(st.booleans(), min_size=5, max_size=5),
    as_text=st.booleans(),
    shape=st.sampled_from(
        [
            dict(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1)),
            dict(box=box.SIMPLE_HEAD, pad_edge=True, padding=(0, 1)),
            dict(box=box.ROUNDED, pad_edge=True, padding=(0, 1)),
            dict(box=box.SQUARE, pad_edge=False, padding=(0, 2), show_edge=False),
            dict(box=None, pad_edge=False, padding=(0, 1)),
            dict(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_header=False),
        ]
    ),
    width=st.sampled_from([12, 30, 40, 60, 80, 100, 120]),
)
def test_random_tables_match_rich(headers, rows, justify, no_wrap, as_text, shape, width):
    def make():
        table = FitTable(title="t", drop_first=headers[-1:], **shape)
        for i, h in enumerate(headers):
            table.add_column(h, justify=justify[i], no_wrap=no_wrap[i])
        for row in rows:
            table.add_row(*[Text(c, style="red") if as_text else c for c in row[: len(headers)]])
        return table

    with pytest.MonkeyPatch.context() as mp:
        fast, slow, _ = _both(make, width, mp)
    assert fast == slow


def test_markup_and_wide_cells_fall_back_to_rich(monkeypatch):
    """Cells rich would restyle or measure differently are left to rich."""

    def make():
        table = new_table("t")
        table.add_column("a")
        table.add_column("b", justify="right")
        table.add_row("[bold]x[/bold]", "1")
        table.add_row(":smile:", "\u6f22\u5b57")
        return table

    fast, slow, calls = _both(make, 80, monkeypatch)
    assert fast == slow
    assert calls == 0


def test_key_cells_with_colons_take_the_string_path(monkeypatch):
    def make():
        table = new_table("arrays")
        table.add_column("key")
        table.add_column("size", justify="right", no_wrap=True)
        for i in range(30):
            table.add_row(f"arg:conv_{i}_weight", f"{i * 1000:,}")
        return table

    for width in (20, 40, 100):
        fast, slow, calls = _both(make, width, monkeypatch)
        assert fast == slow
    assert calls > 0
