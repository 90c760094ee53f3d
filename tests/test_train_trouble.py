"""train names its trouble (issue 16): divergence caught at the step a hand-written Gluon
loop crosses the same threshold, --stop-on stops there (exit 1, a valid log, a loadable
--save holding the last good parameters), and every bad --stop-on / --diverge-factor."""

from __future__ import annotations

import json
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from paraminspect.actions.train import TrainOptions, fit, prepare, synthetic_data

SAMPLES = 64  # one batch of all samples per epoch: the shuffle cannot change a batch's loss
LR = 20.0


def raw_run(opts: TrainOptions, steps: int):
    """The tool's initial weights and data, then a hand-written Gluon loop: the batch loss of
    each step and the first step the smoothed-loss rule (factor 3, weight 0.9) fires."""
    model, _ = prepare("mlp", opts)
    x, y, _ = synthetic_data(model, opts.loss, opts.samples)  # the stream fit() draws from
    weights = {n: p.data().asnumpy() for n, p in model.params.items()}
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu", in_units=20), nn.Dense(10, in_units=256))
    net.initialize()
    for raw, mine in zip(net.collect_params().values(), weights.values()):
        raw.set_data(nd.array(mine))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": opts.lr})
    l2 = gluon.loss.L2Loss()
    losses, m, first, best, crossed = [], None, None, math.inf, None
    for step in range(1, steps + 1):
        with autograd.record():
            loss = l2(net(x), y).mean()
        loss.backward()
        value = float(loss.asscalar())
        losses.append(value)
        if m is None:
            m = first = value
        else:
            m = 0.9 * m + 0.1 * value
            if crossed is None and (not math.isfinite(value) or (m > 3 * best and m > first)):
                crossed = step
        best = min(best, m)
        trainer.step(1)
    return losses, crossed, weights


def opts(**kw) -> TrainOptions:
    base = dict(samples=SAMPLES, batch_size=SAMPLES, epochs=12, lr=LR, seed=1)
    base.update(kw)
    return TrainOptions(**base)


@pytest.mark.parametrize("lr, seed", [(20.0, 1), (12.0, 1), (14.0, 2), (10.0, 1)])
def test_divergence_is_named_at_the_step_a_raw_loop_crosses_the_threshold(lr, seed):
    run = opts(lr=lr, seed=seed, epochs=20)
    raw_losses, crossed, _ = raw_run(run, 20)
    model, optimizer = prepare("mlp", run)
    report = fit(model, optimizer, run)
    if crossed is None:  # lr 10: the raw loop never crosses, and nothing is named
        assert not [e for e in report.events if e.kind == "diverge"]
        return
    diverge = [e for e in report.events if e.kind == "diverge"]
    assert [e.step for e in diverge] == [crossed]
    event = diverge[0]
    assert event.subject == "loss"
    assert event.message.startswith("loss rose ") and event.message.endswith(
        f"lr {lr:g} too high?)"
    )
    # the loss the detector saw is the raw loop's, step for step
    assert event.value == pytest.approx(raw_losses[crossed - 1], rel=1e-5)
    assert report.stopped is None and report.failure is None  # no --stop-on: warned only


def test_stop_on_stops_there_with_a_valid_log_and_the_last_good_parameters(cli, tmp_path):
    _, crossed, _ = raw_run(opts(), 12)
    log, saved = tmp_path / "run.jsonl", tmp_path / "last-good.params"
    r = cli(
        "train", "--samples", str(SAMPLES), "--batch-size", str(SAMPLES), "--epochs", "12",
        "--lr", "20", "--seed", "1", "--stop-on", "diverge,explode,dead,nan",
        "--log", str(log), "--save", str(saved), "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["steps"] == crossed
    assert data["stopped_by"]["kind"] == "diverge" and data["stopped_by"]["step"] == crossed
    message = data["stopped_by"]["message"]
    assert data["stopped"] == (
        f"stopped at step {crossed} (epoch {crossed}) on diverge (--stop-on): {message}; "
        "that step was not applied"
    )
    assert r.stderr.strip().splitlines()[-1] == f"Error: {data['stopped']}"
    assert f"warning: step {crossed}: {message}" in " ".join(r.stderr.split())
    # the log: every finished record (one per epoch before the stop) plus the stopping one
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, crossed + 1))
    assert lines[-1]["events"][0] == data["stopped_by"]
    assert lines == data["history"]
    # --save: the parameters before the bad step, as the raw loop had them then
    model, optimizer = prepare("mlp", opts())
    expect = fit(model, optimizer, opts(epochs=crossed - 1))
    assert expect.steps == crossed - 1
    loaded = nd.load(str(saved))
    assert sorted(loaded) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    for key, p in zip(("0.weight", "0.bias", "1.weight", "1.bias"), model.params.values()):
        np.testing.assert_array_equal(loaded[key].asnumpy(), p.data().asnumpy())
    net = nn.Sequential()
    net.add(nn.Dense(256, activation="relu", in_units=20), nn.Dense(10, in_units=256))
    net.load_parameters(str(saved))  # loadable by plain Gluon
    assert all(np.isfinite(v.asnumpy()).all() for v in loaded.values())


def test_lr_50_names_the_explosion_and_stops_before_inf(cli):
    r = cli("train", "--lr", "50", "--seed", "1", "--stop-on", "explode", "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    event = data["stopped_by"]
    assert event["kind"] == "explode" and event["subject"] in ("0 (dense0)", "1 (dense1)")
    assert "is above 1000, exploding (lr 50 too high?)" in event["message"]
    assert all(math.isfinite(x["loss"]) for x in data["history"])


def test_without_stop_on_the_run_warns_and_goes_on(cli):
    r = cli("train", "--lr", "20", "--seed", "1", "--format", "json")
    data = json.loads(r.stdout)
    assert data["stopped_by"] is None and data["stop_on"] == []
    kinds = [e["kind"] for e in data["events"]]
    assert kinds[0] == "diverge" and "dead" in kinds and "vanish" not in kinds
    assert "warning: step " in r.stderr and "loss rose" in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--stop-on", "diverg"],
            "Invalid value for '--stop-on': unknown trouble 'diverg'; did "
            "you mean 'diverge'?; choose from diverge, nan, explode, dead, vanish, or none",
        ),
        (
            ["--stop-on", "nan,,dead"],
            "Invalid value for '--stop-on': 'nan,,dead' has an empty "
            "name between commas; choose from diverge, nan, explode, dead, vanish, or none",
        ),
        (
            ["--stop-on", "none,nan"],
            "Invalid value for '--stop-on': 'none,nan' mixes none with "
            "trouble names; give one or the other",
        ),
        (
            ["--diverge-factor", "1"],
            "Invalid value for '--diverge-factor': 1.0 is not a factor above 1; use e.g. 3",
        ),
    ],
)
def test_bad_stop_on_and_diverge_factor_exit_2(cli, args, message):
    r = cli("train", *args)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == f"Error: {message}"


def test_help_example_shows_a_warning(cli):
    out = cli("train", "--help").output
    assert "--lr 3 " not in out
    assert "paraminspect train --lr 20 --seed 1" in out and "--stop-on" in out
    mx.random.seed(0)  # keep later tests' default stream independent of this one
