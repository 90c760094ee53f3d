"""Without the onnx extra: the one install line, exit 1, no traceback; and onnx is never
imported by ``--help`` or ``import paraminspect``."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("command", ["export", "compare"])
def test_without_the_extra_the_install_line(cli, monkeypatch, tmp_path, command):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    r = cli(command, "mlp", str(tmp_path / "m.onnx"))
    assert r.exit_code == 1
    assert r.output == (
        f"Error: {command} needs onnx and onnxruntime (onnxruntime is not installed); "
        "add them with: pip install '.[onnx]'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_help_and_import_do_not_import_onnx():
    code = (
        "import sys, paraminspect, paraminspect.cli\n"
        "from click.testing import CliRunner\n"
        "for cmd in ([], ['export', '--help'], ['compare', '--help']):\n"
        "    assert CliRunner().invoke(paraminspect.cli.cli, cmd + ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'mxnet') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
