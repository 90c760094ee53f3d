"""``init``, ``set`` and ``run`` on real models; Block sources from Python."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paraminspect.errors import OptionError


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_check_on_mobilefacenet_conv_and_dense(cli, mobilefacenet):
    sel = "conv_1_conv2d_weight|conv_2_dw_conv2d_weight|fc1_weight"
    args = ["init", mobilefacenet[0], "--input", "data=1x3x112x112", "--method", "xavier"]
    out = _json(cli(*args, "--select", sel, "--check", "--seed", "2", "--format", "json"))
    rows = {r["name"]: r for r in out["parameters"]}
    assert set(rows) == {"conv_1_conv2d_weight", "conv_2_dw_conv2d_weight", "fc1_weight"}
    assert out["check"]["passed"] is True and len(out["check"]["results"]) == 3


def test_init_xavier_bounds_by_hand(cli, mobilefacenet):
    # conv_1_conv2d_weight (64, 3, 3, 3): fan_in 27, fan_out 576, avg 301.5, scale sqrt(3/301.5)
    args = ["init", mobilefacenet[0], "--input", "data=1x3x112x112", "--method", "xavier"]
    out = _json(cli(*args, "--select", "conv_1_conv2d_weight", "--stats", "--format", "json"))
    stats = out["parameters"][0]["stats"]
    scale = float(np.sqrt(3 / ((27 + 576) / 2)))
    assert -scale <= stats["min"] < stats["max"] <= scale
    assert stats["abs_max"] == pytest.approx(scale, rel=0.01)


def test_xavier_refused_on_a_bias(cli, mobilefacenet):
    args = ["init", mobilefacenet[0], "--input", "data=1x3x112x112", "--method", "xavier"]
    result = cli(*args, "--select", "pre_fc1_bias")
    assert result.exit_code == 2
    assert "xavier needs a weight of 2 or more dimensions (it computes fans), but pre_fc1_bias" in (
        result.output
    )


def test_set_scale_on_zoo_against_fresh_values(cli):
    sel = "resnetv1\\d+_conv0_weight"
    base = _json(cli("show", "zoo:resnet18_v1", "--select", sel, "--seed", "5", "--stats",
                     "--format", "json"))  # fmt: skip
    out = _json(cli("set", "zoo:resnet18_v1", "--select", sel, "--scale", "2", "--seed", "5",
                    "--stats", "--format", "json"))  # fmt: skip
    a, b = base["parameters"][0]["stats"], out["parameters"][0]["stats"]
    assert b["l2"] == pytest.approx(2 * a["l2"], rel=1e-6)


def test_run_on_a_model_has_no_steps(cli, factory_file):
    out = _json(cli("run", f"{factory_file}:build", "--input", "data=2x4", "--format", "json"))
    assert any("has no steps" in n for n in out["notes"])


def test_block_source_needs_inputs():
    from mxnet.gluon import nn

    from paraminspect.model.sources import open_source

    with pytest.raises(OptionError, match=r"has no default input shape; give inputs="):
        open_source(nn.Dense(2))


def test_block_source_shapes_only_allocates_nothing():
    from mxnet.gluon import nn

    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions

    net = nn.HybridSequential()
    net.add(nn.Dense(4), nn.Dense(2))
    net.initialize()  # the weights are deferred: their input width comes with the data
    report = show(net, ViewOptions(), shapes_only=True, inputs={"data": (5, 3)})
    assert [r.shape for r in report.parameters] == [(4, 3), (4,), (2, 4), (2,)]
    assert report.model.kind == "block"
    assert net[0].weight._data is None and net[1].weight._data is None


def test_show_check_on_a_fresh_zoo_model(cli):
    sel = "resnetv1\\d+_conv0_weight|resnetv1\\d+_batchnorm0_"
    out = _json(cli("show", "zoo:resnet18_v1", "--check", "--select", sel, "--format", "json"))
    inits = {r["name"].split("_", 1)[1]: r["init"] for r in out["parameters"]}
    assert inits["conv0_weight"] == "uniform(scale=0.07)"
    assert inits["batchnorm0_running_var"] == "one"  # MXNet's 'ones', the catalog's name
    assert out["check"]["passed"] is True and len(out["check"]["results"]) == 5


def test_show_check_refuses_loaded_values(cli, mobilefacenet):
    args = ["show", mobilefacenet[0], "--input", "data=1x3x112x112", "--check"]
    result = cli(*args, "--select", "fc1_weight")
    assert result.exit_code == 2
    assert (
        "--check needs values an initializer drew, but fc1_weight was loaded; re-initialize "
        "first (paraminspect init MODEL --method NAME --check)" in result.output
    )
