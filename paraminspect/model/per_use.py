"""Per-use gradients of a parameter that several graph nodes read.

MXNet accumulates one gradient per variable: every node that reads a shared weight adds
its part into the same buffer. To see each part, the graph is rewritten so that each use
reads its own copy of the variable (``W`` read by ``fc0``, ``fc1``, ``fc2`` becomes
``W__use0``, ``W__use1``, ``W__use2``, each holding W's values); one forward and backward
pass of the rewritten graph on the same inputs and targets gives each copy's gradient,
and by the chain rule those add up to the shared gradient. A Gluon HybridBlock is first
traced into its graph (``net(mx.sym.var(...))``), so the same method serves Blocks.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from paraminspect.model.mxlog import load_symbol

USE = "{name}__use{k}"
SHARE_RTOL = 1e-5  # float32 sums in a different order differ by a few ulps, not more


def split_uses(symbol_json: str, shared: Sequence[str]) -> Tuple[str, Dict[str, List[str]]]:
    """Rewrite a graph so that every read of a ``shared`` variable reads its own copy.

    Returns:
        (the new graph's JSON, variable -> the names of the consuming nodes, in graph order;
        copy ``k`` of ``name`` is ``name__use{k}`` and feeds the k-th of them).
    """
    graph = json.loads(symbol_json)
    nodes = graph["nodes"]
    wanted = {i for i, n in enumerate(nodes) if n["op"] == "null" and n["name"] in shared}
    consumers: Dict[int, List[Tuple[int, int]]] = {i: [] for i in wanted}
    for j, node in enumerate(nodes):
        for slot, ref in enumerate(node.get("inputs", [])):
            if ref[0] in wanted:
                consumers[ref[0]].append((j, slot))
    new_nodes: List[Dict[str, Any]] = []
    new_index: Dict[int, int] = {}
    copies: Dict[Tuple[int, int], int] = {}  # (consumer node, slot) -> its copy's index
    users: Dict[str, List[str]] = {}
    for i, node in enumerate(nodes):
        if i in wanted:
            name = node["name"]
            users[name] = [nodes[j]["name"] for j, _ in consumers[i]]
            for k, use in enumerate(consumers[i]):
                copy = dict(node, name=USE.format(name=name, k=k), inputs=[])
                copies[use] = len(new_nodes)
                new_nodes.append(copy)
            continue
        node = dict(node)
        node["inputs"] = [
            [copies[(i, slot)], 0, 0] if ref[0] in wanted else [new_index[ref[0]], *ref[1:]]
            for slot, ref in enumerate(node.get("inputs", []))
        ]
        new_index[i] = len(new_nodes)
        new_nodes.append(node)
    out = {
        "nodes": new_nodes,
        "arg_nodes": [k for k, n in enumerate(new_nodes) if n["op"] == "null"],
        "heads": [[new_index[h[0]], *h[1:]] for h in graph["heads"]],
        "attrs": graph.get("attrs", {}),
    }
    return json.dumps(out), users


def use_gradients(
    symbol: Any,
    input_names: Sequence[str],
    params: Mapping[str, Any],
    shared: Sequence[str],
    xs: Sequence[Any],
    loss_of: Any,
    train_mode: bool,
) -> Dict[str, List[Tuple[str, Any]]]:
    """Each shared variable -> ``[(consuming node, gradient of its copy), ...]``.

    Args:
        symbol: the network's graph (a Symbol).
        input_names: its data inputs, in the order ``xs`` feeds them.
        params: every parameter by name -> its Gluon Parameter (values copied, not moved).
        shared: the variables read by several nodes.
        xs: the input arrays.
        loss_of: outputs (a list of NDArrays) -> the scalar loss NDArray.
        train_mode: ``autograd.record(train_mode=...)``, as the accumulated pass ran.
    """
    import warnings

    import mxnet as mx
    from mxnet import autograd

    text, users = split_uses(symbol.tojson(), shared)
    rewritten = load_symbol(text)
    from paraminspect.model.graph import quiet_stdout

    with warnings.catch_warnings(), quiet_stdout():  # MXNet prints infer_type errors
        warnings.simplefilter("ignore", UserWarning)
        block = mx.gluon.SymbolBlock(rewritten, [mx.sym.var(n) for n in input_names])
    own = block.collect_params()
    values: Dict[str, Any] = {}
    for name, p in params.items():
        values[name] = p.data()
    for pname, param in own.items():
        base = pname.split("__use")[0] if "__use" in pname else pname
        param.shape = values[base].shape
        param.initialize(mx.init.Zero())
        param.set_data(values[base])
        param.grad_req = params[base].grad_req
        if "__use" in pname:
            param.grad_req = "write"
    with autograd.record(train_mode=train_mode):
        out = block(*xs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        value = loss_of(outs)
    value.backward(train_mode=train_mode)  # as recorded: the default (True) is wrong after predict
    return {
        name: [(node, own[USE.format(name=name, k=k)].grad()) for k, node in enumerate(nodes)]
        for name, nodes in users.items()
    }
