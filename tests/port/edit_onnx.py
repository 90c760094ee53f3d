"""Change one value of an ONNX file's initializer: the broken port that `compare` finds.

``python -m tests.port.edit_onnx SRC DST NAME INDEX DELTA`` adds DELTA to value INDEX of
the initializer NAME (docs/port.md's compare block is made this way)."""

from __future__ import annotations

import sys
from typing import Any, Callable


def edit_initializer(src: Any, dst: Any, name: str, change: Callable[[Any], None]) -> None:
    """Write ``src`` to ``dst`` with ``change(value)`` applied to initializer ``name``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    found = False
    for init in model.graph.initializer:
        if init.name == name:
            value = numpy_helper.to_array(init).copy()
            change(value)
            init.CopyFrom(numpy_helper.from_array(value, name))
            found = True
    if not found:
        raise SystemExit(f"no initializer {name!r} in {src}")
    onnx.save(model, str(dst))


if __name__ == "__main__":
    src, dst, name, index, delta = sys.argv[1:6]

    def bump(value: Any) -> None:
        value.reshape(-1)[int(index)] += float(delta)

    edit_initializer(src, dst, name, bump)
