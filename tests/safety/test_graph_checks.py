"""Issue 21 item 2: a graph is checked completely before MXNet sees it; each problem is a
one-line error naming it (exit 1), never a crash or "internal error", and no file changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from tests.safety.conftest import export_cnn, snapshot

SUFFIX = "; give the -symbol.json that HybridBlock.export or Module.save_checkpoint wrote"


@pytest.fixture(scope="module")
def cnn(tmp_path_factory) -> Dict[str, Any]:
    return json.loads(export_cnn(tmp_path_factory.mktemp("cnn")).read_text())


def _node(doc: Dict[str, Any], op: str) -> Dict[str, Any]:
    return next(n for n in doc["nodes"] if n["op"] == op)


def _reader_of(doc: Dict[str, Any], op: str) -> Dict[str, Any]:
    index = doc["nodes"].index(_node(doc, op))
    return next(n for n in doc["nodes"] if any(r[0] == index for r in n["inputs"]))


def _set_attr(op: str, key: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    return lambda d: _node(d, op).setdefault("attrs", {}).__setitem__(key, value)


CASES = {
    "output-out-of-range": (
        lambda d: _reader_of(d, "Convolution")["inputs"][0].__setitem__(1, 1000000),
        "the graph reads output 1000000 of node 3 (conv0_fwd), which has 1 output (op Convolution)",
    ),
    "output-of-a-variable": (
        lambda d: d["nodes"][3]["inputs"][1].__setitem__(1, 2),
        "node 3 (conv0_fwd) reads output 2 of variable node 1, which has one output",
    ),
    "non-integer-reference": (
        lambda d: _reader_of(d, "Convolution")["inputs"][0].__setitem__(1, 1.5),
        "node 8 (batchnorm0_fwd) reads [3, 1.5, 0]: a reference is [node, output] of "
        "non-negative integers",
    ),
    "head-out-of-range": (
        lambda d: d.__setitem__("heads", [[len(d["nodes"]) - 1, 7, 0]]),
        "the graph reads output 7 of node 12 (dense0_fwd), which has 1 output (op FullyConnected)",
    ),
    "attrs-not-an-object": (
        lambda d: _node(d, "Convolution").__setitem__("attrs", ["kernel", "(3, 3)"]),
        "node 3 (conv0_fwd) has attributes that are not a map of strings to strings",
    ),
    "attr-not-a-string": (
        _set_attr("Convolution", "num_filter", 4),
        "node 3 (conv0_fwd) has attributes that are not a map of strings to strings",
    ),
    "garbage-version": (
        lambda d: d["attrs"].__setitem__("mxnet_version", ["int", "abc"]),
        'its mxnet_version ["int", "abc"] is not ["int", N] with N the MXNet version '
        "(10901 for 1.9.1)",
    ),
    "unknown-op": (
        lambda d: _node(d, "Convolution").__setitem__("op", "Convolutoin"),
        "node 3 (conv0_fwd) uses op 'Convolutoin', which this MXNet (1.9.1) does not have; "
        "did you mean 'Convolution'?",
    ),
    "custom-op": (
        lambda d: _node(d, "Activation").update(op="Custom", attrs={"op_type": "myrelu"}),
        "node 9 (relu0_fwd) is a Custom operator (op_type 'myrelu'): its Python code is not "
        "part of the graph, so this MXNet cannot run it",
    ),
    "declared-shape-past-2-31": (
        lambda d: d["nodes"][0].__setitem__("attrs", {"__shape__": "(1, 3, 65536, 32768)"}),
        "node 0 (data) declares __shape__ (1, 3, 65536, 32768) of 6,442,450,944 elements, past "
        "MXNet's limit of 2^31 - 1 (2,147,483,647) elements per array",
    ),
    "declared-shape-garbage": (
        lambda d: d["nodes"][0].__setitem__("attrs", {"__shape__": "(a, b)"}),
        "node 0 (data) declares __shape__ '(a, b)', not integers",
    ),
    "unknown-init": (
        lambda d: d["nodes"][1]["attrs"].__setitem__("__init__", "bogus"),
        "node 1 (conv0_weight) has __init__ 'bogus', which MXNet cannot use (bogus is not "
        "registered. Please register with initializer.register first); known initializers: "
        "see paraminspect init --list",
    ),
    "node-feeding-nothing": (
        lambda d: _reader_of(d, "Activation")["inputs"][0].__setitem__(0, 0),
        "9 node(s) feed no output, first node 1 (conv0_weight); MXNet writes only the nodes "
        "its outputs read",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_graph_is_named_before_mxnet_sees_it(cli, tmp_path, cnn, case):
    mutate, what = CASES[case]
    doc = copy.deepcopy(cnn)
    mutate(doc)
    path = tmp_path / "bad-symbol.json"
    path.write_text(json.dumps(doc))
    before = snapshot(tmp_path)
    r = cli("show", str(path), "--input", "data=1x3x8x8")
    assert r.exit_code == 1, r.output
    assert r.output == f"Error: '{path}' is not an MXNet graph: {what}{SUFFIX}\n"
    assert snapshot(tmp_path) == before


def test_deep_nesting_is_named_not_a_recursion_error(cli, tmp_path, cnn):
    text = json.dumps(cnn)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path: Path = tmp_path / "deep-symbol.json"
    path.write_text(text)
    r = cli("show", str(path), "--input", "data=1x3x8x8")
    assert r.exit_code == 1
    assert r.output == (
        f"Error: '{path}' is not an MXNet graph: it nests more than 64 levels deep{SUFFIX}\n"
    )


def test_the_real_graphs_pass_every_check(cnn):
    from paraminspect.model.graph import read_graph, to_symbol
    from tests.conftest import SHARED_DATA

    real = SHARED_DATA / "mobilefacenet-symbol.json"
    if real.is_file():
        assert len(to_symbol(read_graph(real)).list_outputs()) == 1
