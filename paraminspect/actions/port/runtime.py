"""Both runtimes on the same inputs: MXNet's executor and an onnxruntime session.

MXNet runs the symbol in prediction (``is_train=False``: BatchNorm's running statistics,
no dropout), which is what an ONNX file computes. onnxruntime gets the model as bytes, so
nothing is written; asked for tensors inside the graph, it is given them as extra graph
outputs on a copy of the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect.errors import BuildError

if TYPE_CHECKING:
    from paraminspect.actions.port.frozen import FrozenGraph


def mxnet_values(frozen: FrozenGraph, outputs: Sequence[str]) -> Dict[str, np.ndarray]:
    """The values of the symbol's internal ``outputs`` (``conv0_output``) on the inputs.

    A SymbolBlock whose outputs are those internals runs in predict mode. (An executor
    bound to them would meet oneDNN's fusion: a fused Conv+BatchNorm makes the running
    statistics arguments, and the bind fails.)

    Raises:
        BuildError: MXNet cannot run the graph (its reason in one line).
    """
    import warnings

    import mxnet as mx

    from paraminspect.model.graph import mxnet_reason, quiet_stdout

    internals = frozen.symbol.get_internals()
    group = mx.sym.Group([internals[name] for name in outputs])
    values = {**frozen.params, **frozen.arrays}
    inputs = [d.name for d in frozen.inputs]
    try:
        with warnings.catch_warnings(), quiet_stdout():
            warnings.simplefilter("ignore", UserWarning)  # "Cannot decide type"
            block = mx.gluon.SymbolBlock(
                group, [mx.sym.var(n, dtype=values[n].dtype) for n in inputs]
            )
            params = block.collect_params()
            params.load_dict(
                {n: mx.nd.array(values[n], dtype=values[n].dtype) for n in params},
                mx.cpu(),
                cast_dtype=True,
            )
            with mx.autograd.predict_mode():
                result = block(*[mx.nd.array(values[n], dtype=values[n].dtype) for n in inputs])
            result = result if isinstance(result, (list, tuple)) else [result]
            return {name: r.asnumpy() for name, r in zip(outputs, result)}
    except mx.base.MXNetError as e:
        raise BuildError(f"MXNet cannot run {frozen.label}: {mxnet_reason(e)}") from e


def onnx_session(model: Any) -> Any:
    """An onnxruntime session over ``model`` (a ModelProto), warnings off.

    Raises:
        BuildError: onnxruntime refuses the model (its reason in one line).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    # fatal only: no "initializer appears in graph inputs" warnings, and a failing node's
    # error is in the exception (and the report), not printed a second time
    options.log_severity_level = 4
    try:
        return ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:
        raise BuildError(f"onnxruntime cannot load the model: {_reason(e)}") from e


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:400] or type(error).__name__


def with_outputs(model: Any, names: Sequence[str], types: Mapping[str, int]) -> Any:
    """A copy of ``model`` whose graph also outputs the tensors ``names``."""
    from onnx import ValueInfoProto, helper

    extended = type(model)()
    extended.CopyFrom(model)
    have = {o.name for o in extended.graph.output}
    for name in names:
        if name in have:
            continue
        if name in types:
            extended.graph.output.append(helper.make_tensor_value_info(name, types[name], None))
        else:  # a type shape inference did not find: onnxruntime finds it when it runs
            extended.graph.output.append(ValueInfoProto(name=name))
    return extended


def onnx_values(
    model: Any, arrays: Mapping[str, np.ndarray], names: Sequence[str] = ()
) -> Dict[str, np.ndarray]:
    """Run ``model`` on ``arrays``; the graph outputs and the inner tensors ``names``.

    Raises:
        BuildError: onnxruntime cannot load or run it, or it wants inputs not given.
    """
    if names:
        model = with_outputs(model, names, tensor_types(model))
    session = onnx_session(model)
    wanted = [i.name for i in session.get_inputs()]
    missing = [n for n in wanted if n not in arrays]
    if missing and len(wanted) == len(arrays):
        # a file named by another tool ('input.1'): the inputs in order, as exported
        feed = {n: np.ascontiguousarray(a) for n, a in zip(wanted, arrays.values())}
    elif missing:
        raise BuildError(
            f"the ONNX model wants inputs {', '.join(missing)}, which the MXNet model does not "
            f"have (it has {', '.join(arrays)}); compare a file made from this model"
        )
    else:
        feed = {n: np.ascontiguousarray(arrays[n]) for n in wanted}
    out_names: List[str] = [o.name for o in session.get_outputs()]
    try:
        result = session.run(out_names, feed)
    except Exception as e:
        raise BuildError(f"onnxruntime cannot run the model: {_reason(e)}") from e
    return dict(zip(out_names, result))


def tensor_types(model: Any) -> Dict[str, int]:
    """Every tensor's ONNX element type that shape inference (or the graph) knows."""
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:
        inferred = model
    graph = inferred.graph
    types: Dict[str, int] = {}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        if info.type.HasField("tensor_type"):
            types[info.name] = info.type.tensor_type.elem_type
    for init in graph.initializer:
        types[init.name] = init.data_type
    return types


def pruned(model: Any, outputs: Sequence[str]) -> Any:
    """A copy of ``model`` that computes only ``outputs`` (and the nodes they need)."""
    from onnx import ValueInfoProto

    small = type(model)()
    small.CopyFrom(model)
    graph = small.graph
    needed = set(outputs)
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    del graph.output[:]
    graph.output.extend(ValueInfoProto(name=n) for n in outputs)
    types = tensor_types(model)
    for info in graph.output:
        if info.name in types:
            info.type.tensor_type.elem_type = types[info.name]
    return small


def values_until_failure(
    model: Any, arrays: Mapping[str, np.ndarray], names: Sequence[str]
) -> Tuple[Dict[str, np.ndarray], Optional[str]]:
    """The tensors ``names`` (in graph order) of a model onnxruntime may refuse or fail on.

    Returns:
        (the values, None) when the whole model runs; else the values of the longest run
        of ``names`` that a model pruned to them computes, and onnxruntime's reason.
    """
    try:
        return onnx_values(model, arrays, names), None
    except BuildError as e:
        error = str(e)
    found: Dict[str, np.ndarray] = {}
    low, high = 0, len(names)  # the longest prefix of names that runs
    while low < high:
        mid = (low + high + 1) // 2
        try:
            found = onnx_values(pruned(model, names[:mid]), arrays)
            low = mid
        except BuildError:
            high = mid - 1
    if low and len(found) != low:
        found = onnx_values(pruned(model, names[:low]), arrays)
    return found, error
