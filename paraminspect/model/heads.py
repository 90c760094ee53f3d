"""The heads of an exported graph that are losses, and leaving them out when no label is given.

A graph exported for training often ends in a loss op that reads a label variable:
``SoftmaxOutput`` (``softmax_label``), the regression outputs, ``_contrib_CTCLoss``
(``label``), ``MakeLoss`` of any of them. Such a head back-propagates its own gradient
and ignores the head gradient it is given (``SoftmaxOutput``: ``softmax - onehot(label)``;
``MakeLoss``: ``grad_scale``), so whatever ``--loss`` says, the graph's own loss is what
is differentiated through it; :func:`describe_loss_heads` says so for the report.

A label whose shape the graph cannot infer (CTC's label length is free) and that the user
did not give is left out with the heads that need it, when other heads remain (a CTC
model's prediction head): :func:`leave_out_heads` rewrites the graph without them. No
MXNet here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from paraminspect._text import plural, quote
from paraminspect.model.graph import Graph, GraphNode
from paraminspect.model.layout import LossHead
from paraminspect.model.variables import LOSS_OPS, OWN_GRADIENT_LOSS_OPS

# What each loss op back-propagates, for the loss line.
_OWN_GRADIENT = {
    "SoftmaxOutput": "softmax(x) - onehot(label), the gradient of the cross-entropy",
    "Softmax": "softmax(x) - onehot(label), the gradient of the cross-entropy",
    "LinearRegressionOutput": "x - label, the gradient of 0.5 * (x - label)^2",
    "LogisticRegressionOutput": "sigmoid(x) - label, the gradient of the logistic loss",
    "MAERegressionOutput": "sign(x - label), the gradient of |x - label|",
    "SVMOutput": "the hinge loss's gradient",
    "MakeLoss": "grad_scale (1) for each value: its input is the loss",
    "make_loss": "grad_scale (1) for each value: its input is the loss",
}


def own_gradient(head: LossHead) -> str:
    """What the head back-propagates, whatever gradient it is given."""
    return _OWN_GRADIENT.get(head.op, "its own gradient")


def _reads(graph: Graph, index: int) -> Set[int]:
    """Every node ``index`` depends on (itself included)."""
    seen: Set[int] = set()
    stack = [index]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(src for src, _ in graph.nodes[i].inputs)
    return seen


def label_variables(graph: Graph, params: Set[str]) -> Set[str]:
    """Variables a loss op reads after its data (labels, CTC lengths), unless parameters."""
    out: Set[str] = set()
    for node in graph.ops:
        if node.op not in LOSS_OPS:
            continue
        for src, _o in node.inputs[1:]:
            var = graph.nodes[src]
            if var.is_variable and var.name not in params:
                out.add(var.name)
    return out


def _loss_node(graph: Graph, node: GraphNode) -> Optional[Tuple[GraphNode, Optional[str]]]:
    """The loss op a head is (or wraps in MakeLoss/BlockGrad), with the inner op's name."""
    if node.op in ("MakeLoss", "make_loss", "BlockGrad", "stop_gradient") and node.inputs:
        inner = graph.nodes[node.inputs[0][0]]
        if inner.op in LOSS_OPS:
            return node, inner.op
        if node.op in LOSS_OPS:
            return node, None
        return None
    return (node, None) if node.op in LOSS_OPS else None


def loss_heads(graph: Graph, params: Set[str]) -> Tuple[LossHead, ...]:
    """The graph's heads that are loss ops, with the labels each reads."""
    labels = label_variables(graph, params)
    out = []
    for k, (index, _o) in enumerate(graph.heads):
        found = _loss_node(graph, graph.nodes[index])
        if found is None:
            continue
        node, inner = found
        read = sorted(
            graph.nodes[i].name
            for i in _reads(graph, index)
            if graph.nodes[i].is_variable and graph.nodes[i].name in labels
        )
        attrs = tuple(sorted((k2, str(v)) for k2, v in node.attrs.items() if k2[:2] != "__"))
        out.append(LossHead(k, node.name, node.op, inner, tuple(read), attrs))
    return tuple(out)


def leave_out_heads(
    graph: Graph, params: Set[str], missing: Set[str]
) -> Optional[Tuple[Graph, str]]:
    """The graph without the loss heads that read a ``missing`` label, when others remain.

    Returns:
        (the rewritten graph, a note saying what was left out), or None when a head that
        is not a loss needs a missing input, or no head would remain.
    """
    heads = loss_heads(graph, params)
    by_output = {h.output: h for h in heads}
    keep: List[Tuple[int, int]] = []
    dropped: List[LossHead] = []
    for k, ref in enumerate(graph.heads):
        needs = {
            graph.nodes[i].name for i in _reads(graph, ref[0]) if graph.nodes[i].is_variable
        } & missing
        if not needs:
            keep.append(ref)
        elif k in by_output and needs <= set(by_output[k].labels):
            dropped.append(by_output[k])
        else:
            return None
    if not keep or not dropped:
        return None
    labels = sorted({n for h in dropped for n in h.labels} & missing)
    note = (
        f"{plural(len(dropped), 'loss head')} left out ({', '.join(h.what for h in dropped)}): "
        f"{'it reads' if len(dropped) == 1 else 'they read'} "
        f"{', '.join(map(quote, labels))}, whose shape the graph does not store; "
        f"{plural(len(keep), 'prediction head')} {'remains' if len(keep) == 1 else 'remain'} (give "
        + " ".join(f"--input {n}=SHAPE" for n in labels)
        + " to keep the loss)"
    )
    return with_heads(graph, keep), note


def with_heads(graph: Graph, heads: List[Tuple[int, int]]) -> Graph:
    """The graph reduced to what ``heads`` read, renumbered, with its JSON text rewritten."""
    used: Set[int] = set()
    for index, _o in heads:
        used |= _reads(graph, index)
    order = sorted(used)
    new_index: Dict[int, int] = {old: new for new, old in enumerate(order)}
    doc = json.loads(graph.text)
    raw_nodes = doc["nodes"]
    nodes_json = []
    nodes: List[GraphNode] = []
    for old in order:
        raw = dict(raw_nodes[old])
        raw["inputs"] = [[new_index[r[0]], *r[1:]] for r in raw.get("inputs", [])]
        nodes_json.append(raw)
        node = graph.nodes[old]
        nodes.append(
            GraphNode(
                new_index[old],
                node.op,
                node.name,
                node.attrs,
                tuple((new_index[s], o) for s, o in node.inputs),
            )
        )
    new_heads = [(new_index[i], o) for i, o in heads]
    doc["nodes"] = nodes_json
    doc["arg_nodes"] = [i for i, n in enumerate(nodes) if n.is_variable]
    doc["heads"] = [[i, o, 0] for i, o in new_heads]
    doc.pop("node_row_ptr", None)
    return Graph(graph.path, json.dumps(doc), tuple(nodes), tuple(new_heads), graph.mxnet_version)


# Loss ops that ignore the gradient they are given and back-propagate their own
IGNORES_HEAD_GRADIENT = OWN_GRADIENT_LOSS_OPS
_VALUE_OF = {
    "SoftmaxOutput": "the cross-entropy summed over the batch",
    "Softmax": "the cross-entropy summed over the batch",
    "LinearRegressionOutput": "0.5 * sum((x - label)^2) / outputs per sample",
    "LogisticRegressionOutput": "the logistic loss summed, / outputs per sample",
    "MAERegressionOutput": "sum(|x - label|) / outputs per sample",
    "MakeLoss": "the sum of its input",
    "make_loss": "the sum of its input",
}


def _own_value(head: LossHead, y: np.ndarray, label: Optional[np.ndarray]) -> Optional[float]:
    """The loss whose gradient the head back-propagates (None: not computed here)."""
    attrs = dict(head.attrs)
    scale = float(attrs.get("grad_scale", "1"))
    norm = attrs.get("normalization", "null")
    y = y.astype(np.float64)
    batch = y.shape[0] if y.ndim else 1
    if norm not in ("null", "batch") or attrs.get("multi_output", "False") in ("True", "1"):
        return None
    if attrs.get("use_ignore", "False") in ("True", "1"):
        return None
    per = scale / (batch if norm == "batch" else 1)
    if head.op in ("MakeLoss", "make_loss"):
        return float(y.sum()) * per
    if label is None or head.op == "SVMOutput":
        return None
    lab = label.astype(np.float64)
    if head.op in ("SoftmaxOutput", "Softmax"):
        p = y.reshape(batch, -1)
        picked = p[np.arange(batch), lab.reshape(batch).astype(int)]
        return float(-np.log(np.maximum(picked, 1e-300)).sum()) * per
    outputs = y.size / batch  # regression outputs divide by the outputs per sample
    lab = lab.reshape(y.shape)
    if head.op == "LinearRegressionOutput":
        return float(0.5 * ((y - lab) ** 2).sum()) * scale / outputs
    if head.op == "MAERegressionOutput":
        return float(np.abs(y - lab).sum()) * scale / outputs
    if head.op == "LogisticRegressionOutput":  # y is sigmoid(x) already
        eps = 1e-300
        bce = -(lab * np.log(np.maximum(y, eps)) + (1 - lab) * np.log(np.maximum(1 - y, eps)))
        return float(bce.sum()) * scale / outputs
    return None


@dataclass(frozen=True)
class HeadLoss:
    """The loss value and line of a pass whose outputs include loss heads."""

    value: float
    note: str
    heads: Tuple[int, ...]  # outputs that back-propagate their own gradient


def head_loss(
    heads: Sequence[LossHead],
    outs: Sequence[np.ndarray],
    inputs: Mapping[str, np.ndarray],
    other_value: Callable[[int], float],
    other_note: str,
) -> Optional[HeadLoss]:
    """The loss value and line when some outputs are loss heads that ignore ``--loss``.

    Args:
        heads: the graph's loss heads.
        outs: every output of the pass, as numpy.
        inputs: the inputs fed, by name (the labels among them).
        other_value: output index -> the ``--loss`` value of that output.
        other_note: the ``--loss`` line, for the other outputs.

    Returns:
        None when no output is a head that back-propagates its own gradient.
    """
    own = [h for h in heads if h.op in IGNORES_HEAD_GRADIENT and h.output < len(outs)]
    if not own:
        return None
    parts = []
    value = 0.0
    skipped = []
    for h in own:
        label = inputs.get(h.labels[0]) if h.labels else None
        v = _own_value(h, outs[h.output], label)
        labels = f", label {', '.join(map(quote, h.labels))}" if h.labels else ""
        if v is None:
            skipped.append(h.what)
        else:
            value += v
        parts.append(
            f"output {h.output} ({h.what}{labels}) is a loss head: it back-propagates "
            f"{own_gradient(h)}, whatever --loss says"
            + (f"; its value is {_VALUE_OF[h.op]}" if v is not None else "")
        )
    rest = [k for k in range(len(outs)) if k not in {h.output for h in own}]
    value += sum(other_value(k) for k in rest)
    note = "; ".join(parts)
    if rest:
        which = "output" if len(rest) == 1 else "outputs"
        note += f"; {which} {', '.join(map(str, rest))}: {other_note}"
    if skipped:
        note += f"; the value leaves out {', '.join(skipped)} (not computed here)"
    return HeadLoss(value, note, tuple(h.output for h in own))
