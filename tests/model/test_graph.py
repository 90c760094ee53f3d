"""model/graph.py: safe reading, the graph walk, shapes and MACs, against raw MXNet."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from paraminspect.errors import OptionError, SpecError
from paraminspect.model import graph as G
from paraminspect.model import variables as V
from paraminspect.model.layout import InputDesc

from .conftest import RNN_HID, RNN_IN, RNN_T


def _write(tmp_path: Path, text: str | bytes, name: str = "m-symbol.json") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_not_json(tmp_path):
    path = _write(tmp_path, "nodes: [1, 2]\nheads: []\n")
    with pytest.raises(SpecError) as e:
        G.read_graph(path)
    assert str(e.value).startswith(f"'{path}' is not an MXNet graph: not JSON")
    assert "-symbol.json" in str(e.value) and "\n" not in str(e.value)


def test_binary_file(tmp_path):
    path = _write(tmp_path, b"\x12\x01\x00\x00\xff\xfe\x00")
    with pytest.raises(SpecError, match=r"binary file, not JSON \(a \.params file\?\)"):
        G.read_graph(path)


def test_truncated(tmp_path, rnn_dir):
    text = (rnn_dir / "rnn-symbol.json").read_text()
    path = _write(tmp_path, text[: len(text) // 2])
    with pytest.raises(SpecError, match=r"ends early at line \d+ \(truncated JSON\)"):
        G.read_graph(path)


@pytest.mark.parametrize(
    "doc, what",
    [
        ([1, 2, 3], "no 'nodes' and 'heads' lists"),
        ({"nodes": []}, "no 'nodes' and 'heads' lists"),
        ({"nodes": [], "heads": []}, "it has no nodes"),
        ({"nodes": [{"name": "x"}], "heads": []}, "node 0 has no 'op' and 'name'"),
        (
            {"nodes": [{"op": "null", "name": "x", "inputs": [[3, 0, 0]]}], "heads": []},
            "node 0 (x) reads node 3, not before it",
        ),
        ({"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[7, 0]]}, "a head"),
    ],
)
def test_not_a_graph(tmp_path, doc, what):
    path = _write(tmp_path, json.dumps(doc))
    with pytest.raises(SpecError) as e:
        G.read_graph(path)
    assert f"'{path}' is not an MXNet graph: {what}" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"graph file .* not found"):
        G.read_graph(tmp_path / "nope-symbol.json")


def test_unknown_op_is_a_spec_error(tmp_path):
    doc = {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "NoSuchOp", "name": "n", "inputs": [[0, 0, 0]]},
        ],
        "heads": [[1, 0, 0]],
    }
    graph = G.read_graph(_write(tmp_path, json.dumps(doc)))
    with pytest.raises(SpecError, match="node 1 \\(n\\) uses op 'NoSuchOp', which this MXNet"):
        G.to_symbol(graph)


def _rnn_layout(rnn_dir, rnn_shapes, file_names=None):
    graph = G.read_graph(rnn_dir / "rnn-symbol.json")
    symbol = G.to_symbol(graph)
    params = V.parameter_names(graph, file_names)
    inputs = {n: InputDesc(n, s) for n, s in rnn_shapes.items()}
    shapes = G.infer_shapes(symbol, inputs, "rnn")
    return G.graph_layout(graph, symbol, inputs, params, shapes)


def test_rnn_shared_weight_has_three_users(rnn_dir, rnn_shapes):
    layout = _rnn_layout(rnn_dir, rnn_shapes)
    assert [p.name for p in layout.params] == ["W", "b"]
    assert [layout.layers[i].name for i in layout.param("W").users] == ["fc0", "fc1", "fc2"]
    assert len(layout.param("b").users) == RNN_T
    # four inputs, the state h0 included although it enters an op at slot 1
    assert sorted(d.name for d in layout.inputs) == ["h0", "x0", "x1", "x2"]
    assert layout.unique_count == RNN_HID * RNN_IN + RNN_HID
    assert layout.total_params == RNN_T * layout.unique_count
    # every op that writes an activation is a row: each step's fc, add and tanh
    nodes = json.loads((rnn_dir / "rnn-symbol.json").read_text())["nodes"]
    ops = [n["name"] for n in nodes if n["op"] != "null"]
    assert [layer.name for layer in layout.layers] == ops
    fcs = [layer for layer in layout.layers if layer.type == "FullyConnected"]
    assert [layer.name for layer in fcs] == ["fc0", "fc1", "fc2"]
    assert all(layer.macs == 2 * RNN_HID * RNN_IN for layer in fcs)
    assert [x.activation for x in layout.layers if x.type == "tanh"] == ["tanh"] * 3


def test_params_from_file_names_match_slot_rule(rnn_dir):
    graph = G.read_graph(rnn_dir / "rnn-symbol.json")
    assert V.parameter_names(graph) == V.parameter_names(graph, ["arg:W", "arg:b"]) == {"W", "b"}


def test_wrong_rank_is_one_line(rnn_dir, rnn_shapes):
    rnn_shapes["x1"] = (2, 4, 1, 1, 9)
    with pytest.raises(OptionError) as e:
        _rnn_layout(rnn_dir, rnn_shapes)
    message = str(e.value)
    assert message.startswith("rnn does not take --input x0=2x4 --input x1=2x4x1x1x9")
    assert "\n" not in message and "Stack trace" not in message


# --- the real model ---------------------------------------------------------------------


@pytest.fixture
def mfn_layout(mobilefacenet):
    import mxnet as mx

    symbol_file, params_file = mobilefacenet
    graph = G.read_graph(symbol_file)
    symbol = G.to_symbol(graph)
    params = V.parameter_names(graph, mx.nd.load(params_file).keys())
    inputs = {"data": InputDesc("data", (2, 3, 112, 112))}
    shapes = G.infer_shapes(symbol, inputs, "mfn")
    return G.graph_layout(graph, symbol, inputs, params, shapes), symbol_file


def test_mobilefacenet_users_match_a_walk_of_the_json(mfn_layout):
    layout, symbol_file = mfn_layout
    doc = json.loads(Path(symbol_file).read_text())
    nodes = doc["nodes"]
    readers: dict[str, list[str]] = {}
    for node in nodes:
        if node["op"] == "null":
            continue
        for src, *_ in node["inputs"]:
            if nodes[src]["op"] == "null" and nodes[src]["name"] != "data":
                readers.setdefault(nodes[src]["name"], []).append(node["name"])
    assert len(readers) == 284
    assert {p.name: [layout.layers[i].name for i in p.users] for p in layout.params} == readers


def test_mobilefacenet_node_shapes_match_infer_shape(mfn_layout):
    import mxnet as mx

    layout, symbol_file = mfn_layout
    internals = mx.sym.load(symbol_file).get_internals()
    _args, outs, _aux = internals.infer_shape(data=(2, 3, 112, 112))
    expected = dict(zip(internals.list_outputs(), outs))
    for layer in layout.layers:
        assert layer.out_shape == expected[f"{layer.name}_output"], layer.name
    assert layout.layers[-1].out_shape == (2, 128)


def test_mobilefacenet_macs_by_hand(mfn_layout):
    import mxnet as mx

    layout, symbol_file = mfn_layout
    nodes = json.loads(Path(symbol_file).read_text())["nodes"]
    internals = mx.sym.load(symbol_file).get_internals()
    _args, outs, _aux = internals.infer_shape(data=(2, 3, 112, 112))
    shape_of = dict(zip(internals.list_outputs(), outs))
    shape_of["data"] = (2, 3, 112, 112)

    def output(index):
        node = nodes[index]
        return shape_of[node["name"] if node["op"] == "null" else f"{node['name']}_output"]

    by_name = {layer.name: layer for layer in layout.layers}
    # first conv: 3 -> 64 channels, 3x3, stride 2 on 112x112 -> 56x56, batch 2
    assert by_name["conv_1_conv2d"].macs == 2 * 64 * 56 * 56 * 3 * 3 * 3
    # depthwise conv: 64 groups of one channel each
    assert by_name["conv_2_dw_conv2d"].macs == 2 * 64 * 56 * 56 * 1 * 3 * 3
    # every conv: out values x in_channels/groups x kernel, from the JSON attributes
    convs = [n for n in nodes if n["op"] == "Convolution"]
    assert len(convs) == 49
    for node in convs:
        attrs = node["attrs"]
        kernel = math.prod(int(k) for k in attrs["kernel"].strip("()").split(","))
        in_channels = output(node["inputs"][0][0])[1]
        groups = int(attrs.get("num_group", "1"))
        expected = math.prod(output(nodes.index(node))) * in_channels // groups * kernel
        assert by_name[node["name"]].macs == expected, node["name"]
    (fc,) = [n for n in nodes if n["op"] == "FullyConnected"]
    in_units = math.prod(output(fc["inputs"][0][0])[1:])
    assert by_name[fc["name"]].macs == 2 * int(fc["attrs"]["num_hidden"]) * in_units
    assert (
        sum(
            layer.macs
            for layer in layout.layers
            if layer.type not in ("Convolution", "FullyConnected")
        )
        == 0
    )


def test_deconvolution_macs_by_hand(tmp_path):
    import mxnet as mx

    # each of the 2x4x4 input values is scattered into 3 channels x 3x3 kernel positions
    out = mx.sym.Deconvolution(
        mx.sym.var("data"), kernel=(3, 3), stride=(2, 2), num_filter=3, name="up"
    )
    out.save(str(tmp_path / "up-symbol.json"))
    graph = G.read_graph(tmp_path / "up-symbol.json")
    symbol = G.to_symbol(graph)
    params = V.parameter_names(graph)
    inputs = {"data": InputDesc("data", (1, 2, 4, 4))}
    layout = G.graph_layout(graph, symbol, inputs, params, G.infer_shapes(symbol, inputs, "up"))
    (layer,) = layout.layers
    assert layer.out_shape == (1, 3, 9, 9)
    assert layer.macs == (2 * 4 * 4) * 3 * 3 * 3
    assert params == {"up_weight"}  # Deconvolution has no_bias=True by default


def test_declared_shape_needs_no_input(tmp_path):
    import mxnet as mx

    from paraminspect.model.sources.symbol import describe_symbol

    fc = mx.sym.FullyConnected(mx.sym.var("data", shape=(2, 7)), num_hidden=3, name="fc")
    fc.save(str(tmp_path / "fc-symbol.json"))
    layout = describe_symbol(str(tmp_path / "fc-symbol.json"))
    assert layout.inputs == (InputDesc("data", (2, 7)),)
    assert layout.layers[0].macs == 2 * 3 * 7
    assert layout.param("fc_weight").shape == (3, 7)


def test_a_device_or_folder_as_graph_is_named_for_what_it_is(tmp_path):
    from paraminspect.errors import SpecError
    from paraminspect.model.graph import read_graph

    with pytest.raises(SpecError) as e:
        read_graph("/dev/null")
    assert str(e.value) == (
        "graph file '/dev/null' is a character device; give the path of a -symbol.json"
    )
    with pytest.raises(SpecError) as e:
        read_graph(tmp_path)
    assert str(e.value) == f"graph file '{tmp_path}' is a folder; give the path of a -symbol.json"
