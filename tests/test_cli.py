"""The command line: exit codes, one-line errors, lazy MXNet import, golden tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import output_without_mxnet, render_to_text


def test_help_and_check_do_not_import_mxnet(tmp_path):
    output_without_mxnet(["--help"], ["show", "--help"], ["check", "shared"])


def test_check_ok(cli):
    r = cli("check", "shared")
    assert r.exit_code == 0
    assert r.output == (
        "ok: builtin:shared: 4 layers, 402 parameters (330 unique, 1.3 KiB), 1 sharing layer\n"
    )
    data = json.loads(cli("check", "mlp", "--format", "json").output)
    assert data == {
        "ok": True,
        "source": "builtin:mlp",
        "layers": 2,
        "total": 7946,
        "unique": 7946,
        "bytes": 31784,
    }


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["check", "nope"],
            1,
            "Error: spec 'nope' not found: no such file and no built-in spec of "
            "that name (built-ins: chapter4_2, deep_tanh, huge, mlp, shared)",
        ),
        (
            ["check", "mpl"],
            1,
            "Error: spec 'mpl' not found: no such file and no built-in spec of "
            "that name; did you mean 'mlp'? (built-ins: chapter4_2, deep_tanh, huge, mlp, shared)",
        ),
        (
            ["show", "--slice", "0,:a"],
            2,
            "Error: Invalid value for '--slice': cannot parse slice "
            "'0,:a': ':a' is not an integer, 'start:stop:step' or '...' (example: '0,:5')",
        ),
        (
            ["show", "--select", "(", "--values"],
            2,
            "Error: Invalid value for '--select': invalid regular expression '(': missing ), "
            "unterminated subpattern at position 0",
        ),
        (
            ["show", "--layer", "7"],
            2,
            "Error: Invalid value for '--layer': there is no layer 7: the "
            "net has 2 layers (0 to 1, or names: dense0, dense1)",
        ),
        (
            ["show", "--layer", "dense9"],
            2,
            "Error: Invalid value for '--layer': no layer is named "
            "'dense9'; did you mean 'dense1'? (names: dense0, dense1)",
        ),
        (
            ["show", "--select", "conv.*"],
            2,
            "Error: Invalid value for '--select': no parameter "
            "matches 'conv.*' (names: dense0_weight, dense0_bias, dense1_weight, dense1_bias)",
        ),
        (
            ["show", "--values", "--slice", "0,20"],
            2,
            "Error: Invalid value for '--slice': index 20 "
            "is out of range for axis 1 of dense0_weight with shape (256, 20) (valid: -20 to 19)",
        ),
        (
            ["show", "--format", "xml"],
            2,
            "Error: Invalid value for '--format': 'xml' is not one of 'table', 'json'.",
        ),
        (
            ["show", "--seed", "x"],
            2,
            "Error: Invalid value for '--seed': 'x' is not a valid integer.",
        ),
    ],
)
def test_errors(cli, args, code, message):
    r = cli(*args)
    assert r.exit_code == code
    assert r.output.strip().splitlines()[-1] == message
    assert "Traceback" not in r.output


def test_spec_file_errors(cli, tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    r = cli("check", str(d))
    assert r.exit_code == 1
    assert r.output == f"Error: {d}: is a directory; give a spec file such as {d}/mlp.yaml\n"
    b = tmp_path / "b.yaml"
    b.write_bytes(b"\x00\x01binary")
    assert cli("check", str(b)).output == f"Error: {b}: is a binary file, not a YAML spec\n"


def test_show_json_schema(cli):
    data = json.loads(cli("show", "shared", "--seed", "1", "--stats", "--format", "json").output)
    assert set(data) == {
        "command",
        "model",
        "parameters",
        "totals",
        "selection_totals",
        "sharing",
        "notes",
        "log",
        "warnings",
    }
    p = data["parameters"][2]
    assert set(p) == {"name", "shape", "dtype", "size", "grad_req", "init", "layers", "stats"}
    assert p["name"] == "shared_weight" and p["layers"] == ["1", "2"]
    assert set(p["stats"]) == {"mean", "std", "min", "max", "abs_max", "l2", "zeros", "nan", "inf"}
    assert data["totals"] == {
        "total": 402,
        "unique": 330,
        "trainable": 330,
        "non_trainable": 0,
        "bytes": 1320,
    }


def test_stats_match_numpy(cli):
    import numpy as np

    data = json.loads(cli("show", "--seed", "3", "--values", "--stats", "--format", "json").output)
    for p in data["parameters"]:
        a = np.array(p["data"], dtype=np.float64)
        s = p["stats"]
        # float32 chunk sums, combined in float64 (issue 24: within 1e-5 of float64)
        assert s["mean"] == pytest.approx(a.mean(), abs=1e-6 * a.std())
        assert s["std"] == pytest.approx(a.std(), rel=1e-6, abs=1e-15)
        assert s["l2"] == pytest.approx(np.linalg.norm(a), rel=1e-6)
        assert (s["min"], s["max"]) == (a.min(), a.max())
        assert s["zeros"] == pytest.approx((a == 0).mean())


def test_batchnorm_nontrainable_counts(cli, tmp_path):
    spec = tmp_path / "bn.yaml"
    spec.write_text("input: {shape: [4, 6]}\nlayers:\n  - {units: 5}\n  - {type: batchnorm}\n")
    data = json.loads(cli("show", str(spec), "--seed", "0", "--format", "json").output)
    assert data["totals"] == {
        "total": 55,
        "unique": 55,
        "trainable": 45,
        "non_trainable": 10,
        "bytes": 220,
    }
    grads = json.loads(
        cli("show", str(spec), "--select", ".*running_mean", "--grad", "--format", "json").output
    )
    assert grads["parameters"][0]["grad"] is None
    assert "grad_req is 'null'" in grads["parameters"][0]["grad_note"]


def test_golden_show_table(cli, golden):
    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions
    from paraminspect.render.params import print_report

    report = show(
        "shared",
        ViewOptions(stats=True, values=True, slice=":2,:4", layers=("2",), select=".*weight"),
        seed=0,
    )
    golden("show_shared.txt", render_to_text(print_report, report))


def test_inf_weights_are_counted_and_warned(tmp_path):
    from tests.conftest import run_fresh

    spec = tmp_path / "inf.yaml"
    spec.write_text(
        "input: {shape: [2, 3]}\ninit: {method: constant, value: 1.0e+39}\n"
        "layers:\n  - {units: 2}\n"
    )
    proc = run_fresh("show", str(spec), "--stats", "--format", "json")
    data = json.loads(proc.stdout)
    w = data["parameters"][0]
    assert w["stats"]["inf"] == 6 and w["stats"]["nan"] == 0 and w["stats"]["mean"] is None
    assert data["warnings"] == ["dense0_weight values: 0 NaN and 6 Inf of 6 entries"]
    assert "warning: dense0_weight values: 0 NaN and 6 Inf of 6 entries" in proc.stderr


def test_check_imports_neither_numpy_nor_rich():
    # `check` only validates: pydantic and yaml are all it needs (start-up target, issue 6).
    code = (
        "import sys\n"
        "from paraminspect.cli import main\n"
        "for args in (['check', 'shared'], ['check', 'configs/chapter4_2.yaml'],\n"
        "             ['check', 'mlp', '--format', 'json']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
        "print(sorted(m for m in ('numpy', 'rich', 'scipy', 'mxnet') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_narrow_terminal_keeps_every_digit_shown():
    """At 80 columns the statistics drop to 3 digits and the all-zero nan/inf columns go,
    so no number is cut with an ellipsis; a parameter with NaN/Inf keeps the columns."""
    import io

    from rich.console import Console

    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions
    from paraminspect.render.params import print_report

    report = show("shared", ViewOptions(stats=True), seed=0)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_report(console, report)
    text = console.file.getvalue()
    stats = text[text.index("weight statistics") : text.index("totals")]
    rows = [line for line in stats.splitlines() if line.strip().startswith(("dense", "shared"))]
    assert len(rows) == 6 and not any("…" in row for row in rows)  # a header may shorten
    assert " nan " not in stats.split("(not shown")[0]
    assert "nan (all 0), inf (all 0)" in " ".join(stats.split())  # said, not silent
    assert "-0.000586" in stats  # dense0_weight's mean (-0.0005863 at 4 digits), 3 digits
    assert all(len(line) <= 80 for line in text.splitlines())
    table = text[: text.index("weight statistics")]
    assert table.splitlines()[0].startswith("shared (builtin:shared): input (2, 20), after the")
    header = next(line for line in table.splitlines() if "parameter" in line)
    assert header.split() == ["layer", "parameter", "shape", "size", "init", "layers"]
    rows = [line.split() for line in table.splitlines() if "_weight" in line or "_bias" in line]
    # one line per parameter, nothing wrapped; the layer label is the same at every width
    assert [row[:3] for row in rows] == [
        ["0", "(dense0)", "dense0_weight"], ["0", "(dense0)", "dense0_bias"],
        ["1", "(shared)", "shared_weight"], ["1", "(shared)", "shared_bias"],
        ["3", "(dense2)", "dense2_weight"], ["3", "(dense2)", "dense2_bias"],
    ]  # fmt: skip
    assert rows[0][-2:] == ["uniform(0.07)", "0"] and rows[2][-2:] == ["1,", "2"]


def test_narrow_parameter_table_keeps_columns_that_vary(tmp_path):
    """A column that says nothing goes first at 80 columns: batch norm's running statistics
    keep grad_req (dtype, all float32, goes), and what still does not fit is named."""
    import io

    from rich.console import Console

    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions
    from paraminspect.render.params import param_table

    spec = tmp_path / "bn.yaml"
    spec.write_text(
        "input: {shape: [4, 6]}\nlayers:\n  - {units: 5, name: fc}\n  - {type: batchnorm}\n"
    )
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(param_table(show(str(spec), ViewOptions(), seed=0), 80))
    text = console.file.getvalue()
    header = next(line for line in text.splitlines() if line.split()[:1] == ["layer"])
    assert header.split() == ["layer", "parameter", "shape", "size", "grad_req"]
    assert "null" in text and "write" in text
    # the columns that do not fit are named, never dropped silently (the layer label keeps
    # its name at every width, so init goes too)
    assert "(not shown at 80 columns: dtype (all float32), init, layers;" in text


def _run(*args):
    """``python -m paraminspect ARGS`` with block-buffered stdout, as a real pipe has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-m", "paraminspect", *args], capture_output=True, text=True, env=env
    )


def test_fast_exit_after_mxnet_keeps_output_codes_and_atexit(tmp_path, cli):
    """Commands that import MXNet end with os._exit after flushing: the piped output is all
    there and equal to the in-process run, exit codes survive, atexit handlers still run."""
    args = ("show", "--values", "--stats", "--seed", "3", "--format", "json")
    proc = _run(*args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(cli(*args).stdout)
    bad = tmp_path / "bad.params"
    bad.write_bytes(b"not a parameter file")
    proc = _run("show", "--load", str(bad))  # fails after MXNet is imported
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ") and len(proc.stderr.strip().splitlines()) == 1
    marker = tmp_path / "atexit-ran"
    plugin = tmp_path / "plug.py"
    plugin.write_text(
        "import atexit, mxnet as mx\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
        "class Half(mx.init.Initializer):\n"
        "    def _init_weight(self, name, arr):\n"
        "        arr[:] = 0.5\n"
    )
    proc = _run("init", "--plugin", f"{plugin}:Half", "--select", "dense0_weight", "--stats")
    assert proc.returncode == 0, proc.stderr
    assert "0.5" in proc.stdout
    assert marker.read_text() == "yes"
