"""Check a parsed ``-symbol.json`` completely before MXNet sees it.

MXNet's graph loader trusts its input: a node input that names output 1,000,000 of a
one-output node reads stray memory or ends the process with a segmentation fault, and
ill-typed values surface as C++ tracebacks. :func:`check_document` finds every such
problem first and names it as a one-line :class:`~paraminspect.errors.SpecError`:

- the document: nesting at most :data:`MAX_DEPTH` levels; ``nodes`` and ``heads`` lists;
  ``arg_nodes`` and ``node_row_ptr`` lists of integers in range; ``attrs`` an object whose
  ``mxnet_version`` is ``["int", N]``;
- every node: an object with a string ``op`` and ``name``, attributes a map of strings to
  strings, an op this MXNet registers (``Custom`` is named as such: its Python code is not
  part of the graph), control-flow subgraphs checked the same way;
- every reference (a node input, a head): ``[node, output]`` or ``[node, output, version]``
  of integers, the node earlier in the graph (any node for a head), the output one that node
  has (variables have one; an op's count is asked of MXNet for that op alone);
- every variable: a ``__shape__`` of integers with fewer than 2^31 elements (MXNet 1.x
  indexes arrays with 32-bit integers), a ``__dtype__`` MXNet knows, an ``__init__`` naming
  an initializer that can be created and run.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

from paraminspect._text import did_you_mean, quote
from paraminspect.errors import SpecError

MAX_DEPTH = 64  # a real graph nests 5 levels, each control-flow subgraph 4 more
MAX_ELEMENTS = 2**31 - 1  # MXNet 1.x (without large-tensor support) indexes with int32
MAX_VERSION = 10**7  # MXNet writes 10901 for 1.9.1
# MXNet's dtype codes (mshadow): float32, float64, float16, uint8, int32, int8, int64,
# bool, int16, uint16, uint32, uint64, bfloat16
DTYPE_CODES = frozenset(range(13))

Problem = Callable[[str], SpecError]


def nesting_depth(doc: Any) -> int:
    """How deep lists and objects nest in ``doc`` (a scalar: 0), without recursion."""
    deepest = 0
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Sequence[Any] = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((c, depth + 1) for c in children)
    return deepest


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_document(doc: Any, bad: Problem) -> None:
    """Check a parsed graph document without MXNet; ``bad(what)`` makes the error for one
    problem. :func:`check_ops` does the rest, with MXNet.

    Raises:
        SpecError: the first problem found.
    """
    depth = nesting_depth(doc)
    if depth > MAX_DEPTH:
        raise bad(f"it nests more than {MAX_DEPTH} levels deep (an exported graph nests 5)")
    _check_graph(doc, bad, "")
    top_attrs = doc.get("attrs", {})
    if top_attrs is not None and not isinstance(top_attrs, dict):
        raise bad(f"its 'attrs' is a {type(top_attrs).__name__}, not an object")
    version = (top_attrs or {}).get("mxnet_version")
    if version is not None:
        ok = (
            isinstance(version, list)
            and len(version) == 2
            and version[0] == "int"
            and _is_int(version[1])
            and 0 <= version[1] <= MAX_VERSION
        )
        if not ok:
            raise bad(
                f'its mxnet_version {json.dumps(version)[:60]} is not ["int", N] with N the '
                "MXNet version (10901 for 1.9.1)"
            )


def _check_graph(doc: Any, bad: Problem, where: str) -> None:
    """One graph level: the top document, or a control-flow subgraph (``where`` says which)."""
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("nodes"), list)
        or not isinstance(doc.get("heads"), list)
    ):
        raise bad(f"no 'nodes' and 'heads' lists at the top level{where}")
    nodes = doc["nodes"]
    if not nodes:
        raise bad(f"it has no nodes{where}")
    for i, raw in enumerate(nodes):
        _check_node(i, raw, nodes, bad, where)
    for ref in doc["heads"]:
        _check_ref(ref, len(nodes), nodes, bad, f"a head{where}")
    for key in ("arg_nodes", "node_row_ptr"):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(_is_int(v) and v >= 0 for v in value):
            raise bad(f"its '{key}'{where} is not a list of non-negative integers")
    for index in doc.get("arg_nodes") or ():
        if index >= len(nodes) or nodes[index].get("op") != "null":
            raise bad(f"its arg_nodes{where} lists {index}, which is not a variable node")
    _check_reachable(doc, bad, where)
    row_ptr = doc.get("node_row_ptr")
    if row_ptr and (len(row_ptr) != len(nodes) + 1 or row_ptr != sorted(row_ptr)):
        raise bad(f"its node_row_ptr{where} does not match its {len(nodes)} nodes")


def _check_reachable(doc: Dict[str, Any], bad: Problem, where: str) -> None:
    """Every node feeds an output: MXNet writes only those, and drops the others when it
    loads a graph, so a node nothing reads would describe weights the net does not have."""
    nodes = doc["nodes"]
    seen: Set[int] = set()
    stack = [ref[0] for ref in doc["heads"]]
    while stack:
        index = stack.pop()
        if index in seen:
            continue
        seen.add(index)
        stack.extend(ref[0] for ref in nodes[index].get("inputs", []))
    unused = [i for i in range(len(nodes)) if i not in seen]
    if unused:
        first = nodes[unused[0]]
        raise bad(
            f"{len(unused)} node(s){where} feed no output, first node {unused[0]} "
            f"({first['name'][:60]}); MXNet writes only the nodes its outputs read"
        )


def node_attrs(raw: Dict[str, Any]) -> Any:
    """A node's attributes under the key its MXNet version used (attrs, attr, param)."""
    for key in ("attrs", "attr", "param"):
        if key in raw:
            return raw[key]
    return None


def _check_node(i: int, raw: Any, nodes: List[Any], bad: Problem, where: str) -> None:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not isinstance(raw.get("op"), str)
    ):
        raise bad(f"node {i}{where} has no 'op' and 'name'")
    label = f"node {i} ({raw['name'][:60]}){where}"
    attrs = node_attrs(raw)
    if attrs is not None and not (
        isinstance(attrs, dict) and all(isinstance(v, str) for v in attrs.values())
    ):
        raise bad(f"{label} has attributes that are not a map of strings to strings")
    inputs = raw.get("inputs", [])
    if not isinstance(inputs, list):
        raise bad(f"{label} has 'inputs' that are not a list")
    for ref in inputs:
        _check_ref(ref, i, nodes, bad, label, reads=True)
    if raw["op"] == "null" and inputs:
        raise bad(f"{label} is a variable with inputs")
    if raw["op"] == "null":
        _check_variable(label, attrs or {}, bad)
    subgraphs = raw.get("subgraphs")
    if subgraphs is not None:
        if not isinstance(subgraphs, list):
            raise bad(f"{label} has 'subgraphs' that are not a list")
        for k, sub in enumerate(subgraphs):
            _check_graph(sub, bad, f" in subgraph {k} of {label}")


def _check_ref(
    ref: Any, limit: int, nodes: List[Any], bad: Problem, label: str, reads: bool = False
) -> None:
    """``[node, output]`` or ``[node, output, version]``: integers, the node before
    ``limit``; the output index is checked against the node's outputs later."""
    what = f"{label} reads" if reads else label
    shown = json.dumps(ref)[:60]
    if (
        not isinstance(ref, list)
        or not 1 <= len(ref) <= 3
        or not all(_is_int(v) for v in ref)
        or any(v < 0 for v in ref)
    ):
        raise bad(f"{what} {shown}: a reference is [node, output] of non-negative integers")
    if ref[0] >= limit:
        where = "not before it" if reads else f"points at no node of the {len(nodes)}"
        raise bad(f"{what} node {ref[0]}, {where}" if reads else f"{what} {shown} {where}")
    out = ref[1] if len(ref) > 1 else 0
    target = nodes[ref[0]]
    if out and isinstance(target, dict) and target.get("op") == "null":
        raise bad(f"{what} output {out} of variable node {ref[0]}, which has one output")


def _parse_shape(text: str) -> Optional[List[int]]:
    body = text.strip().strip("()[]").strip()
    if not body:
        return []
    try:
        return [int(p) for p in body.split(",") if p.strip()]
    except ValueError:
        return None


def _check_variable(label: str, attrs: Dict[str, str], bad: Problem) -> None:
    if "__shape__" in attrs:
        shape = _parse_shape(attrs["__shape__"])
        if shape is None or any(d < -1 for d in shape):
            raise bad(f"{label} declares __shape__ {attrs['__shape__'][:60]!r}, not integers")
        known = [d for d in shape if d > 0]
        if known and math.prod(known) > MAX_ELEMENTS:
            raise bad(
                f"{label} declares __shape__ {attrs['__shape__'][:60]} of "
                f"{math.prod(known):,} elements, past MXNet's limit of 2^31 - 1 "
                f"({MAX_ELEMENTS:,}) elements per array"
            )
    if "__dtype__" in attrs:
        code = attrs["__dtype__"].strip()
        if not (code.isdigit() and int(code) in DTYPE_CODES):
            raise bad(f"{label} declares __dtype__ {code[:20]!r}, not a dtype MXNet knows")


# ----------------------------------------------------------------------- ops (MXNet)


def registered_ops() -> Set[str]:
    """Every operator name this MXNet registers (its C registry, ~1,200 names)."""
    import ctypes

    from mxnet.base import _LIB, check_call, py_str

    size = ctypes.c_uint()
    names = ctypes.POINTER(ctypes.c_char_p)()
    check_call(_LIB.MXListAllOpNames(ctypes.byref(size), ctypes.byref(names)))
    return {py_str(names[i]) for i in range(size.value)}


def op_outputs(op: str, attrs: Dict[str, str]) -> int:
    """How many outputs ``op`` with these attributes has, asked of MXNet for the op alone
    (no graph is loaded: nothing references anything yet).

    Raises:
        mxnet.base.MXNetError: MXNet refuses the attributes.
    """
    import ctypes

    from mxnet.base import _LIB, SymbolHandle, c_str, c_str_array, check_call, mx_uint

    handle = ctypes.c_void_p()
    check_call(_LIB.NNGetOpHandle(c_str(op), ctypes.byref(handle)))
    keys = [k for k in attrs if not k.startswith("__")]
    symbol = SymbolHandle()
    check_call(
        _LIB.MXSymbolCreateAtomicSymbol(
            handle,
            mx_uint(len(keys)),
            c_str_array(keys),
            c_str_array([attrs[k] for k in keys]),
            ctypes.byref(symbol),
        )
    )
    try:
        count = mx_uint()
        check_call(_LIB.MXSymbolGetNumOutputs(symbol, ctypes.byref(count)))
        return int(count.value)
    finally:
        check_call(_LIB.NNSymbolFree(symbol))


def _mxnet_line(error: BaseException) -> str:
    """The informative line of an MXNet error (no timestamps or stack)."""
    for line in str(error).splitlines():
        line = re.sub(r"\[\d\d:\d\d:\d\d\]\s*\S+:\d+:\s*", "", line.strip())
        line = re.sub(r"^MXNetError:\s*", "", line)
        if line and not line.startswith(("Stack trace", "File ", "Traceback")):
            return line[:200]
    return type(error).__name__


def check_ops(doc: Dict[str, Any], bad: Problem) -> None:
    """The checks that ask MXNet (after :func:`check_document`, before the graph is given
    to MXNet): every op registered here and not ``Custom``; every output a reference names,
    one its node has; every variable's ``__init__`` an initializer that runs."""
    import mxnet as mx

    nodes = doc["nodes"]
    known = registered_ops()
    for i, node in enumerate(nodes):
        op = node["op"]
        label = f"node {i} ({node['name'][:60]})"
        if op == "null":
            attrs = node_attrs(node) or {}
            if attrs.get("__init__") is not None:
                _check_init(label, attrs["__init__"], _parse_shape(attrs.get("__shape__", "")), bad)
            continue
        if op in known and op != "Custom":
            continue
        if op == "Custom":
            op_type = (node_attrs(node) or {}).get("op_type", "?")
            raise bad(
                f"{label} is a Custom operator (op_type {op_type!r}): its Python code is not "
                "part of the graph, so this MXNet cannot run it"
            )
        raise bad(
            f"{label} uses op {quote(op[:60])}, which this MXNet ({mx.__version__}) does not "
            f"have{did_you_mean(op, sorted(known))}"
        )
    wanted: Dict[int, int] = {}
    for ref in [r for node in nodes for r in node.get("inputs", [])] + doc["heads"]:
        if len(ref) > 1 and ref[1] > 0 and nodes[ref[0]]["op"] != "null":
            wanted[ref[0]] = max(wanted.get(ref[0], 0), ref[1])
    for index, highest in sorted(wanted.items()):
        node = nodes[index]
        label = f"node {index} ({node['name'][:60]})"
        try:
            count = op_outputs(node["op"], node_attrs(node) or {})
        except mx.base.MXNetError as e:
            raise bad(f"{label} (op {node['op']}): {_mxnet_line(e)}") from None
        if highest >= count:
            raise bad(
                f"the graph reads output {highest} of {label}, which has "
                f"{count} output{'s' if count != 1 else ''} (op {node['op']})"
            )


def _check_init(label: str, init: str, shape: Optional[List[int]], bad: Problem) -> None:
    """``zeros``, ``["normal", {"sigma": 0.01}]``: an initializer MXNet can create, and run
    on the variable's declared shape when it is fully known and small (some initializers
    take only some shapes: bilinear wants 4 dimensions)."""
    import mxnet as mx

    try:
        if init.lstrip().startswith("["):
            name, kwargs = json.loads(init)
            if not isinstance(name, str) or not isinstance(kwargs, dict):
                raise ValueError("not [name, {arguments}]")
            initializer = mx.init.create(name, **kwargs)
        else:
            initializer = mx.init.create(init)
        if shape and all(d > 0 for d in shape) and math.prod(shape) <= 2**20:
            initializer(mx.init.InitDesc("check_weight"), mx.nd.zeros(tuple(shape)))
            mx.nd.waitall()
    except Exception as e:  # the registry asserts, constructors raise anything
        detail = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise bad(
            f"{label} has __init__ {init[:80]!r}, which MXNet cannot use ({detail}); known "
            "initializers: see paraminspect init --list"
        ) from None
