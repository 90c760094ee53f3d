"""`paraminspect train`: the loss goes down, shared weights stay identical, JSON lines survive."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from paraminspect.actions.train import TrainOptions, fit, prepare
from paraminspect.actions.train import train as run_train
from tests.conftest import ROOT, STATS_KEYS, output_without_mxnet

TINY = """\
name: tiny
input: {shape: [4, 6]}
init: {method: xavier}
layers:
  - {units: 8, activation: relu}
  - {name: hidden, units: 8, activation: relu}
  - {units: 8, activation: relu, share: hidden}
  - {units: 3}
"""


@pytest.fixture
def tiny(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


@pytest.mark.parametrize(
    "loss, optimizer, lr",
    [("l2", "sgd", 0.5), ("softmax-ce", "adam", 0.03)],
)
def test_training_lowers_the_loss(tiny, loss, optimizer, lr):
    opts = TrainOptions(
        samples=64, batch_size=16, epochs=10, lr=lr, optimizer=optimizer, loss=loss, seed=0
    )
    report = run_train(tiny, opts)
    assert len(report.history) == 10 and report.steps == 40
    assert report.final_loss < 0.75 * report.initial_loss
    assert report.history[-1].data_loss < report.history[0].data_loss


@pytest.mark.parametrize("hybridize", [True, False])
def test_shared_weights_stay_identical_and_move(hybridize):
    opts = TrainOptions(samples=32, batch_size=8, epochs=3, lr=0.5, seed=4, hybridize=hybridize)
    opts = TrainOptions(**{**opts.__dict__, "shared": True})
    model, optimizer = prepare(None, opts)
    assert model.loaded.source == "builtin:shared"
    start = model.net[1].weight.data().asnumpy().copy()
    report = fit(model, optimizer, opts)
    assert report.steps == 12
    # The arrays each layer actually computes with, read independently of the report.
    w1, w2 = model.net[1].weight.data().asnumpy(), model.net[2].weight.data().asnumpy()
    b1, b2 = model.net[1].bias.data().asnumpy(), model.net[2].bias.data().asnumpy()
    assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert not np.array_equal(w1, start)  # training did move the shared weight
    for record in report.history:
        assert [(s.parameter, s.layers, s.identical) for s in record.shared] == [
            ("shared_weight", (1, 2), True),
            ("shared_bias", (1, 2), True),
        ]


def test_sgd_update_ratio_is_lr_times_grad_over_weight(tiny):
    # Plain SGD: w_new = w - lr * g, so ||dw|| / ||w_old|| = lr * ||g|| / ||w_old||, and with
    # --every 1 the previous record holds ||w_old||.
    lr = 0.05
    opts = TrainOptions(samples=32, batch_size=8, epochs=1, lr=lr, every=1, seed=1)
    report = run_train(tiny, opts)
    assert len(report.history) == 4
    for prev, rec in zip(report.history, report.history[1:]):
        old = {p.name: p.weight.l2 for p in prev.parameters}
        for p in rec.parameters:
            assert p.grad is not None
            if old[p.name] > 0:
                want = lr * p.grad.l2 / old[p.name]
                assert p.update_ratio == pytest.approx(want, rel=1e-3, abs=1e-9)


def test_dead_relu_and_vanishing_warning(tmp_path):
    spec = tmp_path / "dead.yaml"
    spec.write_text(
        "input: {shape: [4, 3]}\nlayers:\n"
        "  - {units: 5, activation: relu, init: {bias: {method: constant, value: -100}}}\n"
        "  - {units: 2}\n"
    )
    report = run_train(str(spec), TrainOptions(samples=16, batch_size=8, epochs=1, seed=0))
    (record,) = report.history
    assert record.layers[0].dead_relu == 1.0 and record.layers[1].dead_relu is None
    assert record.layers[0].grad_l2 == 0.0
    # named by its cause: every ReLU of layer 0 is dead from step 1; the zero gradients
    # behind it are not reported as "vanishing" (issue 16: that named the wrong problem)
    assert [(e.step, e.kind, e.subject) for e in record.events] == [(1, "dead", "0 (dense0)")]
    assert record.events[0].message == "layer 0 (dense0): every ReLU is dead (all outputs 0)"
    assert not any("vanishing" in w for w in record.warnings)


def test_json_history_and_jsonl_log(tiny, tmp_path, cli):
    log = tmp_path / "run.jsonl"
    r = cli(
        "train", tiny, "--samples", "32", "--batch-size", "8", "--epochs", "2", "--every", "3",
        "--seed", "2", "--log", str(log), "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    steps = [h["step"] for h in data["history"]]
    assert steps == [3, 6, 8]  # every 3 steps, and the last one
    lines = log.read_text().splitlines()
    assert [json.loads(line) for line in lines] == data["history"]
    first = data["history"][0]
    assert {"epoch", "step", "loss", "parameters", "shared", "layers"} <= set(first)
    assert first["shared"] == [
        {**s, "parameter": n, "layers": [1, 2], "identical": True}
        for s, n in zip(first["shared"], ["hidden_weight", "hidden_bias"])
    ]
    p = first["parameters"][0]
    assert list(p["grad_stats"]) == STATS_KEYS


def test_killed_run_keeps_every_finished_line(tmp_path):
    log = tmp_path / "killed.jsonl"
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "paraminspect", "train", "--shared", "--samples", "16",
         "--batch-size", "8", "--epochs", "100000", "--every", "1", "--seed", "0",
         "--log", str(log), "--format", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log.exists() and log.read_bytes().count(b"\n") >= 5:
                break
            assert proc.poll() is None, "training ended before it was killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL  # it really was killed part-way
    text = log.read_text()
    lines = text.split("\n")
    finished, tail = lines[:-1], lines[-1]
    assert len(finished) >= 5
    records = [json.loads(line) for line in finished]  # every finished line parses
    assert [r["step"] for r in records] == list(range(1, len(records) + 1))
    assert all(s["identical"] for r in records for s in r["shared"])
    assert tail == "" or not tail.endswith("\n")  # at most one unfinished line at the end


def test_table_output_has_tables_and_sparklines(cli):
    r = cli(
        "train", "--shared", "--samples", "16", "--batch-size", "8", "--epochs", "2", "--seed", "0"
    )
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "epoch 1, step 2: loss" in out and "epoch 2, step 4: loss" in out
    assert "2 (dense1) = 1" in out and "0 (dense0)" not in out.split("gradient norm")[0]
    assert out.count("shared_weight   1, 2     yes") == 2
    assert "gradient norm per layer at each of 4 steps" in out
    assert "speed: 4 steps in " in out
    assert "loss on the data set:" in out


def test_plot_writes_png(tmp_path, cli):
    pytest.importorskip("matplotlib")
    png = tmp_path / "norms.png"
    r = cli("train", "--shared", "--samples", "16", "--batch-size", "8", "--epochs", "2",
            "--seed", "0", "--plot", str(png), "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["norms.png"]  # no temporary left over


def test_plot_without_matplotlib(cli, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    r = cli("train", "--plot", str(tmp_path / "x.png"))
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (
        "Error: --plot needs matplotlib, which is not installed; install it with "
        f"{shlex.quote(sys.executable)} -m pip install -e {shlex.quote(str(ROOT) + '[plot]')}"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--epochs", "0"],
            "Invalid value for '--epochs': 0 is not a positive integer; use 1 or more",
        ),
        (
            ["--batch-size", "-4"],
            "Invalid value for '--batch-size': -4 is not a positive integer; use 1 or more",
        ),
        (
            ["--samples", "0"],
            "Invalid value for '--samples': 0 is not a positive integer; use 1 or more",
        ),
        (
            ["--every", "0"],
            "Invalid value for '--every': 0 is not a positive integer; use 1 or more",
        ),
        (
            ["--lr", "0"],
            "Invalid value for '--lr': 0.0 is not a positive learning rate; use e.g. 0.1",
        ),
        (
            ["--lr", "-0.1"],
            "Invalid value for '--lr': -0.1 is not a positive learning rate; use e.g. 0.1",
        ),
        (
            ["--samples", "8", "--batch-size", "16"],
            "Invalid value for '--batch-size': 16 is more than --samples 8; use at most 8",
        ),
        (
            ["--optimizer", "adamm"],
            "Invalid value for '--optimizer': unknown optimizer 'adamm'; did you mean 'adam'? (MXNet's optimizers: adadelta, adagrad, adam, adamax, ccsgd, dcasgd, ftml, ftrl, groupadagrad, lamb, lars, lbsgd, nadam, nag, rmsprop, sgd, sgld, signum, test)",
        ),
        (
            ["mlp", "--shared"],
            "Invalid value for '--shared': builtin:mlp has no shared parameters; add `share:` to a layer, or run `paraminspect train --shared` for the built-in shared spec",
        ),
        (["--loss", "sum"], "Invalid value for '--loss': 'sum' is not one of 'l2', 'softmax-ce'."),
        (
            ["--explode-above", "inf"],
            "Invalid value for '--explode-above': inf is not a finite norm >= 0; use e.g. 1e3 or 1e-7",
        ),
        (
            ["--vanish-below", "-1"],
            "Invalid value for '--vanish-below': -1.0 is not a finite norm >= 0; use e.g. 1e3 or 1e-7",
        ),
        (
            ["--vanish-below", "5", "--explode-above", "5"],
            "Invalid value for '--vanish-below': 5 is not below --explode-above 5; a gradient cannot both vanish and explode",
        ),
        (
            ["--plot", "x.gif"],
            "Invalid value for '--plot': cannot tell the image format of 'x.gif'; end it with .png, .svg, .pdf",
        ),
    ],
)
def test_train_usage_errors(cli, args, message):
    r = cli("train", *args)
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == f"Error: {message}"


def test_diverging_run_stops_with_exit_1(tiny, cli):
    r = cli("train", tiny, "--samples", "16", "--batch-size", "8", "--epochs", "50",
            "--lr", "1e4", "--seed", "0", "--format", "json")  # fmt: skip
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["stopped"].startswith("the loss became") and data["steps"] < 100
    assert any("exploding gradients" in w for h in data["history"] for w in h["warnings"])


def test_train_help_has_examples(cli):
    out = cli("train", "--help").output
    assert "Examples:" in out and "paraminspect train --shared --seed 1" in out


def test_failed_run_leaves_no_empty_log(cli, tmp_path):
    log = tmp_path / "run.jsonl"
    r = cli("train", "nope", "--log", str(log))
    assert r.exit_code == 1 and "spec 'nope' not found" in r.output
    assert not log.exists()
    r = cli("train", "--log", str(tmp_path / "missing" / "run.jsonl"))
    assert r.exit_code == 1
    assert f"Error: cannot write '{tmp_path}/missing/run.jsonl': folder" in r.output


def test_grad_and_train_help_do_not_import_mxnet():
    output_without_mxnet(["grad", "--help"], ["train", "--help"])


def test_speed_line_times_the_loop(tiny, monkeypatch, cli):
    """`seconds` is the loop's wall time: the clock is read just before the first step and
    just after the last record, and steps/s is steps over it (also in the table's line)."""
    import time

    import paraminspect.actions.train.loop as train_module

    ticks = iter([100.0, 102.5])
    calls = []

    class Clock:
        @staticmethod
        def perf_counter():
            calls.append(len(calls))
            return next(ticks)

    monkeypatch.setattr(train_module, "time", Clock)
    r = cli("train", tiny, "--samples", "32", "--batch-size", "8", "--epochs", "2",
            "--seed", "2", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(calls) == 2 and data["steps"] == 8
    assert data["seconds"] == 2.5 and data["steps_per_second"] == 8 / 2.5
    monkeypatch.setattr(train_module, "time", time)
    start = time.perf_counter()
    r = cli("train", tiny, "--samples", "32", "--batch-size", "8", "--epochs", "2", "--seed", "2")
    whole = time.perf_counter() - start
    line = next(x for x in r.stdout.splitlines() if x.startswith("speed:"))
    seconds = float(line.split(" in ")[1].split(" s,")[0])
    assert line.startswith("speed: 8 steps in ") and 0 < seconds <= whole


def _record_warnings(record):
    """The warnings a record makes of its own step (not those carried from between records)."""
    return [w for w in record["warnings"] if not w.endswith("(between logged steps)")]


def test_warning_thresholds_are_options(tiny, cli):
    """--explode-above / --vanish-below move the thresholds; each warning lists exactly the
    parameters whose recorded ||g|| lies beyond them."""
    args = ("train", tiny, "--samples", "16", "--batch-size", "8", "--epochs", "1",
            "--seed", "0", "--format", "json")  # fmt: skip
    plain = json.loads(cli(*args).stdout)
    (record,) = plain["history"]
    norms = {p["name"]: p["grad_l2"] for p in record["parameters"] if p["grad_l2"] is not None}
    assert plain["settings"]["explode_above"] == 1e3 and plain["settings"]["vanish_below"] == 1e-7
    middle = sorted(norms.values())[len(norms) // 2]
    data = json.loads(cli(*args, "--explode-above", str(middle), "--vanish-below", "0").stdout)
    (warning,) = _record_warnings(data["history"][0])
    above = [n for n, g in norms.items() if g > middle]
    assert above and warning.startswith(f"step 2: exploding gradients (norm above {middle:g}): ")
    assert [part.split(" (")[0] for part in warning.split(": ", 2)[2].split(", ")] == above
    data = json.loads(cli(*args, "--vanish-below", str(middle)).stdout)
    (warning,) = _record_warnings(data["history"][0])
    below = [n for n, g in norms.items() if g < middle]
    assert warning.startswith(f"step 2: vanishing gradients (norm below {middle:g}): ")
    assert [part.split(" (")[0] for part in warning.split(": ", 2)[2].split(", ")] == below


def test_every_step_gradient_norms_match_the_records(tiny, cli):
    """The per-step norms (float32 dot read in place) equal, at every step, the records'
    float64 layer norms when a record is logged at every step; sharing layers agree."""
    r = cli("train", tiny, "--samples", "32", "--batch-size", "8", "--epochs", "3",
            "--every", "1", "--seed", "5", "--format", "json")  # fmt: skip
    data = json.loads(r.stdout)
    per_step = {x["index"]: x["values"] for x in data["grad_l2_per_step"]}
    assert sorted(per_step) == [0, 1, 2, 3] and data["steps"] == 12
    assert [x["name"] for x in data["grad_l2_per_step"]] == ["dense0", "hidden", "dense1", "dense2"]
    for index, values in per_step.items():
        recorded = [
            next(x["grad_l2"] for x in h["layers"] if x["index"] == index) for h in data["history"]
        ]
        np.testing.assert_allclose(values, recorded, rtol=1e-5)
    assert per_step[1] == per_step[2]  # one shared tensor, one accumulated gradient
    assert len(set(per_step[0])) == 12  # a new value at every step


def test_bucket_max_keeps_spikes_and_non_finite_values():
    from paraminspect.render.sparkline import bucket_max, linear_sparkline

    values = [1.0] * 100
    values[37] = 50.0
    marks = bucket_max(values, 10)
    assert len(marks) == 10 and marks[3] == 50.0 and marks.count(1.0) == 9
    values[81] = float("nan")
    assert linear_sparkline(bucket_max(values, 10))[8] == "?"
    assert bucket_max([3.0, 2.0], 10) == [3.0, 2.0]


def test_hist_draws_each_recorded_gradient_as_numpy_does(tiny):
    """--hist: at every record each selected gradient's histogram is numpy.histogram of the
    live MXNet gradient at that moment (read independently in the record callback)."""
    opts = TrainOptions(samples=16, batch_size=4, epochs=2, every=3, seed=3, hist_bins=5,
                        hist_select=".*weight")  # fmt: skip
    model, optimizer = prepare(tiny, opts)
    seen = []

    def grab(record):
        grads = {n: p.grad().asnumpy() for n, p in model.params.items()}
        seen.append((record, grads))

    fit(model, optimizer, opts, on_record=grab)
    assert [r.step for r, _ in seen] == [3, 6, 8]
    for record, grads in seen:
        drawn = {p.name: p.grad_hist for p in record.parameters if p.grad_hist is not None}
        assert sorted(drawn) == ["dense0_weight", "dense2_weight", "hidden_weight"]
        for name, h in drawn.items():
            g = grads[name].astype(np.float64)
            counts, edges = np.histogram(g, bins=5, range=(g.min(), g.max()))
            assert h.counts == tuple(counts) and h.label == f"{name}.grad"
            np.testing.assert_array_equal(h.edges, edges)


def test_hist_tables_and_json(tiny, cli):
    args = ("train", tiny, "--samples", "16", "--batch-size", "8", "--epochs", "2",
            "--seed", "1", "--hist", "--bins", "6", "--select", "hidden")  # fmt: skip
    out = cli(*args).stdout
    assert "hidden_weight.grad (6 bins)" in out
    assert "hidden_bias.grad (6 bins)" in out and "dense0_weight.grad (" not in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("2 ", "4 "))]
    assert any(line.count("|") == 2 and "%" in line for line in rows)
    data = json.loads(cli(*args, "--format", "json").stdout)
    for record in data["history"]:
        hists = {p["name"]: p["grad_hist"] for p in record["parameters"]}
        assert hists["dense0_weight"] is None and len(hists["hidden_weight"]["counts"]) == 6
        assert sum(hists["hidden_bias"]["counts"]) == 8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", ".*weight"], "Invalid value for '--select': --select chooses what --hist "
         "draws; add --hist"),
        (["--hist", "--select", "nothing"], "Invalid value for '--select': no parameter matches "
         "'nothing' (names: dense0_weight, dense0_bias, dense1_weight, dense1_bias)"),
        (["--hist", "--bins", "0"], "Invalid value for '--bins': 0 is not in the range 1<=x<=200."),
    ],
)  # fmt: skip
def test_hist_usage_errors(cli, args, message):
    r = cli("train", *args)
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == f"Error: {message}"


def test_per_step_norm_does_not_overflow_float32():
    """Gradients near 1e20 overflow float32 squares; the norm falls back to float64."""
    from mxnet import nd

    from paraminspect.actions.train import _grad_square

    g = nd.full((300,), 3e20)
    assert _grad_square(g) == pytest.approx(300 * 9e40, rel=1e-6)
    g = nd.array([1.0, 2.0, float("nan")])
    assert np.isnan(_grad_square(g))


def test_trouble_between_records_is_named_at_its_step(tiny, cli):
    """A layer's per-step ||g|| above --explode-above on a step without a record is named
    at that step (first step of each kind per layer), carried by the next record, and the
    norm agrees with the per-step norms. (These events replace the old "(between logged
    steps)" lines, which said the same thing without a name.)"""
    r = cli("train", tiny, "--samples", "16", "--batch-size", "4", "--epochs", "2",
            "--lr", "3", "--every", "4", "--explode-above", "0.5", "--seed", "0",
            "--format", "json")  # fmt: skip
    data = json.loads(r.stdout)
    per_step = {x["index"]: x["values"] for x in data["grad_l2_per_step"]}
    names = {x["index"]: x["name"] for x in data["grad_l2_per_step"]}
    found = 0
    previous = 0
    for record in data["history"]:
        for e in record["events"]:
            assert previous < e["step"] <= record["step"]
            if e["kind"] not in ("explode", "vanish", "nan") or e["subject"] == "loss":
                continue
            found += e["step"] % 4 != 0
            index = int(e["subject"].split(" ")[0])
            assert e["subject"] == f"{index} ({names[index]})"
            value = per_step[index][e["step"] - 1]
            if e["kind"] == "explode":
                assert value > 0.5 and e["value"] == pytest.approx(value)
            elif e["kind"] == "vanish":
                assert value < 1e-7
            else:
                assert value is None  # non-finite: null in the JSON
        previous = record["step"]
    assert found > 0
    assert [e for r in data["history"] for e in r["events"]] == data["events"]


def test_unplanned_stop_record_has_no_update_ratios(tiny, cli):
    """A run that stops at a step it had not planned to log never kept the weights before
    that step: its update ratios are null (not the 0 a post-step copy would give); a
    planned record has them."""
    args = ("train", tiny, "--samples", "16", "--batch-size", "4", "--epochs", "50",
            "--lr", "1e4", "--seed", "0", "--format", "json")  # fmt: skip
    data = json.loads(cli(*args, "--every", "1000").stdout)
    last = data["history"][-1]
    assert data["stopped"] and last["step"] == data["steps"] and len(data["history"]) == 1
    assert all(p["update_ratio"] is None for p in last["parameters"])
    assert all(x["update_ratio"] is None for x in last["layers"] if x["params"])
    calm = json.loads(cli("train", tiny, "--samples", "16", "--batch-size", "4", "--epochs",
                          "1", "--seed", "0", "--format", "json").stdout)  # fmt: skip
    assert all(p["update_ratio"] > 0 for p in calm["history"][0]["parameters"])
