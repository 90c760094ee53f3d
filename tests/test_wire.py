"""--load/--save on every net command: bit-for-bit round trips against raw MXNet, the order
(load after the build, before the steps and the action; save after it), and refusals that
come before any net is built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import nn

from paraminspect.actions.grad import grad as run_grad
from paraminspect.actions.view import ViewOptions
from paraminspect.model.params_io import LoadRequest, SaveRequest
from tests.numpy_mlp import finite_difference, forward, loss, relative_error

TINY = "name: tiny\ninput: {shape: [3, 4]}\nlayers:\n  - {units: 5, activation: relu}\n  - {units: 3}\n"
KEYS = ["0.weight", "0.bias", "1.weight", "1.bias"]
NAMES = {"0.weight": "dense0_weight", "0.bias": "dense0_bias"}
NAMES.update({"1.weight": "dense1_weight", "1.bias": "dense1_bias"})


@pytest.fixture
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def raw_net() -> nn.Sequential:
    net = nn.Sequential()
    net.add(nn.Dense(5, activation="relu"), nn.Dense(3))
    return net


@pytest.fixture
def raw_file(tmp_path) -> Path:
    """A file written by raw MXNet (not by the tool), with values far from any init."""
    net = raw_net()
    net.initialize(mx.init.Normal(3.0))
    net(nd.ones((3, 4)))
    for p in net.collect_params().values():
        p.set_data(p.data() + 0.25)  # biases non-zero too
    f = tmp_path / "raw.params"
    net.save_parameters(str(f))
    return f


def arrays_of(path: Path) -> Dict[str, np.ndarray]:
    return {k: v.asnumpy() for k, v in nd.load(str(path)).items()}


def raw_loaded(path: Path) -> Dict[str, np.ndarray]:
    """What net.load_parameters gives a raw Gluon net (the independent reader)."""
    net = raw_net()
    net.load_parameters(str(path))
    return {
        f"{i}.{s}": getattr(net[i], s).data().asnumpy() for i in (0, 1) for s in ("weight", "bias")
    }


def js(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def shown(report: dict) -> Dict[str, np.ndarray]:
    """Parameter name -> the values a command printed (float32, as stored)."""
    return {p["name"]: np.array(p["data"], dtype=np.float32) for p in report["parameters"]}


def same_bits(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a
    )


# --------------------------------------------------------------------------- init


def test_init_save_round_trip_and_diff(cli, tiny, tmp_path):
    fresh, xavier = tmp_path / "fresh.params", tmp_path / "xavier.params"
    assert cli("show", tiny, "--seed", "1", "--save", str(fresh)).exit_code == 0
    report = js(
        cli(
            "init", tiny, "--method", "xavier", "--seed", "1", "--values",
            "--save", str(xavier), "--format", "json",
        )
    )  # fmt: skip
    saved = arrays_of(xavier)
    assert list(saved) == KEYS
    assert report["saved"] == str(xavier)
    assert report["log"] == [
        f"saved 4 arrays (43 values) to {xavier} ({xavier.stat().st_size:,} bytes)"
    ]
    values = shown(report)
    assert same_bits(saved, {k: values[NAMES[k]] for k in KEYS})
    assert same_bits(saved, raw_loaded(xavier))
    # Xavier redraws every weight; the biases keep their own zeros (the book's In[10])
    d = js(cli("diff", str(fresh), str(xavier), "--format", "json"))
    status = {r["key"]: r["status"] for r in d["keys"]}
    assert status == {
        "0.weight": "changed",
        "0.bias": "equal",
        "1.weight": "changed",
        "1.bias": "equal",
    }


def test_init_load_then_reinit_selection(cli, tiny, tmp_path, raw_file):
    out = tmp_path / "out.params"
    report = js(
        cli(
            "init", tiny, "--load", str(raw_file), "--method", "constant", "--param", "value=7",
            "--select", "dense1_weight", "--values", "--save", str(out), "--format", "json",
        )
    )  # fmt: skip
    assert report["log"][0] == f"loaded 4 parameters from {raw_file}"
    raw, saved = arrays_of(raw_file), arrays_of(out)
    assert np.all(saved["1.weight"] == 7)
    for k in ("0.weight", "0.bias", "1.bias"):  # untouched: the loaded bits
        assert saved[k].tobytes() == raw[k].tobytes()


# --------------------------------------------------------------------------- set and run


def test_set_load_save(cli, tiny, tmp_path, raw_file):
    out = tmp_path / "set.params"
    r = cli(
        "set", tiny, "--load", str(raw_file), "--select", "dense0_weight", "--add", "1",
        "--save", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    raw, saved = raw_loaded(raw_file), raw_loaded(out)
    assert saved["0.weight"].tobytes() == (raw["0.weight"] + np.float32(1)).tobytes()
    for k in ("0.bias", "1.weight", "1.bias"):
        assert saved[k].tobytes() == raw[k].tobytes()


def test_run_loads_before_the_steps(cli, tmp_path, raw_file):
    spec = tmp_path / "steps.yaml"
    spec.write_text(TINY + "steps:\n  - {set: {select: dense1_bias, scale: 2}}\n")
    out = tmp_path / "run.params"
    report = js(
        cli("run", str(spec), "--load", str(raw_file), "--save", str(out), "--format", "json")
    )
    assert report["trace"][0]["stage"] == f"after the first forward pass and loading {raw_file}"
    raw, saved = arrays_of(raw_file), arrays_of(out)
    # the step acted on the loaded values, and the save came after it
    assert saved["1.bias"].tobytes() == (raw["1.bias"] * np.float32(2)).tobytes()
    assert saved["0.weight"].tobytes() == raw["0.weight"].tobytes()


# --------------------------------------------------------------------------- grad


def test_grad_on_loaded_weights_saves_parameters_not_gradients(tiny, tmp_path, raw_file):
    out = tmp_path / "grad.params"
    report = run_grad(
        tiny,
        ViewOptions(values=True, grad=True),
        seed=4,
        loss="l2",
        load=LoadRequest(str(raw_file)),
        save=SaveRequest(str(out)),
    )
    raw = raw_loaded(raw_file)
    rows = {row.name: row for row in report.base.parameters}
    for key, name in NAMES.items():
        assert rows[name].data.values.tobytes() == raw[key].tobytes()
    assert same_bits(arrays_of(out), raw)  # the weights, not the gradients
    # the gradients are those of the loaded weights: float64 finite differences
    w64 = {k: v.astype(np.float64) for k, v in raw.items()}
    layers = [(w64["0.weight"], w64["0.bias"], "relu"), (w64["1.weight"], w64["1.bias"], None)]

    def f() -> float:
        return loss("l2", forward(layers, report.x), report.targets)

    for key, name in NAMES.items():
        fd = finite_difference(f, w64[key])
        assert np.abs(fd).max() > 0
        assert relative_error(rows[name].grad.values, fd) < 1e-4, name


# --------------------------------------------------------------------------- train


def test_train_save_then_show_load(cli, tiny, tmp_path):
    before, after = tmp_path / "before.params", tmp_path / "after.params"
    assert cli("show", tiny, "--seed", "2", "--save", str(before)).exit_code == 0
    report = js(
        cli(
            "train", tiny, "--seed", "2", "--epochs", "2", "--samples", "16", "--batch-size",
            "8", "--save", str(after), "--format", "json",
        )
    )  # fmt: skip
    assert report["log"][-1].startswith(f"saved 4 arrays (43 values) to {after}")
    trained = raw_loaded(after)
    # the saved weights are the state after the last step: their norms are the last record's
    last = {p["name"]: p for p in report["history"][-1]["parameters"]}
    for key, name in NAMES.items():
        expected = np.linalg.norm(trained[key].astype(np.float64))
        assert last[name]["weight_l2"] == pytest.approx(expected, rel=1e-6)  # float32 chunk sums
    untrained = raw_loaded(before)
    assert all(not np.array_equal(trained[k], untrained[k]) for k in ("0.weight", "1.weight"))
    seen = shown(js(cli("show", tiny, "--load", str(after), "--values", "--format", "json")))
    assert same_bits({k: seen[NAMES[k]] for k in KEYS}, trained)


def test_train_load_starts_from_the_file(cli, tiny, tmp_path, raw_file):
    report = js(
        cli(
            "train", tiny, "--load", str(raw_file), "--seed", "2", "--epochs", "1",
            "--samples", "8", "--batch-size", "8", "--lr", "1e-30", "--format", "json",
        )
    )  # fmt: skip
    raw = raw_loaded(raw_file)
    last = {p["name"]: p for p in report["history"][-1]["parameters"]}
    for key, name in NAMES.items():  # a step of 1e-30 leaves the loaded weights as they were
        assert last[name]["weight_l2"] == pytest.approx(
            np.linalg.norm(raw[key].astype(np.float64)), rel=1e-6
        )


# --------------------------------------------------------------------------- show --check


def test_show_check_load(cli, tiny, tmp_path):
    fresh, trained = tmp_path / "fresh.params", tmp_path / "trained.params"
    assert cli("show", tiny, "--seed", "3", "--save", str(fresh)).exit_code == 0
    r = cli("show", tiny, "--check", "--load", str(fresh), "--seed", "9")
    assert r.exit_code == 0, r.output  # fresh initializer draws match the theory
    assert f"loaded 4 parameters from {fresh}" in " ".join(r.stderr.split())
    args = ["--seed", "3", "--epochs", "3", "--samples", "32", "--lr", "0.5"]
    assert cli("train", tiny, *args, "--save", str(trained)).exit_code == 0
    r = cli("show", tiny, "--check", "--load", str(trained))
    assert r.exit_code == 1
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "do not match their initializer's theory" in last
    assert "dense0_bias" in last and "dense1_bias" in last  # trained biases are no longer 0


# --------------------------------------------------------------------------- refusals first


COMMANDS = {
    "show": ["show", "{spec}"],
    "show-check": ["show", "{spec}", "--check"],
    "init": ["init", "{spec}", "--method", "xavier"],
    "set": ["set", "{spec}", "--select", "dense0_weight", "--add", "1"],
    "run": ["run", "{spec}"],
    "grad": ["grad", "{spec}"],
    "train": ["train", "{spec}", "--epochs", "1"],
}
BUILDERS = ["paraminspect.model.build"]  # every source's build of a spec goes through it


@pytest.fixture
def no_build(monkeypatch):
    """Any attempt to build a net fails the test: refusals must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a net was built before the refusal")

    for module in BUILDERS:
        monkeypatch.setattr(f"{module}.build_model", refuse)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_refusals_come_before_the_build(cli, tiny, tmp_path, no_build, command):
    args = [a.replace("{spec}", tiny) for a in COMMANDS[command]]
    existing = tmp_path / "old.params"
    existing.write_bytes(b"old")
    r = cli(*args, "--save", str(existing))
    assert r.exit_code == 1, r.output
    assert (
        r.output.splitlines()[-1]
        == f"Error: '{existing}' already exists; use --force to overwrite it"
    )
    assert existing.read_bytes() == b"old"
    missing = tmp_path / "nope" / "a.params"
    r = cli(*args, "--save", str(missing))
    assert r.exit_code == 1 and "does not exist; create it first" in r.output
    r = cli(*args, "--load", str(existing))
    assert r.exit_code == 1
    assert f"'{existing}' is not an MXNet parameter file" in r.output
    r = cli(*args, "--allow-missing")
    assert r.exit_code == 2
    assert "--allow-missing only applies with --load PATH" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.params", "tiny.yaml"]


def test_load_key_problems_are_listed(cli, tiny, tmp_path, raw_file):
    partial = tmp_path / "partial.params"
    arrays = nd.load(str(raw_file))
    nd.save(str(partial), {"0.weight": arrays["0.weight"], "2.weight": arrays["1.weight"]})
    r = cli("grad", tiny, "--load", str(partial))
    assert r.exit_code == 1
    assert r.output == (
        f"Error: cannot load '{partial}' into {tiny}: missing 3 (0.bias, 1.weight, 1.bias); "
        "extra 1 (2.weight) (--allow-missing keeps initialized values for missing keys; "
        "--ignore-extra skips extra keys)\n"
    )
    out = tmp_path / "out.params"
    r = cli("set", tiny, "--load", str(partial), "--allow-missing", "--ignore-extra", "--seed",
            "1", "--select", "dense1_bias", "--fill", "0", "--save", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (
        f"loaded 1 parameter from {partial}; kept 3 missing (0.bias, 1.weight, 1.bias); "
        "ignored 1 extra (2.weight)"
    ) in " ".join(r.stderr.split())
    saved, fresh = raw_loaded(out), tmp_path / "fresh.params"
    assert cli("show", tiny, "--seed", "1", "--save", str(fresh)).exit_code == 0
    assert saved["0.weight"].tobytes() == arrays["0.weight"].asnumpy().tobytes()
    assert saved["1.weight"].tobytes() == raw_loaded(fresh)["1.weight"].tobytes()
    assert not saved["1.bias"].any()
