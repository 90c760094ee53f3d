"""A live Gluon Block: its Layout, by symbolic inference or by one real forward pass.

Layers are every child block at every depth, containers included (as torchinfo shows
them), in depth-first order: ``path`` joins the child names (``features.4.0.body.1``), as
Gluon numbers them (``net[3]`` is path ``3``), and ``depth`` is 0 for the root's children.
The root itself is a layer (path ``''``) only when it registers parameters of its own. The
``act`` child of a ``Dense``/``Conv*(activation=...)`` is not a layer: its parent's output
is taken after it, so the parent's row measures it (its ``activation``). A layer's
``params`` are the parameters it registers itself (not its children's), so a parameter
shared with ``params=other.params`` lists both blocks as users and a container lists none;
each tensor appears once in ``Layout.params``, in ``collect_params()`` order, under the
name ``collect_params`` gives it.

Output shapes come from forward hooks: :func:`describe_block` calls the block on
``mx.sym.var`` inputs (HybridBlocks only; no weight is allocated) and infers every
internal shape; :func:`measure_block` runs one real forward pass on zeros, and traces the
symbols as well for the children a hybridized parent runs inside its cached graph (their
hooks do not fire). A block called twice keeps its first output shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Dict, List, Mapping, Optional

from paraminspect._text import quote
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.graph import mxnet_reason, quiet_stdout
from paraminspect.model.inputs import format_shape, load_npy
from paraminspect.model.layout import InputDesc, LayerDesc, Layout, ParamDesc, Shape
from paraminspect.model.macs import rnn_macs
from paraminspect.model.sources._common import DEFAULT_INIT, USER_INIT, init_text

if TYPE_CHECKING:
    import mxnet as mx

_CONV = frozenset({"Conv1D", "Conv2D", "Conv3D", "Dense"})
_DECONV = frozenset({"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"})


@dataclass
class _Node:
    path: str
    depth: int
    block: Any
    out: Optional[Shape] = None
    inp: Optional[Shape] = None
    out_sym: Optional[str] = None  # symbolic mode: name of the output's first internal output
    in_sym: Optional[str] = None
    seen: bool = False


def walk_blocks(net: Any) -> List[_Node]:
    """Every child block at every depth, depth-first (see the module docstring)."""
    nodes: List[_Node] = []
    if net._reg_params:
        nodes.append(_Node("", 0, net))

    def visit(block: Any, prefix: str, depth: int) -> None:
        for key, child in block._children.items():
            if own_activation(block, key, child):
                continue  # measured on its parent's row: the parent's output is after it
            path = f"{prefix}.{key}" if prefix else str(key)
            nodes.append(_Node(path, depth, child))
            visit(child, path, depth + 1)

    visit(net, "", 0)
    return nodes


def own_activation(parent: Any, key: str, child: Any) -> bool:
    """The ``act`` child of a ``Dense``/``Conv*(activation=...)``: part of its parent (whose
    output is taken after it), not a layer of its own (``net[i]`` is the Dense)."""
    kind = type(parent).__name__
    return (
        key == "act"
        and (kind in _CONV or kind in _DECONV)
        and getattr(parent, "act", None) is child
    )


def _first(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _activation(block: Any) -> Optional[str]:
    act = getattr(block, "_act_type", None)
    if act is None and getattr(block, "act", None) is not None:
        act = getattr(block.act, "_act_type", None)
    return str(act) if act is not None else None


def _macs(block: Any, node: _Node, shapes: Mapping[int, Shape]) -> int:
    kind = type(block).__name__
    if any(c.__name__ == "_RNNLayer" for c in type(block).__mro__):
        # a fused rnn.GRU/LSTM/RNN: the RNN op it runs (model/graph.py's count)
        if node.inp is None or len(node.inp) != 3:
            return 0
        return rnn_macs(
            block._mode,
            block._hidden_size,
            block._num_layers,
            block._dir,
            block._projection_size,
            node.inp[2],
            node.inp[0] * node.inp[1],  # (N, T, C) or (T, N, C): steps x samples either way
        )
    weight = block._reg_params.get("weight")
    if weight is None or id(weight) not in shapes:
        return 0
    wshape = shapes[id(weight)]
    if len(wshape) < 2 or 0 in wshape:
        return 0
    if kind in _CONV and node.out is not None:
        return math.prod(node.out) * math.prod(wshape[1:])
    if kind in _DECONV and node.inp is not None:
        return math.prod(node.inp) * math.prod(wshape[1:])
    return 0


def _assemble(
    net: Any,
    nodes: List[_Node],
    inputs: Mapping[str, InputDesc],
    shapes: Mapping[int, Shape],
    default_init: str,
    loaded: bool,
    name: Optional[str],
    user_initialized: Collection[str] = (),
    held: bool = False,
) -> Layout:
    layers: List[LayerDesc] = []
    users: Dict[int, List[int]] = {}
    for node in nodes:
        block = node.block
        own = list(block._reg_params.values())
        index = len(layers)
        for p in own:
            users.setdefault(id(p), []).append(index)
        layers.append(
            LayerDesc(
                index=index,
                name=block.name,
                path=node.path,
                type=type(block).__name__,
                depth=node.depth,
                out_shape=node.out,
                params=tuple(p.name for p in own),
                macs=_macs(block, node, shapes),
                activation=_activation(block),
                in_shape=node.inp,
            )
        )
    import numpy as np

    params = []
    user = frozenset(user_initialized)
    for pname, p in net.collect_params().items():
        # held: the shape Gluon holds (0 for a width deferred to the first forward pass)
        shape = tuple(p.shape or ()) if held else shapes.get(id(p)) or tuple(p.shape or ())
        params.append(
            ParamDesc(
                name=pname,
                shape=tuple(int(d) for d in shape),
                dtype=np.dtype(p.dtype).name,
                grad_req=p.grad_req,
                init="loaded"
                if loaded
                else init_text(p.init, USER_INIT if pname in user else default_init),
                users=tuple(users.get(id(p), ())),
            )
        )
    return Layout(
        name=name or net.name,
        inputs=tuple(inputs.values()),
        layers=tuple(layers),
        params=tuple(params),
    )


def _hook(nodes: List[_Node], symbolic: bool) -> List[Any]:
    handles = []
    for node in nodes:

        def record(block: Any, args: Any, out: Any, node: _Node = node) -> None:
            if node.seen:
                return
            node.seen = True
            first, arg = _first(out), _first(args)
            if symbolic:
                node.out_sym = first.list_outputs()[0] if hasattr(first, "list_outputs") else None
                node.in_sym = arg.list_outputs()[0] if hasattr(arg, "list_outputs") else None
            else:
                node.out = tuple(first.shape) if hasattr(first, "shape") else None
                node.inp = tuple(arg.shape) if hasattr(arg, "shape") else None

        handles.append(node.block.register_forward_hook(record))
    return handles


@dataclass
class Trace:
    """A HybridBlock called on ``mx.sym.var`` inputs: its graph and every internal shape."""

    symbol: Any  # the output (a Group with several outputs)
    by_out: Dict[str, Shape]  # internal output name -> shape
    by_var: Dict[str, Shape]  # argument or auxiliary state name -> shape


def trace_block(
    net: Any,
    nodes: List[_Node],
    inputs: Mapping[str, InputDesc],
    source: Optional[str] = None,
) -> Optional[Trace]:
    """Call ``net`` on symbols, naming each node's output (``node.out_sym``) and setting
    ``node.out``/``node.inp`` from symbolic shape inference; no weight is allocated.

    Forward hooks fire on symbols even inside a hybridized parent (whose NDArray calls run
    its cached graph, which no child's hook sees), so this serves hybridized nets too.

    Returns:
        The trace, or None: not a HybridBlock, no inputs, or a forward that only works on
        NDArrays.

    Raises:
        OptionError: the input shapes do not fit the network.
    """
    import mxnet as mx

    if not isinstance(net, mx.gluon.HybridBlock) or not inputs:
        return None
    handles = _hook(nodes, symbolic=True)
    try:
        out = net(*[mx.sym.var(n) for n in inputs])
    except Exception:  # a hybrid_forward that only works on NDArrays: shapes unknown
        return None
    finally:
        for h in handles:
            h.detach()
    group = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    internals = group.get_internals()
    given = {n: d.shape for n, d in inputs.items()}
    try:
        with quiet_stdout():
            arg_shapes, out_shapes, aux_shapes = internals.infer_shape(**given)
    except mx.base.MXNetError as e:
        shown = " ".join(f"--input {n}={format_shape(s)}" for n, s in given.items())
        raise OptionError(
            f"{source or quote(net.name)} does not take {shown}: {mxnet_reason(e)}",
            "--input",
        ) from e
    by_out = dict(zip(internals.list_outputs(), map(tuple, out_shapes or [])))
    by_var = dict(zip(internals.list_arguments(), map(tuple, arg_shapes or [])))
    by_var.update(zip(internals.list_auxiliary_states(), map(tuple, aux_shapes or [])))
    for node in nodes:
        node.out = by_out.get(node.out_sym or "")
        node.inp = by_out.get(node.in_sym or "") or by_var.get(node.in_sym or "")
    return Trace(group, by_out, by_var)


def describe_block(
    net: Any,
    inputs: Mapping[str, InputDesc],
    default_init: str = DEFAULT_INIT,
    name: Optional[str] = None,
    source: Optional[str] = None,
) -> Layout:
    """The Layout of a Block by symbolic shape inference; no weight is allocated.

    ``source`` is how messages name the network (``'zoo:resnet18_v1'``).

    A plain (non-hybrid) Block cannot be called on symbols: its layers get
    ``out_shape=None`` and its parameters the shapes they declare (0 for deferred ones).

    Raises:
        OptionError: the input shapes do not fit the network.
    """
    nodes = walk_blocks(net)
    shapes: Dict[int, Shape] = {}
    trace = trace_block(net, nodes, inputs, source)
    if trace is not None:
        for p in net.collect_params().values():
            if p.name in trace.by_var:
                shapes[id(p)] = trace.by_var[p.name]
    return _assemble(net, nodes, inputs, shapes, default_init, False, name)


def measure_block(
    net: Any,
    inputs: Mapping[str, InputDesc],
    arrays: Optional[Mapping[str, Any]] = None,
    default_init: str = DEFAULT_INIT,
    loaded: bool = False,
    name: Optional[str] = None,
    ctx: Optional[mx.Context] = None,
    source: Optional[str] = None,
    user_initialized: Collection[str] = (),
    run: bool = True,
) -> Layout:
    """The Layout of an initialized Block from one forward pass.

    The pass is fed ``arrays[name]`` when given, the ``.npy`` file of a ``dist='file'``
    input, else zeros.

    ``user_initialized``: parameters whose values came from someone else's
    ``initialize(init)`` (the user's, a factory's): without an initializer of their own,
    their init reads ``your initialize()`` (MXNet keeps no record of ``init``), the others'
    ``default_init``.

    The pass also finishes deferred initialization, so every parameter has its data.
    With ``run=False`` (``show --before-forward``) nothing is run: the parameters keep the
    shapes Gluon holds after ``initialize()`` (0 for an input width it learns from X, as a
    spec's), and layer shapes and MACs come from symbolic inference (nothing allocated).

    Raises:
        BuildError: the forward pass fails (shapes that do not fit, a bug in the block).
    """
    import mxnet as mx

    ctx = ctx or mx.cpu()
    source = source or quote(net.name)
    nodes = walk_blocks(net)
    if not run:
        trace = trace_block(net, nodes, inputs, source)
        by_var = trace.by_var if trace is not None else {}
        inferred = {
            id(p): by_var[p.name] for p in net.collect_params().values() if p.name in by_var
        }
        return _assemble(
            net, nodes, inputs, inferred, default_init, loaded, name, user_initialized, held=True
        )
    data = []
    for n, d in inputs.items():
        if arrays is not None and n in arrays:
            data.append(mx.nd.array(arrays[n], ctx=ctx, dtype=d.dtype))
        elif d.dist == "file":
            data.append(mx.nd.array(load_npy(d, expected=d.shape), ctx=ctx, dtype=d.dtype))
        else:
            data.append(mx.nd.zeros(d.shape, ctx=ctx, dtype=d.dtype))
    handles = _hook(nodes, symbolic=False)
    try:
        with mx.autograd.predict_mode():
            out = net(*data)
        mx.nd.waitall()
    except Exception as e:
        shown = " ".join(f"--input {n}={format_shape(d.shape)}" for n, d in inputs.items())
        reason = (
            mxnet_reason(e) if isinstance(e, mx.base.MXNetError) else f"{type(e).__name__}: {e}"
        )
        raise BuildError(
            f"a forward pass of {quote(net.name)} with {shown} failed: {reason}"
        ) from e
    finally:
        for h in handles:
            h.detach()
    del out
    if any(not node.seen for node in nodes):
        # a hybridized block ran its cached graph: its children's hooks never fired
        fresh = walk_blocks(net)
        if trace_block(net, fresh, inputs, source) is not None:
            for node, traced in zip(nodes, fresh):
                if not node.seen:
                    node.out, node.inp = traced.out, traced.inp
    shapes = {id(p): tuple(p.data().shape) for p in net.collect_params().values()}
    return _assemble(net, nodes, inputs, shapes, default_init, loaded, name, user_initialized)
