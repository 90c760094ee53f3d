"""Initializer theory against independent numpy computations and raw MXNet draws."""

from __future__ import annotations

import math

import mxnet as mx
import numpy as np
import pytest

from paraminspect.init.catalog import resolve_params
from paraminspect.init.theory import check_values, fans, theory_for

SHAPES = [(256, 20), (10, 256), (8, 3, 5, 5), (64, 64), (3, 1000)]


def np_fans(shape):
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def draw(init, shape, seed=3):
    mx.random.seed(seed)
    arr = mx.nd.zeros(shape)
    init._init_weight("w", arr)
    return arr.asnumpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("factor_type", ["avg", "in", "out"])
@pytest.mark.parametrize("magnitude", [3.0, 2.34])
def test_xavier_uniform_bound_matches_numpy(shape, factor_type, magnitude):
    fan_in, fan_out = np_fans(shape)
    factor = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor_type]
    bound = np.sqrt(magnitude / factor)
    _, p = resolve_params("xavier", {"factor_type": factor_type, "magnitude": magnitude})
    th = theory_for("xavier", p, shape)
    assert (th.fan_in, th.fan_out) == (fan_in, fan_out) == fans(shape)
    assert th.high == pytest.approx(bound, rel=1e-12) and th.low == pytest.approx(-bound, rel=1e-12)
    assert th.std == pytest.approx(bound / np.sqrt(3), rel=1e-12)
    w = draw(mx.init.Xavier(factor_type=factor_type, magnitude=magnitude), shape)
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert check_values("w", w, "xavier", th).status == "pass"


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier_gaussian_and_msraprelu_std_match_numpy(shape):
    fan_in, fan_out = np_fans(shape)
    th = theory_for("xavier", resolve_params("xavier", {"rnd_type": "gaussian"})[1], shape)
    assert th.std == pytest.approx(np.sqrt(3.0 / ((fan_in + fan_out) / 2)), rel=1e-12)
    assert th.low is None and th.mean == 0
    for slope, factor_type in ((0.25, "avg"), (0.0, "in"), (1.0, "out")):
        _, p = resolve_params("msraprelu", {"slope": slope, "factor_type": factor_type})
        factor = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor_type]
        expected = np.sqrt(2.0 / (1 + slope**2) / factor)
        assert theory_for("msraprelu", p, shape).std == pytest.approx(expected, rel=1e-12)
        w = draw(mx.init.MSRAPrelu(factor_type=factor_type, slope=slope), shape)
        assert check_values("w", w, "msraprelu", theory_for("msraprelu", p, shape)).status == "pass"


@pytest.mark.parametrize("shape", SHAPES)
def test_uniform_normal_bounds_and_std(shape):
    th = theory_for("uniform", {"scale": 0.07}, shape)
    assert (th.low, th.high) == (-0.07, 0.07)
    assert th.std == pytest.approx(np.std(np.linspace(-0.07, 0.07, 2_000_001)), rel=1e-6)
    assert check_values("w", draw(mx.init.Uniform(0.07), shape), "u", th).status == "pass"
    th = theory_for("normal", {"sigma": 0.01}, shape)
    assert th.std == 0.01 and th.mean == 0.0
    assert check_values("w", draw(mx.init.Normal(0.01), shape), "n", th).status == "pass"


def test_myinit_moments_match_a_numpy_simulation():
    rng = np.random.default_rng(0)
    for low, high, t in ((-10, 10, 5), (-1, 3, 0.5), (2, 6, 3)):
        u = rng.uniform(low, high, 4_000_000)
        u[np.abs(u) < t] = 0
        th = theory_for("myinit", {"low": low, "high": high, "threshold": t}, (4, 4))
        assert th.mean == pytest.approx(u.mean(), abs=5 * u.std() / 2000)
        assert th.std == pytest.approx(u.std(), rel=3e-3)
        assert th.zero_fraction == pytest.approx(np.mean(u == 0), abs=2e-3)


def test_orthogonal_exact_and_lstmbias():
    for shape in ((256, 20), (10, 256), (16, 16)):
        th = theory_for("orthogonal", {"scale": 1.414, "rand_type": "uniform"}, shape)
        w = draw(mx.init.Orthogonal(scale=1.414), shape)
        assert check_values("w", w, "o", th).status == "pass"
        bad = check_values("w", w * 1.01, "o", th)
        assert bad.status == "fail" and bad.items[-1].name == "orthogonality"
    th = theory_for("lstmbias", {"forget_bias": 1.0}, (8,))
    w = mx.nd.zeros((8,))
    mx.init.LSTMBias(forget_bias=1.0)._init_weight("b", w)
    np.testing.assert_array_equal(th.exact, w.asnumpy())
    assert check_values("b", w.asnumpy(), "l", th).status == "pass"


def test_wrong_values_fail_each_check():
    rng = np.random.default_rng(1)
    th = theory_for("normal", {"sigma": 0.01}, (256, 20))
    wide = rng.normal(0, 0.012, (256, 20)).astype(np.float32)
    r = check_values("w", wide, "normal", th)
    assert r.status == "fail"
    assert {i.name for i in r.items if not i.passed} >= {"std", "ks"}
    shifted = rng.normal(0.002, 0.01, (256, 20)).astype(np.float32)
    assert {i.name for i in check_values("w", shifted, "n", th).items if not i.passed} >= {"mean"}
    th = theory_for("uniform", {"scale": 0.07}, (256, 20))
    r = check_values("w", rng.uniform(-0.08, 0.08, (256, 20)), "u", th)
    assert next(i.name for i in r.items if not i.passed) == "bounds"
    th = theory_for("constant", {"value": 1.0}, (4, 4))
    w = np.ones((4, 4), np.float32)
    assert check_values("w", w, "c", th).status == "pass"
    w[1, 2] = 1.0001
    r = check_values("w", w, "c", th)
    assert r.status == "fail" and r.items[-1].observed == "1 of 16 differ"
    nan = np.full((2, 2), math.nan, np.float32)
    assert check_values("w", nan, "c", th).status == "fail"
