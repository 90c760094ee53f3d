"""``paraminspect summary``: every number against Block.summary, hand formulas or raw MXNet."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from typing import List, Tuple

import numpy as np
import pytest

from paraminspect.actions.layer_stats import activation_stats
from paraminspect.init.catalog import parse_param_pairs
from paraminspect.render.sparkline import log_range, log_sparkline
from tests.conftest import render_to_text

MIXED = """\
name: mixed
input: {shape: [3, 4, 5]}
layers:
  - {type: batchnorm}
  - {units: 16, activation: relu}
  - {type: dropout, rate: 0.5}
  - {type: layernorm}
  - {type: activation, activation: sigmoid}
  - {name: h, units: 16, activation: tanh}
  - {units: 16, activation: tanh, share: h}
  - {units: 7, use_bias: false}
"""

WIDE_NO_BIAS = """\
input: {shape: [5, 3]}
layers:
  - {units: 32, activation: softrelu, use_bias: false}
  - {name: a, units: 32}
  - {units: 32, share: a}
  - {units: 32, share: 2}
  - {units: 1, activation: sigmoid}
"""


def write(tmp_path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def summary_json(cli, *args: str) -> dict:
    r = cli("summary", *args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


# --------------------------------------------------------------------------- Block.summary


def block_summary(spec: str) -> Tuple[List[Tuple[str, str, int]], dict]:
    """Run Gluon's own Block.summary on the net paraminspect builds; parse what it prints."""
    from paraminspect.model.build import build_model
    from paraminspect.model.sources.spec import open_spec

    model = build_model(open_spec(spec), seed=0)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.net.summary(model.X)
    rows = []
    totals = {}
    for line in buf.getvalue().splitlines():
        m = re.match(r"^\s*(\S+)\s+(\(.*\))\s+(\d+)$", line)
        if m:
            rows.append((m.group(1), m.group(2), int(m.group(3))))
        m = re.match(r"^\s*(.+?):\s+(\d+)$", line)
        if m:
            totals[m.group(1).strip()] = int(m.group(2))
    return rows, totals


@pytest.mark.parametrize("which", ["mlp", "shared", "mixed", "wide"])
def test_shapes_and_counts_equal_block_summary(cli, tmp_path, which):
    spec = {"mixed": write(tmp_path, MIXED), "wide": write(tmp_path, WIDE_NO_BIAS)}.get(
        which, which
    )
    data = summary_json(cli, spec, "--seed", "0")
    rows, totals = block_summary(spec)
    assert rows[0][0] == "Input"
    assert rows[0][1] == str(tuple(data["model"]["input_shape"]))
    # Block.summary hooks every block, so a Dense with an activation also lists its inner
    # Activation child (just before the Dense row); keep the rows of the layers themselves.
    blocks = rows[1:]
    mine = []
    for layer in data["layers"]:
        if layer["type"] == "Dense" and layer["activation"]:
            act, blocks = blocks[0], blocks[1:]
            assert act[0].startswith("Activation-") and act[2] == 0
        mine.append(blocks[0])
        blocks = blocks[1:]
    assert blocks == []
    for layer, (kind, shape, count) in zip(data["layers"], mine):
        assert kind.startswith(layer["type"] + "-"), (kind, layer["type"])
        assert shape == str(tuple(layer["output_shape"]))
        assert count == layer["params"]
    t = data["totals"]
    assert totals["Total params"] == t["total"]
    assert totals["Unique parameters in model"] == t["unique"]
    assert totals["Shared params in forward computation graph"] == t["total"] - t["unique"]
    # Block.summary splits every use; only dense layers can be shared and their
    # parameters are all trainable, so its non-trainable count equals the unique split.
    assert totals["Non-trainable params"] == t["non_trainable"]
    assert totals["Trainable params"] == t["total"] - t["non_trainable"]
    # The shared layer's count is shown once: the unique column adds up to the unique total.
    assert sum(x["unique_params"] for x in data["layers"]) == t["unique"]


def test_block_summary_refuses_hybridized_nets_but_summary_works(cli):
    from mxnet import nd
    from mxnet.gluon import nn

    net = nn.Sequential()
    net.add(nn.Dense(4, activation="relu"))
    net.initialize()
    net.hybridize()
    X = nd.ones((2, 3))
    net(X)
    with pytest.raises(AssertionError, match="must not be hybridized"):
        net.summary(X)
    plain = summary_json(cli, "shared", "--seed", "3")
    hyb = summary_json(cli, "shared", "--seed", "3", "--hybridize")
    assert hyb["model"]["hybridized"] is True
    for a, b in zip(plain["layers"], hyb["layers"]):
        assert a["output_shape"] == b["output_shape"]
        assert b["stats"]["std"] == pytest.approx(a["stats"]["std"], rel=1e-5)


# --------------------------------------------------------------------------- MACs, memory


def test_macs_and_memory_by_hand_mlp(cli):
    data = summary_json(cli, "mlp", "--seed", "0")
    fwd = [2 * 20 * 256, 2 * 256 * 10]  # batch * in_width * units
    # dense0 has no trainable layer before it: weight gradient only; dense1 also dY W.
    bwd = [2 * 20 * 256, 2 * (2 * 256 * 10)]
    assert [x["macs"] for x in data["layers"]] == fwd
    assert [x["backward_macs"] for x in data["layers"]] == bwd
    t = data["totals"]
    assert (t["forward_macs"], t["backward_macs"]) == (15_360, 20_480)
    assert t["training_macs"] == 35_840
    assert t["param_bytes"] == (256 * 20 + 256 + 10 * 256 + 10) * 4 == 31_784
    assert t["grad_bytes"] == 31_784
    assert t["activation_bytes"] == (2 * 20 + 2 * 256 + 2 * 10) * 4
    assert [x["activation_bytes"] for x in data["layers"]] == [2 * 256 * 4, 2 * 10 * 4]


def test_macs_by_hand_mixed_and_batch_override(cli, tmp_path):
    data = summary_json(cli, write(tmp_path, MIXED), "--seed", "0", "--batch", "6")
    assert data["model"]["input_shape"] == [6, 4, 5]
    # batchnorm, dense(16) on the flattened 4*5, dropout, layernorm, sigmoid, h, h again, out 7
    fwd = [0, 6 * 20 * 16, 0, 0, 0, 6 * 16 * 16, 6 * 16 * 16, 6 * 16 * 7]
    assert [x["macs"] for x in data["layers"]] == fwd
    # batchnorm's gamma/beta are trainable, so even the first dense needs its input gradient
    assert [x["backward_macs"] for x in data["layers"]] == [2 * m for m in fwd]
    assert [x["output_shape"] for x in data["layers"]][:2] == [[6, 4, 5], [6, 16]]
    t = data["totals"]
    # batchnorm: gamma, beta (trainable), running_mean, running_var (not) on 4 channels
    assert t["non_trainable"] == 8
    assert t["grad_bytes"] == (t["unique"] - 8) * 4
    assert data["layers"][6]["shares_with"] == 5 and data["layers"][6]["unique_params"] == 0
    assert data["layers"][6]["params"] == 16 * 16 + 16


def test_grad_bytes_equal_mxnet_gradient_buffers(cli, tmp_path):
    from paraminspect.model.build import build_model
    from paraminspect.model.sources.spec import open_spec

    spec = write(tmp_path, MIXED)
    model = build_model(open_spec(spec), seed=0)
    buffers = sum(
        p.grad().size * 4 for p in model.net.collect_params().values() if p.grad_req != "null"
    )
    assert summary_json(cli, spec, "--seed", "0")["totals"]["grad_bytes"] == buffers


# --------------------------------------------------------------------------- statistics


def raw_deep_tanh(init, seed: int = 0) -> List[np.ndarray]:
    """The deep_tanh spec in plain MXNet, the book's order: initialize, X, forward."""
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import nn

    mx.random.seed(seed)
    net = nn.Sequential()
    for _ in range(20):
        net.add(nn.Dense(256, activation="tanh"))
    net.initialize(init)
    h = nd.random.uniform(shape=(64, 256))
    outs = []
    for block in net:
        h = block(h)
        outs.append(h.asnumpy())
    return outs


def test_three_regimes_on_deep_tanh(cli):
    import mxnet as mx

    data = summary_json(
        cli,
        "deep_tanh",
        "--seed",
        "0",
        "--compare",
        "xavier",
        "--compare",
        "uniform",
        "--compare",
        "normal:sigma=1",
    )
    runs = {run["label"]: run for run in data["compare"]}
    assert list(runs) == ["xavier", "uniform", "normal(sigma=1)"]
    raw = {
        "xavier": raw_deep_tanh(mx.init.Xavier()),
        "uniform": raw_deep_tanh(mx.init.Uniform()),
        "normal(sigma=1)": raw_deep_tanh(mx.init.Normal(1.0)),
    }
    for label, outs in raw.items():
        want = [float(o.astype(np.float64).std()) for o in outs]
        assert runs[label]["std_by_depth"] == pytest.approx(want, rel=1e-5)
        want_sat = [float((np.abs(o) > 0.99).mean()) for o in outs]
        got_sat = [s["saturated"] for s in runs[label]["stats"]]
        assert got_sat == pytest.approx(want_sat, abs=1e-9)
    xs = runs["xavier"]["std_by_depth"]
    us = runs["uniform"]["std_by_depth"]
    last_sat = runs["normal(sigma=1)"]["stats"][-1]["saturated"]
    assert xs[0] / 4 < xs[-1] < xs[0] * 4  # measured 0.4565 -> 0.1444
    assert us[0] / us[-1] > 1000  # measured 0.3291 -> 6.69e-05, about 4,900x
    assert 0.8 < last_sat < 0.95  # measured 86.5% with |a| > 0.99
    # the main table used the spec's own init (MXNet's default) on the same stream
    assert data["model"]["init"] == "uniform(scale=0.07)"
    assert data["std_by_depth"] == pytest.approx(us, rel=1e-6)


def test_method_and_param_apply_before_forward(cli):
    import mxnet as mx

    data = summary_json(cli, "deep_tanh", "--seed", "0", "--method", "normal", "--param", "sigma=1")
    assert data["model"]["init"] == "normal(sigma=1)"
    outs = raw_deep_tanh(mx.init.Normal(1.0))
    got = [layer["stats"]["std"] for layer in data["layers"]]
    assert got == pytest.approx([float(o.std(dtype=np.float64)) for o in outs], rel=1e-5)


def test_relu_dead_fraction_matches_raw_mxnet(cli):
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import nn

    data = summary_json(cli, "mlp", "--seed", "5")
    mx.random.seed(5)
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu"), nn.Dense(10))
    net.initialize()
    X = nd.random.uniform(shape=(2, 20))
    h = net[0](X).asnumpy()
    s = data["layers"][0]["stats"]
    assert s["dead"] == float((h == 0).mean())
    assert s["dead_units"] == int((~h.any(axis=0)).sum())
    assert s["saturated"] is None and data["layers"][1]["stats"]["dead"] is None


def test_activation_stats_definitions():
    s = activation_stats(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]]), "relu")
    assert (s.dead, s.dead_units, s.saturated) == (0.5, 1, None)
    # 0.99 itself is not saturated; float64 so the threshold is exact
    t = activation_stats(np.array([[-0.999, 0.99, 0.995, 0.0]]), "tanh")
    assert t.saturated == 0.5 and t.dead is None
    g = activation_stats(np.array([[0.005, 0.995, 0.5, 0.2]]), "sigmoid")
    assert g.saturated == 0.5
    n = activation_stats(np.array([[np.nan, np.inf, 1.0, 3.0]], dtype=np.float32), None)
    assert (n.nan, n.inf, n.mean, n.std) == (1, 1, 2.0, 1.0)


def test_sparkline():
    assert log_sparkline([1.0, 0.1, 0.01, 0.001]) == "█▆▃▁"
    # noise on a flat line stays flat (the range spans at least one decade)
    assert len(set(log_sparkline([0.956, 0.974, 0.972, 0.975]))) == 1
    assert log_sparkline([1.0, 0.0, float("nan")]) == "▄  "
    scale = log_range([1.0, 1e-4], [0.5, 0.3])
    assert log_sparkline([0.5, 0.3], scale) == "▇▇"


# --------------------------------------------------------------------------- too large


HUGE = """\
name: huge
input: {shape: [64, 1000000]}
layers:
  - {units: 100000, activation: relu}
  - {units: 10}
"""


def test_too_large_gives_plan_shapes_and_why_stats_are_missing(cli, tmp_path):
    spec = write(tmp_path, HUGE)
    data = summary_json(cli, spec)
    assert data["ran"] is False and data["std_by_depth"] is None
    assert data["missing_reason"].startswith("building this network would need about ")
    assert [x["output_shape"] for x in data["layers"]] == [[64, 100000], [64, 10]]
    assert [x["macs"] for x in data["layers"]] == [64 * 10**6 * 10**5, 64 * 10**5 * 10]
    assert all(x["stats"] is None for x in data["layers"])
    assert data["totals"]["unique"] == 10**6 * 10**5 + 10**5 + 10**5 * 10 + 10
    text = " ".join(cli("summary", spec).output.split())  # the note, wrapped at any width
    assert "note: activation statistics not computed: building this network would need" in text
    r = cli("summary", spec, "--compare", "xavier")
    assert r.exit_code == 1
    assert r.output.startswith("Error: --compare cannot run: building this network would need")


def test_too_large_never_imports_mxnet(tmp_path):
    spec = write(tmp_path, HUGE)
    code = (
        "import sys\n"
        "from paraminspect.cli import main\n"
        f"try:\n    main(['summary', {spec!r}, '--format', 'json'])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('mxnet' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "args,code,message",
    [
        (
            ["--param", "sigma=1"],
            2,
            "Error: Invalid value for '--param': --param needs --method (e.g. --method normal "
            "--param sigma=1)",
        ),
        (
            ["--method", "normal", "--param", "sigma"],
            2,
            "Error: Invalid value for '--param': 'sigma' is not KEY=VALUE (e.g. --param sigma=0.01)",
        ),
        (
            ["--method", "normal", "--param", "sigma=1", "--param", "sigma=2"],
            2,
            "Error: Invalid value for '--param': 'sigma' is given twice",
        ),
        (
            ["--method", "xavir"],
            2,
            "Error: Invalid value for '--method': unknown initializer 'xavir'; did you mean "
            "'xavier'? (known: bilinear, constant, lstmbias, msraprelu, myinit, normal, one, "
            "orthogonal, uniform, xavier, zero; see `paraminspect init --list`)",
        ),
        (
            ["--method", "normal", "--param", "sigma=-1"],
            2,
            "Error: Invalid value for '--param': normal parameter 'sigma' must be >= 0, got -1",
        ),
        (
            ["--compare", "normal:sgma=1"],
            2,
            "Error: Invalid value for '--compare': initializer 'normal' has no parameter "
            "'sgma'; did you mean 'sigma'? (allowed: sigma)",
        ),
        (
            ["--batch", "0"],
            2,
            "Error: Invalid value for '--batch': 0 is not in the range 1<=x<=100000000.",
        ),
    ],
)
def test_errors(cli, args, code, message):
    r = cli("summary", *args)
    assert r.exit_code == code
    assert r.output.strip().splitlines()[-1] == message
    assert "Traceback" not in r.output


def test_parse_param_pairs():
    assert parse_param_pairs(["sigma=1", " rnd_type = gaussian "]) == {
        "sigma": "1",
        "rnd_type": "gaussian",
    }
    assert parse_param_pairs([]) == {}


def test_json_schema(cli):
    data = summary_json(cli, "shared", "--seed", "0")
    assert set(data) == {
        "command",
        "model",
        "ran",
        "missing_reason",
        "saturation_threshold",
        "layers",
        "totals",
        "std_by_depth",
        "sparkline",
        "compare_seed",
        "compare",
        "notes",
        "log",
    }
    assert set(data["layers"][0]) == {
        "index",
        "path",
        "depth",
        "name",
        "type",
        "activation",
        "input_shape",
        "output_shape",
        "params",
        "unique_params",
        "trainable",
        "shares_with",
        "macs",
        "backward_macs",
        "activation_bytes",
        "stats",
        "hist",
    }
    assert set(data["layers"][0]["stats"]) == {
        "mean",
        "std",
        "min",
        "max",
        "zeros",
        "dead",
        "dead_units",
        "saturated",
        "nan",
        "inf",
    }
    assert len(data["sparkline"]) == len(data["layers"]) == len(data["std_by_depth"])
    assert data["compare"] == [] and data["compare_seed"] is None


def test_help_has_examples(cli):
    out = cli("summary", "--help").output
    assert "Examples:" in out and "paraminspect summary deep_tanh --compare xavier" in out


def test_golden_summary_table(golden):
    from paraminspect.actions.summary import summary
    from paraminspect.render.summary import print_summary

    report = summary("shared", seed=0)
    golden("summary_shared.txt", render_to_text(print_summary, report))


def test_method_keeps_layer_own_init_and_says_so(cli, tmp_path):
    spec = write(
        tmp_path,
        "input: {shape: [4, 6]}\n"
        "layers:\n"
        "  - {units: 5, init: {weight: {method: constant, value: 0}}}\n"
        "  - {units: 3}\n",
    )
    data = summary_json(cli, spec, "--seed", "0", "--method", "normal", "--param", "sigma=1")
    # layer 0 keeps its own constant-0 weight (and zero bias): its output is exactly 0
    assert data["layers"][0]["stats"]["zeros"] == 1.0
    assert data["notes"] == [
        "--method replaces the net-wide initializer; layers with their own init in the spec keep it"
    ]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["summary", "--compare", "normal:sigma"],
            "Error: Invalid value for '--compare': 'sigma' is not KEY=VALUE "
            "(e.g. --compare normal:sigma=1)",
        ),
        (
            ["init", "--method", "normal", "--param", "1x=2"],
            "Error: Invalid value for '--param': '1x=2' is not KEY=VALUE (e.g. --param sigma=0.01)",
        ),
        (
            ["init", "--method", "normal", "--param", "sigma=1", "--param", "sigma=2"],
            "Error: Invalid value for '--param': 'sigma' is given twice",
        ),
    ],
)
def test_one_key_value_parser_for_init_and_summary(cli, args, message):
    r = cli(*args)
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == message


def test_hist_of_every_layer_output_matches_raw_mxnet(cli):
    """--hist: each layer's histogram is numpy.histogram of that layer's output in a raw
    Gluon replay (same seed, same draws); the table draws one line per layer."""
    import mxnet as mx
    from mxnet import nd
    from mxnet.gluon import nn

    data = summary_json(cli, "mlp", "--seed", "7", "--hist", "--bins", "9")
    mx.random.seed(7)
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu"), nn.Dense(10))
    net.initialize()
    X = nd.random.uniform(shape=(2, 20))
    h0 = net[0](X)
    outputs = [h0.asnumpy(), net[1](h0).asnumpy()]
    for layer, out in zip(data["layers"], outputs):
        x = out.astype(np.float64)
        counts, edges = np.histogram(x, bins=9, range=(x.min(), x.max()))
        assert layer["hist"]["counts"] == counts.tolist()
        np.testing.assert_allclose(layer["hist"]["edges"], edges, rtol=1e-12)
        assert layer["hist"]["of"] == "output"
    assert summary_json(cli, "mlp")["layers"][0]["hist"] is None
    out = cli("summary", "deep_tanh", "--seed", "0", "--hist", "--bins", "12").stdout
    assert "each layer's output (12 bins)" in out
    strips = re.findall(r"\|[ ▁▂▃▄▅▆▇█]{12}\|", out)
    assert len(strips) == 20  # deep_tanh's 20 layers
