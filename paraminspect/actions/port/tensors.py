"""One tensor against another: the match rule both ``export`` and ``compare`` apply, and
how an MXNet node output is found among an ONNX file's tensors."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Optional

import numpy as np

from paraminspect.reports.port import TensorCheck


def check_tensor(
    name: str,
    onnx_name: Optional[str],
    mxnet: np.ndarray,
    onnx: np.ndarray,
    rtol: float,
    atol: float,
) -> TensorCheck:
    """``mxnet`` against ``onnx``: they match when max|a - b| <= rtol * max|mxnet| + atol.

    Shapes equal after dropping unit axes compare as equal; other shapes never match.
    NaN on either side where the other has a number is a mismatch (max_abs is inf).
    """
    a = np.asarray(mxnet, dtype=np.float64)
    b = np.asarray(onnx, dtype=np.float64)
    shape_a, shape_b = tuple(a.shape), tuple(b.shape)
    if shape_a != shape_b and _squeezed(shape_a) == _squeezed(shape_b):
        b = b.reshape(shape_a)
    scale = float(np.max(np.abs(a[np.isfinite(a)]))) if np.isfinite(a).any() else 0.0
    limit = rtol * scale + atol
    if a.shape != b.shape:
        return TensorCheck(name, onnx_name, shape_a, shape_b, None, None, scale, limit)
    both_nan = np.isnan(a) & np.isnan(b)
    same_inf = np.isinf(a) & (a == b)
    d = np.abs(a - b)
    d[both_nan | same_inf] = 0.0
    d[np.isnan(d)] = np.inf
    max_abs = float(d.max()) if d.size else 0.0
    norm_a = float(np.sqrt(np.sum(np.where(np.isfinite(a), a, 0.0) ** 2)))
    norm_d = float(np.sqrt(np.sum(np.where(np.isfinite(d), d, 0.0) ** 2)))
    rel = norm_d / norm_a if norm_a > 0 else (0.0 if norm_d == 0 else float("inf"))
    if not np.isfinite(d).all():
        rel = float("inf")
    return TensorCheck(name, onnx_name, shape_a, shape_b, max_abs, rel, scale, limit)


def _squeezed(shape: tuple) -> tuple:
    return tuple(d for d in shape if d != 1)


def output_names(model: Any) -> Dict[str, str]:
    """MXNet output name (``conv0_output``) -> the ONNX tensor holding it.

    A file ``export`` wrote says so in its metadata; for any other file, MXNet's exporter
    names a node's output after the node (``conv0``; ``split0`` + index for the outputs
    of a multi-output node), and a tensor named exactly like the MXNet output counts too.
    """
    for prop in model.metadata_props:
        if prop.key == "paraminspect.mxnet_outputs":
            try:
                by_onnx = json.loads(prop.value)
            except ValueError:
                break
            return {mx: onnx for onnx, mx in by_onnx.items()}
    return {}


def onnx_tensor_for(output: str, produced: set, known: Dict[str, str]) -> Optional[str]:
    """The ONNX tensor of MXNet output ``output``, or None (see :func:`output_names`)."""
    if output in known:
        return known[output] if known[output] in produced else None
    if output in produced:
        return output
    m = re.match(r"^(.*)_output(\d*)$", output)
    if m is None:
        return None
    base, index = m.group(1), m.group(2)
    for candidate in (base + index, base) if index else (base,):
        if candidate in produced:
            return candidate
    return None
