"""pi.watch on a hand-written gluon.Trainer loop: norms, records, the report, the log."""

from __future__ import annotations

import io
import json
import math

import pytest
from rich.console import Console

import paraminspect as pi
from paraminspect.errors import OptionError


def _loop(hybridize: bool, every: int, log=None, steps: int = 6):
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    mx.random.seed(7)
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu"), nn.Dense(4))
    net.initialize()
    if hybridize:
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    l2 = gluon.loss.L2Loss()
    x, y = nd.random.normal(shape=(32, 8)), nd.random.normal(shape=(32, 4))
    by_hand = {0: [], 1: [], "loss": []}
    with pi.watch(net, every=every, log=log, lr=0.1, optimizer="sgd", batch_size=32) as w:
        for _ in range(steps):
            with autograd.record():
                loss = l2(net(x), y)
            loss.backward()
            trainer.step(32)
            for i in (0, 1):
                squares = [float((p.grad() ** 2).sum().asscalar()) for p in net[i].params.values()]
                by_hand[i].append(math.sqrt(sum(squares)))
            by_hand["loss"].append(float(loss.mean().asscalar()))
            w.step(loss)
    return w, by_hand


@pytest.mark.parametrize("hybridize", [False, True])
def test_per_step_norms_equal_norms_by_hand(hybridize):
    w, by_hand = _loop(hybridize, every=2)
    report = w.report()
    assert report.steps == 6 and len(report.history) == 3
    # layers are numbered as pi.show numbers them, as Gluon does: net[1] is layer 1 (net[0]'s
    # own Activation is part of it)
    rows = {x.name: x.index for x in report.model.layers}
    assert list(report.step_grad_l2) == [rows["net_dense0"], rows["net_dense1"]] == [0, 1]
    assert [report.model.path_of(i) for i in report.step_grad_l2] == ["0", "1"]
    for i, row in enumerate(report.step_grad_l2):
        assert report.step_grad_l2[row] == pytest.approx(by_hand[i], rel=1e-5)
    # the records' layer norms are the same numbers
    by_row = dict(zip(report.step_grad_l2, (by_hand[0], by_hand[1])))
    for record in report.history:
        for layer in record.layers:
            assert layer.grad_l2 == pytest.approx(by_row[layer.index][record.step - 1], rel=1e-5)
            assert layer.update_ratio > 0
        window = by_hand["loss"][record.step - 2 : record.step]
        assert record.loss == pytest.approx(sum(window) / 2, rel=1e-6)


def test_report_renders_and_logs_jsonl(tmp_path):
    path = tmp_path / "run.jsonl"
    w, _ = _loop(False, every=1, log=str(path), steps=3)
    report = w.report()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    assert report.to_dict()["history"] == lines
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(report)
    out = console.file.getvalue()
    assert "net_dense0" in out and "gradient norm per layer" in out
    # dead ReLU units come from the loop's own forward pass (not hybridized)
    assert all(r.layers[0].dead_relu is not None for r in report.history)


def test_exploding_gradients_warn():
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    net = nn.Dense(3, in_units=2, prefix="big_")
    net.initialize(mx.init.Constant(1e4))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.0})
    w = pi.watch(net)
    with autograd.record():
        loss = (net(nd.ones((2, 2))) ** 2).sum()
    loss.backward()
    trainer.step(1)
    record = w.step(loss)
    assert record is not None and any("exploding" in x for x in record.warnings)


def test_watch_refuses_what_is_not_a_block():
    with pytest.raises(OptionError, match=r"pi\.watch takes a Gluon Block, got dict"):
        pi.watch({})
    with pytest.raises(OptionError, match="every must be a positive integer"):
        import mxnet  # noqa: F401  (is_block needs it loaded to recognise a Block)
        from mxnet.gluon import nn

        pi.watch(nn.Dense(2), every=0)


def test_an_activation_relu_layer_is_measured_as_train_measures_it():
    # the rows and dead fractions of train's rule (a layer reading parameters, or a ReLU
    # layer): an Activation('relu') child is its own row, its dead units from the loop's
    # forward pass, counted here by hand from the same output
    import mxnet as mx
    import numpy as np
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    mx.random.seed(3)
    net = nn.Sequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(32), nn.Activation("relu"), nn.Dropout(0.5), nn.Dense(4))
    net.initialize(mx.init.Normal(1.0))
    seen = []
    net[1].register_forward_hook(lambda block, args, out: seen.append(out.asnumpy()))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01})
    x, y = nd.random.normal(shape=(8, 5)), nd.random.normal(shape=(8, 4))
    with pi.watch(net) as w:
        with autograd.record():
            loss = gluon.loss.L2Loss()(net(x), y)
        loss.backward()
        trainer.step(8)
        record = w.step(loss)
    assert [layer.path for layer in record.layers] == ["0", "1", "3"]
    dead = float(np.mean(np.all(seen[0].reshape(8, -1) == 0, axis=0)))
    assert 0 < dead < 1
    assert record.layers[1].dead_relu == pytest.approx(dead)
    assert record.layers[1].grad_l2 is None
