"""``inspect FILE --symbol GRAPH``: each array mapped to the op nodes that read it."""

from __future__ import annotations

import json


def test_mobilefacenet_arrays_mapped_to_their_ops(cli, mobilefacenet):
    symbol, params = mobilefacenet
    result = cli("inspect", params, "--symbol", symbol, "--format", "json")
    assert result.exit_code == 0, result.output
    arrays = {a["key"]: a for a in json.loads(result.stdout)["arrays"]}
    assert len(arrays) == 284
    # independently, from the graph's JSON: the op whose input list points at the variable
    with open(symbol) as fh:
        graph = json.load(fh)
    nodes = graph["nodes"]
    by_var = {}
    for node in nodes:
        for ref in node.get("inputs", []):
            src = nodes[ref[0]]
            if src["op"] == "null":
                by_var.setdefault(src["name"], []).append((node["name"], node["op"]))
    for key, a in arrays.items():
        name = key.split(":", 1)[1]
        want = [f"{n} ({op} " for n, op in by_var[name]]
        assert len(a["read_by"]) == len(want)
        assert all(got.startswith(w) for got, w in zip(a["read_by"], want))
    assert arrays["arg:fc1_weight"]["read_by"] == ["pre_fc1 (FullyConnected weight)"]
    assert arrays["aux:fc1_moving_var"]["read_by"] == ["fc1 (BatchNorm moving_var)"]


def test_without_symbol_json_is_unchanged(cli, mobilefacenet):
    result = cli("inspect", mobilefacenet[1], "--format", "json", "--select", "arg:fc1_weight")
    assert "read_by" not in json.loads(result.stdout)["arrays"][0]


def test_bad_symbol_file(cli, mobilefacenet, tmp_path):
    bad = tmp_path / "x-symbol.json"
    bad.write_text("not json")
    result = cli("inspect", mobilefacenet[1], "--symbol", str(bad))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: '{bad}' is not an MXNet graph")
    assert len(result.output.strip().splitlines()) == 1
