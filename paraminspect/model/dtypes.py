"""Parameters stored in one dtype and computed in another (float16 files on a CPU).

MXNet 1.9.1 has no float16 FullyConnected, Convolution, dot or BatchNorm on CPU (measured:
"float16 fully connected layer is currently only supported by CuDNN version", "FP16 gemm
on cpu not implemented!"), so a float16 checkpoint is computed in float32. Every float16
value is exact in float32, so the values shown are the stored ones; tables show the stored
dtype and its bytes, statistics run in float64, and ``--save`` writes the stored dtype back.
A note says where such a cast happened.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from paraminspect._text import plural

_EXACT_IN = {"float16": ("float32", "float64"), "bfloat16": ("float32", "float64")}


def cast_note(stored: Mapping[str, str], params: Mapping[str, Any]) -> List[str]:
    """Notes for parameters whose stored dtype (``stored``: name -> dtype) differs from the
    dtype they are computed in (``params``: name -> Gluon Parameter)."""
    import numpy as np

    cast: Dict[Tuple[str, str], List[str]] = {}
    for name, dtype in stored.items():
        if name not in params:
            continue
        live = np.dtype(params[name].dtype).name
        if live != dtype:
            cast.setdefault((dtype, live), []).append(name)
    notes = []
    for (dtype, live), names in cast.items():
        why = (
            "MXNet 1.9.1 has no float16 FullyConnected, Convolution or BatchNorm on CPU"
            if dtype == "float16"
            else f"the graph computes in {live}"
        )
        exact = (
            f"every {dtype} value is exact in {live}"
            if live in _EXACT_IN.get(dtype, ())
            else f"values rounded to {live}"
        )
        notes.append(
            f"{plural(len(names), 'parameter')} stored as {dtype} computed in {live} ({why}; "
            f"{exact}); tables show the stored dtype and --save writes {dtype}"
        )
    return notes


def stored_dtypes(layout: Any, params: Mapping[str, Any]) -> Dict[str, str]:
    """Name -> the stored dtype, for the parameters computed in another dtype."""
    import numpy as np

    out = {}
    for desc in layout.params:
        if desc.name in params and np.dtype(params[desc.name].dtype).name != desc.dtype:
            out[desc.name] = desc.dtype
    return out
