"""Loss heads left out of a port: the file holds what the model predicts.

A graph saved for training ends in loss heads that read labels: ``SoftmaxOutput``,
the regression outputs, ``CTCLoss``, ``MakeLoss``. In prediction MXNet runs the first kind
as plain functions of their data (softmax, sigmoid, identity), so those heads become that
function and their label input goes; ``CTCLoss`` and ``MakeLoss`` compute nothing but the
loss, so they are dropped. When every head of the graph is dropped, the data the first
one reads (through any stack of loss ops) becomes the output: a CTC model's class scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

# loss op -> what prediction computes from its data input (None: nothing; the head goes)
LOSS_OPS: Dict[str, Optional[str]] = {
    "SoftmaxOutput": "softmax",
    "Softmax": "softmax",  # SoftmaxOutput's old name, still in 0.8-era graphs
    "LinearRegressionOutput": "identity",
    "MAERegressionOutput": "identity",
    "SVMOutput": "identity",
    "LogisticRegressionOutput": "sigmoid",
    "_contrib_CTCLoss": None,
    "_contrib_ctc_loss": None,
    "CTCLoss": None,
    "ctc_loss": None,
    "MakeLoss": None,
    "make_loss": None,
}


@dataclass(frozen=True)
class DroppedHead:
    """A loss head left out: its node name, op, and what (if anything) replaced it."""

    name: str
    op: str
    kept_as: Optional[str]  # 'softmax', 'sigmoid', 'identity', or None (dropped)

    def describe(self) -> str:
        if self.kept_as is None:
            return f"{self.name} ({self.op}): dropped"
        return f"{self.name} ({self.op}): its label dropped, the output is {self.kept_as}(data)"


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _prediction_nodes(node: Dict[str, Any], rank: Optional[int]) -> List[Dict[str, Any]]:
    """The nodes that compute ``node``'s prediction; the last one keeps its name."""
    name, data, attrs = node["name"], node["inputs"][0], node.get("attrs", {})
    kind = LOSS_OPS[node["op"]]
    if kind == "identity":
        return [{"op": "_copy", "name": name, "attrs": {}, "inputs": [data]}]
    if kind == "sigmoid":
        return [{"op": "sigmoid", "name": name, "attrs": {}, "inputs": [data]}]
    if _true(attrs.get("multi_output", False)):
        axis = "1"  # one distribution per position, over the channel axis
    elif _true(attrs.get("preserve_shape", False)):
        axis = "-1"
    elif rank == 2:
        axis = "1"
    else:  # SoftmaxOutput flattens each instance, then gives the data's shape back
        flat = {"op": "Flatten", "name": f"{name}_flat", "attrs": {}, "inputs": [data]}
        soft = {"op": "softmax", "name": f"{name}_soft", "attrs": {"axis": "1"}, "inputs": []}
        back = {"op": "reshape_like", "name": name, "attrs": {}, "inputs": [data]}
        return [flat, soft, back]
    return [{"op": "softmax", "name": name, "attrs": {"axis": axis}, "inputs": [data]}]


def drop_loss_heads(
    graph_json: str, ranks: Mapping[str, int]
) -> Tuple[str, Tuple[DroppedHead, ...]]:
    """The graph with its loss heads replaced by predictions or left out.

    Args:
        graph_json: ``Symbol.tojson()`` (MXNet has upgraded old formats by then).
        ranks: ``NODE_output`` -> the number of axes, where shape inference knew it.

    Returns:
        (the new graph's JSON, the heads changed, in head order).
    """
    doc = json.loads(graph_json)
    nodes: List[Dict[str, Any]] = doc["nodes"]
    heads: List[List[int]] = doc["heads"]
    kept: List[List[int]] = []
    dropped: List[DroppedHead] = []
    fallback: Optional[List[int]] = None
    for head in heads:
        node = nodes[head[0]]
        if node["op"] not in LOSS_OPS:
            kept.append(head)
            continue
        kind = LOSS_OPS[node["op"]]
        if kind is None:
            ops = [node["op"]]
            ref = node["inputs"][0] if node["inputs"] else None
            while ref is not None and nodes[ref[0]]["op"] in LOSS_OPS:
                inner = nodes[ref[0]]
                ops.append(inner["op"])
                ref = inner["inputs"][0] if inner["inputs"] else None
            dropped.append(DroppedHead(node["name"], " of ".join(ops), kind))
            if fallback is None and ref is not None and nodes[ref[0]]["op"] != "null":
                fallback = list(ref)
            continue
        dropped.append(DroppedHead(node["name"], node["op"], kind))
        data_ref = node["inputs"][0]
        producer = nodes[data_ref[0]]["name"]
        rank = ranks.get(f"{producer}_output")
        built = _prediction_nodes(node, rank)
        first = len(nodes)
        for i, new in enumerate(built):
            if not new["inputs"] or (i == len(built) - 1 and len(built) > 1):
                new["inputs"] = [[first + i - 1, 0, 0], *new["inputs"]]
            nodes.append(new)
        kept.append([len(nodes) - 1, 0, 0])
    if not kept and fallback is not None:
        kept.append(fallback)
    doc["heads"] = kept
    doc.pop("node_row_ptr", None)
    return json.dumps(doc), tuple(dropped)
