"""One path per command: a YAML spec and the same net written as ``FILE.py:FUNC`` give the
same report (rows, numbers, labels, initializer spelling); only where it came from (the
header's source line, ``model.kind``/``model.source``/``model.name``) and the log lines may
differ. The book's nets (``mlp``, ``shared``) in ``show``, ``summary`` and ``grad``; a
nested shared net as a factory and as a live Block, its per-use gradients against raw
MXNet.
"""

from __future__ import annotations

import json
import textwrap

import pytest

import paraminspect as pi
from tests.conftest import run_fresh

BOOK = """
    from mxnet.gluon import nn


    def mlp():
        net = nn.HybridSequential(prefix="sequential0_")
        net.add(nn.Dense(256, activation="relu", prefix="dense0_"), nn.Dense(10, prefix="dense1_"))
        return net


    def shared():
        net = nn.HybridSequential(prefix="sequential0_")
        shared = nn.Dense(8, activation="relu", prefix="shared_")
        net.add(
            nn.Dense(8, activation="relu", prefix="dense0_"),
            shared,
            nn.Dense(8, activation="relu", params=shared.params, prefix="dense1_"),
            nn.Dense(10, prefix="dense2_"),
        )
        return net


    class Pair(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.first = nn.Dense(6, activation="relu")
                self.second = nn.Dense(6, activation="relu", params=self.first.params)

        def hybrid_forward(self, F, x):
            return self.second(self.first(x))


    def nested():
        net = nn.HybridSequential(prefix="nested_")
        with net.name_scope():
            net.add(nn.Dense(6, activation="relu"), Pair(), nn.Dense(3))
        return net
"""

WHERE = ("kind", "source", "name")  # what may differ: where the net came from


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _same_but_where(a, b):
    for side in (a, b):
        side.pop("log", None)
        for key in WHERE:
            side["model"].pop(key, None)
    assert a == b


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.py"
    path.write_text(textwrap.dedent(BOOK))
    return path


@pytest.mark.parametrize("net", ["mlp", "shared"])
@pytest.mark.parametrize(
    "command",
    [
        ("show", "--values", "--stats", "--grad"),
        ("summary",),
        ("grad", "--loss", "l2", "--stats", "--values"),
        ("grad", "--loss", "softmax-ce", "--layer", "1"),
    ],
)
def test_a_spec_and_the_same_factory_give_the_same_report(cli, book, net, command):
    name, *options = command
    seed = ["--seed", "3"]
    spec = _json(cli(name, net, *options, *seed, "--format", "json"))
    factory = _json(
        cli(name, f"{book}:{net}", "--input", "data=2x20", *options, *seed, "--format", "json")
    )
    assert spec["model"]["kind"] == "spec" and factory["model"]["kind"] == "factory"
    _same_but_where(spec, factory)


def test_the_same_numbers_without_a_seed(cli, book):
    # MXNet's default stream: the spec's X and weights (the book's numbers) come out of the
    # factory too, because a Block's inputs are drawn before its weights, as the book does
    spec = json.loads(run_fresh("show", "mlp", "--values", "--format", "json").stdout)
    factory = json.loads(
        run_fresh(
            "show", f"{book}:mlp", "--input", "data=2x20", "--values", "--format", "json"
        ).stdout
    )
    assert spec["parameters"][0]["data"][0][:2] == pytest.approx([0.06700657, -0.00369488])
    _same_but_where(spec, factory)


def test_a_nested_shared_net_as_factory_and_as_block(cli, book):
    from importlib.util import module_from_spec, spec_from_file_location

    loader = spec_from_file_location("book_nets", book)
    module = module_from_spec(loader)
    loader.loader.exec_module(module)
    net = module.nested()
    args = ["--input", "data=4x5", "--loss", "l2", "--seed", "2", "--format", "json"]
    factory = _json(cli("grad", f"{book}:nested", *args))
    paths = [x["path"] for x in factory["model"]["layers"]]
    assert paths == ["0", "1", "1.first", "1.second", "2"]
    shared = [p for p in factory["parameters"] if len(p["layers"]) > 1]
    assert [p["layers"] for p in shared] == [["1.first", "1.second"]] * 2
    assert all(p["contributions_check"]["ok"] for p in shared)
    assert [[c["layer"] for c in p["contributions"]] for p in shared] == [
        ["1.first", "1.second"]
    ] * 2
    # the same net from Python, the same seed: the same numbers, labels and rows (each
    # use's gradient is checked against raw MXNet in tests/api/test_grad_shared_block.py)
    block = pi.grad(net, (4, 5), loss="l2", seed=2).to_dict()
    factory["model"].pop("source"), block["model"].pop("source")
    factory["model"].pop("kind"), block["model"].pop("kind")
    factory.pop("log"), block.pop("log")
    assert [p["name"].split("_", 1)[1] for p in factory["parameters"]] == [
        p["name"].split("_", 1)[1] for p in block["parameters"]
    ]
    for a, b in zip(factory["parameters"], block["parameters"]):
        assert a["layers"] == b["layers"] and a["init"] == b["init"]
        assert a["grad_stats"] == pytest.approx(b["grad_stats"])
    assert factory["loss"] == block["loss"]
