"""Every activation of an exported graph is measured: Activation, Crop, elemwise_add and
softmax nodes have rows (their statistics, dead ReLUs included), and a multi-output op
(SliceChannel) has a row per output with its own shape and memory. Checked against raw
MXNet's internal outputs on the same weights and input."""

from __future__ import annotations

import json
import math

import mxnet as mx
import numpy as np
import pytest


def _graph(tmp_path):
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), pad=(1, 1), name="conv0")
    relu = mx.sym.Activation(conv, act_type="relu", name="relu0")
    parts = mx.sym.SliceChannel(relu, num_outputs=2, axis=1, name="split0")
    added = mx.sym.elemwise_add(parts[0], parts[1], name="add0")
    crop = mx.sym.Crop(added, h_w=(4, 4), center_crop=True, name="crop0")
    flat = mx.sym.Flatten(crop, name="flat0")
    fc = mx.sym.FullyConnected(flat, num_hidden=3, name="fc0")
    out = mx.sym.softmax(fc, name="prob0")
    prefix = tmp_path / "rows"
    out.save(f"{prefix}-symbol.json")
    rng = np.random.default_rng(0)
    params = {
        "arg:conv0_weight": mx.nd.array(rng.standard_normal((4, 1, 3, 3)) * 0.5),
        "arg:conv0_bias": mx.nd.array(rng.standard_normal(4) * 0.5),
        "arg:fc0_weight": mx.nd.array(rng.standard_normal((3, 32)) * 0.3),
        "arg:fc0_bias": mx.nd.zeros(3),
    }
    mx.nd.save(f"{prefix}-0000.params", params)
    x = rng.standard_normal((2, 1, 6, 6)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    return out, params, x, prefix


def test_every_activation_has_a_row_measured_against_raw_mxnet(cli, tmp_path):
    sym, params, x, prefix = _graph(tmp_path)
    result = cli(
        "summary",
        f"{prefix}-symbol.json",
        "--input",
        f"data={tmp_path / 'x.npy'}",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = {r["path"]: r for r in out["layers"]}
    assert list(rows) == [
        "conv0",
        "relu0",
        "split0",
        "split0_output1",
        "add0",
        "crop0",
        "flat0",
        "fc0",
        "prob0",
    ]
    internals = sym.get_internals()
    names = [
        "conv0_output",
        "relu0_output",
        "split0_output0",
        "split0_output1",
        "add0_output",
        "crop0_output",
        "flat0_output",
        "fc0_output",
        "prob0_output",
    ]
    raw = mx.gluon.SymbolBlock(mx.sym.Group([internals[n] for n in names]), [mx.sym.var("data")])
    raw.collect_params().load_dict({k.split(":", 1)[1]: v for k, v in params.items()})
    values = [y.asnumpy().astype(np.float64) for y in raw(mx.nd.array(x))]
    for (path, row), value in zip(rows.items(), values):
        assert tuple(row["output_shape"]) == value.shape, path
        assert row["activation_bytes"] == value.size * 4, path
        assert row["stats"]["mean"] == pytest.approx(value.mean(), rel=1e-5, abs=1e-7), path
        assert row["stats"]["std"] == pytest.approx(value.std(), rel=1e-4, abs=1e-7), path
    relu = values[1].reshape(2, -1)
    assert rows["relu0"]["activation"] == "relu"
    assert rows["relu0"]["stats"]["dead"] == pytest.approx(float(np.mean(relu == 0)))
    assert rows["relu0"]["stats"]["dead_units"] == int(np.count_nonzero(~relu.any(axis=0)))
    # both halves of the split: each its own shape and memory, adding up to the whole
    halves = [rows["split0"], rows["split0_output1"]]
    assert [tuple(r["output_shape"]) for r in halves] == [(2, 2, 6, 6)] * 2
    assert sum(r["activation_bytes"] for r in halves) == math.prod((2, 4, 6, 6)) * 4
    assert out["totals"]["activation_bytes"] == 4 * (x.size + sum(v.size for v in values))


def test_train_measures_a_graphs_dead_relus(tmp_path):
    from paraminspect.actions.train.relu import ReluProbe
    from paraminspect.model.sources import open_source

    _sym, params, x, prefix = _graph(tmp_path)
    source = open_source(f"{prefix}-symbol.json", {"data": (2, 1, 6, 6)})
    model = source.build(seed=0)
    probe = ReluProbe(model)
    assert probe.note is None
    relu_row = next(layer.index for layer in model.layout.layers if layer.name == "relu0")
    assert probe.indices == (relu_row,)
    fractions = probe(mx.nd.array(x))
    raw = mx.nd.relu(
        mx.nd.Convolution(
            mx.nd.array(x),
            params["arg:conv0_weight"],
            params["arg:conv0_bias"],
            num_filter=4,
            kernel=(3, 3),
            pad=(1, 1),
        )
    ).asnumpy()
    dead = float(np.mean(np.all(raw.reshape(2, -1) == 0, axis=0)))
    assert fractions == {relu_row: pytest.approx(dead)}
