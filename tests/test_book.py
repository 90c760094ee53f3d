"""The book's printed numbers (section 4.2), digit for digit, from the CLI in fresh processes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import floats_after, run_fresh

IN4_ROW0_TEXT = """[ 0.06700657 -0.00369488  0.0418822   0.0421275  -0.00539289  0.00286685
  0.03927409  0.02504314 -0.05344158  0.03088857  0.01958894  0.01148278
 -0.04993054  0.00523225  0.06225365  0.03620619  0.00305876 -0.05517294
 -0.01194733 -0.00369594]"""


def test_in4_first_row_digit_for_digit():
    out = run_fresh("show", "--select", "dense0_weight", "--values", "--slice", "0").stdout
    # The book prints 0.06700657 -0.00369488 0.0418822 ... -0.05517294 -0.01194733 -0.00369594
    assert IN4_ROW0_TEXT in out
    first = floats_after(out, "dense0_weight[0]", 3)
    assert first == [0.06700657, -0.00369488, 0.0418822]


def test_in4_whole_array_is_summarized_like_mxnet():
    out = run_fresh("show", "--select", "dense0_weight", "--values").stdout
    # Book Out[4]: first row starts "[[ 0.06700657 -0.00369488 0.0418822 ... -0.05517294"
    assert "[[ 0.06700657 -0.00369488  0.0418822  ... -0.05517294 -0.01194733" in out
    assert "[ 0.00297424 -0.0281784  -0.06881659 ... -0.04047417  0.00457048" in out


def test_in2_layer0_params():
    data = json.loads(run_fresh("show", "--layer", "0", "--format", "json").stdout)
    got = [(p["name"], tuple(p["shape"]), p["dtype"]) for p in data["parameters"]]
    assert got == [("dense0_weight", (256, 20), "float32"), ("dense0_bias", (256,), "float32")]


def test_in5_grad_is_zero_before_backward():
    data = json.loads(
        run_fresh("show", "--select", "dense0_weight", "--grad", "--format", "json").stdout
    )
    grad = np.array(data["parameters"][0]["grad"])
    assert grad.shape == (256, 20) and not grad.any()


def test_in6_output_bias_zeros():
    out = run_fresh("show", "--layer", "1", "--select", ".*bias", "--values").stdout
    assert "dense1_bias  (10,) float32\n[0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]" in out


def test_in7_in8_collect_params():
    all_ = json.loads(run_fresh("show", "--format", "json").stdout)
    assert [p["name"] for p in all_["parameters"]] == [
        "dense0_weight",
        "dense0_bias",
        "dense1_weight",
        "dense1_bias",
    ]
    w = json.loads(run_fresh("show", "--select", ".*weight", "--format", "json").stdout)
    assert [(p["name"], p["shape"]) for p in w["parameters"]] == [
        ("dense0_weight", [256, 20]),
        ("dense1_weight", [10, 256]),
    ]


def test_in14_shared_layers_hold_the_same_weights():
    data = json.loads(run_fresh("show", "shared", "--values", "--format", "json").stdout)
    shared = {g["parameter"]: g["layers"] for g in data["sharing"]}
    # Gluon's numbering: net[1] and net[2], as JSON paths
    assert shared == {"shared_weight": ["1", "2"], "shared_bias": ["1", "2"]}
    assert data["totals"]["unique"] == 330 and data["totals"]["total"] == 402


def test_exercise2_before_forward_shapes():
    data = json.loads(run_fresh("show", "--before-forward", "--values", "--format", "json").stdout)
    shapes = {p["name"]: tuple(p["shape"]) for p in data["parameters"]}
    assert shapes == {
        "dense0_weight": (256, 0),
        "dense0_bias": (256,),
        "dense1_weight": (10, 0),
        "dense1_bias": (10,),
    }
    w = data["parameters"][0]
    assert w["data"] is None and "deferred" in w["data_note"]
    assert data["model"]["forward"] is False


@pytest.mark.parametrize("seed", [0, 7])
def test_seed_matches_raw_mxnet(seed):
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import nn

    mx.random.seed(seed)
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu"), nn.Dense(10))
    net.initialize()
    net(nd.random.uniform(shape=(2, 20)))
    expected = net[0].weight.data().asnumpy()
    data = json.loads(
        run_fresh(
            "show", "--seed", str(seed), "--select", "dense0_weight", "--values", "--format", "json"
        ).stdout
    )
    np.testing.assert_array_equal(np.array(data["parameters"][0]["data"], np.float32), expected)
