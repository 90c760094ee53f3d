"""The Python API: import cost, errors, reports equal to the CLI's, live Blocks."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

import paraminspect as pi
from paraminspect.errors import OptionError

BUILTINS = ("mlp", "shared", "chapter4_2", "deep_tanh")


def test_import_is_cheap_and_lists_its_names():
    code = (
        "import sys, paraminspect as pi; "
        "print(sorted(m for m in ('mxnet', 'click', 'rich', 'pydantic') if m in sys.modules)); "
        "print(all(callable(getattr(pi, n)) and getattr(pi, n).__doc__ for n in pi.__all__ "
        "if n != '__version__'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize("name", BUILTINS)
def test_show_to_dict_equals_cli_json(cli, name):
    cli_json = json.loads(cli("show", name, "--seed", "1", "--format", "json").output)
    report = pi.show(name, seed=1)
    assert report.to_dict() == cli_json
    assert json.loads(report.to_json()) == cli_json


@pytest.mark.parametrize("name", BUILTINS)
def test_summary_and_grad_to_dict_equal_cli_json(cli, name):
    assert pi.summary(name, seed=2).to_dict() == json.loads(
        cli("summary", name, "--seed", "2", "--format", "json").output
    )
    assert pi.grad(name, seed=2, loss="l2").to_dict() == json.loads(
        cli("grad", name, "--seed", "2", "--loss", "l2", "--format", "json").output
    )


def test_report_draws_what_the_cli_table_draws(cli):
    from paraminspect.render import render

    report = pi.show("shared", values=True)
    ours = Console(file=io.StringIO(), width=100, color_system=None)
    ours.print(report)
    theirs = Console(file=io.StringIO(), width=100, color_system=None)
    render(report, "table", theirs, Console(file=io.StringIO()))
    assert ours.file.getvalue() == theirs.file.getvalue()


def test_notebook_html_names_parameters_with_text_fallback():
    bundle = pi.show("mlp")._repr_mimebundle_()
    assert "dense0_weight" in bundle["text/html"] and "<pre" in bundle["text/html"]
    assert "dense0_weight" in bundle["text/plain"] and "<" not in bundle["text/plain"]


def _mlp():
    from mxnet.gluon import nn

    net = nn.Sequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(256, activation="relu"), nn.Dense(10))
    net.initialize()
    return net


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (
            lambda net: pi.show(net),
            OptionError,
            "net_dense0 (Dense at 0) needs an input shape: its weight is (256, 0) until the first "
            "forward pass (deferred initialization); give inputs, e.g. pi.show(net, (2, 20))",
        ),
        (lambda net: pi.grad(net, (2, 20), (2, 20)), OptionError, "net takes 1 input (x), got 2"),
        (
            lambda net: pi.show(42),
            OptionError,
            "pi.show takes a Gluon Block, a MODEL name or path (e.g. 'mlp'), or what pi.load() "
            "returns; got int",
        ),
        (
            lambda net: pi.grad(net, (2, 20), loss="l22"),
            OptionError,
            "unknown loss 'l22'; did you mean 'l2'? (choose from sum, l2, softmax-ce, or pass a "
            "function of the outputs)",
        ),
        (lambda net: pi.show("mlp", slice="0,,x"), OptionError, None),
        (
            lambda net: pi.diff({"w": np.zeros(2)}, 3),
            OptionError,
            "pi.diff b must be a path, a Gluon Block or a dict of arrays, got int",
        ),
        (lambda net: pi.load("no-such-spec"), pi.ParamInspectError, None),
        (
            lambda net: pi.diff(net, {}),
            OptionError,
            "pi.diff a: net_dense0_weight has no values yet (deferred initialization); "
            "run the net once first",
        ),
    ],
)
def test_errors_are_the_cli_classes_never_systemexit(call, kind, message):
    with pytest.raises(kind) as info:  # a SystemExit would fail this test, not pass it
        call(_mlp())
    if message is not None:
        assert str(info.value) == message


def test_no_click_in_a_fresh_process():
    code = (
        "import sys, paraminspect as pi; r = pi.show('mlp'); d = pi.diff('mlp', 'mlp'); "
        "print('click' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_live_block_show_counts_shared_once():
    from mxnet.gluon import nn

    shared = nn.Dense(8, activation="relu")
    net = nn.Sequential()
    net.add(nn.Dense(8, activation="relu"), shared, nn.Dense(8, params=shared.params), nn.Dense(2))
    net.initialize()
    d = pi.show(net, np.ones((2, 4), dtype="float32")).to_dict()
    names = [p["name"] for p in d["parameters"]]
    assert len(names) == len(set(names)) == 6  # the shared pair once
    # layers are numbered as Gluon does: net[1] is layer "1" (a Dense's own Activation is
    # part of it, not a layer), and JSON gives each use by that path
    names = {x["path"]: x["name"] for x in d["model"]["layers"]}
    assert list(names) == ["0", "1", "2", "3"]
    users = {tuple(g["layers"]) for g in d["sharing"]}
    assert users == {("1", "2")} and (names["1"], names["2"]) == (shared.name, net[2].name)


def test_diff_of_a_block_and_its_own_dict_is_equal():
    net = _mlp()
    from mxnet import nd

    net(nd.ones((1, 20)))
    arrays = {k: p.data() for k, p in net._collect_params_with_prefix().items()}
    report = pi.diff(net, arrays)
    assert {r["status"] for r in report.to_dict()["keys"]} == {"equal"}


def test_grad_l2_equals_raw_autograd_on_nested_hybridized_shared_block():
    import mxnet as mx
    from mxnet import autograd, nd
    from mxnet.gluon import nn

    class Inner(nn.HybridBlock):
        def __init__(self, shared, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.a = nn.Dense(6, activation="tanh", in_units=6)
                self.b = nn.Dense(6, in_units=6, params=shared.params)

        def hybrid_forward(self, F, x):
            return self.b(self.a(x))

    class Outer(nn.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.first = nn.Dense(6, activation="relu", in_units=5)
                self.mid = nn.Dense(6, activation="relu", in_units=6)
                self.inner = Inner(self.mid)
                self.head = nn.Dense(3, in_units=6)

        def hybrid_forward(self, F, x):
            return self.head(self.inner(self.mid(self.first(x))))

    mx.random.seed(3)
    net = Outer()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = nd.random.normal(shape=(4, 5))

    def loss(y):
        return (y**2).mean()

    # raw autograd first, on a copy of the gradients
    with autograd.record():
        raw = loss(net(x))
    raw.backward()
    expected = {n: float(p.grad().norm().asscalar()) for n, p in net.collect_params().items()}
    report = pi.grad(net, x, loss=loss)
    got = {r["name"]: r["grad_stats"]["l2"] for r in report.to_dict()["parameters"]}
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == pytest.approx(expected[name], rel=1e-5)
    # the gradients are left in place, as autograd.backward leaves them
    first = net.first.weight.grad().norm().asscalar()
    assert first == pytest.approx(expected[net.first.weight.name], rel=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: pi.show("mlp", layer="dense9"),
            "no layer is named 'dense9'; did you mean 'dense1'? (names: dense0, dense1)",
        ),
        (lambda: pi.summary("mlp", method="xavir"), None),
        (lambda: pi.grad("mlp", loss="softmax"), None),
    ],
)
def test_unknown_option_values_fail_as_in_the_cli(cli, call, message):
    with pytest.raises(OptionError) as info:
        call()
    if message is not None:
        assert str(info.value) == message
    assert "did you mean" in str(info.value)


def _nested(hybridize: bool):
    import mxnet as mx
    from mxnet.gluon import nn

    class Block2(nn.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.body = nn.HybridSequential()
                self.body.add(nn.Conv2D(4, 3, padding=1, in_channels=3), nn.Activation("relu"))
                self.head = nn.Dense(5, in_units=4 * 6 * 6)

        def hybrid_forward(self, F, x):
            return self.head(self.body(x))

    mx.random.seed(5)
    net = Block2(prefix="nest_")
    net.initialize()
    if hybridize:
        net.hybridize()
    return net


# Not yet hybridized: a hybridized parent runs its children inside one cached graph, where
# the forward hooks that measure each child's output do not fire (see the report).
@pytest.mark.parametrize("hybridize", [False])
def test_summary_of_a_nested_live_block_against_raw_mxnet(hybridize):
    from mxnet import nd

    net = _nested(hybridize)
    x = nd.random.uniform(shape=(2, 3, 6, 6))
    d = pi.summary(net, x).to_dict()
    rows = {r["path"]: r for r in d["layers"]}
    assert list(rows) == ["body", "body.0", "body.1", "head"]
    conv = net.body[0](x)  # raw MXNet: the conv's own output
    assert tuple(rows["body.0"]["output_shape"]) == conv.shape == (2, 4, 6, 6)
    assert rows["body.0"]["macs"] == 2 * 4 * 6 * 6 * 3 * 3 * 3  # out values x in_ch x kernel
    assert rows["head"]["macs"] == 2 * 5 * 144
    relu = net.body(x).asnumpy()
    assert rows["body.1"]["stats"]["std"] == pytest.approx(float(relu.std()), rel=1e-5)
    unique = sum(p.data().size for p in net.collect_params().values())
    assert d["totals"]["unique"] == unique
    top = pi.summary(net, x, depth=1).to_dict()
    assert [r["path"] for r in top["layers"]] == ["body", "head"]
    static = pi.summary(net, (2, 3, 6, 6), shapes_only=True).to_dict()
    assert static["ran"] is False and static["totals"] == d["totals"]


def test_summary_options_of_the_other_kind_are_refused():
    from paraminspect.errors import NotApplicableError

    with pytest.raises(NotApplicableError, match=r"--method applies to YAML specs"):
        pi.summary(_mlp(), (2, 20), method="xavier")
    with pytest.raises(NotApplicableError, match=r"--compare applies to YAML specs"):
        pi.summary(_mlp(), (2, 20), compare=["xavier"])


def test_inspect_and_diff_to_dict_equal_cli_json(cli, tmp_path):
    a, b = tmp_path / "a.params", tmp_path / "b.params"
    cli("show", "mlp", "--seed", "1", "--save", str(a))
    cli("show", "mlp", "--seed", "2", "--save", str(b))
    assert pi.inspect(str(a), stats=True).to_dict() == json.loads(
        cli("inspect", str(a), "--stats", "--format", "json").output
    )
    assert pi.diff(str(a), str(b)).to_dict() == json.loads(
        cli("diff", str(a), str(b), "--format", "json").output
    )


def test_load_returns_a_source_the_functions_take():
    source = pi.load("shared")
    assert source.kind == "spec" and source.name == "shared"
    assert pi.show(source).to_dict()["sharing"]
    net = _mlp()
    live = pi.load(net, [(2, 20)])
    assert pi.show(live).to_dict()["totals"]["unique"] == 7946


def test_a_loss_function_on_a_spec_matches_the_cli_loss_of_the_same_formula():
    by_name = pi.grad("mlp", loss="sum", seed=4).to_dict()
    by_function = pi.grad("mlp", loss=lambda y: y.sum(), seed=4).to_dict()
    assert by_function["loss"]["value"] == pytest.approx(by_name["loss"]["value"], rel=1e-6)
    for ours, theirs in zip(by_function["parameters"], by_name["parameters"]):
        assert ours["grad_stats"]["l2"] == pytest.approx(theirs["grad_stats"]["l2"], rel=1e-5)
