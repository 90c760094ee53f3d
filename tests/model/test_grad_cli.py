"""``grad`` on graphs and factories, against raw autograd; per-use contributions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.model.conftest import RNN_HID, RNN_IN, RNN_N, RNN_T, rnn_arrays, rnn_symbol


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_mobilefacenet_l2_gradients_against_raw_autograd(cli, mobilefacenet, tmp_path):
    import mxnet as mx
    from mxnet import autograd

    symbol, params = mobilefacenet
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, 112, 112)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    args = [symbol, "--input", f"data={tmp_path / 'x.npy'}", "--loss", "sum", "--mode"]
    out = _json(cli("grad", *args, "predict", "--select", "conv_1|pre_fc1", "--format", "json"))
    assert out["model"]["kind"] == "symbol"
    net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
    with autograd.record(train_mode=False):
        loss = net(mx.nd.array(x)).sum()
    # backward's own default, train_mode=True, gives BatchNorm gradients off by orders of
    # magnitude after a predict-mode forward: the mode must match the forward's
    loss.backward(train_mode=False)
    raw = net.collect_params()
    assert out["loss"]["value"] == pytest.approx(float(loss.asscalar()), rel=1e-5)
    for row in out["parameters"]:
        if raw[row["name"]].grad_req == "null":
            continue
        g = raw[row["name"]].grad().asnumpy()
        assert row["grad_stats"]["l2"] == pytest.approx(float(np.linalg.norm(g)), rel=1e-4)


def test_rnn_per_use_contributions_add_up(cli, rnn_dir):
    symbol = str(rnn_dir / "rnn-symbol.json")
    args = [f"--input=x{t}={RNN_N}x{RNN_IN}" for t in range(RNN_T)]
    args.append(f"--input=h0={RNN_N}x{RNN_HID}")
    out = _json(cli("grad", symbol, *args, "--seed", "4", "--format", "json"))
    w = {p["name"]: p for p in out["parameters"]}["W"]
    assert [c["layer"] for c in w["contributions"]] == w["layers"] and len(w["layers"]) == 3
    assert w["contributions_check"]["ok"] is True
    assert w["contributions_check"]["max_abs_diff"] <= w["contributions_check"]["tolerance"]


def test_rnn_contributions_match_per_step_autograd(rnn_dir, rnn_shapes):
    """The copies' gradients against a hand-unrolled pass with its own W per step."""
    import mxnet as mx
    from mxnet import autograd

    from paraminspect.model.per_use import use_gradients

    raw = rnn_arrays()
    rng = np.random.default_rng(2)
    feed = {n: rng.standard_normal(s).astype("float32") for n, s in rnn_shapes.items()}
    sym = rnn_symbol()
    inputs = [n for n in sym.list_arguments() if n not in ("W", "b")]
    net = mx.gluon.SymbolBlock(sym, [mx.sym.var(n) for n in inputs])
    for name, p in net.collect_params().items():
        p.shape = raw[name].shape
        p.initialize()
        p.set_data(mx.nd.array(raw[name]))
    xs = [mx.nd.array(feed[n]) for n in inputs]
    parts = use_gradients(sym, inputs, net.collect_params(), ["W"], xs, lambda o: o[0].sum(), True)
    copies = [mx.nd.array(raw["W"]) for _ in range(RNN_T)]
    for c in copies:
        c.attach_grad()
    with autograd.record():
        h = mx.nd.array(feed["h0"])
        for t in range(RNN_T):
            fc = mx.nd.FullyConnected(
                mx.nd.array(feed[f"x{t}"]), copies[t], mx.nd.array(raw["b"]), num_hidden=RNN_HID
            )
            h = mx.nd.tanh(h + fc)
        h.sum().backward()
    assert [node for node, _ in parts["W"]] == ["fc0", "fc1", "fc2"]
    for (_, g), c in zip(parts["W"], copies):
        np.testing.assert_allclose(g.asnumpy(), c.grad.asnumpy(), rtol=1e-5, atol=1e-6)


def test_factory_shared_dense_contributions(cli, factory_file):
    out = _json(
        cli("grad", f"{factory_file}:build", "--input", "data=3x4", "--loss", "l2", "--format",
            "json")
    )  # fmt: skip
    shared = [p for p in out["parameters"] if p.get("contributions")]
    assert len(shared) == 2
    for p in shared:
        assert p["contributions_check"]["ok"] is True
        assert len(p["contributions"]) == 2
