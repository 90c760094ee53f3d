"""Every kind of real export opens, and its numbers match raw MXNet and finite differences.

The models are built here (tests/model/kinds.py); each check compares the tool's names,
shapes, totals, MACs and gradients with ``SymbolBlock.imports`` + autograd, and
predict-mode gradients with central differences in float64.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from tests.model import kinds


def _json(result: Any) -> Dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _arrays(export: kinds.Export, folder: Path, seed: int = 1) -> Dict[str, np.ndarray]:
    """Inputs (labels as class indices) saved as .npy beside the export."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in export.all_inputs.items():
        if name in export.labels:
            high = 4  # every label kind here has 4 classes (CTC: blank 0 and 1..3)
            out[name] = rng.integers(1, high, shape).astype("float32")
        else:
            out[name] = rng.standard_normal(shape).astype("float32")
        np.save(folder / f"{name}.npy", out[name])
    return out


def _feed(export: kinds.Export, folder: Path, labels: bool = True) -> List[str]:
    names = export.all_inputs if labels else export.inputs
    return [a for n in names for a in ("--input", f"{n}={folder / (n + '.npy')}")]


def _grads(out: Dict[str, Any]) -> Dict[str, np.ndarray]:
    return {p["name"]: np.array(p["grad"]) for p in out["parameters"] if p.get("grad") is not None}


def _raw_params(export: kinds.Export) -> Dict[str, Any]:
    return {n: p.data() for n, p in kinds.raw_net(export).collect_params().items()}


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_rnn_export_opens_with_raw_names_shapes_and_gradients(cli, tmp_path, cell):
    export = kinds.build(cell, tmp_path)
    arrays = _arrays(export, tmp_path)
    raw = _raw_params(export)
    shown = _json(cli("show", export.symbol, *_feed(export, tmp_path), "--format", "json"))
    assert {p["name"]: tuple(p["shape"]) for p in shown["parameters"]} == {
        n: tuple(a.shape) for n, a in raw.items()
    }
    assert shown["totals"]["unique"] == sum(a.size for a in raw.values())
    # the four reshaped weights belong to the RNN op, not to their Reshape nodes
    rnn = [p for p in shown["parameters"] if "_l0_" in p["name"]]
    assert len(rnn) == 4 and len({tuple(p["layers"]) for p in rnn}) == 1
    out = _json(cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json"))
    loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    assert out["loss"]["value"] == pytest.approx(loss, rel=1e-5)
    for name, g in _grads(out).items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-4, atol=1e-6)


def test_softmax_output_label_is_an_input_drawn_as_classes(cli, tmp_path):
    export = kinds.build("softmax", tmp_path)
    # no --input softmax_label: its shape is inferred from the data
    out = _json(cli("show", export.symbol, "--input", "data=3x5", "--format", "json"))
    assert [p["name"] for p in out["parameters"]] == ["fc1_weight", "fc1_bias"]
    from paraminspect.model.sources.symbol import describe_symbol

    layout = describe_symbol(export.symbol, {"data": (3, 5)})
    label = {d.name: d for d in layout.inputs}["softmax_label"]
    assert label.shape == (3,) and label.classes == (0, 4)
    assert [h.what for h in layout.loss_heads] == ["SoftmaxOutput 'softmax'"]


def test_softmax_output_gradient_is_its_own_cross_entropy(cli, tmp_path):
    export = kinds.build("softmax", tmp_path)
    arrays = _arrays(export, tmp_path)
    out = _json(cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json"))
    _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    for name, g in _grads(out).items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-5, atol=1e-6)
    # and independently: d/dW of sum_i -log softmax(W x_i + b)[label_i]
    raw = _raw_params(export)
    w, b = raw["fc1_weight"].asnumpy(), raw["fc1_bias"].asnumpy()
    z = arrays["data"] @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(3), arrays["softmax_label"].astype(int)] -= 1
    np.testing.assert_allclose(_grads(out)["fc1_weight"], p.T @ arrays["data"], rtol=1e-4)
    assert "SoftmaxOutput 'softmax'" in out["loss"]["note"]
    log_p = z - z.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    ce = -log_p[np.arange(3), arrays["softmax_label"].astype(int)].sum()
    assert out["loss"]["value"] == pytest.approx(float(ce), rel=1e-5)


def test_ctc_loss_head_is_left_out_without_a_label_and_used_with_one(cli, tmp_path):
    export = kinds.build("ctc", tmp_path)
    arrays = _arrays(export, tmp_path)
    result = cli("summary", export.symbol, "--input", "data=6x2x5")
    assert result.exit_code == 0, result.output
    assert "1 loss head left out (MakeLoss of CTCLoss 'ctcloss')" in " ".join(result.stderr.split())
    out = _json(cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json"))
    _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    for name, g in _grads(out).items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["bn_fixed", "bn_free", "pool", "pool_bn"])
def test_predict_mode_gradients_match_finite_differences(cli, tmp_path, kind):
    export = kinds.build(kind, tmp_path)
    arrays = _arrays(export, tmp_path)
    args = ["grad", export.symbol, *_feed(export, tmp_path), "--mode", "predict", "--grad"]
    out = _json(cli(*args, "--format", "json"))
    got = _grads(out)
    for name in ("conv0_weight", "fc0_weight"):
        expected = kinds.fd_gradient(export, arrays, name, count=6)
        np.testing.assert_allclose(got[name].ravel()[:6], expected, rtol=2e-3, atol=2e-4)
    if kind.startswith("pool"):
        assert any("max pooling is wrong under oneDNN" in n for n in out["notes"])


def test_train_mode_gradients_match_raw_autograd(cli, tmp_path):
    export = kinds.build("bn_free", tmp_path)
    arrays = _arrays(export, tmp_path)
    out = _json(
        cli(
            "grad",
            export.symbol,
            *_feed(export, tmp_path),
            "--mode",
            "train",
            "--grad",
            "--format",
            "json",
        )
    )
    _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    assert set(grads) == {
        "conv0_weight",
        "conv0_bias",
        "bn0_gamma",
        "bn0_beta",
        "fc0_weight",
        "fc0_bias",
    }
    for name, g in grads.items():
        np.testing.assert_allclose(_grads(out)[name], g, rtol=1e-4, atol=1e-5)


def test_slice_channel_several_outputs(cli, tmp_path):
    export = kinds.build("slice", tmp_path)
    arrays = _arrays(export, tmp_path)
    raw = _raw_params(export)
    out = _json(cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json"))
    assert out["totals"]["unique"] == sum(a.size for a in raw.values()) == 48
    loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    assert out["loss"]["value"] == pytest.approx(loss, rel=1e-5)
    for name, g in _grads(out).items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-5, atol=1e-6)


def test_module_checkpoint_arg_aux_keys(cli, tmp_path):
    export = kinds.build("module", tmp_path)
    out = _json(cli("show", export.symbol, "--input", "data=3x5", "--values", "--format", "json"))
    rows = {p["name"]: p for p in out["parameters"]}
    assert set(rows) == set(export.extra["arrays"])
    for name, array in export.extra["arrays"].items():
        np.testing.assert_array_equal(np.array(rows[name]["data"]), array)
    assert rows["bn1_moving_var"]["grad_req"] == "null" and rows["bn1_gamma"]["grad_req"] == "write"
    assert out["totals"]["trainable"] == 4 * 5 + 4 + 4 + 4


def test_prelu_and_upsampling_params_and_macs(cli, tmp_path):
    for kind, extra in (("prelu", "prelu0_gamma"), ("upsample", "up_bil_weight")):
        export = kinds.build(kind, tmp_path)
        arrays = _arrays(export, tmp_path)
        raw = _raw_params(export)
        out = _json(cli("summary", export.symbol, *_feed(export, tmp_path), "--format", "json"))
        layers = out["layers"]
        assert sum(r["params"] for r in layers) == sum(a.size for a in raw.values())
        for row in layers:  # Convolution and FullyConnected: prod(out) * prod(weight[1:])
            if row["type"] in ("Convolution", "FullyConnected"):
                weight = raw[row["name"] + "_weight"]
                macs = math.prod(row["output_shape"]) * math.prod(weight.shape[1:])
                assert row["macs"] == macs > 0
            elif row["name"] == "up_bil":  # bilinear: the grouped Deconvolution it runs
                weight = raw["up_bil_weight"]
                macs = math.prod(row["input_shape"]) * math.prod(weight.shape[1:])
                assert row["macs"] == macs > 0
            else:
                assert row["macs"] == 0
        grad = _json(
            cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json")
        )
        _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
        np.testing.assert_allclose(_grads(grad)[extra], grads[extra], rtol=1e-4, atol=1e-6)


def test_summary_loads_the_chosen_params_file(cli, tmp_path):
    """Two NNNN.params beside the graph: summary takes --load as show and grad do."""
    import mxnet as mx

    export = kinds.build("prelu", tmp_path)
    arrays = _arrays(export, tmp_path)
    doubled = {k: v * 2 for k, v in mx.nd.load(export.params).items()}
    second = str(tmp_path / "prelu-0001.params")
    mx.nd.save(second, doubled)
    feed = _feed(export, tmp_path)
    result = cli("summary", export.symbol, *feed)
    assert "2 params files beside the graph" in result.stderr
    out = _json(cli("summary", export.symbol, *feed, "--load", second, "--format", "json"))
    net = mx.gluon.SymbolBlock.imports(export.symbol, ["data"], second)
    conv = net(mx.nd.array(arrays["data"]))  # the whole net; its first layer below
    internals = mx.sym.load(export.symbol).get_internals()["conv0_output"]
    first = mx.gluon.SymbolBlock(internals, [mx.sym.var("data")], params=net.collect_params())
    expected = first(mx.nd.array(arrays["data"])).asnumpy()
    assert conv.shape == (2, 2)
    row = out["layers"][0]
    assert row["name"] == "conv0"
    assert row["stats"]["mean"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert row["stats"]["std"] == pytest.approx(float(expected.std()), rel=1e-5)


def test_summary_load_refusals(cli, tmp_path):
    export = kinds.build("prelu", tmp_path)
    result = cli(
        "summary",
        export.symbol,
        "--input",
        "data=2x3x6x6",
        "--shapes-only",
        "--load",
        export.params,
    )
    assert result.exit_code == 2
    assert "--shapes-only allocates nothing, so there are no parameters to load" in result.output
    result = cli("summary", "--method", "xavier", "--load", export.params)
    assert (
        result.exit_code == 2
        and "--method initializes the weights that --load replaces" in result.output
    )


def test_summary_of_a_spec_loads_too(cli, tmp_path):
    saved = str(tmp_path / "one.params")
    assert cli("show", "--seed", "1", "--save", saved).exit_code == 0
    fresh = _json(cli("summary", "--seed", "2", "--format", "json"))
    loaded = _json(cli("summary", "--seed", "2", "--load", saved, "--format", "json"))
    same = _json(cli("summary", "--seed", "1", "--format", "json"))
    assert loaded["model"]["init"] == "loaded(one.params)"
    # seed 2 draws the same X either way (the weights are drawn after it): with seed 1's
    # weights loaded, the first layer's output differs from seed 2's own weights
    assert loaded["layers"][0]["stats"]["mean"] != fresh["layers"][0]["stats"]["mean"]
    assert loaded["layers"][0]["params"] == same["layers"][0]["params"]


def _fixed_gamma_export(tmp_path: Path, gamma: Any, drop_attr: bool) -> kinds.Export:
    """bn_fixed with its stored gamma replaced; optionally without the fix_gamma attribute
    (the symbolic BatchNorm's default is True, and old graphs leave it out)."""
    import mxnet as mx

    export = kinds.build("bn_fixed", tmp_path)
    arrays = mx.nd.load(export.params)
    arrays["arg:bn0_gamma"] = mx.nd.array(gamma)
    mx.nd.save(export.params, arrays)
    if drop_attr:
        doc = json.loads(Path(export.symbol).read_text())
        for node in doc["nodes"]:
            node.get("attrs", {}).pop("fix_gamma", None)
        Path(export.symbol).write_text(json.dumps(doc))
    return export


@pytest.mark.parametrize("drop_attr", [False, True])
def test_fix_gamma_is_no_finding(cli, tmp_path, drop_attr):
    export = _fixed_gamma_export(tmp_path, [0.0, 0.0, 0.0], drop_attr)
    args = ["inspect", export.params, "--symbol", export.symbol, "--fail-on", "findings"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "findings: none" in result.stdout
    assert "1 gamma belongs to BatchNorms with fix_gamma=True (arg:bn0_gamma)" in " ".join(
        result.stdout.split()
    )
    # the same zeros in a BatchNorm that reads its gamma (fix_gamma=False) are a finding
    free = kinds.build("bn_free", tmp_path / "free")
    import mxnet as mx

    arrays = mx.nd.load(free.params)
    arrays["arg:bn0_gamma"] = mx.nd.zeros(3)
    mx.nd.save(free.params, arrays)
    result = cli("inspect", free.params, "--symbol", free.symbol, "--fail-on", "findings")
    assert result.exit_code == 1 and "arg:bn0_gamma: all 3 values are 0" in result.stdout


def test_fix_gamma_stored_and_used_values_agree_across_show_and_grad(cli, tmp_path):
    stored = np.array([0.5, 2.0, -1.5], dtype="float32")
    export = _fixed_gamma_export(tmp_path, stored, drop_attr=False)
    arrays = _arrays(export, tmp_path)
    feed = _feed(export, tmp_path)
    saved = str(tmp_path / "after-grad.params")
    shown = _json(cli("show", export.symbol, *feed, "--stats", "--format", "json"))
    out = _json(cli("grad", export.symbol, *feed, "--grad", "--save", saved, "--format", "json"))
    show_gamma = {p["name"]: p for p in shown["parameters"]}["bn0_gamma"]
    grad_gamma = {p["name"]: p for p in out["parameters"]}["bn0_gamma"]
    l2 = float(np.linalg.norm(stored))
    assert show_gamma["stats"]["l2"] == pytest.approx(l2, rel=1e-6)
    assert grad_gamma["weight_l2"] == pytest.approx(l2, rel=1e-6)
    assert grad_gamma["grad"] == [0.0, 0.0, 0.0]
    assert any("fix_gamma=True, so MXNet uses 1" in n for n in shown["notes"] + out["notes"])
    assert any("wrote 1 into bn0_gamma" in line for line in out["log"])
    import mxnet as mx

    np.testing.assert_array_equal(mx.nd.load(saved)["arg:bn0_gamma"].asnumpy(), stored)
    # and the gradients elsewhere are MXNet's, which uses 1 for gamma
    _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
    np.testing.assert_allclose(_grads(out)["conv0_weight"], grads["conv0_weight"], rtol=1e-4)


def test_float16_params_shown_computed_and_saved_as_stored(cli, tmp_path):
    import mxnet as mx

    export = kinds.build("half", tmp_path)
    arrays = _arrays(export, tmp_path)
    raw = kinds.raw_net(export)  # raw SymbolBlock.imports keeps float16
    stored = {n: p.data() for n, p in raw.collect_params().items()}
    assert {a.dtype for a in stored.values()} == {np.float16}
    saved = str(tmp_path / "saved.params")
    feed = _feed(export, tmp_path)
    result = cli(
        "show", export.symbol, *feed, "--values", "--stats", "--save", saved, "--format", "json"
    )
    out = _json(result)
    assert any("4 parameters stored as float16 computed in float32" in n for n in out["log"])
    rows = {p["name"]: p for p in out["parameters"]}
    for name, value in stored.items():
        assert rows[name]["dtype"] == "float16"
        np.testing.assert_array_equal(np.array(rows[name]["data"]), value.asnumpy())
        s = rows[name]["stats"]
        # stats.StatsPass merges float32 chunk moments in float64: within 1e-6 of float64
        assert s["std"] == pytest.approx(float(value.asnumpy().astype(np.float64).std()), rel=1e-6)
    assert out["totals"]["bytes"] == 2 * sum(a.size for a in stored.values())
    back = mx.nd.load(saved)  # as export writes it: arg: keys, float16 values
    assert set(back) == {f"arg:{n}" for n in stored}
    for name, value in stored.items():
        assert back[f"arg:{name}"].dtype == np.float16
        np.testing.assert_array_equal(back[f"arg:{name}"].asnumpy(), value.asnumpy())
    # the gradient is float32 MXNet's on the same (exact) values: float16 has no CPU kernels
    grad = _json(cli("grad", export.symbol, *feed, "--grad", "--format", "json"))
    net32 = mx.gluon.SymbolBlock(mx.sym.load(export.symbol), [mx.sym.var("data")])
    net32.collect_params().load(export.params, cast_dtype=True, dtype_source="current")
    x = mx.nd.array(arrays["data"])
    with mx.autograd.record():
        y = net32(x).sum()
    y.backward()
    for name, p in net32.collect_params().items():
        np.testing.assert_allclose(_grads(grad)[name], p.grad().asnumpy(), rtol=1e-5)


def test_float16_file_loads_into_a_float32_net_with_a_note(cli, tmp_path):
    import mxnet as mx

    saved = str(tmp_path / "mlp.params")
    result = cli("show", "--seed", "1", "--save", saved)
    assert result.exit_code == 0, result.output
    half = str(tmp_path / "half.params")
    mx.nd.save(half, {k: v.astype("float16") for k, v in mx.nd.load(saved).items()})
    result = cli("show", "--load", half, "--select", "dense1_bias", "--values", "--format", "json")
    out = _json(result)
    assert any(
        "4 arrays cast from float16 to float32 (the net's dtype) as they were loaded" in line
        for line in out["log"]
    )
    value = np.array(out["parameters"][0]["data"])
    np.testing.assert_array_equal(value, mx.nd.load(half)["1.bias"].asnumpy().astype(np.float32))


UNTRACEABLE_POOL = '''
from mxnet.gluon import nn


class Plain(nn.Block):
    """Not hybridizable (asnumpy in forward), with max pooling."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.conv = nn.Conv2D(2, 3)
            self.pool = nn.MaxPool2D()
            self.dense = nn.Dense(2)

    def forward(self, x):
        y = self.pool(self.conv(x))
        assert y.asnumpy() is not None
        return self.dense(y)


def plain():
    return Plain()


def hybrid():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, 3), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D())
    net.add(nn.Dropout(0.5), nn.Dense(2))
    return net
'''


def test_predict_mode_max_pooling_in_a_block_without_a_graph_is_refused(cli, tmp_path):
    from paraminspect.model.grad_mode import onednn_active

    if not onednn_active():
        pytest.skip("MXNet runs without oneDNN here: its predict-mode gradient is right")
    (tmp_path / "nets.py").write_text(UNTRACEABLE_POOL)
    model = f"{tmp_path / 'nets.py'}:plain"
    result = cli("grad", model, "--input", "data=2x1x8x8", "--mode", "predict")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: predict-mode gradients of {model} cannot be computed right: MXNet's gradient "
        "through max pooling is wrong under oneDNN and the net's graph cannot be rewritten "
        "(NotImplementedForSymbol: "
    )
    assert result.output.rstrip().endswith(
        "run with MXNET_MKLDNN_ENABLED=0 in the environment, or use --mode train"
    )
    assert cli("grad", model, "--input", "data=2x1x8x8", "--mode", "train").exit_code == 0


def test_predict_mode_block_with_batchnorm_and_pooling_matches_mxnet_without_onednn(tmp_path):
    """The twin graph's gradients against MXNet's own with oneDNN switched off."""
    import os
    import subprocess
    import sys

    (tmp_path / "nets.py").write_text(UNTRACEABLE_POOL)
    args = [sys.executable, "-m", "paraminspect", "grad", f"{tmp_path / 'nets.py'}:hybrid"]
    args += ["--input", "data=2x1x8x8", "--mode", "predict", "--seed", "3", "--grad"]
    args += ["--format", "json"]
    runs = []
    for enabled in ("1", "0"):
        env = dict(os.environ, MXNET_MKLDNN_ENABLED=enabled)
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    with_onednn, without = (_grads(r) for r in runs)
    assert any("max pooling is wrong under oneDNN" in n for n in runs[0]["notes"])
    assert not any("max pooling" in n for n in runs[1]["notes"])
    assert set(with_onednn) == set(without)
    assert any(np.abs(g).max() > 0 for g in without.values())
    for name, g in without.items():
        np.testing.assert_allclose(with_onednn[name], g, rtol=1e-4, atol=1e-6)
