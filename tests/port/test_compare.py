"""compare: a port against its MXNet model, parameter by parameter and node by node."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import STATS_KEYS
from tests.port import runs
from tests.port.conftest import json_out
from tests.port.edit_onnx import edit_initializer as _edit_initializer


@pytest.fixture(scope="module")
def mfn_onnx(tmp_path_factory):
    from tests.port.conftest import MFN_PARAMS, MFN_SYMBOL

    if not (MFN_SYMBOL.is_file() and MFN_PARAMS.is_file()):
        pytest.skip("real model files not found")
    from paraminspect.actions.port.export import export

    out = tmp_path_factory.mktemp("mfn") / "mfn.onnx"
    from paraminspect.model.inputs import parse_inputs

    report = export(str(MFN_SYMBOL), str(out), inputs=parse_inputs(["data=1x3x112x112"]))
    assert report.kept
    return str(MFN_SYMBOL), out


def test_mobilefacenet_and_its_export_are_equal(cli, mfn_onnx):
    symbol, onnx_file = mfn_onnx
    r = cli("compare", symbol, str(onnx_file), "--input=data=1x3x112x112", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert data["equal"] is True and data["first_divergence"] is None
    assert len(data["parameters"]) == 284
    assert {p["matched_by"] for p in data["parameters"]} == {"name"}
    fc1 = next(p for p in data["parameters"] if p["name"] == "fc1_gamma")
    assert fc1["equal"]  # fix_gamma: MXNet computes with ones, the file holds ones
    names = [n["node"] for n in data["nodes"]]
    assert names[:3] == ["_minusscalar0", "_mulscalar0", "conv_1_conv2d"]
    assert names[-1] == "fc1" and all(n["match"] for n in data["nodes"])


def test_one_changed_weight_is_named_with_its_node(cli, mfn_onnx, tmp_path):
    symbol, onnx_file = mfn_onnx
    changed = tmp_path / "changed.onnx"
    weight = "res_3_block0_conv_sep_conv2d_weight"

    def bump(value):
        value.reshape(-1)[7] += 0.5

    _edit_initializer(onnx_file, changed, weight, bump)
    r = cli("compare", symbol, str(changed), "--input=data=1x3x112x112", "--format", "json")
    assert r.exit_code == 1, r.output
    data = json_out(r)
    assert data["equal"] is False
    first = data["first_divergence"]
    assert first["node"] == "res_3_block0_conv_sep_conv2d"
    assert first["parameter"] == weight
    (pair,) = [p for p in data["parameters"] if p["name"] == weight]
    assert pair["equal"] is False and pair["max_abs"] == pytest.approx(0.5, abs=1e-6)
    assert [p["name"] for p in data["parameters"] if p["equal"] is False] == [weight]
    nodes = data["nodes"]
    at = [n["node"] for n in nodes].index(first["node"])
    assert all(n["match"] for n in nodes[:at]) and nodes[at]["match"] is False
    assert set(first["mxnet"]) == set(STATS_KEYS)
    r = cli("compare", symbol, str(changed), "--input=data=1x3x112x112")
    said = " ".join(r.output.split())  # at any width (the line wraps at 80 columns)
    assert "first divergence at node res_3_block0_conv_sep_conv2d, reading parameter" in said


def test_node_values_are_those_of_an_independent_run(cli, kind, tmp_path):
    """The node table's numbers against plain MXNet ops and onnxruntime run here."""
    import mxnet as mx

    export = kind("prelu")
    out = tmp_path / "p.onnx"
    assert cli("export", export.symbol, str(out), *export.input_args()).exit_code == 0
    npy = tmp_path / "x.npy"
    sample = np.random.default_rng(3).normal(size=(2, 3, 6, 6)).astype(np.float32)
    np.save(npy, sample)
    r = cli("compare", export.symbol, str(out), f"--input=data={npy}", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    args = {k[4:]: v for k, v in mx.nd.load(export.params).items()}
    conv = mx.nd.Convolution(
        mx.nd.array(sample), args["conv0_weight"], args["conv0_bias"], num_filter=4, kernel=(3, 3)
    )
    (want,) = runs.mxnet_outputs(export, {"data": sample}).values()
    (got,) = runs.onnx_run(str(out), {"data": sample})
    by = {n["node"]: n for n in data["nodes"]}
    assert list(by) == ["conv0", "prelu0", "fc0"]
    assert by["conv0"]["max_mxnet"] == pytest.approx(float(np.abs(conv.asnumpy()).max()), rel=1e-6)
    assert by["fc0"]["max_abs"] == pytest.approx(float(np.abs(want - got).max()), abs=1e-7)
    assert by["conv0"]["reads"] == ["conv0_weight", "conv0_bias"]
    assert by["prelu0"]["reads"] == ["prelu0_gamma"]


def test_map_and_shape_matching(cli, kind, tmp_path):
    """Initializers renamed in the file: --map pairs one by name, shape finds the rest."""
    import onnx

    export = kind("bn_fixed")
    out = tmp_path / "g.onnx"
    assert cli("export", export.symbol, str(out), *export.input_args()).exit_code == 0
    model = onnx.load(str(out))
    rename = {"fc0_weight": "dense.weight", "bn0_beta": "norm.bias"}
    for init in model.graph.initializer:
        init.name = rename.get(init.name, init.name)
    for node in model.graph.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
    renamed = tmp_path / "renamed.onnx"
    onnx.save(model, str(renamed))
    args = (export.symbol, str(renamed), *export.input_args(), "--format", "json")
    r = cli("compare", *args, "--map", "fc0_weight=dense.weight")
    assert r.exit_code == 0, r.output
    by = {p["name"]: p for p in json_out(r)["parameters"]}
    assert by["fc0_weight"]["matched_by"] == "map"
    assert by["fc0_weight"]["onnx_name"] == "dense.weight"
    assert by["fc0_bias"]["matched_by"] == "name"
    assert by["bn0_beta"]["matched_by"] == "shape" and by["bn0_beta"]["onnx_name"] == "norm.bias"
    assert by["bn0_gamma"]["equal"]  # ones on both sides: MXNet computes with 1
    r = cli("compare", *args)  # without --map, the weight is found by its shape
    by = {p["name"]: p for p in json_out(r)["parameters"]}
    assert by["fc0_weight"]["matched_by"] == "shape" and by["fc0_weight"]["equal"]


def test_a_file_from_mxnets_own_exporter_is_told_apart(cli, kind, tmp_path):
    """mx.onnx's converter keeps the stored gamma of a fix_gamma BatchNorm: compare names
    that node and that parameter."""
    import mxnet as mx
    import onnx
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    from onnx import helper

    export = kind("bn_fixed")
    params = {k[4:]: v for k, v in mx.nd.load(export.params).items()}
    graph = MXNetGraph().create_onnx_graph_proto(
        mx.sym.load(export.symbol),
        params,
        [export.inputs["data"]],
        [onnx.TensorProto.FLOAT],
        opset_version=13,
        dynamic=False,
    )
    raw = tmp_path / "raw.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    onnx.save(model, str(raw))
    r = cli("compare", export.symbol, str(raw), *export.input_args(), "--format", "json")
    assert r.exit_code == 1, r.output
    data = json_out(r)
    first = data["first_divergence"]
    assert first["node"] == "bn0" and first["parameter"] == "bn0_gamma"
    assert [p["name"] for p in data["parameters"] if p["equal"] is False] == ["bn0_gamma"]
    # the exporter also reads FullyConnected's left-out flatten as false: onnxruntime fails
    # at fc0's Gemm, so the nodes before it are compared on a pruned copy
    assert "Gemm" in data["onnx_error"] and data["equal"] is False
    nodes = {n["node"]: n for n in data["nodes"]}
    assert nodes["conv0"]["match"] is True and nodes["bn0"]["match"] is False
    assert nodes["fc0"]["onnx_name"] == "fc0" and nodes["fc0"]["match"] is None


def test_compare_exit_2_when_it_cannot_run(cli, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model at all")
    r = cli("compare", "mlp", str(bad))
    assert r.exit_code == 2
    assert "cannot read" in r.output and "Traceback" not in r.output
    r = cli("compare", "mlp", str(tmp_path / "missing.onnx"))
    assert r.exit_code == 2 and "not found" in r.output
    r = cli("compare", "mlp", str(bad), "--map", "nonsense")
    assert r.exit_code == 2 and "--map takes OLD=NEW" in r.output


def test_compare_a_spec_with_its_export(cli, tmp_path):
    out = tmp_path / "mlp.onnx"
    assert cli("export", "mlp", str(out), "--seed", "3").exit_code == 0
    r = cli("compare", "mlp", str(out), "--seed", "3", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json_out(r)
    assert data["equal"] and data["nodes"][0]["node"] == "dense0_fwd"
    r = cli("compare", "mlp", str(out), "--seed", "4", "--format", "json")
    assert r.exit_code == 1  # other weights: a parameter differs
    assert json_out(r)["first_divergence"]["parameter"] == "dense0_weight"


def test_a_file_with_other_tensor_names_lists_the_unmatched_nodes(cli, kind, tmp_path):
    """A port whose tensors are named otherwise: the nodes have no counterpart (listed),
    the graph's output is still held against MXNet's by position."""
    import onnx

    export = kind("prelu")
    out = tmp_path / "p.onnx"
    assert cli("export", export.symbol, str(out), *export.input_args()).exit_code == 0
    model = onnx.load(str(out))
    rename = {"conv0": "t0", "prelu0": "t1", "fc0": "y"}
    for node in model.graph.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    for o in model.graph.output:
        o.name = rename.get(o.name, o.name)
    del model.metadata_props[:]
    model.graph.input[0].name = "input.1"  # inputs named by another tool: taken in order
    for node in model.graph.node:
        node.input[:] = ["input.1" if i == "data" else i for i in node.input]
    other = tmp_path / "other.onnx"
    onnx.save(model, str(other))
    args = (export.symbol, str(other), *export.input_args())
    r = cli("compare", *args, "--format", "json")
    assert r.exit_code == 0, r.output
    nodes = {n["node"]: n for n in json_out(r)["nodes"]}
    assert nodes["conv0"]["match"] is None and nodes["prelu0"]["match"] is None
    assert nodes["fc0"]["onnx_name"] == "y" and nodes["fc0"]["match"] is True
    assert "no ONNX tensor for 2 MXNet nodes: conv0, prelu0" in cli("compare", *args).output


def test_the_api_compares_a_live_block(tmp_path):
    import mxnet as mx
    from mxnet.gluon import nn

    import paraminspect as pi

    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    x = mx.nd.random.uniform(shape=(2, 3))
    out = str(tmp_path / "b.onnx")
    assert pi.export(net, out, inputs={"data": x}).kept
    report = pi.compare(net, out, inputs={"data": x})
    assert report.equal and report.to_dict()["equal"] is True
    net[1].weight.set_data(net[1].weight.data() + 1)
    report = pi.compare(net, out, inputs={"data": x})
    assert not report.equal
    assert report.first_divergence.parameter == net[1].weight.name


LONG = """
from mxnet.gluon import nn

def build():
    net = nn.HybridSequential(prefix="a_rather_long_block_prefix_that_names_every_layer_")
    with net.name_scope():
        net.add(nn.Dense(6, activation="relu"), nn.Dense(3))
    net.initialize()
    return net
"""


@pytest.mark.parametrize("command", ["export", "compare"])
def test_the_name_and_its_difference_stay_at_80_columns(cli, tmp_path, monkeypatch, command):
    factory = tmp_path / "net.py"
    factory.write_text(LONG)
    out = tmp_path / "n.onnx"
    model = f"{factory}:build"
    assert cli("export", model, str(out), "--input=data=2x5", "--seed", "1").exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    args = [str(out), "--force"] if command == "export" else [str(out)]
    r = cli(command, model, *args, "--input=data=2x5", "--seed", "1")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.split()[-1:] == ["match"])
    assert "max|a-b|" in header
    assert header.split()[0] == ("output" if command == "export" else "node")
    assert header.split()[-1] == "match"
    rows = lines[lines.index(header) + 2 :]
    last = next(line for line in rows if line.rstrip().endswith("yes"))
    assert last.split()[0].startswith("a_rather_long_block_prefix")  # folded, not cut
