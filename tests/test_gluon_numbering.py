"""Layers are labelled as Gluon numbers them, the same in every command, the API and JSON.

The issue's net: a Sequential of Conv2D(activation='relu'), MaxPool2D, Flatten, Dense, Dense.
Its first Dense is ``net[3]``: layer ``3`` everywhere (the Conv2D's own Activation child is
part of the Conv2D, not a layer), and ``--layer 3`` selects it. Statistics are checked
against raw MXNet on the same Block.
"""

from __future__ import annotations

import json
import textwrap

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import paraminspect as pi

FACTORY = """
    from mxnet.gluon import nn


    def build():
        net = nn.HybridSequential(prefix="net_")
        with net.name_scope():
            net.add(
                nn.Conv2D(4, 3, activation="relu"),
                nn.MaxPool2D(),
                nn.Flatten(),
                nn.Dense(8, activation="relu"),
                nn.Dense(3),
            )
        return net
"""


@pytest.fixture
def factory(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(textwrap.dedent(FACTORY))
    return f"{path}:build"


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_layer_3_is_net_3_in_show_summary_and_grad(cli, factory):
    args = ["--input", "data=2x1x8x8", "--format", "json"]
    shown = _json(cli("show", factory, "--layer", "3", *args))
    assert [x["path"] for x in shown["model"]["layers"]] == ["0", "1", "2", "3", "4"]
    assert [x["name"] for x in shown["model"]["layers"]][3] == "net_dense0"
    assert [p["name"] for p in shown["parameters"]] == ["net_dense0_weight", "net_dense0_bias"]
    assert all(p["layers"] == ["3"] for p in shown["parameters"])
    # a name and a negative index pick the same layer
    by_name = _json(cli("show", factory, "--layer", "net_dense0", *args))
    assert [p["name"] for p in by_name["parameters"]] == ["net_dense0_weight", "net_dense0_bias"]
    table = cli("show", factory, "--layer", "3", "--input", "data=2x1x8x8")
    assert table.exit_code == 0, table.output
    rows = [line.split() for line in table.stdout.splitlines() if "net_dense0_" in line]
    assert [r[:2] for r in rows] == [["3", "(net_dense0)"]] * 2
    summary = _json(cli("summary", factory, *args))
    assert [r["path"] for r in summary["layers"]] == ["0", "1", "2", "3", "4"]
    assert summary["layers"][0]["activation"] == "relu"
    assert summary["layers"][0]["stats"]["dead"] is not None  # the Conv2D's ReLU, measured
    grad = _json(cli("grad", factory, "--layer", "3", "--loss", "l2", *args))
    assert [p["layers"] for p in grad["parameters"]] == [["3"], ["3"]]


def _issue_net():
    net = nn.HybridSequential()
    net.add(
        nn.Conv2D(4, 3, activation="relu"),
        nn.MaxPool2D(),
        nn.Flatten(),
        nn.Dense(8, activation="relu"),
        nn.Dense(3),
    )
    mx.random.seed(4)
    net.initialize(mx.init.Xavier())
    return net


def test_api_rows_are_gluon_children_measured_against_raw_mxnet():
    net = _issue_net()
    x = mx.nd.array(np.random.default_rng(2).standard_normal((3, 1, 8, 8)), dtype="float32")
    report = pi.summary(net, x)
    assert [r.path for r in report.layers] == ["0", "1", "2", "3", "4"]
    h = x
    for i, row in enumerate(report.layers):
        h = net[i](h)  # raw MXNet: each child on its input, net[i] is row i
        values = h.asnumpy().astype(np.float64)
        assert row.out_shape == values.shape
        assert row.stats.mean == pytest.approx(values.mean(), rel=1e-5, abs=1e-7)
        if i in (0, 3):  # Conv2D/Dense(activation='relu'): the ReLU on the parent's row
            flat = values.reshape(values.shape[0], -1)
            assert row.stats.dead == pytest.approx(float(np.mean(values == 0)))
            assert row.stats.dead_units == int(np.count_nonzero(~flat.any(axis=0)))
    shown = pi.show(net, x, layer=3)
    assert [p.name for p in shown.parameters] == [net[3].weight.name, net[3].bias.name]
    assert shown.model.label_of(3).startswith("3 (")
    as_dict = shown.to_dict()
    assert [p["layers"] for p in as_dict["parameters"]] == [["3"], ["3"]]


def test_nested_paths_select_and_label():
    outer = nn.HybridSequential()
    inner = nn.HybridSequential()
    inner.add(nn.Dense(5, activation="tanh"), nn.Dense(4))
    outer.add(nn.Dense(6), inner, nn.Dense(2))
    outer.initialize()
    report = pi.show(outer, (2, 3), layer="1.1")
    assert [p.name for p in report.parameters] == [inner[1].weight.name, inner[1].bias.name]
    d = report.to_dict()
    paths = [x["path"] for x in d["model"]["layers"]]
    assert paths == ["0", "1", "1.0", "1.1", "2"]  # no '1.0.act': part of the Dense
    assert [p["layers"] for p in d["parameters"]] == [["1.1"], ["1.1"]]


def test_a_wrong_nested_path_names_the_paths():
    from paraminspect.errors import OptionError

    outer = nn.HybridSequential()
    inner = nn.HybridSequential()
    inner.add(nn.Dense(5), nn.Dense(4))
    outer.add(nn.Dense(6), inner, nn.Dense(2))
    outer.initialize()
    with pytest.raises(OptionError, match=r"no layer is named '1\.3'; did you mean '1\.1'\? "):
        pi.show(outer, (2, 3), layer="1.3")
    with pytest.raises(OptionError, match=r"\(paths: 1\.0, 1\.1; names: "):
        pi.show(outer, (2, 3), layer="1.3")
