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


    def known():
        # the first width given, the second deferred: values before any forward pass
        net = nn.HybridSequential(prefix="known_")
        with net.name_scope():
            net.add(nn.Dense(4, in_units=3, activation="relu"), nn.Dense(2))
        return net


    def mixed():
        net = nn.HybridSequential(prefix="sequential0_")
        net.add(
            nn.Dense(16, activation="tanh", prefix="dense0_"),
            nn.BatchNorm(prefix="batchnorm0_"),
            nn.Activation("relu", prefix="activation0_"),
            nn.Dropout(0.3, prefix="dropout0_"),
            nn.Dense(8, activation="relu", prefix="dense1_"),
            nn.LayerNorm(prefix="layernorm0_"),
            nn.Activation("sigmoid", prefix="activation1_"),
            nn.Dense(10, prefix="dense2_"),
        )
        return net
"""

# the spec of BOOK's mixed(): every layer type a spec has, parameter-free ones included
MIXED = """
name: mixed
input: {shape: [4, 20]}
layers:
  - {units: 16, activation: tanh}
  - {type: batchnorm}
  - {type: activation, activation: relu}
  - {type: dropout, rate: 0.3}
  - {units: 8, activation: relu}
  - {type: layernorm}
  - {type: activation, activation: sigmoid}
  - {units: 10}
"""

WHERE = ("kind", "source", "name")  # what may differ: where the net came from


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _same_but_where(a, b):
    for side in (a, b):
        side.pop("log", None)
        side.pop("seconds", None), side.pop("steps_per_second", None)  # train's clock
        for key in WHERE:
            side["model"].pop(key, None)
    assert a == b


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.py"
    path.write_text(textwrap.dedent(BOOK))
    return path


def _book_module(book):
    from importlib.util import module_from_spec, spec_from_file_location

    loader = spec_from_file_location("book_nets", book)
    module = module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


@pytest.mark.parametrize("net", ["mlp", "shared"])
@pytest.mark.parametrize(
    "command",
    [
        ("show", "--values", "--stats", "--grad"),
        ("show", "--before-forward", "--values", "--stats"),
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
    net = _book_module(book).nested()
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


def _reported(net):
    """Independently of the tool: the children train reports, as Gluon paths: those that
    register parameters, and ReLU layers (a fused Dense(activation='relu') or an
    Activation('relu')), whose dead fraction is measured."""
    return [
        str(i)
        for i, child in enumerate(net)
        if child._reg_params
        or getattr(child, "_act_type", None) == "relu"
        or getattr(getattr(child, "act", None), "_act_type", None) == "relu"
    ]


@pytest.mark.parametrize(
    "net, shape, options",
    [
        ("mlp", "2x20", ()),
        ("shared", "2x20", ("--shared", "--contributions", "--every", "4")),
        ("shared", "2x20", ("--hist", "--bins", "4", "--loss", "softmax-ce")),
        ("mixed", "4x20", ()),
    ],
)
def test_train_a_spec_and_the_same_factory_give_the_same_report(
    cli, book, tmp_path, net, shape, options
):
    if net == "mixed":
        spec_ref = str(tmp_path / "mixed.yaml")
        (tmp_path / "mixed.yaml").write_text(MIXED)
    else:
        spec_ref = net
    args = ["--epochs", "2", "--seed", "3", *options, "--format", "json"]
    spec = _json(cli("train", spec_ref, *args))
    factory = _json(cli("train", f"{book}:{net}", "--input", f"data={shape}", *args))
    paths = [row["path"] for row in spec["history"][0]["layers"]]
    assert paths == _reported(getattr(_book_module(book), net)())
    _same_but_where(spec, factory)


def test_train_rows_of_a_mixed_net_match_raw_mxnet(cli, book, tmp_path):
    # the same rows for a spec and a factory (above); here each row's numbers after the
    # run against the trained weights (--save) and the net run by hand on the same data
    import mxnet as mx
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 20)).astype(np.float32)
    y = rng.normal(size=(64, 10)).astype(np.float32)
    np.savez(tmp_path / "data.npz", X=x, y=y)
    saved = tmp_path / "trained.params"
    report = _json(
        cli(
            "train",
            f"{book}:mixed",
            "--input",
            "data=4x20",
            "--data",
            str(tmp_path / "data.npz"),
            "--epochs",
            "2",
            "--seed",
            "1",
            "--save",
            str(saved),
            "--format",
            "json",
        )
    )
    net = _book_module(book).mixed()
    net.load_parameters(str(saved))
    outputs = {}
    net[2].register_forward_hook(lambda block, args, out: outputs.setdefault("relu", out))
    net[4].register_forward_hook(lambda block, args, out: outputs.setdefault("dense1", out))
    out = net(mx.nd.array(x))  # predict mode: dropout off, BatchNorm's running statistics
    rows = {row["path"]: row for row in report["history"][-1]["layers"]}
    assert list(rows) == ["0", "1", "2", "4", "5", "7"]
    for path in ("0", "1", "4", "5", "7"):
        trained = [p for p in net[int(path)]._reg_params.values() if p.grad_req != "null"]
        l2 = np.sqrt(
            sum(float((p.data().asnumpy().astype(np.float64) ** 2).sum()) for p in trained)
        )
        assert rows[path]["weight_l2"] == pytest.approx(l2, rel=1e-6)
    for path, key in (("2", "relu"), ("4", "dense1")):
        a = outputs[key].asnumpy().reshape(len(x), -1)
        assert rows[path]["dead_relu"] == pytest.approx(float(np.mean(np.all(a == 0, axis=0))))
    assert rows["2"]["weight_l2"] is None and rows["2"]["grad_l2"] is None
    l2_loss = float(np.mean(0.5 * np.mean((out.asnumpy() - y) ** 2, axis=1)))
    assert report["history"][-1]["data_loss"] == pytest.approx(l2_loss, rel=1e-5)


@pytest.mark.parametrize("net, shape", [("nested", "4x5"), ("known", "2x3")])
def test_before_forward_shows_what_gluon_holds_after_initialize(cli, book, net, shape):
    # the book's deferred initialization: after net.initialize() and before net(X), a
    # weight whose input width is learned from X has shape (units, 0) and no values; the
    # same net by hand, the same seed, gives every shape and every value shown
    import mxnet as mx
    import numpy as np

    args = ["--before-forward", "--values", "--seed", "4", "--format", "json"]
    report = _json(cli("show", f"{book}:{net}", "--input", f"data={shape}", *args))
    mx.random.seed(4)
    block = getattr(_book_module(book), net)()
    block.initialize(mx.init.Uniform())
    raw = block.collect_params()
    rows = {row["name"].split("_", 1)[1]: row for row in report["parameters"]}
    assert sorted(rows) == sorted(n.split("_", 1)[1] for n in raw)
    deferred = 0
    for name, p in raw.items():
        row = rows[name.split("_", 1)[1]]
        assert tuple(row["shape"]) == p.shape
        if 0 in p.shape:
            deferred += 1
            assert row["data"] is None and "deferred" in row["data_note"]
        else:
            np.testing.assert_array_equal(np.array(row["data"]), p.data().asnumpy())
    assert deferred == {"nested": 3, "known": 1}[net]  # nested: 1.first/second share one
    assert report["totals"]["unique"] == sum(
        p.data().size for p in raw.values() if 0 not in p.shape
    )
    assert report["model"]["forward"] is False


def test_before_forward_on_a_live_block_and_when_nothing_is_deferred(cli, tmp_path):
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.HybridSequential(prefix="live_")
    with net.name_scope():
        net.add(nn.Dense(5, activation="relu"), nn.Dense(2))
    report = pi.show(net, (3, 7), before_forward=True).to_dict()
    assert [p["shape"] for p in report["parameters"]] == [[5, 0], [5], [2, 0], [2]]
    assert any("a 0 in a shape" in n for n in report["notes"])
    # every width given: nothing is deferred, and the note says so
    given = nn.Dense(2, in_units=7, prefix="given_")
    given.initialize(mx.init.One())
    report = pi.show(given, (3, 7), before_forward=True, values=True).to_dict()
    assert [p["shape"] for p in report["parameters"]] == [[2, 7], [2]]
    assert report["parameters"][0]["data"] == [[1.0] * 7] * 2
    assert any("every shape is already known" in n for n in report["notes"])


def test_before_forward_after_a_pass_the_factory_ran_itself(cli, tmp_path):
    # MXNet cannot undo a forward pass: a factory that ran one returns resolved shapes,
    # which --before-forward shows as they are (the note says why nothing is deferred)
    path = tmp_path / "ran.py"
    path.write_text(
        "import mxnet as mx\n"
        "from mxnet.gluon import nn\n\n\n"
        "def ran():\n"
        "    net = nn.HybridSequential(prefix='ran_')\n"
        "    with net.name_scope():\n"
        "        net.add(nn.Dense(3), nn.Dense(2))\n"
        "    net.initialize()\n"
        "    net(mx.nd.ones((1, 4)))\n"
        "    return net\n"
    )
    args = ["--input", "data=1x4", "--before-forward", "--format", "json"]
    report = _json(cli("show", f"{path}:ran", *args))
    assert [p["shape"] for p in report["parameters"]] == [[3, 4], [3], [2, 3], [2]]
    assert any("found by a forward pass the net ran" in n for n in report["notes"])
