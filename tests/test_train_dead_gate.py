"""The per-step dead-ReLU check runs only where a layer can be dead (actions/train/relu.py,
StepDeadRelu); the named events must be the same as measuring at every step."""

from __future__ import annotations

import pytest

import paraminspect.actions.train.loop as loop
from paraminspect.actions.train import TrainOptions, fit, prepare
from paraminspect.actions.train.relu import StepDeadRelu


def events(opts: TrainOptions, gate: bool, monkeypatch) -> tuple:
    made = []

    def make(probe, norms):
        made.append(StepDeadRelu(probe, norms, gate=gate))
        return made[-1]

    monkeypatch.setattr(loop, "StepDeadRelu", make)
    model, optimizer = prepare("mlp", opts)
    report = fit(model, optimizer, opts)
    return tuple((e.step, e.kind, e.subject) for e in report.events), made[0], report.steps


@pytest.mark.parametrize("lr, seed", [(20.0, 1), (14.0, 2), (50.0, 1), (0.1, 1)])
def test_gated_dead_relu_names_the_same_events_at_the_same_steps(lr, seed, monkeypatch):
    opts = TrainOptions(samples=256, batch_size=32, epochs=4, lr=lr, seed=seed)
    gated, gate, steps = events(opts, True, monkeypatch)
    every, reference, same_steps = events(opts, False, monkeypatch)
    assert gated == every and steps == same_steps
    assert reference.measured == steps  # every step (a run at lr 50 stops at inf)
    assert gate.gated  # the spec's Dense(relu) layers are gated ...
    if lr == 0.1:
        assert gate.measured == 0  # ... and a healthy run never needs the probe
    if any(kind == "dead" for _, kind, _ in every):
        assert gate.measured > 0


def test_the_traced_probe_matches_the_layers_run_one_by_one():
    """The traced pass Blocks use (dead units counted in MXNet) against dead_relu (a
    spec's layers run one by one, numpy on every layer's output), traced here on a spec,
    on a healthy net and on one whose ReLUs are dying at lr 20."""
    from mxnet import nd

    from paraminspect.actions.train import dead_relu
    from paraminspect.actions.train.layers import relu_indices
    from paraminspect.actions.train.relu import _trace

    for lr, epochs in ((0.1, 1), (20.0, 4)):
        opts = TrainOptions(samples=256, batch_size=32, epochs=epochs, lr=lr, seed=1)
        model, optimizer = prepare("mlp", opts)
        fit(model, optimizer, opts)
        block, indices = _trace(model, relu_indices(model.layout))
        assert block is not None and indices
        x = nd.random.uniform(shape=(64, *model.layout.inputs[0].shape[1:]))
        expected = dead_relu(model, x)
        values = block(x).asnumpy()
        n = len(indices)
        assert {i: float(values[k]) / float(values[n + k]) for k, i in enumerate(indices)} == (
            expected
        )
        assert (max(expected.values()) > 0.9) == (lr == 20.0)  # dying at lr 20, not at 0.1
