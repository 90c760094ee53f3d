"""``paraminspect compare MODEL OTHER.onnx``: is the ONNX file the same model?

Parameters: MXNet's (``arg:``/``aux:`` dropped, renamed by ``--map``) are matched to the
file's initializers by name, then the rest by shape (shapes equal once unit axes are
dropped; among several, the closest values). Each side is compared with the values it
computes with: a ``fix_gamma`` gamma is 1 on MXNet's side. Integer initializers and
unmatched single values are the exporter's own constants (axes, shapes, scalars), not
parameters.

Nodes: every MXNet node output, in graph order, against the ONNX tensor of the same name
(onnxruntime runs the file with those tensors as extra outputs); outputs with no tensor
of that name are listed as unmatched. Both sides use one match rule (see
:func:`~paraminspect.actions.port.tensors.check_tensor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect._text import quote
from paraminspect.actions.port.deps import require_onnx
from paraminspect.actions.port.tensors import check_tensor, onnx_tensor_for, output_names
from paraminspect.choices import DEFAULT_ATOL, DEFAULT_RTOL
from paraminspect.errors import CheckpointError
from paraminspect.reports.port import CompareReport, Divergence, NodeCheck, ParamPair
from paraminspect.stats import tensor_stats


def read_onnx(path: str) -> Any:
    """The ModelProto in ``path``.

    Raises:
        CheckpointError: missing, a folder, or not an ONNX model.
    """
    import onnx

    from paraminspect.fileio import special_file_kind

    p = Path(path)
    special = special_file_kind(path)
    if special is not None or p.is_dir():
        raise CheckpointError(f"{quote(path)} is {special or 'a folder'}; give an .onnx file")
    if not p.is_file():
        raise CheckpointError(f"ONNX file {quote(path)} not found")
    try:
        model = onnx.load_model(str(p))
    except Exception as e:
        reason = " ".join(str(e).split())[:200] or type(e).__name__
        raise CheckpointError(f"cannot read {quote(path)} as ONNX ({reason})") from e
    if not model.graph.node:
        raise CheckpointError(f"{quote(path)} holds no ONNX graph (not an ONNX model?)")
    return model


def onnx_initializers(path: str) -> Dict[str, np.ndarray]:
    """Every initializer of the file as a numpy array, by name, through the weights reader
    every command reads ``.onnx`` files with (bfloat16 arrives as float32)."""
    from paraminspect.weights.onnx import OnnxReader

    with OnnxReader(path) as reader:
        return {e.key: reader.read(e) for e in reader.entries}


def _squeezed(shape: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def match_parameters(
    mxnet: Mapping[str, np.ndarray],
    onnx: Mapping[str, np.ndarray],
    maps: Sequence[str],
    rtol: float,
    atol: float,
) -> List[ParamPair]:
    """Pairs by name (``diff``'s key matching: the same key, ``--map``, ``arg:``/``aux:``
    dropped), then by shape; then what is on one side only (see the module doc)."""
    from paraminspect.weights.match import match_keys, parse_maps

    pairs: Dict[str, ParamPair] = {}
    free = dict(onnx)
    for pair in match_keys(list(mxnet), list(onnx), parse_maps(maps)):
        if pair.a is None or pair.b is None:
            continue
        how = "map" if pair.how == "map" else "name"
        pairs[pair.a] = _pair(pair.a, pair.b, how, mxnet[pair.a], free.pop(pair.b), rtol, atol)
    floats = {k: v for k, v in free.items() if v.dtype.kind == "f" and v.size > 1}
    for key, value in mxnet.items():
        if key in pairs:
            continue
        same = [k for k, v in floats.items() if _squeezed(v.shape) == _squeezed(value.shape)]
        if not same:
            continue
        best = min(same, key=lambda k: _distance(value, floats[k]))
        pairs[key] = _pair(key, best, "shape", value, floats.pop(best), rtol, atol)
    out = [pairs[k] for k in mxnet if k in pairs]
    out += [
        ParamPair(k, None, "mxnet only", tuple(v.shape), None, None)
        for k, v in mxnet.items()
        if k not in pairs
    ]
    out += [ParamPair(None, k, "onnx only", None, tuple(v.shape), None) for k, v in floats.items()]
    return out


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    x = np.asarray(a, np.float64).reshape(-1)
    y = np.asarray(b, np.float64).reshape(-1)
    return float(np.max(np.abs(x - y))) if x.size else 0.0


def _pair(
    key: str, other: str, how: str, a: np.ndarray, b: np.ndarray, rtol: float, atol: float
) -> ParamPair:
    check = check_tensor(key, other, a, b, rtol, atol)
    return ParamPair(key, other, how, tuple(a.shape), tuple(b.shape), check)


def _node_reads(frozen: Any) -> Dict[str, Tuple[str, Tuple[str, ...]]]:
    """MXNet node name -> (its op, the parameters it reads directly)."""
    doc = frozen.graph
    nodes = doc["nodes"]
    out = {}
    for node in nodes:
        if node["op"] == "null":
            continue
        reads = tuple(
            nodes[i]["name"]
            for i, *_ in node["inputs"]
            if nodes[i]["op"] == "null" and nodes[i]["name"] in frozen.params
        )
        out[node["name"]] = (node["op"], reads)
    return out


Values = Dict[str, np.ndarray]


def compare_nodes(
    frozen: Any, model: Any, rtol: float, atol: float
) -> Tuple[List[NodeCheck], Values, Values, Optional[str]]:
    """Every MXNet node output against the ONNX tensor holding it, in graph order.

    A file onnxruntime refuses or fails on is compared as far as a copy pruned to the
    first nodes runs (the reason is returned; later nodes have no check).

    Returns:
        (the checks, MXNet's values by output name, the ONNX values by tensor name,
        onnxruntime's reason when the whole file does not run).
    """
    from paraminspect.actions.port.convert import node_outputs
    from paraminspect.actions.port.runtime import mxnet_values, values_until_failure

    produced = {out for node in model.graph.node for out in node.output if out}
    known = output_names(model)
    listed = [(name, out) for _, name, outs in node_outputs(frozen.symbol) for out in outs]
    tensors = {out: onnx_tensor_for(out, produced, known) for _, out in listed}
    heads, ends = frozen.symbol.list_outputs(), [o.name for o in model.graph.output]
    if len(heads) == len(ends):  # a file named otherwise: its outputs are still the heads
        for head, end in zip(heads, ends):
            if tensors.get(head) is None and end not in tensors.values():
                tensors[head] = end
    mine = mxnet_values(frozen, [out for _, out in listed])
    wanted = list(dict.fromkeys(t for t in tensors.values() if t is not None))
    theirs, error = values_until_failure(model, frozen.arrays, wanted)
    reads = _node_reads(frozen)
    checks = []
    for name, out in listed:
        tensor = tensors[out]
        check = None
        if tensor is not None and tensor in theirs:
            check = check_tensor(out, tensor, mine[out], theirs[tensor], rtol, atol)
        op, used = reads.get(name, ("?", ()))
        checks.append(NodeCheck(name, op, out, check, used, tensor))
    return checks, mine, theirs, error


def first_divergence(
    params: List[ParamPair],
    nodes: List[NodeCheck],
    outputs: Tuple[Values, Values],
    values: Tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]],
) -> Optional[Divergence]:
    """Where the port first differs: a node in graph order (with the differing parameter
    it reads), else a parameter alone; with both sides' statistics there."""
    differing = {p.name: p for p in params if p.differs}
    for n in nodes:
        if n.check is None or n.check.matches:
            continue
        parameter = next((r for r in n.reads if r in differing), None)
        a, b = outputs[0][n.output], outputs[1][n.check.onnx_name or ""]
        return Divergence(n.node, parameter, tensor_stats(a), tensor_stats(b))
    if differing:
        p = next(iter(differing.values()))
        mine, theirs = values
        assert p.name is not None and p.onnx_name is not None
        return Divergence(
            None, p.name, tensor_stats(mine[p.name]), tensor_stats(theirs[p.onnx_name])
        )
    return None


def compare(
    model: Any,
    onnx_path: str,
    inputs: Optional[Mapping[str, Any]] = None,
    load: Any = None,
    maps: Sequence[str] = (),
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    seed: Optional[int] = None,
) -> CompareReport:
    """Compare ``model`` (any MODEL, or a live Block with ``inputs``) with an ONNX file.

    Raises:
        MissingExtraError: onnx/onnxruntime are not installed.
        CheckpointError: the ONNX file cannot be read.
        BuildError, OptionError, SpecError: the model cannot be built or run.
    """
    require_onnx("compare")
    from paraminspect.actions.port.export import port_fields
    from paraminspect.actions.port.frozen import freeze

    onnx_model = read_onnx(onnx_path)
    frozen = freeze(model, inputs, load, seed)
    mine = frozen.used_params()
    theirs = onnx_initializers(onnx_path)
    params = match_parameters(mine, theirs, maps, rtol, atol)
    nodes, mx_out, onnx_out, error = compare_nodes(frozen, onnx_model, rtol, atol)
    first = first_divergence(params, nodes, (mx_out, onnx_out), (mine, theirs))
    return CompareReport(
        **port_fields(model, frozen, rtol, atol),
        onnx_path=onnx_path,
        parameters=tuple(params),
        nodes=tuple(nodes),
        first_divergence=first,
        onnx_error=error,
    )
