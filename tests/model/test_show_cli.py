"""``show`` on every source through the CLI, checked against raw MXNet."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.model.conftest import RNN_HID, RNN_IN


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_mobilefacenet_show_against_raw_imports(cli, mobilefacenet):
    import mxnet as mx

    symbol, params = mobilefacenet
    out = _json(cli("show", symbol, "--input", "data=1x3x112x112", "--format", "json"))
    assert out["model"]["kind"] == "symbol"
    assert out["model"]["input_shape"] == [1, 3, 112, 112]
    assert "using weights from" in out_stderr(cli, symbol)

    net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
    raw = net.collect_params()
    got = {p["name"]: tuple(p["shape"]) for p in out["parameters"]}
    assert got == {n: tuple(p.data().shape) for n, p in raw.items()}
    sizes = {n: math.prod(p.data().shape) for n, p in raw.items()}
    trainable = sum(s for n, s in sizes.items() if raw[n].grad_req != "null")
    assert out["totals"]["unique"] == sum(sizes.values()) == 1_022_848
    assert out["totals"]["trainable"] == trainable
    assert out["totals"]["non_trainable"] == sum(sizes.values()) - trainable
    # no node of MobileFaceNet reads a weight twice: each use == unique, nothing shared
    assert out["totals"]["total"] == out["totals"]["unique"]
    assert out["sharing"] == []


def out_stderr(cli, symbol):
    return cli("show", symbol, "--input", "data=1x3x112x112", "--select", "fc1_weight").stderr


def test_mobilefacenet_values_are_the_files(cli, mobilefacenet):
    import mxnet as mx

    symbol, params = mobilefacenet
    out = _json(
        cli(
            "show", symbol, "--input", "data=1x3x112x112", "--select", "conv_1_conv2d_weight",
            "--stats", "--format", "json",
        )
    )  # fmt: skip
    raw = mx.nd.load(params)["arg:conv_1_conv2d_weight"].asnumpy()
    stats = out["parameters"][0]["stats"]
    assert stats["mean"] == pytest.approx(float(raw.mean()), rel=1e-5)
    assert stats["max"] == pytest.approx(float(raw.max()))


def test_rnn_graph_sharing_map_and_each_use(cli, rnn_dir):
    symbol = str(rnn_dir / "rnn-symbol.json")
    args = ["--input", "x0=2x4", "--input", "x1=2x4", "--input", "x2=2x4", "--input", "h0=2x5"]
    out = _json(cli("show", symbol, *args, "--format", "json"))
    names = [x["path"] for x in out["model"]["layers"]]
    fc = [f"fc{t}" for t in range(3)]  # a graph's layers are labelled by their node names
    assert set(fc) <= set(names)
    assert {g["parameter"]: g["layers"] for g in out["sharing"]} == {"W": fc, "b": fc}
    unique = RNN_HID * RNN_IN + RNN_HID
    assert out["totals"]["unique"] == unique
    assert out["totals"]["total"] == 3 * unique  # each of the three nodes reads W and b


def test_zoo_resnet18_totals_as_block_summary(cli):
    out = _json(cli("show", "zoo:resnet18_v1", "--shapes-only", "--format", "json"))
    assert out["model"]["kind"] == "zoo"
    assert out["totals"]["unique"] == 11_699_112
    assert out["totals"]["trainable"] == 11_689_512


def test_zoo_layer_by_dotted_path_takes_the_subtree(cli):
    from mxnet.gluon.model_zoo import vision

    out = _json(
        cli(
            "show",
            "zoo:resnet18_v1",
            "--shapes-only",
            "--layer",
            "features.4.0",
            "--format",
            "json",
        )
    )
    net = vision.get_model("resnet18_v1")

    def strip(name):  # the network counter in the prefix (resnetv10_) depends on the process
        return name.split("_", 1)[1]

    want = [strip(n) for n in net.features[4][0].collect_params()]
    assert [strip(p["name"]) for p in out["parameters"]] == want and len(want) == 10


def test_factory_with_nested_sharing(cli, factory_file):
    ref = f"{factory_file}:build"
    out = _json(cli("show", ref, "--input", "data=3x4", "--format", "json"))
    assert out["model"]["kind"] == "factory"
    shared = {g["parameter"]: g["layers"] for g in out["sharing"]}
    assert shared == {n: ["1.first", "1.second"] for n in shared} and len(shared) == 2
    unique = 8 * 4 + 8 + 8 * 8 + 8 + 2 * 8 + 2
    assert out["totals"]["unique"] == unique
    assert out["totals"]["total"] == unique + 8 * 8 + 8  # the shared Dense counted twice


def test_factory_stats_against_raw(cli, factory_file):
    out = _json(
        cli("show", f"{factory_file}:build", "--input", "data=3x4", "--seed", "3", "--stats",
            "--format", "json")
    )  # fmt: skip
    import mxnet as mx

    from paraminspect.model.sources.factory import build_factory

    # the book's order, as for a spec: X is drawn, then the weights at the first pass
    mx.random.seed(3)
    net = build_factory(f"{factory_file}:build")
    x = mx.nd.random.uniform(shape=(3, 4))
    for p in net.collect_params().values():
        if p._data is None and p._deferred_init == ():
            p.initialize(default_init=mx.init.Uniform())
    net(x)
    raw = [p.data().asnumpy() for p in net.collect_params().values()]
    assert len(raw) == len(out["parameters"]) == 6
    for row, want in zip(out["parameters"], raw):
        assert row["stats"]["l2"] == pytest.approx(float(np.linalg.norm(want)), rel=1e-5)


def test_block_source_from_python():
    import mxnet as mx
    from mxnet.gluon import nn

    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions

    net = nn.HybridSequential()
    net.add(nn.Dense(4, in_units=3), nn.Dense(2))
    net.initialize(mx.init.One())
    x = np.ones((5, 3), dtype="float32")
    report = show(net, ViewOptions(stats=True), inputs={"data": x})
    assert report.model.kind == "block"
    assert report.model.input_shape == (5, 3)
    by = {r.name: r for r in report.parameters}
    assert by[net[1].weight.name].shape == (2, 4)
    assert by[net[0].weight.name].stats.mean == 1.0


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["zoo:resnet81_v1"], 1, "unknown zoo model 'resnet81_v1'; did you mean 'resnet18_v1'?"),
        (["zoo:resnet18_v1,pretrained=true"], 1, "pretrained=true would download weights"),
        (["zoo:resnet18_v1", "--input", "dta=1x3x224x224"], 2, "has no input 'dta'; did you mean 'data'?"),
        (["zoo:resnet18_v1", "--input", "data=1x3x224"], 2, "does not take --input data=1x3x224"),
        (["mlp", "--input", "data=1x3"], 2, "--input applies to exported graphs"),
        (["zoo:resnet18_v1", "--input", "data=1xAx3"], 2, "bad shape of input 'data' '1xAx3'"),
    ],
)  # fmt: skip
def test_bad_models_and_inputs(cli, args, code, message):
    result = cli("show", *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_graph_without_input_shape(cli, mobilefacenet):
    result = cli("show", mobilefacenet[0])
    assert result.exit_code == 2
    assert (
        "stores no shape for input 'data'; give --input data=SHAPE (SHAPE like 1x3x224x224)"
        in result.output
    )


def test_not_a_graph(cli, tmp_path):
    bad = tmp_path / "bad-symbol.json"
    bad.write_text('{"nodes": [')
    result = cli("show", str(bad), "--input", "data=1x2")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1


def test_npy_object_dtype_and_wrong_shape(cli, tmp_path, factory_file):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = cli("show", f"{factory_file}:build", "--input", f"data={obj}")
    assert result.exit_code == 2
    assert "holds Python objects (dtype object)" in result.output
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5), dtype="float32"))
    result = cli("show", f"{factory_file}:build", "--input", f"data={wrong}", "--stats")
    assert result.exit_code == 2
    assert "does not take --input data=3x5" in result.output


@pytest.mark.parametrize(
    "func, message",
    [
        ("broken", "build raised ValueError: width must be positive"),
        ("not_a_block", "not_a_block returned list, not a Gluon Block"),
    ],
)
def test_bad_factories(cli, factory_file, func, message):
    result = cli("show", f"{factory_file}:{func}", "--input", "data=1x4")
    assert result.exit_code == 1
    assert (
        message.replace("build", f"{factory_file}:{func}", 1) in result.output
        or message in result.output
    )
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["show", "grad"])
def test_too_large_refused_with_the_estimate_before_allocating(cli, command, tmp_path):
    save = tmp_path / "out.params"
    # 2600 samples: past the memory, within MXNet's 2^31 elements for every array
    args = [command, "zoo:resnet18_v1", "--input", "data=2600x3x224x224", "--stats"]
    result = cli(*args, "--save", str(save))
    assert result.exit_code == 1
    assert result.output.startswith("Error: resnet18_v1 needs about ")
    assert "GiB is available; use a smaller batch (--input data=1x...) or --shapes-only" in (
        result.output
    )
    assert not save.exists()


def test_params_file_that_does_not_fit(cli, mobilefacenet, tmp_path):
    import mxnet as mx

    symbol, params = mobilefacenet
    arrays = mx.nd.load(params)
    del arrays["arg:fc1_gamma"]
    arrays["arg:extra_w"] = mx.nd.zeros((2,))
    arrays["arg:fc1_beta"] = mx.nd.zeros((7,))
    bad = tmp_path / "bad.params"
    mx.nd.save(str(bad), arrays)
    result = cli("show", symbol, "--input", "data=1x3x112x112", "--load", str(bad))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{bad}' does not fit '{symbol}': 1 parameter missing from it (fc1_gamma); "
        "1 name not in the graph (extra_w); first shape mismatch: fc1_beta is 7 in the file, "
        "128 in the graph; check that the files belong together\n"
    )
