"""Nothing wider than the terminal (issue 23, item 2), the lines a table does not lay out:
click's own parse errors in a real terminal, a `run` step's heading, a shape in a note, and
output piped with no COLUMNS (80 columns, as a terminal of unknown width gets)."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys

import pytest
from click.testing import CliRunner

from paraminspect._text import phrase_lines
from tests.conftest import run_in_pty

pty = pytest.importorskip("pty")


def in_terminal(args: list, cols: int) -> tuple:
    """(exit code, lines) of ``paraminspect ARGS`` run in a pseudo-terminal of ``cols``
    columns: stdout and stderr are that terminal, as a user's are."""
    code, text = run_in_pty(args, cols)
    return code, text.replace("\r\n", "\n").rstrip("\n").splitlines()


PARSE_ERRORS = [
    (["show", "--nope"], "Error: No such option '--nope'.", "(Did you mean one of: "),
    (["--nope"], "Error: No such option '--nope'.", None),
    (["diff", "mlp"], "Error: Missing argument 'B'.", None),
    (["show", "--format", "xml"], "Error: Invalid value for '--format': 'xml' is not", None),
    (["init", "--method", "bogus"], "Error: Invalid value for '--method': unknown", "xavier"),
    (["shw"], "Error: No such command 'shw'.", "Did you mean 'show'?"),
]


@pytest.mark.parametrize(
    "args, problem, fix", PARSE_ERRORS, ids=[" ".join(a) for a, _, _ in PARSE_ERRORS]
)
def test_click_parse_errors_fit_80_columns_and_keep_exit_2(args, problem, fix):
    code, lines = in_terminal(args, 80)
    assert code == 2, lines
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].startswith("Usage: paraminspect") and "--help' for help." in lines[1]
    error = lines[lines.index("") + 1 :]
    assert error[0].startswith(problem), error
    assert "Traceback" not in "\n".join(lines)
    if fix:
        assert fix in "\n".join(error[1:]) or fix in error[0], error


def test_click_error_in_a_pipe_stays_on_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "paraminspect", "show", "--nope"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="80"),
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].startswith("Error: No such option '--nope'. (Did")


@pytest.mark.parametrize(
    "text, width, lines",
    [
        # a shape is never broken inside ...
        (
            "PReLU: 33 slopes reshaped from (C,) to (C, 1, 1) to broadcast over the channels",
            42,
            ["PReLU: 33 slopes reshaped from (C,) to", "(C, 1, 1) to broadcast over the channels"],
        ),
        (
            "input data (1, 3, 112, 112) float32, drawn from U(0, 1)",
            22,
            ["input data", "(1, 3, 112, 112)", "float32, drawn from", "U(0, 1)"],
        ),
        ("values [1.5e-44, 0] stored", 16, ["values", "[1.5e-44, 0]", "stored"]),
        # ... unless it alone is wider than the line
        ("shape (1, 3, 112, 112)", 10, ["shape", "(1, 3,", "112, 112)"]),
        # a parenthesised phrase is prose, not a tuple: it breaks at its commas
        (
            "(not shown at 80 columns: shape, size, init)",
            30,
            ["(not shown at 80 columns:", "shape, size, init)"],
        ),
    ],
)
def test_phrase_lines_keeps_tuples_whole(text, width, lines):
    assert phrase_lines(text, width) == lines


def test_export_note_keeps_the_prelu_shape_whole(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from paraminspect.cli import cli
    from tests.model import kinds

    export = kinds.build("prelu", tmp_path / "kinds")
    seen = set()
    for width in (80, 72, 64, 56):
        args = ["export", export.symbol, str(tmp_path / f"p{width}.onnx"), *export.input_args()]
        r = CliRunner().invoke(cli, args, env={"COLUMNS": str(width)}, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert all(len(line) <= width for line in lines), (width, lines)
        note = [line for line in lines if "(C, 1" in line or "1, 1)" in line]
        assert note and all("(C, 1, 1)" in line for line in note), (width, lines)
        seen.add(
            next(i for i, line in enumerate(lines) if "PReLU:" in line) != lines.index(note[0])
        )
    assert seen == {False, True}  # the note was wrapped at some widths, and the shape stayed


def test_run_step_heading_fits_80_columns_with_its_rule():
    from paraminspect.cli import cli

    r = CliRunner().invoke(cli, ["run", "chapter4_2"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    # every stage heading ends in a rule that carries (the end of) its label
    assert not [line for line in lines if re.fullmatch(r"─+", line)], lines
    step3 = next(i for i, line in enumerate(lines) if line.startswith("step 3: "))
    assert lines[step3] == ("step 3: init xavier(rnd_type=uniform, factor_type=avg, magnitude=3)")
    assert re.fullmatch(r"on select 'dense0_weight' ─+", lines[step3 + 1])
    assert len(lines[step3 + 1]) == 80
    headings = [line for line in lines if re.match(r"step \d: .* ─+$", line)]
    assert len(headings) == 4  # steps 1, 2, 4 and 5 fit on one line
    # a stage's "name: init, ..." list breaks between its pairs, never inside one
    assert not [line for line in lines if re.search(r"_(weight|bias):$", line)], lines
    assert "dense0_weight: uniform(scale=0.07), dense0_bias: zero," in lines


def _piped(args: list, **env: str) -> str:
    e = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    e.update(env, NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "paraminspect", *args],
        capture_output=True,
        text=True,
        env=e,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout


def test_piped_output_is_80_columns_unless_columns_says_otherwise():
    args = ["show", "shared", "--seed", "0"]
    plain = _piped(args)
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert "(not shown at 80 columns: dtype (all float32), grad_req (all write);" in plain
    wide = _piped(args, COLUMNS="130")
    assert "not shown" not in wide and " dtype " in wide
    assert max(len(line) for line in wide.splitlines()) > 80
    narrow = _piped(args, COLUMNS="60")
    assert max(len(line) for line in narrow.splitlines()) <= 60
    # JSON has no width
    assert json.loads(_piped([*args, "--format", "json"])) == json.loads(
        _piped([*args, "--format", "json"], COLUMNS="40")
    )


def test_an_error_fits_the_terminal_stderr_is_when_stdout_is_a_pipe():
    """`paraminspect show --nope | less` in a 100-column terminal: the error (on stderr, the
    terminal) fits 100 columns, not the 80 a pipe gets."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    long_value = "not_a_number_" * 5
    proc = subprocess.run(
        [sys.executable, "-m", "paraminspect", "show", "--seed", long_value],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=dict(env, NO_COLOR="1", TERM="xterm"),
        timeout=120,
    )
    os.close(slave)
    err = b""
    while select.select([master], [], [], 1)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    lines = err.decode().replace("\r\n", "\n").rstrip("\n").splitlines()
    assert proc.returncode == 2 and proc.stdout == b""
    error = lines[lines.index("") + 1 :]
    assert error[0].startswith("Error: Invalid value for '--seed':") and len(error) == 2, lines
    assert max(map(len, error)) > 80 and all(len(line) <= 100 for line in lines), lines
