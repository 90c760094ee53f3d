"""MACs of the fused RNN op (Gluon's rnn.GRU/LSTM/RNN and the ``RNN`` op of their exports)
and of UpSampling, against counts made here from Gluon's own weight shapes and by formula.

A fused RNN does, per time step and sample, one multiply-add per entry of its weight
matrices (i2h, h2h and an LSTM's h2r projection): gates x hidden x (input + hidden) for
each layer and direction without projection. A bilinear UpSampling is MXNet's grouped
Deconvolution over its own weight (checked here by running that Deconvolution); a nearest
one copies values.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import paraminspect as pi

N, T, C = 2, 4, 5  # batch, time steps, input features (layout NTC)


def _net(kind):
    from mxnet.gluon import nn, rnn

    layer = {
        "gru": lambda: rnn.GRU(6, layout="NTC", num_layers=2, bidirectional=True),
        "lstm": lambda: rnn.LSTM(6, layout="NTC"),
        "lstmp": lambda: rnn.LSTM(6, layout="NTC", projection_size=3, num_layers=2),
        "rnn_tanh": lambda: rnn.RNN(7, layout="NTC", activation="tanh"),
        "rnn_relu": lambda: rnn.RNN(7, layout="NTC", activation="relu", bidirectional=True),
    }[kind]()
    net = nn.HybridSequential(prefix=f"{kind}net_")
    with net.name_scope():
        net.add(layer, nn.Dense(3))
    return net


def _by_weights(layer):
    """Steps x samples x the entries of every weight matrix of the layer (Gluon's shapes)."""
    matrices = [p.data().shape for p in layer.collect_params().values() if p.data().ndim == 2]
    return N * T * sum(math.prod(s) for s in matrices)


# the formula by hand: gates x (input x hidden + hidden x hidden) per layer and
# direction, the second GRU layer reading both directions (2 x 6 = 12 wide)
BY_FORMULA = {
    "gru": N * T * (2 * 3 * (5 * 6 + 6 * 6) + 2 * 3 * (12 * 6 + 6 * 6)),
    "lstm": N * T * 4 * (5 * 6 + 6 * 6),
    # projection 3: h2h reads the 3-wide projection, plus 3 x 6 for the projection itself
    "lstmp": N * T * ((4 * 6 * (5 + 3) + 3 * 6) + (4 * 6 * (3 + 3) + 3 * 6)),
    "rnn_tanh": N * T * (5 * 7 + 7 * 7),
    "rnn_relu": N * T * 2 * (5 * 7 + 7 * 7),
}


@pytest.mark.parametrize("kind", sorted(BY_FORMULA))
def test_fused_rnn_macs_as_block_and_as_export(cli, tmp_path, kind):
    import mxnet as mx

    net = _net(kind)
    net.initialize(mx.init.Uniform(0.5))
    block = pi.summary(net, (N, T, C), seed=0).to_dict()["layers"]
    rnn_row, dense_row = block
    assert rnn_row["macs"] == _by_weights(net[0]) == BY_FORMULA[kind]
    assert dense_row["macs"] == N * 3 * math.prod(dense_row["input_shape"][1:])
    # the hybridized export: the RNN op gets the same count, under the node's name
    net.hybridize()
    net(mx.nd.ones((N, T, C)))
    net.export(str(tmp_path / kind))
    result = cli(
        "summary",
        str(tmp_path / f"{kind}-symbol.json"),
        "--input",
        f"data={N}x{T}x{C}",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["layers"]
    (op,) = [r for r in rows if r["type"] == "RNN" and r["path"] == r["name"]]
    assert op["macs"] == BY_FORMULA[kind]
    assert op["input_shape"] == [T, N, C]  # the op is time-major whatever Gluon's layout
    (fc,) = [r for r in rows if r["type"] == "FullyConnected"]
    assert fc["macs"] == dense_row["macs"]


def test_fused_rnn_macs_by_shape_inference_alone():
    # --shapes-only: nothing allocated, the same count from the layer's attributes
    net = _net("gru")
    layout = pi.summary(net, (N, T, C), shapes_only=True).to_dict()["layers"]
    assert layout[0]["macs"] == BY_FORMULA["gru"]


def _upsampling(tmp_path, scale):
    import mxnet as mx

    data = mx.sym.var("data")
    near = mx.sym.UpSampling(data, scale=scale, sample_type="nearest", num_args=1, name="near")
    bil = mx.sym.UpSampling(
        data, scale=scale, sample_type="bilinear", num_filter=3, num_args=1, name="bil"
    )
    out = mx.sym.Group([near, bil])
    out.save(str(tmp_path / "up-symbol.json"))
    return bil


@pytest.mark.parametrize("scale", [2, 3])
def test_upsampling_macs_nearest_copies_bilinear_is_its_deconvolution(cli, tmp_path, scale):
    import mxnet as mx

    shape = (2, 3, 5, 5)
    bil = _upsampling(tmp_path, scale)
    k = 2 * scale - scale % 2
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.uniform(size=shape))
    weight = mx.nd.array(rng.uniform(size=(3, 1, k, k)))
    # what MXNet runs: a Deconvolution of kernel k, stride scale, one group per channel
    got = bil.eval(data=x, bil_weight=weight)[0]
    deconv = mx.nd.Deconvolution(
        x,
        weight,
        kernel=(k, k),
        stride=(scale, scale),
        pad=(math.ceil((scale - 1) / 2),) * 2,
        num_filter=3,
        num_group=3,
        no_bias=True,
    )
    np.testing.assert_allclose(got.asnumpy(), deconv.asnumpy(), rtol=1e-6)
    result = cli(
        "summary",
        str(tmp_path / "up-symbol.json"),
        "--input",
        "data=2x3x5x5",
        "--shapes-only",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["layers"]}
    assert rows["near"]["macs"] == 0  # nearest: copies, no multiplication
    # each input value times the k x k kernel of its own channel (1 channel per group)
    assert rows["bil"]["macs"] == math.prod(shape) * 1 * k * k
    assert rows["bil"]["output_shape"] == list(got.shape)


def _bilinear_up_net():
    import mxnet as mx
    from mxnet.gluon import nn

    class BilinearUp(nn.HybridBlock):
        """Gluon has no UpSampling layer: a block of one's own calls F.UpSampling."""

        def __init__(self, channels, scale, **kwargs):
            super().__init__(**kwargs)
            k = 2 * scale - scale % 2
            self.scale, self.channels = scale, channels
            self.weight = self.params.get(
                "weight", shape=(channels, 1, k, k), init=mx.init.Bilinear()
            )

        def hybrid_forward(self, F, x, weight):
            return F.UpSampling(
                x,
                weight,
                scale=self.scale,
                sample_type="bilinear",
                num_filter=self.channels,
                num_args=2,
            )

    net = nn.HybridSequential(prefix="upnet_")
    with net.name_scope():
        net.add(nn.Conv2D(2, 1), BilinearUp(2, 3), nn.Dense(2))
    return net


def test_bilinear_upsampling_in_a_block_and_its_export(cli, tmp_path):
    import mxnet as mx

    shape = (2, 3, 4, 4)
    net = _bilinear_up_net()
    net.initialize()
    rows = pi.summary(net, shape, seed=0).to_dict()["layers"]
    conv, up, dense = rows
    k = 2 * 3 - 3 % 2  # scale 3: a 5x5 kernel per channel
    # each of the conv's 2 x 4 x 4 output values per sample times its channel's k x k kernel
    assert up["macs"] == 2 * 2 * 4 * 4 * k * k
    assert up["output_shape"] == [2, 2, 12, 12]
    net.hybridize()
    net(mx.nd.ones(shape))
    net.export(str(tmp_path / "up"))
    result = cli(
        "summary", str(tmp_path / "up-symbol.json"), "--input", "data=2x3x4x4", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    graph = {r["type"]: r for r in json.loads(result.stdout)["layers"]}
    assert graph["UpSampling"]["macs"] == up["macs"]
    assert graph["Convolution"]["macs"] == conv["macs"] == 2 * 2 * 4 * 4 * 3
    assert graph["FullyConnected"]["macs"] == dense["macs"] == 2 * 2 * (2 * 12 * 12)
