"""``pi.show(net, X, check=True)`` on live Blocks, and ``show --check`` on factories: what
the tool cannot know (the init given to the user's own ``initialize()``) is never compared
with a guessed law; what it knows is checked against the real values."""

from __future__ import annotations

import json
import textwrap

import mxnet as mx
import numpy as np
from mxnet.gluon import nn

import paraminspect as pi
from paraminspect.actions.init import UNKNOWN_INIT_NOTE


def _net(hybrid: bool = False):
    net = nn.HybridSequential() if hybrid else nn.Sequential()
    net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
    return net


def _results(report):
    return {c.parameter: c for c in report.checks}


def test_user_xavier_is_not_checked_but_the_biases_zeros_are():
    net = _net()
    net.initialize(mx.init.Xavier(magnitude=3))
    x = mx.nd.array(np.random.default_rng(0).standard_normal((4, 5)), dtype="float32")
    report = pi.show(net, x, check=True)
    got = _results(report)
    w0, b0, w1, b1 = (p.name for p in net.collect_params().values())
    for w in (w0, w1):
        assert got[w].status == "skip" and got[w].items == ()
        assert got[w].initializer == "your initialize()" and got[w].law == "unknown"
        assert got[w].note == UNKNOWN_INIT_NOTE
    for b in (b0, b1):
        assert got[b].status == "pass" and got[b].law == "every value = 0"
        assert [i.name for i in got[b].items] == ["finite", "exact"]
    assert not report.failed and report.failure is None
    # the JSON says the same: skipped, with the note, and the check passed
    results = {r["parameter"]: r for r in report.to_dict()["check"]["results"]}
    assert results[w0]["status"] == "skip" and results[w0]["note"] == UNKNOWN_INIT_NOTE
    assert report.to_dict()["check"]["passed"] is True


def test_a_bias_the_user_changed_fails_against_its_real_values():
    net = _net()
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((2, 5)))
    values = np.zeros(8, dtype="float32")
    values[[1, 6]] = 0.5
    net[0].bias.set_data(mx.nd.array(values))
    report = pi.show(net, (2, 5), check=True)
    got = _results(report)[net[0].bias.name]
    assert got.status == "fail"
    exact = next(i for i in got.items if i.name == "exact")
    wrong = int(np.count_nonzero(net[0].bias.data().asnumpy() != 0))
    assert exact.observed == f"{wrong:,} of 8 differ" == "2 of 8 differ"
    assert report.failure == (
        f"1 of 4 parameters do not match their initializer's theory: {net[0].bias.name}"
    )


def test_weights_the_tool_drew_are_checked_against_their_real_values():
    net = _net(hybrid=True)  # never initialized: the tool draws Gluon's default
    report = pi.show(net, (4, 5), check=True)
    got = _results(report)
    weight = net[0].weight.data().asnumpy().astype(np.float64)
    check = got[net[0].weight.name]
    assert check.status == "pass" and check.initializer == "uniform(scale=0.07)"
    items = {i.name: i for i in check.items}
    assert items["bounds"].observed == f"[{weight.min():.6g}, {weight.max():.6g}]"
    assert items["mean"].observed == f"{weight.mean():.6g}"
    assert items["std"].observed == f"{weight.std():.6g}"
    assert (check.fan_in, check.fan_out) == (5, 8)


def test_a_block_initialized_in_part_checks_the_part_the_tool_drew():
    first, second = nn.Dense(8), nn.Dense(3)
    first.initialize(mx.init.Normal(0.5))  # the user's; the second is left to the tool
    net = nn.Sequential()
    net.add(first, second)
    report = pi.show(net, (4, 5), check=True)
    got = _results(report)
    rows = {r.name: r.init for r in report.report.parameters}
    assert rows[first.weight.name] == "your initialize()" and rows[first.bias.name] == "zero"
    assert rows[second.weight.name] == "uniform(scale=0.07)"
    assert got[first.weight.name].status == "skip"
    assert got[second.weight.name].status == "pass"
    # the table says why it skipped and how many were not checked
    text = _render(report)
    assert "check: 1 parameter not checked (no known initializer, see the note)" in text
    assert "check: 3 of 3 parameters match their initializer's theory" in text
    assert "not checked: the values come from your" in text


def _render(report) -> str:
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(report)
    return console.file.getvalue()


FACTORY = """
    import mxnet as mx
    from mxnet.gluon import nn


    def fresh():
        net = nn.HybridSequential()
        net.add(nn.Dense(6, activation="tanh"), nn.Dense(2))
        return net


    def initialized():
        net = fresh()
        net.initialize(mx.init.Xavier())
        return net
"""


def _check_json(cli, ref):
    result = cli("show", ref, "--input", "data=4x3", "--check", "--seed", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    return {r["name"]: r["init"] for r in out["parameters"]}, out["check"]


def test_show_check_on_a_factory_knows_only_what_the_tool_drew(cli, tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(textwrap.dedent(FACTORY))
    inits, check = _check_json(cli, f"{path}:fresh")
    assert [r["status"] for r in check["results"]] == ["pass"] * 4
    assert sorted(set(inits.values())) == ["uniform(scale=0.07)", "zero"]
    inits, check = _check_json(cli, f"{path}:initialized")
    status = {r["parameter"]: r["status"] for r in check["results"]}
    assert [status[n] for n, i in inits.items() if i == "your initialize()"] == ["skip"] * 2
    assert [status[n] for n, i in inits.items() if i == "zero"] == ["pass"] * 2
    assert check["passed"] is True
