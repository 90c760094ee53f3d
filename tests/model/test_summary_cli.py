"""``summary`` on graphs, the zoo and factories, checked against raw MXNet and hand counts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_mobilefacenet_shapes_and_macs_against_infer_shape(cli, mobilefacenet):
    import mxnet as mx

    symbol, _ = mobilefacenet
    out = _json(
        cli("summary", symbol, "--input", "data=2x3x112x112", "--shapes-only", "--format", "json")
    )
    assert out["model"]["kind"] == "symbol" and out["ran"] is False
    sym = mx.sym.load(symbol)
    internals = sym.get_internals()
    _, shapes, _ = internals.infer_shape(data=(2, 3, 112, 112))
    by_output = dict(zip(internals.list_outputs(), map(tuple, shapes)))
    arg_shape = dict(
        zip(internals.list_arguments(), map(tuple, internals.infer_shape(data=(2, 3, 112, 112))[0]))
    )
    rows = {r["name"]: r for r in out["layers"]}
    for name, row in rows.items():
        assert tuple(row["output_shape"]) == by_output[f"{name}_output"]
    # MACs by hand: a convolution does prod(out) * (in_channels/groups) * kh * kw
    conv = rows["conv_1_conv2d"]
    w = arg_shape["conv_1_conv2d_weight"]
    assert conv["macs"] == math.prod(conv["output_shape"]) * w[1] * w[2] * w[3]
    assert conv["macs"] == 2 * 64 * 56 * 56 * 3 * 3 * 3
    dw = rows["conv_2_dw_conv2d"]  # depthwise: 1 input channel per group
    assert dw["macs"] == 2 * 64 * 56 * 56 * 1 * 3 * 3
    fc = rows["pre_fc1"]  # FullyConnected (fc1 is the BatchNorm after it)
    assert fc["type"] == "FullyConnected"
    assert fc["macs"] == 2 * 128 * arg_shape["fc1_weight"][1]  # its weight is named fc1_weight
    assert out["totals"]["unique"] == 1_022_848


def test_mobilefacenet_runs_with_statistics(cli, mobilefacenet, tmp_path):
    import mxnet as mx

    symbol, params = mobilefacenet
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    out = _json(cli("summary", symbol, "--input", f"data={tmp_path / 'x.npy'}", "--format", "json"))
    assert out["ran"] is True
    net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
    y = net(mx.nd.array(x)).asnumpy()
    last = out["layers"][-1]
    assert last["name"] == "fc1"
    assert last["stats"]["mean"] == pytest.approx(float(y.mean()), rel=1e-4, abs=1e-6)
    assert last["stats"]["std"] == pytest.approx(float(y.std()), rel=1e-4)


def test_zoo_resnet18_totals_and_tree(cli):
    out = _json(cli("summary", "zoo:resnet18_v1", "--shapes-only", "--format", "json"))
    assert out["totals"]["unique"] == 11_699_112
    assert out["totals"]["trainable"] == 11_689_512
    assert out["layers"][-1]["output_shape"] == [1, 1000]
    shallow = _json(
        cli("summary", "zoo:resnet18_v1", "--shapes-only", "--depth", "1", "--format", "json")
    )
    assert [r["path"] for r in shallow["layers"]] == ["features", "output"]
    assert sum(r["params"] for r in shallow["layers"]) == 11_699_112
    # forward MACs of resnet18 at 224x224: 1.814 G as torchinfo / fvcore count them
    assert out["totals"]["forward_macs"] == pytest.approx(1.8e9, rel=0.02)


def test_factory_tree_with_sharing(cli, factory_file):
    out = _json(cli("summary", f"{factory_file}:build", "--input", "data=3x4", "--format", "json"))
    rows = {r["path"]: r for r in out["layers"]}
    assert rows["1.first"]["depth"] == 1 and rows["1"]["depth"] == 0
    assert rows["1.second"]["shares_with"] == rows["1.first"]["index"]
    assert rows["0"]["macs"] == 3 * 8 * 4 and rows["2"]["macs"] == 3 * 2 * 8
    assert rows["1.first"]["macs"] == rows["1.second"]["macs"] == 3 * 8 * 8
    assert out["ran"] is True and rows["2"]["stats"] is not None


def test_spec_flags_refused_on_models(cli):
    result = cli("summary", "zoo:resnet18_v1", "--batch", "4")
    assert result.exit_code == 2
    assert "--batch applies to YAML specs; for zoo:resnet18_v1 give the batch in --input" in (
        result.output
    )
    result = cli("summary", "mlp", "--input", "data=2x20")
    assert result.exit_code == 2
    # one path: --shapes-only and --depth work on a spec as on any source
    out = _json(cli("summary", "mlp", "--shapes-only", "--depth", "1", "--format", "json"))
    assert out["ran"] is False and [r["path"] for r in out["layers"]] == ["0", "1"]
