"""Small exported models of every kind real exports come in, built here with Gluon/mx.sym.

Each builder writes ``NAME-symbol.json`` and ``NAME-0000.params`` into a folder (as
``HybridBlock.export`` or ``Module.save_checkpoint`` would) and returns an :class:`Export`
saying what it wrote: the files, the data inputs with their shapes, the label inputs, and
anything a test checks against. They are tiny (a few hundred values) so that tests
building them stay fast. Shared by the graph tests and the ONNX tests.

Kinds: a hybridized fused ``rnn.GRU`` and ``rnn.LSTM`` (``_rnn_param_concat`` -> ``RNN``);
``SoftmaxOutput`` and ``_contrib_CTCLoss`` heads reading a label; ``BatchNorm`` with
``fix_gamma`` true and false; a ``SliceChannel`` with several outputs (and one into five
squeezed branches); float16 parameters;
a ``mx.mod.Module`` checkpoint with ``arg:``/``aux:`` keys; PReLU (``LeakyReLU``
``act_type='prelu'``), also rewritten in MXNet 0.8's graph format; ``UpSampling`` (nearest
and bilinear); a max-pooling CNN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

Shape = Tuple[int, ...]


@dataclass(frozen=True)
class Export:
    """What a builder wrote."""

    name: str
    symbol: str  # path of NAME-symbol.json
    params: str  # path of NAME-0000.params
    inputs: Dict[str, Shape]  # data inputs -> shape
    labels: Dict[str, Shape] = field(default_factory=dict)  # label inputs -> shape
    extra: Dict[str, Any] = field(default_factory=dict)  # what a test may want to know

    def input_args(self, labels: bool = False) -> List[str]:
        """``--input NAME=SHAPE`` for every data input (and the labels with ``labels``)."""
        shapes = dict(self.inputs, **(self.labels if labels else {}))
        out: List[str] = []
        for name, shape in shapes.items():
            out += ["--input", f"{name}={'x'.join(map(str, shape))}"]
        return out

    @property
    def all_inputs(self) -> Dict[str, Shape]:
        return dict(self.inputs, **self.labels)


def _export_block(net: Any, folder: Path, name: str, *shapes: Shape) -> Tuple[str, str]:
    """Hybridize, run once on ones (deferred shapes), export; the two paths."""
    from mxnet import nd

    net.hybridize()
    net(*[nd.ones(s, dtype=_dtype_of(net)) for s in shapes])
    stem = str(folder / name)
    net.export(stem)
    return stem + "-symbol.json", stem + "-0000.params"


def _dtype_of(net: Any) -> str:
    import numpy as np

    first = next(iter(net.collect_params().values()))
    return np.dtype(first.dtype).name


def _save_symbol(symbol: Any, arrays: Dict[str, Any], folder: Path, name: str) -> Tuple[str, str]:
    """Write a Symbol and its arrays the way ``HybridBlock.export`` does (``arg:``/``aux:``)."""
    import mxnet as mx

    stem = str(folder / name)
    symbol.save(stem + "-symbol.json")
    aux = set(symbol.list_auxiliary_states())
    mx.nd.save(
        stem + "-0000.params",
        {
            ("aux:" if k in aux else "arg:") + k: mx.nd.array(v, dtype=v.dtype)
            for k, v in arrays.items()
        },
    )
    return stem + "-symbol.json", stem + "-0000.params"


def _random_arrays(symbol: Any, seed: int, **shapes: Shape) -> Dict[str, Any]:
    """numpy values for every argument that is not an input and every aux state."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    out: Dict[str, Any] = {}
    for n, s in zip(symbol.list_arguments(), arg_shapes):
        if n not in shapes:
            out[n] = (rng.standard_normal(s) * 0.5).astype("float32")
    for n, s in zip(symbol.list_auxiliary_states(), aux_shapes):
        # running variance must be positive; running mean anything
        out[n] = (rng.uniform(0.5, 1.5, s) if "var" in n else rng.standard_normal(s) * 0.1).astype(
            "float32"
        )
    return out


# ----------------------------------------------------------------- Gluon recurrent layers


def fused_rnn(folder: Path, cell: str = "gru", seed: int = 0) -> Export:
    """``HybridSequential(rnn.GRU|rnn.LSTM(6, layout='NTC'), Dense(3))`` exported.

    Its weights reach the ``RNN`` op through Reshape and ``_rnn_param_concat``, so shape
    inference cannot find them from the data alone; the params file has them.
    """
    import mxnet as mx
    from mxnet.gluon import nn, rnn

    mx.random.seed(seed)
    layer = rnn.GRU(6, layout="NTC") if cell == "gru" else rnn.LSTM(6, layout="NTC")
    net = nn.HybridSequential(prefix=f"{cell}net_")
    with net.name_scope():
        net.add(layer, nn.Dense(3))
    net.initialize(mx.init.Uniform(0.5))
    shape = (2, 4, 5)
    symbol, params = _export_block(net, folder, cell, shape)
    return Export(cell, symbol, params, {"data": shape}, extra={"block": net})


# ----------------------------------------------------------------- loss heads


def softmax_output(folder: Path, seed: int = 0) -> Export:
    """``FullyConnected(4) -> SoftmaxOutput`` reading ``softmax_label`` (shape inferable)."""
    import mxnet as mx

    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    out = mx.sym.SoftmaxOutput(fc, name="softmax")
    shapes = {"data": (3, 5)}
    arrays = _random_arrays(out, seed, data=shapes["data"], softmax_label=(3,))
    symbol, params = _save_symbol(out, arrays, folder, "softmax")
    return Export("softmax", symbol, params, shapes, {"softmax_label": (3,)})


def ctc(folder: Path, seed: int = 0) -> Export:
    """An OCR-style head: ``FullyConnected(flatten=False)`` per time step, then two heads,
    ``softmax`` (the prediction) and ``MakeLoss(_contrib_CTCLoss(..., label))``.

    The label's shape cannot be inferred from the data (its length is free).
    """
    import mxnet as mx

    steps, batch, feats, alphabet, length = 6, 2, 5, 4, 3
    data = mx.sym.var("data")
    label = mx.sym.var("label")
    fc = mx.sym.FullyConnected(data, num_hidden=alphabet, flatten=False, name="fc1")
    pred = mx.sym.softmax(fc, axis=-1, name="pred")
    loss = mx.sym.contrib.CTCLoss(fc, label, name="ctc")
    head = mx.sym.MakeLoss(loss, name="ctcloss")
    out = mx.sym.Group([pred, head])
    shapes = {"data": (steps, batch, feats)}
    arrays = _random_arrays(fc, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "ctc")
    return Export("ctc", symbol, params, shapes, {"label": (batch, length)})


def ctc_only(folder: Path, seed: int = 0) -> Export:
    """A graph whose only head is ``_contrib_CTCLoss`` (no prediction head): the scores it
    reads, (T, N, C) from ``FullyConnected`` -> Reshape -> transpose, are the prediction."""
    import mxnet as mx

    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=12, name="fc1")
    tnc = mx.sym.transpose(mx.sym.Reshape(x, shape=(-1, 4, 3)), axes=(1, 0, 2), name="tnc")
    out = mx.sym.contrib.CTCLoss(tnc, mx.sym.var("label"), name="ctc")
    shapes = {"data": (2, 5)}
    arrays = _random_arrays(x, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "ctc_only")
    return Export("ctc_only", symbol, params, shapes, {"label": (2, 2)})


# ----------------------------------------------------------------- BatchNorm


def batchnorm(folder: Path, fix_gamma: bool, seed: int = 0) -> Export:
    """``Convolution(3, 3x3) -> BatchNorm(fix_gamma) -> relu -> FullyConnected(2)``, with a
    stored gamma far from 1 (so a test sees which one is used)."""
    import mxnet as mx

    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=3, kernel=(3, 3), name="conv0")
    bn = mx.sym.BatchNorm(conv, fix_gamma=fix_gamma, name="bn0")
    act = mx.sym.Activation(bn, act_type="relu", name="relu0")
    out = mx.sym.FullyConnected(act, num_hidden=2, name="fc0")
    shapes = {"data": (2, 2, 5, 5)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    arrays["bn0_gamma"] = (arrays["bn0_gamma"] * 0 + [0.5, 2.0, -1.5]).astype("float32")
    name = "bn_fixed" if fix_gamma else "bn_free"
    symbol, params = _save_symbol(out, arrays, folder, name)
    return Export(name, symbol, params, shapes, extra={"gamma": arrays["bn0_gamma"]})


# ----------------------------------------------------------------- several outputs


def slice_channel(folder: Path, seed: int = 0) -> Export:
    """``FullyConnected(6)`` split by ``SliceChannel`` into 3 outputs, each its own
    ``FullyConnected(2)``, added up; and the second slice is also a head."""
    import mxnet as mx

    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=6, name="fc0")
    parts = mx.sym.SliceChannel(fc, num_outputs=3, axis=1, name="split0")
    heads = [mx.sym.FullyConnected(parts[i], num_hidden=2, name=f"fc{i + 1}") for i in range(3)]
    total = mx.sym.ElementWiseSum(*heads, name="sum0")
    out = mx.sym.Group([total, parts[1]])
    shapes = {"data": (2, 4)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "slice")
    return Export("slice", symbol, params, shapes)


# ----------------------------------------------------------------- dtypes


def float16(folder: Path, seed: int = 0) -> Export:
    """``HybridSequential(Dense(4, relu), Dense(2))`` cast to float16 and exported."""
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import nn

    mx.random.seed(seed)
    net = nn.HybridSequential(prefix="half_")
    with net.name_scope():
        net.add(nn.Dense(4, activation="relu", in_units=3), nn.Dense(2, in_units=4))
    net.initialize(mx.init.Uniform(0.5))
    net.hybridize()
    net(nd.ones((2, 3)))  # in float32: MXNet has no float16 FullyConnected on CPU
    stem = str(folder / "half")
    net.export(stem)
    # then the weights as a float16 net would save them (net.cast('float16') + export)
    halves = {k: v.astype("float16") for k, v in mx.nd.load(stem + "-0000.params").items()}
    mx.nd.save(stem + "-0000.params", halves)
    return Export(
        "half", stem + "-symbol.json", stem + "-0000.params", {"data": (2, 3)}, extra={"block": net}
    )


# ----------------------------------------------------------------- Module checkpoint


def module_checkpoint(folder: Path, seed: int = 0) -> Export:
    """``mx.mod.Module(...).save_checkpoint``: ``arg:``/``aux:`` keys, a BatchNorm
    (aux states), a SoftmaxOutput head."""
    import mxnet as mx
    import numpy as np

    mx.random.seed(seed)
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    bn = mx.sym.BatchNorm(fc, fix_gamma=False, name="bn1")
    out = mx.sym.SoftmaxOutput(bn, name="softmax")
    mod = mx.mod.Module(out, data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (3, 5))], label_shapes=[("softmax_label", (3,))])
    mod.init_params(mx.init.Uniform(0.5))
    stem = str(folder / "module")
    mod.save_checkpoint(stem, 0)
    args, aux = mod.get_params()
    arrays = {k: v.asnumpy() for k, v in {**args, **aux}.items()}
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    return Export(
        "module",
        stem + "-symbol.json",
        stem + "-0000.params",
        {"data": (3, 5)},
        {"softmax_label": (3,)},
        extra={"arrays": arrays},
    )


# ----------------------------------------------------------------- ops with parameters or not


def prelu(folder: Path, seed: int = 0) -> Export:
    """``Convolution(4) -> LeakyReLU(act_type='prelu')`` (a per-channel gamma) -> FC(2)."""
    import mxnet as mx

    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), name="conv0")
    act = mx.sym.LeakyReLU(conv, act_type="prelu", name="prelu0")
    out = mx.sym.FullyConnected(act, num_hidden=2, name="fc0")
    shapes = {"data": (2, 3, 6, 6)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "prelu")
    return Export("prelu", symbol, params, shapes)


def upsampling(folder: Path, seed: int = 0) -> Export:
    """``Convolution(2) -> UpSampling(nearest, x2)`` and ``UpSampling(bilinear, x2)`` (a
    Deconvolution-like weight of its own) -> Concat -> FC(2)."""
    import mxnet as mx

    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=2, kernel=(1, 1), name="conv0")
    near = mx.sym.UpSampling(conv, scale=2, sample_type="nearest", num_args=1, name="up_near")
    bil = mx.sym.UpSampling(
        conv, scale=2, sample_type="bilinear", num_filter=2, num_args=1, name="up_bil"
    )
    cat = mx.sym.Concat(near, bil, dim=1, name="cat0")
    out = mx.sym.FullyConnected(cat, num_hidden=2, name="fc0")
    shapes = {"data": (2, 3, 4, 4)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "upsample")
    return Export("upsample", symbol, params, shapes)


def maxpool(folder: Path, seed: int = 0, batchnorm: bool = False) -> Export:
    """``Convolution(3) -> [BatchNorm] -> relu -> Pooling(max, 2x2) -> FC(2)``."""
    import mxnet as mx

    data = mx.sym.var("data")
    x = mx.sym.Convolution(data, num_filter=3, kernel=(3, 3), name="conv0")
    if batchnorm:
        x = mx.sym.BatchNorm(x, fix_gamma=False, name="bn0")
    x = mx.sym.Activation(x, act_type="relu", name="relu0")
    x = mx.sym.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool0")
    out = mx.sym.FullyConnected(x, num_hidden=2, name="fc0")
    shapes = {"data": (2, 2, 8, 8)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    name = "pool_bn" if batchnorm else "pool"
    symbol, params = _save_symbol(out, arrays, folder, name)
    return Export(name, symbol, params, shapes)


def slice_squeeze(folder: Path, seed: int = 0) -> Export:
    """The input sliced into five branches by ``SliceChannel(squeeze_axis=1)``, each its
    own ``FullyConnected(3)``, concatenated (MXNet's exporter builds opset 13 Squeeze
    nodes for it whichever opset is asked)."""
    import mxnet as mx

    parts = mx.sym.SliceChannel(
        mx.sym.var("data"), num_outputs=5, axis=1, squeeze_axis=True, name="split"
    )
    branches = [mx.sym.FullyConnected(parts[i], num_hidden=3, name=f"branch{i}") for i in range(5)]
    out = mx.sym.Concat(*branches, dim=1, name="joined")
    shapes = {"data": (2, 5, 4)}
    arrays = _random_arrays(out, seed, data=shapes["data"])
    symbol, params = _save_symbol(out, arrays, folder, "slice5")
    return Export("slice5", symbol, params, shapes)


def old_format(export: Export) -> Export:
    """Rewrite an export's graph as MXNet 0.8 wrote graphs (in place): ``param`` for the op
    attributes, two-element input references, ``backward_source_id``, no version stamp.
    MXNet upgrades such a file when it loads it."""
    import json

    doc = json.loads(Path(export.symbol).read_text())
    nodes = [
        {
            "op": node["op"],
            "param": node.get("attrs", {}) if node["op"] != "null" else {},
            "name": node["name"],
            "inputs": [[i, o] for i, o, *_ in node["inputs"]],
            "backward_source_id": -1,
        }
        for node in doc["nodes"]
    ]
    old = {
        "nodes": nodes,
        "arg_nodes": doc["arg_nodes"],
        "heads": [[i, o] for i, o, *_ in doc["heads"]],
    }
    Path(export.symbol).write_text(json.dumps(old, indent=2))
    return export


BUILDERS: Dict[str, Callable[[Path], Export]] = {
    "gru": lambda f: fused_rnn(f, "gru"),
    "lstm": lambda f: fused_rnn(f, "lstm"),
    "softmax": softmax_output,
    "ctc": ctc,
    "ctc_only": ctc_only,
    "bn_fixed": lambda f: batchnorm(f, True),
    "bn_free": lambda f: batchnorm(f, False),
    "slice": slice_channel,
    "half": float16,
    "module": module_checkpoint,
    "prelu": prelu,
    "upsample": upsampling,
    "pool": maxpool,
    "pool_bn": lambda f: maxpool(f, batchnorm=True),
    "slice5": slice_squeeze,
    "old_prelu": lambda f: old_format(prelu(f)),
    "old_module": lambda f: old_format(module_checkpoint(f)),
}


def build(kind: str, folder: Path) -> Export:
    """Build one kind by name (see :data:`BUILDERS`) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return BUILDERS[kind](folder)


# ----------------------------------------------------------------- raw MXNet references


def raw_net(export: Export, dtype: Optional[str] = None) -> Any:
    """``SymbolBlock.imports`` of an export, with every input (labels included)."""
    import warnings

    import mxnet as mx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mx.gluon.SymbolBlock.imports(export.symbol, list(export.all_inputs), export.params)


def raw_gradients(
    export: Export, arrays: Dict[str, Any], train_mode: bool
) -> Tuple[float, Dict[str, Any]]:
    """Raw MXNet: forward under ``autograd.record(train_mode)``, the sum of every output,
    ``backward(train_mode)``; returns (loss, gradient of every trainable parameter)."""
    from mxnet import autograd, nd

    net = raw_net(export)
    xs = [nd.array(arrays[n], dtype=arrays[n].dtype) for n in export.all_inputs]
    with autograd.record(train_mode=train_mode):
        out = net(*xs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        loss = outs[0].sum()
        for y in outs[1:]:
            loss = loss + y.sum()
    loss.backward(train_mode=train_mode)
    grads = {n: p.grad().asnumpy() for n, p in net.collect_params().items() if p.grad_req != "null"}
    return float(loss.asscalar()), grads


def fd_gradient(
    export: Export, arrays: Dict[str, Any], name: str, count: int = 4, eps: float = 1e-6
) -> Any:
    """Central finite differences, in float64 and predict mode, of the sum of every output
    with respect to the first ``count`` values of parameter ``name``.

    float64 runs MXNet's plain kernels (oneDNN takes float32 only), so this is independent
    of the oneDNN max-pooling gradient it checks.
    """
    import warnings

    import mxnet as mx
    import numpy as np
    from mxnet import nd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = mx.gluon.SymbolBlock(
            mx.sym.load(export.symbol),
            [mx.sym.var(n, dtype="float64") for n in export.all_inputs],
        )
    net.collect_params().load(export.params, ignore_extra=True, cast_dtype=True)
    param = net.collect_params()[name]
    start = param.data().asnumpy().astype(np.float64)
    xs = [nd.array(arrays[n], dtype="float64") for n in export.all_inputs]

    def total(w: Any) -> float:
        param.set_data(nd.array(w, dtype="float64"))
        out = net(*xs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return float(sum(y.sum().asscalar() for y in outs))

    grads = []
    for i in range(count):
        up, down = start.copy(), start.copy()
        up.ravel()[i] += eps
        down.ravel()[i] -= eps
        grads.append((total(up) - total(down)) / (2 * eps))
    param.set_data(nd.array(start, dtype="float64"))
    return np.array(grads)


if __name__ == "__main__":
    # `python -m tests.model.kinds KIND [FOLDER]`: the doc blocks of docs/models.md build
    # the graph they run on this way (see tests/doc_blocks.py, `<!-- setup: ... -->`)
    import sys

    built = build(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "."))
    print(built.symbol)
