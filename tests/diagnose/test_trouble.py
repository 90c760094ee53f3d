"""TroubleDetector against hand-written MXNet training loops and hand-made sequences."""

from __future__ import annotations

import math
from typing import Dict, List

import numpy as np
import pytest

from paraminspect.diagnose.trouble import (
    DEFAULT_STOP_ON,
    DIVERGE_FACTOR,
    SMOOTHING,
    TROUBLE_KINDS,
    Event,
    TroubleDetector,
    parse_stop_on,
    should_stop,
)
from paraminspect.errors import OptionError


def run_mlp(lr: float, steps: int = 12) -> Dict[str, list]:
    """Full-batch SGD on Dense(64, relu)-Dense(64, relu)-Dense(10), softmax cross-entropy,
    on synthetic data like ``train``'s (uniform X, labels a linear teacher separates).

    Per step: the loss, each layer's ||g|| (float64 over weight and bias) and each ReLU
    layer's dead fraction, from the very forward pass the gradients come from.
    """
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    mx.random.seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(256, 64)).astype(np.float32)
    teacher = rng.normal(size=(64, 10))
    y = np.argmax((x - x.mean(axis=0)) @ teacher, axis=1).astype(np.float32)
    X, Y = nd.array(x), nd.array(y)
    net = nn.Sequential()
    net.add(nn.Dense(64, activation="relu"), nn.Dense(64, activation="relu"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    names = [layer.name for layer in net]
    out: Dict[str, list] = {"names": names, "loss": [], "norms": [], "dead": []}
    for _ in range(steps):
        with autograd.record():
            h1 = net[0](X)
            h2 = net[1](h1)
            loss = loss_fn(net[2](h2), Y).mean()
        loss.backward()
        norms = {}
        for layer in net:
            squares = [
                float(np.sum(p.grad().asnumpy().astype(np.float64) ** 2))
                for p in layer.collect_params().values()
            ]
            norms[layer.name] = math.sqrt(sum(squares))
        dead = {
            names[i]: float(np.mean(np.all(h.asnumpy() == 0, axis=0)))
            for i, h in ((0, h1), (1, h2))
        }
        trainer.step(1)
        out["loss"].append(float(loss.asscalar()))
        out["norms"].append(norms)
        out["dead"].append(dead)
    return out


def first_divergence_by_hand(losses: List[float], factor: float, smoothing: float) -> int:
    """The documented rule, written out again: the first step whose loss is non-finite or
    whose moving average is above factor x its best so far and above its first value."""
    m = np.float64(losses[0])
    first = best = m
    for step, loss in enumerate(losses[1:], start=2):
        if not math.isfinite(loss):
            return step
        m = smoothing * m + (1 - smoothing) * loss
        if m > factor * best and m > first:
            return step
        best = min(best, m)
    raise AssertionError("no divergence in this run")


def detect(run: Dict[str, list], lr: float, **kwargs: float) -> TroubleDetector:
    detector = TroubleDetector(**kwargs)
    for step, (loss, norms, dead) in enumerate(
        zip(run["loss"], run["norms"], run["dead"]), start=1
    ):
        detector.observe(step, loss, norms, dead, lr=lr)
    return detector


@pytest.fixture(scope="module")
def lr20() -> Dict[str, list]:
    return run_mlp(20.0)


@pytest.fixture(scope="module")
def lr50() -> Dict[str, list]:
    return run_mlp(50.0)


@pytest.mark.parametrize("lr", [20.0, 50.0])
@pytest.mark.parametrize("factor", [DIVERGE_FACTOR, 10.0])
def test_diverge_step_matches_the_rule_by_hand(lr, factor, lr20, lr50):
    run = lr20 if lr == 20.0 else lr50
    expected = first_divergence_by_hand(run["loss"], factor, SMOOTHING)
    detector = detect(run, lr, diverge_factor=factor)
    diverge = [e for e in detector.events if e.kind == "diverge"]
    assert [e.step for e in diverge] == [expected]
    assert diverge[0].subject == "loss"
    assert f"lr {lr:g} too high?" in diverge[0].message
    assert detector.diverged_at == expected


def test_raw_losses_with_smoothing_zero(lr20):
    losses = lr20["loss"]
    expected = first_divergence_by_hand(losses, 10.0, 0.0)
    # With no smoothing the rule is the plain one: loss > 10 x the best loss before it.
    plain = next(
        s
        for s in range(2, len(losses) + 1)
        if losses[s - 1] > 10 * min(losses[: s - 1]) and losses[s - 1] > losses[0]
    )
    assert expected == plain
    detector = detect(lr20, 20.0, diverge_factor=10.0, smoothing=0.0)
    (event,) = [e for e in detector.events if e.kind == "diverge"]
    assert event.step == plain
    best = min(losses[: plain - 1])
    best_step = losses.index(best) + 1
    ratio = losses[plain - 1] / best
    assert event.message == (
        f"loss rose {ratio:.3g}x since step {best_step} "
        f"({best:.3g} -> {losses[plain - 1]:.3g}; lr 20 too high?)"
    )


def test_lr20_diverges_then_relus_die_and_vanishing_is_not_the_diagnosis(lr20):
    names = lr20["names"]
    detector = detect(lr20, 20.0)
    kinds = [(e.kind, e.subject) for e in detector.events]
    diverged = detector.diverged_at
    assert diverged is not None
    # Each ReLU layer's dead event sits at the first step its dead fraction is 1.0.
    for name in names[:2]:
        first_dead = next(i for i, d in enumerate(lr20["dead"], 1) if d[name] == 1.0)
        (event,) = [e for e in detector.events if e.kind == "dead" and e.subject == name]
        assert event.step == first_dead > diverged
        assert event.message == (
            f"layer {name}: every ReLU is dead (all outputs 0), "
            f"after the loss diverged at step {diverged}"
        )
    # The gradients really did reach exactly 0 (so a naive rule would say "vanishing")...
    zero = [(s, n) for s, norms in enumerate(lr20["norms"], 1) for n, g in norms.items() if g == 0]
    assert {n for _, n in zero} == set(names[:2])
    # ...but the diagnosis is divergence and dead units; the vanishing is explained.
    assert ("vanish", names[0]) not in kinds and ("vanish", names[1]) not in kinds
    assert {e.subject for e in detector.explained} == set(names[:2])
    assert all("not reported: explained by" in e.message for e in detector.explained)
    assert should_stop(detector.events, parse_stop_on(DEFAULT_STOP_ON)) == detector.events[0]


def test_lr20_explode_events_name_layers_above_the_threshold(lr20):
    detector = detect(lr20, 20.0)
    for name in lr20["names"]:
        over = [s for s, norms in enumerate(lr20["norms"], 1) if norms[name] > 1e3]
        got = [e.step for e in detector.events if e.kind == "explode" and e.subject == name]
        assert got == over[:1]


def test_a_healthy_run_has_no_trouble():
    run = run_mlp(0.1, steps=30)
    detector = detect(run, 0.1)
    assert detector.events == [] and detector.explained == []
    assert run["loss"][-1] < run["loss"][0]  # it did learn


# --------------------------------------------------------------- hand-made sequences


def test_nan_loss_is_diverge_and_nan_once():
    d = TroubleDetector()
    assert d.observe(1, 2.0, {"a": 1.0}) == []
    events = d.observe(2, float("nan"), {"a": float("nan")}, lr=0.5)
    assert [(e.kind, e.subject) for e in events] == [
        ("diverge", "loss"),
        ("nan", "loss"),
        ("nan", "a"),
    ]
    assert events[0].message == "loss became nan (lr 0.5 too high?)"
    assert events[2].message == "layer a: gradient norm is nan (NaN or Inf in its gradients)"
    assert d.observe(3, float("inf"), {"a": float("inf")}) == []  # each once per subject


def test_nonfinite_norm_is_nan_not_explode():
    d = TroubleDetector()
    (event,) = d.observe(1, 1.0, {"a": float("inf")})
    assert event.kind == "nan"


def test_explode_message():
    d = TroubleDetector(explode_above=100)
    (event,) = d.observe(1, 1.0, {"dense0": 2500.0})
    assert str(event) == (
        "step 1: layer dense0: gradient norm 2.5e+03 is above 100, exploding "
        "(learning rate too high?)"
    )


def test_vanishing_alone_is_reported():
    d = TroubleDetector()
    (event,) = d.observe(1, 1.0, {"a": 1e-9, "b": 0.5}, {"a": 0.5})
    assert (event.kind, event.subject, event.value) == ("vanish", "a", 1e-9)
    assert event.message == "layer a: gradient norm 1e-09 is below 1e-07, vanishing"


def test_dead_units_explain_vanishing_in_other_layers_and_later_steps():
    d = TroubleDetector()
    events = d.observe(1, 1.0, {"a": 0.0, "b": 0.0, "c": 0.3}, {"b": 1.0})
    assert [(e.kind, e.subject) for e in events] == [("dead", "b")]
    assert events[0].message == "layer b: every ReLU is dead (all outputs 0)"
    # Not measured at step 2: b's last dead fraction (1.0) still explains c's vanishing.
    assert d.observe(2, 1.0, {"c": 0.0}) == []
    assert [e.subject for e in d.explained] == ["a", "b", "c"]
    assert d.explained[2].message.endswith("(not reported: explained by dead ReLUs in b)")


def test_partly_dead_is_not_dead():
    d = TroubleDetector()
    assert d.observe(1, 1.0, {"a": 0.2}, {"a": 0.99}) == []


def test_divergence_explains_later_vanishing_without_dead_fractions():
    d = TroubleDetector(smoothing=0.0)
    d.observe(1, 2.0, {"a": 1.0})
    (event,) = d.observe(2, 50.0, {"a": 1.0})
    assert event.kind == "diverge" and event.message == (
        "loss rose 25x since step 1 (2 -> 50; learning rate too high?)"
    )
    assert d.observe(3, 40.0, {"a": 0.0}) == []
    assert "the loss diverged at step 2" in d.explained[0].message


def test_a_low_loss_burst_below_the_start_is_not_divergence():
    # The false alarm the "above its first value" guard removes: a well-fit net's batch
    # losses near zero, then one ordinary batch 1,000x the best.
    d = TroubleDetector(smoothing=0.0, diverge_factor=10)
    for step, loss in enumerate([2.3, 0.5, 1e-4, 1e-3, 0.2, 0.05], start=1):
        assert d.observe(step, loss, {}) == []
    (event,) = d.observe(7, 2.5, {})
    assert event.kind == "diverge"


def test_negative_best_loss():
    d = TroubleDetector(smoothing=0.0)
    d.observe(1, 2.0, {})
    d.observe(2, -1e-6, {})
    (event,) = d.observe(3, 2.5, {})
    assert event.message == (
        "loss rose from -1e-06 at step 2 to 2.5, above its first value 2 (learning rate too high?)"
    )


def test_steps_must_increase():
    d = TroubleDetector()
    d.observe(3, 1.0, {})
    with pytest.raises(ValueError, match="step 3 after step 3"):
        d.observe(3, 1.0, {})


@pytest.mark.parametrize(
    ("kwargs", "option", "message"),
    [
        ({"diverge_factor": 1.0}, "--diverge-factor", "1.0 is not a factor above 1; use e.g. 3"),
        ({"diverge_factor": math.inf}, "--diverge-factor", "inf is not a factor above 1"),
        ({"explode_above": -1.0}, "--explode-above", "-1.0 is not a finite number >= 0"),
        ({"vanish_below": math.nan}, "--vanish-below", "nan is not a finite number >= 0"),
        ({"vanish_below": 10.0, "explode_above": 1.0}, "--vanish-below", "10 is not below"),
        ({"smoothing": 1.0}, "--smoothing", "1.0 is not in [0, 1)"),
    ],
)
def test_bad_settings(kwargs, option, message):
    with pytest.raises(OptionError) as e:
        TroubleDetector(**kwargs)
    assert e.value.option == option and str(e.value).startswith(message)


# --------------------------------------------------------------- --stop-on


def test_parse_stop_on():
    assert parse_stop_on(DEFAULT_STOP_ON) == ("diverge", "nan", "explode", "dead")
    assert parse_stop_on(" NaN , diverge,nan") == ("diverge", "nan")
    assert parse_stop_on("none") == ()
    assert parse_stop_on(",".join(TROUBLE_KINDS)) == TROUBLE_KINDS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "diverge,explod",
            "unknown trouble 'explod'; did you mean 'explode'?; choose from "
            "diverge, nan, explode, dead, vanish, or none",
        ),
        ("nan,none", "'nan,none' mixes none with trouble names; give one or the other"),
        (
            "",
            "no trouble named; choose from diverge, nan, explode, dead, vanish, or none "
            "(e.g. diverge,explode,dead,nan)",
        ),
        ("nan,,dead", "'nan,,dead' has an empty name between commas"),
        ("oom", "unknown trouble 'oom'; choose from"),
    ],
)
def test_parse_stop_on_errors(text, message):
    with pytest.raises(OptionError) as e:
        parse_stop_on(text)
    assert e.value.option == "--stop-on" and str(e.value).startswith(message)


def test_should_stop_returns_the_first_matching_event():
    events = [Event(4, "vanish", "a", 0.0, "v"), Event(4, "dead", "b", 1.0, "d")]
    assert should_stop(events, ("dead", "nan")) is events[1]
    assert should_stop(events, ()) is None
    assert should_stop([], ("dead",)) is None
