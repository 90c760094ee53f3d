"""The diagnose package stays numpy-only: importing it pulls in no MXNet, rich or click."""

from __future__ import annotations

import subprocess
import sys


def test_diagnose_imports_no_mxnet_rich_or_click():
    code = (
        "import sys\n"
        "import paraminspect.diagnose.triage, paraminspect.diagnose.graph\n"
        "print(sorted(m for m in ('mxnet', 'rich', 'click') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
