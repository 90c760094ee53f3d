"""MXNet's own C++ log lines, kept off the user's terminal.

Loading a graph saved by an older MXNet makes ``nnvm/legacy_json_util.cc`` write two lines
straight to file descriptor 2 ("[15:50:48] ../src/nnvm/legacy_json_util.cc:208: Loading
symbol saved by previous version v1.0.0. Attempting to upgrade..." and "Symbol
successfully upgraded!"), once per load: 121 characters each, twice for ``grad``. Python's
``sys.stderr`` never sees them, so :func:`load_symbol` points descriptor 2 at an anonymous
temporary file while MXNet parses the JSON, drops the upgrade lines (the model's notes say
it once: "graph saved by MXNet 1.0.0, upgraded on load") and passes anything else on.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from typing import Any, Iterator, List

from paraminspect.fileio import scratch_file

UPGRADE_LINE = re.compile(
    r"legacy_json_util\.cc:\d+: (Loading symbol saved by previous version|Symbol successfully "
    r"upgraded)"
)


def upgrade_note(version: int) -> str:
    """The one note that replaces MXNet's upgrade log lines, for a graph saved by
    ``version`` (MXNet's integer: 10000 is 1.0.0)."""
    major, minor, patch = version // 10000, version // 100 % 100, version % 100
    return f"graph saved by MXNet {major}.{minor}.{patch}, upgraded on load"


@contextlib.contextmanager
def captured_fd2(kept: List[str]) -> Iterator[None]:
    """Send what is written to file descriptor 2 meanwhile to a temporary file; after,
    append its lines to ``kept``. Where descriptor 2 cannot be redirected (no such
    descriptor), nothing is captured."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with scratch_file() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept.extend(sink.read().decode("utf-8", "replace").splitlines())


def load_symbol(text: str) -> Any:
    """``mx.sym.load_json(text)`` without MXNet's upgrade log lines (any other line it
    writes still reaches stderr)."""
    import mxnet as mx

    lines: List[str] = []
    try:
        with captured_fd2(lines):
            return mx.sym.load_json(text)
    finally:
        other = [line for line in lines if not UPGRADE_LINE.search(line)]
        if other:
            sys.stderr.write("\n".join(other) + "\n")
            sys.stderr.flush()
