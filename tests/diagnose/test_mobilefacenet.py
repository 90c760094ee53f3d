"""Triage of a real checkpoint nobody here wrote, checked against plain numpy over mx.nd.load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paraminspect.diagnose.findings import Thresholds
from paraminspect.diagnose.graph import uses_from_symbol
from paraminspect.diagnose.kinds import group_by_layer
from paraminspect.diagnose.ordering import top
from paraminspect.diagnose.triage import triage
from tests.conftest import needs_shared_data

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PARAMS = DATA / "mobilefacenet-0000.params"
SYMBOL = DATA / "mobilefacenet-symbol.json"

pytestmark = pytest.mark.skipif(
    not (PARAMS.exists() and SYMBOL.exists()), reason=needs_shared_data(PARAMS.name, SYMBOL.name)
)


@pytest.fixture(scope="module")
def reference():
    """The arrays as raw MXNet loads them (independent of paraminspect's reader)."""
    import mxnet as mx

    return {k: v.asnumpy() for k, v in mx.nd.load(str(PARAMS)).items()}


@pytest.fixture(scope="module")
def symbol():
    return json.loads(SYMBOL.read_text())


@pytest.fixture(scope="module")
def result():
    from paraminspect.model.params_file import read_params

    return triage(read_params(str(PARAMS)).arrays)


def test_reader_agrees_with_mx_nd_load(reference):
    from paraminspect.model.params_file import read_params

    arrays = read_params(str(PARAMS)).arrays
    assert list(arrays) == list(reference)
    assert all(np.array_equal(arrays[k], reference[k]) for k in reference)


def test_the_full_list_of_findings(result):
    assert [(f.kind, f.array) for f in result.findings] == [
        ("low_running_var", "aux:res_5_block1_conv_dw_batchnorm_moving_var"),
        ("constant", "arg:fc1_gamma"),
    ]
    assert result.findings[1].message == "arg:fc1_gamma: all 128 values are 1"


def test_constant_flag_for_every_array(result, reference):
    flags = {r.key: r.constant for r in result.rows}
    expected = {
        k: a.size >= 2 and bool((a == a.reshape(-1)[0]).all()) for k, a in reference.items()
    }
    assert flags == expected
    assert [k for k, v in flags.items() if v] == ["arg:fc1_gamma"]


def test_every_low_variance_channel_is_listed(reference):
    for threshold in (1e-6, 1e-3, 0.1):
        limits = Thresholds(min_running_var=threshold, max_listed=10**6)
        found = triage(reference, limits).findings
        got = {f.array: f.evidence["channels"] for f in found if f.kind == "low_running_var"}
        expected = {
            k: np.flatnonzero(a < threshold).tolist()
            for k, a in reference.items()
            if k.startswith("aux:") and k.endswith("_moving_var") and (a < threshold).any()
        }
        assert got == expected
    assert expected  # the widest threshold does find channels


def test_low_variance_values(result, reference):
    (f,) = [f for f in result.findings if f.kind == "low_running_var"]
    var = reference["aux:res_5_block1_conv_dw_batchnorm_moving_var"]
    assert f.evidence["channels"] == [114, 126]
    assert f.evidence["values"] == [float(var[114]), float(var[126])]
    assert f.evidence["of"] == 256


def test_top_five_by_size_is_numpy_argsort(result, reference):
    keys = list(reference)
    sizes = np.array([reference[k].size for k in keys])
    expected = [keys[i] for i in np.argsort(-sizes, kind="stable")[:5]]
    assert [r.key for r in top(result.rows, "size", 5)] == expected
    assert [r.key for r in result.overview.largest] == expected


def test_overview_totals(result, reference):
    ov = result.overview
    assert ov.arrays == 284
    assert ov.values == sum(a.size for a in reference.values()) == 1_022_848
    assert ov.bytes == sum(a.nbytes for a in reference.values())
    assert [(r.label, r.arrays) for r in ov.by_dtype] == [("float32", 284)]
    # by name alone, MXNet's PReLU slopes (…_relu_gamma) look like norm gammas
    assert dict((r.label, r.arrays) for r in ov.by_kind) == {
        "weight": 50,
        "bias": 1,
        "norm": 133,
        "running": 100,
    }


def test_graph_uses_tell_prelu_slopes_from_norms(reference, symbol):
    with_graph = triage(reference, uses=uses_from_symbol(symbol))
    assert dict((r.label, r.arrays) for r in with_graph.overview.by_kind) == {
        "weight": 50,
        "bias": 1,
        "norm": 100,
        "running": 100,
        "other": 33,
    }
    # fc1's BatchNorm has fix_gamma=True: its gamma (all 1) is never read, so it is no
    # finding with the graph (without it, a constant array is one)
    assert [(f.kind, f.array) for f in with_graph.findings] == [
        (f.kind, f.array) for f in triage(reference).findings if f.array != "arg:fc1_gamma"
    ]
    assert "arg:fc1_gamma" in [f.array for f in triage(reference).findings]
    fixed = [
        n["name"]
        for n in symbol["nodes"]
        if n["op"] == "BatchNorm" and n.get("attrs", {}).get("fix_gamma", "True") == "True"
    ]
    ignored = [k for k, kind in with_graph.kinds.items() if kind.ignored]
    assert ignored == [f"arg:{name}_gamma" for name in fixed if f"arg:{name}_gamma" in reference]


def test_group_by_layer_puts_batchnorm_arrays_with_their_layer(reference, symbol):
    nodes = symbol["nodes"]
    batchnorms = [n for n in nodes if n["op"] == "BatchNorm"]
    assert len(batchnorms) == 50
    by_graph = group_by_layer(reference, uses_from_symbol(symbol))
    by_name = group_by_layer(reference)
    for node in batchnorms:
        name = node["name"]
        # the graph's own record of the layer's inputs 1..4
        inputs = [nodes[i]["name"] for i, _, _ in node["inputs"][1:]]
        assert inputs == [f"{name}_{p}" for p in ("gamma", "beta", "moving_mean", "moving_var")]
        expected = {f"arg:{inputs[0]}", f"arg:{inputs[1]}", f"aux:{inputs[2]}", f"aux:{inputs[3]}"}
        assert set(by_graph[name]) == expected
        assert expected <= set(by_name[name])
    # Names alone cannot separate the FullyConnected node 'pre_fc1' from the BatchNorm
    # 'fc1': its weight is called fc1_weight (its bias pre_fc1_bias). The graph can.
    assert set(by_name["fc1"]) - set(by_graph["fc1"]) == {"arg:fc1_weight"}
    assert set(by_graph["pre_fc1"]) == {"arg:fc1_weight", "arg:pre_fc1_bias"}
    assert all(len(by_graph[n["name"]]) == 4 for n in batchnorms)
    for groups in (by_graph, by_name):
        assert sorted(k for members in groups.values() for k in members) == sorted(reference)


def test_no_scale_outliers_on_a_healthy_real_model(result, reference):
    stds = [a.std() for k, a in reference.items() if k.endswith("_weight") and a.ndim == 4]
    ratio = max(stds) / np.median(stds)
    assert 1 < ratio < 10  # the real spread is ~4x: far from the 100x rule
    assert not [f for f in result.findings if f.kind == "scale_outlier"]
