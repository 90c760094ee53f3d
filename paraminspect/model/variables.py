"""Which variables of an exported graph are parameters, which are inputs, which are labels.

- **Parameters** are the variables whose names appear in the params file (``arg:``/``aux:``
  prefixes stripped), together with the variables that feed some op at a parameter slot
  (``weight``, ``bias``, ``gamma``, ``beta``, ``moving_mean``, ``moving_var``,
  ``parameters`` or any auxiliary slot, as the op itself names its inputs), directly or
  through ops that only pass them on (a fused RNN's weights pass through Reshape and
  ``_rnn_param_concat``). Without a params file the slot rule alone decides.
- **Labels**: what a loss op (``SoftmaxOutput``, ``_contrib_CTCLoss``, ...) reads after its
  data is an input, never a parameter.
- **Inputs** are the other variables.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

from paraminspect.model.graph import PASS_OPS, Graph, GraphNode, strip_prefix

PARAM_SLOTS = frozenset(
    {"weight", "bias", "gamma", "beta", "moving_mean", "moving_var", "parameters"}
)
# Ops whose every input is data (their slot names say so too; this is the fallback when
# MXNet cannot build the op alone to ask it).
_ALL_DATA_OPS = frozenset(
    {
        "elemwise_add",
        "elemwise_sub",
        "elemwise_mul",
        "elemwise_div",
        "_plus",
        "_minus",
        "_mul",
        "_div",
        "_Plus",
        "_Minus",
        "_Mul",
        "_Div",
        "broadcast_add",
        "broadcast_sub",
        "broadcast_mul",
        "broadcast_div",
        "Concat",
        "concat",
        "add_n",
        "ElementWiseSum",
        "stack",
        "dot",
        "batch_dot",
        "where",
        "_grad_add",
    }
)
# Loss ops that back-propagate their own gradient and ignore the one they are given
OWN_GRADIENT_LOSS_OPS = frozenset(
    {
        "SoftmaxOutput",
        "Softmax",
        "LinearRegressionOutput",
        "LogisticRegressionOutput",
        "MAERegressionOutput",
        "SVMOutput",
        "MakeLoss",
        "make_loss",
    }
)
# Loss heads: every input after the data (a label, CTC's lengths) is fed, not learned.
LOSS_OPS = OWN_GRADIENT_LOSS_OPS | frozenset(
    {"_contrib_CTCLoss", "_contrib_ctc_loss", "CTCLoss", "ctc_loss"}
)

_SlotKey = Tuple[str, Tuple[Tuple[str, str], ...]]
_slot_cache: Dict[_SlotKey, Optional[Tuple[Tuple[str, ...], int]]] = {}


def _slot_names(node: GraphNode) -> Optional[Tuple[Tuple[str, ...], int]]:
    """The op's input names and how many of them are arguments (the rest are aux states)."""
    import mxnet as mx

    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("__")}
    key = (node.op, tuple(sorted(attrs.items())))
    if key not in _slot_cache:
        try:
            atomic = getattr(mx.sym, node.op)(name="n", **attrs)
            args = [a[2:] for a in atomic.list_arguments()]
            aux = [a[2:] for a in atomic.list_auxiliary_states()]
            _slot_cache[key] = (tuple(args + aux), len(args))
        except Exception:  # an op MXNet cannot build alone: fall back to slot positions
            _slot_cache[key] = None
    return _slot_cache[key]


def parameter_names(graph: Graph, file_names: Optional[Iterable[str]] = None) -> Set[str]:
    """The variables that are parameters (see the module docstring).

    Args:
        graph: the read graph.
        file_names: the keys of the params file, with or without ``arg:``/``aux:``.
    """
    names = {v.name for v in graph.variables}
    params = {strip_prefix(n) for n in file_names or ()} & names
    consumers: Dict[int, List[Tuple[GraphNode, int]]] = {}
    for node in graph.ops:
        for slot, (src, _out) in enumerate(node.inputs):
            consumers.setdefault(src, []).append((node, slot))

    def feeds_param_slot(node: GraphNode, slot: int, seen: int = 0) -> bool:
        if node.op in PASS_OPS and seen < 8:  # follow a reshaped weight to its user
            return any(feeds_param_slot(n, s, seen + 1) for n, s in consumers.get(node.index, ()))
        slots = _slot_names(node)
        if slots is not None and slot < len(slots[0]):
            return slots[0][slot] in PARAM_SLOTS or slot >= slots[1]
        return slot > 0 and node.op not in _ALL_DATA_OPS and node.op not in LOSS_OPS

    for var in graph.variables:
        if any(feeds_param_slot(n, s) for n, s in consumers.get(var.index, ())):
            params.add(var.name)
    return params


def parameter_roles(graph: Graph) -> Dict[str, str]:
    """Variable name -> the op slot it first feeds (``weight``, ``bias``, ``moving_var``...).

    Fresh initialization goes by the role, so a bias named ``b`` still starts at zero.
    """
    roles: Dict[str, str] = {}
    for node in graph.ops:
        slots = _slot_names(node)
        if slots is None:
            continue
        for slot, (src, _out) in enumerate(node.inputs):
            var = graph.nodes[src]
            if var.is_variable and slot < len(slots[0]):
                roles.setdefault(var.name, slots[0][slot])
    return roles
