"""Gradient shares of a shared Dense against raw autograd on an unshared copy."""

from __future__ import annotations

import numpy as np
import pytest

from paraminspect.diagnose.shares import gradient_shares


def shared_and_unshared_grads():
    """A net whose middle Dense reuses the first one's parameters, and an unshared copy
    with the same weights: the copy's two gradients are each use's contribution."""
    import mxnet as mx
    from mxnet import autograd, nd
    from mxnet.gluon import nn

    mx.random.seed(3)
    x = nd.random.normal(shape=(16, 8))
    target = nd.random.normal(shape=(16, 1))

    def build(share: bool):
        net = nn.Sequential()
        first = nn.Dense(8, activation="tanh", in_units=8)
        second = (
            nn.Dense(8, activation="tanh", params=first.params)
            if share
            else nn.Dense(8, activation="tanh", in_units=8)
        )
        net.add(first, second, nn.Dense(1, in_units=8))
        net.initialize(mx.init.Xavier())
        return net

    shared, copy = build(True), build(False)
    assert shared[0].weight is shared[1].weight
    sources = [shared[0], shared[0], shared[2]]
    for layer, src in zip(copy, sources):
        layer.weight.set_data(src.weight.data())
        layer.bias.set_data(src.bias.data())
    for net in (shared, copy):
        with autograd.record():
            loss = ((net(x) - target) ** 2).mean()
        loss.backward()
    G = {p: getattr(shared[0], p).grad().asnumpy() for p in ("weight", "bias")}
    g = {p: [getattr(copy[i], p).grad().asnumpy() for i in (0, 1)] for p in ("weight", "bias")}
    return G, g


@pytest.fixture(scope="module")
def grads():
    return shared_and_unshared_grads()


@pytest.mark.parametrize("param", ["weight", "bias"])
def test_shares_of_a_shared_dense(grads, param):
    G, g = grads
    contributions = g[param]
    # The unshared copy really gives each use's part: they add up to the shared gradient.
    np.testing.assert_allclose(contributions[0] + contributions[1], G[param], rtol=0, atol=1e-6)
    result = gradient_shares(contributions, G[param])
    assert result.reason is None and result.shares is not None
    assert abs(result.total - 1) < 1e-6
    assert result.residual < 1e-5
    G64 = G[param].astype(np.float64).ravel()
    expected = [
        float(np.dot(c.astype(np.float64).ravel(), G64) / np.dot(G64, G64)) for c in contributions
    ]
    np.testing.assert_allclose(result.shares, expected, rtol=1e-12, atol=0)
    assert result.accumulated_l2 == pytest.approx(float(np.linalg.norm(G64)), rel=1e-12)
    assert abs(result.shares[0] - result.shares[1]) > 1e-3  # the two uses differ


def test_shares_can_exceed_one_and_go_negative():
    G = np.array([1.0, 0.0], dtype=np.float32)
    result = gradient_shares([np.array([3.0, 1.0]), np.array([-2.0, -1.0])], G)
    assert result.shares == (3.0, -2.0) and result.residual == 0.0


def test_contributions_that_do_not_add_up_show_a_residual():
    G = np.array([3.0, 4.0])
    result = gradient_shares([np.array([3.0, 0.0]), np.array([0.0, 0.0])], G)
    assert result.shares == (9 / 25, 0.0)
    assert result.residual == pytest.approx(4 / 5)
    assert result.total == pytest.approx(9 / 25)


def test_zero_accumulated_gradient_is_undefined():
    a = np.array([[1.0, -2.0]], dtype=np.float32)
    result = gradient_shares([a, -a], np.zeros((1, 2), dtype=np.float32))
    assert result.shares is None and result.total is None
    assert result.reason.startswith("the accumulated gradient is 0: no direction to share")
    assert result.accumulated_l2 == 0.0


def test_nonfinite_accumulated_gradient_is_undefined():
    result = gradient_shares([np.ones(3)], np.array([1.0, np.nan, np.inf]))
    assert result.shares is None
    assert result.reason == "the accumulated gradient holds 2 NaN/Inf values: no direction to share"


def test_tiny_gradients_do_not_underflow():
    G = np.full(4, 1e-30, dtype=np.float32)  # ||G||^2 = 4e-60: below float32, fine in float64
    result = gradient_shares([G / 4, 3 * G / 4], G)
    assert result.shares == pytest.approx((0.25, 0.75), rel=1e-6)


def test_shape_mismatch_and_no_contributions():
    with pytest.raises(
        ValueError, match=r"contribution 1 has shape \(3,\), the accumulated gradient \(2,\)"
    ):
        gradient_shares([np.zeros(2), np.zeros(3)], np.ones(2))
    with pytest.raises(ValueError, match="no contributions"):
        gradient_shares([], np.ones(2))
