"""``pi.summary`` on a hybridized nested Block: a hybridized parent runs its children inside
its cached graph, where their forward hooks never fire, so shapes and statistics come from a
symbolic trace. Checked against raw ``infer_shape`` and raw per-child forward passes."""

from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import paraminspect as pi


class Pair(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.first = nn.Dense(8, activation="relu")
            self.second = nn.Dense(4)

    def hybrid_forward(self, F, x):
        return self.second(self.first(x))


class Net(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv = nn.Conv2D(3, 3)
            self.pool = nn.GlobalAvgPool2D()
            self.flat = nn.Flatten()
            self.pair = Pair()
            self.out = nn.Dense(2)

    def hybrid_forward(self, F, x):
        return self.out(self.pair(self.flat(self.pool(self.conv(x)))))


SHAPE = (2, 1, 6, 6)


def _chain(net: Net, x):
    """Each child's output, calling the children one by one (NDArrays or Symbols)."""
    conv = net.conv(x)
    pool = net.pool(conv)
    flat = net.flat(pool)
    first = net.pair.first(flat)
    second = net.pair.second(first)
    return {
        "conv": conv,
        "pool": pool,
        "flat": flat,
        "pair": second,
        "pair.first": first,
        "pair.second": second,
        "out": net.out(second),
    }


@pytest.fixture
def hybridized():
    mx.random.seed(7)
    net = Net()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array(np.random.default_rng(3).standard_normal(SHAPE), dtype="float32")
    net(x)  # the cached graph is built and used: no child hook fires from here on
    return net, x


def test_output_shapes_per_child_equal_raw_infer_shape(hybridized):
    net, x = hybridized
    report = pi.summary(net, x)
    symbols = _chain(net, mx.sym.var("data"))
    expected = {}
    for path, sym in symbols.items():
        _, out_shapes, _ = sym.infer_shape(data=SHAPE)
        expected[path] = tuple(out_shapes[0])
    assert {r.path: r.out_shape for r in report.layers} == expected
    assert [r.macs for r in report.layers if r.type in ("Conv2D", "Dense")] == [
        2 * 3 * 4 * 4 * 9,
        2 * 8 * 3,
        2 * 4 * 8,
        2 * 2 * 4,
    ]


def test_activation_statistics_equal_each_childs_own_output(hybridized):
    net, x = hybridized
    report = pi.summary(net, x)
    assert report.ran and not any("not measured" in n for n in report.notes)
    raw = {path: out.asnumpy().astype(np.float64) for path, out in _chain(net, x).items()}
    for row in report.layers:
        values = raw[row.path]
        assert row.stats is not None, row.path
        assert row.stats.mean == pytest.approx(values.mean(), rel=1e-5, abs=1e-7)
        assert row.stats.std == pytest.approx(values.std(), rel=1e-4, abs=1e-7)
        assert (row.stats.min, row.stats.max) == pytest.approx((values.min(), values.max()))
    # Dense(activation='relu') returns its Activation's output: the ReLU is measured on the
    # Dense's own row (dead units and all), not on a row of its own
    relu = next(r for r in report.layers if r.path == "pair.first")
    assert relu.activation == "relu" and relu.stats.dead is not None
    assert relu.stats.zeros == pytest.approx(float(np.mean(raw["pair.first"] == 0)))


def test_a_hybridized_child_of_a_plain_block_says_what_it_cannot_measure():
    inner = nn.HybridSequential()
    inner.add(nn.Dense(8, activation="relu"), nn.Dense(4))
    inner.hybridize()
    net = nn.Sequential()
    net.add(nn.Dense(6), inner, nn.Dense(2))
    report = pi.summary(net, (3, 5))
    rows = {r.path: r for r in report.layers}
    assert [rows[p].out_shape for p in ("0", "1", "2")] == [(3, 6), (3, 4), (3, 2)]
    assert all(rows[p].stats is not None for p in ("0", "1", "2"))
    assert [rows[p].stats for p in ("1.0", "1.1")] == [None] * 2
    assert report.notes[0] == (
        "1.0, 1.1 run inside a hybridized block's cached graph, where no forward "
        "hook fires, and the net cannot be traced on symbols (it is not a HybridBlock): "
        "their output shapes and activation statistics are unknown; pass the hybridized "
        "block itself, or call hybridize(False) on it"
    )
