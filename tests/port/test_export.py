"""export: every trap of MXNet's exporter, every MODEL form, checked independently:
the written file is run here in onnxruntime and held against MXNet's own loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.model import kinds
from tests.port import runs
from tests.port.conftest import json_out

# float16 is refused (see below); ctc_only's prediction is no head of the raw graph (its
# own test computes it)
KINDS = [k for k in kinds.BUILDERS if k not in ("half", "ctc_only")]


@pytest.mark.parametrize("name", KINDS)
def test_every_export_kind_runs_like_mxnet(cli, kind, tmp_path, name):
    export = kind(name)
    out = tmp_path / f"{name}.onnx"
    r = cli("export", export.symbol, str(out), *export.input_args(), "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert data["kept"] and data["matches"] and out.stat().st_size == data["bytes"]
    arrays = runs.feed(export)
    want = runs.mxnet_outputs(export, arrays)
    got = runs.onnx_outputs(str(out), {n: arrays[n] for n in export.inputs})
    assert got and set(got) <= set(want)
    assert sorted(got) == sorted(o["name"] for o in data["outputs"])
    for name_, value in got.items():
        a = want[name_]
        assert np.abs(a - value.reshape(a.shape)).max() <= 1e-4 * np.abs(a).max() + 1e-6, name_


@pytest.mark.parametrize("name", ["slice5", "prelu", "upsample", "old_module"])
def test_opset_12_files_are_stamped_and_run(cli, kind, tmp_path, name):
    import onnx

    export = kind(name)
    out = tmp_path / "m.onnx"
    r = cli("export", export.symbol, str(out), *export.input_args(), "--opset", "12")
    assert r.exit_code == 0, r.output
    model = onnx.load(str(out))
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 12)]
    assert model.ir_version == 7
    arrays = runs.feed(export)
    want = runs.mxnet_outputs(export, arrays)
    for name_, value in runs.onnx_outputs(str(out), {n: arrays[n] for n in export.inputs}).items():
        np.testing.assert_allclose(
            value.reshape(want[name_].shape), want[name_], rtol=1e-4, atol=1e-5
        )


def test_prelu_slopes_broadcast_over_channels(cli, kind, tmp_path):
    import onnx
    from onnx import numpy_helper

    export = kind("prelu")
    out = tmp_path / "p.onnx"
    r = cli("export", export.symbol, str(out), *export.input_args(), "--format", "json")
    assert r.exit_code == 0, r.output
    assert any(f.startswith("PReLU: 1 slope reshaped") for f in json_out(r)["fixes"])
    slopes = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert slopes["prelu0_gamma"].shape == (4, 1, 1)


def test_fix_gamma_is_written_as_ones(cli, kind, tmp_path):
    import onnx
    from onnx import numpy_helper

    export = kind("bn_fixed")
    assert list(export.extra["gamma"]) == [0.5, 2.0, -1.5]  # stored; MXNet computes with 1
    out = tmp_path / "g.onnx"
    r = cli("export", export.symbol, str(out), *export.input_args(), "--format", "json")
    assert r.exit_code == 0, r.output
    assert any(
        "3 of them" not in f and "1 of them stored other values" in f for f in json_out(r)["fixes"]
    )
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert (inits["bn0_gamma"] == 1).all()
    free = kind("bn_free")  # fix_gamma=False: the stored gamma is the one used
    r = cli("export", free.symbol, str(tmp_path / "f.onnx"), *free.input_args())
    assert r.exit_code == 0, r.output
    inits = {
        i.name: numpy_helper.to_array(i)
        for i in onnx.load(str(tmp_path / "f.onnx")).graph.initializer
    }
    assert list(inits["bn0_gamma"]) == [0.5, 2.0, -1.5]


@pytest.mark.parametrize(
    "name, dropped, outputs",
    [
        ("ctc", ["ctcloss (MakeLoss of CTCLoss): dropped"], ["pred_output"]),
        ("ctc_only", ["ctc (CTCLoss): dropped"], ["tnc_output"]),
        (
            "softmax",
            ["softmax (SoftmaxOutput): its label dropped, the output is softmax(data)"],
            ["softmax_output"],
        ),
    ],
)
def test_loss_heads_are_left_out_and_named(cli, kind, tmp_path, name, dropped, outputs):
    import onnx

    export = kind(name)
    out = tmp_path / f"{name}.onnx"
    r = cli("export", export.symbol, str(out), *export.input_args(), "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert data["dropped_heads"] == dropped
    assert [o["name"] for o in data["outputs"]] == outputs
    assert [i.name for i in onnx.load(str(out)).graph.input] == list(export.inputs)  # no label


def test_ctc_only_outputs_the_scores_the_loss_reads(cli, kind, tmp_path):
    import mxnet as mx

    export = kind("ctc_only")
    out = tmp_path / "c.onnx"
    assert cli("export", export.symbol, str(out), *export.input_args()).exit_code == 0
    arrays = runs.feed(export)
    params = {k[4:]: v for k, v in mx.nd.load(export.params).items()}
    fc = mx.nd.FullyConnected(
        mx.nd.array(arrays["data"]), params["fc1_weight"], params["fc1_bias"], num_hidden=12
    )
    want = mx.nd.transpose(fc.reshape((-1, 4, 3)), axes=(1, 0, 2)).asnumpy()
    (got,) = runs.onnx_run(str(out), {"data": arrays["data"]})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_float16_weights_are_refused_with_the_reason(cli, tmp_path):
    import mxnet as mx

    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    sym.save(str(tmp_path / "h-symbol.json"))
    mx.nd.save(
        str(tmp_path / "h-0000.params"),
        {
            "arg:fc_weight": mx.nd.ones((2, 3), dtype="float16"),
            "arg:fc_bias": mx.nd.zeros((2,), dtype="float16"),
        },
    )
    r = cli("export", str(tmp_path / "h-symbol.json"), str(tmp_path / "h.onnx"), "--input=data=1x3")
    assert r.exit_code == 1
    assert "has float16 weights (fc_weight, fc_bias); MXNet on CPU cannot run float16" in r.output
    assert not (tmp_path / "h.onnx").exists()


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
    mfn = kinds.Export(
        "mfn",
        mobilefacenet,
        mobilefacenet.replace("-symbol.json", "-0000.params"),
        {"data": (1, 3, 112, 112)},
    )
    (want,) = runs.mxnet_outputs(mfn, feed).values()
    (got,) = runs.onnx_run(str(out), feed)
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
    (got,) = runs.onnx_run(str(tmp_path / "b.onnx"), {"data": x.asnumpy()})
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


def test_dynamic_batch_is_checked_on_a_second_batch_size(cli, kind, tmp_path):
    export = kind("prelu")
    out = tmp_path / "d.onnx"
    args = (export.symbol, str(out), *export.input_args(), "--dynamic-batch", "--format", "json")
    r = cli("export", *args)
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert [o["batch"] for o in data["outputs"]] == [2, 3]
    feed = {"data": np.random.default_rng(2).normal(size=(5, 3, 6, 6)).astype(np.float32)}
    (got,) = runs.onnx_run(str(out), feed)
    (want,) = runs.mxnet_outputs(export, feed).values()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    r = cli("export", *args[:-2], "--force")
    assert "matches MXNet on 1 output at batch sizes 2 and 3" in r.output


def test_a_bad_opset_is_a_usage_error(cli, tmp_path):
    r = cli("export", "mlp", str(tmp_path / "m.onnx"), "--opset", "11")
    assert r.exit_code == 2 and "'11' is not one of '12', '13'" in r.output
    assert not Path(tmp_path / "m.onnx").exists()


def test_a_params_file_that_lacks_a_weight_is_named(cli, kind, tmp_path):
    import mxnet as mx

    export = kind("prelu")
    params = mx.nd.load(export.params)
    del params["arg:prelu0_gamma"]
    partial = tmp_path / "partial.params"
    mx.nd.save(str(partial), params)
    out = str(tmp_path / "x.onnx")
    r = cli("export", export.symbol, out, *export.input_args(), "--load", str(partial))
    assert r.exit_code == 1
    assert "lacks 1 parameter of" in r.output and "(prelu0_gamma)" in r.output


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
