"""train in a real terminal (issue 17): the progress bar vanishes when done and nothing is
printed onto its line. Runs the CLI under a pseudo-terminal and replays what it wrote on a
small screen model (cursor moves, line erases) to see what the user is left with."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_in_pty

pytest.importorskip("pty")

CSI = re.compile(r"\x1b\[(\??)([0-9;]*)([A-Za-z])")


def screen(data: str, cols: int) -> list:
    """The lines a terminal of ``cols`` columns shows after ``data`` (enough of VT100 for
    rich: \\r, \\n, cursor up/down/column, erase line; colours and cursor hiding ignored)."""
    lines: list = [[]]
    row = col = 0
    i = 0
    while i < len(data):
        m = CSI.match(data, i)
        if m:
            private, arg, cmd = m.groups()
            n = int(arg) if arg.isdigit() else 1
            if not private:
                if cmd == "A":
                    row = max(0, row - n)
                elif cmd == "B":
                    row += n
                elif cmd == "G":
                    col = n - 1
                elif cmd == "K":
                    while len(lines) <= row:
                        lines.append([])
                    lines[row] = lines[row][:col] if arg in ("", "0") else [" "] * col
            i = m.end()
            continue
        ch = data[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
        elif ch >= " ":
            if col >= cols:
                row, col = row + 1, 0
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = ch
            col += 1
    return ["".join(x).rstrip() for x in lines]


def run_colour(args: list, cols: int) -> str:
    """All that ``paraminspect ARGS`` wrote to a terminal of ``cols`` columns, in colour."""
    code, out = run_in_pty(args, cols, colour=True)
    assert code == 0, out[-2000:]
    return out


@pytest.mark.parametrize("cols", [80, 120])
def test_train_leaves_no_progress_bar_behind(cols):
    raw = run_colour(["train", "--shared", "--seed", "1", "--epochs", "3"], cols)
    assert "━" in raw  # the bar was drawn ...
    shown = screen(raw, cols)
    assert not [
        line for line in shown if "━" in line or line.startswith("training")
    ]  # ... and is gone
    headings = [line for line in shown if line.startswith("epoch ")]
    assert len(headings) == 3, shown
    assert all(re.fullmatch(r"epoch \d, step \d+: loss \S+ \(data set \S+\)", h) for h in headings)
    assert not any(re.search(r"\d:\d\d:\d\d\S", line) for line in shown)  # nothing glued on
    assert all(len(line) <= cols for line in shown)
