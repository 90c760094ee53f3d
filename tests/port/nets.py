"""Small graphs for the port tests, each built with mx.sym and saved by Module (so they
are real MXNet checkpoints: ``arg:``/``aux:`` keys, a -symbol.json), one per trap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Tuple

import numpy as np


def save_module(
    sym, prefix: Path, shapes: Dict[str, Tuple[int, ...]], labels=(), seed=0, edit=None
):
    """Bind ``sym`` in a Module, initialize it, optionally ``edit(arg, aux)``, and
    save_checkpoint(prefix, 0). Returns the -symbol.json path."""
    import mxnet as mx

    mx.random.seed(seed)
    data = [(n, s) for n, s in shapes.items() if n not in labels]
    label = [(n, s) for n, s in shapes.items() if n in labels]
    mod = mx.mod.Module(
        sym, data_names=[n for n, _ in data], label_names=[n for n, _ in label] or None
    )
    mod.bind(data_shapes=data, label_shapes=label or None, for_training=False)
    mod.init_params(initializer=mx.init.Uniform(0.5))
    if edit is not None:
        arg, aux = mod.get_params()
        edit(arg, aux)
        mod.set_params(arg, aux)
    mod.save_checkpoint(str(prefix), 0)
    return str(prefix) + "-symbol.json"


def prelu_net():
    import mxnet as mx

    x = mx.sym.Convolution(mx.sym.var("data"), num_filter=4, kernel=(3, 3), pad=(1, 1), name="conv")
    x = mx.sym.LeakyReLU(x, act_type="prelu", name="prelu")  # slope (4,)
    return mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool")


def slice_net():
    import mxnet as mx

    parts = mx.sym.SliceChannel(
        mx.sym.var("data"), num_outputs=5, axis=1, squeeze_axis=True, name="split"
    )
    branches = [mx.sym.FullyConnected(parts[i], num_hidden=3, name=f"branch{i}") for i in range(5)]
    return mx.sym.Concat(*branches, dim=1, name="joined")


def fix_gamma_net():
    import mxnet as mx

    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=6, name="fc")
    return mx.sym.BatchNorm(x, fix_gamma=True, name="bn")  # the symbolic op's default, written


def ctc_net(T=6, classes=5):
    import mxnet as mx

    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=T * classes, name="fc")
    scores = mx.sym.Reshape(x, shape=(-1, T, classes), name="scores")
    tnc = mx.sym.transpose(scores, axes=(1, 0, 2), name="tnc")
    loss = mx.sym.contrib.ctc_loss(tnc, mx.sym.var("label"), name="ctc")
    pred = mx.sym.BlockGrad(mx.sym.softmax(scores, axis=-1, name="probs"), name="pred")
    return mx.sym.Group([pred, mx.sym.MakeLoss(loss, name="ctc_loss")])


def softmax_net():
    import mxnet as mx

    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    return mx.sym.SoftmaxOutput(x, mx.sym.var("softmax_label"), name="softmax")


def to_v08(symbol_file: str) -> None:
    """Rewrite a -symbol.json as MXNet 0.8 wrote graphs: ``param`` for the op attributes,
    two-element input references, ``backward_source_id``, no version stamp."""
    doc = json.loads(Path(symbol_file).read_text())
    nodes = []
    for node in doc["nodes"]:
        nodes.append(
            {
                "op": node["op"],
                "param": node.get("attrs", {}) if node["op"] != "null" else {},
                "name": node["name"],
                "inputs": [[i, o] for i, o, *_ in node["inputs"]],
                "backward_source_id": -1,
            }
        )
    old = {
        "nodes": nodes,
        "arg_nodes": doc["arg_nodes"],
        "heads": [[i, o] for i, o, *_ in doc["heads"]],
    }
    Path(symbol_file).write_text(json.dumps(old, indent=2))


def mxnet_predict(symbol_file: str, inputs: Dict[str, np.ndarray]) -> list:
    """The outputs MXNet's own Gluon loader computes (an independent path: SymbolBlock)."""
    import mxnet as mx

    prefix = symbol_file[: -len("-symbol.json")]
    net = mx.gluon.SymbolBlock.imports(symbol_file, list(inputs), prefix + "-0000.params")
    out = net(*[mx.nd.array(v) for v in inputs.values()])
    return [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def onnx_run(path: str, inputs: Dict[str, np.ndarray]) -> list:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.astype(np.float32) for k, v in inputs.items()})
