"""``train`` on every source (issue 14): factories, exported graphs, zoo models, checked
against a raw Gluon loop on the same batch."""

from __future__ import annotations

import json
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from paraminspect.actions.train import TrainOptions, fit, prepare, synthetic_data

RELU_SOURCE = '''
import mxnet as mx
from mxnet.gluon import nn


def dead():
    """Its first layer's ReLUs are dead from the start: bias -100 on inputs in [0, 1)."""
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(
            nn.Dense(6, in_units=3, activation="relu", bias_initializer=mx.init.Constant(-100)),
            nn.Dense(2),
        )
    return net


def nested():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(6, in_units=3, activation="relu"), nn.Activation("relu"))
        inner = nn.HybridSequential()
        inner.add(nn.Dense(2))
        net.add(inner)
    return net
'''


@pytest.fixture
def relu_file(tmp_path: Path) -> Path:
    path = tmp_path / "relus.py"
    path.write_text(RELU_SOURCE)
    return path


@pytest.fixture
def tiny_graph(tmp_path: Path) -> Path:
    """An exported Dense(8, relu) -> Dense(3) graph with its params beside it."""
    mx.random.seed(3)
    net = gluon.nn.HybridSequential(prefix="tiny_")
    with net.name_scope():
        net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(nd.random.uniform(shape=(1, 5)))
    net.export(str(tmp_path / "tiny"))
    return tmp_path / "tiny-symbol.json"


def raw_first_step(ref, inputs, opts):
    """The first batch's gradients from a hand-written loop: the same build (same seed),
    the same synthetic data and shuffle, Gluon's L2Loss, autograd."""
    model, _ = prepare(ref, opts, inputs=inputs)
    x, y, _ = synthetic_data(model, opts.loss, opts.samples)
    order = nd.random.shuffle(nd.arange(opts.samples))
    xb = nd.take(x, order)[: opts.batch_size]
    yb = nd.take(y, order)[: opts.batch_size]
    with autograd.record():
        loss = gluon.loss.L2Loss()(model.net(xb), yb).mean()
    loss.backward()
    # in collect_params order: a second build numbers its Gluon prefixes anew
    return [
        float(np.linalg.norm(p.grad().asnumpy().astype(np.float64)))
        for p in model.net.collect_params().values()
        if p.grad_req != "null"
    ]


def first_record_grads(ref, inputs, opts):
    model, optimizer = prepare(ref, opts, inputs=inputs)
    report = fit(model, optimizer, opts)
    first = report.history[0]
    assert first.step == 1
    return {p.name: p.grad.l2 for p in first.parameters if p.grad is not None}, report


def assert_same_grads(ours, raw):
    assert len(ours) == len(raw)
    for (name, l2), expected in zip(ours.items(), raw):
        assert l2 == pytest.approx(expected, rel=1e-5), name


OPTS = TrainOptions(samples=64, batch_size=16, epochs=3, lr=0.1, loss="l2", every=1, seed=7)


def test_factory_first_step_matches_raw_gluon_and_loss_falls(factory_file):
    ref, inputs = f"{factory_file}:build", {"data": (1, 4)}
    raw = raw_first_step(ref, inputs, OPTS)
    ours, report = first_record_grads(ref, inputs, OPTS)
    assert len(raw) == 6  # 3 Dense layers' weights and biases: the Pair's second shares
    assert_same_grads(ours, raw)
    assert report.history[-1].data_loss < report.initial_loss
    # per-layer norms for every layer with trained parameters, the shared one read twice
    layers = {x.path: x for x in report.history[0].layers}
    assert {"1.first", "1.second"} <= set(layers)
    assert layers["1.second"].shares_with == layers["1.first"].index
    shared = report.history[0].shared
    assert len(shared) == 2  # the Pair's weight and bias
    for s in shared:
        assert s.layers == (layers["1.first"].index, layers["1.second"].index)
        assert s.identical and s.grad_l2 == pytest.approx(ours[s.parameter], rel=1e-6)


def test_exported_graph_first_step_matches_raw_gluon(tiny_graph):
    ref, inputs = str(tiny_graph), {"data": (1, 5)}
    raw = raw_first_step(ref, inputs, OPTS)
    ours, report = first_record_grads(ref, inputs, OPTS)
    assert [n.split("_", 1)[1] for n in ours] == [
        "dense0_weight",
        "dense0_bias",
        "dense1_weight",
        "dense1_bias",
    ]
    assert_same_grads(ours, raw)
    assert report.history[-1].data_loss < report.initial_loss
    # one dead-ReLU probe for every source: the graph's ReLU nodes are measured too
    assert not any("not measured" in n for n in report.notes)
    relus = [x for x in report.history[0].layers if x.dead_relu is not None]
    assert relus and all(0.0 <= x.dead_relu <= 1.0 for x in relus)


def test_dead_relus_of_a_factory_are_named_at_step_1(relu_file, cli):
    r = cli(
        "train", f"{relu_file}:dead", "--input", "data=1x3", "--samples", "32",
        "--batch-size", "8", "--epochs", "1", "--seed", "0", "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    dead = [e for e in report["events"] if e["kind"] == "dead"]
    assert [e["step"] for e in dead] == [1]
    assert dead[0]["subject"].startswith("0 (") and dead[0]["subject"].endswith("_dense0)")
    (last,) = report["history"]
    assert last["layers"][0]["dead_relu"] == 1.0


def test_dead_fractions_of_nested_relus_match_numpy(relu_file):
    """Each ReLU counted once (Dense(relu)'s own Activation child is not a second layer),
    its fraction on the probe equal to numpy's on the layer's output."""
    from paraminspect.actions.train import PROBE_SAMPLES, ReluProbe

    opts = TrainOptions(samples=64, batch_size=16, epochs=1, seed=1)
    model, _ = prepare(f"{relu_file}:nested", opts, inputs={"data": (1, 3)})
    probe = ReluProbe(model)
    names = {model.layout.layers[i].path for i in probe.indices}
    assert names == {"0", "1"}  # the Dense(relu) and the Activation, not "0.act"
    x = nd.random.uniform(-1, 1, shape=(PROBE_SAMPLES, 3))
    h0 = model.net[0](x).asnumpy()
    expected = float(np.mean(np.all(h0 == 0, axis=0)))
    got = probe(x)
    assert got[probe.indices[0]] == pytest.approx(expected)
    assert got[probe.indices[1]] == pytest.approx(expected)  # relu(relu(h)) == relu(h)


def test_zoo_model_trains(cli):
    r = cli(
        "train", "zoo:mobilenet0.25", "--input", "data=1x3x32x32", "--samples", "8",
        "--batch-size", "4", "--epochs", "1", "--seed", "0", "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["steps"] == 2 and report["model"]["source"] == "zoo:mobilenet0.25"


def test_several_inputs_are_refused_with_the_reason(rnn_dir, rnn_shapes, cli):
    graph = next(rnn_dir.glob("*-symbol.json"))
    flags = [f for name, s in rnn_shapes.items() for f in ("--input", f"{name}={s[0]}x{s[1]}")]
    r = cli("train", str(graph), *flags)
    assert r.exit_code == 2
    assert "train draws data for a model with one input" in r.output
