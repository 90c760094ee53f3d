"""``pi.grad`` on a custom nested Block with a layer that shares another's parameters
(``nn.Dense(8, params=shared.params)``): each use's contribution and share against raw MXNet,
an unshared copy holding the same weights run on the same inputs."""

from __future__ import annotations

import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.gluon import nn

import paraminspect as pi


class Pair(nn.HybridBlock):
    """Two Dense layers; with ``tie``, the second reads the first's parameters."""

    def __init__(self, tie: bool, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.first = nn.Dense(8, activation="relu")
            self.second = nn.Dense(8, activation="relu", params=self.first.params if tie else None)

    def hybrid_forward(self, F, x):
        return self.second(self.first(x)) + x


class Net(nn.HybridBlock):
    def __init__(self, tie: bool, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.inp = nn.Dense(8, activation="tanh")
            self.pair = Pair(tie)
            self.out = nn.Dense(3)

    def hybrid_forward(self, F, x):
        return self.out(self.pair(self.inp(x)))


def _loss(out):
    return (out * out).sum() + out.sum()  # not symmetric in the outputs' sign


def _unshared_grads(net: Net, x: mx.nd.NDArray):
    """Raw MXNet: a copy whose second Dense has its own parameters, set to the shared ones."""
    copy = Net(tie=False)
    copy.initialize()
    copy(x)  # finish deferred shapes
    pairs = [
        (copy.inp, net.inp),
        (copy.pair.first, net.pair.first),
        (copy.pair.second, net.pair.first),  # the shared values, in a tensor of its own
        (copy.out, net.out),
    ]
    for mine, theirs in pairs:
        mine.weight.set_data(theirs.weight.data())
        mine.bias.set_data(theirs.bias.data())
    with autograd.record():
        value = _loss(copy(x))
    value.backward()
    return {
        "weight": (
            copy.pair.first.weight.grad().asnumpy(),
            copy.pair.second.weight.grad().asnumpy(),
        ),
        "bias": (copy.pair.first.bias.grad().asnumpy(), copy.pair.second.bias.grad().asnumpy()),
    }, float(value.asscalar())


@pytest.mark.parametrize("hybridize", [False, True])
def test_per_use_contributions_and_shares_match_an_unshared_copy(hybridize):
    mx.random.seed(4)
    net = Net(tie=True)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    x = mx.nd.array(np.random.default_rng(1).standard_normal((6, 5)), dtype="float32")
    report = pi.grad(net, x, loss=_loss)
    raw, raw_loss = _unshared_grads(net, x)
    assert report.loss_value == pytest.approx(raw_loss, rel=1e-6)
    layers = report.base.model.layers
    by_param = {s.parameter: s for s in report.shared}
    assert set(by_param) == {net.pair.first.weight.name, net.pair.first.bias.name}
    for kind, (g_first, g_second) in raw.items():
        shared = by_param[getattr(net.pair.first, kind).name]
        names = [layers[c.layer].path for c in shared.contributions]
        assert names == ["pair.first", "pair.second"]  # nested layers by their path
        first, second = (c.array for c in shared.contributions)
        np.testing.assert_allclose(first, g_first, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(second, g_second, rtol=1e-5, atol=1e-6)
        # the accumulated gradient stays in the buffer and is the two uses' sum
        accumulated = getattr(net.pair.first, kind).grad().asnumpy()
        np.testing.assert_allclose(accumulated, g_first + g_second, rtol=1e-5, atol=1e-6)
        # shares: <g_i, G> / ||G||^2 from the raw gradients, in float64
        total = (g_first.astype(np.float64) + g_second).reshape(-1)
        expected = [
            float(np.dot(g.reshape(-1), total) / np.dot(total, total)) for g in (g_first, g_second)
        ]
        shares = [c.share for c in shared.contributions]
        assert shares == pytest.approx(expected, abs=1e-6)
        assert abs(math.fsum(shares) - 1.0) <= 1e-6
        assert abs(shared.shares_sum - 1.0) <= 1e-6
        assert shared.ok and shared.shares_note is None
    # the JSON carries the shares too
    entry = next(
        p for p in report.to_dict()["parameters"] if p["name"] == net.pair.first.weight.name
    )
    assert entry["contributions_check"]["shares_sum"] == pytest.approx(1.0, abs=1e-6)
    assert [c["share"] for c in entry["contributions"]] == [
        c.share for c in by_param[net.pair.first.weight.name].contributions
    ]
