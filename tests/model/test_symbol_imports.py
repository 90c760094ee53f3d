"""``grad`` on an exported graph imports no spec machinery (benchmarks/README:
``grad --stats`` on MobileFaceNet against a raw SymbolBlock script). pydantic and PyYAML
cost ~0.1 s at start-up and only a YAML spec needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, needs_shared_data

SYMBOL = SHARED_DATA / "mobilefacenet-symbol.json"


@pytest.mark.skipif(not SYMBOL.is_file(), reason=needs_shared_data(SYMBOL.name))
def test_grad_on_a_graph_skips_pydantic_and_yaml():
    command = "grad"
    # the commands end with os._exit after running the atexit handlers: report from one
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('LOADED ' + repr(sorted(\n"
        "    m for m in ('pydantic', 'yaml', 'paraminspect.model.plan') if m in sys.modules\n"
        ")) + '\\n'))\n"
        "from paraminspect.cli import main\n"
        f"main([{command!r}, {str(SYMBOL)!r}, '--input', 'data=1x3x112x112', '--stats'])\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stderr.splitlines(), out.stderr[-2000:]
