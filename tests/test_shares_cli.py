"""Per-use gradient shares (issue 16) in `grad` and `train --contributions`, checked against
raw autograd: each use's gradient from its own copy of the shared weights, G from one
truly shared variable, share_i = <g_i, G>/||G||^2 in float64."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from mxnet import autograd, nd

from paraminspect.actions.grad import grad
from paraminspect.actions.train import TrainOptions, prepare, synthetic_data
from paraminspect.actions.view import ViewOptions

NAMES = ("dense0_weight", "dense0_bias", "shared_weight", "shared_bias", "dense2_weight",
         "dense2_bias")  # fmt: skip


def raw_shares(weights, x, targets):
    """The built-in 'shared' spec by hand: dense0 relu, shared relu, shared again relu, dense2;
    loss = mean over samples of gluon's L2Loss. Returns {name: (share_1, share_2)}."""
    x, t = nd.array(x), nd.array(targets)

    def forward(w, s1, s2):
        h = nd.relu(nd.FullyConnected(x, w["dense0_weight"], w["dense0_bias"], num_hidden=8))
        h = nd.relu(nd.FullyConnected(h, s1[0], s1[1], num_hidden=8))
        h = nd.relu(nd.FullyConnected(h, s2[0], s2[1], num_hidden=8))
        y = nd.FullyConnected(h, w["dense2_weight"], w["dense2_bias"], num_hidden=10)
        return (0.5 * ((y - t) ** 2).mean(axis=1)).mean()

    w = {k: nd.array(v) for k, v in weights.items()}
    uses = [
        [nd.array(weights["shared_weight"]), nd.array(weights["shared_bias"])] for _ in range(2)
    ]
    for pair in uses:
        for a in pair:
            a.attach_grad()
    with autograd.record():
        forward(w, uses[0], uses[1]).backward()
    one = [nd.array(weights["shared_weight"]), nd.array(weights["shared_bias"])]
    for a in one:
        a.attach_grad()
    with autograd.record():
        forward(w, one, one).backward()
    out = {}
    for k, name in enumerate(("shared_weight", "shared_bias")):
        G = one[k].grad.asnumpy().astype(np.float64).ravel()
        g = [u[k].grad.asnumpy().astype(np.float64).ravel() for u in uses]
        out[name] = tuple(float(np.dot(gi, G) / np.dot(G, G)) for gi in g)
    return out


def test_grad_shares_match_raw_autograd_and_add_to_1(cli):
    report = grad("shared", ViewOptions(values=True), seed=1, loss="l2")
    weights = {row.name: row.data.values for row in report.base.parameters}
    assert tuple(weights) == NAMES
    raw = raw_shares(weights, report.x, report.targets)
    for s in report.shared:
        shares = [c.share for c in s.contributions]
        assert s.shares_sum == pytest.approx(1.0, abs=1e-6)
        assert shares == pytest.approx(raw[s.parameter], abs=1e-5)
    # the case: one use carries 82% of the shared weight's gradient
    weight = next(s for s in report.shared if s.parameter == "shared_weight")
    assert [round(c.share, 2) for c in weight.contributions] == [0.18, 0.82]
    # table and JSON say the same
    data = json.loads(
        cli("grad", "shared", "--loss", "l2", "--seed", "1", "--format", "json").stdout
    )
    p = next(p for p in data["parameters"] if p["name"] == "shared_weight")
    assert [c["share"] for c in p["contributions"]] == [c.share for c in weight.contributions]
    assert p["contributions_check"]["shares_sum"] == pytest.approx(1.0, abs=1e-6)
    assert p["contributions_check"]["shares_note"] is None
    text = cli("grad", "shared", "--loss", "l2", "--seed", "1").output
    assert "share <g_i, G>/||G||^2" in " ".join(text.split())
    assert " 18.0% " in text and " 82.0% " in text


def test_grad_shares_are_undefined_for_a_zero_gradient(tmp_path):
    spec = tmp_path / "dead.yaml"
    spec.write_text(
        "input: {shape: [2, 4]}\nlayers:\n"
        "  - {units: 4, activation: relu, init: {bias: {method: constant, value: -100}}}\n"
        "  - {name: s, units: 4, activation: relu}\n"
        "  - {units: 4, activation: relu, share: s}\n  - {units: 2}\n"
    )
    report = grad(str(spec), ViewOptions(), seed=0, loss="l2")
    weight, _ = report.shared
    assert weight.shares_sum is None and [c.share for c in weight.contributions] == [None, None]
    assert weight.shares_note.startswith("the accumulated gradient is 0: no direction to share")


def test_train_contributions_match_raw_autograd_at_the_first_record(cli):
    args = dict(samples=16, batch_size=16, epochs=3, lr=0.5, seed=3, shared=True)
    model, _ = prepare(None, TrainOptions(**args))
    x, y, _ = synthetic_data(model, "l2", 16)  # the stream train draws from, after the build
    weights = {n: p.data().asnumpy() for n, p in model.params.items()}
    raw = raw_shares(weights, x.asnumpy(), y.asnumpy())
    r = cli("train", "--shared", "--samples", "16", "--batch-size", "16", "--epochs", "3",
            "--lr", "0.5", "--seed", "3", "--every", "1", "--contributions", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data["history"]) == 3
    for record in data["history"]:
        for s in record["shared"]:
            assert sum(s["shares"]) == pytest.approx(1.0, abs=1e-6)
    # step 1's gradient is the whole (full-batch) data set's at the initial weights
    first = {s["parameter"]: s["shares"] for s in data["history"][0]["shared"]}
    for name, shares in first.items():
        assert shares == pytest.approx(raw[name], abs=1e-5)
    # without the flag: no shares, and the table gains no column
    plain = json.loads(
        cli("train", "--shared", "--epochs", "1", "--seed", "3", "--format", "json").stdout
    )
    assert all(s["shares"] is None for r_ in plain["history"] for s in r_["shared"])
    # the column stays at 80 columns, its header whole and each use beside its share
    for columns in (80, 120):
        table = cli(
            "train", "--shared", "--epochs", "1", "--seed", "3", "--contributions",
            columns=columns,
        )  # fmt: skip
        assert table.exit_code == 0, table.output
        lines = table.output.splitlines()
        assert max(map(len, lines)) <= columns
        assert any("share of g" in line for line in lines)  # "per use" may fold below
        shares = [line for line in lines if re.search(r"\b1: \d+\.\d%", line)]
        assert shares and all(re.search(r"\b2: \d+\.\d%", line) is None for line in shares)
        assert sum(bool(re.search(r"\b2: \d+\.\d%", line)) for line in lines) == len(shares)
