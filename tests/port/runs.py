"""Independent runs for the port tests: MXNet's own loader and onnxruntime, side by side."""

from __future__ import annotations

import json
from typing import Dict, List

import numpy as np


def feed(export, seed: int = 1) -> Dict[str, np.ndarray]:
    """Data drawn for every data input, labels filled with class 1 (valid for a softmax or
    a CTC label, whose class 0 is the blank)."""
    rng = np.random.default_rng(seed)
    out = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in export.inputs.items()}
    out.update({n: np.ones(s, np.float32) for n, s in export.labels.items()})
    return out


def mxnet_outputs(export, arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """MXNet output name -> value, from ``SymbolBlock.imports`` (labels fed too)."""
    import mxnet as mx

    from tests.model import kinds

    net = kinds.raw_net(export)
    out = net(*[mx.nd.array(arrays[n]) for n in export.all_inputs])
    outs = out if isinstance(out, (list, tuple)) else [out]
    names = mx.sym.load(export.symbol).list_outputs()
    return {n: o.asnumpy() for n, o in zip(names, outs)}


def onnx_outputs(path: str, arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The file's outputs in onnxruntime, keyed by the MXNet output each one holds (the
    metadata ``export`` writes)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    names = json.loads({p.key: p.value for p in model.metadata_props}["paraminspect.mxnet_outputs"])
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    wanted = [i.name for i in session.get_inputs()]
    values = session.run(None, {n: arrays[n] for n in wanted})
    return {names[o.name]: v for o, v in zip(session.get_outputs(), values)}


def onnx_run(path: str, arrays: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """The file's outputs in onnxruntime, in its output order."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.astype(np.float32) for k, v in arrays.items()})
