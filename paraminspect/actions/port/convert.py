"""MXNet's exporter, and the passes that mend what it gets wrong (see docs/port.md).

``mx.onnx``'s converter builds the nodes; this module decides everything around it:

- **opset**: the exporter stamps the installed onnx's newest opset (21 with onnx 1.16) on
  nodes it built with opset 12/13 rules, and validates them against that newest opset; the
  graph is built and checked for the chosen opset and stamped with it (IR version 7).
- **fix_gamma**: the exporter copies a BatchNorm's stored gamma although MXNet computes
  with 1 when ``fix_gamma`` is set (the symbolic op's default); the file gets ones.
- **PReLU**: MXNet's slope has shape (C,), which ONNX broadcasts against the last axis, not
  the channels; it becomes (C, 1, ..., 1) for inputs with spatial axes.
- **names**: a multi-output node's outputs are named NODE0, NODE1, ...; a node whose
  derived names meet another node's name, or a repeated name, is renamed first, and the
  file must keep single assignment (checked). The file's metadata maps every ONNX tensor
  that holds an MXNet node output to that output's name, for ``compare``.
- **converters**: ops the exporter refuses (bilinear ``UpSampling``) have our own
  (:mod:`.converters`).
- **inputs**: weights are initializers only (not graph inputs); ``--dynamic-batch``
  names the first axis of every input and output ``N``.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Tuple

import numpy as np

from paraminspect._text import plural
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.mxlog import load_symbol

if TYPE_CHECKING:
    from paraminspect.actions.port.frozen import FrozenGraph

NAMES_KEY = "paraminspect.mxnet_outputs"  # metadata: ONNX tensor -> MXNet output name
IR_VERSION = 7  # the IR of opsets 12 and 13 (onnx 1.7/1.8): older runtimes load it
BATCH = "N"


@dataclass
class Converted:
    """An ONNX ModelProto and what was done to make it right."""

    model: Any
    fixes: List[str] = field(default_factory=list)
    names: Dict[str, str] = field(default_factory=dict)  # ONNX tensor -> MXNet output


def node_outputs(symbol: Any) -> List[Tuple[int, str, List[str]]]:
    """``(node index, node name, its output names)`` for every op node, in graph order.

    ``get_internals`` lists every node's visible outputs in node order: a variable's is its
    name, an op's are ``NODE_output``, ``NODE_output0``..., or ``NODE_state_output`` and
    such (``RNN``); all of them start with ``NODE_``.
    """
    doc = json.loads(symbol.tojson())
    outputs = symbol.get_internals().list_outputs()
    at = 0
    found = []
    for index, node in enumerate(doc["nodes"]):
        if node["op"] == "null":
            at += 1
            continue
        prefix = node["name"] + "_"
        mine = []
        while (
            at < len(outputs)
            and outputs[at].startswith(prefix)
            and outputs[at].endswith(tuple(f"output{d}" for d in ("", *map(str, range(10)))))
        ):
            mine.append(outputs[at])
            at += 1
        found.append((index, node["name"], mine))
    return found


def exporter_name(output: str, node: str, renamed: str) -> str:
    """The ONNX tensor MXNet's exporter names the output ``output`` of node ``node`` (now
    called ``renamed``): ``_output`` -> the node, ``_outputN`` -> node + N, ``_state_output``
    -> node + 1, ``_statecell_output`` -> node + 2 (its get_outputs rules)."""
    tail = output[len(node) :]
    if tail == "_output":
        return renamed
    if tail == "_state_output":
        return renamed + "1"
    if tail == "_statecell_output":
        return renamed + "2"
    m = re.match(r"^_output(\d+)$", tail)
    return renamed + m.group(1) if m else renamed + tail


_defaults_cache: Dict[str, List[str]] = {}


def _true_by_default(op: str) -> List[str]:
    """The boolean attributes of ``op`` that MXNet takes as true when a graph leaves them
    out (FullyConnected's ``flatten``, BatchNorm's ``fix_gamma``)."""
    # (``is_int`` of the scalar ops is true by default too, and the exporter never reads it)
    if op not in _defaults_cache:
        import mxnet as mx

        try:
            args = mx.operator.get_operator_arguments(op)
        except Exception:  # not a registered op name (a legacy alias): nothing to add
            args = None
        _defaults_cache[op] = (
            [
                name
                for name, kind in zip(args.names, args.types)
                if kind.startswith("boolean") and kind.endswith("default=1") and name != "is_int"
            ]
            if args is not None
            else []
        )
    return _defaults_cache[op]


def _write_defaults(nodes: List[Dict[str, Any]]) -> List[str]:
    """Write out the true-by-default booleans: the exporter reads a missing one as false."""
    filled: Dict[str, int] = {}
    for node in nodes:
        if node["op"] == "null":
            continue
        attrs = node.setdefault("attrs", {})
        for name in _true_by_default(node["op"]):
            if name not in attrs:
                attrs[name] = "True"
                key = f"{node['op']} {name}=True"
                filled[key] = filled.get(key, 0) + 1
    if not filled:
        return []
    said = ", ".join(f"{k} ({plural(n, 'node')})" for k, n in filled.items())
    return [f"defaults: MXNet's exporter reads a left-out boolean as false; written out {said}"]


def _prepared(symbol: Any) -> Tuple[Any, Dict[str, str], List[str]]:
    """The symbol with true-by-default attributes written out and nodes renamed where the
    exporter's names would clash.

    Returns:
        (symbol, ONNX tensor name -> MXNet output name for every op node output, fixes).
    """

    doc = json.loads(symbol.tojson())
    nodes = doc["nodes"]
    fixes = _write_defaults(nodes)
    taken = {n["name"] for n in nodes}
    seen: set = set()
    names: Dict[str, str] = {}
    changed = bool(fixes)
    renamed = []
    for index, name, outs in node_outputs(symbol):
        derived = [f"{name}{i}" for i in range(len(outs))] if len(outs) > 1 else []
        clash = name in seen or any(d in taken for d in derived)
        new = name
        if clash:
            k = 0
            while True:
                new = f"{name}_n{k}"
                tried = [new] + [f"{new}{i}" for i in range(len(outs))]
                if not any(t in taken for t in tried):
                    break
                k += 1
            nodes[index]["name"] = new
            renamed.append(f"{name} -> {new}")
            taken.add(new)
            changed = True
        seen.add(name)
        for out in outs:
            names[exporter_name(out, name, new)] = out
    if renamed:
        fixes.append(
            f"names: {plural(len(renamed), 'node')} renamed so every ONNX tensor is assigned "
            f"once ({', '.join(renamed[:3])}{', ...' if len(renamed) > 3 else ''})"
        )
    if changed:
        symbol = load_symbol(json.dumps(doc))
    return symbol, names, fixes


@contextlib.contextmanager
def _checker_for(opset: int) -> Iterator[None]:
    """The exporter's own ``check_graph`` judges nodes by onnx's newest opset; make it
    judge them by the opset they are built for."""
    from onnx import checker

    real = checker.check_graph

    def check_graph(graph: Any, *_: Any) -> None:
        ctx = checker.C.CheckerContext()
        ctx.ir_version = IR_VERSION
        ctx.opset_imports = {"": opset}
        real(graph, ctx)

    checker.check_graph = check_graph  # type: ignore[assignment]
    try:
        yield
    finally:
        checker.check_graph = real


def _exporter_graph(frozen: FrozenGraph, symbol: Any, params: Dict[str, Any], opset: int) -> Any:
    import mxnet as mx
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    from onnx import helper

    from paraminspect.actions.port.converters import own_converters
    from paraminspect.model.graph import mxnet_reason, quiet_stdout

    nd = {n: mx.nd.array(v, dtype=v.dtype) for n, v in params.items()}
    shapes = [d.shape for d in frozen.inputs]
    types = [helper.np_dtype_to_tensor_dtype(np.dtype(d.dtype)) for d in frozen.inputs]
    try:
        with _checker_for(opset), own_converters(), quiet_stdout():
            return MXNetGraph().create_onnx_graph_proto(
                symbol, nd, shapes, types, opset_version=opset, dynamic=False
            )
    except AttributeError as e:  # "No conversion function registered for op type X yet."
        raise BuildError(f"MXNet's exporter cannot convert {frozen.label}: {e}") from e
    except Exception as e:
        raise BuildError(
            f"MXNet's exporter failed on {frozen.label}: {type(e).__name__}: {mxnet_reason(e)}"
        ) from e


def _fix_gamma(frozen: FrozenGraph) -> Tuple[Dict[str, np.ndarray], List[str]]:
    params = dict(frozen.params)
    fixed = [g for g in frozen.fixed_gamma() if g in params]
    for gamma in fixed:
        params[gamma] = np.ones_like(params[gamma])
    notes = []
    if fixed:
        changed = [g for g in fixed if not np.all(frozen.params[g] == 1)]
        shown = ", ".join(fixed[:3]) + (", ..." if len(fixed) > 3 else "")
        stored = (
            "all stored ones already"
            if not changed
            else f"{len(changed)} of them stored other values, which MXNet ignores"
        )
        notes.append(
            f"fix_gamma: {plural(len(fixed), 'BatchNorm gamma')} ({shown}) written as ones, "
            f"as MXNet computes; {stored}"
        )
    return params, notes


def _prelu_slopes(model: Any, ranks: Dict[str, int], names: Dict[str, str]) -> List[str]:
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    changed = []
    for node in model.graph.node:
        if node.op_type != "PRelu" or len(node.input) < 2 or node.input[1] not in inits:
            continue
        init = inits[node.input[1]]
        rank = ranks.get(names.get(node.output[0], ""), 0)
        if len(init.dims) != 1 or rank <= 2:
            continue
        slope = numpy_helper.to_array(init).reshape((-1,) + (1,) * (rank - 2))
        init.CopyFrom(numpy_helper.from_array(slope, init.name))
        changed.append(init.name)
    if not changed:
        return []
    return [
        f"PReLU: {plural(len(changed), 'slope')} reshaped from (C,) to (C, 1, 1) to broadcast "
        "over the channels"
    ]


def _inputs_without_weights(model: Any) -> None:
    inits = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(keep)


def _dynamic_batch(model: Any) -> None:
    for info in [*model.graph.input, *model.graph.output]:
        dims = info.type.tensor_type.shape.dim
        if len(dims):
            dims[0].Clear()
            dims[0].dim_param = BATCH
    del model.graph.value_info[:]


def _single_assignment(model: Any) -> None:
    written: Dict[str, int] = {}
    for name in [*(i.name for i in model.graph.input), *(i.name for i in model.graph.initializer)]:
        written[name] = written.get(name, 0) + 1
    for node in model.graph.node:
        for out in node.output:
            if out:
                written[out] = written.get(out, 0) + 1
    twice = sorted(n for n, k in written.items() if k > 1)
    if twice:
        raise BuildError(
            f"the exported graph assigns {plural(len(twice), 'tensor')} more than once "
            f"({', '.join(twice[:5])}); this is a bug in the name pass, please report it"
        )


def check_opset(opset: int) -> None:
    """Raises OptionError for an opset MXNet's exporter has no rules for."""
    from paraminspect.choices import ONNX_OPSETS

    if opset not in ONNX_OPSETS:
        raise OptionError(
            f"--opset {opset} is not one MXNet's exporter has rules for; choose "
            f"{' or '.join(map(str, ONNX_OPSETS))}",
            "--opset",
        )


def to_onnx(frozen: FrozenGraph, opset: int, dynamic_batch: bool = False) -> Converted:
    """Convert ``frozen`` to an ONNX ModelProto for ``opset``, mended and checked.

    Raises:
        OptionError: an opset MXNet's exporter has no rules for.
        BuildError: the exporter cannot convert an op, or the result is not valid ONNX.
    """
    import onnx
    from onnx import helper

    check_opset(opset)
    symbol, names, fixes = _prepared(frozen.symbol)
    params, gamma_fixes = _fix_gamma(frozen)
    fixes += gamma_fixes
    graph = _exporter_graph(frozen, symbol, params, opset)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="paraminspect",
        ir_version=IR_VERSION,
    )
    from paraminspect.actions.port.frozen import output_ranks

    fixes += _prelu_slopes(model, output_ranks(frozen), names)
    _inputs_without_weights(model)
    if dynamic_batch:
        _dynamic_batch(model)
    _single_assignment(model)
    produced = {out for node in model.graph.node for out in node.output}
    names = {k: v for k, v in names.items() if k in produced}
    helper.set_model_props(model, {NAMES_KEY: json.dumps(names)})
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise BuildError(f"the exported model is not valid ONNX: {' '.join(str(e).split())}") from e
    return Converted(model, fixes, names)
