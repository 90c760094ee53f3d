"""An exported MXNet graph (``-symbol.json``): read it safely, walk it, describe it.

Reading: the file must be JSON holding an object with ``nodes`` and ``heads`` lists whose
input references point at earlier nodes; anything else is a one-line :class:`SpecError`
naming the file and what to do.

Walking the graph:

- **Parameters** and **inputs**: see :mod:`paraminspect.model.variables` (the params
  file's names, then the op slots). **Auxiliary states** are what MXNet lists as such
  (BatchNorm's moving mean/var); they get ``grad_req='null'``. A parameter that only passes
  through a Reshape or ``_rnn_param_concat`` (a fused RNN) belongs to the op it reaches.
- **Inputs**: a variable created with ``shape=`` stores it as
  ``__shape__``; that shape is used when the user gives none.
- **Layers**: one :class:`LayerDesc` per op node that writes an activation: every op but
  the ones that only carry parameters to their user (a Reshape of a weight), activations,
  residual adds, crops and softmax included, so their outputs are measured too. The type
  is the op name, the name and path the node name, depth 0. An op with several outputs
  (``SliceChannel`` into 5) has one row per output: the first under the node's name, the
  others (``output_index`` k) under MXNet's name for them, ``NAME_outputK``, so each
  output's shape and memory count.
- **MACs** (multiply-accumulates over the batch): see :mod:`paraminspect.model.macs`.
- A parameter read by several nodes (an unrolled RNN reuses one weight per time step) lists
  every one of them as a user.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

from paraminspect._text import quote
from paraminspect.errors import OptionError, SpecError
from paraminspect.fileio import special_file_kind
from paraminspect.model.graph_check import MAX_DEPTH, check_document, check_ops, node_attrs
from paraminspect.model.layout import InputDesc, LayerDesc, Layout, ParamDesc, Shape
from paraminspect.model.macs import MAC_OPS, node_macs

if TYPE_CHECKING:
    import mxnet as mx

_ACTIVATION_OPS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}  # ops without act_type
# Ops a parameter passes through on its way to the op that uses it: Gluon's fused
# rnn.GRU/rnn.LSTM reshape every weight and concatenate them into the RNN op's
# ``parameters`` slot.
PASS_OPS = frozenset({"Reshape", "reshape", "_rnn_param_concat", "Cast", "amp_cast"})


def strip_prefix(name: str) -> str:
    """``arg:conv0_weight`` -> ``conv0_weight`` (old Module checkpoints prefix their keys)."""
    return name.split(":", 1)[1] if name.startswith(("arg:", "aux:")) else name


@dataclass(frozen=True)
class GraphNode:
    """One node of the JSON graph."""

    index: int
    op: str  # 'null' for a variable
    name: str
    attrs: Dict[str, str]
    inputs: Tuple[Tuple[int, int], ...]  # (node index, output index)

    @property
    def is_variable(self) -> bool:
        return self.op == "null"


@dataclass(frozen=True)
class Graph:
    """A graph read from a ``-symbol.json`` file, checked but not yet given to MXNet."""

    path: str
    text: str
    nodes: Tuple[GraphNode, ...]
    heads: Tuple[Tuple[int, int], ...]
    mxnet_version: Optional[int]

    @property
    def variables(self) -> List[GraphNode]:
        return [n for n in self.nodes if n.is_variable]

    @property
    def ops(self) -> List[GraphNode]:
        return [n for n in self.nodes if not n.is_variable]


def _bad(path: str, what: str) -> SpecError:
    return SpecError(
        f"{quote(path)} is not an MXNet graph: {what}; give the -symbol.json that "
        "HybridBlock.export or Module.save_checkpoint wrote"
    )


def read_graph(path: str | Path) -> Graph:
    """Read and check a ``-symbol.json`` file without MXNet.

    Raises:
        SpecError: missing, unreadable, not JSON, truncated, or not a graph.
    """
    path = str(path)
    file = Path(path)
    special = special_file_kind(path)
    if special is not None:
        raise SpecError(f"graph file {quote(path)} is {special}; give the path of a -symbol.json")
    if file.is_dir():
        raise SpecError(f"graph file {quote(path)} is a folder; give the path of a -symbol.json")
    if not file.is_file():
        raise SpecError(f"graph file {quote(path)} not found; give the path of a -symbol.json")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _bad(path, "it is a binary file, not JSON (a .params file?)") from None
    except OSError as e:
        raise SpecError(f"cannot read {quote(path)}: {e.strerror}") from e
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _bad(path, f"it nests more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as e:
        if not text.strip():
            raise _bad(path, "the file is empty") from e
        if e.pos >= len(text.rstrip()) - 1 or e.msg.startswith("Unterminated"):
            raise SpecError(
                f"{quote(path)} ends early at line {e.lineno} (truncated JSON); "
                "copy or export the graph again"
            ) from e
        raise _bad(path, f"not JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    check_document(doc, lambda what: _bad(path, what))
    return _graph(path, text, doc)


def graph_from_symbol(symbol: mx.sym.Symbol, name: str) -> Graph:
    """The Graph of a Symbol built in this process (a Block called on symbols): its
    ``tojson()``, which MXNet wrote, so none of a file's checks apply. ``name`` stands
    for the path in messages."""
    text = symbol.tojson()
    return _graph(name, text, json.loads(text))


def _graph(path: str, text: str, doc: Dict[str, Any]) -> Graph:
    # check_document (or MXNet, for graph_from_symbol) made sure of the types used here
    nodes = [
        GraphNode(i, raw["op"], raw["name"], dict(node_attrs(raw) or {}), _refs(raw.get("inputs")))
        for i, raw in enumerate(doc["nodes"])
    ]
    heads = _refs(doc["heads"])
    top_attrs = doc.get("attrs")
    version = top_attrs.get("mxnet_version") if isinstance(top_attrs, dict) else None
    mx_version = int(version[1]) if isinstance(version, list) and len(version) == 2 else None
    return Graph(path, text, tuple(nodes), tuple(heads), mx_version)


def _refs(raw: Any) -> Tuple[Tuple[int, int], ...]:
    return tuple((r[0], r[1] if len(r) > 1 else 0) for r in raw or ())


def to_symbol(graph: Graph) -> mx.sym.Symbol:
    """Give the checked graph to MXNet.

    MXNet's own "Loading symbol saved by previous version ..." log lines for graphs saved
    by an older MXNet are kept off stderr (:mod:`paraminspect.model.mxlog`); the source's
    notes say it once.

    Raises:
        SpecError: MXNet refuses the graph (unknown op, bad attribute).
    """
    import mxnet as mx

    from paraminspect.model.mxlog import load_symbol

    check_ops(json.loads(graph.text), lambda what: _bad(graph.path, what))
    try:
        return load_symbol(graph.text)
    except mx.base.MXNetError as e:
        raise SpecError(f"MXNet cannot load {quote(graph.path)}: {mxnet_reason(e)}") from e


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep MXNet's own ``print`` (infer_shape's "infer_shape error. Arguments:") off stdout.

    The core never prints; the exception that follows carries the reason.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def mxnet_reason(error: BaseException) -> str:
    """The informative line of an MXNet error (no timestamps, paths or stack trace)."""
    text = str(error)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("Stack trace", "File ")):
            continue
        line = re.sub(r"\[\d\d:\d\d:\d\d\]\s*\S+:\d+:\s*", "", line)
        line = re.sub(r"^MXNetError:\s*", "", line)
        if line:
            return line[:300]
    return text.strip()[:300] or type(error).__name__


def input_names(graph: Graph, params: Set[str]) -> List[str]:
    """The variables that are not parameters, in graph order."""
    return [v.name for v in graph.variables if v.name not in params]


def declared_shape(graph: Graph, name: str) -> Optional[Shape]:
    """The ``__shape__`` a variable was created with (``"(1, 3, 224, 224)"``), if fully known."""
    for v in graph.variables:
        if v.name == name and "__shape__" in v.attrs:
            parts = [p.strip() for p in v.attrs["__shape__"].strip("()[] ").split(",")]
            try:
                shape = tuple(int(p) for p in parts if p)
            except ValueError:
                return None
            return shape if shape and all(d > 0 for d in shape) else None
    return None


@dataclass(frozen=True)
class InferredShapes:
    """Every shape MXNet inferred from the input shapes."""

    args: Dict[str, Shape]
    aux: Dict[str, Shape]
    outputs: Dict[str, Shape]  # internal output name ('conv0_output') -> shape
    dtypes: Dict[str, str]  # argument and aux name -> dtype


def infer_shapes(
    symbol: mx.sym.Symbol,
    inputs: Mapping[str, InputDesc],
    source: str,
    known: Optional[Mapping[str, Shape]] = None,
) -> InferredShapes:
    """Infer every argument, auxiliary and internal output shape, allocating nothing.

    Args:
        known: parameter shapes from the params file, used when the inputs alone leave
            some shape unknown (a weight reshaped before its op uses it).

    Raises:
        OptionError: the input shapes do not fit the graph (wrong rank, wrong size), or
            leave some shape unknown.
    """
    import mxnet as mx

    given = {n: d.shape for n, d in inputs.items()}
    from paraminspect.model.inputs import format_shape

    shown = " ".join(f"--input {n}={format_shape(s)}" for n, s in given.items())
    internals = symbol.get_internals()
    try:
        with quiet_stdout():
            arg_shapes, out_shapes, aux_shapes = internals.infer_shape(**given)
    except mx.base.MXNetError as e:
        first: Optional[BaseException] = e
        arg_shapes = out_shapes = aux_shapes = None
    else:
        first = None
    if arg_shapes is None and known:
        args = set(internals.list_arguments())
        more = dict(
            given, **{n: tuple(s) for n, s in known.items() if n in args and n not in given}
        )
        try:
            with quiet_stdout():
                arg_shapes, out_shapes, aux_shapes = internals.infer_shape(**more)
        except mx.base.MXNetError:
            pass
    if first is not None and arg_shapes is None:
        reason = mxnet_reason(first)
        raise OptionError(f"{source} does not take {shown}: {reason}", "--input") from first
    if arg_shapes is None or out_shapes is None or aux_shapes is None:
        raise OptionError(
            f"{source}: {shown} leaves some shapes unknown; give the shape of every input",
            "--input",
        )
    try:
        with quiet_stdout():
            arg_types, _o, aux_types = symbol.infer_type(**{n: d.dtype for n, d in inputs.items()})
    except mx.base.MXNetError:
        arg_types = aux_types = None
    dtypes: Dict[str, str] = {}
    if arg_types is not None and aux_types is not None:
        import numpy as np

        for n, t in zip(symbol.list_arguments(), arg_types):
            dtypes[n] = np.dtype(t).name
        for n, t in zip(symbol.list_auxiliary_states(), aux_types):
            dtypes[n] = np.dtype(t).name
    return InferredShapes(
        args=dict(zip(internals.list_arguments(), map(tuple, arg_shapes))),
        aux=dict(zip(internals.list_auxiliary_states(), map(tuple, aux_shapes))),
        outputs=dict(zip(internals.list_outputs(), map(tuple, out_shapes))),
        dtypes=dtypes,
    )


def _output_shape(shapes: InferredShapes, graph: Graph, ref: Tuple[int, int]) -> Optional[Shape]:
    node = graph.nodes[ref[0]]
    if node.is_variable:
        return shapes.args.get(node.name) or shapes.aux.get(node.name)
    names = [f"{node.name}_output{ref[1]}"]
    if ref[1] == 0:
        names.insert(0, f"{node.name}_output")
    for n in names:
        if n in shapes.outputs:
            return shapes.outputs[n]
    return None


def output_shape(shapes: InferredShapes, graph: Graph, ref: Tuple[int, int]) -> Optional[Shape]:
    """The inferred shape of output ``ref`` (node index, output index), if known."""
    return _output_shape(shapes, graph, ref)


def graph_layout(
    graph: Graph,
    symbol: mx.sym.Symbol,
    inputs: Mapping[str, InputDesc],
    params: Set[str],
    shapes: InferredShapes,
    inits: Optional[Mapping[str, str]] = None,
    name: Optional[str] = None,
) -> Layout:
    """The Layout of a graph whose shapes were inferred.

    Args:
        graph: the read graph.
        symbol: the same graph as MXNet loaded it.
        inputs: every input with its shape.
        params: the parameter names (:func:`parameter_names`).
        shapes: :func:`infer_shapes` for those inputs.
        inits: parameter name -> how its values came about ('loaded', an initializer);
            missing names get 'default'.
        name: the network's name (defaults to the file name without ``-symbol.json``).
    """
    inits = inits or {}
    heads = {h[0] for h in graph.heads}
    layers: List[LayerDesc] = []
    users: Dict[str, List[int]] = {}
    # A pass op (Reshape, _rnn_param_concat) whose inputs are all parameters only carries
    # them to the op that uses them (a fused RNN): that op is their user, not it.
    carried: Dict[int, List[str]] = {}
    for node in graph.ops:
        out = _output_shape(shapes, graph, (node.index, 0))
        data = _output_shape(shapes, graph, node.inputs[0]) if node.inputs else None
        read: List[str] = []
        only_params = bool(node.inputs)
        for src, _o in node.inputs:
            var = graph.nodes[src]
            if var.is_variable and var.name in params:
                names = [var.name]
            elif src in carried:
                names = carried[src]
            else:
                names, only_params = [], False
            read += [n for n in names if n not in read]
        if node.op in PASS_OPS and only_params and node.index not in heads:
            carried[node.index] = read
            continue
        weight = None
        if node.op in MAC_OPS and len(node.inputs) > 1:
            weight = _output_shape(shapes, graph, node.inputs[1])
        for p in read:
            users.setdefault(p, []).append(len(layers))
        layers.append(
            LayerDesc(
                index=len(layers),
                name=node.name,
                path=node.name,
                type=node.op,
                depth=0,
                out_shape=out,
                params=tuple(read),
                macs=node_macs(node.op, out, data, weight, node.attrs),
                activation=node.attrs.get("act_type") or _ACTIVATION_OPS.get(node.op),
                in_shape=data,
            )
        )
        k = 1
        while f"{node.name}_output{k}" in shapes.outputs:  # the other outputs of the op
            layers.append(
                LayerDesc(
                    index=len(layers),
                    name=node.name,
                    path=f"{node.name}_output{k}",
                    type=node.op,
                    depth=0,
                    out_shape=shapes.outputs[f"{node.name}_output{k}"],
                    params=(),
                    in_shape=data,
                    output_index=k,
                )
            )
            k += 1
    aux = set(symbol.list_auxiliary_states())
    order = [a for a in symbol.list_arguments() if a in params]
    order += list(symbol.list_auxiliary_states())
    descs = []
    for p in order:
        shape = shapes.args.get(p) or shapes.aux.get(p) or ()
        descs.append(
            ParamDesc(
                name=p,
                shape=tuple(shape),
                dtype=shapes.dtypes.get(p, "float32"),
                grad_req="null" if p in aux else "write",
                init=inits.get(p, "default"),
                users=tuple(users.get(p, ())),
            )
        )
    input_descs = tuple(inputs[n] for n in input_names(graph, params) if n in inputs)
    if name is None:
        name = Path(graph.path).name
        name = re.sub(r"(-symbol)?\.json$", "", name)
    return Layout(name=name, inputs=input_descs, layers=tuple(layers), params=tuple(descs))


def variable_init(graph: Graph, name: str) -> Optional[Any]:
    """The ``__init__`` attribute of a variable (``'["one", {}]'``), if any."""
    for v in graph.variables:
        if v.name == name:
            return v.attrs.get("__init__")
    return None
