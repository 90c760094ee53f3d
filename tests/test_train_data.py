"""train --data / --targets (issue 16) on scikit-learn's 8x8 digits: the loss goes down, and
the first step's gradients equal a raw Gluon loop's on the same batch; bad files get one line."""

from __future__ import annotations

import json
import pickle

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

SPEC = """\
name: digits
input: {shape: [2, 64]}
layers:
  - {units: 32, activation: relu}
  - {units: 10}
"""


@pytest.fixture
def digits(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    f = tmp_path / "digits.npz"
    np.savez(f, X=x, y=y)
    spec = tmp_path / "digits.yaml"
    spec.write_text(SPEC)
    return f, spec, x, y


def raw_net(seed: int) -> nn.Sequential:
    mx.random.seed(seed)
    net = nn.Sequential()
    net.add(nn.Dense(32, activation="relu", in_units=64), nn.Dense(10, in_units=32))
    net.initialize(mx.init.Xavier())
    return net


def test_digits_training_lowers_the_loss_and_step_1_matches_raw_gluon(cli, digits, tmp_path):
    f, spec, x, y = digits
    net = raw_net(7)
    start = tmp_path / "start.params"
    net.save_parameters(str(start))
    n = len(x)  # one batch of every sample: the shuffle cannot change its gradient
    r = cli("train", str(spec), "--data", str(f), "--loss", "softmax-ce", "--batch-size", str(n),
            "--epochs", "1", "--every", "1", "--lr", "0.5", "--load", str(start),
            "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["settings"]["samples"] == n == 1797
    assert data["settings"]["data"] == (
        f"'{f}': X (1797, 64), 1,797 labels 0..9 (10 classes present of 10)"
    )
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(nd.array(x)), nd.array(y)).mean()
    loss.backward()
    raw = {k: p.grad().asnumpy().astype(np.float64) for k, p in zip(
        ("dense0_weight", "dense0_bias", "dense1_weight", "dense1_bias"),
        net.collect_params().values())}  # fmt: skip
    (record,) = data["history"]
    assert record["loss"] == pytest.approx(float(loss.asscalar()), rel=1e-6)
    for p in record["parameters"]:
        g = raw[p["name"]]
        stats = p["grad_stats"]
        assert stats["l2"] == pytest.approx(np.linalg.norm(g), rel=1e-5)
        # a mean of +- terms cancels: compare it on the gradient's own scale
        assert stats["mean"] == pytest.approx(g.mean(), abs=1e-5 * np.abs(g).max())
        assert stats["abs_max"] == pytest.approx(np.abs(g).max(), rel=1e-5)
    # and training on it lowers the loss (minibatches, a few epochs)
    r = cli("train", str(spec), "--data", str(f), "--loss", "softmax-ce", "--batch-size", "32",
            "--epochs", "5", "--lr", "0.2", "--seed", "0", "--format", "json")  # fmt: skip
    run = json.loads(r.stdout)
    assert run["final_loss"] < 0.25 * run["initial_loss"]  # 2.31 -> 0.35 over the data set
    assert run["events"] == []


def test_npy_pair_for_regression(cli, tmp_path):
    spec = tmp_path / "reg.yaml"
    spec.write_text("input: {shape: [2, 3]}\nlayers:\n  - {units: 2}\n")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x @ rng.standard_normal((3, 2))).astype(np.float32)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", y)
    r = cli("train", str(spec), "--data", str(tmp_path / "X.npy"), "--targets",
            str(tmp_path / "y.npy"), "--batch-size", "8", "--epochs", "5", "--seed", "0",
            "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["final_loss"] < data["initial_loss"] and data["settings"]["samples"] == 40


class Tripwire:
    """Unpickling this would run code: the test fails if that ever happens."""

    def __reduce__(self):
        return (pytest.fail, ("the data file was unpickled",))


def bad_files(tmp_path, spec_path):
    x = np.zeros((5, 64), np.float32)
    y = np.zeros(5, np.int64)
    cases = {}
    f = tmp_path / "keys.npz"
    np.savez(f, inputs=x, labels=y)
    cases["keys"] = (
        f,
        None,
        f"--data '{f}' has no array 'X' or 'y': it holds inputs, labels; "
        "expected X (inputs) and y (targets), e.g. np.savez(f, X=X, y=y)",
    )
    f = tmp_path / "shape.npz"
    np.savez(f, X=np.zeros((5, 63), np.float32), y=y)
    cases["shape"] = (
        f,
        None,
        f"array 'X' of --data '{f}' has samples of shape (63,) but the "
        "network takes (64,) (X of shape (N, 64)); reshape X or change the "
        "network's input",
    )
    f = tmp_path / "dtype.npz"
    np.savez(f, X=np.array([["a"] * 64] * 5), y=y)
    cases["dtype"] = (
        f,
        None,
        f"array 'X' of --data '{f}' has dtype <U1, not numbers; save the "
        "inputs as integers or floats, e.g. a.astype('float32')",
    )
    f = tmp_path / "nan.npz"
    xn = x.copy()
    xn[2, 3] = np.nan
    np.savez(f, X=xn, y=y)
    cases["nan"] = (
        f,
        None,
        f"array 'X' of --data '{f}' holds 1 NaN and 0 Inf values, first in "
        "row 2; drop or fill those rows",
    )
    f = tmp_path / "object.npy"
    np.save(f, np.array([Tripwire()] * 5, dtype=object), allow_pickle=True)
    t = tmp_path / "y.npy"
    np.save(t, y)
    cases["object"] = (
        f,
        t,
        f"--data '{f}' is an object array (pickled Python objects), which "
        "paraminspect never loads; save a numeric array, e.g. "
        "np.asarray(a, dtype='float32')",
    )
    f = tmp_path / "data.pkl"
    f.write_bytes(pickle.dumps({"X": Tripwire()}))
    cases["pickle"] = (
        f,
        None,
        f"--data '{f}' is a Python pickle, which paraminspect never "
        "loads (unpickling runs code); save the arrays with numpy.save or "
        "numpy.savez",
    )
    return cases


@pytest.mark.parametrize("case", ["keys", "shape", "dtype", "nan", "object", "pickle"])
def test_bad_data_files_are_one_line_errors(cli, digits, tmp_path, case):
    _, spec, _, _ = digits
    f, targets, message = bad_files(tmp_path, spec)[case]
    args = ["train", str(spec), "--data", str(f), "--loss", "softmax-ce", "--batch-size", "2"]
    if targets is not None:
        args += ["--targets", str(targets)]
    r = cli(*args)
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert lines == [f"Error: {message}"]
    assert "Traceback" not in r.output


def test_data_flag_errors(cli, digits, tmp_path):
    f, spec, _, _ = digits
    r = cli("train", str(spec), "--data", str(f), "--samples", "10", "--loss", "softmax-ce")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--samples': --samples sizes the synthetic data set; --data "
        "uses every sample of its file"
    )
    r = cli("train", str(spec), "--targets", str(f))
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--targets': --targets goes with --data X.npy; add --data"
    )
    r = cli("train", str(spec), "--data", str(f), "--loss", "softmax-ce", "--batch-size", "5000")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"Error: Invalid value for '--batch-size': 5000 is more than the 1797 samples of {f}; "
        "use at most 1797"
    )


def test_grad_on_the_users_batch_matches_raw_gluon(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(7, 20)).astype(np.float32)
    t = rng.standard_normal((7, 10)).astype(np.float32)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "T.npy", t)
    mx.random.seed(3)
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu", in_units=20), nn.Dense(10, in_units=256))
    net.initialize(mx.init.Normal(0.1))
    start = tmp_path / "start.params"
    net.save_parameters(str(start))
    r = cli("grad", "mlp", "--data", str(tmp_path / "X.npy"), "--targets", str(tmp_path / "T.npy"),
            "--loss", "l2", "--load", str(start), "--grad", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    with autograd.record():
        loss = gluon.loss.L2Loss()(net(nd.array(x)), nd.array(t)).mean()
    loss.backward()
    assert data["loss"]["value"] == pytest.approx(float(loss.asscalar()), rel=1e-6)
    assert data["loss"]["note"].startswith(f"data '{tmp_path / 'X.npy'}' and ")
    for p, raw in zip(data["parameters"], net.collect_params().values()):
        np.testing.assert_allclose(np.array(p["grad"]), raw.grad().asnumpy(), rtol=1e-5, atol=1e-7)
    # one-line errors for files that do not fit
    np.save(tmp_path / "short.npy", t[:3])
    r = cli("grad", "mlp", "--data", str(tmp_path / "X.npy"), "--targets",
            str(tmp_path / "short.npy"), "--loss", "l2")  # fmt: skip
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"Error: --targets '{tmp_path / 'short.npy'}' has 3 rows but X has 7 samples; give one "
        "target row per sample, in the same order"
    )
    r = cli("grad", "mlp", "--targets", str(tmp_path / "T.npy"), "--loss", "l2")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--targets': --targets goes with --data X.npy; add --data"
    )
