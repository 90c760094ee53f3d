"""Converters of our own, for ops MXNet's exporter refuses or gets wrong.

They are installed in the exporter's registry only while a conversion runs
(:func:`own_converters`), so importing MXNet's exporter elsewhere sees its own rules.

- ``UpSampling`` with ``sample_type='bilinear'``: the exporter raises NotImplementedError.
  MXNet computes it as a grouped ``Deconvolution`` of its weight input (no bias), with
  kernel ``2 * scale - scale % 2``, stride ``scale``, padding ``ceil((scale - 1) / 2)`` and
  one group per channel (src/operator/nn/upsampling.cc); ONNX's ``ConvTranspose`` with the
  same numbers computes the same thing. ``nearest`` stays with the exporter.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Dict, Iterator, List, Tuple


def _bilinear_upsampling(original: Callable[..., Any]) -> Callable[..., Any]:
    def convert(node: Dict[str, Any], **kwargs: Any) -> Any:
        attrs = node.get("attrs", {})
        if attrs.get("sample_type", "nearest") != "bilinear":
            return original(node, **kwargs)
        from onnx import helper

        name = node["name"]
        lookup = kwargs["outputs_lookup"]
        inputs = [lookup[i][o].name for i, o, *_ in node["inputs"]]
        scale = int(float(attrs.get("scale", 1)))
        kernel = int(2 * scale - scale % 2)
        pad = math.ceil((scale - 1) / 2.0)
        groups = int(attrs.get("num_filter", 0))
        return [
            helper.make_node(
                "ConvTranspose",
                inputs[:2],  # data, weight (num_filter, 1, k, k); the op has no bias
                [name],
                name=name,
                kernel_shape=[kernel, kernel],
                strides=[scale, scale],
                pads=[pad, pad, pad, pad],
                group=groups,
            )
        ]

    return convert


_OWN: Tuple[Tuple[str, Callable[[Callable[..., Any]], Callable[..., Any]]], ...] = (
    ("UpSampling", _bilinear_upsampling),
)


@contextlib.contextmanager
def own_converters() -> Iterator[None]:
    """Our converters in MXNet's exporter registry (opsets 12 and 13) while it runs."""
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph

    saved: List[Tuple[Dict[str, Any], str, Any]] = []
    for opset in (12, 13):
        table = MXNetGraph.registry_.setdefault(opset, {})
        for op, wrap in _OWN:
            original = table.get(op) or MXNetGraph.registry_.get(12, {}).get(op)
            if original is None:
                continue
            saved.append((table, op, table.get(op)))
            table[op] = wrap(original)
    try:
        yield
    finally:
        for table, op, before in reversed(saved):
            if before is None:
                table.pop(op, None)
            else:
                table[op] = before
