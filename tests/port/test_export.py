"""export: every trap of MXNet's exporter, every MODEL form, checked independently:
the written file is run here in onnxruntime and held against MXNet's own loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.port import nets
from tests.port.conftest import json_out


def _feed(inputs, seed=1):
    rng = np.random.default_rng(seed)
    out = {}
    for text in inputs:
        name, shape = text.split("=")
        out[name] = rng.uniform(-1, 1, [int(d) for d in shape.split("x")]).astype(np.float32)
    return out


@pytest.mark.parametrize("opset", ["12", "13"])
@pytest.mark.parametrize("name", ["prelu", "slice", "fix_gamma", "old"])
def test_a_trap_exports_and_runs_like_mxnet(cli, trap, tmp_path, name, opset):
    symbol, inputs = trap(name)
    out = tmp_path / f"{name}.onnx"
    r = cli(
        "export",
        symbol,
        str(out),
        *[f"--input={i}" for i in inputs],
        "--opset",
        opset,
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert data["kept"] and data["matches"] and data["opset"] == int(opset)
    assert out.stat().st_size == data["bytes"]
    import onnx

    model = onnx.load(str(out))
    assert [o.version for o in model.opset_import] == [int(opset)]
    feed = _feed(inputs)
    want = nets.mxnet_predict(symbol, feed)
    got = nets.onnx_run(str(out), feed)
    assert len(got) == len(want)
    for a, b in zip(want, got):
        assert np.abs(a - b.reshape(a.shape)).max() <= 1e-4 * np.abs(a).max() + 1e-6


def test_prelu_slopes_broadcast_over_channels(cli, trap, tmp_path):
    import onnx
    from onnx import numpy_helper

    symbol, inputs = trap("prelu")
    out = tmp_path / "p.onnx"
    r = cli("export", symbol, str(out), f"--input={inputs[0]}", "--format", "json")
    assert r.exit_code == 0, r.output
    assert any(f.startswith("PReLU: 1 slope reshaped") for f in json_out(r)["fixes"])
    slopes = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert slopes["prelu_gamma"].shape == (4, 1, 1)


def test_fix_gamma_is_written_as_ones(cli, trap, tmp_path):
    import mxnet as mx
    import onnx
    from onnx import numpy_helper

    symbol, inputs = trap("fix_gamma")
    stored = mx.nd.load(symbol.replace("-symbol.json", "-0000.params"))["arg:bn_gamma"]
    assert (stored.asnumpy() == 3.0).all()  # the file holds 3, MXNet computes with 1
    out = tmp_path / "g.onnx"
    r = cli("export", symbol, str(out), f"--input={inputs[0]}", "--format", "json")
    assert r.exit_code == 0, r.output
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert (inits["bn_gamma"] == 1).all()


@pytest.mark.parametrize("name", ["ctc", "softmax"])
def test_loss_heads_are_left_out_and_named(cli, trap, tmp_path, name):
    symbol, inputs = trap(name)
    out = tmp_path / f"{name}.onnx"
    r = cli("export", symbol, str(out), f"--input={inputs[0]}", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    import onnx

    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["data"]  # no label input
    feed = _feed(inputs)
    got = nets.onnx_run(str(out), feed)
    import mxnet as mx

    x = mx.nd.array(feed["data"])
    params = mx.nd.load(symbol.replace("-symbol.json", "-0000.params"))
    w, b = params["arg:fc_weight"], params["arg:fc_bias"]
    scores = mx.nd.FullyConnected(x, w, b, num_hidden=w.shape[0])
    if name == "ctc":
        assert data["dropped_heads"] == ["ctc_loss (MakeLoss of CTCLoss): dropped"]
        want = mx.nd.softmax(scores.reshape((-1, 6, 5)), axis=-1).asnumpy()
    else:
        assert data["dropped_heads"] == [
            "softmax (SoftmaxOutput): its label dropped, the output is softmax(data)"
        ]
        want = mx.nd.softmax(scores, axis=1).asnumpy()
    assert len(got) == 1
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)


def test_a_ctc_graph_with_no_other_head_outputs_the_scores(tmp_path, cli):
    import mxnet as mx

    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=12, name="fc")
    tnc = mx.sym.transpose(mx.sym.Reshape(x, shape=(-1, 4, 3)), axes=(1, 0, 2), name="tnc")
    sym = mx.sym.contrib.ctc_loss(tnc, mx.sym.var("label"), name="ctc")
    f = nets.save_module(
        sym, tmp_path / "ctc1", {"data": (2, 5), "label": (2, 2)}, labels=("label",)
    )
    out = tmp_path / "c.onnx"
    r = cli("export", f, str(out), "--input=data=2x5", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert [o["name"] for o in data["outputs"]] == ["tnc_output"]
    assert data["outputs"][0]["shape"] == [4, 2, 3]


def test_mobilefacenet_exports_runs_and_matches(cli, mobilefacenet, tmp_path):
    out = tmp_path / "mfn.onnx"
    r = cli("export", mobilefacenet, str(out), "--input=data=1x3x112x112", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    (check,) = data["outputs"]
    assert check["name"] == "fc1_output" and check["match"]
    fixes = " ".join(data["fixes"])
    assert "PReLU: 33 slopes" in fixes and "fix_gamma: 1 BatchNorm gamma" in fixes
    assert "FullyConnected flatten=True" in fixes
    feed = {"data": np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)}
    (want,) = nets.mxnet_predict(mobilefacenet, feed)
    (got,) = nets.onnx_run(str(out), feed)
    assert np.abs(want - got).max() <= 1e-4 * np.abs(want).max()


FACTORY = """
from mxnet import nd
from mxnet.gluon import nn

def build():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.PReLU(), nn.Flatten(), nn.Dense(3))
    net.initialize()
    return net

class NotHybrid(nn.Block):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(2)

    def forward(self, x):
        return self.dense(nd.array(x.asnumpy().clip(0)))  # a trip through numpy

def plain():
    net = NotHybrid()
    net.initialize()
    return net
"""


def test_every_model_form_exports(cli, tmp_path):
    factory = tmp_path / "net.py"
    factory.write_text(FACTORY)
    forms = [
        ("mlp", []),
        (f"{factory}:build", ["--input=data=2x3x6x6"]),
        ("zoo:mobilenet0.25", ["--input=data=1x3x32x32"]),
    ]
    for i, (model, extra) in enumerate(forms):
        out = tmp_path / f"m{i}.onnx"
        r = cli("export", model, str(out), *extra, "--format", "json")
        assert r.exit_code == 0, (model, r.output)
        data = json_out(r)
        assert data["matches"] and out.exists(), model
        assert data["model"]["kind"] == (
            "spec"
            if model == "mlp"
            else model.split(":")[0]
            if model.startswith("zoo")
            else "factory"
        )


def test_a_block_that_cannot_be_hybridized_is_refused(cli, tmp_path):
    factory = tmp_path / "net.py"
    factory.write_text(FACTORY)
    out = tmp_path / "x.onnx"
    r = cli("export", f"{factory}:plain", str(out), "--input=data=2x3")
    assert r.exit_code == 1
    assert "cannot be hybridized, so it cannot be exported" in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_the_api_exports_a_live_block(tmp_path):
    import mxnet as mx
    from mxnet.gluon import nn

    import paraminspect as pi

    net = nn.HybridSequential()
    net.add(nn.Dense(5, activation="tanh"), nn.Dense(2))
    net.initialize()
    x = mx.nd.random.uniform(shape=(3, 4))
    report = pi.export(net, str(tmp_path / "b.onnx"), inputs={"data": x})
    assert report.matches and report.kept and report.kind == "block"
    (got,) = nets.onnx_run(str(tmp_path / "b.onnx"), {"data": x.asnumpy()})
    np.testing.assert_allclose(got, net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_an_existing_file_needs_force(cli, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    r = cli("export", "mlp", str(out))
    assert r.exit_code == 1 and "already exists; use --force" in r.output
    assert out.read_bytes() == b"old"
    r = cli("export", "mlp", str(out), "--force")
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:3] != b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left


def test_a_file_that_does_not_match_is_not_kept(cli, mobilefacenet, tmp_path):
    out = tmp_path / "m.onnx"
    args = (mobilefacenet, str(out), "--input=data=1x3x112x112", "--rtol", "0", "--atol", "0")
    r = cli("export", *args, "--format", "json")
    data = json_out(r)
    assert data["outputs"][0]["max_abs"] > 0  # float32 kernels differ in the last bits
    assert r.exit_code == 1 and not data["kept"] and not out.exists()
    assert list(tmp_path.iterdir()) == []
    r = cli("export", *args, "--keep-failed")
    assert r.exit_code == 1 and out.exists()
    assert "does not match MXNet" in r.output and "kept at" in r.output


def test_dynamic_batch_is_checked_on_a_second_batch_size(cli, trap, tmp_path):
    symbol, inputs = trap("prelu")
    out = tmp_path / "d.onnx"
    r = cli(
        "export", symbol, str(out), f"--input={inputs[0]}", "--dynamic-batch", "--format", "json"
    )
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert [o["batch"] for o in data["outputs"]] == [2, 3]
    feed = {"data": np.ones((5, 3, 8, 8), np.float32)}
    (got,) = nets.onnx_run(str(out), feed)
    (want,) = nets.mxnet_predict(symbol, feed)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_bad_opset_is_a_usage_error(cli, tmp_path):
    r = cli("export", "mlp", str(tmp_path / "m.onnx"), "--opset", "11")
    assert r.exit_code == 2 and "'11' is not one of '12', '13'" in r.output
    assert not Path(tmp_path / "m.onnx").exists()


def test_a_params_file_that_lacks_a_weight_is_named(cli, trap, tmp_path):
    import mxnet as mx

    symbol, inputs = trap("prelu")
    params = mx.nd.load(symbol.replace("-symbol.json", "-0000.params"))
    del params["arg:prelu_gamma"]
    partial = tmp_path / "partial.params"
    mx.nd.save(str(partial), params)
    r = cli(
        "export", symbol, str(tmp_path / "x.onnx"), f"--input={inputs[0]}", "--load", str(partial)
    )
    assert r.exit_code == 1
    assert "lacks 1 parameter of" in r.output and "(prelu_gamma)" in r.output


def test_load_gives_a_spec_its_weights(cli, tmp_path):
    saved = tmp_path / "w.params"
    assert cli("show", "mlp", "--seed", "5", "--save", str(saved)).exit_code == 0
    out = tmp_path / "m.onnx"
    r = cli("export", "mlp", str(out), "--load", str(saved), "--seed", "6", "--format", "json")
    assert r.exit_code == 0, r.output
    import mxnet as mx
    import onnx
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    stored = mx.nd.load(str(saved))
    np.testing.assert_array_equal(inits["dense0_weight"], stored["0.weight"].asnumpy())
