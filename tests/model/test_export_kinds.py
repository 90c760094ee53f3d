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
    return {p["name"]: np.array(p["grad"]) for p in out["parameters"] if "grad" in p}


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
            else:
                assert row["macs"] == 0
        grad = _json(
            cli("grad", export.symbol, *_feed(export, tmp_path), "--grad", "--format", "json")
        )
        _loss, grads = kinds.raw_gradients(export, arrays, train_mode=True)
        np.testing.assert_allclose(_grads(grad)[extra], grads[extra], rtol=1e-4, atol=1e-6)
